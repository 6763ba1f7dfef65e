//! Masterplan files: the documented format (`docs/plan-format.md`), loading with precise
//! diagnostics, and the validated [`Plan`] model every other crate consumes.

mod model;

pub use model::{Milestone, Phase, Plan, Subtask, Task};
