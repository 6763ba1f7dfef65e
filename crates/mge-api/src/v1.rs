//! v1: the MVP endpoints (create/import a plan, execute in MVP mode, read a plan or a task,
//! retry a failed task).

use std::path::{Path as FsPath, PathBuf};

use axum::body::Bytes;
use axum::http::StatusCode;
use mge_core::{ExecutionMode, PlanId, TaskId};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::runs::{run_options, GeneratorSettings};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_plan))
        .routes(routes!(execute))
        .routes(routes!(get_plan))
        .routes(routes!(get_task))
        .routes(routes!(retry_task))
}

#[derive(Debug, Serialize)]
pub struct Created {
    pub plan_id: PlanId,
    pub name: String,
    pub tasks: usize,
    pub subtasks: usize,
}

/// Parses a plan posted as JSON (the plan-file structure) and resolves its `reference_dir`
/// against the configured plans root; a directory outside that root is refused.
pub fn parse_plan(state: &AppState, body: &[u8]) -> ApiResult<mge_plan::Plan> {
    let root = state.config.plans_root.clone();
    let base = root.clone().unwrap_or_else(|| PathBuf::from("."));
    let probe: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            format!(
                "request body: invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
            json!({ "location": "body", "line": e.line(), "column": e.column() }),
        )
    })?;
    if let Some(dir) = probe.get("reference_dir").and_then(Value::as_str) {
        check_reference_dir(root.as_deref(), dir)?;
    }
    mge_plan::parse("request body", body, mge_plan::Format::Json, &base).map_err(|e| {
        ApiError::Unprocessable {
            message: e.to_string(),
            details: json!({ "location": "body" }),
        }
    })
}

