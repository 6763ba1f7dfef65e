//! One conformance suite for every backend: each scenario below runs on a fresh SQLite file
//! and, when `DATABASE_URL` is set, on a fresh Postgres database of its own.

mod additive;
mod review;
mod support;
mod v2;

use expect_test::expect;
use mge_core::{ExecutionMode, TaskStatus};
use mge_store::{ConstraintKind, Outcome, Store, StoreError};
use uuid::Uuid;

use review::{
    review_decisions_record_who_when_and_why, validation_retries_and_reviews_round_trip,
    validation_rounds_and_scores_are_one_transaction,
};
use support::{import, sample_plan};
use v2::{
    a_batch_with_one_bad_row_writes_nothing, a_failed_attempt_write_leaves_nothing_half_written,
    atom_attempts_update_the_atom_and_its_retry_rows, atoms_and_dependencies_round_trip_in_batches,
    dependency_graph_rebuild_is_idempotent, execution_mode_is_persisted_with_its_reason,
};

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::support::TestDb::sqlite().await;
                    crate::$name(db.store()).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = crate::support::TestDb::postgres(stringify!($name)).await else {
                        return;
                    };
                    crate::$name(db.store()).await;
                    db.finish().await;
                }
            )*
        }
    };
}

conformance!(
    migrations_apply_revert_and_report,
    plan_round_trips_through_the_mvp_tables,
    import_is_one_transaction,
    task_and_subtask_status_changes_count_attempts,
    history_is_an_ordered_audit_trail,
    missing_rows_are_not_found,
    atoms_and_dependencies_round_trip_in_batches,
    a_batch_with_one_bad_row_writes_nothing,
    dependency_graph_rebuild_is_idempotent,
    execution_mode_is_persisted_with_its_reason,
    validation_retries_and_reviews_round_trip,
    validation_rounds_and_scores_are_one_transaction,
    review_decisions_record_who_when_and_why,
    atom_attempts_update_the_atom_and_its_retry_rows,
    a_failed_attempt_write_leaves_nothing_half_written,
    mvp_path_works_at_version_0001,
    additive_schema_leaves_mvp_rows_byte_identical,
);

fn render_status(status: &[mge_store::MigrationStatus]) -> String {
    status
        .iter()
        .map(|m| {
            format!(
                "{:04} {} {}\n",
                m.version,
                m.description,
                if m.applied { "applied" } else { "pending" }
            )
        })
        .collect()
}

