//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn mge() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mge"));
    cmd.env_remove("DATABASE_URL").env("MGE_LOG", "warn");
    cmd
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_plans() -> Vec<PathBuf> {
    let mut plans: Vec<PathBuf> = std::fs::read_dir(repo().join("fixtures/plans"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("plan.toml").is_file())
        .collect();
    plans.sort();
    plans
}

/// A fresh SQLite URL inside `dir`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("mge.db").display())
}

/// The Postgres URL to test against, when `DATABASE_URL` is set.
pub fn postgres_url() -> Option<String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every file under `dir` (relative path, bytes), sorted, skipping build output and caches.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                if !matches!(name.as_str(), "__pycache__" | "dist" | "node_modules") {
                    walk(root, &path, out);
                }
            } else if !name.ends_with(".pyc") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Runs the plan's test command in `project`; returns whether it passed and its output.
pub fn run_plan_tests(plan_dir: &Path, project: &Path) -> (bool, String) {
    let plan = std::fs::read_to_string(plan_dir.join("plan.toml")).unwrap();
    let line = plan
        .lines()
        .find(|l| l.starts_with("test_command"))
        .expect("fixture has a test_command");
    let command: String = serde_json::from_str(line.split_once('=').unwrap().1.trim())
        .expect("test_command is a basic string");
    let output = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(project)
        .output()
        .unwrap();
    let (out, err) = text(&output);
    (output.status.success(), format!("{out}{err}"))
}
