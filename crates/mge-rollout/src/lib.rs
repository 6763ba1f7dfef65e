//! The pure core of dual mode: feature flags and their registry, sticky percentage rollout
//! (bucketed like Unleash), the mode resolver, rollback and the automatic rollback trigger, and the
//! hybrid per-task fallback rule.
//!
//! Nothing in this crate does IO, reads a clock or draws unseeded randomness: time, the
//! environment and random sources are passed in, so every decision is reproducible.

pub mod murmur;
pub mod random;
pub mod unleash;

pub use murmur::{bucket_in_rollout, murmur3_32, normalized_bucket, normalized_value};
pub use random::{RandomSource, SplitMix64};
pub mod flags;
pub mod registry;

pub use flags::{FlagChange, FlagSet, Rollback, ValidationStrictness};
pub use registry::{
    lookup, names, FlagDef, FlagError, FlagKind, FlagValue, REGISTRY, REQUIRED_CAPABILITIES,
    V2_CAPABILITIES,
};
pub mod resolver;

pub use resolver::{resolve, Decision, Reason, ResolveInput, ROLLOUT_GROUP_ID};
pub mod window;

pub use window::{SlidingWindow, Trigger, TriggerKind, UnitOutcome, WindowSettings, WindowStats};
