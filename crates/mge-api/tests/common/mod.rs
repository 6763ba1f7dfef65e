//! Test harness: a fresh store per test (SQLite file, and a fresh Postgres database when
//! `DATABASE_URL` is set), the app on it, tokens, and request helpers over `oneshot`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use mge_api::{ApiConfig, App, GeneratorSettings, Provider};
use mge_store::Store;
use serde_json::Value;
use tower::ServiceExt;

/// A fresh database, dropped with the value.
pub struct TestDb {
    pub url: String,
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("api.db").display());
        TestDb {
            url,
            label: "sqlite",
            _dir: Some(dir),
        }
    }

    pub async fn postgres(base: &str) -> TestDb {
        let name = format!("mge_api_{}", uuid::Uuid::new_v4().simple());
        let root = base.rsplit_once('/').map(|(r, _)| r).unwrap_or(base);
        let url = format!("{root}/{name}");
        mge_store::create_database(&url).await.unwrap();
        TestDb {
            url,
            label: "postgres",
            _dir: None,
        }
    }

    /// SQLite always; Postgres too when `DATABASE_URL` names one.
    pub async fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite().await];
        if let Ok(url) = std::env::var("DATABASE_URL") {
            if url.starts_with("postgres") {
                dbs.push(TestDb::postgres(&url).await);
            }
        }
        dbs
    }

    pub async fn store(&self) -> Arc<dyn Store> {
        let store: Arc<dyn Store> = Arc::from(mge_store::open(&self.url).await.unwrap());
        store.migrate_up().await.unwrap();
        store
    }

    pub async fn drop_db(self) {
        if self.label == "postgres" {
            mge_store::drop_database(&self.url).await.unwrap();
        }
    }
}

pub fn plans_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plans")
}

pub fn config(time_scale: f64) -> ApiConfig {
    ApiConfig {
        plans_root: Some(plans_root()),
        out_root: None,
        generator: GeneratorSettings {
            provider: Provider::Simulated,
            seed: 7,
            fault_rate: 0.0,
            time_scale,
            openai_base_url: None,
            openai_model: None,
        },
        resume: true,
        flag_defaults: Some(mge_rollout::FlagSet::defaults()),
    }
}

/// A fixture plan as the JSON body of `POST /api/v1/masterplan` (reference under the root).
pub fn plan_json(name: &str) -> Value {
    let text = std::fs::read_to_string(plans_root().join(name).join("plan.toml")).unwrap();
    let mut plan: Value = toml::from_str(&text).unwrap();
    plan["reference_dir"] = Value::String(format!("{name}/reference"));
    plan
}

pub struct Client {
    pub app: App,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
}

impl Client {
    pub async fn start(store: Arc<dyn Store>, time_scale: f64) -> Client {
        Client {
            app: App::start(store, config(time_scale)).await.unwrap(),
        }
    }

    pub async fn token(&self, user: &str, admin: bool) -> String {
        mge_api::auth::create_token(self.app.state.store.as_ref(), user, admin)
            .await
            .unwrap()
    }

    pub async fn raw(&self, method: Method, uri: &str, token: Option<&str>, body: Body) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        req = req.header("content-type", "application/json");
        let response = self
            .app
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, body, text }
    }

    pub async fn get(&self, uri: &str, token: &str) -> Reply {
        self.raw(Method::GET, uri, Some(token), Body::empty()).await
    }

    pub async fn post(&self, uri: &str, token: &str, body: &Value) -> Reply {
        self.raw(Method::POST, uri, Some(token), Body::from(body.to_string()))
            .await
    }

    /// Creates a fixture plan as `token`'s user; returns its id.
    pub async fn create(&self, token: &str, name: &str) -> String {
        let r = self
            .post("/api/v1/masterplan", token, &plan_json(name))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["plan_id"].as_str().unwrap().to_string()
    }

    /// Waits until the plan's history holds `run_completed` (at most 120 s).
    pub async fn wait_completed(&self, plan: &str) {
        let id: uuid::Uuid = plan.parse().unwrap();
        wait_event(self.app.state.store.as_ref(), id, "run_completed", 1).await;
    }
}

/// Waits until the plan's history holds `count` rows of `event` (at most 120 s).
pub async fn wait_event(store: &dyn Store, plan: uuid::Uuid, event: &str, count: usize) {
    for _ in 0..2400 {
        let history = store.load_history(plan).await.unwrap();
        if history.iter().filter(|h| h.event == event).count() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("plan {plan}: no '{event}' within 120 s");
}

/// Asserts the API's error shape and code.
pub fn assert_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["error"]["code"], code, "{}", r.text);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        r.text
    );
    assert!(r.body["error"].get("details").is_some(), "{}", r.text);
}
