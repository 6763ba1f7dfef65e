//! v2: atomization, atoms, the dependency graph (JSON, DOT, Mermaid), execution waves and the
//! review queue. Atomizing runs the engine's V2 preparation, which persists the atoms and the
//! graph once; later calls read them back.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use mge_core::{AtomId, ExecutionMode, PlanId, TaskId};
use mge_engine::run::RunContext;
use mge_engine::{ExecutionStrategy, RunOptions, V2Strategy};
use mge_store::{StoredAtom, StoredPlan};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::runs::build_generator;
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(atomize_task))
        .routes(routes!(atomize_plan))
        .routes(routes!(atoms))
        .routes(routes!(atom))
        .routes(routes!(build_graph))
        .routes(routes!(graph))
        .routes(routes!(waves))
        .routes(routes!(review_queue))
}

/// Atomizes a plan and builds its graph (persisted once; idempotent).
async fn prepare(state: &AppState, plan: StoredPlan) -> ApiResult<()> {
    let plan_id = plan.plan_id;
    let ctx = RunContext {
        store: state.store.clone(),
        generator: build_generator(&state.config.generator)?,
        plan,
        options: RunOptions {
            mode: ExecutionMode::V2Atoms,
            mode_reason: "atomize endpoint".to_string(),
            ..RunOptions::default()
        },
        events: state.runs.events.clone(),
    };
    let strategy = Arc::new(V2Strategy::default());
    strategy.atomize_plan(&ctx).await.map_err(|e| match e {
        mge_engine::EngineError::Plan { message, .. } => ApiError::Unprocessable {
            message: format!("plan {plan_id}: {message}"),
            details: json!({ "plan_id": plan_id }),
        },
        other => other.into(),
    })?;
    Ok(())
}

fn atom_json(a: &StoredAtom) -> Value {
    serde_json::to_value(a).unwrap_or(Value::Null)
}

#[utoipa::path(post, path = "/api/v2/atomize/task/{id}", tag = "v2", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Id")), responses((status = 200, description = "The task's atoms", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn atomize_task(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<TaskId>,
) -> ApiResult<axum::Json<Value>> {
    let plan_id = state
        .store
        .plan_of_task(id)
        .await?
        .ok_or_else(|| ApiError::not_found("task", id))?;
    let plan = state
        .owned_plan(&user, plan_id)
        .await
        .map_err(|_| ApiError::not_found("task", id))?;
    prepare(&state, plan).await?;
    let atoms: Vec<Value> = state
        .store
        .load_atoms(plan_id)
        .await?
        .iter()
        .filter(|a| a.atom.task_id == id)
        .map(atom_json)
        .collect();
    Ok(axum::Json(
        json!({ "plan_id": plan_id, "task_id": id, "total_atoms": atoms.len(), "atoms": atoms }),
    ))
}

#[utoipa::path(post, path = "/api/v2/atomize/plan/{id}", tag = "v2", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Id")), responses((status = 200, description = "Atomization metrics", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn atomize_plan(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<PlanId>,
) -> ApiResult<axum::Json<Value>> {
    let plan = state.owned_plan(&user, id).await?;
    prepare(&state, plan).await?;
    let metrics = state.store.load_v2_metrics(id).await?;
    Ok(axum::Json(json!({ "plan_id": id, "metrics": metrics })))
}

#[utoipa::path(get, path = "/api/v2/atoms/{plan_id}", tag = "v2", security(("bearer" = [])), params(("plan_id" = uuid::Uuid, Path, description = "Id")), responses((status = 200, description = "The plan's atoms", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn atoms(
    State(state): State<AppState>,
    user: User,
    Path(plan_id): Path<PlanId>,
) -> ApiResult<axum::Json<Value>> {
    state.owned_plan(&user, plan_id).await?;
    let atoms: Vec<Value> = state
        .store
        .load_atoms(plan_id)
        .await?
        .iter()
        .map(atom_json)
        .collect();
    Ok(axum::Json(
        json!({ "plan_id": plan_id, "total_atoms": atoms.len(), "atoms": atoms }),
    ))
}

