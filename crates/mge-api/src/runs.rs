//! Background executions: each run is a tokio task holding an [`Engine`] whose events go to the
//! server's one broadcast sink; unfinished runs are resumed when the server starts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mge_core::{ExecutionMode, PlanId, TaskId};
use mge_engine::run::{RUN_COMPLETED, RUN_STARTED};
use mge_engine::{Engine, EventSink, RunOptions, RunSummary};
use mge_generate::{Generator, OpenAiConfig, OpenAiGenerator, SimulatedConfig, SimulatedGenerator};
use mge_store::Store;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Generator settings recorded with a run (the same JSON the CLI records), so a resumed run
/// rebuilds the same generator. The API key comes from `OPENAI_API_KEY`, never from the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorSettings {
    pub provider: Provider,
    pub seed: u64,
    pub fault_rate: f64,
    pub time_scale: f64,
    pub openai_base_url: Option<String>,
    pub openai_model: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Simulated,
    Openai,
}

impl Default for GeneratorSettings {
    fn default() -> Self {
        GeneratorSettings {
            provider: Provider::Simulated,
            seed: 0,
            fault_rate: 0.01,
            time_scale: 1.0,
            openai_base_url: None,
            openai_model: None,
        }
    }
}

/// Builds the generator of a run.
pub fn build_generator(settings: &GeneratorSettings) -> Result<Arc<dyn Generator>, ApiError> {
    let invalid = |e: mge_generate::GenerateError| {
        ApiError::bad_request(
            format!("generator: {e}"),
            serde_json::json!({ "field": "generator" }),
        )
    };
    Ok(match settings.provider {
        Provider::Simulated => Arc::new(
            SimulatedGenerator::new(SimulatedConfig {
                seed: settings.seed,
                fault_rate: settings.fault_rate,
                time_scale: settings.time_scale,
                ..SimulatedConfig::default()
            })
            .map_err(invalid)?,
        ),
        Provider::Openai => {
            let mut config = OpenAiConfig::default();
            if let Some(url) = &settings.openai_base_url {
                config.base_url = url.clone();
            }
            if let Some(model) = &settings.openai_model {
                config.model = model.clone();
            }
            config.api_key = std::env::var("OPENAI_API_KEY").ok();
            Arc::new(OpenAiGenerator::new(config).map_err(invalid)?)
        }
    })
}

/// Each active run's mode and stop flag, by plan.
type RunStops = HashMap<PlanId, (ExecutionMode, Arc<AtomicBool>)>;

/// The runs this server executes, and the sink their events go to.
#[derive(Clone)]
pub struct Runs {
    store: Arc<dyn Store>,
    pub events: EventSink,
    active: Arc<Mutex<HashMap<PlanId, tokio::task::JoinHandle<()>>>>,
    /// Set on shutdown so work stops starting units (resumable); every run also has a flag of
    /// its own in `run_stops`, which shutdown sets too.
    pub stop: Arc<AtomicBool>,
    /// Each active run's stop flag and mode: shutdown stops them all, a draining rollback the
    /// V2 and hybrid ones (MVP plans are not affected by a rollback).
    run_stops: Arc<Mutex<RunStops>>,
    /// Summaries of runs finished in this process, for metrics.
    pub finished: Arc<Mutex<Vec<RunSummary>>>,
}

impl Runs {
    pub fn new(store: Arc<dyn Store>) -> Runs {
        Runs {
            store,
            events: EventSink::default(),
            active: Arc::default(),
            stop: Arc::new(AtomicBool::new(false)),
            run_stops: Arc::default(),
            finished: Arc::default(),
        }
    }

