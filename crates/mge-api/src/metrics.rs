//! `GET /health`, `GET /metrics` (Prometheus text) and the request-latency middleware.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::AppState;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request latencies by (method, route, status).
#[derive(Debug, Default)]
pub struct Metrics {
    latency: Mutex<BTreeMap<(String, String, u16), Histogram>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut map = self.latency.lock().expect("metrics lock");
        let h = map
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }
}

pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".to_string());
    let response = next.run(request).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(metrics))
}

#[utoipa::path(get, path = "/health", tag = "ops", security(("bearer" = [])), responses((status = 200, description = "Store reachable", body = serde_json::Value)))]
async fn health(State(state): State<AppState>) -> ApiResult<axum::Json<serde_json::Value>> {
    state.store.list_plans().await?;
    Ok(axum::Json(
        json!({ "status": "ok", "backend": format!("{:?}", state.store.backend()) }),
    ))
}

#[utoipa::path(get, path = "/metrics", tag = "ops", security(("bearer" = [])), responses((status = 200, description = "Prometheus text", content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> ApiResult<Response> {
    let stats = state.store.api_stats().await?;
    let (retries, review) = (stats.atom_retries, stats.review_queue);
    let (tokens_in, tokens_out, cost) = (stats.tokens_in, stats.tokens_out, stats.cost_usd);
    let (plans_by_mode, tasks_by_status, atoms_by_status) = (
        stats.plans_by_mode,
        stats.tasks_by_status,
        stats.atoms_by_status,
    );
    let mut out = String::new();
    gauge(
        &mut out,
        "mge_plans",
        "Plans by execution mode.",
        "mode",
        &plans_by_mode,
    );
    gauge(
        &mut out,
        "mge_tasks",
        "MVP tasks by status.",
        "status",
        &tasks_by_status,
    );
    gauge(
        &mut out,
        "mge_atoms",
        "V2 atoms by status.",
        "status",
        &atoms_by_status,
    );
    let _ = writeln!(out, "# HELP mge_atom_retries Attempts beyond the first, over all atoms.\n# TYPE mge_atom_retries gauge\nmge_atom_retries {retries}");
    let _ = writeln!(out, "# HELP mge_review_queue_size Atoms queued for human review.\n# TYPE mge_review_queue_size gauge\nmge_review_queue_size {review}");
    let _ = writeln!(out, "# HELP mge_llm_tokens Generator tokens over all attempts.\n# TYPE mge_llm_tokens gauge\nmge_llm_tokens{{direction=\"in\"}} {tokens_in}\nmge_llm_tokens{{direction=\"out\"}} {tokens_out}");
    let _ = writeln!(out, "# HELP mge_llm_cost_usd Generator cost over all attempts.\n# TYPE mge_llm_cost_usd gauge\nmge_llm_cost_usd {cost}");
    let _ = writeln!(out, "# HELP mge_http_request_duration_seconds Request latency.\n# TYPE mge_http_request_duration_seconds histogram");
    let latency = state.metrics.latency.lock().expect("metrics lock").clone();
    for ((method, route, status), h) in &latency {
        let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
        for (bound, count) in BUCKETS.iter().zip(h.counts) {
            let _ = writeln!(
                out,
                "mge_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "mge_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "mge_http_request_duration_seconds_sum{{{labels}}} {}",
            h.sum
        );
        let _ = writeln!(
            out,
            "mge_http_request_duration_seconds_count{{{labels}}} {}",
            h.count
        );
    }
    Ok(([(CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}

fn gauge(out: &mut String, name: &str, help: &str, label: &str, values: &BTreeMap<String, u64>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (k, v) in values {
        let _ = writeln!(out, "{name}{{{label}=\"{k}\"}} {v}");
    }
}
