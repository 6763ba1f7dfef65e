//! `POST /api/v2/execute/wave`: executes one wave of a plan's V2 graph, step by step.
//!
//! The plan is prepared as a V2 run prepares it (atoms, graph and waves persisted once), then
//! the units (atoms, or cycles of atoms) of wave `N` that have not ended yet run on the engine's
//! scheduler with the V2 retry loop, `max_parallel` at a time. Every provider of those units
//! must have succeeded first (earlier waves, executed by earlier calls or an interrupted run):
//! otherwise the answer is 409 and nothing runs. Units of other waves are left alone. The call
//! answers when the wave has ended, with each unit's outcome; a `wave_executed` history event
//! records it.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use mge_core::{ExecutionMode, PlanId};
use mge_engine::run::RunContext;
use mge_engine::scheduler::{self, Barrier, Hooks, UnitEnd};
use mge_engine::{ExecutionStrategy, RunOptions, UnitResult, V2Strategy};
use mge_rollout::names;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::runs::build_generator;
use crate::v1::{settings_for, GeneratorOverrides};
use crate::AppState;

/// History event of one executed wave.
pub const WAVE_EXECUTED: &str = "wave_executed";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(execute_wave))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaveRequest {
    #[schema(value_type = String, format = Uuid)]
    pub plan_id: PlanId,
    /// Wave number, 0 first.
    #[schema(minimum = 0)]
    pub wave: usize,
    #[serde(default)]
    pub generator: GeneratorOverrides,
    /// Units at once (default 50).
    #[schema(minimum = 1)]
    pub max_parallel: Option<usize>,
}

/// Persists blocked dependents and stops starting units on shutdown.
struct WaveHooks {
    strategy: Arc<V2Strategy>,
    ctx: Arc<RunContext>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    errors: Vec<String>,
}

impl Hooks for WaveHooks {
    async fn on_blocked(&mut self, unit: usize, cause: usize) {
        if let Err(e) = self.strategy.mark_blocked(&self.ctx, unit, cause).await {
            self.errors.push(e.to_string());
        }
    }

    fn keep_going(&mut self) -> bool {
        !self.stop.load(Ordering::SeqCst)
    }
}

fn wave_err(plan: PlanId, e: mge_engine::EngineError) -> ApiError {
    match e {
        mge_engine::EngineError::Plan { message, .. } => ApiError::Unprocessable {
            message: format!("plan {plan}: {message}"),
            details: json!({ "plan_id": plan }),
        },
        other => other.into(),
    }
}

#[utoipa::path(post, path = "/api/v2/execute/wave", tag = "v2", security(("bearer" = [])), request_body = WaveRequest, responses((status = 200, description = "The wave ran; each unit's outcome", body = serde_json::Value), (status = 409, description = "A provider of the wave has not succeeded, the plan is running, or V2 execution is disabled", body = crate::error::ErrorBody), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such plan or wave for this user", body = crate::error::ErrorBody), (status = 422, description = "The plan cannot be atomized or generated", body = crate::error::ErrorBody)))]
async fn execute_wave(
    State(state): State<AppState>,
    user: User,
    Json(req): Json<WaveRequest>,
) -> ApiResult<axum::Json<Value>> {
    let plan = state.owned_plan(&user, req.plan_id).await?;
    if req.max_parallel == Some(0) {
        return Err(ApiError::bad_request(
            "max_parallel: must be at least 1",
            json!({ "location": "body", "field": "max_parallel" }),
        ));
    }
    let flags = state.control.flags().await?;
    if !flags.is_on(names::ENABLE_V2_EXECUTION) {
        return Err(ApiError::Conflict {
            message: format!(
                "V2 execution is disabled ({} is off); an admin turns it on through POST /api/v2/mode",
                names::ENABLE_V2_EXECUTION
            ),
        });
    }
    let settings = settings_for(&state, &req.generator)?;
    if settings.provider == crate::Provider::Simulated && plan.plan.reference_dir.is_none() {
        return Err(ApiError::Unprocessable {
            message: format!(
                "plan {}: the simulated generator needs the plan's reference_dir",
                req.plan_id
            ),
            details: json!({ "field": "reference_dir" }),
        });
    }
    let ctx = Arc::new(RunContext {
        store: state.store.clone(),
        generator: build_generator(&settings)?,
        plan,
        options: RunOptions {
            mode: ExecutionMode::V2Atoms,
            mode_reason: "execute/wave endpoint".to_string(),
            max_parallel: req.max_parallel,
            generator: serde_json::to_value(&settings).expect("settings serialize"),
            ..RunOptions::default()
        },
        events: state.runs.events.clone(),
    });
    let stop = state.runs.stop.clone();
    let plan_id = req.plan_id;
    let wave = req.wave;
    let max_parallel = req.max_parallel.unwrap_or(50);
    state
        .runs
        .exclusive(plan_id, "execute a wave", async move {
            run_wave(ctx, stop, wave, max_parallel).await
        })
        .await
        .map(axum::Json)
}

