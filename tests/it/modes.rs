//! Dual-mode control: stored flags through the CLI, manual rollback, and the automatic rollback
//! tripped by injected failures.

use std::sync::Arc;
use std::time::Instant;

use mge_core::ExecutionMode;
use mge_engine::{Engine, ModeControl, ModeWatcher, RunOptions};
use mge_generate::{SimulatedConfig, SimulatedGenerator};
use mge_rollout::{names, FlagSet, REQUIRED_CAPABILITIES};
use mge_store::{RollbackKind, Store};

use crate::common::{mge, repo, sqlite_url, text};

fn mge_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    mge()
        .args(args)
        .args(["--database-url", &sqlite_url(dir)])
        .output()
        .unwrap()
}

fn flags_json(dir: &std::path::Path) -> serde_json::Value {
    let out = mge_in(dir, &["flags", "list", "--json"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    serde_json::from_str(stdout.trim()).unwrap()
}

#[test]
fn flags_are_validated_stored_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let bad = mge_in(
        dir.path(),
        &["flags", "set", "V2_ROLLOUT_PERCENT", "140", "--reason", "x"],
    );
    let (_, stderr) = text(&bad);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("V2_ROLLOUT_PERCENT") && stderr.contains("'140'"),
        "{stderr}"
    );
    let unknown = mge_in(
        dir.path(),
        &["flags", "set", "V2_TELEPORT", "1", "--reason", "x"],
    );
    assert_eq!(unknown.status.code(), Some(2));

    let ok = mge_in(
        dir.path(),
        &[
            "flags",
            "set",
            "V2_ROLLOUT_PERCENT",
            "50",
            "--reason",
            "ramp",
            "--by",
            "alice",
        ],
    );
    assert!(ok.status.success(), "{:?}", text(&ok));
    let flags = flags_json(dir.path());
    assert_eq!(flags["V2_ROLLOUT_PERCENT"], 50);
    for name in REQUIRED_CAPABILITIES {
        assert_eq!(flags[name], true, "{name}: on by default for a local store");
    }
    assert_eq!(flags["ENABLE_V2_REVIEW"], false);

    let history = mge_in(dir.path(), &["flags", "history", "--json"]);
    let audit: serde_json::Value = serde_json::from_str(text(&history).0.trim()).unwrap();
    let newest = &audit[0];
    assert_eq!(newest["name"], "V2_ROLLOUT_PERCENT");
    assert_eq!(newest["old_value"], 0);
    assert_eq!(newest["new_value"], 50);
    assert_eq!(newest["changed_by"], "alice");
    assert_eq!(newest["reason"], "ramp");
    // Every flag got a first-start row before the change.
    assert_eq!(
        audit.as_array().unwrap().len(),
        FlagSet::defaults().iter().count() + 1
    );
}

#[test]
fn rollback_sends_explicit_v2_requests_to_mvp_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let rb = mge_in(
        dir.path(),
        &["rollback", "--reason", "incident 42", "--drain", "--json"],
    );
    let (stdout, stderr) = text(&rb);
    assert!(rb.status.success(), "{stdout}{stderr}");
    let rb: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(rb["rollback"]["kind"], "manual");
    assert_eq!(rb["rollback"]["drain"], true);
    let changed: Vec<&str> = rb["changes"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        changed,
        REQUIRED_CAPABILITIES.to_vec(),
        "rollout was already 0"
    );
    let flags = flags_json(dir.path());
    assert!(REQUIRED_CAPABILITIES.iter().all(|n| flags[n] == false));

    let plan = repo().join("fixtures/plans/kvstore");
    let out = mge()
        .args([
            "run",
            "--mode",
            "v2",
            "--fault-rate",
            "0",
            "--time-scale",
            "0",
        ])
        .args(["--database-url", &sqlite_url(dir.path())])
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg(&plan)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("(kvstore, mvp)"), "{stdout}");
    assert!(
        stderr.contains("v2_atoms requested explicitly")
            && stderr.contains("ENABLE_V2_ATOMIZATION")
            && stderr.contains("running mvp"),
        "{stderr}"
    );
}

