//! Switch under load: 200 plans start while the rollout goes 0 > 50 > 100 > rollback. Every plan
//! runs entirely in the one mode it was assigned, none is lost or run twice, and the audit trail
//! records every change.

use std::collections::HashSet;
use std::sync::Arc;

use mge_core::ExecutionMode;
use mge_engine::{Engine, ModeControl, RunOptions};
use mge_generate::{SimulatedConfig, SimulatedGenerator};
use mge_rollout::{names, FlagSet, REQUIRED_CAPABILITIES};
use mge_store::{RollbackKind, Store};

use crate::common::sqlite_url;

const REFERENCE: &str = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n";

const PLAN: &str = r#"name = "calc"
description = "A tiny calculator module used to load the mode switch."
reference_dir = "reference"

[[phases]]
name = "Core"
description = "The arithmetic."

[[phases.milestones]]
name = "Operations"
description = "Three binary operations."

[[phases.milestones.tasks]]
key = "ops"
name = "Operations"
description = "calc/ops.py: add, sub and mul of two numbers."
language = "python"
target = "calc/ops.py"

[[phases.milestones.tasks.subtasks]]
name = "add(), sub(), mul()"
lines = [1, 10]
"#;

const PER_STAGE: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_plans_each_run_in_their_one_mode_while_the_rollout_moves() {
    let dir = tempfile::tempdir().unwrap();
    let plan_dir = dir.path().join("plan");
    std::fs::create_dir_all(plan_dir.join("reference/calc")).unwrap();
    std::fs::write(plan_dir.join("reference/calc/ops.py"), REFERENCE).unwrap();
    std::fs::write(plan_dir.join("plan.toml"), PLAN).unwrap();
    let plan = Arc::new(mge_plan::load(&plan_dir).unwrap().plan);

    let store: Arc<dyn Store> = Arc::from(mge_store::open(&sqlite_url(dir.path())).await.unwrap());
    store.migrate_up().await.unwrap();
    let mut defaults = FlagSet::defaults();
    for name in REQUIRED_CAPABILITIES {
        defaults.set(name, "true").unwrap();
    }
    let control = Arc::new(
        ModeControl::open(store.clone(), &defaults, "test")
            .await
            .unwrap(),
    );
    let generator = Arc::new(
        SimulatedGenerator::new(SimulatedConfig {
            seed: 3,
            fault_rate: 0.0,
            time_scale: 0.0,
            ..SimulatedConfig::default()
        })
        .unwrap(),
    );
    let limit = Arc::new(tokio::sync::Semaphore::new(8));
    let mut jobs = tokio::task::JoinSet::new();
    for stage in 0..4 {
        match stage {
            1 => drop(
                control
                    .set_flag(names::V2_ROLLOUT_PERCENT, "50", "ops", "ramp to 50")
                    .await
                    .unwrap(),
            ),
            2 => drop(
                control
                    .set_flag(names::V2_ROLLOUT_PERCENT, "100", "ops", "ramp to 100")
                    .await
                    .unwrap(),
            ),
            3 => drop(
                control
                    .rollback(
                        RollbackKind::Manual,
                        None,
                        false,
                        "load test rollback",
                        "ops",
                    )
                    .await
                    .unwrap(),
            ),
            _ => {}
        }
        for i in 0..PER_STAGE {
            let permit = limit.clone().acquire_owned().await.unwrap();
            // The plan starts now: imported and decided under the current flags; it runs while
            // the next plans start and the flags move on.
            let user = format!("user-{stage}-{i}");
            let id = store.import_plan(&plan, &user).await.unwrap();
            let decided = control.decide(id, Some(&user), None).await.unwrap();
            let (store, generator) = (store.clone(), generator.clone());
            jobs.spawn(async move {
                let engine = Engine::new(store.clone(), generator);
                let summary = engine
                    .start(
                        id,
                        RunOptions {
                            mode: decided.mode,
                            mode_reason: decided.reason,
                            ..RunOptions::default()
                        },
                    )
                    .await
                    .unwrap();
                drop(permit);
                (stage, id, decided.mode, summary)
            });
        }
    }
    let mut results = Vec::new();
    while let Some(done) = jobs.join_next().await {
        results.push(done.unwrap());
    }
    assert_eq!(results.len(), 4 * PER_STAGE);
    let ids: HashSet<_> = results.iter().map(|r| r.1).collect();
    assert_eq!(ids.len(), results.len(), "every plan is its own run");
    assert_eq!(
        store.list_plans().await.unwrap().len(),
        results.len(),
        "none lost"
    );

    let mut per_stage = [[0usize; 2]; 4];
    for (stage, id, mode, summary) in &results {
        assert_eq!(summary.mode, *mode);
        assert_eq!(summary.failed + summary.blocked, 0, "{summary:?}");
        let history = store.load_history(*id).await.unwrap();
        let count = |e: &str| history.iter().filter(|h| h.event == e).count();
        assert_eq!(count("run_started"), 1, "plan {id} ran once");
        assert_eq!(count("run_completed"), 1, "plan {id} completed once");
        assert!(history
            .iter()
            .filter(|h| h.event == "execution_mode_set")
            .all(|h| h.details["mode"] == mode.as_str()));
        let atoms = store.load_atoms(*id).await.unwrap();
        let kinds: HashSet<&str> = history
            .iter()
            .filter(|h| h.event == "unit_succeeded")
            .filter_map(|h| h.details["kind"].as_str())
            .collect();
        match mode {
            ExecutionMode::Mvp => {
                assert!(atoms.is_empty(), "plan {id}: MVP plan has atoms");
                assert_eq!(kinds, HashSet::from(["task"]), "plan {id}");
            }
            _ => {
                assert!(!atoms.is_empty(), "plan {id}: V2 plan has no atoms");
                assert_eq!(kinds, HashSet::from(["atom"]), "plan {id}");
            }
        }
        per_stage[*stage][usize::from(*mode != ExecutionMode::Mvp)] += 1;
    }
    assert_eq!(per_stage[0], [PER_STAGE, 0], "rollout 0");
    assert!(
        per_stage[1][0] > 0 && per_stage[1][1] > 0,
        "rollout 50: {:?}",
        per_stage[1]
    );
    assert_eq!(per_stage[2], [0, PER_STAGE], "rollout 100");
    assert_eq!(per_stage[3], [PER_STAGE, 0], "after the rollback");

    let audit = store.modes().flag_audit(100).await.unwrap();
    let trail: Vec<String> = audit
        .iter()
        .rev()
        .filter(|e| e.old_value.is_some())
        .map(|e| {
            format!(
                "{} {} -> {} ({})",
                e.name,
                e.old_value.as_ref().unwrap(),
                e.new_value,
                e.reason
            )
        })
        .collect();
    assert_eq!(
        trail,
        [
            "V2_ROLLOUT_PERCENT 0 -> 50 (ramp to 50)",
            "V2_ROLLOUT_PERCENT 50 -> 100 (ramp to 100)",
            "ENABLE_V2_ATOMIZATION true -> false (load test rollback)",
            "ENABLE_V2_DEP_GRAPH true -> false (load test rollback)",
            "ENABLE_V2_VALIDATION true -> false (load test rollback)",
            "ENABLE_V2_EXECUTION true -> false (load test rollback)",
            "V2_ROLLOUT_PERCENT 100 -> 0 (load test rollback)",
        ]
    );
    assert_eq!(store.modes().rollback_events(10).await.unwrap().len(), 1);
    store.close().await;
}
