//! The orchestrator: runs a stored plan through a strategy, records the run's settings so it can
//! be resumed, writes the output project and summarizes the run from the store.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mge_core::{ExecutionMode, PlanId, TaskId, TaskStatus};
use mge_generate::Generator;
use mge_store::{Store, StoredPlan};
use serde::{Deserialize, Serialize};

use crate::events::{Event, EventSink};
use crate::scheduler::{self, Barrier, Hooks, UnitEnd};
use crate::strategy::ExecutionStrategy;
use crate::{output, EngineError, HybridStrategy, MvpStrategy, Result, V2Strategy};

/// History event that starts a run; its details are the [`RunOptions`], read back on resume.
pub const RUN_STARTED: &str = "run_started";
pub const RUN_RESUMED: &str = "run_resumed";
pub const RUN_COMPLETED: &str = "run_completed";
pub const RUN_STOPPED: &str = "run_stopped";
/// One finished generation attempt of one unit, with its tokens, latency, cost and verdict.
pub const ATTEMPT_FINISHED: &str = "attempt_finished";

/// How a run executes. Persisted with the run (`run_started`) so `--resume` continues with the
/// same settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    pub mode: ExecutionMode,
    /// Why this mode was chosen, as recorded on the plan.
    pub mode_reason: String,
    /// Units at once; `None`: 3 tasks for MVP, 50 atoms for V2.
    pub max_parallel: Option<usize>,
    /// Strict wave barriers instead of dependency-driven starts (V2 only; for comparison).
    pub strict_waves: bool,
    /// Attempts per V2 atom (MVP never retries automatically).
    pub max_attempts: u32,
    /// Temperature of attempt 1, 2, 3...; the last repeats.
    pub temperatures: Vec<f32>,
    /// Where the generated project is written; none: not written.
    pub out_dir: Option<PathBuf>,
    /// The generator's settings (provider, seed, fault rate...), opaque to the engine.
    pub generator: serde_json::Value,
    /// V2: rounds of validation after generation (module, component, system levels); each
    /// round but the last regenerates the atoms its failures point at. 0: none.
    #[serde(default = "default_validation_rounds")]
    pub validation_rounds: u32,
    /// V2: wall-clock limit of one run of the plan's test suite in the sandbox (system level),
    /// in seconds; its CPU limit is the same, capped at 60 s.
    #[serde(default = "default_test_timeout")]
    pub test_timeout_seconds: u64,
    /// V2: independent samples drawn per accepted atom for the self-consistency signal of
    /// its confidence score (`mge_validate::consistency`); 0: none. Each is a generation,
    /// counted in the run's tokens and cost.
    #[serde(default = "default_consistency_samples")]
    pub consistency_samples: u32,
    /// V2: sampling temperature of those samples (non-zero, so that a real model can answer
    /// differently).
    #[serde(default = "default_consistency_temperature")]
    pub consistency_temperature: f32,
}

fn default_consistency_samples() -> u32 {
    1
}

fn default_consistency_temperature() -> f32 {
    mge_validate::consistency::DEFAULT_TEMPERATURE
}

fn default_validation_rounds() -> u32 {
    3
}

fn default_test_timeout() -> u64 {
    120
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            mode: ExecutionMode::Mvp,
            mode_reason: "default mode".to_string(),
            max_parallel: None,
            strict_waves: false,
            max_attempts: 3,
            temperatures: vec![0.0, 0.3, 0.6],
            out_dir: None,
            generator: serde_json::Value::Null,
            validation_rounds: default_validation_rounds(),
            test_timeout_seconds: default_test_timeout(),
            consistency_samples: default_consistency_samples(),
            consistency_temperature: default_consistency_temperature(),
        }
    }
}

impl RunOptions {
    /// Limits of the sandboxed toolchain runs of validation after generation.
    pub fn sandbox_limits(&self) -> mge_validate::SandboxLimits {
        let seconds = self.test_timeout_seconds.max(1);
        mge_validate::SandboxLimits {
            timeout: std::time::Duration::from_secs(seconds),
            cpu_seconds: seconds.min(60),
            ..mge_validate::SandboxLimits::default()
        }
    }