async fn migrations_apply_revert_and_report(store: &dyn Store) {
    // Later migrations (API, mode control, ...) follow 0002; this checks the first two and
    // that the rest behave the same way.
    let status = store.migration_status().await.unwrap();
    let latest = status.last().unwrap().version;
    expect![[r#"
        0001 mvp baseline pending
        0002 v2 additions pending
    "#]]
    .assert_eq(&render_status(&status[..2]));
    assert!(status.iter().all(|m| !m.applied));
    assert_eq!(store.tables().await.unwrap(), Vec::<String>::new());

    store.migrate_up().await.unwrap();
    store.migrate_up().await.unwrap(); // idempotent
    let status = store.migration_status().await.unwrap();
    assert!(status.iter().all(|m| m.applied), "{status:?}");

    assert_eq!(store.migrate_down().await.unwrap(), Some(latest));
    let status = store.migration_status().await.unwrap();
    assert!(!status.last().unwrap().applied);

    store
        .migrate_to(mge_store::V2_ADDITIONS_VERSION)
        .await
        .unwrap();
    expect![[r#"
        0001 mvp baseline applied
        0002 v2 additions applied
    "#]]
    .assert_eq(&render_status(
        &store.migration_status().await.unwrap()[..2],
    ));
    assert!(store.migration_status().await.unwrap()[2..]
        .iter()
        .all(|m| !m.applied));
    assert_eq!(
        store.migrate_down().await.unwrap(),
        Some(mge_store::V2_ADDITIONS_VERSION)
    );
    expect![[r#"
        0001 mvp baseline applied
        0002 v2 additions pending
    "#]]
    .assert_eq(&render_status(
        &store.migration_status().await.unwrap()[..2],
    ));

    store.migrate_to(0).await.unwrap();
    assert_eq!(store.tables().await.unwrap(), Vec::<String>::new());
    assert_eq!(store.migrate_down().await.unwrap(), None);

    store.migrate_to(2).await.unwrap();
    store.migrate_to(1).await.unwrap();
    assert!(store
        .table_columns("atomic_units")
        .await
        .unwrap()
        .is_empty());
    assert!(!store
        .table_columns("masterplan_tasks")
        .await
        .unwrap()
        .is_empty());

    let err = store.migrate_to(latest + 100).await.unwrap_err();
    assert!(matches!(err, StoreError::Migration { .. }), "{err}");
}

async fn plan_round_trips_through_the_mvp_tables(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let plan = sample_plan(2, 2, 3, 4);
    let (id, stored) = import(store, &plan).await;

    assert_eq!(stored.plan, plan);
    assert_eq!(stored.plan_id, id);
    assert_eq!(stored.owner, "owner-1");
    assert_eq!(stored.status, TaskStatus::Pending);
    assert_eq!(stored.version, 1);
    assert_eq!(stored.phases.len(), 2);
    assert!(stored.phases.iter().all(|p| p.milestone_ids.len() == 2));
    let keys: Vec<&str> = stored.tasks.iter().map(|t| t.key.as_str()).collect();
    let plan_keys: Vec<&str> = plan.tasks().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, plan_keys);
    for (i, task) in stored.tasks.iter().enumerate() {
        assert_eq!(task.number, i as i32 + 1);
        assert_eq!(task.status, TaskStatus::Pending);
        assert_eq!(task.attempts, 0);
        assert_eq!(task.subtasks.len(), 4);
        let numbers: Vec<i32> = task.subtasks.iter().map(|s| s.number).collect();
        assert_eq!(numbers, vec![1, 2, 3, 4]);
    }
    let mut ids: Vec<Uuid> = stored.tasks.iter().map(|t| t.task_id).collect();
    ids.extend(
        stored
            .tasks
            .iter()
            .flat_map(|t| t.subtasks.iter().map(|s| s.subtask_id)),
    );
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "ids are unique");

    // The stored plan serializes to JSON and back unchanged.
    let json = serde_json::to_string(&stored).unwrap();
    let back: mge_store::StoredPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, stored);

    // A second import is a distinct plan.
    let other = store
        .import_plan(&sample_plan(1, 1, 1, 0), "owner-2")
        .await
        .unwrap();
    let list = store.list_plans().await.unwrap();
    assert_eq!(list.len(), 2);
    let first = list.iter().find(|p| p.plan_id == id).unwrap();
    assert_eq!((first.total_tasks, first.total_subtasks), (12, 48));
    let second = list.iter().find(|p| p.plan_id == other).unwrap();
    assert_eq!((second.owner.as_str(), second.total_tasks), ("owner-2", 1));
    assert_eq!(
        store.load_plan(other).await.unwrap().plan,
        sample_plan(1, 1, 1, 0)
    );
}

async fn import_is_one_transaction(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    // Two tasks with the same key: the database refuses the second, and nothing is kept.
    let mut plan = sample_plan(1, 1, 3, 2);
    let duplicate = plan.phases[0].milestones[0].tasks[0].key.clone();
    plan.phases[0].milestones[0].tasks[2].key = duplicate;
    let err = store.import_plan(&plan, "owner").await.unwrap_err();
    assert_eq!(err.constraint_kind(), Some(ConstraintKind::Unique), "{err}");
    assert!(store.list_plans().await.unwrap().is_empty());
    for table in [
        "masterplan_phases",
        "masterplan_tasks",
        "masterplan_history",
    ] {
        let columns = store.table_columns(table).await.unwrap();
        let rows = store
            .table_row_digests(table, &columns, &columns[..1])
            .await
            .unwrap();
        assert!(rows.is_empty(), "{table} holds {} rows", rows.len());
    }
}

async fn task_and_subtask_status_changes_count_attempts(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let (id, stored) = import(store, &sample_plan(1, 1, 2, 2)).await;
    let task = stored.tasks[0].task_id;
    let subtask = stored.tasks[0].subtasks[1].subtask_id;

    assert_eq!(
        store
            .set_task_status(task, TaskStatus::Running, &Outcome::none())
            .await
            .unwrap(),
        1
    );
    let failed = Outcome::error("SyntaxError at 3:7");
    assert_eq!(
        store
            .set_task_status(task, TaskStatus::Failed, &failed)
            .await
            .unwrap(),
        1
    );
    let after_failure = store.load_plan(id).await.unwrap();
    assert_eq!(after_failure.tasks[0].status, TaskStatus::Failed);
    assert_eq!(
        after_failure.tasks[0].error.as_deref(),
        Some("SyntaxError at 3:7")
    );
    assert!(after_failure.tasks[0].completed_at.is_some());

    assert_eq!(
        store
            .set_task_status(task, TaskStatus::Running, &Outcome::none())
            .await
            .unwrap(),
        2
    );
    let done = Outcome::code("def f():\n    return 1\n");
    assert_eq!(
        store
            .set_task_status(task, TaskStatus::Succeeded, &done)
            .await
            .unwrap(),
        2
    );

    assert_eq!(
        store
            .set_subtask_result(subtask, TaskStatus::Running, &Outcome::none(), None)
            .await
            .unwrap(),
        (1, None)
    );
    assert_eq!(
        store
            .set_subtask_result(
                subtask,
                TaskStatus::Succeeded,
                &Outcome::code("x = 1\n"),
                None
            )
            .await
            .unwrap(),
        (1, None)
    );
    store
        .set_plan_status(id, TaskStatus::Running)
        .await
        .unwrap();

    let loaded = store.load_plan(id).await.unwrap();
    assert_eq!(loaded.status, TaskStatus::Running);
    assert!(loaded.started_at.is_some());
    let t = &loaded.tasks[0];
    assert_eq!((t.status, t.attempts), (TaskStatus::Succeeded, 2));
    assert_eq!(t.code.as_deref(), Some("def f():\n    return 1\n"));
    assert_eq!(t.error, None);
    assert!(t.started_at.unwrap() <= t.completed_at.unwrap());
    let s = &t.subtasks[1];
    assert_eq!(
        (s.status, s.attempts, s.code.as_deref()),
        (TaskStatus::Succeeded, 1, Some("x = 1\n"))
    );
    assert_eq!(t.subtasks[0].status, TaskStatus::Pending);
    assert_eq!(loaded.tasks[1].status, TaskStatus::Pending);
    // The plan itself is untouched by status changes.
    assert_eq!(loaded.plan, stored.plan);
}

async fn history_is_an_ordered_audit_trail(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let (id, stored) = import(store, &sample_plan(1, 1, 2, 1)).await;
    let task = stored.tasks[1].task_id;
    let a = store
        .append_history(
            id,
            Some(task),
            "task_started",
            &serde_json::json!({"attempt": 1}),
        )
        .await
        .unwrap();
    let b = store
        .append_history(
            id,
            None,
            "plan_paused",
            &serde_json::json!({"by": "operator"}),
        )
        .await
        .unwrap();
    assert!(b > a);
    let history = store.load_history(id).await.unwrap();
    let events: Vec<(&str, Option<Uuid>)> = history
        .iter()
        .map(|h| (h.event.as_str(), h.task_id))
        .collect();
    assert_eq!(
        events,
        vec![
            ("plan_imported", None),
            ("task_started", Some(task)),
            ("plan_paused", None)
        ]
    );
    assert_eq!(history[0].details["tasks"], 2);
    assert_eq!(history[1].details, serde_json::json!({"attempt": 1}));
    assert!(history
        .windows(2)
        .all(|w| w[0].created_at <= w[1].created_at));

    // A history row for a task that does not exist is refused by the foreign key.
    let err = store
        .append_history(
            id,
            Some(Uuid::new_v4()),
            "task_started",
            &serde_json::json!({}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.constraint_kind(),
        Some(ConstraintKind::ForeignKey),
        "{err}"
    );
}

async fn missing_rows_are_not_found(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let ghost = Uuid::new_v4();
    let err = store.load_plan(ghost).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.to_string(), format!("plan {ghost} not found"));
    let err = store
        .set_task_status(ghost, TaskStatus::Running, &Outcome::none())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), format!("task {ghost} not found"));
    let err = store
        .set_subtask_result(ghost, TaskStatus::Failed, &Outcome::none(), None)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(store
        .set_plan_status(ghost, TaskStatus::Failed)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(store
        .set_execution_mode(ghost, ExecutionMode::V2Atoms, "test")
        .await
        .unwrap_err()
        .is_not_found());
    assert!(store
        .execution_mode(ghost)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(store
        .insert_atoms(ghost, &[])
        .await
        .unwrap_err()
        .is_not_found());
    assert_eq!(store.load_dependency_graph(ghost).await.unwrap(), None);
}

async fn mvp_path_works_at_version_0001(store: &dyn Store) {
    store
        .migrate_to(mge_store::MVP_BASELINE_VERSION)
        .await
        .unwrap();
    let plan = sample_plan(2, 1, 2, 3);
    let (id, stored) = import(store, &plan).await;
    assert_eq!(stored.plan, plan);
    let task = stored.tasks[0].task_id;
    store
        .set_task_status(task, TaskStatus::Running, &Outcome::none())
        .await
        .unwrap();
    store
        .set_subtask_result(
            stored.tasks[0].subtasks[0].subtask_id,
            TaskStatus::Succeeded,
            &Outcome::code("x"),
            None,
        )
        .await
        .unwrap();
    store
        .append_history(id, Some(task), "task_started", &serde_json::json!({}))
        .await
        .unwrap();
    store
        .set_plan_status(id, TaskStatus::Running)
        .await
        .unwrap();
    assert_eq!(store.load_history(id).await.unwrap().len(), 2);
    assert_eq!(store.list_plans().await.unwrap().len(), 1);
    assert_eq!(store.load_plan(id).await.unwrap().tasks[0].attempts, 1);
    // V2 operations need migration 0002.
    assert!(store.load_atoms(id).await.is_err());
}

async fn additive_schema_leaves_mvp_rows_byte_identical(store: &dyn Store) {
    additive::check(store).await;
}

#[test]
fn random_plans_round_trip_on_sqlite() {
    use proptest::prelude::*;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    };
    proptest!(config, |(plan in support::arbitrary_plan())| {
        runtime.block_on(async {
            let store = mge_store::open("sqlite::memory:").await.unwrap();
            store.migrate_up().await.unwrap();
            let (_, stored) = import(store.as_ref(), &plan).await;
            assert_eq!(stored.plan, plan);
            store.close().await;
        });
    });
}
