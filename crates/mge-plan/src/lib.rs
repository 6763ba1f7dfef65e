//! Masterplan files: the documented format (`docs/plan-format.md`), loading with precise
//! diagnostics, and the validated [`Plan`] model every other crate consumes.

mod checks;
mod diagnostic;
mod load;
mod locate;
mod model;
mod raw;

pub use diagnostic::{Diagnostic, PlanError};
pub use load::{
    load, parse, resolve_plan_path, Format, LoadedPlan, MAX_PLAN_BYTES, PLAN_FILE_NAMES,
};
pub use model::{Milestone, Phase, Plan, Subtask, Task};
