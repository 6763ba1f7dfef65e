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
