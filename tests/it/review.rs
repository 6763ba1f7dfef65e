//! The human review queue end to end: a V2 run queues its doubtful atoms; `mge review` lists
//! and shows them and records approve, edit (validated first), regenerate and reject decisions
//! with who, when and why. MVP runs queue nothing.

use std::path::Path;

use serde_json::Value;

use crate::common::{mge, repo, sqlite_url, text};

fn mge_json(url: &str, args: &[&str]) -> (bool, Value, String) {
    let output = mge()
        .args(args)
        .args(["--database-url", url])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    let value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (output.status.success(), value, format!("{stdout}{stderr}"))
}

fn run_plan(url: &str, mode: &str, out: &Path) -> Value {
    let plan = repo().join("fixtures/plans/shop/plan.toml");
    let out = out.display().to_string();
    let plan = plan.display().to_string();
    let (ok, summary, log) = mge_json(
        url,
        &[
            "run",
            "--mode",
            mode,
            "--fault-rate",
            "0.02",
            "--time-scale",
            "0",
            "--json",
            "--out",
            &out,
            &plan,
        ],
    );
    // A run with failed units exits 1 and still prints its summary.
    assert!(ok || summary["failed"].as_u64() > Some(0), "{log}");
    summary
}

fn status(url: &str, atom: &str) -> Value {
    let (ok, shown, log) = mge_json(url, &["review", "show", atom, "--json"]);
    assert!(ok, "{log}");
    shown
}

#[test]
fn review_queue_decisions_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let out = dir.path().join("out");
    let summary = run_plan(&url, "v2", &out);
    let plan = summary["run_id"].as_str().unwrap().to_string();
    assert!(
        summary["validation_rounds"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    let queued = summary["review_queued"].as_u64().unwrap();
    assert!(
        queued >= 4,
        "the run should queue atoms for review: {summary}"
    );

    let (ok, list, log) = mge_json(&url, &["review", "list", "--plan", &plan, "--json"]);
    assert!(ok, "{log}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len() as u64, queued, "{log}");
    let scores: Vec<f64> = list
        .iter()
        .map(|r| r["confidence_score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
    assert!(list.iter().all(|r| r["status"] == "pending"), "{log}");
    assert!(list
        .iter()
        .all(|r| !r["reasons"].as_array().unwrap().is_empty()));
    let atoms: Vec<String> = list
        .iter()
        .map(|r| r["atom_id"].as_str().unwrap().to_string())
        .collect();

    // Text forms.
    let output = mge()
        .args(["review", "show", &atoms[0], "--database-url", &url])
        .output()
        .unwrap();
    let (shown, _) = text(&output);
    assert!(shown.contains("review:     pending"), "{shown}");
    assert!(shown.contains("confidence: "), "{shown}");

    // Approve: who, when and why; a second decision is refused.
    let (ok, approved, log) = mge_json(
        &url,
        &[
            "review",
            "approve",
            &atoms[0],
            "--reviewer",
            "ana",
            "--comment",
            "reads right",
            "--json",
        ],
    );
    assert!(ok, "{log}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["assigned_to"], "ana");
    assert_eq!(approved["human_decision"], "approve");
    assert_eq!(approved["human_comments"], "reads right");
    assert!(approved["reviewed_at"].is_string());
    let (ok, _, log) = mge_json(&url, &["review", "reject", &atoms[0], "--reviewer", "bo"]);
    assert!(!ok);
    assert!(log.contains("already decided (approved by ana)"), "{log}");

    // Edit: code that does not parse is refused and the review stays pending.
    let bad = dir.path().join("bad.py");
    std::fs::write(&bad, "def broken(:\n    return\n").unwrap();
    let bad = bad.display().to_string();
    let (ok, _, log) = mge_json(&url, &["review", "edit", &atoms[1], "--file", &bad]);
    assert!(!ok);
    assert!(log.contains("fails atomic validation"), "{log}");
    assert_eq!(status(&url, &atoms[1])["review"]["status"], "pending");
    // The atom's own code with a comment added passes and lands in the output.
    let shown = status(&url, &atoms[1]);
    let code = shown["atom"]["code"].as_str().unwrap().to_string();
    let file = shown["atom"]["file_path"].as_str().unwrap().to_string();
    let edited = format!("{}\n# reviewed by ana\n", code.trim_end_matches('\n'));
    let good = dir.path().join("good.py");
    std::fs::write(&good, &edited).unwrap();
    let good = good.display().to_string();
    let (ok, decided, log) = mge_json(
        &url,
        &[
            "review",
            "edit",
            &atoms[1],
            "--file",
            &good,
            "--reviewer",
            "ana",
            "--json",
        ],
    );
    assert!(ok, "{log}");
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["human_decision"], "edit");
    assert_eq!(decided["human_edits"].as_str(), Some(edited.as_str()));
    let written = std::fs::read_to_string(out.join(&file)).unwrap();
    assert!(written.contains(&edited), "{file} lacks the edit");
    assert_eq!(
        status(&url, &atoms[1])["atom"]["code"].as_str(),
        Some(edited.as_str())
    );

    // Regenerate: back through the retry loop with the comment as feedback.
    let before = status(&url, &atoms[2])["atom"]["attempts"]
        .as_i64()
        .unwrap();
    let (ok, decided, log) = mge_json(
        &url,
        &[
            "review",
            "regenerate",
            &atoms[2],
            "--comment",
            "use the helper",
            "--reviewer",
            "cy",
            "--json",
        ],
    );
    let after = status(&url, &atoms[2]);
    assert!(
        after["atom"]["attempts"].as_i64().unwrap() > before,
        "{after}"
    );
    if ok {
        assert_eq!(decided["status"], "regenerated");
        assert_eq!(decided["human_comments"], "use the helper");
    } else {
        assert!(log.contains("no passing version"), "{log}");
        assert_eq!(after["review"]["status"], "in_review");
    }

    // Reject: the atom is failed with the reviewer's reason.
    let (ok, decided, log) = mge_json(
        &url,
        &[
            "review",
            "reject",
            &atoms[3],
            "--comment",
            "wrong rounding",
            "--reviewer",
            "ana",
            "--json",
        ],
    );
    assert!(ok, "{log}");
    assert_eq!(decided["status"], "rejected");
    let after = status(&url, &atoms[3]);
    assert_eq!(after["atom"]["status"], "failed");
    assert_eq!(
        after["atom"]["last_error"],
        "rejected in review by ana: wrong rounding"
    );
    let (ok, rejected, _) = mge_json(
        &url,
        &[
            "review", "list", "--plan", &plan, "--status", "rejected", "--json",
        ],
    );
    assert!(ok);
    assert_eq!(rejected.as_array().unwrap().len(), 1);

    // Unknown atoms are named.
    let unknown = uuid::Uuid::new_v4().to_string();
    let (ok, _, log) = mge_json(&url, &["review", "approve", &unknown]);
    assert!(!ok);
    assert!(
        log.contains(&format!("atom {unknown} was never queued")),
        "{log}"
    );
}

#[test]
fn mvp_runs_queue_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let summary = run_plan(&url, "mvp", &dir.path().join("out"));
    let plan = summary["run_id"].as_str().unwrap();
    assert_eq!(summary["review_queued"], 0, "{summary}");
    assert_eq!(summary["validation_rounds"], 0, "{summary}");
    let (ok, list, log) = mge_json(&url, &["review", "list", "--plan", plan, "--json"]);
    assert!(ok, "{log}");
    assert_eq!(list, serde_json::json!([]));
}
