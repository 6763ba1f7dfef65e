//! v1, unified, auth, errors, health and metrics on every backend.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{assert_error, plan_json, Client, TestDb};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_create_execute_read_and_retry() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let alice = client.token("alice", false).await;
        let plan = client.create(&alice, "kvstore").await;

        let r = client
            .get(&format!("/api/v1/masterplan/{plan}"), &alice)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", db.label, r.text);
        assert_eq!(r.body["name"], "kvstore");
        assert_eq!(r.body["owner"], "alice");
        assert_eq!(r.body["status"], "pending");
        let tasks = r.body["tasks"].as_array().unwrap().len();
        assert!(tasks > 1, "{}", r.text);

        // Faults on every eligible line: some task fails, so there is one to retry.
        let r = client
            .post(
                "/api/v1/masterplan/execute",
                &alice,
                &json!({ "plan_id": plan, "generator": { "fault_rate": 1.0, "seed": 3 } }),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(r.body["mode"], "mvp");
        assert_eq!(r.body["status"], "running");
        client.wait_completed(&plan).await;

        let again = client
            .post(
                "/api/v1/masterplan/execute",
                &alice,
                &json!({ "plan_id": plan }),
            )
            .await;
        assert_error(&again, StatusCode::CONFLICT, "conflict");

        let r = client
            .get(&format!("/api/v1/masterplan/{plan}"), &alice)
            .await;
        let tasks = r.body["tasks"].as_array().unwrap().clone();
        let failed = tasks
            .iter()
            .find(|t| t["status"] == "failed")
            .unwrap_or_else(|| panic!("{}: no failed task: {}", db.label, r.text));
        let task_id = failed["task_id"].as_str().unwrap();
        let attempts_before = failed["attempts"].as_i64().unwrap();

        let r = client.get(&format!("/api/v1/task/{task_id}"), &alice).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["plan_id"], plan.as_str());
        assert_eq!(r.body["status"], "failed");
        assert!(r.body["error"].as_str().is_some(), "{}", r.text);

        let r = client
            .post(&format!("/api/v1/task/{task_id}/retry"), &alice, &json!({}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let plan_id: uuid::Uuid = plan.parse().unwrap();
        common::wait_event(client.app.state.store.as_ref(), plan_id, "run_completed", 2).await;
        let r = client.get(&format!("/api/v1/task/{task_id}"), &alice).await;
        assert!(
            r.body["attempts"].as_i64().unwrap() > attempts_before,
            "{}",
            r.text
        );

        let succeeded = tasks.iter().find(|t| t["status"] == "succeeded");
        if let Some(t) = succeeded {
            let r = client
                .post(
                    &format!("/api/v1/task/{}/retry", t["task_id"].as_str().unwrap()),
                    &alice,
                    &json!({}),
                )
                .await;
            assert_error(&r, StatusCode::CONFLICT, "conflict");
        }
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unified_execute_reports_mode_and_reason() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let bob = client.token("bob", false).await;
        for requested in ["mvp", "v2_atoms"] {
            let plan = client.create(&bob, "textstats").await;
            let r = client
                .post(
                    "/api/masterplan/execute",
                    &bob,
                    &json!({ "plan_id": plan, "mode": requested }),
                )
                .await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
            let plan_key = plan.clone();
            let flags = client.app.state.control.flags().await.unwrap();
            let mut input = mge_rollout::ResolveInput::new(&flags, &plan_key);
            input.user_id = Some("bob");
            input.requested = Some(serde_json::from_value(json!(requested)).unwrap());
            let expected = mge_rollout::resolve(&input);
            assert_eq!(r.body["mode"], json!(expected.mode), "{}", r.text);
            assert_eq!(r.body["reason"], expected.reason.to_string());
            assert_eq!(r.body["decision"]["rule"], expected.reason.rule());
            client.wait_completed(&plan).await;
            let r = client
                .get(&format!("/api/v1/masterplan/{plan}"), &bob)
                .await;
            assert_eq!(r.body["mode"], json!(expected.mode), "{}", r.text);
            assert_eq!(r.body["status"], "succeeded", "{}: {}", db.label, r.text);
        }
        // No mode: the resolver's default rule decides.
        let plan = client.create(&bob, "textstats").await;
        let r = client
            .post("/api/masterplan/execute", &bob, &json!({ "plan_id": plan }))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_ne!(r.body["decision"]["rule"], "requested", "{}", r.text);
        client.wait_completed(&plan).await;

        let r = client
            .post(
                "/api/masterplan/execute",
                &bob,
                &json!({ "plan_id": plan, "mode": "fast" }),
            )
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_failures_and_cross_user_access() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let alice = client.token("alice", false).await;
        let mallory = client.token("mallory", false).await;
        let admin = client.token("root", true).await;
        let plan = client.create(&alice, "kvstore").await;
        let plan_uri = format!("/api/v1/masterplan/{plan}");

        let r = client
            .raw(Method::GET, &plan_uri, None, Body::empty())
            .await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
        let r = client.get(&plan_uri, "mge_not-a-token").await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
        let r = client
            .raw(
                Method::POST,
                "/api/v1/masterplan",
                None,
                Body::from(plan_json("kvstore").to_string()),
            )
            .await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");

        // Another user's plan, its tasks and its V2 resources do not exist for mallory.
        let task = client.get(&plan_uri, &alice).await.body["tasks"][0]["task_id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = client
            .post(&format!("/api/v2/atomize/plan/{plan}"), &alice, &json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let atoms = client.get(&format!("/api/v2/atoms/{plan}"), &alice).await;
        let atom = atoms.body["atoms"][0]["id"].as_str().unwrap().to_string();
        for uri in [
            plan_uri.clone(),
            format!("/api/v1/task/{task}"),
            format!("/api/v2/atoms/{plan}"),
            format!("/api/v2/atom/{atom}"),
            format!("/api/v2/dependency-graph/{plan}"),
            format!("/api/v2/execution-waves/{plan}"),
            format!("/api/v2/review-queue/{plan}"),
            format!("/ws/masterplan/{plan}"),
        ] {
            let r = client.get(&uri, &mallory).await;
            assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        }
        for (uri, body) in [
            (
                "/api/v1/masterplan/execute".to_string(),
                json!({ "plan_id": plan }),
            ),
            (
                "/api/masterplan/execute".to_string(),
                json!({ "plan_id": plan }),
            ),
            (format!("/api/v1/task/{task}/retry"), json!({})),
            (format!("/api/v2/atomize/task/{task}"), json!({})),
            (format!("/api/v2/atomize/plan/{plan}"), json!({})),
            (
                "/api/v2/dependency-graph/build".to_string(),
                json!({ "plan_id": plan }),
            ),
        ] {
            let r = client.post(&uri, &mallory, &body).await;
            assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        }
        // An admin sees every user's plans.
        let r = client.get(&plan_uri, &admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_4xx_naming_what_and_where() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let t = client.token("carol", false).await;
        let post_raw = |body: String| {
            client.raw(
                Method::POST,
                "/api/v1/masterplan",
                Some(&t),
                Body::from(body),
            )
        };

        let r = post_raw("{\"name\": ".to_string()).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(r.body["error"]["details"]["location"], "body");
        assert!(r.body["error"]["details"]["line"].is_number(), "{}", r.text);

        let mut plan = plan_json("kvstore");
        plan["phases"] = json!([]);
        let r = post_raw(plan.to_string()).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");

        for dir in ["../..", "/etc", "kvstore/missing"] {
            let mut plan = plan_json("kvstore");
            plan["reference_dir"] = json!(dir);
            let r = post_raw(plan.to_string()).await;
            assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
            assert_eq!(
                r.body["error"]["details"]["field"], "reference_dir",
                "{}",
                r.text
            );
        }

        let big = format!("{{\"name\":\"{}\"}}", "x".repeat(mge_api::BODY_LIMIT + 10));
        let r = client
            .raw(
                Method::POST,
                "/api/v1/masterplan/execute",
                Some(&t),
                Body::from(big),
            )
            .await;
        assert_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

        let r = client.get("/api/v1/masterplan/not-a-uuid", &t).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(r.body["error"]["details"]["location"], "path");

        let r = client
            .post("/api/v1/masterplan/execute", &t, &json!({ "plan": "x" }))
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("plan"),
            "{}",
            r.text
        );

        let plan = client.create(&t, "kvstore").await;
        let r = client
            .post(
                "/api/v1/masterplan/execute",
                &t,
                &json!({ "plan_id": plan, "generator": { "fault_rate": 3.0 } }),
            )
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(r.body["error"]["details"]["field"], "generator.fault_rate");

        let r = client
            .get(&format!("/api/v2/dependency-graph/{plan}?format=png"), &t)
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(r.body["error"]["details"]["location"], "query");

        let r = client
            .get(&format!("/api/v1/masterplan/{}", uuid::Uuid::new_v4()), &t)
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        let r = client.get("/api/v3/nothing", &t).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let t = client.token("dave", false).await;
        let r = client
            .raw(Method::GET, "/health", None, Body::empty())
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["status"], "ok");

        let plan = client.create(&t, "textstats").await;
        let r = client
            .post(
                "/api/masterplan/execute",
                &t,
                &json!({ "plan_id": plan, "mode": "v2_atoms" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let mode = r.body["mode"].as_str().unwrap().to_string();
        client.wait_completed(&plan).await;
        client.get(&format!("/api/v1/masterplan/{plan}"), &t).await;

        let r = client
            .raw(Method::GET, "/metrics", None, Body::empty())
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let text = r.text;
        assert!(
            text.contains(&format!("mge_plans{{mode=\"{mode}\"}} 1")),
            "{text}"
        );
        assert!(text.contains("mge_review_queue_size "), "{text}");
        let tokens_in: u64 = text
            .lines()
            .find(|l| l.starts_with("mge_llm_tokens{direction=\"in\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(tokens_in > 0, "{text}");
        assert!(
            text.contains("mge_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/masterplan/{id}\",status=\"200\"} 1"),
            "{text}"
        );
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}
