//! End-to-end tests of the `mge` binary: one test binary, one module per subject.

mod atomize_cli;
mod common;
mod kill_resume;
mod modes;
mod modes_load;
mod plan_cli;
mod review;
mod run_fixtures;
