//! From runs to a report: per-plan and overall summaries per mode and comparisons between modes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mge_core::ExecutionMode;
use serde::{Deserialize, Serialize};

use crate::experiment::{AbConfig, PlanInfo, RunRecord};
use crate::stats::{self, Comparison};

/// A metric of a run, with how runs of several plans add up to the overall value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Precision,
    FullyPassing,
    WallSeconds,
    LlmSeconds,
    Tokens,
    CostUsd,
    Units,
    MeanUnitLoc,
    MaxConcurrency,
    Retries,
    ReviewRate,
    Fallbacks,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::Precision,
        Metric::FullyPassing,
        Metric::WallSeconds,
        Metric::LlmSeconds,
        Metric::Tokens,
        Metric::CostUsd,
        Metric::Units,
        Metric::MeanUnitLoc,
        Metric::MaxConcurrency,
        Metric::Retries,
        Metric::ReviewRate,
        Metric::Fallbacks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Precision => "precision",
            Metric::FullyPassing => "fully_passing",
            Metric::WallSeconds => "wall_seconds",
            Metric::LlmSeconds => "llm_seconds",
            Metric::Tokens => "tokens",
            Metric::CostUsd => "cost_usd",
            Metric::Units => "units",
            Metric::MeanUnitLoc => "mean_unit_loc",
            Metric::MaxConcurrency => "max_concurrency",
            Metric::Retries => "retries",
            Metric::ReviewRate => "review_rate",
            Metric::Fallbacks => "fallbacks",
        }
    }

    /// Column heading in the markdown tables.
    pub fn heading(self) -> &'static str {
        match self {
            Metric::Precision => "precision",
            Metric::FullyPassing => "fully passing",
            Metric::WallSeconds => "wall s",
            Metric::LlmSeconds => "LLM s",
            Metric::Tokens => "tokens",
            Metric::CostUsd => "cost $",
            Metric::Units => "units",
            Metric::MeanUnitLoc => "LOC/unit",
            Metric::MaxConcurrency => "max conc.",
            Metric::Retries => "retries",
            Metric::ReviewRate => "review rate",
            Metric::Fallbacks => "fallbacks",
        }
    }

    fn value(self, r: &RunRecord) -> f64 {
        match self {
            Metric::Precision => r.precision,
            Metric::FullyPassing => f64::from(u8::from(r.fully_passing)),
            Metric::WallSeconds => r.wall_seconds,
            Metric::LlmSeconds => r.llm_seconds,
            Metric::Tokens => r.tokens as f64,
            Metric::CostUsd => r.cost_usd,
            Metric::Units => r.units as f64,
            Metric::MeanUnitLoc => r.mean_unit_loc,
            Metric::MaxConcurrency => r.max_concurrency as f64,
            Metric::Retries => r.retries as f64,
            Metric::ReviewRate => r.review_rate,
            Metric::Fallbacks => r.fallbacks as f64,
        }
    }

    /// The overall value of one seed over every plan: precision and the fully-passing share are
    /// averaged over plans, LOC per unit and the review rate are ratios of totals, the maximum
    /// concurrency is the largest, everything else is summed.
    fn overall(self, runs: &[&RunRecord], plans: &[PlanInfo]) -> f64 {
        let sum = |f: &dyn Fn(&RunRecord) -> f64| runs.iter().map(|r| f(r)).sum::<f64>();
        let units = sum(&|r| r.units as f64);
        match self {
            Metric::Precision | Metric::FullyPassing => {
                sum(&|r| self.value(r)) / runs.len().max(1) as f64
            }
            Metric::MeanUnitLoc => {
                let loc: f64 = runs
                    .iter()
                    .filter_map(|r| plans.iter().find(|p| p.name == r.plan))
                    .map(|p| p.loc as f64)
                    .sum();
                if units == 0.0 {
                    0.0
                } else {
                    loc / units
                }
            }
            Metric::ReviewRate => {
                if units == 0.0 {
                    0.0
                } else {
                    sum(&|r| r.reviews as f64) / units
                }
            }
            Metric::MaxConcurrency => runs
                .iter()
                .map(|r| r.max_concurrency as f64)
                .fold(0.0, f64::max),
            _ => sum(&|r| self.value(r)),
        }
    }
}