async fn open_control(store: Arc<dyn Store>, settings: &[(&str, &str)]) -> ModeControl {
    let mut defaults = FlagSet::defaults();
    for name in REQUIRED_CAPABILITIES {
        defaults.set(name, "true").unwrap();
    }
    for (name, value) in settings {
        defaults.set(name, value).unwrap();
    }
    ModeControl::open(store, &defaults, "test").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_rollback_trips_on_injected_failures_and_new_plans_get_mvp() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::from(mge_store::open(&sqlite_url(dir.path())).await.unwrap());
    store.migrate_up().await.unwrap();
    let control = Arc::new(
        open_control(
            store.clone(),
            &[
                (names::V2_ROLLOUT_PERCENT, "100"),
                (names::V2_AUTO_ROLLBACK_WINDOW, "20"),
                (names::V2_AUTO_ROLLBACK_MIN_SAMPLES, "10"),
            ],
        )
        .await,
    );
    // Another process, its flags cached before the trip.
    let other = open_control(store.clone(), &[]).await;
    assert!(other.flags().await.unwrap().v2_available());

    let loaded = mge_plan::load(&repo().join("fixtures/plans/kvstore")).unwrap();
    let first = store.import_plan(&loaded.plan, "alice").await.unwrap();
    let decided = control.decide(first, Some("alice"), None).await.unwrap();
    assert_eq!(decided.mode, ExecutionMode::V2Atoms, "{}", decided.reason);

    let generator = Arc::new(
        SimulatedGenerator::new(SimulatedConfig {
            seed: 7,
            fault_rate: 1.0,
            time_scale: 0.0,
            ..SimulatedConfig::default()
        })
        .unwrap(),
    );
    let engine = Engine::new(store.clone(), generator);
    let watcher = ModeWatcher::start(control.clone(), &engine.events, engine.stop.clone())
        .await
        .unwrap();
    let summary = engine
        .start(
            first,
            RunOptions {
                mode: decided.mode,
                mode_reason: decided.reason.clone(),
                max_attempts: 1,
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(summary.failed > 0, "{summary:?}");
    // Give the watcher the events still in flight.
    let mut report = watcher.report();
    for _ in 0..100 {
        if report.auto_rollback.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        report = watcher.report();
    }
    let report = watcher.finish().await;
    let event = report.auto_rollback.clone().expect("the window tripped");
    assert!(report.outcomes >= 10, "{report:?}");
    assert_eq!(event.kind, RollbackKind::Automatic);
    assert_eq!(event.created_by, "auto-rollback");
    assert!(event.reason.contains("fail"), "{}", event.reason);
    assert!(event.trigger.is_some());

    // The other process sees the rollback at its next decision.
    let tripped_seen = Instant::now();
    let second = store.import_plan(&loaded.plan, "alice").await.unwrap();
    let next = other.decide(second, Some("alice"), None).await.unwrap();
    assert!(tripped_seen.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(next.mode, ExecutionMode::Mvp, "{}", next.reason);
    // The plan decided before the trip keeps its mode.
    let again = other.decide(first, Some("alice"), None).await.unwrap();
    assert_eq!(again.mode, ExecutionMode::V2Atoms);
    assert!(again.decision.is_none());

    let audit = store.modes().flag_audit(10).await.unwrap();
    assert!(audit
        .iter()
        .filter(|e| e.change_set == event.change_set)
        .all(|e| e.changed_by == "auto-rollback" && e.reason == event.reason));
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.change_set == event.change_set)
            .count(),
        REQUIRED_CAPABILITIES.len() + 1,
        "capabilities off and rollout 100 -> 0"
    );
    store.close().await;
}

#[test]
fn drain_rollback_stops_a_running_v2_plan_at_a_unit_boundary_and_resume_finishes_it() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let plan = repo().join("fixtures/plans/kvstore");
    let mut child = mge()
        .args([
            "run",
            "--mode",
            "v2",
            "--fault-rate",
            "0",
            "--time-scale",
            "0.02",
        ])
        .args(["--max-parallel", "1", "--events", "--json"])
        .args(["--database-url", &url])
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg(&plan)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("\"unit_succeeded\"");
        seen.push(line);
        if done {
            break;
        }
    }
    let rb = mge_in(
        dir.path(),
        &["rollback", "--reason", "drain test", "--drain"],
    );
    assert!(rb.status.success(), "{:?}", text(&rb));
    seen.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    let summary: serde_json::Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    assert_eq!(summary["stopped"], true, "{summary}");
    assert_eq!(status.code(), Some(1));
    let done = summary["succeeded"].as_u64().unwrap();
    assert!(
        done >= 1 && done < summary["units"].as_u64().unwrap(),
        "{summary}"
    );

    let run_id = summary["run_id"].as_str().unwrap();
    let resumed = mge()
        .args(["run", "--resume", run_id, "--json", "--database-url", &url])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&resumed);
    assert!(resumed.status.success(), "{stdout}{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["stopped"], false);
    assert_eq!(summary["mode"], "v2_atoms", "a started plan keeps its mode");
    assert_eq!(summary["failed"], 0);
    assert_eq!(summary["succeeded"], summary["units"]);
}

