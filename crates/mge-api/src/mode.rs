//! `GET|POST /api/v2/mode` (admin only): the stored feature flags, the rollout, the canary
//! allowlists, plan and user overrides, and rollback. Every change goes through the engine's
//! [`mge_engine::ModeControl`] (the code path of `mge flags set` and `mge rollback`) or the
//! store's audited override operations, and is recorded in the flag audit trail with the admin's
//! user id and the request's reason.

use axum::extract::State;
use mge_core::{ExecutionMode, PlanId};
use mge_rollout::names;
use mge_store::RollbackKind;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_mode, post_mode))
}

/// Longest accepted reason.
const MAX_REASON: usize = 1000;

/// Which canary allowlist a `canary` action replaces.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CanaryList {
    Users,
    Plans,
}

/// One mode-control action; each is applied in one audited transaction.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModeRequest {
    /// Sets one registered flag (`mge flags set`); `value` is its text, a number, a boolean or
    /// (for lists) an array of ids.
    SetFlag {
        name: String,
        #[schema(value_type = Object)]
        value: Value,
        reason: String,
    },
    /// Sets `V2_ROLLOUT_PERCENT` (0 to 100).
    Rollout {
        #[schema(minimum = 0, maximum = 100)]
        percent: u32,
        reason: String,
    },
    /// Replaces a canary allowlist (`V2_CANARY_USERS` or `V2_CANARY_PLANS`).
    Canary {
        list: CanaryList,
        ids: Vec<String>,
        reason: String,
    },
    /// Sets (`mode`) or clears (`mode: null`) a plan's mode override.
    PlanOverride {
        #[schema(value_type = String, format = Uuid)]
        plan_id: PlanId,
        #[schema(value_type = Option<String>, pattern = "^(mvp|v2_atoms|hybrid)$")]
        mode: Option<ExecutionMode>,
        reason: String,
    },
    /// Sets (`mode`) or clears (`mode: null`) a user's mode override.
    UserOverride {
        user_id: String,
        #[schema(value_type = Option<String>, pattern = "^(mvp|v2_atoms|hybrid)$")]
        mode: Option<ExecutionMode>,
        reason: String,
    },
    /// Every V2 flag off and the rollout to 0 (`mge rollback`); `drain` also stops running V2
    /// plans at their next unit boundary.
    Rollback {
        reason: String,
        #[serde(default)]
        drain: bool,
    },
}

impl ModeRequest {
    fn reason(&self) -> &str {
        match self {
            ModeRequest::SetFlag { reason, .. }
            | ModeRequest::Rollout { reason, .. }
            | ModeRequest::Canary { reason, .. }
            | ModeRequest::PlanOverride { reason, .. }
            | ModeRequest::UserOverride { reason, .. }
            | ModeRequest::Rollback { reason, .. } => reason,
        }
    }

    fn action(&self) -> &'static str {
        match self {
            ModeRequest::SetFlag { .. } => "set_flag",
            ModeRequest::Rollout { .. } => "rollout",
            ModeRequest::Canary { .. } => "canary",
            ModeRequest::PlanOverride { .. } => "plan_override",
            ModeRequest::UserOverride { .. } => "user_override",
            ModeRequest::Rollback { .. } => "rollback",
        }
    }
}

/// A flag value from JSON as the text `mge flags set` takes (an array of ids becomes the
/// comma-separated list).
fn raw_value(value: &Value) -> ApiResult<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Array(items) => {
            let ids = items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "value: a list is an array of id strings",
                        json!({ "location": "body", "field": "value" }),
                    )
                })?;
            list_text(&ids, "value")
        }
        Value::Null | Value::Object(_) => Err(ApiError::bad_request(
            "value: expected a string, a number, a boolean or an array of ids",
            json!({ "location": "body", "field": "value" }),
        )),
    }
}

/// A list of ids as the flag's comma-separated text; an id may not be blank or hold a comma.
fn list_text(ids: &[String], field: &str) -> ApiResult<String> {
    if let Some(bad) = ids
        .iter()
        .find(|id| id.trim().is_empty() || id.contains(','))
    {
        return Err(ApiError::bad_request(
            format!("{field}: id '{bad}' is blank or contains a comma"),
            json!({ "location": "body", "field": field }),
        ));
    }
    Ok(ids.join(","))
}

