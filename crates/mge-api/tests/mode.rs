//! `GET|POST /api/v2/mode` on every backend: admin only (401 without a token, 403 for others),
//! flags, rollout, canary lists, plan and user overrides and rollback, each audited, and the
//! unified execute endpoint deciding through the stored flags.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{assert_error, Client, TestDb};
use serde_json::{json, Value};

const MODE: &str = "/api/v2/mode";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_is_admin_only() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let bob = client.token("bob", false).await;
        let body = json!({ "action": "rollout", "percent": 50, "reason": "more" });

        let r = client.raw(Method::GET, MODE, None, Body::empty()).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
        let r = client
            .raw(Method::POST, MODE, None, Body::from(body.to_string()))
            .await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
        let r = client.get(MODE, &bob).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        let r = client.post(MODE, &bob, &body).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        // Nothing was written by the refused request.
        let audit = client
            .app
            .state
            .store
            .modes()
            .flag_audit(100)
            .await
            .unwrap();
        assert!(
            audit.iter().all(|e| e.changed_by == "environment"),
            "{audit:?}"
        );
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}

async fn post_ok(client: &Client, token: &str, body: Value) -> Value {
    let r = client.post(MODE, token, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sets_flags_rollout_canaries_and_overrides() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let root = client.token("root", true).await;
        let bob = client.token("bob", false).await;

        let r = client.get(MODE, &root).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["rollout_percent"], 0, "{}", r.text);
        assert!(
            r.body["flags"]["V2_ROLLOUT_PERCENT"].is_number(),
            "{}",
            r.text
        );

        for name in mge_rollout::REQUIRED_CAPABILITIES {
            let b = post_ok(
                &client,
                &root,
                json!({ "action": "set_flag", "name": name, "value": true, "reason": "enable v2" }),
            )
            .await;
            assert_eq!(b["flags"][name], true, "{b}");
        }
        let b = post_ok(
            &client,
            &root,
            json!({ "action": "rollout", "percent": 100, "reason": "full rollout" }),
        )
        .await;
        let entry = &b["changes"]["entries"][0];
        assert_eq!(entry["name"], "V2_ROLLOUT_PERCENT", "{b}");
        assert_eq!(entry["new_value"], 100, "{b}");
        assert_eq!(entry["changed_by"], "root", "{b}");
        assert_eq!(entry["reason"], "full rollout", "{b}");

        let b = post_ok(
            &client,
            &root,
            json!({ "action": "canary", "list": "users", "ids": ["carol", "dave"], "reason": "early" }),
        )
        .await;
        assert_eq!(
            b["flags"]["V2_CANARY_USERS"],
            json!(["carol", "dave"]),
            "{b}"
        );

        let r = client.get(&format!("{MODE}?audit=200"), &root).await;
        assert_eq!(r.body["rollout_percent"], 100, "{}", r.text);
        assert_eq!(r.body["canary_users"], json!(["carol", "dave"]));
        assert_eq!(r.body["v2_available"], true);
        let audit = r.body["audit"].as_array().unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e["name"] == "V2_CANARY_USERS" && e["changed_by"] == "root"),
            "{}",
            r.text
        );

        // The unified endpoint now decides through the stored flags: full rollout gives V2.
        let plan = client.create(&bob, "textstats").await;
        let r = client
            .post("/api/masterplan/execute", &bob, &json!({ "plan_id": plan }))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(r.body["mode"], "v2_atoms", "{}", r.text);
        assert_eq!(r.body["decision"]["rule"], "rollout", "{}", r.text);
        client.wait_completed(&plan).await;

        // A plan override beats the rollout.
        let plan = client.create(&bob, "textstats").await;
        let b = post_ok(
            &client,
            &root,
            json!({ "action": "plan_override", "plan_id": plan, "mode": "mvp", "reason": "pin" }),
        )
        .await;
        assert_eq!(b["override"]["mode"], "mvp", "{b}");
        assert_eq!(b["override"]["set_by"], "root", "{b}");
        let r = client
            .post("/api/masterplan/execute", &bob, &json!({ "plan_id": plan }))
            .await;
        assert_eq!(r.body["mode"], "mvp", "{}", r.text);
        assert_eq!(r.body["decision"]["rule"], "plan_override", "{}", r.text);
        client.wait_completed(&plan).await;

        // A user override, set then cleared.
        let b = post_ok(
            &client,
            &root,
            json!({ "action": "user_override", "user_id": "bob", "mode": "hybrid", "reason": "try" }),
        )
        .await;
        assert_eq!(b["override"]["mode"], "hybrid", "{b}");
        let b = post_ok(
            &client,
            &root,
            json!({ "action": "user_override", "user_id": "bob", "mode": null, "reason": "done" }),
        )
        .await;
        assert!(b["override"].is_null(), "{b}");
        let stored = client.app.state.store.modes().user_override("bob").await;
        assert!(stored.unwrap().is_none());

        let r = client
            .post(
                MODE,
                &root,
                &json!({ "action": "plan_override", "plan_id": uuid::Uuid::new_v4(), "mode": "mvp", "reason": "x" }),
            )
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_mode_requests_are_4xx_and_write_nothing() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let root = client.token("root", true).await;
        let before = client
            .app
            .state
            .store
            .modes()
            .flag_audit(1000)
            .await
            .unwrap();
        for body in [
            json!({ "action": "set_flag", "name": "NO_SUCH_FLAG", "value": 1, "reason": "x" }),
            json!({ "action": "set_flag", "name": "V2_ROLLOUT_PERCENT", "value": "lots", "reason": "x" }),
            json!({ "action": "set_flag", "name": "V2_ROLLOUT_PERCENT", "value": {"a": 1}, "reason": "x" }),
            json!({ "action": "rollout", "percent": 150, "reason": "x" }),
            json!({ "action": "rollout", "percent": 10, "reason": "   " }),
            json!({ "action": "rollout", "percent": 10 }),
            json!({ "action": "launch", "reason": "x" }),
            json!({ "action": "rollback", "reason": "x", "extra": 1 }),
            json!({ "action": "user_override", "user_id": "", "mode": "mvp", "reason": "x" }),
            json!({ "action": "plan_override", "plan_id": "nope", "mode": "mvp", "reason": "x" }),
        ] {
            let r = client.post(MODE, &root, &body).await;
            assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        }
        let r = client.get(&format!("{MODE}?audit=-1"), &root).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        let after = client
            .app
            .state
            .store
            .modes()
            .flag_audit(1000)
            .await
            .unwrap();
        assert_eq!(before, after);
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_turns_v2_off_audited_with_its_reason() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let root = client.token("root", true).await;
        for name in mge_rollout::REQUIRED_CAPABILITIES {
            post_ok(
                &client,
                &root,
                json!({ "action": "set_flag", "name": name, "value": "true", "reason": "on" }),
            )
            .await;
        }
        post_ok(
            &client,
            &root,
            json!({ "action": "rollout", "percent": 40, "reason": "ramp" }),
        )
        .await;
        let b = post_ok(
            &client,
            &root,
            json!({ "action": "rollback", "reason": "error spike", "drain": true }),
        )
        .await;
        assert_eq!(b["rollback"]["drain"], true, "{b}");
        assert_eq!(b["rollback"]["kind"], "manual", "{b}");
        assert_eq!(b["rollback"]["created_by"], "root", "{b}");
        assert_eq!(b["flags"]["V2_ROLLOUT_PERCENT"], 0, "{b}");
        assert_eq!(b["flags"]["ENABLE_V2_EXECUTION"], false, "{b}");
        let changed: Vec<&str> = b["changes"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert!(changed.contains(&"V2_ROLLOUT_PERCENT"), "{b}");

        let stored = client
            .app
            .state
            .store
            .modes()
            .rollback_events(10)
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].reason, "error spike");
        let audit = client.app.state.store.modes().flag_audit(5).await.unwrap();
        assert!(audit
            .iter()
            .any(|e| e.reason == "error spike" && e.changed_by == "root"));
        let r = client.get(MODE, &root).await;
        assert_eq!(
            r.body["rollbacks"][0]["reason"], "error spike",
            "{}",
            r.text
        );
        assert_eq!(r.body["v2_available"], false, "{}", r.text);
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}

