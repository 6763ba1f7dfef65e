//! Crash safety: `mge run` killed with SIGKILL at many points and resumed with `--resume`
//! finishes with the same output and the same counts as an uninterrupted run with the same seed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use crate::common::{mge, postgres_url, repo, sqlite_url, text, tree};

const SEED: &str = "11";
const FAULT_RATE: &str = "0.05";
/// Slows the simulated generator just enough for kills to land mid-run.
const TIME_SCALE: &str = "0.002";

struct Finished {
    summary: serde_json::Value,
    files: Vec<(String, Vec<u8>)>,
}

fn base_args(mode: &str, url: &str, out: &Path) -> Vec<String> {
    vec![
        "run".into(),
        "--mode".into(),
        mode.into(),
        "--seed".into(),
        SEED.into(),
        "--fault-rate".into(),
        FAULT_RATE.into(),
        "--time-scale".into(),
        TIME_SCALE.into(),
        "--database-url".into(),
        url.into(),
        "--out".into(),
        out.display().to_string(),
    ]
}

fn finish(stdout: &str, out: &Path) -> Finished {
    let line = stdout.lines().last().expect("a summary line");
    Finished {
        summary: serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")),
        files: tree(out),
    }
}

fn uninterrupted(plan: &Path, mode: &str, url: &str, out: &Path) -> Finished {
    let output = mge()
        .args(base_args(mode, url, out))
        .arg("--json")
        .arg(plan)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.code().is_some(), "{stderr}");
    finish(&stdout, out)
}

/// Starts a run, kills it after `after` persisted events, resumes it to the end.
fn killed_and_resumed(plan: &Path, mode: &str, url: &str, out: &Path, after: usize) -> Finished {
    let mut child = mge()
        .args(base_args(mode, url, out))
        .arg("--events")
        .arg(plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a first event").unwrap();
    let event: serde_json::Value = serde_json::from_str(&first).unwrap();
    let run_id = event["plan_id"].as_str().unwrap().to_string();
    for _ in 1..after {
        if lines.next().is_none() {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let output = mge()
        .args(["run", "--json", "--database-url", url, "--resume", &run_id])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(!stderr.contains("panicked"), "{stderr}");
    finish(&stdout, out)
}

/// The counts a resumed run must share with the uninterrupted one.
fn counts(summary: &serde_json::Value) -> serde_json::Value {
    let keys = [
        "units",
        "succeeded",
        "failed",
        "blocked",
        "attempts",
        "retries",
        "tokens_in",
        "tokens_out",
        "faults_injected",
        "faults_detected",
    ];
    keys.iter()
        .map(|k| (k.to_string(), summary[k].clone()))
        .collect()
}

fn check_backend(url_for: impl Fn(&Path) -> String, points: &[(&str, usize)]) {
    let plan = repo().join("fixtures/plans/shop");
    for mode in ["mvp", "v2"] {
        let dir = tempfile::tempdir().unwrap();
        let baseline = uninterrupted(&plan, mode, &url_for(dir.path()), &dir.path().join("out"));
        for &(_, after) in points.iter().filter(|(m, _)| *m == mode) {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out");
            let resumed = killed_and_resumed(&plan, mode, &url_for(dir.path()), &out, after);
            assert_eq!(
                counts(&resumed.summary),
                counts(&baseline.summary),
                "{mode} killed after {after} events"
            );
            assert!(
                resumed.files == baseline.files,
                "{mode} killed after {after} events: output differs"
            );
        }
    }
}

/// Ten kill points per backend: three in MVP, seven in V2 (which has far more events).
const POINTS: [(&str, usize); 10] = [
    ("mvp", 2),
    ("mvp", 9),
    ("mvp", 17),
    ("v2", 1),
    ("v2", 5),
    ("v2", 40),
    ("v2", 90),
    ("v2", 160),
    ("v2", 250),
    ("v2", 330),
];

#[test]
fn killed_runs_resume_to_the_same_result_on_sqlite() {
    check_backend(sqlite_url, &POINTS);
}

#[test]
fn killed_runs_resume_to_the_same_result_on_postgres() {
    let Some(url) = postgres_url() else {
        eprintln!("DATABASE_URL is not set: the Postgres half of the kill test runs in CI");
        return;
    };
    check_backend(|_| url.clone(), &POINTS);
}