fn check_reference_dir(root: Option<&FsPath>, dir: &str) -> ApiResult<()> {
    let details = json!({ "location": "body", "field": "reference_dir" });
    let Some(root) = root else {
        return Err(ApiError::bad_request(
            "reference_dir: this server accepts no server-side reference solutions (start it with --plans-root)",
            details,
        ));
    };
    let root = root
        .canonicalize()
        .map_err(|e| ApiError::Internal(format!("plans root {}: {e}", root.display())))?;
    let candidate = root.join(dir);
    match candidate.canonicalize() {
        Ok(path) if path.starts_with(&root) && path.is_dir() => Ok(()),
        Ok(_) => Err(ApiError::bad_request(
            format!("reference_dir '{dir}': not a directory under the server's plans root"),
            details,
        )),
        Err(_) => Err(ApiError::bad_request(
            format!("reference_dir '{dir}': no such directory under the server's plans root"),
            details,
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/masterplan", tag = "v1", security(("bearer" = [])), request_body(content = serde_json::Value, description = "The plan in the plan-file structure (docs/plan-format.md), as JSON"), responses((status = 201, description = "Imported", body = serde_json::Value), (status = 422, description = "Invalid plan", body = crate::error::ErrorBody), (status = 413, description = "Body too large", body = crate::error::ErrorBody), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn create_plan(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: User,
    body: Bytes,
) -> ApiResult<(StatusCode, axum::Json<Created>)> {
    let plan = parse_plan(&state, &body)?;
    let plan_id = state.store.import_plan(&plan, user.id()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Created {
            plan_id,
            name: plan.name.clone(),
            tasks: plan.tasks().count(),
            subtasks: plan.tasks().map(|t| t.subtasks.len()).sum(),
        }),
    ))
}

/// Generator overrides a request may carry (provider and endpoints stay the server's).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratorOverrides {
    pub seed: Option<u64>,
    pub fault_rate: Option<f64>,
    pub time_scale: Option<f64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    #[schema(value_type = String, format = Uuid)]
    pub plan_id: PlanId,
    #[serde(default)]
    pub generator: GeneratorOverrides,
    #[schema(minimum = 1)]
    pub max_parallel: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct ExecuteResponse {
    pub plan_id: PlanId,
    pub mode: ExecutionMode,
    pub reason: String,
    pub status: &'static str,
}

pub fn settings_for(state: &AppState, o: &GeneratorOverrides) -> ApiResult<GeneratorSettings> {
    let mut s = state.config.generator.clone();
    if let Some(seed) = o.seed {
        s.seed = seed;
    }
    if let Some(rate) = o.fault_rate {
        if !(0.0..=1.0).contains(&rate) {
            return Err(ApiError::bad_request(
                format!("generator.fault_rate: {rate} is outside [0, 1]"),
                json!({ "field": "generator.fault_rate" }),
            ));
        }
        s.fault_rate = rate;
    }
    if let Some(scale) = o.time_scale {
        if !(0.0..=10.0).contains(&scale) {
            return Err(ApiError::bad_request(
                format!("generator.time_scale: {scale} is outside [0, 10]"),
                json!({ "field": "generator.time_scale" }),
            ));
        }
        s.time_scale = scale;
    }
    Ok(s)
}

/// Starts a run of an owned plan in `mode`, in the background.
pub async fn start_run(
    state: &AppState,
    user: &User,
    req: &ExecuteRequest,
    mode: ExecutionMode,
    reason: String,
) -> ApiResult<ExecuteResponse> {
    let (settings, _owner) = check_run(state, user, req).await?;
    launch_run(state, req, &settings, mode, reason)
}

/// Checks that the caller may run the plan now; returns the run's generator settings and the
/// plan's owner.
pub async fn check_run(
    state: &AppState,
    user: &User,
    req: &ExecuteRequest,
) -> ApiResult<(GeneratorSettings, String)> {
    let plan = state.owned_plan(user, req.plan_id).await?;
    let settings = settings_for(state, &req.generator)?;
    if settings.provider == crate::Provider::Simulated && plan.plan.reference_dir.is_none() {
        return Err(ApiError::Unprocessable {
            message: format!(
                "plan {}: the simulated generator needs the plan's reference_dir",
                req.plan_id
            ),
            details: json!({ "field": "reference_dir" }),
        });
    }
    if let Some(0) = req.max_parallel {
        return Err(ApiError::bad_request(
            "max_parallel: must be at least 1",
            json!({ "field": "max_parallel" }),
        ));
    }
    let history = state.store.load_history(req.plan_id).await?;
    if history
        .iter()
        .any(|h| h.event == mge_engine::run::RUN_STARTED)
    {
        return Err(ApiError::Conflict {
            message: format!(
                "plan {} has already been run; retry a task or create the plan again",
                req.plan_id
            ),
        });
    }
    Ok((settings, plan.owner))
}

/// Starts a checked run ([`check_run`]) in the background.
pub fn launch_run(
    state: &AppState,
    req: &ExecuteRequest,
    settings: &GeneratorSettings,
    mode: ExecutionMode,
    reason: String,
) -> ApiResult<ExecuteResponse> {
    let out_dir = state
        .config
        .out_root
        .as_ref()
        .map(|root| root.join(req.plan_id.to_string()));
    let options = run_options(mode, reason.clone(), settings, req.max_parallel, out_dir);
    state.plans.invalidate(req.plan_id);
    state.runs.start(req.plan_id, options, settings)?;
    Ok(ExecuteResponse {
        plan_id: req.plan_id,
        mode,
        reason,
        status: "running",
    })
}

#[utoipa::path(post, path = "/api/v1/masterplan/execute", operation_id = "v1_execute", tag = "v1", security(("bearer" = [])), request_body = ExecuteRequest, responses((status = 202, description = "Run started in MVP mode", body = serde_json::Value), (status = 409, description = "Already run or running", body = crate::error::ErrorBody), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn execute(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: User,
    Json(req): Json<ExecuteRequest>,
) -> ApiResult<(StatusCode, axum::Json<ExecuteResponse>)> {
    let response = start_run(
        &state,
        &user,
        &req,
        ExecutionMode::Mvp,
        "v1 endpoint: mvp".to_string(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, axum::Json(response)))
}

