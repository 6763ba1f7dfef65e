//! Execution of masterplans: the [`ExecutionStrategy`] trait, the MVP and V2 strategies, the
//! dependency-driven [`scheduler`], the retry loop, and the orchestrator that runs a stored plan
//! through a strategy, persisting every state change before it is reported.
//!
//! A *run* is the execution of one imported plan: its id is the plan id. Everything a run does is
//! written to the store first (statuses, attempts, `masterplan_history` events) and only then
//! reported through [`events::EventSink`], so a run killed at any point resumes from the store.

pub mod events;
mod hybrid;
pub mod modes;
mod mvp;
pub mod output;
pub mod run;
pub mod scheduler;
mod strategy;
mod syntax;
mod v2;

pub use events::{Event, EventSink};
pub use hybrid::{HybridStrategy, HYBRID_FALLBACK};
pub use mge_store::StoredReview;
pub use modes::{ModeControl, ModeDecision, ModeWatcher};
pub use mvp::MvpStrategy;
pub use run::{Engine, RunOptions, RunSummary};
pub use strategy::{ExecutionStrategy, UnitPlan, UnitResult};
pub use v2::review::{ReviewDecision, REVIEW_DECIDED};
pub use v2::V2Strategy;

/// Errors of the engine. Store and generator failures keep their own message, which names the
/// entity that failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] mge_store::StoreError),
    #[error("plan {plan}: {message}")]
    Plan {
        plan: mge_core::PlanId,
        message: String,
    },
    /// A review decision that cannot be carried out (the review stays open).
    #[error("review of atom {atom}: {message}")]
    Review {
        atom: mge_core::AtomId,
        message: String,
    },
    #[error("reading the reference solution: {path}: {source}")]
    Reference {
        path: String,
        source: std::io::Error,
    },
    #[error("writing the output project at {path}: {source}")]
    Output {
        path: String,
        source: std::io::Error,
    },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
