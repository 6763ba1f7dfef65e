//! The pure core of dual mode: feature flags and their registry, sticky percentage rollout
//! (bucketed like Unleash), the mode resolver, rollback and the automatic rollback trigger, and the
//! hybrid per-task fallback rule.
//!
//! Nothing in this crate does IO, reads a clock or draws unseeded randomness: the environment, stored
//! rows and random sources are passed in, so every decision is reproducible. Persistence (flags,
//! audit trail, overrides), propagation to running processes and the CLI live elsewhere; every type
//! they store serializes with serde to plain JSON.
//!
//! | module | rule it owns |
//! |---|---|
//! | [`murmur`] | MurmurHash3 x86_32 and the `1..=100` rollout bucket |
//! | [`unleash`] | Unleash strategy and variant evaluation (conformance-tested) |
//! | [`registry`] | every flag: name, type, default, description, validation |
//! | [`flags`] | [`FlagSet`] snapshots, [`FlagChange`]s, instant rollback |
//! | [`resolver`] | which mode a new plan gets, and the [`Reason`] |
//! | [`window`] | the automatic rollback trigger over V2 unit outcomes |
//! | [`hybrid`] | when a task of a hybrid plan falls back to MVP |
//!
//! ```
//! use mge_core::ExecutionMode;
//! use mge_rollout::{names, resolve, FlagSet, ResolveInput};
//!
//! let env = |var: &str| match var {
//!     "ENABLE_V2_ATOMIZATION" | "ENABLE_V2_DEP_GRAPH" | "ENABLE_V2_VALIDATION"
//!     | "ENABLE_V2_EXECUTION" => Some("true".to_string()),
//!     _ => None,
//! };
//! let mut flags = FlagSet::from_env(env).unwrap();
//! let change = flags.set(names::V2_ROLLOUT_PERCENT, "100").unwrap();
//! assert_eq!(change.to_string(), "V2_ROLLOUT_PERCENT: 0 -> 100");
//!
//! let decision = resolve(&ResolveInput { user_id: Some("alice"), ..ResolveInput::new(&flags, "plan-1") });
//! assert_eq!(decision.mode, ExecutionMode::V2Atoms);
//!
//! let rollback = flags.rolled_back();
//! let decision = resolve(&ResolveInput::new(&rollback.flags, "plan-2"));
//! assert_eq!(decision.mode, ExecutionMode::Mvp);
//! assert_eq!(rollback.changes.len(), 5);
//! ```

pub mod flags;
pub mod hybrid;
pub mod murmur;
pub mod random;
pub mod registry;
pub mod resolver;
pub mod unleash;
pub mod window;

pub use flags::{FlagChange, FlagSet, Rollback, ValidationStrictness};
pub use hybrid::{
    route_task, AtomizationSummary, FallbackReason, HybridTally, TaskRoute, V2TaskOutcome,
};
pub use murmur::{bucket_in_rollout, murmur3_32, normalized_bucket, normalized_value};
pub use random::{RandomSource, SplitMix64};
pub use registry::{
    lookup, names, FlagDef, FlagError, FlagKind, FlagValue, REGISTRY, REQUIRED_CAPABILITIES,
    V2_CAPABILITIES,
};
pub use resolver::{resolve, Decision, Reason, ResolveInput, ROLLOUT_GROUP_ID};
pub use window::{SlidingWindow, Trigger, TriggerKind, UnitOutcome, WindowSettings, WindowStats};
