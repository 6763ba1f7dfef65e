//! Domain vocabulary shared by every mge crate: languages, execution modes, statuses and the
//! identifiers of persisted entities. This crate does no IO.

mod language;
mod mode;
mod status;

pub use language::{Language, UnsupportedLanguage};
pub use mode::{ExecutionMode, UnknownMode};
pub use status::{AtomStatus, EdgeKind, ReviewStatus, TaskStatus, ValidationLevel};

/// Identifier of a stored masterplan.
pub type PlanId = uuid::Uuid;
/// Identifier of a stored task.
pub type TaskId = uuid::Uuid;
/// Identifier of a stored atomic unit.
pub type AtomId = uuid::Uuid;
