//! With no injected faults, every fixture run in either mode produces a project identical to its
//! reference, and the project's own tests pass.

use crate::common::{fixture_plans, mge, run_plan_tests, sqlite_url, text, tree};

fn run_clean(mode: &str) {
    for plan in fixture_plans() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let output = mge()
            .args([
                "run",
                "--mode",
                mode,
                "--fault-rate",
                "0",
                "--time-scale",
                "0",
                "--json",
            ])
            .args(["--database-url", &sqlite_url(dir.path())])
            .arg("--out")
            .arg(&out)
            .arg(&plan)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&output);
        assert!(
            output.status.success(),
            "{}: {stdout}{stderr}",
            plan.display()
        );
        let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(summary["failed"], 0, "{stdout}");
        assert_eq!(summary["blocked"], 0, "{stdout}");
        assert_eq!(summary["faults_injected"], 0, "{stdout}");
        let reference = tree(&plan.join("reference"));
        let generated = tree(&out);
        let names = |t: &[(String, Vec<u8>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&generated), names(&reference), "{}", plan.display());
        for ((name, a), (_, b)) in generated.iter().zip(&reference) {
            assert!(
                a == b,
                "{}: {name} differs from the reference",
                plan.display()
            );
        }
        let (passed, log) = run_plan_tests(&plan, &out);
        assert!(passed, "{}: tests failed:\n{log}", plan.display());
    }
}

#[test]
fn mvp_runs_reproduce_every_fixture() {
    run_clean("mvp");
}

#[test]
fn v2_runs_reproduce_every_fixture() {
    run_clean("v2");
}

/// With faults injected, the counts agree with each other: an attempt is rejected only when the
/// generator injected a fault into it (no false alarm), every rejected attempt that was not a
/// unit's last is followed by exactly one retry, and the summary totals equal the event stream's.
#[test]
fn fault_counts_are_consistent_in_both_modes() {
    let plan = crate::common::repo().join("fixtures/plans/exprcalc");
    // V2 runs once with the atomic retry loop alone and once with the validation rounds after
    // generation, whose regenerations are retries too.
    for (mode, rounds) in [("mvp", "0"), ("v2", "0"), ("v2", "3")] {
        let dir = tempfile::tempdir().unwrap();
        let output = mge()
            .args(["run", "--mode", mode, "--fault-rate", "0.08", "--seed", "5"])
            .args(["--validation-rounds", rounds])
            .args(["--time-scale", "0", "--events", "--json"])
            .args(["--database-url", &sqlite_url(dir.path())])
            .arg("--out")
            .arg(dir.path().join("out"))
            .arg(&plan)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&output);
        assert!(!stderr.contains("panicked"), "{stderr}");
        let lines: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let summary = lines.last().unwrap();
        let attempts: Vec<&serde_json::Value> = lines
            .iter()
            .filter(|e| e["event"] == "attempt_finished")
            .map(|e| &e["details"])
            .collect();
        let injected: u64 = attempts
            .iter()
            .map(|a| a["faults_injected"].as_u64().unwrap())
            .sum();
        let rejected: Vec<&&serde_json::Value> =
            attempts.iter().filter(|a| a["ok"] == false).collect();
        for a in &rejected {
            assert!(
                a["faults_injected"].as_u64().unwrap() > 0,
                "{mode}: false alarm {a}"
            );
        }
        let retries = attempts
            .iter()
            .filter(|a| a["draw"].as_u64().unwrap() > 1)
            .count();
        let mut last_draw: std::collections::HashMap<&str, u64> = Default::default();
        for a in &attempts {
            let d = last_draw.entry(a["unit"].as_str().unwrap()).or_default();
            *d = (*d).max(a["draw"].as_u64().unwrap());
        }
        let final_rejections = rejected
            .iter()
            .filter(|a| last_draw[a["unit"].as_str().unwrap()] == a["draw"].as_u64().unwrap())
            .count();
        assert!(injected > 0, "{mode}: the fault rate injected nothing");
        assert_eq!(summary["faults_injected"], injected, "{mode}");
        assert_eq!(summary["faults_detected"], rejected.len() as u64, "{mode}");
        assert_eq!(summary["attempts"], attempts.len() as u64, "{mode}");
        assert_eq!(summary["retries"], retries as u64, "{mode}");
        let regenerations = summary["atoms_regenerated"].as_u64().unwrap() as usize;
        let regeneration_attempts = attempts
            .iter()
            .filter(|a| a["regeneration"] == true)
            .count();
        assert!(
            regeneration_attempts >= regenerations,
            "{mode}: each regeneration makes at least one attempt"
        );
        if rounds == "0" {
            assert_eq!(regenerations, 0, "{mode}: no rounds, no regeneration");
        }
        assert_eq!(
            rejected.len() - final_rejections + regenerations,
            retries,
            "{mode} with {rounds} rounds: every rejection but a unit's last is retried once, \
             and every regeneration a validation round asks for is one more"
        );
        if mode == "mvp" {
            assert_eq!(retries, 0, "MVP never retries on its own");
        }
    }
}