async fn run_wave(
    ctx: Arc<RunContext>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    wave: usize,
    max_parallel: usize,
) -> ApiResult<Value> {
    let plan = ctx.plan_id();
    let strategy = Arc::new(V2Strategy::default());
    let units = strategy
        .atomize_plan(&ctx)
        .await
        .map_err(|e| wave_err(plan, e))?;
    let schedule = strategy
        .build_execution_order(&ctx, &units)
        .await
        .map_err(|e| wave_err(plan, e))?;
    let total_waves = schedule.waves.iter().max().map_or(0, |w| w + 1);
    if wave >= total_waves {
        return Err(ApiError::NotFound {
            entity: "wave",
            id: format!("{wave} of plan {plan} (it has {total_waves})"),
        });
    }
    let members: Vec<usize> = (0..schedule.len())
        .filter(|&u| schedule.waves[u] == wave)
        .collect();
    let done = |u: usize| units.initial[u] == Some(UnitEnd::Succeeded);
    let incomplete: Vec<String> = members
        .iter()
        .filter(|&&u| units.initial[u].is_none())
        .flat_map(|&u| schedule.providers[u].iter().copied())
        .filter(|&p| !done(p))
        .map(|p| units.units[p].clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !incomplete.is_empty() {
        let shown: Vec<&str> = incomplete.iter().take(5).map(String::as_str).collect();
        return Err(ApiError::Conflict {
            message: format!(
                "wave {wave} of plan {plan}: {} provider unit(s) of earlier waves have not succeeded ({}{}); execute those waves first",
                incomplete.len(),
                shown.join(", "),
                if incomplete.len() > shown.len() { ", ..." } else { "" }
            ),
        });
    }
    // Every unit outside the wave counts as ended, so the scheduler runs exactly this wave.
    let initial: Vec<Option<UnitEnd>> = (0..schedule.len())
        .map(|u| {
            if schedule.waves[u] == wave {
                units.initial[u]
            } else {
                Some(units.initial[u].unwrap_or(UnitEnd::NotStarted))
            }
        })
        .collect();
    let results: Arc<Mutex<HashMap<usize, Result<UnitResult, String>>>> = Arc::default();
    let mut hooks = WaveHooks {
        strategy: strategy.clone(),
        ctx: ctx.clone(),
        stop,
        errors: Vec::new(),
    };
    let report = scheduler::run(
        &schedule,
        initial,
        max_parallel,
        Barrier::Dependencies,
        &mut hooks,
        |unit| {
            let strategy = strategy.clone();
            let ctx = ctx.clone();
            let results = results.clone();
            async move {
                let outcome = strategy.execute_unit(&ctx, unit).await;
                let succeeded = matches!(&outcome, Ok(r) if r.succeeded);
                results
                    .lock()
                    .expect("wave results lock")
                    .insert(unit, outcome.map_err(|e| e.to_string()));
                succeeded
            }
        },
    )
    .await;
    if let Some(e) = hooks.errors.first() {
        return Err(ApiError::Internal(format!(
            "wave {wave} of plan {plan}: recording a blocked unit: {e}"
        )));
    }
    let results = std::mem::take(&mut *results.lock().expect("wave results lock"));
    let mut out = Vec::new();
    let (mut succeeded, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    for &u in &members {
        let entry = match (results.get(&u), report.ends[u]) {
            (Some(Ok(r)), _) => {
                if r.succeeded {
                    succeeded += 1;
                } else {
                    failed += 1;
                }
                json!({ "unit": units.units[u], "status": if r.succeeded { "succeeded" } else { "failed" }, "attempts": r.attempts, "error": r.error })
            }
            (Some(Err(e)), _) => {
                failed += 1;
                json!({ "unit": units.units[u], "status": "failed", "attempts": 0, "error": e })
            }
            (None, end) => {
                skipped += 1;
                let status = match units.initial[u] {
                    Some(UnitEnd::Succeeded) => "already_succeeded",
                    Some(UnitEnd::Failed) => "already_failed",
                    Some(UnitEnd::Blocked) => "already_blocked",
                    _ if end == UnitEnd::NotStarted => "not_started",
                    _ => "not_run",
                };
                json!({ "unit": units.units[u], "status": status, "attempts": 0, "error": null })
            }
        };
        out.push(entry);
    }
    let summary = json!({
        "wave": wave,
        "units": members.len(),
        "succeeded": succeeded,
        "failed": failed,
        "skipped": skipped,
    });
    ctx.record(None, WAVE_EXECUTED, summary.clone())
        .await
        .map_err(ApiError::from)?;
    Ok(json!({
        "plan_id": plan,
        "wave": wave,
        "total_waves": total_waves,
        "next_wave": (wave + 1 < total_waves).then_some(wave + 1),
        "succeeded": succeeded,
        "failed": failed,
        "skipped": skipped,
        "max_concurrency": report.max_concurrency,
        "units": out,
    }))
}