#[utoipa::path(get, path = "/api/v2/atom/{id}", tag = "v2", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Id")), responses((status = 200, description = "One atom with retries and validation results", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn atom(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<AtomId>,
) -> ApiResult<axum::Json<Value>> {
    let plan_id = state
        .store
        .plan_of_atom(id)
        .await?
        .ok_or_else(|| ApiError::not_found("atom", id))?;
    state
        .owned_plan(&user, plan_id)
        .await
        .map_err(|_| ApiError::not_found("atom", id))?;
    let atom = state
        .store
        .load_atoms(plan_id)
        .await?
        .into_iter()
        .find(|a| a.atom.id == id)
        .ok_or_else(|| ApiError::not_found("atom", id))?;
    let retries = state.store.load_atom_retries(id).await?;
    let validations: Vec<_> = state
        .store
        .load_validation_results(plan_id)
        .await?
        .into_iter()
        .filter(|v| v.result.atom_id == Some(id))
        .collect();
    let mut body = atom_json(&atom);
    body["plan_id"] = json!(plan_id);
    body["retries"] = json!(retries);
    body["validation_results"] = json!(validations);
    Ok(axum::Json(body))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BuildRequest {
    #[schema(value_type = String, format = Uuid)]
    plan_id: PlanId,
}

#[utoipa::path(post, path = "/api/v2/dependency-graph/build", tag = "v2", security(("bearer" = [])), request_body = BuildRequest, responses((status = 200, description = "Graph summary", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn build_graph(
    State(state): State<AppState>,
    user: User,
    Json(req): Json<BuildRequest>,
) -> ApiResult<axum::Json<Value>> {
    let plan = state.owned_plan(&user, req.plan_id).await?;
    prepare(&state, plan).await?;
    let graph = state
        .store
        .load_dependency_graph(req.plan_id)
        .await?
        .ok_or_else(|| ApiError::not_found("dependency graph of plan", req.plan_id))?;
    Ok(axum::Json(json!({
        "plan_id": req.plan_id,
        "total_atoms": graph.total_atoms,
        "total_edges": graph.total_edges,
        "max_depth": graph.max_depth,
        "parallelizable_atoms": graph.parallelizable_atoms,
        "waves": graph.parallel_waves.len(),
    })))
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum GraphFormat {
    #[default]
    Json,
    Dot,
    Mermaid,
}

#[derive(Debug, Default, Deserialize)]
struct GraphQuery {
    #[serde(default)]
    format: GraphFormat,
}

#[utoipa::path(get, path = "/api/v2/dependency-graph/{id}", tag = "v2", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Id"), ("format" = Option<String>, Query, description = "json (default), dot or mermaid")), responses((status = 200, description = "The graph", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn graph(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<PlanId>,
    Query(q): Query<GraphQuery>,
) -> ApiResult<Response> {
    state.owned_plan(&user, id).await?;
    let graph = state
        .store
        .load_dependency_graph(id)
        .await?
        .ok_or_else(|| ApiError::not_found("dependency graph of plan", id))?;
    let atoms = state.store.load_atoms(id).await?;
    let edges = state.store.load_atom_dependencies(id).await?;
    let key: HashMap<AtomId, &str> = atoms
        .iter()
        .map(|a| (a.atom.id, a.atom.atom_key.as_str()))
        .collect();
    let name = |a: &AtomId| key.get(a).copied().unwrap_or("?").to_string();
    Ok(match q.format {
        GraphFormat::Json => axum::Json(json!({
            "plan_id": id,
            "graph": graph,
            "edges": edges.iter().map(|e| json!({
                "from": e.from_atom, "to": e.to_atom, "from_key": name(&e.from_atom),
                "to_key": name(&e.to_atom), "kind": e.kind, "weight": e.weight,
            })).collect::<Vec<_>>(),
        }))
        .into_response(),
        GraphFormat::Dot => {
            let mut out = String::from("digraph atoms {\n  rankdir=LR;\n");
            for a in &atoms {
                let _ = writeln!(out, "  \"{}\";", escape(&a.atom.atom_key));
            }
            for e in &edges {
                let _ = writeln!(
                    out,
                    "  \"{}\" -> \"{}\" [label=\"{:?}\"];",
                    escape(&name(&e.from_atom)),
                    escape(&name(&e.to_atom)),
                    e.kind
                );
            }
            out.push_str("}\n");
            ([(CONTENT_TYPE, "text/vnd.graphviz")], out).into_response()
        }
        GraphFormat::Mermaid => {
            let index: HashMap<AtomId, usize> = atoms
                .iter()
                .enumerate()
                .map(|(i, a)| (a.atom.id, i))
                .collect();
            let mut out = String::from("graph LR\n");
            for (i, a) in atoms.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  a{i}[\"{}\"]",
                    a.atom.atom_key.replace('"', "#quot;")
                );
            }
            for e in &edges {
                if let (Some(f), Some(t)) = (index.get(&e.from_atom), index.get(&e.to_atom)) {
                    let _ = writeln!(out, "  a{f} --> a{t}");
                }
            }
            ([(CONTENT_TYPE, "text/plain; charset=utf-8")], out).into_response()
        }
    })
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[utoipa::path(get, path = "/api/v2/execution-waves/{id}", tag = "v2", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Id")), responses((status = 200, description = "Execution waves", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn waves(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<PlanId>,
) -> ApiResult<axum::Json<Value>> {
    state.owned_plan(&user, id).await?;
    let waves = state.store.load_waves(id).await?;
    Ok(axum::Json(
        json!({ "plan_id": id, "total_waves": waves.len(), "waves": waves }),
    ))
}

#[utoipa::path(get, path = "/api/v2/review-queue/{plan_id}", tag = "v2", security(("bearer" = [])), params(("plan_id" = uuid::Uuid, Path, description = "Id")), responses((status = 200, description = "Review queue, lowest confidence first", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn review_queue(
    State(state): State<AppState>,
    user: User,
    Path(plan_id): Path<PlanId>,
) -> ApiResult<axum::Json<Value>> {
    state.owned_plan(&user, plan_id).await?;
    let queue = state.store.load_review_queue(plan_id).await?;
    Ok(axum::Json(
        json!({ "plan_id": plan_id, "total": queue.len(), "queue": queue }),
    ))
}
