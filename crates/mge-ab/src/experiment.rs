//! Running the comparison: every plan in every mode, `runs` seeded runs per fault rate, each run
//! in-process through the engine, then the plan's tests in the generated project.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mge_core::ExecutionMode;
use mge_engine::{Engine, ModeControl, RunOptions, RunSummary};
use mge_generate::Generator;
use mge_store::Store;
use serde::{Deserialize, Serialize};

use crate::precision::{self, SuiteRun};
use crate::report::{self, AbReport};
use crate::AbError;

/// Builds the generator of one run from its seed and fault rate; returns it with the settings
/// recorded in the run's options.
pub type GeneratorFactory =
    Arc<dyn Fn(u64, f64) -> Result<(Arc<dyn Generator>, serde_json::Value), String> + Send + Sync>;

/// What to compare.
#[derive(Debug, Clone)]
pub struct AbConfig {
    /// Plan files or directories holding `plan.toml` / `plan.json` (already expanded).
    pub plans: Vec<PathBuf>,
    pub modes: Vec<ExecutionMode>,
    /// Seeded runs per plan, mode and fault rate.
    pub runs: usize,
    /// Seed of run 0; run `i` uses `seed + i` in every mode.
    pub seed: u64,
    pub fault_rates: Vec<f64>,
    /// One shared store for every run; `None`: a fresh temporary SQLite file per run.
    pub database_url: Option<String>,
    /// Runs at once.
    pub jobs: usize,
    /// Limit of one test command.
    pub test_timeout: Duration,
    /// Owner (user id) of the imported plans.
    pub owner: String,
}

impl Default for AbConfig {
    fn default() -> Self {
        AbConfig {
            plans: Vec::new(),
            modes: vec![
                ExecutionMode::Mvp,
                ExecutionMode::V2Atoms,
                ExecutionMode::Hybrid,
            ],
            runs: 5,
            seed: 0,
            fault_rates: vec![mge_generate::simulated::DEFAULT_FAULT_RATE],
            database_url: None,
            jobs: 2,
            test_timeout: precision::DEFAULT_TEST_TIMEOUT,
            owner: "ab".to_string(),
        }
    }
}

/// A plan under comparison, with its reference test count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanInfo {
    pub name: String,
    pub path: PathBuf,
    pub test_command: String,
    /// Tests of the reference suite: the denominator of precision.
    pub tests_total: u32,
    /// Non-blank lines of the plan's target files in the reference solution.
    pub loc: u64,
    #[serde(skip)]
    plan: Option<mge_plan::Plan>,
}

/// One run of one plan in one mode with one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub plan: String,
    pub mode: ExecutionMode,
    pub fault_rate: f64,
    /// Index of the run: runs with the same index (and fault rate) are paired across modes.
    pub run: usize,
    pub seed: u64,
    pub tests_passed: u32,
    pub tests_total: u32,
    /// False when the suite did not start (compile or import error before any test ran).
    pub suite_started: bool,
    /// `tests_passed / tests_total`.
    pub precision: f64,
    pub fully_passing: bool,
    /// Engine wall time of the run (other runs executing at the same time).
    pub wall_seconds: f64,
    /// Modelled generator time summed over attempts (not awaited).
    pub llm_seconds: f64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub tokens: u64,
    pub cost_usd: f64,
    pub units: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub blocked: usize,
    /// Plan LOC per unit.
    pub mean_unit_loc: f64,
    pub max_concurrency: usize,
    pub attempts: u64,
    pub retries: u64,
    pub faults_injected: u64,
    /// Review-queue entries of the run.
    pub reviews: usize,
    /// `reviews / units`.
    pub review_rate: f64,
    /// History events of the run recording a fallback to MVP.
    pub fallbacks: usize,
    /// Seconds spent in the test command (0 when a project with the same content was tested
    /// before).
    pub test_seconds: f64,
    /// Last lines of the test output when the suite did not start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite_output: Option<String>,
    /// Why the run could not complete; its metrics are then left out of every summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

struct Job {
    index: usize,
    plan: usize,
    mode: ExecutionMode,
    fault_rate: f64,
    run: usize,
    seed: u64,
}

/// Test results by project digest: identical projects are tested once.
type SuiteCache = Arc<Mutex<HashMap<String, SuiteRun>>>;

