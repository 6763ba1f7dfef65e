//! v2 endpoints on every backend: atomize a plan and a task, atoms, one atom, the dependency
//! graph in three formats, execution waves and the review queue.

mod common;

use axum::http::StatusCode;
use common::{assert_error, Client, TestDb};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_atoms_graph_waves_and_review_queue() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let t = client.token("erin", false).await;
        let plan = client.create(&t, "kvstore").await;
        let plan_id: uuid::Uuid = plan.parse().unwrap();

        // Nothing atomized yet.
        let r = client.get(&format!("/api/v2/atoms/{plan}"), &t).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["total_atoms"], 0);
        let r = client
            .get(&format!("/api/v2/dependency-graph/{plan}"), &t)
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");

        let r = client
            .post(&format!("/api/v2/atomize/plan/{plan}"), &t, &json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", db.label, r.text);
        let total = r.body["metrics"]["total_atoms"].as_i64().unwrap();
        assert!(total > 10, "{}", r.text);
        // Atomizing again changes nothing.
        let again = client
            .post(&format!("/api/v2/atomize/plan/{plan}"), &t, &json!({}))
            .await;
        assert_eq!(
            again.body["metrics"]["total_atoms"], total,
            "{}",
            again.text
        );

        let r = client.get(&format!("/api/v2/atoms/{plan}"), &t).await;
        assert_eq!(r.body["total_atoms"], total);
        let atoms = r.body["atoms"].as_array().unwrap().clone();
        let stored = client.app.state.store.load_atoms(plan_id).await.unwrap();
        let ids: Vec<String> = atoms
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = stored.iter().map(|a| a.atom.id.to_string()).collect();
        assert_eq!(ids, expected);

        let first = &atoms[0];
        let r = client
            .get(
                &format!("/api/v2/atom/{}", first["id"].as_str().unwrap()),
                &t,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["atom_key"], first["atom_key"]);
        assert_eq!(r.body["plan_id"], plan.as_str());
        assert!(r.body["retries"].is_array() && r.body["validation_results"].is_array());
        let r = client
            .get(&format!("/api/v2/atom/{}", uuid::Uuid::new_v4()), &t)
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");

        let task = first["task_id"].as_str().unwrap();
        let r = client
            .post(&format!("/api/v2/atomize/task/{task}"), &t, &json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let of_task = atoms.iter().filter(|a| a["task_id"] == task).count();
        assert_eq!(r.body["total_atoms"], of_task as u64);
        assert!(r.body["atoms"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["task_id"] == task));

        let r = client
            .post(
                "/api/v2/dependency-graph/build",
                &t,
                &json!({ "plan_id": plan }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["total_atoms"], total);
        let edges = r.body["total_edges"].as_i64().unwrap();
        let waves = r.body["waves"].as_u64().unwrap();
        assert!(edges > 0 && waves > 1, "{}", r.text);

        let r = client
            .get(&format!("/api/v2/dependency-graph/{plan}?format=json"), &t)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["edges"].as_array().unwrap().len() as i64, edges);
        let dot = client
            .get(&format!("/api/v2/dependency-graph/{plan}?format=dot"), &t)
            .await;
        assert!(dot.text.starts_with("digraph atoms {"), "{}", dot.text);
        assert_eq!(dot.text.matches(" -> ").count() as i64, edges);
        let mermaid = client
            .get(
                &format!("/api/v2/dependency-graph/{plan}?format=mermaid"),
                &t,
            )
            .await;
        assert!(mermaid.text.starts_with("graph LR\n"), "{}", mermaid.text);
        assert_eq!(mermaid.text.matches(" --> ").count() as i64, edges);

        let r = client
            .get(&format!("/api/v2/execution-waves/{plan}"), &t)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["total_waves"], waves);
        let in_waves: u64 = r.body["waves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["atom_ids"].as_array().unwrap().len() as u64)
            .sum();
        assert_eq!(in_waves as i64, total);

        let r = client
            .get(&format!("/api/v2/review-queue/{plan}"), &t)
            .await;
        assert_eq!(r.body["total"], 0, "{}", r.text);
        let atom_id: uuid::Uuid = first["id"].as_str().unwrap().parse().unwrap();
        client
            .app
            .state
            .store
            .enqueue_review(
                plan_id,
                &mge_store::NewReview {
                    atom_id,
                    confidence_score: 0.4,
                    reasons: json!(["low confidence"]),
                },
            )
            .await
            .unwrap();
        let r = client
            .get(&format!("/api/v2/review-queue/{plan}"), &t)
            .await;
        assert_eq!(r.body["total"], 1, "{}", r.text);
        assert_eq!(r.body["queue"][0]["atom_id"], atom_id.to_string());
        assert_eq!(r.body["queue"][0]["confidence_score"], 0.4);
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}