    pub fn temperature(&self, attempt: u32) -> f32 {
        let i = (attempt.max(1) - 1) as usize;
        self.temperatures
            .get(i)
            .or(self.temperatures.last())
            .copied()
            .unwrap_or(0.0)
    }
}

/// Everything a strategy needs while it runs one plan.
pub struct RunContext {
    pub store: Arc<dyn Store>,
    pub generator: Arc<dyn Generator>,
    pub plan: StoredPlan,
    pub options: RunOptions,
    pub events: EventSink,
}

impl RunContext {
    pub fn plan_id(&self) -> PlanId {
        self.plan.plan_id
    }

    /// Persists an event in the plan's history, then reports it.
    pub async fn record(
        &self,
        task: Option<TaskId>,
        event: &str,
        details: serde_json::Value,
    ) -> Result<i64> {
        let seq = self
            .store
            .append_history(self.plan.plan_id, task, event, &details)
            .await?;
        self.events.send(Event {
            seq,
            plan_id: self.plan.plan_id,
            event: event.to_string(),
            details,
        });
        Ok(seq)
    }
}

impl RunContext {
    /// Reports an event whose history row was written with a state change.
    pub fn report(&self, seq: i64, event: mge_store::HistoryEvent) {
        self.events.send(Event {
            seq,
            plan_id: event.plan,
            event: event.event,
            details: event.details,
        });
    }
}

/// The result of a run, computed from the store (so a resumed run reports the same counts as an
/// uninterrupted one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: PlanId,
    pub plan: String,
    pub mode: ExecutionMode,
    pub units: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub blocked: usize,
    /// Finished generation attempts over the whole run (resumes included).
    pub attempts: u64,
    /// Attempts beyond the first of each unit.
    pub retries: u64,
    /// Wall time of this invocation.
    pub wall_seconds: f64,
    /// Modelled or measured generator time, summed over attempts.
    pub llm_seconds: f64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    /// Most units running at once in this invocation.
    pub max_concurrency: usize,
    /// Faults the simulated generator injected (0 for real providers).
    pub faults_injected: u64,
    /// Attempts whose validation failed.
    pub faults_detected: u64,
    pub out_dir: Option<PathBuf>,
    /// True when the run stopped early (drain) and can be resumed.
    pub stopped: bool,
    /// Tasks generated in V2 and in MVP (hybrid splits them; a fallback counts as MVP).
    pub tasks_v2: usize,
    pub tasks_mvp: usize,
    /// Hybrid fallbacks recorded (`hybrid_fallback` events).
    pub fallbacks: usize,
    /// V2: share of the plan's tests passing on the project made of every atom's first
    /// attempt (before retries and validation rounds); `None` when not measured.
    #[serde(default)]
    pub precision_first_attempt: Option<f64>,
    /// V2: share of the plan's tests passing on the final project (last validation round).
    #[serde(default)]
    pub precision_final: Option<f64>,
    /// V2: post-generation validation rounds made, and atoms regenerated by them.
    #[serde(default)]
    pub validation_rounds: u32,
    #[serde(default)]
    pub atoms_regenerated: u64,
    /// V2: atoms sent to human review.
    #[serde(default)]
    pub review_queued: u64,
}

