//! End-to-end: `mge ab` on two fixture plans, MVP against V2, two seeded runs at two fault rates.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/plans")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn ab_writes_the_three_reports_with_paired_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_mge"))
        .args(["ab", &fixture("shop"), &fixture("kvstore")])
        .args(["--modes", "mvp,v2_atoms", "--runs", "2", "--seed", "7"])
        .args(["--fault-rate", "0,0.05", "--json", "--report"])
        .arg(&report_dir)
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "mge ab failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in ["report.md", "report.json", "chart.svg"] {
        assert!(report_dir.join(name).is_file(), "{name} is missing");
    }
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(printed, written);

    // Top-level shape.
    let keys: Vec<&str> = written
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "comparisons",
            "config",
            "notes",
            "plans",
            "runs",
            "summaries",
            "wall_seconds"
        ]
    );
    assert_eq!(
        written["config"]["modes"],
        serde_json::json!(["mvp", "v2_atoms"])
    );
    assert_eq!(
        written["config"]["fault_rates"],
        serde_json::json!([0.0, 0.05])
    );
    let plans = written["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 2);
    let totals: BTreeMap<&str, u64> = plans
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["tests_total"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(totals.values().all(|&n| n > 0), "{totals:?}");

    // Every plan x mode x fault rate x run, seeds 7 and 8 in both modes.
    let runs = written["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2 * 2 * 2 * 2);
    let mut seeds: BTreeMap<(String, String, usize), Vec<u64>> = BTreeMap::new();
    for r in runs {
        assert!(r.get("error").is_none(), "run failed: {r}");
        let plan = r["plan"].as_str().unwrap();
        assert_eq!(r["tests_total"].as_u64(), Some(totals[plan]));
        let precision = r["precision"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&precision));
        assert!(r["units"].as_u64().unwrap() > 0);
        assert!(r["tokens"].as_u64().unwrap() > 0);
        if r["fault_rate"].as_f64() == Some(0.0) {
            // No fault injected: the generated project is the reference and passes.
            assert_eq!(precision, 1.0, "{r}");
            assert_eq!(r["fully_passing"], Value::Bool(true));
        }
        seeds
            .entry((
                plan.to_string(),
                r["fault_rate"].to_string(),
                r["run"].as_u64().unwrap() as usize,
            ))
            .or_default()
            .push(r["seed"].as_u64().unwrap());
    }
    assert_eq!(seeds.len(), 2 * 2 * 2);
    for ((_, _, run), s) in &seeds {
        assert_eq!(
            s,
            &vec![7 + *run as u64; 2],
            "both modes ran with the same seed"
        );
    }

    // Per plan and overall summaries for each mode and rate; paired comparisons v2 - mvp.
    let summaries = written["summaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 2 * (2 + 1) * 2);
    for s in summaries {
        assert_eq!(s["runs"].as_u64(), Some(2));
        let m = s["metrics"].as_object().unwrap();
        for key in [
            "precision",
            "fully_passing",
            "wall_seconds",
            "llm_seconds",
            "tokens",
            "cost_usd",
            "units",
            "mean_unit_loc",
            "max_concurrency",
            "retries",
            "review_rate",
            "fallbacks",
        ] {
            assert_eq!(m[key]["n"].as_u64(), Some(2), "{key}");
        }
    }
    let comparisons = written["comparisons"].as_array().unwrap();
    assert_eq!(comparisons.len(), 2 * (2 + 1) * 12);
    for c in comparisons {
        assert_eq!(
            (c["a"].as_str(), c["b"].as_str()),
            (Some("v2_atoms"), Some("mvp"))
        );
        assert_eq!(c["test"].as_str(), Some("paired"));
        assert_eq!(c["n"].as_u64(), Some(2));
        assert!(c.get("p_value").is_some() && c.get("ci_low").is_some());
    }
    // V2 atoms are far smaller than MVP tasks, in every run.
    let unit_loc = comparisons
        .iter()
        .find(|c| c["metric"] == "mean_unit_loc" && c["plan"].is_null())
        .unwrap();
    assert!(unit_loc["diff"].as_f64().unwrap() < 0.0);

    let md = std::fs::read_to_string(report_dir.join("report.md")).unwrap();
    assert!(md.contains("## Fault rate 0.05"), "{md}");
    assert!(md.contains("| v2_atoms − mvp |"), "{md}");
    let svg = std::fs::read_to_string(report_dir.join("chart.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.contains("v2_atoms") && svg.contains("mvp"));
}