/// Mean, standard deviation and count of a metric's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub n: usize,
}

/// One mode's metrics, for one plan or (with `plan: None`) for all plans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub fault_rate: f64,
    pub plan: Option<String>,
    pub mode: ExecutionMode,
    /// Runs (seeds) that completed and entered the statistics.
    pub runs: usize,
    /// Runs that could not complete.
    pub errors: usize,
    pub metrics: BTreeMap<String, Stat>,
}

/// A difference `a - b` of one metric between two modes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeComparison {
    pub fault_rate: f64,
    pub plan: Option<String>,
    pub metric: String,
    pub a: ExecutionMode,
    pub b: ExecutionMode,
    #[serde(flatten)]
    pub result: Comparison,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigEcho {
    pub plans: Vec<String>,
    pub modes: Vec<ExecutionMode>,
    pub runs: usize,
    pub seed: u64,
    pub fault_rates: Vec<f64>,
    pub store: String,
    pub jobs: usize,
}

/// Everything `mge ab` reports (written as `report.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AbReport {
    pub config: ConfigEcho,
    pub plans: Vec<PlanInfo>,
    pub runs: Vec<RunRecord>,
    pub summaries: Vec<Summary>,
    pub comparisons: Vec<ModeComparison>,
    pub notes: Vec<String>,
    pub wall_seconds: f64,
}

/// Samples of one metric per seed: `(run index, value)`.
type Samples = BTreeMap<usize, f64>;

/// Summarizes and compares the runs.
pub fn build(
    config: &AbConfig,
    store: &str,
    plans: Vec<PlanInfo>,
    runs: Vec<RunRecord>,
    wall_seconds: f64,
) -> AbReport {
    let mut summaries = Vec::new();
    let mut comparisons = Vec::new();
    for &fault_rate in &config.fault_rates {
        let at_rate: Vec<&RunRecord> = runs.iter().filter(|r| r.fault_rate == fault_rate).collect();
        // Per plan, then overall (`None`).
        let scopes: Vec<Option<&str>> = plans
            .iter()
            .map(|p| Some(p.name.as_str()))
            .chain([None])
            .collect();
        for scope in scopes {
            let mut samples: HashMap<ExecutionMode, BTreeMap<&str, Samples>> = HashMap::new();
            for &mode in &config.modes {
                let of_mode: Vec<&RunRecord> =
                    at_rate.iter().copied().filter(|r| r.mode == mode).collect();
                let (per_metric, ok, errors) = scope_samples(&of_mode, scope, &plans);
                let metrics = per_metric
                    .iter()
                    .map(|(name, s)| {
                        let values: Vec<f64> = s.values().copied().collect();
                        (
                            name.to_string(),
                            Stat {
                                mean: stats::mean(&values),
                                sd: stats::sd(&values),
                                n: values.len(),
                            },
                        )
                    })
                    .collect();
                summaries.push(Summary {
                    fault_rate,
                    plan: scope.map(str::to_string),
                    mode,
                    runs: ok,
                    errors,
                    metrics,
                });
                samples.insert(mode, per_metric);
            }
            for (i, &b) in config.modes.iter().enumerate() {
                for &a in &config.modes[i + 1..] {
                    for metric in Metric::ALL {
                        let sa = &samples[&a][metric.name()];
                        let sb = &samples[&b][metric.name()];
                        comparisons.push(ModeComparison {
                            fault_rate,
                            plan: scope.map(str::to_string),
                            metric: metric.name().to_string(),
                            a,
                            b,
                            result: compare(sa, sb),
                        });
                    }
                }
            }
        }
    }
    let notes = notes(config, &runs);
    AbReport {
        config: ConfigEcho {
            plans: plans.iter().map(|p| p.path.display().to_string()).collect(),
            modes: config.modes.clone(),
            runs: config.runs,
            seed: config.seed,
            fault_rates: config.fault_rates.clone(),
            store: store.to_string(),
            jobs: config.jobs,
        },
        plans,
        runs,
        summaries,
        comparisons,
        notes,
        wall_seconds,
    }
}

