//! The HTTP API of mge (axum): v1 (MVP) endpoints, v2 endpoints (atoms, dependency graph, waves,
//! review queue), the unified execute endpoint that resolves the mode, live progress over
//! WebSocket from a sequence number, bearer-token auth with per-user tenancy, and Prometheus
//! metrics.
//!
//! Every error answers `{"error":{"code","message","details"}}` ([`ApiError`]). Executions run
//! in the background ([`runs::Runs`]) and are resumed by [`App::start`] after a restart.

pub mod auth;
mod cache;
pub mod error;
mod extract;
mod live;
mod metrics;
mod mode;
mod review;
pub mod runs;
mod unified;
mod v1;
mod v2;
mod validate;
mod wave;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use mge_core::PlanId;
use mge_store::{Store, StoredPlan};

pub use error::{ApiError, ApiResult};
pub use runs::{GeneratorSettings, Provider};

/// Largest accepted request body (a plan is at most a few hundred KiB).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Directory under which a posted plan's `reference_dir` must lie (it is resolved against
    /// this directory); `None`: plans with a `reference_dir` are refused.
    pub plans_root: Option<PathBuf>,
    /// Where generated projects are written (`<out_root>/<plan id>`); `None`: not written.
    pub out_root: Option<PathBuf>,
    /// Generator of new runs unless the request overrides seed, fault rate or time scale.
    pub generator: GeneratorSettings,
    /// Resume unfinished runs on start.
    pub resume: bool,
    /// First-start values of flags missing from the store; `None`: the environment's
    /// (`FlagSet::from_env`).
    pub flag_defaults: Option<mge_rollout::FlagSet>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            plans_root: None,
            out_root: None,
            generator: GeneratorSettings::default(),
            resume: true,
            flag_defaults: None,
        }
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ApiConfig>,
    pub runs: runs::Runs,
    pub metrics: Arc<metrics::Metrics>,
    /// Stored mode flags (cached, reloaded when they change), mode decisions and rollback.
    pub control: Arc<mge_engine::ModeControl>,
    /// Token hash -> user.
    pub tokens: Arc<cache::TokenCache>,
    /// Bodies of `GET /api/v1/masterplan/{id}`, dropped on the plan's events.
    pub plans: Arc<cache::PlanCache>,
}

impl AppState {
    /// Loads a plan the caller may see; another user's plan is "not found".
    pub async fn owned_plan(&self, user: &auth::User, plan: PlanId) -> ApiResult<StoredPlan> {
        match self.store.load_plan(plan).await {
            Ok(stored) if user.may_see(&stored.owner) => Ok(stored),
            Ok(_) | Err(mge_store::StoreError::NotFound { .. }) => {
                Err(ApiError::not_found("plan", plan))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A running application: its state and router.
pub struct App {
    pub state: AppState,
    pub router: Router,
    /// Plans whose unfinished runs were resumed on start.
    pub resumed: Vec<PlanId>,
    /// Watches the stored flags for draining rollbacks (they stop this server's V2 and hybrid
    /// runs) and feeds V2 unit outcomes to the automatic rollback.
    pub mode_watcher: mge_engine::ModeWatcher,
}

impl App {
    /// Builds the application on a migrated store and resumes unfinished runs.
    pub async fn start(store: Arc<dyn Store>, config: ApiConfig) -> ApiResult<App> {
        let defaults =
            match &config.flag_defaults {
                Some(flags) => flags.clone(),
                None => mge_rollout::FlagSet::from_env(|name| std::env::var(name).ok()).map_err(
                    |e| ApiError::Internal(format!("reading mode flags from the environment: {e}")),
                )?,
            };
        let control = mge_engine::ModeControl::open(store.clone(), &defaults, "environment")
            .await
            .map_err(|e| ApiError::Internal(format!("loading feature flags: {e}")))?;
        let state = AppState {
            runs: runs::Runs::new(store.clone()),
            store,
            config: Arc::new(config),
            metrics: Arc::default(),
            control: Arc::new(control),
            tokens: Arc::default(),
            plans: Arc::default(),
        };
        spawn_plan_invalidation(&state);
        let runs = state.runs.clone();
        let mode_watcher = mge_engine::ModeWatcher::start_with(
            state.control.clone(),
            &state.runs.events,
            move || {
                let n = runs.drain_v2();
                tracing::warn!(
                    runs = n,
                    "draining rollback: V2 and hybrid runs stop at their next unit boundary"
                );
            },
        )
        .await
        .map_err(|e| ApiError::Internal(format!("watching the mode flags: {e}")))?;
        let resumed = if state.config.resume {
            state.runs.resume_unfinished().await?
        } else {
            Vec::new()
        };
        Ok(App {
            router: router(state.clone()),
            state,
            resumed,
            mode_watcher,
        })
    }
}

/// Drops a plan's cached body whenever a run of this process reports an event of the plan.
fn spawn_plan_invalidation(state: &AppState) {
    let mut rx = state.runs.events.subscribe();
    let plans = state.plans.clone();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match rx.recv().await {
                Ok(event) => plans.invalidate(event.plan_id),
                Err(RecvError::Lagged(_)) => plans.clear(),
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// The OpenAPI document's frame; paths are added by the routers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "mge API", description = "Execute code-generation masterplans in MVP and V2 mode"),
    modifiers(&BearerAuth),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of every route, generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

fn api_routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa::OpenApi as _;
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(v1::routes())
        .merge(v2::routes())
        .merge(wave::routes())
        .merge(validate::routes())
        .merge(review::routes())
        .merge(mode::routes())
        .merge(unified::routes())
        .merge(live::routes())
        .merge(metrics::routes())
}

/// Every route, with the body limit and latency metrics.
pub fn router(state: AppState) -> Router {
    let (routes, doc) = api_routes().split_for_parts();
    let doc = Arc::new(doc);
    routes
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route("/ui/review", axum::routing::get(review::page))
        .fallback(|| async { ApiError::not_found("route", "(no such endpoint)") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Serves on `addr` until SIGTERM or Ctrl-C, then drains: in-flight requests finish and runs stop
/// starting units (they resume on the next start).
pub async fn serve(app: App, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let runs = app.state.runs.clone();
    axum::serve(listener, app.router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    runs.shutdown();
    runs.join_all().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
