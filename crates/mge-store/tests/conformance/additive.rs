//! The additive-schema check: applying and reverting migration 0002 leaves every MVP row
//! byte-identical, the MVP read path works throughout, and reverting removes every V2 table,
//! column and index.

use std::collections::BTreeMap;

use expect_test::expect;
use mge_core::{ExecutionMode, TaskStatus, ValidationLevel};
use mge_store::{
    NewAtomRetry, NewDependencyGraph, NewReview, NewValidationResult, NewWave, Outcome, Store,
};
use sha2::{Digest, Sha256};

use crate::support::{import, sample_atoms, sample_dependencies, sample_plan};

/// Every MVP table with its primary key.
const MVP_TABLES: [(&str, &str); 8] = [
    ("discovery_documents", "discovery_id"),
    ("masterplans", "masterplan_id"),
    ("masterplan_phases", "phase_id"),
    ("masterplan_milestones", "milestone_id"),
    ("masterplan_tasks", "task_id"),
    ("masterplan_subtasks", "subtask_id"),
    ("masterplan_versions", "version_id"),
    ("masterplan_history", "history_id"),
];

struct Catalog {
    tables: Vec<String>,
    columns: BTreeMap<String, Vec<String>>,
    indexes: Vec<String>,
}

async fn catalog(store: &dyn Store) -> Catalog {
    let tables = store.tables().await.unwrap();
    let mut columns = BTreeMap::new();
    for table in &tables {
        columns.insert(table.clone(), store.table_columns(table).await.unwrap());
    }
    Catalog {
        tables,
        columns,
        indexes: store.indexes().await.unwrap(),
    }
}

/// Per MVP table: the row digests over the columns of migration 0001, ordered by primary key.
async fn mvp_rows(store: &dyn Store, baseline: &Catalog) -> BTreeMap<&'static str, Vec<String>> {
    let mut rows = BTreeMap::new();
    for (table, pk) in MVP_TABLES {
        let columns = &baseline.columns[table];
        let digests = store
            .table_row_digests(table, columns, &[pk.to_string()])
            .await
            .unwrap();
        rows.insert(table, digests);
    }
    rows
}

