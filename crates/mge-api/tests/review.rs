//! `POST /api/v2/review/{atom_id}` on every backend (decisions reach the store; auth, cross-user
//! and bad-input failures), and the review page driven in headless Chromium through
//! chromedriver's WebDriver protocol: clicking Approve records the approval in the database.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{assert_error, Client, TestDb};
use mge_core::ReviewStatus;
use serde_json::{json, Value};

async fn enable_v2(client: &Client, admin: &str) {
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

/// Runs a plan of `owner` in V2 to the end and queues its first `n` atoms for review; returns
/// the plan id and the queued atom ids.
async fn reviewed_plan(client: &Client, owner: &str, n: usize) -> (String, Vec<uuid::Uuid>) {
    let plan = client.create(owner, "textstats").await;
    let r = client
        .post(
            "/api/masterplan/execute",
            owner,
            &json!({ "plan_id": plan, "mode": "v2_atoms" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["mode"], "v2_atoms", "{}", r.text);
    client.wait_completed(&plan).await;
    let plan_id: uuid::Uuid = plan.parse().unwrap();
    let store = &client.app.state.store;
    let queued: Vec<uuid::Uuid> = store
        .load_review_queue(plan_id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.atom_id)
        .collect();
    let mut atoms = queued.clone();
    for a in store.load_atoms(plan_id).await.unwrap() {
        if atoms.len() >= n {
            break;
        }
        if a.atom.code.is_some() && !atoms.contains(&a.atom.id) {
            store
                .enqueue_review(
                    plan_id,
                    &mge_store::NewReview {
                        atom_id: a.atom.id,
                        confidence_score: 0.5,
                        reasons: json!(["queued by the test"]),
                    },
                )
                .await
                .unwrap();
            atoms.push(a.atom.id);
        }
    }
    atoms.truncate(n);
    (plan, atoms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_decisions_reach_the_store() {
    for db in TestDb::all().await {
        let client = Client::start(db.store().await, 0.0).await;
        let root = client.token("root", true).await;
        let alice = client.token("alice", false).await;
        let mallory = client.token("mallory", false).await;
        enable_v2(&client, &root).await;
        let (_plan, atoms) = reviewed_plan(&client, &alice, 3).await;
        let store = client.app.state.store.clone();
        let uri = |a: &uuid::Uuid| format!("/api/v2/review/{a}");
        let approve = json!({ "decision": "approve", "comment": "looks right" });

        let r = client
            .raw(
                Method::POST,
                &uri(&atoms[0]),
                None,
                Body::from(approve.to_string()),
            )
            .await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
        let r = client.post(&uri(&atoms[0]), &mallory, &approve).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        let r = client
            .post(&uri(&uuid::Uuid::new_v4()), &alice, &approve)
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        for bad in [
            json!({ "decision": "edit" }),
            json!({ "decision": "edit", "code": "  " }),
            json!({ "decision": "approve", "code": "x = 1\n" }),
            json!({ "decision": "merge" }),
            json!({ "decision": "approve", "extra": 1 }),
        ] {
            let r = client.post(&uri(&atoms[0]), &alice, &bad).await;
            assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        }
        let r = client.post("/api/v2/review/nope", &alice, &approve).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");

        let r = client.post(&uri(&atoms[0]), &alice, &approve).await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", db.label, r.text);
        assert_eq!(r.body["review"]["status"], "approved", "{}", r.text);
        let stored = store.load_review(atoms[0]).await.unwrap().unwrap();
        assert_eq!(stored.status, ReviewStatus::Approved);
        assert_eq!(stored.human_comments.as_deref(), Some("looks right"));
        // Decided once.
        let r = client.post(&uri(&atoms[0]), &alice, &approve).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");

        let r = client
            .post(
                &uri(&atoms[1]),
                &root,
                &json!({ "decision": "reject", "comment": "wrong" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let stored = store.load_review(atoms[1]).await.unwrap().unwrap();
        assert_eq!(stored.status, ReviewStatus::Rejected);
        let atom = store
            .load_atoms(stored.plan_id)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.atom.id == atoms[1])
            .unwrap();
        assert_eq!(atom.status, mge_core::AtomStatus::Failed);

        // An edit is validated: unparsable code is refused and the review stays open.
        let r = client
            .post(
                &uri(&atoms[2]),
                &alice,
                &json!({ "decision": "edit", "code": "def (((:\n" }),
            )
            .await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
        let stored = store.load_review(atoms[2]).await.unwrap().unwrap();
        assert!(matches!(
            stored.status,
            ReviewStatus::Pending | ReviewStatus::InReview
        ));
        client.app.state.store.close().await;
        db.drop_db().await;
    }
}

/// A minimal HTTP/1.1 client for chromedriver's WebDriver protocol (JSON in and out).
async fn webdriver(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("connecting to chromedriver on port {port}: {e}"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // chromedriver may keep the connection open: read the head, then exactly the body.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "{method} {path}: chromedriver closed the connection");
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let body = match length {
        Some(len) => {
            while raw.len() < head_end + len {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "{method} {path}: chromedriver cut the body short");
                raw.extend_from_slice(&buf[..n]);
            }
            String::from_utf8_lossy(&raw[head_end..head_end + len]).to_string()
        }
        None => {
            stream.read_to_end(&mut raw).await.unwrap();
            dechunk(&String::from_utf8_lossy(&raw[head_end..]))
        }
    };
    serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{method} {path}: chromedriver answered {head}\n{body}: {e}"))
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Browser {
    port: u16,
    session: String,
    driver: std::process::Child,
}

impl Browser {
    async fn start() -> Browser {
        for tool in ["chromium", "chromedriver"] {
            let found = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            assert!(
                found,
                "{tool} is not installed: the review page test drives Debian's chromium through \
                 chromedriver (apt-get install -y chromium chromium-driver; .ci/run installs them)"
            );
        }
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let mut ready = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            ready,
            "chromedriver did not listen on port {port} within 10 s"
        );
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            },
        }}});
        let r = webdriver(port, "POST", "/session", Some(&caps)).await;
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused a session: {r}"))
            .to_string();
        Browser {
            port,
            session,
            driver,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        webdriver(self.port, method, &path, body.as_ref()).await
    }

    /// The element matching `css`, waiting for it up to 20 s.
    async fn find(&self, css: &str) -> String {
        for _ in 0..200 {
            let r = self
                .call(
                    "POST",
                    "/elements",
                    Some(json!({ "using": "css selector", "value": css })),
                )
                .await;
            if let Some(first) = r["value"].as_array().and_then(|a| a.first()) {
                return first[ELEMENT]
                    .as_str()
                    .unwrap_or_else(|| panic!("'{css}': not an element reference: {r}"))
                    .to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let status = self.text("#status").await;
        panic!("no element '{css}' on the page within 20 s (status: {status})");
    }

    async fn text(&self, css: &str) -> String {
        let r = self
            .call(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        let Some(id) = r["value"][ELEMENT].as_str() else {
            return String::new();
        };
        let r = self.call("GET", &format!("/element/{id}/text"), None).await;
        r["value"].as_str().unwrap_or_default().to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})))
            .await;
    }
}

impl Drop for Browser {
    /// Stops chromedriver (and with it the browser) even when the test fails.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        // Close the session first, so chromedriver stops the browser it started.
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
                self.session
            );
            let _ = s.read(&mut [0u8; 1024]);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_page_approves_in_headless_chromium() {
    let db = TestDb::sqlite().await;
    let client = Client::start(db.store().await, 0.0).await;
    let root = client.token("root", true).await;
    let alice = client.token("alice", false).await;
    enable_v2(&client, &root).await;
    let (plan, atoms) = reviewed_plan(&client, &alice, 1).await;

    let r = client
        .raw(Method::GET, "/ui/review", None, Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("Review queue"), "{}", r.text);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = client.app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let browser = Browser::start().await;
    browser
        .call(
            "POST",
            "/url",
            Some(json!({ "url": format!("http://{addr}/ui/review") })),
        )
        .await;
    browser.type_into("#token", &alice).await;
    browser.type_into("#plan", &plan).await;
    browser.click("#load").await;
    let entry = format!(".entry[data-atom=\"{}\"]", atoms[0]);
    let code = browser.text(&format!("{entry} pre.code")).await;
    let stored = client
        .app
        .state
        .store
        .load_atoms(plan.parse().unwrap())
        .await;
    let expected = stored
        .unwrap()
        .into_iter()
        .find(|a| a.atom.id == atoms[0])
        .and_then(|a| a.atom.code)
        .unwrap();
    // The page shows the atom's code (WebDriver text trims the block's edges).
    let code = if code.is_empty() {
        browser.find(&format!("{entry} pre.code")).await;
        browser.text(&format!("{entry} pre.code")).await
    } else {
        code
    };
    assert_eq!(code.trim(), expected.trim());
    browser.click(&format!("{entry} button.approve")).await;

    let mut approved = false;
    for _ in 0..200 {
        let review = client.app.state.store.load_review(atoms[0]).await.unwrap();
        if review.is_some_and(|r| {
            r.status == ReviewStatus::Approved && r.assigned_to.as_deref() == Some("alice")
        }) {
            approved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = browser.text("#status").await;
    drop(browser);
    assert!(
        approved,
        "the approval did not reach the database (page status: {status})"
    );
    client.app.state.store.close().await;
    db.drop_db().await;
}
