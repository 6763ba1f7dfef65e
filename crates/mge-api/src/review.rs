//! `POST /api/v2/review/{atom_id}`: a reviewer's decision on an atom of the review queue
//! (approve, reject, edit with new code, regenerate), carried out by the engine's
//! `Engine::review_atom`, and `GET /ui/review`, the review page.

use axum::extract::State;
use axum::response::Html;
use mge_core::AtomId;
use mge_engine::ReviewDecision;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(review))
}

/// The review page: plain HTML and JavaScript, no build step.
pub const REVIEW_PAGE: &str = include_str!("review.html");

pub async fn page() -> Html<&'static str> {
    Html(REVIEW_PAGE)
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Reject,
    Edit,
    Regenerate,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub decision: DecisionKind,
    /// The replacing code (`edit` only; required there).
    pub code: Option<String>,
    /// Why; the feedback of a regeneration.
    pub comment: Option<String>,
}

#[utoipa::path(post, path = "/api/v2/review/{atom_id}", tag = "v2", security(("bearer" = [])), params(("atom_id" = uuid::Uuid, Path, description = "Id of a queued atom")), request_body = ReviewRequest, responses((status = 200, description = "The review as decided", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such queued atom for this user", body = crate::error::ErrorBody), (status = 409, description = "The plan is running", body = crate::error::ErrorBody), (status = 422, description = "The decision cannot be carried out (already decided, edit fails validation...)", body = crate::error::ErrorBody)))]
async fn review(
    State(state): State<AppState>,
    user: User,
    Path(atom): Path<AtomId>,
    Json(req): Json<ReviewRequest>,
) -> ApiResult<axum::Json<Value>> {
    let plan_id = state
        .store
        .plan_of_atom(atom)
        .await?
        .ok_or_else(|| ApiError::not_found("atom", atom))?;
    state
        .owned_plan(&user, plan_id)
        .await
        .map_err(|_| ApiError::not_found("atom", atom))?;
    let decision = match (req.decision, req.code) {
        (DecisionKind::Edit, Some(code)) if !code.trim().is_empty() => {
            ReviewDecision::Edit { code }
        }
        (DecisionKind::Edit, _) => {
            return Err(ApiError::bad_request(
                "code: an edit needs the replacing code",
                json!({ "location": "body", "field": "code" }),
            ))
        }
        (_, Some(_)) => {
            return Err(ApiError::bad_request(
                "code: only an edit carries code",
                json!({ "location": "body", "field": "code" }),
            ))
        }
        (DecisionKind::Approve, None) => ReviewDecision::Approve,
        (DecisionKind::Reject, None) => ReviewDecision::Reject,
        (DecisionKind::Regenerate, None) => ReviewDecision::Regenerate,
    };
    let engine = state
        .runs
        .engine_for_plan(plan_id, &state.config.generator)
        .await?;
    let reviewer = user.id().to_string();
    let comment = req.comment;
    let stored = state
        .runs
        .exclusive(plan_id, "review", async move {
            engine
                .review_atom(plan_id, atom, decision, &reviewer, comment.as_deref())
                .await
                .map_err(ApiError::from)
        })
        .await?;
    state.plans.invalidate(plan_id);
    Ok(axum::Json(json!({ "plan_id": plan_id, "review": stored })))
}
