//! Validation results, retries, confidence scores and the human review queue: queueing,
//! claiming and deciding reviews (who, when, why), each decision one transaction.

use mge_core::{AtomStatus, ReviewStatus, ValidationLevel};
use mge_store::{
    ConstraintKind, HistoryEvent, NewAtomRetry, NewReview, NewReviewDecision, NewValidationResult,
    Store, StoreError,
};

use crate::support::{import, sample_atoms, sample_plan};

pub async fn validation_retries_and_reviews_round_trip(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let (id, stored) = import(store, &sample_plan(1, 1, 1, 0)).await;
    let atoms = sample_atoms(&stored, 3);
    store.insert_atoms(id, &atoms).await.unwrap();

    let results = vec![
        NewValidationResult {
            atom_id: Some(atoms[0].id),
            level: ValidationLevel::Atomic,
            passed: false,
            score: Some(0.4),
            violations: serde_json::json!([{"rule": "syntax", "at": "2:5"}]),
            warnings: serde_json::json!([]),
            duration_seconds: Some(0.002),
            validator_version: Some("1".to_string()),
        },
        NewValidationResult {
            atom_id: None,
            level: ValidationLevel::Module,
            passed: true,
            score: None,
            violations: serde_json::json!([]),
            warnings: serde_json::json!(["unused import os"]),
            duration_seconds: None,
            validator_version: None,
        },
    ];
    store.insert_validation_results(id, &results).await.unwrap();
    let mut loaded: Vec<_> = store
        .load_validation_results(id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.result)
        .collect();
    loaded.sort_by_key(|r| r.level.as_str());
    assert_eq!(loaded, results);

    let retry = |attempt| NewAtomRetry {
        atom_id: atoms[0].id,
        attempt_number: attempt,
        error_message: Some(format!("attempt {attempt} failed")),
        error_type: Some("syntax".to_string()),
        validation_errors: Some(serde_json::json!(["E999"])),
        feedback_prompt: Some("fix the indentation".to_string()),
        temperature: Some(0.3),
    };
    store.record_atom_retry(&retry(1)).await.unwrap();
    store.record_atom_retry(&retry(2)).await.unwrap();
    let err = store.record_atom_retry(&retry(2)).await.unwrap_err();
    assert_eq!(err.constraint_kind(), Some(ConstraintKind::Unique), "{err}");
    let retries: Vec<_> = store
        .load_atom_retries(atoms[0].id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.retry)
        .collect();
    assert_eq!(retries, vec![retry(1), retry(2)]);

    for (atom, confidence) in [(&atoms[1], 0.7), (&atoms[2], 0.55)] {
        store
            .enqueue_review(
                id,
                &NewReview {
                    atom_id: atom.id,
                    confidence_score: confidence,
                    reasons: serde_json::json!(["low confidence"]),
                },
            )
            .await
            .unwrap();
    }
    let queue = store.load_review_queue(id).await.unwrap();
    let order: Vec<_> = queue.iter().map(|r| (r.atom_id, r.status)).collect();
    assert_eq!(
        order,
        vec![
            (atoms[2].id, ReviewStatus::Pending),
            (atoms[1].id, ReviewStatus::Pending)
        ]
    );
    let flagged: Vec<_> = store
        .load_atoms(id)
        .await
        .unwrap()
        .iter()
        .map(|a| (a.needs_human_review, a.confidence_score))
        .collect();
    assert_eq!(
        flagged,
        vec![(false, None), (true, Some(0.7)), (true, Some(0.55))]
    );
    let err = store
        .enqueue_review(
            id,
            &NewReview {
                atom_id: atoms[1].id,
                confidence_score: 0.1,
                reasons: serde_json::json!([]),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.constraint_kind(), Some(ConstraintKind::Unique), "{err}");
}

fn result(level: ValidationLevel, passed: bool) -> NewValidationResult {
    NewValidationResult {
        atom_id: None,
        level,
        passed,
        score: Some(if passed { 1.0 } else { 0.5 }),
        violations: serde_json::json!([]),
        warnings: serde_json::json!([]),
        duration_seconds: Some(0.1),
        validator_version: Some("v".to_string()),
    }
}

pub async fn validation_rounds_and_scores_are_one_transaction(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let (id, stored) = import(store, &sample_plan(1, 1, 1, 0)).await;
    let atoms = sample_atoms(&stored, 3);
    store.insert_atoms(id, &atoms).await.unwrap();
    let event = |plan, name: &str| HistoryEvent {
        plan,
        task: None,
        event: name.to_string(),
        details: serde_json::json!({"round": 1}),
    };

    let results = [
        result(ValidationLevel::Module, true),
        result(ValidationLevel::System, false),
    ];
    let seqs = store
        .record_validation_round(
            id,
            &results,
            &[(atoms[1].id, "restored = 1\n".to_string())],
            &[event(id, "validation_round")],
        )
        .await
        .unwrap();
    assert_eq!(seqs.len(), 1);
    let restored = store.load_atoms(id).await.unwrap();
    assert_eq!(restored[1].atom.code.as_deref(), Some("restored = 1\n"));
    assert_eq!(store.load_validation_results(id).await.unwrap().len(), 2);
    let history = store.load_history(id).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.history_id),
        ("validation_round", seqs[0])
    );

    // A history row for a plan that does not exist: the round's results are not written.
    let missing = uuid::Uuid::new_v4();
    store
        .record_validation_round(
            id,
            &results,
            &[(atoms[2].id, "lost = 1\n".to_string())],
            &[event(missing, "validation_round")],
        )
        .await
        .unwrap_err();
    let untouched = store.load_atoms(id).await.unwrap();
    assert_eq!(untouched[2].atom.code, atoms[2].code);
    assert_eq!(store.load_validation_results(id).await.unwrap().len(), 2);

    // Scores: one out of range writes nothing.
    let err = store
        .record_confidence(
            id,
            &[(atoms[0].id, 0.9), (atoms[1].id, 1.5)],
            &[],
            &[event(id, "confidence_scored")],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "confidence_score",
                ..
            }
        ),
        "{err}"
    );
    let stored_atoms = store.load_atoms(id).await.unwrap();
    assert!(stored_atoms.iter().all(|a| a.confidence_score.is_none()));

    let review = NewReview {
        atom_id: atoms[2].id,
        confidence_score: 0.4,
        reasons: serde_json::json!(["the system level failed at this atom"]),
    };
    let seqs = store
        .record_confidence(
            id,
            &[(atoms[0].id, 0.95), (atoms[1].id, 0.91), (atoms[2].id, 0.4)],
            std::slice::from_ref(&review),
            &[event(id, "confidence_scored")],
        )
        .await
        .unwrap();
    assert_eq!(seqs.len(), 1);
    // Queueing again keeps the one entry per atom.
    store
        .record_confidence(id, &[], std::slice::from_ref(&review), &[])
        .await
        .unwrap();
    let flagged: Vec<_> = store
        .load_atoms(id)
        .await
        .unwrap()
        .iter()
        .map(|a| (a.confidence_score, a.needs_human_review))
        .collect();
    assert_eq!(
        flagged,
        vec![(Some(0.95), false), (Some(0.91), false), (Some(0.4), true)]
    );
    let queue = store.load_review_queue(id).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(
        (queue[0].atom_id, queue[0].status, &queue[0].reasons),
        (atoms[2].id, ReviewStatus::Pending, &review.reasons)
    );
}

