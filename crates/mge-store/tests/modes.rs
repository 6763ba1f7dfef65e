//! Dual-mode control tables (migration 0004) on every backend: each scenario runs on a fresh
//! SQLite file and, when `DATABASE_URL` is set, on a fresh Postgres database of its own.

#[allow(dead_code)]
#[path = "conformance/support.rs"]
mod support;

use expect_test::expect;
use mge_core::ExecutionMode;
use mge_store::{FlagWrite, FlagsVersion, NewRollback, RollbackKind, Store};
use serde_json::json;

macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::support::TestDb::sqlite().await;
                    db.store().migrate_up().await.unwrap();
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
                    db.store().migrate_up().await.unwrap();
                    crate::$name(db.store()).await;
                    db.finish().await;
                }
            )*
        }
    };
}

on_every_backend!(
    seeding_inserts_only_missing_flags_and_audits_them,
    set_flags_is_audited_per_change_set_and_skips_unchanged_values,
    rollback_writes_flags_audit_and_event_in_one_change_set,
    overrides_are_set_replaced_and_cleared,
    decided_mode_is_the_latest_execution_mode_row,
    migration_0004_reverts_cleanly,
);

fn w(name: &str, value: serde_json::Value) -> FlagWrite {
    FlagWrite::new(name, value)
}