fn check_reason(reason: &str) -> ApiResult<()> {
    let n = reason.trim().chars().count();
    if n == 0 || n > MAX_REASON {
        return Err(ApiError::bad_request(
            format!(
                "reason: expected 1 to {MAX_REASON} characters (it is recorded in the audit trail)"
            ),
            json!({ "location": "body", "field": "reason" }),
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v2/mode", operation_id = "set_mode", tag = "v2", security(("bearer" = [])), request_body = ModeRequest, responses((status = 200, description = "Applied and audited; the audit rows and the current flags", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 403, description = "Not an admin token", body = crate::error::ErrorBody), (status = 404, description = "No such plan", body = crate::error::ErrorBody)))]
async fn post_mode(
    State(state): State<AppState>,
    user: User,
    Json(req): Json<ModeRequest>,
) -> ApiResult<axum::Json<Value>> {
    user.require_admin()?;
    check_reason(req.reason())?;
    let control = &state.control;
    let by = user.id();
    let reason = req.reason().trim().to_string();
    let mut body = json!({ "action": req.action() });
    match &req {
        ModeRequest::SetFlag { name, value, .. } => {
            let changes = control
                .set_flag(name, &raw_value(value)?, by, &reason)
                .await?;
            body["changes"] = json!(changes);
        }
        ModeRequest::Rollout { percent, .. } => {
            let changes = control
                .set_flag(names::V2_ROLLOUT_PERCENT, &percent.to_string(), by, &reason)
                .await?;
            body["changes"] = json!(changes);
        }
        ModeRequest::Canary { list, ids, .. } => {
            let name = match list {
                CanaryList::Users => names::V2_CANARY_USERS,
                CanaryList::Plans => names::V2_CANARY_PLANS,
            };
            let changes = control
                .set_flag(name, &list_text(ids, "ids")?, by, &reason)
                .await?;
            body["changes"] = json!(changes);
        }
        ModeRequest::PlanOverride { plan_id, mode, .. } => {
            // Admins see every plan: a missing one is 404 before anything is written.
            state.owned_plan(&user, *plan_id).await?;
            let written = state
                .store
                .modes()
                .set_plan_override(*plan_id, *mode, by, &reason)
                .await?;
            body["changes"] = json!(written);
            body["override"] = json!(state.store.modes().plan_override(*plan_id).await?);
        }
        ModeRequest::UserOverride { user_id, mode, .. } => {
            let user_id = user_id.trim();
            if user_id.is_empty() || user_id.len() > 100 {
                return Err(ApiError::bad_request(
                    "user_id: expected 1 to 100 characters",
                    json!({ "location": "body", "field": "user_id" }),
                ));
            }
            let written = state
                .store
                .modes()
                .set_user_override(user_id, *mode, by, &reason)
                .await?;
            body["changes"] = json!(written);
            body["override"] = json!(state.store.modes().user_override(user_id).await?);
        }
        ModeRequest::Rollback { drain, .. } => {
            let (event, changes) = control
                .rollback(RollbackKind::Manual, None, *drain, &reason, by)
                .await?;
            body["rollback"] = json!(event);
            body["changes"] = json!(changes);
        }
    }
    body["flags"] = json!(control.flags().await?);
    Ok(axum::Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeQuery {
    /// Audit rows to return (newest first).
    #[serde(default = "default_audit")]
    audit: u16,
}

fn default_audit() -> u16 {
    50
}

#[utoipa::path(get, path = "/api/v2/mode", operation_id = "get_mode", tag = "v2", security(("bearer" = [])), params(("audit" = Option<u16>, Query, description = "Audit rows to return, newest first (default 50)")), responses((status = 200, description = "Current flags, rollout, canary lists, recent audit rows and rollbacks", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 403, description = "Not an admin token", body = crate::error::ErrorBody)))]
async fn get_mode(
    State(state): State<AppState>,
    user: User,
    Query(q): Query<ModeQuery>,
) -> ApiResult<axum::Json<Value>> {
    user.require_admin()?;
    let flags = state.control.flags().await?;
    let modes = state.store.modes();
    let audit = modes.flag_audit(i64::from(q.audit)).await?;
    let rollbacks = modes.rollback_events(10).await?;
    Ok(axum::Json(json!({
        "flags": flags,
        "default_mode": flags.default_mode(),
        "rollout_mode": flags.rollout_mode(),
        "rollout_percent": flags.rollout_percent(),
        "canary_users": flags.canary_users(),
        "canary_plans": flags.canary_plans(),
        "v2_available": flags.v2_available(),
        "missing_capabilities": flags.missing_capabilities(),
        "version": modes.flags_version().await?,
        "audit": audit,
        "rollbacks": rollbacks,
    })))
}
