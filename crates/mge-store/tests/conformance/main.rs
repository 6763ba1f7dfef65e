//! One conformance suite for every backend: each scenario below runs on a fresh SQLite file
//! and, when `DATABASE_URL` is set, on a fresh Postgres database of its own.

mod additive;
mod review;
mod support;

use expect_test::expect;
use mge_core::{AtomStatus, EdgeKind, ExecutionMode, TaskStatus, ValidationLevel};
use mge_store::{
    AtomAttemptFinish, ConstraintKind, HistoryEvent, NewAtomDependency, NewAtomRetry,
    NewDependencyGraph, NewValidationResult, NewWave, Outcome, Store, StoreError,
};
use uuid::Uuid;

use review::{
    review_decisions_record_who_when_and_why, validation_retries_and_reviews_round_trip,
    validation_rounds_and_scores_are_one_transaction,
};
use support::{import, sample_atoms, sample_dependencies, sample_plan};

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

async fn atoms_and_dependencies_round_trip_in_batches(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let (id, stored) = import(store, &sample_plan(1, 2, 5, 2)).await;
    // 10 tasks x 300 atoms: more than one multi-row INSERT on either backend.
    let atoms = sample_atoms(&stored, 300);
    let deps = sample_dependencies(&atoms, 3);
    store.insert_atoms(id, &atoms).await.unwrap();
    store.insert_atom_dependencies(id, &deps).await.unwrap();

    let loaded = store.load_atoms(id).await.unwrap();
    assert_eq!(loaded.len(), atoms.len());
    let specs: Vec<_> = loaded.iter().map(|a| a.atom.clone()).collect();
    assert_eq!(
        specs, atoms,
        "atoms come back in task, then atom-number order"
    );
    assert!(loaded
        .iter()
        .all(|a| a.status == mge_core::AtomStatus::Pending
            && a.attempts == 0
            && a.wave_number.is_none()
            && !a.needs_human_review));

    // Metrics are folded in batch by batch: a second batch updates count and mean.
    let metrics = store.load_v2_metrics(id).await.unwrap();
    assert_eq!((metrics.total_atoms, metrics.avg_atom_loc), (3000, 10.0));
    let mut longer = sample_atoms(&stored, 1).remove(0);
    longer.id = Uuid::new_v4();
    longer.atom_key = "long".to_string();
    longer.atom_number = 1000;
    longer.end_line = longer.start_line + 3010;
    store.insert_atoms(id, &[longer]).await.unwrap();
    store.record_atomization_time(id, 1.25).await.unwrap();
    let metrics = store.load_v2_metrics(id).await.unwrap();
    assert_eq!(metrics.total_atoms, 3001);
    assert!((metrics.avg_atom_loc - 11.0).abs() < 1e-9, "{metrics:?}");
    assert_eq!(metrics.atomization_time_seconds, Some(1.25));
    assert_eq!(metrics.graph_build_time_seconds, None);
    let loaded_all = store.load_atoms(id).await.unwrap();
    assert_eq!(loaded_all.len(), 3001);

    let mut expected = deps.clone();
    expected.sort_by_key(|d| (d.from_atom, d.to_atom));
    assert_eq!(store.load_atom_dependencies(id).await.unwrap(), expected);

    // Atoms of another plan are not mixed in.
    let (other, _) = import(store, &sample_plan(1, 1, 1, 0)).await;
    assert!(store.load_atoms(other).await.unwrap().is_empty());
    assert!(store
        .load_atom_dependencies(other)
        .await
        .unwrap()
        .is_empty());
}

async fn a_batch_with_one_bad_row_writes_nothing(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let (id, stored) = import(store, &sample_plan(1, 1, 2, 0)).await;
    let atoms = sample_atoms(&stored, 1500);

    // A duplicate atom key in the last row: no atom is written.
    let mut bad_atoms = atoms.clone();
    let last = bad_atoms.len() - 1;
    bad_atoms[last].atom_key = bad_atoms[0].atom_key.clone();
    let err = store.insert_atoms(id, &bad_atoms).await.unwrap_err();
    assert_eq!(err.constraint_kind(), Some(ConstraintKind::Unique), "{err}");
    assert!(store.load_atoms(id).await.unwrap().is_empty());

    store.insert_atoms(id, &atoms).await.unwrap();
    // One edge to a missing atom at the end of a large batch: no edge is written.
    let mut deps = sample_dependencies(&atoms, 2);
    let missing = Uuid::new_v4();
    deps.push(NewAtomDependency {
        from_atom: atoms[0].id,
        to_atom: missing,
        kind: EdgeKind::Import,
        weight: 1.0,
    });
    let err = store.insert_atom_dependencies(id, &deps).await.unwrap_err();
    assert_eq!(
        err.constraint_kind(),
        Some(ConstraintKind::ForeignKey),
        "{err}"
    );
    assert!(err.to_string().contains(&missing.to_string()), "{err}");
    assert!(store.load_atom_dependencies(id).await.unwrap().is_empty());
}

