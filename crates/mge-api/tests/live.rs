//! Live progress and restarts on every backend: a WebSocket client that disconnects mid-run and
//! reconnects with its last sequence number misses nothing; a server dropped mid-execution is
//! replaced by a new one on the same store, which resumes and completes the run.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{Client, TestDb};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Serves the router on 127.0.0.1:0; returns the address.
async fn listen(client: &Client) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = client.app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// Reads events until `stop` says so; returns them.
async fn read_events(
    addr: std::net::SocketAddr,
    plan: &str,
    token: &str,
    since: i64,
    stop: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut req = format!("ws://{addr}/ws/masterplan/{plan}?since={since}")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut events = Vec::new();
    while !stop(&events) {
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("an event within 60 s")
            .expect("socket open")
            .unwrap();
        if let Message::Text(text) = msg {
            events.push(serde_json::from_str(text.as_str()).unwrap());
        }
    }
    drop(ws);
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_reconnect_misses_nothing() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.02).await;
        let addr = listen(&client).await;
        let t = client.token("fay", false).await;
        let plan = client.create(&t, "kvstore").await;
        let r = client
            .post(
                "/api/v1/masterplan/execute",
                &t,
                &json!({ "plan_id": plan }),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);

        // First connection: a few events, then gone mid-run.
        let first = read_events(addr, &plan, &t, 0, |e| e.len() >= 5).await;
        let last = first.last().unwrap()["seq"].as_i64().unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let done = |e: &[Value]| e.last().is_some_and(|v| v["event"] == "run_completed");
        let second = read_events(addr, &plan, &t, last, done).await;

        let seen: Vec<i64> = first
            .iter()
            .chain(&second)
            .map(|e| e["seq"].as_i64().unwrap())
            .collect();
        let plan_id: uuid::Uuid = plan.parse().unwrap();
        let history: Vec<i64> = client
            .app
            .state
            .store
            .load_history(plan_id)
            .await
            .unwrap()
            .iter()
            .map(|h| h.history_id)
            .collect();
        assert_eq!(
            seen, history,
            "{}: every history row once, in order",
            db.label
        );
        assert!(first.iter().any(|e| e["event"] == "run_started"));
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_execution_completes_the_run() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let client = Client::start(store.clone(), 0.02).await;
        let t = client.token("gus", false).await;
        let plan = client.create(&t, "kvstore").await;
        let plan_id: uuid::Uuid = plan.parse().unwrap();
        let r = client
            .post(
                "/api/masterplan/execute",
                &t,
                &json!({ "plan_id": plan, "mode": "mvp" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        common::wait_event(store.as_ref(), plan_id, "unit_succeeded", 2).await;

        // The server dies: its runs stop where they are.
        client.app.state.runs.abort_all();
        drop(client);
        let history = store.load_history(plan_id).await.unwrap();
        assert!(
            !history.iter().any(|h| h.event == "run_completed"),
            "{}: finished too early",
            db.label
        );

        let restarted = Client::start(store.clone(), 0.0).await;
        assert_eq!(restarted.app.resumed, vec![plan_id]);
        restarted.wait_completed(&plan).await;
        let r = restarted
            .get(&format!("/api/v1/masterplan/{plan}"), &t)
            .await;
        assert_eq!(r.body["status"], "succeeded", "{}", r.text);
        assert!(r.body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|task| task["status"] == "succeeded"));
        let history = store.load_history(plan_id).await.unwrap();
        assert!(history.iter().any(|h| h.event == "run_resumed"));
        store.close().await;
        db.drop_db().await;
    }
}