/// A draining rollback stops the server's running V2 plans at their next unit boundary, state
/// kept; its running MVP plans are not touched and finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_rollback_stops_the_servers_v2_runs_only() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.3).await;
        let root = client.token("root", true).await;
        let bob = client.token("bob", false).await;
        for name in mge_rollout::REQUIRED_CAPABILITIES {
            post_ok(
                &client,
                &root,
                json!({ "action": "set_flag", "name": name, "value": true, "reason": "enable v2" }),
            )
            .await;
        }
        let v2 = client.create(&bob, "textstats").await;
        let mvp = client.create(&bob, "textstats").await;
        for (plan, mode) in [(&v2, "v2_atoms"), (&mvp, "mvp")] {
            let r = client
                .post(
                    "/api/masterplan/execute",
                    &bob,
                    &json!({ "plan_id": plan, "mode": mode }),
                )
                .await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
            assert_eq!(r.body["mode"], mode, "{}", r.text);
        }
        let store = client.app.state.store.clone();
        let v2_id: uuid::Uuid = v2.parse().unwrap();
        common::wait_event(store.as_ref(), v2_id, "unit_succeeded", 1).await;
        post_ok(
            &client,
            &root,
            json!({ "action": "rollback", "reason": "error spike", "drain": true }),
        )
        .await;

        common::wait_event(store.as_ref(), v2_id, "run_stopped", 1).await;
        let history = store.load_history(v2_id).await.unwrap();
        assert!(
            !history.iter().any(|h| h.event == "run_completed"),
            "a drained run does not complete"
        );
        let atoms = store.load_atoms(v2_id).await.unwrap();
        let done = atoms
            .iter()
            .filter(|a| a.status == mge_core::AtomStatus::Succeeded)
            .count();
        assert!(
            done > 0 && done < atoms.len(),
            "stopped part-way with its state kept: {done} of {} atoms",
            atoms.len()
        );
        client.wait_completed(&mvp).await;
        let mvp_history = store.load_history(mvp.parse().unwrap()).await.unwrap();
        assert!(!mvp_history.iter().any(|h| h.event == "run_stopped"));
        assert!(client.app.mode_watcher.report().drained_by.is_some());
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}
