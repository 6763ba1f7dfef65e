//! `POST /api/v2/execute/wave` on every backend: gated by ENABLE_V2_EXECUTION, 409 while the
//! providers of a wave have not succeeded, waves executed in order finish every atom, auth and
//! cross-user failures.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{assert_error, Client, TestDb};
use serde_json::json;

const WAVE: &str = "/api/v2/execute/wave";

/// Turns the V2 capability flags on through the mode endpoint.
pub async fn enable_v2(client: &Client, admin: &str) {
    for name in mge_rollout::REQUIRED_CAPABILITIES {
        let r = client
            .post(
                "/api/v2/mode",
                admin,
                &json!({ "action": "set_flag", "name": name, "value": true, "reason": "test" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_execute_in_order_after_their_providers() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let root = client.token("root", true).await;
        let alice = client.token("alice", false).await;
        let mallory = client.token("mallory", false).await;
        let plan = client.create(&alice, "kvstore").await;
        let plan_id: uuid::Uuid = plan.parse().unwrap();

        let r = client
            .post(WAVE, &alice, &json!({ "plan_id": plan, "wave": 0 }))
            .await;
        assert_error(&r, StatusCode::CONFLICT, "conflict");
        assert!(r.text.contains("ENABLE_V2_EXECUTION"), "{}", r.text);
        enable_v2(&client, &root).await;

        let body = json!({ "plan_id": plan, "wave": 0 });
        let r = client
            .raw(Method::POST, WAVE, None, Body::from(body.to_string()))
            .await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
        let r = client.post(WAVE, &mallory, &body).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        for bad in [
            json!({ "plan_id": plan, "wave": -1 }),
            json!({ "plan_id": plan, "wave": 0, "max_parallel": 0 }),
            json!({ "plan_id": plan }),
            json!({ "plan_id": "x", "wave": 0 }),
        ] {
            let r = client.post(WAVE, &alice, &bad).await;
            assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        }

        // Wave 1 needs wave 0 first.
        let r = client
            .post(WAVE, &alice, &json!({ "plan_id": plan, "wave": 1 }))
            .await;
        assert_error(&r, StatusCode::CONFLICT, "conflict");
        assert!(r.text.contains("provider"), "{}", r.text);
        let atoms = client.app.state.store.load_atoms(plan_id).await.unwrap();
        assert!(!atoms.is_empty());
        assert!(atoms.iter().all(|a| a.attempts == 0), "nothing ran");

        let waves = client
            .get(&format!("/api/v2/execution-waves/{plan}"), &alice)
            .await;
        let total = waves.body["total_waves"].as_u64().unwrap() as usize;
        assert!(total >= 2, "{}", waves.text);
        for wave in 0..total {
            let r = client
                .post(WAVE, &alice, &json!({ "plan_id": plan, "wave": wave }))
                .await;
            assert_eq!(
                r.status,
                StatusCode::OK,
                "{}: wave {wave}: {}",
                db.label,
                r.text
            );
            assert_eq!(r.body["total_waves"], total);
            assert_eq!(r.body["failed"], 0, "{}", r.text);
            let units = r.body["units"].as_array().unwrap();
            assert!(!units.is_empty());
            assert_eq!(r.body["succeeded"], units.len(), "{}", r.text);
            let expected_next = if wave + 1 < total {
                json!(wave + 1)
            } else {
                json!(null)
            };
            assert_eq!(r.body["next_wave"], expected_next);
        }
        let atoms = client.app.state.store.load_atoms(plan_id).await.unwrap();
        assert!(
            atoms
                .iter()
                .all(|a| a.status == mge_core::AtomStatus::Succeeded && a.atom.code.is_some()),
            "every atom generated"
        );
        let history = client.app.state.store.load_history(plan_id).await.unwrap();
        let executed = history
            .iter()
            .filter(|h| h.event == "wave_executed")
            .count();
        assert_eq!(executed, total);

        // Again: nothing to do, every unit already succeeded.
        let r = client.post(WAVE, &alice, &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["succeeded"], 0);
        assert_eq!(r.body["units"][0]["status"], "already_succeeded");
        let r = client
            .post(WAVE, &alice, &json!({ "plan_id": plan, "wave": total }))
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        let r = client
            .post(
                WAVE,
                &alice,
                &json!({ "plan_id": uuid::Uuid::new_v4(), "wave": 0 }),
            )
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}
