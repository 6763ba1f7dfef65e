//! A/B comparison of execution modes (`mvp`, `v2_atoms`, `hybrid`) on fixture plans.
//!
//! [`run_ab`] runs every plan in every mode, `runs` times per fault rate, with the seeds `seed`,
//! `seed + 1`, ... shared by every mode, so the runs of two modes with the same seed are *paired*.
//! Each run executes in-process through [`mge_engine::Engine`] on its own temporary SQLite store
//! (or on one shared store given by URL), writes the generated project, and runs the plan's
//! `test_command` in it ([`precision`]). [`report::build`] turns the runs into per-plan and
//! overall summaries per mode and into comparisons between modes (paired t-test where every seed
//! has a run in both modes, Welch's t-test otherwise; [`stats`]). [`markdown::render`]
//! and [`chart::render_svg`] present them.
//!
//! # `report.json`
//!
//! [`report::AbReport`] serialized:
//!
//! - `config`: `plans` (paths), `modes`, `runs`, `seed`, `fault_rates`, `store`, `jobs`.
//! - `plans[]`: `name`, `path`, `test_command`, `tests_total` (from the reference suite), `loc`
//!   (non-blank lines of the plan's target files in the reference).
//! - `runs[]`: one [`RunRecord`] per plan, mode, fault rate and seed: `plan`, `mode`,
//!   `fault_rate`, `run` (index), `seed`, `tests_passed`, `tests_total`, `suite_started`,
//!   `precision`, `fully_passing`, `wall_seconds`, `llm_seconds`, `tokens`, `cost_usd`, `units`,
//!   `mean_unit_loc`, `max_concurrency`, `retries`, `reviews`, `review_rate`, `fallbacks`, ...
//!   and `error` when the run could not complete.
//! - `summaries[]`: `fault_rate`, `plan` (`null` for the overall row), `mode`, `runs`, and
//!   `metrics`: for each metric name, `{mean, sd, n}`.
//! - `comparisons[]`: `fault_rate`, `plan` (`null` overall), `metric`, `a`, `b` (the difference
//!   is `a - b`), and a [`stats::Comparison`]: `test` (`paired`/`welch`), `n`, `mean_a`,
//!   `mean_b`, `diff`, `ci_low`, `ci_high`, `t`, `df`, `p_value`, `significant`, `note`.
//! - `notes[]`: what the numbers mean and what was not measured; `wall_seconds`: the whole run.

pub mod chart;
pub mod experiment;
pub mod markdown;
pub mod precision;
pub mod report;
pub mod stats;

use std::path::PathBuf;

pub use experiment::{run_ab, AbConfig, GeneratorFactory, PlanInfo, RunRecord};
pub use report::AbReport;

/// Errors of an A/B comparison; each names the plan, file or run it concerns.
#[derive(Debug, thiserror::Error)]
pub enum AbError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("plan {path}: {message}")]
    Plan { path: PathBuf, message: String },
    #[error("store {url}: {source}")]
    Store {
        url: String,
        source: Box<mge_store::StoreError>,
    },
    #[error("configuration: {0}")]
    Config(String),
    #[error("drawing the chart: {0}")]
    Chart(String),
}
