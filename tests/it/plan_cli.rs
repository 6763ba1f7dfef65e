//! `mge plan validate|import|show` and `mge migrate` through the binary.

use crate::common::{mge, repo, sqlite_url, text};

#[test]
fn every_fixture_validates() {
    let output = mge()
        .args(["plan", "validate"])
        .arg(repo().join("fixtures/plans"))
        .output()
        .unwrap();
    let (out, err) = text(&output);
    assert!(output.status.success(), "{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        7,
        "{out}"
    );
}

#[test]
fn malformed_plans_exit_2_naming_the_place() {
    let dir = repo().join("tests/plans/malformed");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let output = mge()
            .args(["plan", "validate"])
            .arg(&path)
            .output()
            .unwrap();
        let (out, err) = text(&output);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}: {out}{err}",
            path.display()
        );
        let first = err.lines().next().unwrap_or_default();
        let prefix = format!("{}:", path.display());
        assert!(first.starts_with(&prefix), "{first}");
        let place: Vec<&str> = first[prefix.len()..].splitn(3, ':').collect();
        assert!(
            place[0].parse::<u32>().is_ok() && place[1].parse::<u32>().is_ok(),
            "{first}"
        );
        assert!(!err.contains("panicked"), "{err}");
        count += 1;
    }
    assert!(count >= 15);
}

#[test]
fn oversized_and_empty_plans_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; 50 * 1024 * 1024]).unwrap();
    let output = mge().args(["plan", "validate"]).arg(&big).output().unwrap();
    let (_, err) = text(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        err.contains("big.toml:1:1: plan file is 52428800 bytes, over the limit"),
        "{err}"
    );
}

#[test]
fn import_show_and_migrate_status() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let plan = repo().join("fixtures/plans/exprcalc");
    let output = mge()
        .args(["plan", "import", "--database-url", &url])
        .arg(&plan)
        .output()
        .unwrap();
    let (out, err) = text(&output);
    assert!(output.status.success(), "{err}");
    let id = out.trim().to_string();
    assert!(id.parse::<uuid::Uuid>().is_ok(), "{out}");

    let output = mge()
        .args(["plan", "show", &id, "--json", "--database-url", &url])
        .output()
        .unwrap();
    let (out, err) = text(&output);
    assert!(output.status.success(), "{err}");
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["plan"]["name"], "exprcalc");
    assert_eq!(shown["tasks"].as_array().unwrap().len(), 6);

    let output = mge()
        .args(["plan", "show", &id, "--database-url", &url])
        .output()
        .unwrap();
    let (out, _) = text(&output);
    assert!(
        out.contains("task parser (python, calc/parser.py) [pending] <- "),
        "{out}"
    );

    let output = mge()
        .args(["migrate", "status", "--database-url", &url])
        .output()
        .unwrap();
    let (out, _) = text(&output);
    assert!(out.contains("0001 applied"), "{out}");
    assert!(out.contains("0002 applied"), "{out}");
    // Revert down to the MVP baseline: the newest migrations first, 0002 last.
    let mut reverted = Vec::new();
    while reverted.last().map(String::as_str) != Some("reverted migration 0002") {
        let output = mge()
            .args(["migrate", "down", "--database-url", &url])
            .output()
            .unwrap();
        reverted.push(text(&output).0.trim().to_string());
        assert!(reverted.len() < 10, "{reverted:?}");
    }
    // The MVP read path still works on the MVP-only schema.
    let output = mge()
        .args([
            "plan",
            "show",
            &id,
            "--json",
            "--database-url",
            &url,
            "--no-migrate",
        ])
        .output()
        .unwrap();
    let (out, err) = text(&output);
    assert!(output.status.success(), "{err}");
    assert!(out.contains("\"exprcalc\""));
}
