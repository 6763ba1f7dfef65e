//! `POST /api/v2/validate/hierarchical` on every backend: the four levels over a plan's output,
//! stored as validation results; gated by ENABLE_V2_VALIDATION; 409 before the atoms have code;
//! auth and cross-user failures.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{assert_error, Client, TestDb};
use serde_json::json;

const VALIDATE: &str = "/api/v2/validate/hierarchical";

async fn set_flag(client: &Client, admin: &str, name: &str, value: bool) {
    let r = client
        .post(
            "/api/v2/mode",
            admin,
            &json!({ "action": "set_flag", "name": name, "value": value, "reason": "test" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_validation_of_a_generated_plan() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let root = client.token("root", true).await;
        let alice = client.token("alice", false).await;
        let mallory = client.token("mallory", false).await;
        for name in mge_rollout::REQUIRED_CAPABILITIES {
            set_flag(&client, &root, name, true).await;
        }
        let plan = client.create(&alice, "textstats").await;
        let plan_id: uuid::Uuid = plan.parse().unwrap();
        let body = json!({ "plan_id": plan });

        let r = client
            .raw(Method::POST, VALIDATE, None, Body::from(body.to_string()))
            .await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
        let r = client.post(VALIDATE, &mallory, &body).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        for bad in [
            json!({}),
            json!({ "plan_id": "x" }),
            json!({ "plan_id": plan, "x": 1 }),
        ] {
            let r = client.post(VALIDATE, &alice, &bad).await;
            assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        }
        // Not generated yet.
        let r = client.post(VALIDATE, &alice, &body).await;
        assert_error(&r, StatusCode::CONFLICT, "conflict");

        let r = client
            .post(
                "/api/masterplan/execute",
                &alice,
                &json!({ "plan_id": plan, "mode": "v2_atoms" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        client.wait_completed(&plan).await;
        let before = client
            .app
            .state
            .store
            .load_validation_results(plan_id)
            .await
            .unwrap()
            .len();

        let r = client.post(VALIDATE, &alice, &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", db.label, r.text);
        let levels = r.body["levels"].as_array().unwrap();
        let names: Vec<&str> = levels
            .iter()
            .map(|l| l["level"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["atomic", "module", "component", "system"]);
        let atoms = client.app.state.store.load_atoms(plan_id).await.unwrap();
        assert_eq!(levels[0]["checked"], atoms.len(), "{}", r.text);
        assert_eq!(levels[0]["passed"], true, "{}", r.text);
        assert!(levels[1]["checked"].as_u64().unwrap() >= 1, "{}", r.text);
        assert_eq!(levels[1]["passed"], true, "{}", r.text);
        assert_eq!(levels[3]["checked"], 1, "the fixture has tests: {}", r.text);
        assert_eq!(r.body["passed"], true, "{}", r.text);
        let after = client
            .app
            .state
            .store
            .load_validation_results(plan_id)
            .await
            .unwrap()
            .len();
        assert_eq!(
            after - before,
            r.body["stored_results"].as_u64().unwrap() as usize
        );

        // A file that loses a definition the plan expects fails the module level.
        let store = client.app.state.store.clone();
        let victim = atoms
            .iter()
            .find(|a| {
                a.atom.kind == "function"
                    && a.atom.code.as_deref().is_some_and(|c| c.contains("def "))
            })
            .expect("textstats has functions");
        let name = victim.atom.name.clone();
        let renamed = victim.atom.code.as_deref().unwrap().replacen(
            &format!("def {name}("),
            &format!("def {name}_gone("),
            1,
        );
        store
            .record_validation_round(plan_id, &[], &[(victim.atom.id, renamed)], &[])
            .await
            .unwrap();
        let r = client.post(VALIDATE, &alice, &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let module = &r.body["levels"][1];
        assert_eq!(module["passed"], false, "{}", r.text);
        let module_text = module.to_string();
        assert!(
            module_text.contains("missing_definition")
                && module_text.contains(&format!("'{name}'")),
            "the module level names the lost definition: {module_text}"
        );

        set_flag(&client, &root, "ENABLE_V2_VALIDATION", false).await;
        let r = client.post(VALIDATE, &alice, &body).await;
        assert_error(&r, StatusCode::CONFLICT, "conflict");
        assert!(r.text.contains("ENABLE_V2_VALIDATION"), "{}", r.text);
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}