async fn seeding_inserts_only_missing_flags_and_audits_them(store: &dyn Store) {
    let modes = store.modes();
    assert_eq!(
        modes.flags_version().await.unwrap(),
        FlagsVersion::default()
    );
    let first = modes
        .seed_flags(
            &[w("A", json!(true)), w("B", json!(5))],
            "env",
            "first-start default",
        )
        .await
        .unwrap();
    assert_eq!(first.entries.len(), 2);
    assert!(first.entries.iter().all(|e| e.old_value.is_none()));
    assert!(first
        .entries
        .iter()
        .all(|e| e.change_set == first.change_set));

    modes
        .set_flags(&[w("B", json!(7))], "alice", "tuning")
        .await
        .unwrap();
    let again = modes
        .seed_flags(
            &[w("A", json!(false)), w("B", json!(5)), w("C", json!("x"))],
            "env",
            "first-start default",
        )
        .await
        .unwrap();
    let names: Vec<&str> = again.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["C"], "existing rows are kept");
    let flags: Vec<(String, serde_json::Value, String)> = modes
        .load_flags()
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.value, f.updated_by))
        .collect();
    expect![[r#"
        [
            (
                "A",
                Bool(true),
                "env",
            ),
            (
                "B",
                Number(7),
                "alice",
            ),
            (
                "C",
                String("x"),
                "env",
            ),
        ]
    "#]]
    .assert_debug_eq(&flags);
}

async fn set_flags_is_audited_per_change_set_and_skips_unchanged_values(store: &dyn Store) {
    let modes = store.modes();
    let one = modes
        .set_flags(&[w("P", json!(0)), w("L", json!(["u1"]))], "alice", "start")
        .await
        .unwrap();
    let v1 = modes.flags_version().await.unwrap();
    let two = modes
        .set_flags(&[w("P", json!(50)), w("L", json!(["u1"]))], "bob", "ramp")
        .await
        .unwrap();
    assert_eq!(two.entries.len(), 1, "L did not change");
    assert_ne!(one.change_set, two.change_set);
    let v2 = modes.flags_version().await.unwrap();
    assert!(v2.audit > v1.audit);
    let unchanged = modes
        .set_flags(&[w("P", json!(50))], "bob", "again")
        .await
        .unwrap();
    assert!(unchanged.entries.is_empty());
    assert_eq!(modes.flags_version().await.unwrap(), v2);

    let dup = modes
        .set_flags(&[w("P", json!(1)), w("P", json!(2))], "bob", "twice")
        .await
        .unwrap_err();
    expect!["flag write P: field 'name': appears twice in one change"].assert_eq(&dup.to_string());

    let audit = modes.flag_audit(10).await.unwrap();
    let rows: Vec<String> = audit
        .iter()
        .map(|e| {
            format!(
                "{} {:?} -> {} by {} ({})",
                e.name, e.old_value, e.new_value, e.changed_by, e.reason
            )
        })
        .collect();
    expect![[r#"
        [
            "P Some(Number(0)) -> 50 by bob (ramp)",
            "L None -> [\"u1\"] by alice (start)",
            "P None -> 0 by alice (start)",
        ]
    "#]]
    .assert_debug_eq(&rows);
    assert!(audit.windows(2).all(|p| p[0].id > p[1].id), "newest first");
    assert_eq!(modes.flag_audit(1).await.unwrap().len(), 1);
}

async fn rollback_writes_flags_audit_and_event_in_one_change_set(store: &dyn Store) {
    let modes = store.modes();
    modes
        .set_flags(
            &[w("ENABLE_X", json!(true)), w("PCT", json!(40))],
            "alice",
            "ramp",
        )
        .await
        .unwrap();
    let before = modes.flags_version().await.unwrap();
    let trigger = json!({"kind": "failure_rate", "observed": 0.2});
    let (event, changes) = modes
        .record_rollback(&NewRollback {
            kind: RollbackKind::Automatic,
            trigger: Some(trigger.clone()),
            drain: true,
            reason: "failure rate 20% > 5%".into(),
            created_by: "auto-rollback".into(),
            flags: vec![w("ENABLE_X", json!(false)), w("PCT", json!(0))],
        })
        .await
        .unwrap();
    assert_eq!(event.change_set, changes.change_set);
    assert_eq!(event.kind, RollbackKind::Automatic);
    assert_eq!(event.trigger, Some(trigger));
    assert!(event.drain);
    assert_eq!(changes.entries.len(), 2);
    assert!(changes
        .entries
        .iter()
        .all(|e| e.changed_by == "auto-rollback" && e.reason == "failure rate 20% > 5%"));
    let after = modes.flags_version().await.unwrap();
    assert!(after.rollback > before.rollback && after.audit > before.audit);

    // A second rollback changes no flag but is still recorded, and still moves the version.
    let (again, none) = modes
        .record_rollback(&NewRollback {
            kind: RollbackKind::Manual,
            trigger: None,
            drain: false,
            reason: "belt and braces".into(),
            created_by: "ops".into(),
            flags: vec![w("ENABLE_X", json!(false)), w("PCT", json!(0))],
        })
        .await
        .unwrap();
    assert!(none.entries.is_empty());
    assert!(modes.flags_version().await.unwrap().rollback > after.rollback);
    let events = modes.rollback_events(10).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.id).collect::<Vec<_>>(),
        [again.id, event.id]
    );
    assert_eq!(events[0].trigger, None);
    assert!(!events[0].drain);
    let values: Vec<_> = modes
        .load_flags()
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.value))
        .collect();
    assert_eq!(
        values,
        [
            ("ENABLE_X".to_string(), json!(false)),
            ("PCT".to_string(), json!(0))
        ]
    );
}