fn waves_of(atoms: &[mge_store::NewAtom], width: usize) -> Vec<NewWave> {
    atoms
        .chunks(width)
        .enumerate()
        .map(|(i, chunk)| NewWave {
            wave_number: i as i32,
            atom_ids: chunk.iter().map(|a| a.id).collect(),
        })
        .collect()
}

fn graph_of(atoms: &[mge_store::NewAtom], deps: &[NewAtomDependency]) -> NewDependencyGraph {
    NewDependencyGraph {
        total_atoms: atoms.len() as i32,
        total_edges: deps.len() as i32,
        max_depth: Some(7),
        parallelizable_atoms: Some(atoms.len() as i32 - 1),
        execution_order: atoms.iter().map(|a| a.id).collect(),
        boundaries: Some(serde_json::json!({"modules": ["pkg"]})),
        graph_json: None,
        build_time_seconds: Some(0.25),
    }
}

async fn dependency_graph_rebuild_is_idempotent(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let (id, stored) = import(store, &sample_plan(1, 1, 3, 0)).await;
    let atoms = sample_atoms(&stored, 20);
    store.insert_atoms(id, &atoms).await.unwrap();
    let deps = sample_dependencies(&atoms, 2);
    let graph = graph_of(&atoms, &deps);
    let waves = waves_of(&atoms, 8);

    store
        .replace_dependency_graph(id, &graph, &deps, &waves)
        .await
        .unwrap();
    let snapshot = |g: mge_store::StoredDependencyGraph| {
        (
            g.total_atoms,
            g.total_edges,
            g.max_depth,
            g.execution_order,
            g.parallel_waves,
            g.boundaries,
        )
    };
    let first_graph = snapshot(store.load_dependency_graph(id).await.unwrap().unwrap());
    let first_deps = store.load_atom_dependencies(id).await.unwrap();
    let first_waves: Vec<_> = store
        .load_waves(id)
        .await
        .unwrap()
        .into_iter()
        .map(|w| (w.wave_number, w.atom_ids, w.total_atoms))
        .collect();

    store
        .replace_dependency_graph(id, &graph, &deps, &waves)
        .await
        .unwrap();
    assert_eq!(
        snapshot(store.load_dependency_graph(id).await.unwrap().unwrap()),
        first_graph
    );
    assert_eq!(store.load_atom_dependencies(id).await.unwrap(), first_deps);
    let second_waves: Vec<_> = store
        .load_waves(id)
        .await
        .unwrap()
        .into_iter()
        .map(|w| (w.wave_number, w.atom_ids, w.total_atoms))
        .collect();
    assert_eq!(second_waves, first_waves);
    assert_eq!(first_waves.len(), 8);
    assert_eq!(
        first_graph.4,
        waves.iter().map(|w| w.atom_ids.clone()).collect::<Vec<_>>()
    );
    let atom_waves: Vec<Option<i32>> = store
        .load_atoms(id)
        .await
        .unwrap()
        .iter()
        .map(|a| a.wave_number)
        .collect();
    assert_eq!(atom_waves, (0..60).map(|i| Some(i / 8)).collect::<Vec<_>>());

    // A different graph replaces the old one entirely.
    let fewer = sample_dependencies(&atoms, 1);
    let wide = waves_of(&atoms, 30);
    store
        .replace_dependency_graph(id, &graph_of(&atoms, &fewer), &fewer, &wide)
        .await
        .unwrap();
    assert_eq!(
        store.load_atom_dependencies(id).await.unwrap().len(),
        fewer.len()
    );
    assert_eq!(store.load_waves(id).await.unwrap().len(), 2);

    // A wave naming an unknown atom fails and leaves the previous graph in place.
    let mut broken = wide.clone();
    broken[1].atom_ids.push(Uuid::new_v4());
    let err = store
        .replace_dependency_graph(id, &graph, &deps, &broken)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(
        store.load_atom_dependencies(id).await.unwrap().len(),
        fewer.len()
    );
    assert_eq!(store.load_waves(id).await.unwrap().len(), 2);
}

async fn execution_mode_is_persisted_with_its_reason(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let (id, _) = import(store, &sample_plan(1, 1, 1, 0)).await;
    assert_eq!(store.execution_mode(id).await.unwrap(), ExecutionMode::Mvp);
    let history_id = store
        .set_execution_mode(id, ExecutionMode::V2Atoms, "rollout bucket 12 < 25%")
        .await
        .unwrap();
    assert_eq!(
        store.execution_mode(id).await.unwrap(),
        ExecutionMode::V2Atoms
    );
    let last = store.load_history(id).await.unwrap().pop().unwrap();
    assert_eq!(last.history_id, history_id);
    assert_eq!(last.event, "execution_mode_set");
    assert_eq!(
        last.details,
        serde_json::json!({"mode": "v2_atoms", "reason": "rollout bucket 12 < 25%"})
    );
    let digests = store
        .table_row_digests(
            "masterplan_history",
            &["execution_mode".to_string()],
            &["history_id".to_string()],
        )
        .await
        .unwrap();
    let expected_last = store
        .table_row_digests(
            "masterplans",
            &["execution_mode".to_string()],
            &["masterplan_id".to_string()],
        )
        .await
        .unwrap();
    assert_eq!(
        digests.last(),
        expected_last.last(),
        "history row carries the mode"
    );
}

