//! The OpenAPI document is generated from the handlers; the committed `openapi.json` must match
//! it (`UPDATE_EXPECT=1 cargo test -p mge-api --test openapi` refreshes it), and the server
//! serves the same document.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{Client, TestDb};

#[test]
fn committed_document_matches_the_code() {
    let doc = serde_json::to_string_pretty(&mge_api::openapi()).unwrap();
    expect_test::expect_file!["../openapi.json"].assert_eq(&format!("{doc}\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_document_lists_every_route() {
    let db = TestDb::sqlite().await;
    let client = Client::start(db.store().await, 0.0).await;
    let r = client
        .raw(Method::GET, "/api/openapi.json", None, Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, serde_json::to_value(mge_api::openapi()).unwrap());
    let paths: Vec<&String> = r.body["paths"].as_object().unwrap().keys().collect();
    let expected = [
        "/api/masterplan/execute",
        "/api/v1/masterplan",
        "/api/v1/masterplan/execute",
        "/api/v1/masterplan/{id}",
        "/api/v1/task/{id}",
        "/api/v1/task/{id}/retry",
        "/api/v2/atom/{id}",
        "/api/v2/atomize/plan/{id}",
        "/api/v2/atomize/task/{id}",
        "/api/v2/atoms/{plan_id}",
        "/api/v2/dependency-graph/build",
        "/api/v2/dependency-graph/{id}",
        "/api/v2/execute/wave",
        "/api/v2/execution-waves/{id}",
        "/api/v2/mode",
        "/api/v2/review-queue/{plan_id}",
        "/api/v2/review/{atom_id}",
        "/api/v2/validate/hierarchical",
        "/health",
        "/metrics",
        "/ws/masterplan/{id}",
    ];
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    // Every documented path is routed: without a token it is 401 (or public), never 404.
    for path in expected {
        let uri = path
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{plan_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{atom_id}", &uuid::Uuid::new_v4().to_string());
        let methods = r.body["paths"][path].as_object().unwrap();
        for method in methods.keys() {
            let m: Method = method.to_uppercase().parse().unwrap();
            let reply = client.raw(m.clone(), &uri, None, Body::empty()).await;
            assert_ne!(reply.status, StatusCode::NOT_FOUND, "{m} {uri}");
            assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {uri}");
        }
    }
}