/// Runs plans. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub generator: Arc<dyn Generator>,
    pub events: EventSink,
    /// Set to stop starting new units (drain); running units finish.
    pub stop: Arc<AtomicBool>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, generator: Arc<dyn Generator>) -> Engine {
        Engine {
            store,
            generator,
            events: EventSink::default(),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts a run of an imported plan: persists the mode and the options, then executes.
    pub async fn start(&self, plan: PlanId, options: RunOptions) -> Result<RunSummary> {
        let stored = self.store.load_plan(plan).await?;
        if self
            .store
            .load_history(plan)
            .await?
            .iter()
            .any(|h| h.event == RUN_STARTED)
        {
            return Err(EngineError::Plan {
                plan,
                message: "has already been run; resume it or retry a task instead".to_string(),
            });
        }
        // The mode is persisted once: a caller that decided it through `ModeControl` already
        // wrote it; otherwise it is written here (MVP is the column's default).
        if options.mode != ExecutionMode::Mvp
            && self.store.modes().decided_mode(plan).await?.is_none()
        {
            self.store
                .set_execution_mode(plan, options.mode, &options.mode_reason)
                .await?;
        }
        let ctx = self.context(stored, options.clone());
        ctx.record(
            None,
            RUN_STARTED,
            serde_json::to_value(&options).expect("options serialize"),
        )
        .await?;
        self.execute(ctx).await
    }

    /// Resumes an interrupted run with the options it was started with.
    pub async fn resume(&self, plan: PlanId) -> Result<RunSummary> {
        let options = Self::run_options(self.store.as_ref(), plan).await?;
        let stored = self.store.load_plan(plan).await?;
        let ctx = self.context(stored, options);
        ctx.record(None, RUN_RESUMED, serde_json::json!({})).await?;
        self.execute(ctx).await
    }

    /// Runs a failed MVP task again (with the blocked tasks behind it): its subtasks that did not
    /// succeed are generated anew, with a fresh draw, under the run's recorded options.
    pub async fn retry_task(&self, plan: PlanId, task: TaskId) -> Result<RunSummary> {
        let options = Self::run_options(self.store.as_ref(), plan).await?;
        let stored = self.store.load_plan(plan).await?;
        let Some(target) = stored.tasks.iter().find(|t| t.task_id == task) else {
            return Err(EngineError::Plan {
                plan,
                message: format!("has no task {task}"),
            });
        };
        if !matches!(target.status, TaskStatus::Failed | TaskStatus::Blocked) {
            return Err(EngineError::Plan {
                plan,
                message: format!(
                    "task '{}' is {}, only a failed or blocked task can be retried",
                    target.key, target.status
                ),
            });
        }
        // The task and everything blocked behind it go back to pending.
        let mut reset = vec![target.key.clone()];
        let mut i = 0;
        while i < reset.len() {
            for t in &stored.tasks {
                let spec = stored
                    .plan
                    .task(&t.key)
                    .expect("stored tasks come from the plan");
                if t.status == TaskStatus::Blocked
                    && spec.depends_on.contains(&reset[i])
                    && !reset.contains(&t.key)
                {
                    reset.push(t.key.clone());
                }
            }
            i += 1;
        }
        for key in &reset {
            let t = stored.tasks.iter().find(|t| &t.key == key).expect("listed");
            self.store
                .set_task_status(t.task_id, TaskStatus::Pending, &mge_store::Outcome::none())
                .await?;
        }
        let stored = self.store.load_plan(plan).await?;
        let ctx = self.context(stored, options);
        ctx.record(
            Some(task),
            "task_retry",
            serde_json::json!({"tasks": reset}),
        )
        .await?;
        self.execute(ctx).await
    }

    /// The options a run was started with.
    pub async fn run_options(store: &dyn Store, plan: PlanId) -> Result<RunOptions> {
        let history = store.load_history(plan).await?;
        let started = history
            .iter()
            .find(|h| h.event == RUN_STARTED)
            .ok_or_else(|| EngineError::Plan {
                plan,
                message: "has never been run, so there is nothing to resume".to_string(),
            })?;
        serde_json::from_value(started.details.clone()).map_err(|e| EngineError::Plan {
            plan,
            message: format!("its recorded run options are unreadable: {e}"),
        })
    }

    fn context(&self, plan: StoredPlan, options: RunOptions) -> Arc<RunContext> {
        Arc::new(RunContext {
            store: self.store.clone(),
            generator: self.generator.clone(),
            plan,
            options,
            events: self.events.clone(),
        })
    }

    fn strategy(&self, mode: ExecutionMode) -> Arc<dyn ExecutionStrategy> {
        match mode {
            ExecutionMode::Mvp => Arc::new(MvpStrategy),
            ExecutionMode::V2Atoms => Arc::new(V2Strategy::default()),
            ExecutionMode::Hybrid => Arc::new(HybridStrategy::default()),
        }
    }

    async fn execute(&self, ctx: Arc<RunContext>) -> Result<RunSummary> {
        let started = Instant::now();
        let v2 =
            (ctx.options.mode == ExecutionMode::V2Atoms).then(|| Arc::new(V2Strategy::default()));
        let hybrid = (ctx.options.mode == ExecutionMode::Hybrid)
            .then(|| Arc::new(HybridStrategy::default()));
        let strategy: Arc<dyn ExecutionStrategy> = match (&v2, &hybrid) {
            (Some(v2), _) => v2.clone(),
            (_, Some(hybrid)) => hybrid.clone(),
            _ => self.strategy(ctx.options.mode),
        };
        self.store
            .set_plan_status(ctx.plan_id(), TaskStatus::Running)
            .await?;
        let units = strategy.atomize_plan(&ctx).await?;
        let schedule = strategy.build_execution_order(&ctx, &units).await?;
        let default_parallel = match strategy.mode() {
            ExecutionMode::Mvp => 3,
            _ => 50,
        };
        let max_parallel = ctx.options.max_parallel.unwrap_or(default_parallel);
        let barrier = if ctx.options.strict_waves {
            Barrier::Waves
        } else {
            Barrier::Dependencies
        };
        let fatal: Arc<Mutex<Option<EngineError>>> = Arc::default();
        let mut hooks = RunHooks {
            ctx: ctx.clone(),
            strategy: strategy.clone(),
            fatal: fatal.clone(),
            stop: self.stop.clone(),
        };
        let report = scheduler::run(
            &schedule,
            units.initial.clone(),
            max_parallel,
            barrier,
            &mut hooks,
            |unit| {
                let ctx = ctx.clone();
                let strategy = strategy.clone();
                let fatal = fatal.clone();
                let stop = self.stop.clone();
                async move {
                    match strategy.execute_unit(&ctx, unit).await {
                        Ok(result) => result.succeeded,
                        Err(e) => {
                            tracing::error!(unit, error = %e, "unit aborted the run");
                            fatal.lock().expect("fatal lock").get_or_insert(e);
                            stop.store(true, Ordering::SeqCst);
                            false
                        }
                    }
                }
            },
        )
        .await;
        if let Some(e) = fatal.lock().expect("fatal lock").take() {
            return Err(e);
        }
        let stopped = report.ends.contains(&UnitEnd::NotStarted);
        if let (Some(v2), false) = (&v2, stopped) {
            v2.validate_generated(&ctx).await?;
        }
        if let (Some(hybrid), false) = (&hybrid, stopped) {
            hybrid.validate_generated(&ctx).await?;
        }
        let files = strategy.assemble(&ctx).await?;
        if let Some(out) = &ctx.options.out_dir {
            output::write_project(out, &ctx.plan.plan, &files)?;
        }
        let all_ok = report.ends.iter().all(|e| *e == UnitEnd::Succeeded);
        let status = match (stopped, all_ok) {
            (true, _) => TaskStatus::Running,
            (false, true) => TaskStatus::Succeeded,
            (false, false) => TaskStatus::Failed,
        };
        self.store.set_plan_status(ctx.plan_id(), status).await?;
        let mut summary = summarize(&ctx, &report.ends).await?;
        if let Some([units, succeeded, failed, blocked]) = strategy.unit_counts(&ctx).await? {
            summary.units = units;
            summary.succeeded = succeeded;
            summary.failed = failed;
            summary.blocked = blocked;
        }
        summary.wall_seconds = started.elapsed().as_secs_f64();
        summary.max_concurrency = report.max_concurrency;
        summary.stopped = stopped;
        let event = if stopped { RUN_STOPPED } else { RUN_COMPLETED };
        ctx.record(
            None,
            event,
            serde_json::to_value(&summary).expect("summary serializes"),
        )
        .await?;
        Ok(summary)
    }
}

struct RunHooks {
    ctx: Arc<RunContext>,
    strategy: Arc<dyn ExecutionStrategy>,
    fatal: Arc<Mutex<Option<EngineError>>>,
    stop: Arc<AtomicBool>,
}

impl Hooks for RunHooks {
    async fn on_blocked(&mut self, unit: usize, cause: usize) {
        if let Err(e) = self.strategy.mark_blocked(&self.ctx, unit, cause).await {
            self.fatal.lock().expect("fatal lock").get_or_insert(e);
            self.stop.store(true, Ordering::SeqCst);
        }
    }

    fn keep_going(&mut self) -> bool {
        !self.stop.load(Ordering::SeqCst)
    }
}

/// Totals of a run from its history: every finished attempt, across resumes.
async fn summarize(ctx: &RunContext, ends: &[UnitEnd]) -> Result<RunSummary> {
    let history = ctx.store.load_history(ctx.plan_id()).await?;
    let mut summary = RunSummary {
        run_id: ctx.plan_id(),
        plan: ctx.plan.plan.name.clone(),
        mode: ctx.options.mode,
        units: ends.len(),
        succeeded: ends.iter().filter(|e| **e == UnitEnd::Succeeded).count(),
        failed: ends.iter().filter(|e| **e == UnitEnd::Failed).count(),
        blocked: ends.iter().filter(|e| **e == UnitEnd::Blocked).count(),
        attempts: 0,
        retries: 0,
        wall_seconds: 0.0,
        llm_seconds: 0.0,
        tokens_in: 0,
        tokens_out: 0,
        cost_usd: 0.0,
        max_concurrency: 0,
        faults_injected: 0,
        faults_detected: 0,
        out_dir: ctx.options.out_dir.clone(),
        stopped: false,
        tasks_v2: 0,
        tasks_mvp: 0,
        fallbacks: history
            .iter()
            .filter(|h| h.event == crate::HYBRID_FALLBACK)
            .count(),
        precision_first_attempt: None,
        precision_final: None,
        validation_rounds: 0,
        atoms_regenerated: 0,
        review_queued: 0,
    };
    crate::v2::summarize_validation(&history, &mut summary);
    let tasks = ctx.plan.tasks.len();
    (summary.tasks_v2, summary.tasks_mvp) = match ctx.options.mode {
        ExecutionMode::Mvp => (0, tasks),
        ExecutionMode::V2Atoms => (tasks, 0),
        ExecutionMode::Hybrid => (tasks - summary.fallbacks, summary.fallbacks),
    };
    for h in history.iter().filter(|h| h.event == ATTEMPT_FINISHED) {
        let d = &h.details;
        let num = |k: &str| d.get(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
        summary.attempts += 1;
        if num("draw") > 1.0 {
            summary.retries += 1;
        }
        summary.llm_seconds += num("latency_seconds");
        summary.tokens_in += num("tokens_in") as u64;
        summary.tokens_out += num("tokens_out") as u64;
        summary.cost_usd += num("cost_usd");
        summary.faults_injected += num("faults_injected") as u64;
        if d.get("ok").and_then(serde_json::Value::as_bool) == Some(false) {
            summary.faults_detected += 1;
        }
    }
    // Consistency samples are generations too: their tokens, time and cost count.
    for h in history
        .iter()
        .filter(|h| h.event == crate::v2::CONSISTENCY_SAMPLE)
    {
        let num = |k: &str| h.details.get(k).and_then(serde_json::Value::as_f64);
        summary.llm_seconds += num("latency_seconds").unwrap_or(0.0);
        summary.tokens_in += num("tokens_in").unwrap_or(0.0) as u64;
        summary.tokens_out += num("tokens_out").unwrap_or(0.0) as u64;
        summary.cost_usd += num("cost_usd").unwrap_or(0.0);
    }
    Ok(summary)
}
