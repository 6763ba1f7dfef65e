//! The unified execute endpoint: the mode comes from the request or from the mode resolver
//! (flags read from the environment at start), and the answer says which mode and why.

use axum::extract::State;
use axum::http::StatusCode;
use mge_core::{ExecutionMode, PlanId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::User;
use crate::error::ApiResult;
use crate::extract::Json;
use crate::v1::{start_run, ExecuteRequest, GeneratorOverrides};
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
    /// The resolver's structured reason (`rule`, ...).
    pub decision: mge_rollout::Reason,
    pub status: &'static str,
}

#[utoipa::path(post, path = "/api/masterplan/execute", operation_id = "unified_execute", tag = "unified", security(("bearer" = [])), request_body = UnifiedRequest, responses((status = 202, description = "Run started; the mode and why", body = serde_json::Value), (status = 409, description = "Already run or running", body = crate::error::ErrorBody), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn execute(
    State(state): State<AppState>,
    user: User,
    Json(req): Json<UnifiedRequest>,
) -> ApiResult<(StatusCode, axum::Json<UnifiedResponse>)> {
    let plan_key = req.plan_id.to_string();
    let mut input = mge_rollout::ResolveInput::new(&state.flags, &plan_key);
    input.user_id = Some(user.id());
    input.requested = req.mode;
    let decision = mge_rollout::resolve(&input);
    let reason = decision.reason.to_string();
    let run = ExecuteRequest {
        plan_id: req.plan_id,
        generator: req.generator,
        max_parallel: req.max_parallel,
    };
    let started = start_run(&state, &user, &run, decision.mode, reason.clone()).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(UnifiedResponse {
            plan_id: started.plan_id,
            mode: started.mode,
            reason,
            decision: decision.reason,
            status: started.status,
        }),
    ))
}
