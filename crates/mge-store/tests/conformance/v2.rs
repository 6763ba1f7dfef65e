//! V2 tables: atoms and dependencies in batches, the dependency graph and its waves, the
//! execution mode, and atom attempts with their retry rows.

use mge_core::{AtomStatus, EdgeKind, ExecutionMode, ValidationLevel};
use mge_store::{
    AtomAttemptFinish, ConstraintKind, HistoryEvent, NewAtomDependency, NewAtomRetry,
    NewDependencyGraph, NewValidationResult, NewWave, Store,
};
use uuid::Uuid;

use crate::support::{import, sample_atoms, sample_dependencies, sample_plan};

pub async fn atoms_and_dependencies_round_trip_in_batches(store: &dyn Store) {
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

pub async fn a_batch_with_one_bad_row_writes_nothing(store: &dyn Store) {
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

pub async fn dependency_graph_rebuild_is_idempotent(store: &dyn Store) {
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

pub async fn execution_mode_is_persisted_with_its_reason(store: &dyn Store) {
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

pub async fn atom_attempts_update_the_atom_and_its_retry_rows(store: &dyn Store) {
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

/// A failing statement inside an attempt's transaction leaves nothing of it behind, and the
/// store goes on working on the same connection afterwards.
pub async fn a_failed_attempt_write_leaves_nothing_half_written(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let (id, stored) = import(store, &sample_plan(1, 1, 1, 0)).await;
    let atoms = sample_atoms(&stored, 1);
    store.insert_atoms(id, &atoms).await.unwrap();
    let atom = atoms[0].id;
    let retry = NewAtomRetry {
        atom_id: atom,
        attempt_number: 1,
        error_message: None,
        error_type: Some("running".to_string()),
        validation_errors: None,
        feedback_prompt: None,
        temperature: Some(0.0),
    };
    // The history row names a plan that does not exist: its foreign key fails after the atom
    // update and the attempt row went in.
    let orphan = HistoryEvent {
        plan: Uuid::new_v4(),
        task: None,
        event: "unit_started".to_string(),
        details: serde_json::json!({}),
    };
    let err = store
        .start_atom_attempt(&retry, &[orphan])
        .await
        .unwrap_err();
    assert_eq!(
        err.constraint_kind(),
        Some(ConstraintKind::ForeignKey),
        "{err}"
    );
    let after = store.load_atoms(id).await.unwrap().remove(0);
    assert_eq!((after.status, after.attempts), (AtomStatus::Pending, 0));
    assert!(after.started_at.is_none());
    assert!(store.load_atom_retries(atom).await.unwrap().is_empty());

    let missing = NewAtomRetry {
        atom_id: Uuid::new_v4(),
        ..retry.clone()
    };
    let err = store.start_atom_attempt(&missing, &[]).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        err.to_string().contains(&missing.atom_id.to_string()),
        "{err}"
    );

    // The same attempt goes through once its history is valid, on the same connection.
    let event = HistoryEvent {
        plan: id,
        task: None,
        event: "unit_started".to_string(),
        details: serde_json::json!({"unit": "a"}),
    };
    let (_, seqs) = store.start_atom_attempt(&retry, &[event]).await.unwrap();
    assert_eq!(seqs.len(), 1);
    let history = store.load_history(id).await.unwrap();
    assert_eq!(history.last().map(|h| h.history_id), seqs.first().copied());
    let running = store.load_atoms(id).await.unwrap().remove(0);
    assert_eq!((running.status, running.attempts), (AtomStatus::Running, 1));
}