/// Hybrid: a task whose V2 atoms still fail after their retries runs again in MVP; the fallback
/// is recorded with its reason and the report splits the tasks by mode.
#[test]
fn hybrid_falls_back_to_mvp_for_tasks_v2_cannot_finish() {
    let plan = crate::common::repo().join("fixtures/plans/shop");
    let dir = tempfile::tempdir().unwrap();
    let output = mge()
        .args([
            "run",
            "--mode",
            "hybrid",
            "--fault-rate",
            "0.15",
            "--seed",
            "3",
        ])
        .args([
            "--max-attempts",
            "1",
            "--time-scale",
            "0",
            "--events",
            "--json",
        ])
        .args(["--database-url", &sqlite_url(dir.path())])
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg(&plan)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = lines.last().unwrap();
    let fallbacks: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|e| e["event"] == "hybrid_fallback")
        .collect();
    assert!(
        !fallbacks.is_empty(),
        "a 15% fault rate with one attempt makes V2 give up somewhere"
    );
    for f in &fallbacks {
        assert_eq!(
            f["details"]["reason"]["code"], "v2_failed_after_retries",
            "{f}"
        );
    }
    assert_eq!(summary["mode"], "hybrid");
    assert_eq!(summary["fallbacks"], fallbacks.len());
    assert_eq!(summary["tasks_mvp"], fallbacks.len());
    assert_eq!(
        summary["tasks_v2"].as_u64().unwrap() + fallbacks.len() as u64,
        8
    );
    // Every fallen-back task was generated subtask by subtask after its fallback.
    for f in &fallbacks {
        let task = f["details"]["task"].as_str().unwrap();
        let after = lines.iter().skip_while(|e| *e != *f).any(|e| {
            e["event"] == "attempt_finished"
                && e["details"]["unit"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{task}/"))
        });
        assert!(after, "task {task} was not run in MVP after its fallback");
    }
}

/// V2 validates every generated attempt at the atomic level and stores one `validation_results`
/// row per attempt: the row passes exactly when the attempt was accepted, a rejected attempt's
/// row holds the violations its feedback listed, and faults of the kinds the atomic level sees
/// (syntax, misspelled and wrongly imported names, arity) are caught there.
#[test]
fn v2_stores_one_atomic_validation_per_attempt() {
    let plan = crate::common::repo().join("fixtures/plans/shop");
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let output = mge()
        .args(["run", "--mode", "v2", "--fault-rate", "0.05", "--seed", "1"])
        .args(["--time-scale", "0", "--events", "--json"])
        .args(["--database-url", &url])
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg(&plan)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let attempts: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|e| e["event"] == "attempt_finished")
        .map(|e| &e["details"])
        .collect();
    let rejected = attempts.iter().filter(|a| a["ok"] == false).count();
    let faulty = attempts
        .iter()
        .filter(|a| a["faults_injected"].as_u64().unwrap() > 0)
        .count();
    assert!(rejected > 0, "a 5% fault rate on shop rejects some attempt");
    assert!(rejected <= faulty, "{rejected} rejected, {faulty} faulty");
    for a in attempts.iter().filter(|a| a["ok"] == false) {
        let error = a["error"].as_str().unwrap();
        assert!(
            error.lines().all(|l| l.splitn(5, ':').count() == 5),
            "feedback is file:line:col: code: message, one per line: {error}"
        );
    }

    let plan_id = serde_json::from_value(lines[0]["plan_id"].clone()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = rt.block_on(async {
        let store = mge_store::open(&url).await.unwrap();
        store.load_validation_results(plan_id).await.unwrap()
    });
    let atomic: Vec<_> = results
        .iter()
        .filter(|r| r.result.level.to_string() == "atomic")
        .collect();
    assert_eq!(atomic.len(), attempts.len(), "one atomic row per attempt");
    assert!(atomic.iter().all(|r| r.result.atom_id.is_some()));
    let failed: Vec<_> = atomic.iter().filter(|r| !r.result.passed).collect();
    assert_eq!(failed.len(), rejected);
    for r in &failed {
        let violations = r.result.violations.as_array().unwrap();
        assert!(!violations.is_empty(), "{:?}", r.result);
        assert!(r.result.score.unwrap() < 1.0);
        assert!(r.result.validator_version.is_some());
    }
    assert!(atomic.iter().filter(|r| r.result.passed).all(|r| r
        .result
        .violations
        .as_array()
        .is_some_and(|v| v.is_empty())));
}