async fn overrides_are_set_replaced_and_cleared(store: &dyn Store) {
    let modes = store.modes();
    let (plan_id, _) = support::import(store, &support::sample_plan(1, 1, 1, 1)).await;
    assert_eq!(modes.plan_override(plan_id).await.unwrap(), None);
    let first = modes
        .set_plan_override(plan_id, Some(ExecutionMode::V2Atoms), "ops", "try v2")
        .await
        .unwrap();
    let audit_name = format!("override.plan.{plan_id}");
    assert_eq!(first.entries.len(), 1);
    let e = &first.entries[0];
    assert_eq!(
        (
            &e.name,
            &e.old_value,
            &e.new_value,
            e.changed_by.as_str(),
            e.reason.as_str()
        ),
        (
            &audit_name,
            &Some(json!(null)),
            &json!("v2_atoms"),
            "ops",
            "try v2"
        )
    );
    let same = modes
        .set_plan_override(plan_id, Some(ExecutionMode::V2Atoms), "ops", "again")
        .await
        .unwrap();
    assert!(
        same.entries.is_empty(),
        "an unchanged override is not audited"
    );
    let second = modes
        .set_plan_override(plan_id, Some(ExecutionMode::Hybrid), "ops", "hybrid")
        .await
        .unwrap();
    assert_eq!(
        (&second.entries[0].old_value, &second.entries[0].new_value),
        (&Some(json!("v2_atoms")), &json!("hybrid"))
    );
    let o = modes.plan_override(plan_id).await.unwrap().unwrap();
    assert_eq!(
        (o.mode, o.set_by.as_str(), o.reason.as_str()),
        (ExecutionMode::Hybrid, "ops", "hybrid")
    );
    let cleared = modes
        .set_plan_override(plan_id, None, "ops", "done")
        .await
        .unwrap();
    assert_eq!(cleared.entries[0].new_value, json!(null));
    assert_eq!(modes.plan_override(plan_id).await.unwrap(), None);
    let trail: Vec<_> = modes
        .flag_audit(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.name == audit_name)
        .map(|e| e.reason)
        .collect();
    assert_eq!(trail, ["done", "hybrid", "try v2"], "newest first");

    let missing = uuid::Uuid::new_v4();
    let err = modes
        .set_plan_override(missing, Some(ExecutionMode::Mvp), "ops", "x")
        .await
        .unwrap_err();
    assert_eq!(
        err.constraint_kind(),
        Some(mge_store::ConstraintKind::ForeignKey),
        "{err}"
    );

    modes
        .set_user_override("carol", Some(ExecutionMode::Mvp), "ops", "opt out")
        .await
        .unwrap();
    let u = modes.user_override("carol").await.unwrap().unwrap();
    assert_eq!(u.mode, ExecutionMode::Mvp);
    assert_eq!(modes.user_override("dave").await.unwrap(), None);
    let back = modes
        .set_user_override("carol", None, "ops", "back")
        .await
        .unwrap();
    assert_eq!(back.entries[0].name, "override.user.carol");
    assert_eq!(back.entries[0].old_value, Some(json!("mvp")));
    assert_eq!(modes.user_override("carol").await.unwrap(), None);
}

async fn decided_mode_is_the_latest_execution_mode_row(store: &dyn Store) {
    let (plan_id, _) = support::import(store, &support::sample_plan(1, 1, 1, 1)).await;
    assert_eq!(store.modes().decided_mode(plan_id).await.unwrap(), None);
    let id = store
        .set_execution_mode(plan_id, ExecutionMode::V2Atoms, "rollout bucket 7 <= 50")
        .await
        .unwrap();
    let decided = store.modes().decided_mode(plan_id).await.unwrap().unwrap();
    assert_eq!(decided.mode, ExecutionMode::V2Atoms);
    assert_eq!(decided.reason, "rollout bucket 7 <= 50");
    assert_eq!(decided.history_id, id);
}

async fn migration_0004_reverts_cleanly(store: &dyn Store) {
    let mode_tables = [
        "feature_flag_audit",
        "feature_flags",
        "plan_mode_overrides",
        "rollback_events",
        "user_mode_overrides",
    ];
    let tables = store.tables().await.unwrap();
    assert!(mode_tables.iter().all(|t| tables.contains(&t.to_string())));
    store.migrate_to(3).await.unwrap();
    let tables = store.tables().await.unwrap();
    assert!(mode_tables.iter().all(|t| !tables.contains(&t.to_string())));
    assert!(tables.contains(&"masterplans".to_string()));
    store.migrate_up().await.unwrap();
    store
        .modes()
        .set_flags(&[w("A", json!(1))], "x", "y")
        .await
        .unwrap();
}