async fn atom_attempts_update_the_atom_and_its_retry_rows(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let (id, stored) = import(store, &sample_plan(1, 1, 1, 0)).await;
    let atoms = sample_atoms(&stored, 2);
    store.insert_atoms(id, &atoms).await.unwrap();
    let atom = atoms[1].id;
    let start = |n| NewAtomRetry {
        atom_id: atom,
        attempt_number: n,
        error_message: None,
        error_type: Some("running".to_string()),
        validation_errors: None,
        feedback_prompt: (n > 1).then(|| "fix it".to_string()),
        temperature: Some(0.2 * f64::from(n)),
    };
    let finish = |n, status, error: Option<&str>| AtomAttemptFinish {
        atom_id: atom,
        attempt_number: n,
        status,
        code: Some(format!("def f():\n    return {n}\n")),
        error_message: error.map(str::to_string),
        error_type: if error.is_some() { "syntax" } else { "ok" }.to_string(),
        validation_errors: error.map(|e| serde_json::json!([e])),
        llm_model: Some("sim-1".to_string()),
        tokens_in: Some(100),
        tokens_out: Some(20),
        cost_usd: Some(0.5),
    };

    store.start_atom_attempt(&start(1), &[]).await.unwrap();
    let running = store.load_atoms(id).await.unwrap().remove(1);
    assert_eq!((running.status, running.attempts), (AtomStatus::Running, 1));
    assert!(running.started_at.is_some() && running.completed_at.is_none());
    store
        .finish_atom_attempt(
            &finish(1, AtomStatus::Running, Some("bad indent at 2:1")),
            None,
            &[],
        )
        .await
        .unwrap();
    let err = store.start_atom_attempt(&start(1), &[]).await.unwrap_err();
    assert_eq!(err.constraint_kind(), Some(ConstraintKind::Unique), "{err}");
    let event = |name: &str| HistoryEvent {
        plan: id,
        task: None,
        event: name.to_string(),
        details: serde_json::json!({ "attempt": 2 }),
    };
    let (_, started) = store
        .start_atom_attempt(&start(2), &[event("unit_started")])
        .await
        .unwrap();
    let validation = NewValidationResult {
        atom_id: Some(atom),
        level: ValidationLevel::Atomic,
        passed: true,
        score: Some(1.0),
        violations: serde_json::json!([]),
        warnings: serde_json::json!([]),
        duration_seconds: Some(0.001),
        validator_version: Some("test".to_string()),
    };
    let finished = store
        .finish_atom_attempt(
            &finish(2, AtomStatus::Succeeded, None),
            Some(&validation),
            &[event("attempt_finished"), event("unit_succeeded")],
        )
        .await
        .unwrap();
    // The events and the validation row commit with the attempt, in order.
    assert_eq!(started.len(), 1);
    assert_eq!(finished.len(), 2);
    assert!(started[0] < finished[0] && finished[0] < finished[1]);
    let history = store.load_history(id).await.unwrap();
    let names: Vec<&str> = history
        .iter()
        .rev()
        .take(3)
        .map(|h| h.event.as_str())
        .collect();
    assert_eq!(
        names,
        ["unit_succeeded", "attempt_finished", "unit_started"]
    );
    let results = store.load_validation_results(id).await.unwrap();
    assert!(results.iter().any(|r| r.result == validation));

    let done = store.load_atoms(id).await.unwrap().remove(1);
    assert_eq!((done.status, done.attempts), (AtomStatus::Succeeded, 2));
    assert_eq!(done.atom.code.as_deref(), Some("def f():\n    return 2\n"));
    assert_eq!(done.last_error, None);
    assert_eq!(done.validation_passed, Some(true));
    assert_eq!(done.llm_model.as_deref(), Some("sim-1"));
    assert_eq!(
        (done.llm_tokens_input, done.llm_tokens_output),
        (Some(200), Some(40))
    );
    assert_eq!(done.llm_cost_usd, Some(1.0));
    assert!(done.completed_at.is_some());
    let retries: Vec<_> = store
        .load_atom_retries(atom)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.retry.attempt_number,
                r.retry.error_type,
                r.retry.error_message,
            )
        })
        .collect();
    assert_eq!(
        retries,
        vec![
            (
                1,
                Some("syntax".to_string()),
                Some("bad indent at 2:1".to_string())
            ),
            (2, Some("ok".to_string()), None),
        ]
    );

    store
        .set_atom_status(atoms[0].id, AtomStatus::Blocked, Some("provider failed"))
        .await
        .unwrap();
    let blocked = store.load_atoms(id).await.unwrap().remove(0);
    assert_eq!(blocked.status, AtomStatus::Blocked);
    assert_eq!(blocked.last_error.as_deref(), Some("provider failed"));
    let ghost = Uuid::new_v4();
    assert!(store
        .set_atom_status(ghost, AtomStatus::Failed, None)
        .await
        .unwrap_err()
        .is_not_found());
    let err = store
        .finish_atom_attempt(&finish(9, AtomStatus::Failed, None), None, &[])
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
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
