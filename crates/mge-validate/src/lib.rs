//! Hierarchical validation of generated code and the sandbox that runs toolchains on it.
//!
//! Four levels, cheapest first, each returning a [`ValidationReport`] that maps onto one
//! `validation_results` row:
//!
//! 1. [`atomic::validate_atom`]: one generated atom in its place in the file (parse, expected
//!    definitions and signature, name resolution, size and complexity). Pure.
//! 2. [`module::validate_module`]: one reassembled file (parse, duplicate or missing
//!    definitions, name resolution, `py_compile`).
//! 3. [`component::validate_component`]: the files of a package or directory (imports resolve
//!    to exported symbols, call arity, `tsc --noEmit`).
//! 4. [`system::validate_system`]: the plan's test command over the whole project.
//!
//! Levels 2-4 run toolchains in a [`sandbox::Sandbox`]. [`bisect`] maps failures back to atoms
//! and finds culprits by bisection; [`confidence`] turns the signals of an atom into a score,
//! one of them the [`consistency`] of the accepted code with an independent sample.

mod arity;
pub mod atomic;
pub mod bisect;
pub mod catch;
pub mod component;
pub mod confidence;
pub mod consistency;
pub mod module;
mod names;
pub mod output;
pub mod project;
mod pysigs;
pub mod report;
pub mod sandbox;
pub mod syntax;
pub mod system;

pub use atomic::{validate_atom, AtomInput, AtomLimits};
pub use bisect::{bisect, bisect_async, spans, suspects, AtomSpan, Bisection, Bisector};
pub use component::{
    check_component, components, run_tsc, validate_component, validate_components,
};
pub use confidence::{confidence, needs_review, ConfidenceWeights, Signals};
pub use module::{check_module, py_compile, validate_module, validate_modules, ModuleInput};
pub use project::{atom_at_line, Project, ValidateError};
pub use report::{codes, ValidationReport, Violation, VALIDATOR_VERSION};
pub use sandbox::{
    Capabilities, Ending, Isolation, LimitHit, RunOutcome, Sandbox, SandboxError, SandboxLimits,
};
pub use system::{report_from_run, validate_system};