/// Samples of every metric per seed for one mode in one scope, the number of seeds that
/// entered them and the number of failed runs. Overall, a seed counts only when every plan
/// completed with it.
fn scope_samples<'a>(
    runs: &[&RunRecord],
    scope: Option<&str>,
    plans: &[PlanInfo],
) -> (BTreeMap<&'a str, Samples>, usize, usize) {
    let in_scope: Vec<&RunRecord> = runs
        .iter()
        .copied()
        .filter(|r| scope.is_none_or(|p| r.plan == p))
        .collect();
    let errors = in_scope.iter().filter(|r| r.error.is_some()).count();
    let mut by_seed: BTreeMap<usize, Vec<&RunRecord>> = BTreeMap::new();
    for r in &in_scope {
        by_seed.entry(r.run).or_default().push(r);
    }
    let expected = if scope.is_some() { 1 } else { plans.len() };
    let complete: Vec<(usize, Vec<&RunRecord>)> = by_seed
        .into_iter()
        .filter(|(_, rs)| rs.len() == expected && rs.iter().all(|r| r.error.is_none()))
        .collect();
    let mut out: BTreeMap<&str, Samples> = BTreeMap::new();
    for metric in Metric::ALL {
        let samples = complete
            .iter()
            .map(|(seed, rs)| {
                let value = if scope.is_some() {
                    metric.value(rs[0])
                } else {
                    metric.overall(rs, plans)
                };
                (*seed, value)
            })
            .collect();
        out.insert(metric.name(), samples);
    }
    (out, complete.len(), errors)
}

/// Paired t-test when both modes have exactly the same seeds, Welch's t-test otherwise.
fn compare(a: &Samples, b: &Samples) -> Comparison {
    let same_seeds = a.keys().eq(b.keys());
    if same_seeds {
        let va: Vec<f64> = a.values().copied().collect();
        let vb: Vec<f64> = b.values().copied().collect();
        stats::paired_t(&va, &vb)
    } else {
        let va: Vec<f64> = a.values().copied().collect();
        let vb: Vec<f64> = b.values().copied().collect();
        let mut c = stats::welch_t(&va, &vb);
        let why = "unpaired: some seeds have no completed run in one of the modes";
        c.note = Some(match c.note {
            Some(n) => format!("{why}; {n}"),
            None => why.to_string(),
        });
        c
    }
}

fn notes(config: &AbConfig, runs: &[RunRecord]) -> Vec<String> {
    let mut notes = vec![
        "precision: share of the plan's reference tests passing in the generated project (a \
         suite that does not start, e.g. a compile or import error, passes none); overall: mean \
         over plans. fully passing: share of plans (per plan: of runs) whose every test passes."
            .to_string(),
        format!(
            "wall s: engine time per run, summed over plans overall, measured with {} runs \
             executing at once; LLM s: modelled generator latency summed over attempts (reported, \
             not awaited); cost: modelled price of the tokens.",
            config.jobs
        ),
        "LOC/unit: non-blank lines of the plan's target files (reference) divided by the units \
         the mode executed (tasks in mvp, atom groups in v2_atoms)."
            .to_string(),
        "differences are row mode minus column mode (a - b), with a 95% confidence interval and a \
         two-sided p-value; paired t-test over runs with the same seed, Welch's t-test where \
         seeds are unpaired; significant: p < 0.05, uncorrected for the number of comparisons."
            .to_string(),
    ];
    let ok: Vec<&RunRecord> = runs.iter().filter(|r| r.error.is_none()).collect();
    if !ok.iter().any(|r| r.reviews > 0) {
        notes.push(
            "review rate is 0 in every run: no review-queue entry was recorded (the review \
             queue is read from the store; mvp never enqueues reviews)."
                .to_string(),
        );
    }
    if !ok.iter().any(|r| r.fallbacks > 0) {
        notes.push(
            "fallbacks are 0 in every run: no fallback event was recorded in any run's history."
                .to_string(),
        );
    }
    let failed: Vec<&RunRecord> = runs.iter().filter(|r| r.error.is_some()).collect();
    if !failed.is_empty() {
        let mut modes = BTreeSet::new();
        for r in &failed {
            modes.insert(r.mode.as_str());
        }
        notes.push(format!(
            "{} run(s) could not complete (modes: {}) and are left out of the statistics; first \
             error: {}",
            failed.len(),
            modes.into_iter().collect::<Vec<_>>().join(", "),
            failed[0].error.as_deref().unwrap_or_default()
        ));
    }
    notes
}
