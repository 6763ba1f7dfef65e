//! The unified execute endpoint: the plan's mode is decided once through the mode control (the
//! request's mode is a request, still gated by the stored flags and overrides), and the answer
//! says which mode and why.

use axum::extract::State;
use axum::http::StatusCode;
use mge_core::{ExecutionMode, PlanId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::User;
use crate::error::ApiResult;
use crate::extract::Json;
use crate::v1::{check_run, launch_run, ExecuteRequest, GeneratorOverrides};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(execute))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnifiedRequest {
    #[schema(value_type = String, format = Uuid)]
    pub plan_id: PlanId,
    /// `mvp`, `v2_atoms` or `hybrid`; absent: the resolver decides.
    #[schema(value_type = Option<String>, pattern = "^(mvp|v2_atoms|hybrid)$")]
    pub mode: Option<ExecutionMode>,
    #[serde(default)]
    pub generator: GeneratorOverrides,
    #[schema(minimum = 1)]
    pub max_parallel: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct UnifiedResponse {
    pub plan_id: PlanId,
    pub mode: ExecutionMode,
    /// Human text of the decision.
    pub reason: String,
    /// The resolver's structured reason (`rule`, ...); `null` when the plan's mode had been
    /// decided before (the stored decision is used).
    pub decision: Option<mge_rollout::Reason>,
    pub status: &'static str,
}

#[utoipa::path(post, path = "/api/masterplan/execute", operation_id = "unified_execute", tag = "unified", security(("bearer" = [])), request_body = UnifiedRequest, responses((status = 202, description = "Run started; the mode and why", body = serde_json::Value), (status = 409, description = "Already run or running", body = crate::error::ErrorBody), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn execute(
    State(state): State<AppState>,
    user: User,
    Json(req): Json<UnifiedRequest>,
) -> ApiResult<(StatusCode, axum::Json<UnifiedResponse>)> {
    let run = ExecuteRequest {
        plan_id: req.plan_id,
        generator: req.generator,
        max_parallel: req.max_parallel,
    };
    // Sticky on the plan's owner (an admin may run another user's plan), as `mge run` is.
    let (settings, owner) = check_run(&state, &user, &run).await?;
    let decided = state
        .control
        .decide(req.plan_id, Some(&owner), req.mode)
        .await?;
    let reason = decided.reason.clone();
    let started = launch_run(&state, &run, &settings, decided.mode, reason.clone())?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(UnifiedResponse {
            plan_id: started.plan_id,
            mode: started.mode,
            reason,
            decision: decided.decision.map(|d| d.reason),
            status: started.status,
        }),
    ))
}