#[utoipa::path(get, path = "/api/v1/masterplan/{id}", tag = "v1", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Id")), responses((status = 200, description = "The plan with its tasks", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn get_plan(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: User,
    Path(id): Path<PlanId>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let running = state.runs.is_active(id);
    // A plan running in this process changes all the time: read it from the store.
    let cached = if running { None } else { state.plans.get(id) };
    let body = match cached {
        Some(c) if user.may_see(&c.owner) => c.body,
        Some(_) => return Err(ApiError::not_found("plan", id)),
        None => {
            let read_at = std::time::Instant::now();
            let plan = state.owned_plan(&user, id).await?;
            let mode = state.store.execution_mode(id).await?;
            let body = Bytes::from(
                serde_json::to_vec(&plan_json(&plan, mode))
                    .map_err(|e| ApiError::Internal(format!("serializing plan {id}: {e}")))?,
            );
            if !running {
                state.plans.put(
                    id,
                    crate::cache::CachedPlan {
                        owner: plan.owner.clone(),
                        body: body.clone(),
                    },
                    read_at,
                );
            }
            body
        }
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        crate::cache::with_running(&body, running),
    )
        .into_response())
}

/// The plan's view, without the live `running` field.
fn plan_json(plan: &mge_store::StoredPlan, mode: ExecutionMode) -> Value {
    let tasks: Vec<Value> = plan.tasks.iter().map(task_json).collect();
    json!({
        "plan_id": plan.plan_id,
        "name": plan.plan.name,
        "owner": plan.owner,
        "status": plan.status,
        "mode": mode,
        "version": plan.version,
        "created_at": plan.created_at,
        "started_at": plan.started_at,
        "completed_at": plan.completed_at,
        "phases": plan.phases.iter().map(|p| json!({
            "phase_id": p.phase_id, "name": p.name, "status": p.status,
        })).collect::<Vec<_>>(),
        "tasks": tasks,
    })
}

fn task_json(t: &mge_store::StoredTask) -> Value {
    json!({
        "task_id": t.task_id,
        "key": t.key,
        "number": t.number,
        "target": t.target,
        "status": t.status,
        "attempts": t.attempts,
        "error": t.error,
        "subtasks": t.subtasks.iter().map(|s| json!({
            "subtask_id": s.subtask_id, "number": s.number, "name": s.name,
            "status": s.status, "attempts": s.attempts, "error": s.error,
        })).collect::<Vec<_>>(),
    })
}

/// The plan of a task the caller may see.
async fn owned_task(state: &AppState, user: &User, id: TaskId) -> ApiResult<mge_store::StoredPlan> {
    let plan = state
        .store
        .plan_of_task(id)
        .await?
        .ok_or_else(|| ApiError::not_found("task", id))?;
    state
        .owned_plan(user, plan)
        .await
        .map_err(|_| ApiError::not_found("task", id))
}

#[utoipa::path(get, path = "/api/v1/task/{id}", tag = "v1", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Id")), responses((status = 200, description = "The task", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn get_task(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: User,
    Path(id): Path<TaskId>,
) -> ApiResult<axum::Json<Value>> {
    let plan = owned_task(&state, &user, id).await?;
    let task = plan
        .task_by_id(id)
        .ok_or_else(|| ApiError::not_found("task", id))?;
    let mut body = task_json(task);
    body["plan_id"] = json!(plan.plan_id);
    body["code"] = json!(task.code);
    Ok(axum::Json(body))
}

#[utoipa::path(post, path = "/api/v1/task/{id}/retry", tag = "v1", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Id")), responses((status = 202, description = "Retry started", body = serde_json::Value), (status = 409, description = "Task not failed, or plan running", body = crate::error::ErrorBody), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn retry_task(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: User,
    Path(id): Path<TaskId>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let plan = owned_task(&state, &user, id).await?;
    let task = plan
        .task_by_id(id)
        .ok_or_else(|| ApiError::not_found("task", id))?;
    if !matches!(
        task.status,
        mge_core::TaskStatus::Failed | mge_core::TaskStatus::Blocked
    ) {
        return Err(ApiError::Conflict {
            message: format!(
                "task {id} is {}; only a failed or blocked task can be retried",
                task.status
            ),
        });
    }
    state.plans.invalidate(plan.plan_id);
    state.runs.retry(plan.plan_id, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({ "plan_id": plan.plan_id, "task_id": id, "status": "retrying" })),
    ))
}