/// One SHA-256 per table over its row digests.
fn checksums(rows: &BTreeMap<&'static str, Vec<String>>) -> BTreeMap<&'static str, String> {
    rows.iter()
        .map(|(table, digests)| {
            let mut h = Sha256::new();
            for d in digests {
                h.update(d.as_bytes());
                h.update(b"\n");
            }
            let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            (*table, hex)
        })
        .collect()
}

fn diff(before: &[String], after: &[String]) -> Vec<String> {
    after
        .iter()
        .filter(|x| !before.contains(x))
        .cloned()
        .collect()
}

pub async fn check(store: &dyn Store) {
    // 1. The MVP baseline, with a full plan, statuses, results and history.
    store
        .migrate_to(mge_store::MVP_BASELINE_VERSION)
        .await
        .unwrap();
    let (id, stored) = import(store, &sample_plan(2, 2, 3, 3)).await;
    let task = stored.tasks[2].task_id;
    store
        .set_task_status(task, TaskStatus::Running, &Outcome::none())
        .await
        .unwrap();
    store
        .set_task_status(task, TaskStatus::Failed, &Outcome::error("boom at 1:1"))
        .await
        .unwrap();
    store
        .set_subtask_result(
            stored.tasks[0].subtasks[0].subtask_id,
            TaskStatus::Succeeded,
            &Outcome::code("import os\n"),
            None,
        )
        .await
        .unwrap();
    store
        .append_history(
            id,
            Some(task),
            "task_failed",
            &serde_json::json!({"error": "boom"}),
        )
        .await
        .unwrap();
    store
        .set_plan_status(id, TaskStatus::Running)
        .await
        .unwrap();
    let plan_at_0001 = store.load_plan(id).await.unwrap();
    let history_at_0001 = store.load_history(id).await.unwrap();

    let baseline = catalog(store).await;
    let rows_0001 = mvp_rows(store, &baseline).await;
    let sums_0001 = checksums(&rows_0001);
    assert!(
        rows_0001["masterplan_subtasks"].len() == 36 && rows_0001["masterplan_history"].len() == 2
    );

    // 2. Apply 0002: MVP rows unchanged, only additions in the catalog.
    store
        .migrate_to(mge_store::V2_ADDITIONS_VERSION)
        .await
        .unwrap();
    assert_eq!(checksums(&mvp_rows(store, &baseline).await), sums_0001);
    let v2 = catalog(store).await;
    let mut added = format!(
        "tables: {}\n",
        diff(&baseline.tables, &v2.tables).join(", ")
    );
    for table in &baseline.tables {
        let new_columns = diff(&baseline.columns[table], &v2.columns[table]);
        assert!(
            v2.columns[table].starts_with(&baseline.columns[table]),
            "0002 altered the existing columns of {table}"
        );
        if !new_columns.is_empty() {
            added += &format!("{table}: {}\n", new_columns.join(", "));
        }
    }
    let new_indexes: Vec<String> = diff(&baseline.indexes, &v2.indexes)
        .into_iter()
        .filter(|i| i.starts_with("idx_"))
        .collect();
    added += &format!("indexes: {}\n", new_indexes.join(", "));
    expect![[r#"
        tables: atom_dependencies, atom_retry_history, atomic_units, dependency_graphs, execution_waves, human_review_queue, validation_results
        masterplan_history: execution_mode
        masterplans: execution_mode, v2_total_atoms, v2_avg_atom_loc, v2_atomization_time_seconds, v2_graph_build_time_seconds
        indexes: idx_atom_parent, idx_atom_plan, idx_atom_review, idx_atom_status, idx_atom_task, idx_dep_from, idx_dep_plan, idx_dep_to, idx_graph_plan, idx_masterplan_mode, idx_retry_atom, idx_review_confidence, idx_review_plan, idx_review_status, idx_validation_atom, idx_validation_level, idx_validation_plan, idx_wave_plan
    "#]]
    .assert_eq(&added);
    assert_eq!(store.load_plan(id).await.unwrap(), plan_at_0001);
    assert_eq!(store.load_history(id).await.unwrap(), history_at_0001);

    // 3. V2 writes: atoms, edges, graph and waves, validation, retries, review, mode.
    let atoms = sample_atoms(&plan_at_0001, 4);
    let deps = sample_dependencies(&atoms, 2);
    store.insert_atoms(id, &atoms).await.unwrap();
    store.insert_atom_dependencies(id, &deps).await.unwrap();
    let waves: Vec<NewWave> = atoms
        .chunks(10)
        .enumerate()
        .map(|(i, c)| NewWave {
            wave_number: i as i32,
            atom_ids: c.iter().map(|a| a.id).collect(),
        })
        .collect();
    let graph = NewDependencyGraph {
        total_atoms: atoms.len() as i32,
        total_edges: deps.len() as i32,
        max_depth: Some(waves.len() as i32),
        parallelizable_atoms: Some(40),
        execution_order: atoms.iter().map(|a| a.id).collect(),
        boundaries: None,
        graph_json: Some(serde_json::json!({"nodes": atoms.len()})),
        build_time_seconds: Some(0.5),
    };
    store
        .replace_dependency_graph(id, &graph, &deps, &waves)
        .await
        .unwrap();
    store
        .insert_validation_results(
            id,
            &[NewValidationResult {
                atom_id: Some(atoms[0].id),
                level: ValidationLevel::Atomic,
                passed: true,
                score: Some(1.0),
                violations: serde_json::json!([]),
                warnings: serde_json::json!([]),
                duration_seconds: Some(0.01),
                validator_version: Some("1".to_string()),
            }],
        )
        .await
        .unwrap();
    store
        .record_atom_retry(&NewAtomRetry {
            atom_id: atoms[1].id,
            attempt_number: 1,
            error_message: Some("bad".to_string()),
            error_type: None,
            validation_errors: None,
            feedback_prompt: None,
            temperature: Some(0.7),
        })
        .await
        .unwrap();
    store
        .enqueue_review(
            id,
            &NewReview {
                atom_id: atoms[2].id,
                confidence_score: 0.6,
                reasons: serde_json::json!([]),
            },
        )
        .await
        .unwrap();
    // The one MVP-table row V2 writes: the mode change's history row, accounted for below.
    store
        .set_execution_mode(id, ExecutionMode::V2Atoms, "additive schema test")
        .await
        .unwrap();

    let rows_v2 = mvp_rows(store, &baseline).await;
    let mut expected = rows_0001.clone();
    let mode_row = rows_v2["masterplan_history"].last().cloned().unwrap();
    expected
        .get_mut("masterplan_history")
        .unwrap()
        .push(mode_row);
    assert_eq!(checksums(&rows_v2), checksums(&expected));
    assert_eq!(store.load_plan(id).await.unwrap(), plan_at_0001);

    // 4. Revert 0002: MVP rows still identical, every V2 table, column and index gone.
    assert_eq!(
        store.migrate_down().await.unwrap(),
        Some(mge_store::V2_ADDITIONS_VERSION)
    );
    let rows_reverted = mvp_rows(store, &baseline).await;
    assert_eq!(checksums(&rows_reverted), checksums(&expected));
    assert_eq!(
        rows_reverted["masterplan_history"][..rows_0001["masterplan_history"].len()],
        rows_0001["masterplan_history"][..]
    );
    let after = catalog(store).await;
    assert_eq!(after.tables, baseline.tables);
    assert_eq!(after.columns, baseline.columns);
    assert_eq!(after.indexes, baseline.indexes);

    assert_eq!(store.load_plan(id).await.unwrap(), plan_at_0001);
    let history = store.load_history(id).await.unwrap();
    assert_eq!(history[..history_at_0001.len()], history_at_0001[..]);
    assert_eq!(history.len(), history_at_0001.len() + 1);
    assert_eq!(history.last().unwrap().event, "execution_mode_set");
    assert_eq!(history.last().unwrap().details["mode"], "v2_atoms");

    // 5. Re-applying 0002 works on the reverted database.
    store
        .migrate_to(mge_store::V2_ADDITIONS_VERSION)
        .await
        .unwrap();
    assert_eq!(store.execution_mode(id).await.unwrap(), ExecutionMode::Mvp);
    assert!(store.load_atoms(id).await.unwrap().is_empty());
}