pub async fn review_decisions_record_who_when_and_why(store: &dyn Store) {
    store.migrate_up().await.unwrap();
    let (id, stored) = import(store, &sample_plan(1, 1, 1, 0)).await;
    let atoms = sample_atoms(&stored, 4);
    store.insert_atoms(id, &atoms).await.unwrap();
    let reviews: Vec<NewReview> = atoms[..3]
        .iter()
        .enumerate()
        .map(|(i, a)| NewReview {
            atom_id: a.id,
            confidence_score: 0.5 + i as f64 / 10.0,
            reasons: serde_json::json!(["low confidence"]),
        })
        .collect();
    store
        .record_confidence(id, &[], &reviews, &[])
        .await
        .unwrap();
    assert!(store.load_review(atoms[3].id).await.unwrap().is_none());

    let decision = |atom: usize, status, what: &str| NewReviewDecision {
        atom_id: atoms[atom].id,
        status,
        decision: what.to_string(),
        reviewer: "ana".to_string(),
        comment: Some(format!("{what} it")),
        edited_code: None,
        atom_status: None,
        atom_error: None,
    };
    let decided = HistoryEvent {
        plan: id,
        task: None,
        event: "review_decided".to_string(),
        details: serde_json::json!({"decision": "approve"}),
    };

    // Claim, then approve: who, when and why are recorded, and the atom is marked reviewed.
    let err = store.claim_review(atoms[0].id, " ").await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "reviewer",
                ..
            }
        ),
        "{err}"
    );
    let claimed = store.claim_review(atoms[0].id, "ana").await.unwrap();
    assert_eq!(claimed.status, ReviewStatus::InReview);
    assert_eq!(claimed.assigned_to.as_deref(), Some("ana"));
    let (after, seqs) = store
        .decide_review(
            &decision(0, ReviewStatus::Approved, "approve"),
            std::slice::from_ref(&decided),
        )
        .await
        .unwrap();
    assert_eq!(after.status, ReviewStatus::Approved);
    assert_eq!(
        store
            .load_history(id)
            .await
            .unwrap()
            .last()
            .unwrap()
            .history_id,
        seqs[0]
    );
    let approved = store.load_review(atoms[0].id).await.unwrap().unwrap();
    assert_eq!(approved.status, ReviewStatus::Approved);
    assert_eq!(approved.assigned_to.as_deref(), Some("ana"));
    assert_eq!(approved.human_decision.as_deref(), Some("approve"));
    assert_eq!(approved.human_comments.as_deref(), Some("approve it"));
    assert!(approved.reviewed_at.is_some());

    // A decided review takes no other decision, and nothing of the refused one is written.
    let err = store
        .decide_review(
            &decision(0, ReviewStatus::Rejected, "reject"),
            std::slice::from_ref(&decided),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("already decided (approved by ana)"),
        "{err}"
    );
    assert_eq!(
        store
            .load_history(id)
            .await
            .unwrap()
            .last()
            .unwrap()
            .history_id,
        seqs[0]
    );
    let err = store.claim_review(atoms[0].id, "bo").await.unwrap_err();
    assert!(err.to_string().contains("already approved"), "{err}");
    // Open is not a decision.
    let err = store
        .decide_review(&decision(1, ReviewStatus::Pending, "approve"), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "status",
                ..
            }
        ),
        "{err}"
    );
    // An atom never queued.
    let mut never = decision(3, ReviewStatus::Approved, "approve");
    never.atom_id = atoms[3].id;
    let err = store.decide_review(&never, &[]).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // Edit straight from pending: the edited code becomes the atom's code.
    let mut edit = decision(1, ReviewStatus::Approved, "edit");
    edit.edited_code = Some("def f():\n    return 2\n".to_string());
    store.decide_review(&edit, &[]).await.unwrap();
    // Reject: the atom is failed with the reason.
    let mut reject = decision(2, ReviewStatus::Rejected, "reject");
    reject.atom_status = Some(AtomStatus::Failed);
    reject.atom_error = Some("rejected in review by ana".to_string());
    store.decide_review(&reject, &[]).await.unwrap();

    let stored_atoms = store.load_atoms(id).await.unwrap();
    let state: Vec<_> = stored_atoms
        .iter()
        .map(|a| {
            (
                a.human_reviewed,
                a.needs_human_review,
                a.status,
                a.last_error.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        state,
        vec![
            (true, false, AtomStatus::Pending, None),
            (true, false, AtomStatus::Pending, None),
            (
                true,
                false,
                AtomStatus::Failed,
                Some("rejected in review by ana")
            ),
            (false, false, AtomStatus::Pending, None),
        ]
    );
    assert_eq!(
        stored_atoms[1].atom.code.as_deref(),
        edit.edited_code.as_deref()
    );
    let edited = store.load_review(atoms[1].id).await.unwrap().unwrap();
    assert_eq!(edited.human_edits, edit.edited_code);

    let all = store.list_reviews(None, None).await.unwrap();
    assert!(all.len() >= 3);
    let approved: Vec<_> = store
        .list_reviews(Some(id), Some(ReviewStatus::Approved))
        .await
        .unwrap()
        .iter()
        .map(|r| r.atom_id)
        .collect();
    assert_eq!(approved, vec![atoms[0].id, atoms[1].id]);
    let rejected = store
        .list_reviews(Some(id), Some(ReviewStatus::Rejected))
        .await
        .unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].human_comments.as_deref(), Some("reject it"));
}