#[test]
fn overrides_from_the_cli_are_audited_and_decide_new_plans() {
    let dir = tempfile::tempdir().unwrap();
    let plan = repo().join("fixtures/plans/kvstore");
    let imported = mge_in(dir.path(), &["plan", "import", plan.to_str().unwrap()]);
    let (stdout, stderr) = text(&imported);
    assert!(imported.status.success(), "{stdout}{stderr}");
    let plan_id = stdout.trim().to_string();

    let set = mge_in(
        dir.path(),
        &[
            "flags", "override", "--plan", &plan_id, "--mode", "v2", "--reason", "pilot", "--by",
            "ops", "--json",
        ],
    );
    let (stdout, stderr) = text(&set);
    assert!(set.status.success(), "{stdout}{stderr}");
    let changes: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let entry = &changes["entries"][0];
    assert_eq!(entry["name"], format!("override.plan.{plan_id}"));
    assert_eq!(entry["new_value"], "v2_atoms");
    assert_eq!(entry["changed_by"], "ops");

    let missing = mge_in(
        dir.path(),
        &[
            "flags",
            "override",
            "--plan",
            "00000000-0000-4000-8000-000000000000",
            "--mode",
            "v2",
            "--reason",
            "x",
        ],
    );
    let (_, stderr) = text(&missing);
    assert!(!missing.status.success());
    assert!(
        stderr.contains("00000000-0000-4000-8000-000000000000"),
        "{stderr}"
    );
    let neither = mge_in(
        dir.path(),
        &["flags", "override", "--mode", "v2", "--reason", "x"],
    );
    assert_eq!(neither.status.code(), Some(2));

    // A user override decides that user's new plans when no mode is asked for.
    let user = mge_in(
        dir.path(),
        &[
            "flags", "override", "--user", "alice", "--mode", "hybrid", "--reason", "beta",
        ],
    );
    assert!(user.status.success(), "{:?}", text(&user));
    let out = mge()
        .args([
            "run",
            "--mode",
            "auto",
            "--fault-rate",
            "0",
            "--time-scale",
            "0",
        ])
        .args(["--owner", "alice", "--json"])
        .args(["--database-url", &sqlite_url(dir.path())])
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg(&plan)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["mode"], "hybrid", "{stderr}");

    let cleared = mge_in(
        dir.path(),
        &[
            "flags",
            "override",
            "--user",
            "alice",
            "--clear",
            "--reason",
            "end of beta",
        ],
    );
    assert!(cleared.status.success());
    let history = mge_in(dir.path(), &["flags", "history", "--json"]);
    let audit: serde_json::Value = serde_json::from_str(text(&history).0.trim()).unwrap();
    let reasons: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "override.user.alice")
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["end of beta", "beta"]);
}
