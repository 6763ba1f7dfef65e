//! Mode resolver: priority levels, flag gating, stickiness, monotonic rollout.

use expect_test::expect;
use mge_core::ExecutionMode;
use mge_rollout::names::*;
use mge_rollout::resolver::{bucketing, resolve, Decision, ResolveInput, ROLLOUT_GROUP_ID};
use mge_rollout::{FlagSet, REQUIRED_CAPABILITIES};
use proptest::prelude::*;

const MODES: [ExecutionMode; 3] = [
    ExecutionMode::Mvp,
    ExecutionMode::V2Atoms,
    ExecutionMode::Hybrid,
];

fn v2_on(percent: u32) -> FlagSet {
    let mut flags = FlagSet::defaults();
    for name in REQUIRED_CAPABILITIES {
        flags.set(name, "true").unwrap();
    }
    flags.set(V2_ROLLOUT_PERCENT, &percent.to_string()).unwrap();
    flags
}

fn describe(d: &Decision) -> String {
    format!("{} [{}] {}", d.mode, d.reason.rule(), d.reason)
}

#[test]
fn each_rule_explains_itself() {
    let mut flags = v2_on(30);
    flags.set(V2_CANARY_PLANS, "plan-canary").unwrap();
    flags.set(V2_CANARY_USERS, "carol").unwrap();
    let base = ResolveInput {
        user_id: Some("dave"),
        ..ResolveInput::new(&flags, "plan-1")
    };
    let in_rollout = (0..)
        .map(|i| format!("user-{i}"))
        .find(|u| bucketing("p", Some(u), 30).bucket <= 30)
        .unwrap();
    let outside = (0..)
        .map(|i| format!("user-{i}"))
        .find(|u| bucketing("p", Some(u), 30).bucket > 30)
        .unwrap();
    let no_flags = FlagSet::defaults();
    let decisions = [
        resolve(&ResolveInput {
            requested: Some(ExecutionMode::Hybrid),
            ..base
        }),
        resolve(&ResolveInput {
            plan_override: Some(ExecutionMode::Mvp),
            ..base
        }),
        resolve(&ResolveInput {
            user_override: Some(ExecutionMode::V2Atoms),
            ..base
        }),
        resolve(&ResolveInput {
            plan_id: "plan-canary",
            ..base
        }),
        resolve(&ResolveInput {
            user_id: Some("carol"),
            ..base
        }),
        resolve(&ResolveInput {
            user_id: Some(&in_rollout),
            ..base
        }),
        resolve(&ResolveInput {
            user_id: Some(&outside),
            ..base
        }),
        resolve(&ResolveInput::new(&FlagSet::defaults(), "plan-2")),
        resolve(&ResolveInput {
            flags: &no_flags,
            plan_override: Some(ExecutionMode::Hybrid),
            ..base
        }),
    ];
    let text: Vec<String> = decisions.iter().map(describe).collect();
    expect![[r#"
        hybrid [requested] hybrid requested explicitly
        mvp [plan_override] plan override sets mvp
        v2_atoms [user_override] override of user dave sets v2_atoms
        v2_atoms [canary_plan] plan plan-canary is on the canary list V2_CANARY_PLANS: v2_atoms
        v2_atoms [canary_user] user carol is on the canary list V2_CANARY_USERS: v2_atoms
        v2_atoms [rollout] user user-0 is in bucket 14 of mge-v2-rollout, within the 30% rollout: v2_atoms
        mvp [default] default mode mvp (MGE_DEFAULT_MODE); user user-1 is in bucket 38 of mge-v2-rollout, outside the 30% rollout
        mvp [default] default mode mvp (MGE_DEFAULT_MODE)
        mvp [gated] plan override sets hybrid; but hybrid needs ENABLE_V2_ATOMIZATION, ENABLE_V2_DEP_GRAPH, ENABLE_V2_VALIDATION, ENABLE_V2_EXECUTION on: running mvp"#]]
    .assert_eq(&text.join("\n"));

    expect![[r#"{"mode":"v2_atoms","reason":{"rule":"rollout","mode":"v2_atoms","bucketing":{"key":"user_id","value":"user-0","group_id":"mge-v2-rollout","bucket":14,"percent":30}}}"#]]
        .assert_eq(&serde_json::to_string(&decisions[5]).unwrap());
    let back: Decision =
        serde_json::from_str(&serde_json::to_string(&decisions[8]).unwrap()).unwrap();
    assert_eq!(back, decisions[8]);
}

#[test]
fn plan_id_is_the_stickiness_key_without_a_user() {
    let b = bucketing("plan-7", None, 10);
    assert_eq!(b.value, "plan-7");
    assert_eq!(
        b.bucket,
        mge_rollout::normalized_bucket("plan-7", ROLLOUT_GROUP_ID)
    );
    let with_user = bucketing("plan-7", Some("u"), 10);
    assert_eq!(with_user.value, "u");
}

#[test]
fn rollout_mode_flag_chooses_hybrid_for_the_rollout() {
    let mut flags = v2_on(100);
    flags.set(V2_ROLLOUT_MODE, "hybrid").unwrap();
    let d = resolve(&ResolveInput::new(&flags, "p"));
    assert_eq!(d.mode, ExecutionMode::Hybrid);
    assert_eq!(d.reason.rule(), "rollout");
}

#[test]
fn raising_the_rollout_from_10_to_20_moves_nobody_back_and_shares_match() {
    let at = |p: u32| v2_on(p);
    let (ten, twenty) = (at(10), at(20));
    let mut v2_at_10 = 0;
    let mut v2_at_20 = 0;
    for i in 0..10_000 {
        let user = format!("user-{i}");
        let input = |flags| ResolveInput {
            user_id: Some(&user),
            ..ResolveInput::new(flags, "plan")
        };
        let before = resolve(&input(&ten)).mode;
        let after = resolve(&input(&twenty)).mode;
        if before == ExecutionMode::V2Atoms {
            v2_at_10 += 1;
            assert_eq!(after, ExecutionMode::V2Atoms, "{user} moved back to MVP");
        }
        if after == ExecutionMode::V2Atoms {
            v2_at_20 += 1;
        }
    }
    // Uniform buckets: about 10% and 20% of 10,000 users.
    assert!((900..1_100).contains(&v2_at_10), "{v2_at_10}");
    assert!((1_850..2_150).contains(&v2_at_20), "{v2_at_20}");
}

#[test]
fn rollback_sends_every_new_plan_to_mvp() {
    let mut flags = v2_on(100);
    flags.set(V2_CANARY_USERS, "u1").unwrap();
    flags.set(DEFAULT_MODE, "v2_atoms").unwrap();
    let rolled = flags.rolled_back().flags;
    for (plan, user) in [("p1", Some("u1")), ("p2", None), ("p3", Some("u3"))] {
        let d = resolve(&ResolveInput {
            user_id: user,
            requested: Some(ExecutionMode::Hybrid),
            ..ResolveInput::new(&rolled, plan)
        });
        assert_eq!(d.mode, ExecutionMode::Mvp);
        let d = resolve(&ResolveInput {
            user_id: user,
            ..ResolveInput::new(&rolled, plan)
        });
        assert_eq!(d.mode, ExecutionMode::Mvp, "{}", d.reason);
        assert_eq!(d.reason.rule(), "gated");
    }
}

fn mode() -> impl Strategy<Value = ExecutionMode> {
    prop::sample::select(MODES.to_vec())
}

fn key() -> impl Strategy<Value = String> {
    "[a-z0-9-]{1,24}"
}

proptest! {
    #[test]
    fn same_key_same_mode(user in key(), plan_a in key(), plan_b in key(), percent in 0u32..=100) {
        let flags = v2_on(percent);
        let a = resolve(&ResolveInput { user_id: Some(&user), ..ResolveInput::new(&flags, &plan_a) });
        let b = resolve(&ResolveInput { user_id: Some(&user), ..ResolveInput::new(&flags, &plan_b) });
        prop_assert_eq!(a.mode, b.mode, "a user's plans share a bucket");
        let again = resolve(&ResolveInput { user_id: Some(&user), ..ResolveInput::new(&flags, &plan_a) });
        prop_assert_eq!(a, again);
    }

    #[test]
    fn rollout_is_monotonic(user in proptest::option::of(key()), plan in key(), p in 0u32..=100, q in 0u32..=100) {
        let (low, high) = (p.min(q), p.max(q));
        let (f_low, f_high) = (v2_on(low), v2_on(high));
        let input = |flags| ResolveInput { user_id: user.as_deref(), ..ResolveInput::new(flags, &plan) };
        let before = resolve(&input(&f_low));
        let after = resolve(&input(&f_high));
        if before.mode == ExecutionMode::V2Atoms {
            prop_assert_eq!(after.mode, ExecutionMode::V2Atoms);
        }
    }

    #[test]
    fn v2_needs_every_required_flag(
        on in proptest::collection::vec(any::<bool>(), 4),
        review in any::<bool>(),
        requested in proptest::option::of(mode()),
        default in mode(),
        percent in 0u32..=100,
        plan in key(),
    ) {
        let mut flags = FlagSet::defaults();
        for (name, on) in REQUIRED_CAPABILITIES.iter().zip(&on) {
            flags.set(name, if *on { "true" } else { "false" }).unwrap();
        }
        flags.set(ENABLE_V2_REVIEW, if review { "true" } else { "false" }).unwrap();
        flags.set(V2_ROLLOUT_PERCENT, &percent.to_string()).unwrap();
        flags.set(DEFAULT_MODE, default.as_str()).unwrap();
        let d = resolve(&ResolveInput { requested, ..ResolveInput::new(&flags, &plan) });
        let missing: Vec<String> = REQUIRED_CAPABILITIES.iter().zip(&on)
            .filter(|(_, on)| !**on).map(|(n, _)| n.to_string()).collect();
        if missing.is_empty() {
            prop_assert_eq!(d.mode, d.reason.wanted(), "nothing gated when all flags are on");
        } else if d.reason.wanted() != ExecutionMode::Mvp {
            prop_assert_eq!(d.mode, ExecutionMode::Mvp);
            match &d.reason {
                mge_rollout::resolver::Reason::Gated { missing: m, .. } => prop_assert_eq!(m, &missing),
                other => prop_assert!(false, "expected a gated reason, got {:?}", other),
            }
        } else {
            prop_assert_eq!(d.mode, ExecutionMode::Mvp);
        }
    }

    /// Every level set to some mode, each lower level set to compete: the highest level set wins.
    #[test]
    fn each_level_beats_the_ones_below(
        level in 0usize..6,
        chosen in mode(),
        noise in proptest::collection::vec(mode(), 3),
        user in key(),
        plan in key(),
    ) {
        let mut flags = v2_on(if level <= 4 { 100 } else { 0 });
        flags.set(DEFAULT_MODE, if level == 5 { chosen.as_str() } else { noise[2].as_str() }).unwrap();
        if level <= 3 {
            flags.set(V2_CANARY_PLANS, &plan).unwrap();
        }
        if level == 3 || level == 4 {
            // The canary and rollout levels hand out V2_ROLLOUT_MODE, which is never MVP.
            let rollout = if chosen == ExecutionMode::Mvp { ExecutionMode::Hybrid } else { chosen };
            flags.set(V2_ROLLOUT_MODE, rollout.as_str()).unwrap();
        }
        let pick = |l: usize, n: usize| match l.cmp(&level) {
            std::cmp::Ordering::Less => None,
            std::cmp::Ordering::Equal => Some(chosen),
            std::cmp::Ordering::Greater => Some(noise[n]),
        };
        let input = ResolveInput {
            requested: pick(0, 0),
            plan_override: pick(1, 0),
            user_override: pick(2, 1),
            user_id: Some(&user),
            ..ResolveInput::new(&flags, &plan)
        };
        let d = resolve(&input);
        let expected_rule = ["requested", "plan_override", "user_override", "canary_plan", "rollout", "default"][level];
        prop_assert_eq!(d.reason.rule(), expected_rule);
        let expected_mode = if (level == 3 || level == 4) && chosen == ExecutionMode::Mvp {
            ExecutionMode::Hybrid
        } else {
            chosen
        };
        prop_assert_eq!(d.mode, expected_mode);
    }
}