struct Shared {
    config: AbConfig,
    plans: Vec<PlanInfo>,
    factory: GeneratorFactory,
    work: PathBuf,
    store: Option<Arc<dyn Store>>,
    cache: SuiteCache,
}

/// Loads the plans and counts their reference tests.
pub async fn load_plans(paths: &[PathBuf], timeout: Duration) -> Result<Vec<PlanInfo>, AbError> {
    let mut handles = Vec::new();
    for path in paths {
        let path = path.clone();
        handles.push(tokio::task::spawn_blocking(move || {
            load_plan(&path, timeout)
        }));
    }
    let mut plans: Vec<PlanInfo> = Vec::new();
    for handle in handles {
        let plan = handle
            .await
            .map_err(|e| AbError::Config(format!("loading a plan: {e}")))??;
        if let Some(other) = plans.iter().find(|p| p.name == plan.name) {
            return Err(AbError::Plan {
                path: plan.path,
                message: format!(
                    "has the same name '{}' as {}; plan names identify plans in the report",
                    plan.name,
                    other.path.display()
                ),
            });
        }
        plans.push(plan);
    }
    Ok(plans)
}

fn load_plan(path: &Path, timeout: Duration) -> Result<PlanInfo, AbError> {
    let loaded = mge_plan::load(path).map_err(|e| AbError::Plan {
        path: path.to_path_buf(),
        message: e
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    let plan = loaded.plan;
    let plan_err = |message: &str| AbError::Plan {
        path: loaded.path.clone(),
        message: message.to_string(),
    };
    let reference = plan
        .reference_dir
        .clone()
        .ok_or_else(|| plan_err("has no reference_dir, which the simulated generator needs"))?;
    let command = plan
        .test_command
        .clone()
        .ok_or_else(|| plan_err("has no test_command, so precision cannot be measured"))?;
    let mut loc = 0u64;
    for task in plan.tasks() {
        let file = reference.join(&task.target);
        let text = std::fs::read_to_string(&file).map_err(|e| AbError::Io {
            path: file.clone(),
            message: format!("reading the reference of task '{}': {e}", task.key),
        })?;
        loc += text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    }
    let suite = precision::run_reference(&reference, &command, timeout)?;
    let counts = suite
        .counts
        .filter(|c| c.failed == 0 && c.passed > 0)
        .ok_or_else(|| {
            plan_err(&format!(
                "its reference suite `{command}` does not pass (exit {:?}); last output:\n{}",
                suite.exit_code, suite.tail
            ))
        })?;
    Ok(PlanInfo {
        name: plan.name.clone(),
        path: loaded.path.clone(),
        test_command: command,
        tests_total: counts.passed,
        loc,
        plan: Some(plan),
    })
}

/// Runs the whole comparison and builds its report. `progress` is called after every run.
pub async fn run_ab(
    config: &AbConfig,
    factory: GeneratorFactory,
    progress: impl Fn(usize, usize, &RunRecord),
) -> Result<AbReport, AbError> {
    let started = Instant::now();
    if config.modes.is_empty() || config.runs == 0 || config.fault_rates.is_empty() {
        return Err(AbError::Config(
            "at least one mode, one run and one fault rate are needed".to_string(),
        ));
    }
    if config.plans.is_empty() {
        return Err(AbError::Config("no plan given".to_string()));
    }
    let plans = load_plans(&config.plans, config.test_timeout).await?;
    let work = tempfile::Builder::new()
        .prefix("mge-ab-")
        .tempdir()
        .map_err(|e| AbError::Io {
            path: std::env::temp_dir(),
            message: format!("creating the work directory: {e}"),
        })?;
    let store = match &config.database_url {
        Some(url) => Some(open_store(url).await?),
        None => None,
    };
    let shared = Arc::new(Shared {
        config: config.clone(),
        plans,
        factory,
        work: work.path().to_path_buf(),
        store,
        cache: Arc::default(),
    });

    // Runs with the same index start together so a slow plan does not hold a whole mode back.
    let mut jobs = Vec::new();
    for &fault_rate in &config.fault_rates {
        for run in 0..config.runs {
            for plan in 0..shared.plans.len() {
                for &mode in &config.modes {
                    jobs.push(Job {
                        index: jobs.len(),
                        plan,
                        mode,
                        fault_rate,
                        run,
                        seed: config.seed.wrapping_add(run as u64),
                    });
                }
            }
        }
    }
    let total = jobs.len();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(config.jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let shared = shared.clone();
        let permit = semaphore.clone();
        set.spawn(async move {
            let _permit = permit.acquire_owned().await.expect("semaphore stays open");
            let index = job.index;
            (index, run_job(&shared, job).await)
        });
    }
    let mut records: Vec<Option<RunRecord>> = vec![None; total];
    let mut done = 0;
    while let Some(joined) = set.join_next().await {
        let (index, record) =
            joined.map_err(|e| AbError::Config(format!("a run panicked: {e}")))?;
        done += 1;
        progress(done, total, &record);
        records[index] = Some(record);
    }
    if let Some(store) = &shared.store {
        store.close().await;
    }
    let records: Vec<RunRecord> = records.into_iter().flatten().collect();
    let store_label = match &config.database_url {
        Some(url) => mge_store::redact_url(url),
        None => "a temporary SQLite file per run".to_string(),
    };
    Ok(report::build(
        config,
        &store_label,
        shared.plans.clone(),
        records,
        started.elapsed().as_secs_f64(),
    ))
}

async fn open_store(url: &str) -> Result<Arc<dyn Store>, AbError> {
    let err = |source| AbError::Store {
        url: mge_store::redact_url(url),
        source: Box::new(source),
    };
    if url.starts_with("sqlite:") {
        mge_store::create_database(url).await.map_err(err)?;
    }
    let store: Arc<dyn Store> = Arc::from(mge_store::open(url).await.map_err(err)?);
    store.migrate_up().await.map_err(err)?;
    Ok(store)
}

async fn run_job(shared: &Shared, job: Job) -> RunRecord {
    let info = &shared.plans[job.plan];
    let mut record = RunRecord {
        plan: info.name.clone(),
        mode: job.mode,
        fault_rate: job.fault_rate,
        run: job.run,
        seed: job.seed,
        tests_passed: 0,
        tests_total: info.tests_total,
        suite_started: false,
        precision: 0.0,
        fully_passing: false,
        wall_seconds: 0.0,
        llm_seconds: 0.0,
        tokens_in: 0,
        tokens_out: 0,
        tokens: 0,
        cost_usd: 0.0,
        units: 0,
        succeeded: 0,
        failed: 0,
        blocked: 0,
        mean_unit_loc: 0.0,
        max_concurrency: 0,
        attempts: 0,
        retries: 0,
        faults_injected: 0,
        reviews: 0,
        review_rate: 0.0,
        fallbacks: 0,
        test_seconds: 0.0,
        suite_output: None,
        error: None,
    };
    let out = shared.work.join(format!("out-{}", job.index));
    let result = execute(shared, &job, &out).await;
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(message) => {
            record.error = Some(message);
            let _ = std::fs::remove_dir_all(&out);
            return record;
        }
    };
    let s = &outcome.summary;
    record.wall_seconds = s.wall_seconds;
    record.llm_seconds = s.llm_seconds;
    record.tokens_in = s.tokens_in;
    record.tokens_out = s.tokens_out;
    record.tokens = s.tokens_in + s.tokens_out;
    record.cost_usd = s.cost_usd;
    record.units = s.units;
    record.succeeded = s.succeeded;
    record.failed = s.failed;
    record.blocked = s.blocked;
    record.mean_unit_loc = if s.units == 0 {
        0.0
    } else {
        info.loc as f64 / s.units as f64
    };
    record.max_concurrency = s.max_concurrency;
    record.attempts = s.attempts;
    record.retries = s.retries;
    record.faults_injected = s.faults_injected;
    record.reviews = outcome.reviews;
    record.review_rate = if s.units == 0 {
        0.0
    } else {
        outcome.reviews as f64 / s.units as f64
    };
    record.fallbacks = outcome.fallbacks;

    let tested = test_project(shared, &out, info).await;
    let _ = std::fs::remove_dir_all(&out);
    match tested {
        Ok((suite, seconds)) => {
            record.test_seconds = seconds;
            record.suite_started = suite.counts.is_some();
            record.tests_passed = suite.passed_of(info.tests_total);
            record.precision = f64::from(record.tests_passed) / f64::from(info.tests_total);
            record.fully_passing = record.tests_passed == info.tests_total
                && suite.counts.is_some_and(|c| c.failed == 0);
            if suite.counts.is_none() {
                record.suite_output = Some(suite.tail);
            }
        }
        Err(e) => record.error = Some(format!("testing the generated project: {e}")),
    }
    record
}

struct Outcome {
    summary: RunSummary,
    reviews: usize,
    fallbacks: usize,
}

/// First-start flags of a comparison store: every V2 capability on, everything else at its
/// default. A store that already has flags keeps its own.
fn capabilities_on() -> mge_rollout::FlagSet {
    mge_rollout::FlagSet::from_env(|var| {
        mge_rollout::V2_CAPABILITIES
            .contains(&var)
            .then(|| "true".to_string())
    })
    .expect("'true' is a valid capability flag value")
}

/// Imports the plan into the run's store and executes it; errors are messages naming the run.
async fn execute(shared: &Shared, job: &Job, out: &Path) -> Result<Outcome, String> {
    let info = &shared.plans[job.plan];
    let label = format!(
        "plan '{}' in {} mode, seed {}, fault rate {}",
        info.name, job.mode, job.seed, job.fault_rate
    );
    let (store, own_db) = match &shared.store {
        Some(store) => (store.clone(), None),
        None => {
            let db = shared.work.join(format!("run-{}.db", job.index));
            let url = format!("sqlite://{}?mode=rwc", db.display());
            let store = open_store(&url)
                .await
                .map_err(|e| format!("{label}: {e}"))?;
            (store, Some(db))
        }
    };
    let result = async {
        let plan = info.plan.as_ref().expect("loaded plans keep their model");
        let plan_id = store
            .import_plan(plan, &shared.config.owner)
            .await
            .map_err(|e| format!("importing: {e}"))?;
        let (generator, settings) = (shared.factory)(job.seed, job.fault_rate)?;
        // The mode under test is an explicit request to the mode resolver, so the decision is
        // recorded on the plan as in production, and flags that deny it (a rollback on a shared
        // store) stop the comparison instead of silently running another mode.
        let control = ModeControl::open(store.clone(), &capabilities_on(), "mge ab")
            .await
            .map_err(|e| format!("loading feature flags: {e}"))?;
        let decided = control
            .decide(plan_id, Some(&shared.config.owner), Some(job.mode))
            .await
            .map_err(|e| format!("deciding the mode: {e}"))?;
        if decided.mode != job.mode {
            return Err(format!(
                "the mode resolver gave {} ({}): the store's flags deny the mode under test",
                decided.mode, decided.reason
            ));
        }
        let options = RunOptions {
            mode: decided.mode,
            mode_reason: format!("a/b comparison: {}", decided.reason),
            out_dir: Some(out.to_path_buf()),
            generator: settings,
            test_timeout_seconds: shared.config.test_timeout.as_secs().max(1),
            ..RunOptions::default()
        };
        let summary = Engine::new(store.clone(), generator)
            .start(plan_id, options)
            .await
            .map_err(|e| e.to_string())?;
        let reviews = store
            .load_review_queue(plan_id)
            .await
            .map_err(|e| format!("reading the review queue: {e}"))?
            .len();
        let fallbacks = store
            .load_history(plan_id)
            .await
            .map_err(|e| format!("reading the history: {e}"))?
            .iter()
            .filter(|h| h.event.contains("fallback"))
            .count();
        Ok::<_, String>(Outcome {
            summary,
            reviews,
            fallbacks,
        })
    }
    .await
    .map_err(|e| format!("{label}: {e}"));
    if let Some(db) = own_db {
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    result
}

/// Runs the plan's tests in the generated project, or reuses the result of an identical
/// project tested before. Returns the suite run and the seconds spent testing.
async fn test_project(
    shared: &Shared,
    out: &Path,
    info: &PlanInfo,
) -> Result<(SuiteRun, f64), AbError> {
    let digest = precision::project_digest(out, &info.test_command)?;
    if let Some(hit) = shared.cache.lock().expect("cache lock").get(&digest) {
        return Ok((hit.clone(), 0.0));
    }
    let (dir, command, timeout) = (
        out.to_path_buf(),
        info.test_command.clone(),
        shared.config.test_timeout,
    );
    let suite = tokio::task::spawn_blocking(move || precision::run_suite(&dir, &command, timeout))
        .await
        .map_err(|e| AbError::Config(format!("the test runner panicked: {e}")))??;
    let seconds = suite.seconds;
    shared
        .cache
        .lock()
        .expect("cache lock")
        .insert(digest, suite.clone());
    Ok((suite, seconds))
}