    /// Stops every run and every other activity at its next unit boundary (server shutdown).
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        for (_, flag) in self.run_stops.lock().expect("run stops lock").values() {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// A draining rollback: the V2 and hybrid runs stop at their next unit boundary, their
    /// state kept for a resume; returns how many were told to.
    pub fn drain_v2(&self) -> usize {
        let stops = self.run_stops.lock().expect("run stops lock");
        let mut n = 0;
        for (mode, flag) in stops.values() {
            if *mode != ExecutionMode::Mvp {
                flag.store(true, Ordering::SeqCst);
                n += 1;
            }
        }
        n
    }

    /// An engine for a run of `plan` in `mode`, with a stop flag of its own (registered until
    /// the run ends, see [`Runs::spawn_run`]).
    fn run_engine(
        &self,
        plan: PlanId,
        mode: ExecutionMode,
        settings: &GeneratorSettings,
    ) -> Result<Engine, ApiError> {
        let stop = Arc::new(AtomicBool::new(self.stop.load(Ordering::SeqCst)));
        self.run_stops
            .lock()
            .expect("run stops lock")
            .insert(plan, (mode, stop.clone()));
        Ok(Engine {
            store: self.store.clone(),
            generator: build_generator(settings)?,
            events: self.events.clone(),
            stop,
        })
    }

    /// Spawns a run built by [`Runs::run_engine`]; its stop flag is dropped when it ends.
    fn spawn_run<F>(&self, plan: PlanId, what: &'static str, run: F)
    where
        F: std::future::Future<Output = mge_engine::Result<RunSummary>> + Send + 'static,
    {
        let stops = self.run_stops.clone();
        self.spawn(plan, what, async move {
            let result = run.await;
            stops.lock().expect("run stops lock").remove(&plan);
            result
        });
    }

    fn engine(&self, settings: &GeneratorSettings) -> Result<Engine, ApiError> {
        Ok(Engine {
            store: self.store.clone(),
            generator: build_generator(settings)?,
            events: self.events.clone(),
            stop: self.stop.clone(),
        })
    }

    /// An engine with the generator the plan's run recorded (the server's default when the
    /// plan has not run).
    pub async fn engine_for_plan(
        &self,
        plan: PlanId,
        default: &GeneratorSettings,
    ) -> Result<Engine, ApiError> {
        let settings = match Engine::run_options(self.store.as_ref(), plan).await {
            Ok(options) => recorded_settings(plan, &options)?,
            Err(_) => default.clone(),
        };
        self.engine(&settings)
    }

    pub fn is_active(&self, plan: PlanId) -> bool {
        let mut active = self.active.lock().expect("runs lock");
        active.retain(|_, h| !h.is_finished());
        active.contains_key(&plan)
    }

    fn spawn<F>(&self, plan: PlanId, what: &'static str, run: F)
    where
        F: std::future::Future<Output = mge_engine::Result<RunSummary>> + Send + 'static,
    {
        let finished = self.finished.clone();
        let handle = tokio::spawn(async move {
            match run.await {
                Ok(summary) => finished.lock().expect("finished lock").push(summary),
                Err(e) => tracing::error!("{what} of plan {plan}: {e}"),
            }
        });
        self.active.lock().expect("runs lock").insert(plan, handle);
    }

    /// Runs `work` for `plan` as this plan's one activity (409 while a run, a retry or another
    /// such activity of the plan is going on) and returns its result. The work runs in its own
    /// task, so shutdown waits for it and a dropped request does not cut it short.
    pub async fn exclusive<T, F>(&self, plan: PlanId, what: &str, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        {
            let mut active = self.active.lock().expect("runs lock");
            active.retain(|_, h| !h.is_finished());
            if active.contains_key(&plan) {
                return Err(ApiError::Conflict {
                    message: format!("plan {plan} is running; {what} once it has finished"),
                });
            }
            let handle = tokio::spawn(async move {
                let _ = tx.send(work.await);
            });
            active.insert(plan, handle);
        }
        rx.await.map_err(|_| {
            ApiError::Internal(format!("{what} of plan {plan} ended without a result"))
        })?
    }

    /// Starts a run in the background.
    pub fn start(
        &self,
        plan: PlanId,
        options: RunOptions,
        settings: &GeneratorSettings,
    ) -> Result<(), ApiError> {
        if self.is_active(plan) {
            return Err(ApiError::Conflict {
                message: format!("plan {plan} is already running"),
            });
        }
        let engine = self.run_engine(plan, options.mode, settings)?;
        self.spawn_run(
            plan,
            "run",
            async move { engine.start(plan, options).await },
        );
        Ok(())
    }

    /// Retries a failed task in the background, with the run's recorded generator.
    pub async fn retry(&self, plan: PlanId, task: TaskId) -> Result<(), ApiError> {
        if self.is_active(plan) {
            return Err(ApiError::Conflict {
                message: format!("plan {plan} is running; retry once it has finished"),
            });
        }
        let options = Engine::run_options(self.store.as_ref(), plan).await?;
        let settings = recorded_settings(plan, &options)?;
        let engine = self.run_engine(plan, options.mode, &settings)?;
        self.spawn_run(
            plan,
            "retry",
            async move { engine.retry_task(plan, task).await },
        );
        Ok(())
    }

    /// Resumes every run that started but never completed; returns their plan ids.
    pub async fn resume_unfinished(&self) -> Result<Vec<PlanId>, ApiError> {
        let mut resumed = Vec::new();
        for summary in self.store.list_plans().await? {
            let plan = summary.plan_id;
            let history = self.store.load_history(plan).await?;
            let started = history.iter().any(|h| h.event == RUN_STARTED);
            let completed = history.iter().any(|h| h.event == RUN_COMPLETED);
            if !started || completed || self.is_active(plan) {
                continue;
            }
            let options = Engine::run_options(self.store.as_ref(), plan).await?;
            let settings = match recorded_settings(plan, &options) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("not resuming plan {plan}: {e}");
                    continue;
                }
            };
            let engine = self.run_engine(plan, options.mode, &settings)?;
            self.spawn_run(plan, "resume", async move { engine.resume(plan).await });
            resumed.push(plan);
        }
        Ok(resumed)
    }

    /// Waits for every run of this process to end (after [`Runs::stop`] is set, they drain).
    pub async fn join_all(&self) {
        let handles: Vec<_> = self
            .active
            .lock()
            .expect("runs lock")
            .drain()
            .map(|(_, h)| h)
            .collect();
        for handle in handles {
            let _ = handle.await;
        }
    }

    /// Aborts every run at once (tests simulating a crash).
    pub fn abort_all(&self) {
        for (_, handle) in self.active.lock().expect("runs lock").drain() {
            handle.abort();
        }
    }
}

fn recorded_settings(plan: PlanId, options: &RunOptions) -> Result<GeneratorSettings, ApiError> {
    serde_json::from_value(options.generator.clone()).map_err(|e| ApiError::Conflict {
        message: format!("plan {plan}: the run's recorded generator settings are unreadable: {e}"),
    })
}

/// Options of a new run.
pub fn run_options(
    mode: ExecutionMode,
    reason: String,
    settings: &GeneratorSettings,
    max_parallel: Option<usize>,
    out_dir: Option<std::path::PathBuf>,
) -> RunOptions {
    RunOptions {
        mode,
        mode_reason: reason,
        max_parallel,
        out_dir,
        generator: serde_json::to_value(settings).expect("settings serialize"),
        ..RunOptions::default()
    }
}
