//! The mode resolver: which mode a plan runs in, and why.
//!
//! The first rule that applies decides the wanted mode:
//!
//! 1. an explicit mode in the request;
//! 2. the plan's override;
//! 3. the override of the plan's user;
//! 4. the canary allowlists: the plan id in `V2_CANARY_PLANS`, else the user id in
//!    `V2_CANARY_USERS`, gives `V2_ROLLOUT_MODE`;
//! 5. the percentage rollout: the stickiness key is the user id, or the plan id when the plan has no
//!    user; its bucket is `normalized_bucket(key, ROLLOUT_GROUP_ID)` in `1..=100`, and a bucket
//!    `<= V2_ROLLOUT_PERCENT` gets `V2_ROLLOUT_MODE`;
//! 6. `MGE_DEFAULT_MODE`.
//!
//! Gating: `v2_atoms` and `hybrid` need every flag of
//! [`REQUIRED_CAPABILITIES`](crate::registry::REQUIRED_CAPABILITIES). When one is off, the plan gets
//! `mvp` and the reason names the rule that wanted V2 and the flags that are off. Gating does not
//! fall through to lower rules: every rule that can hand out V2 needs the same flags.
//!
//! Consequences worth testing (and tested): the same inputs give the same decision; the same
//! stickiness key always lands in the same bucket; raising the percentage only adds buckets, so no
//! key ever moves from V2 back to the default; a rollback (flags off) sends every new plan to MVP.
//! The resolver reads no clock and draws no randomness; the caller persists the decision once on
//! the plan, so re-resolving an existing plan is never needed.

use std::fmt;

use mge_core::ExecutionMode;
use serde::{Deserialize, Serialize};

use crate::flags::FlagSet;
use crate::murmur::{bucket_in_rollout, normalized_bucket};

/// Group id of the V2 rollout bucketing. Changing it reshuffles every key's bucket, so it is a
/// constant; a new rollout experiment would use a new group id.
pub const ROLLOUT_GROUP_ID: &str = "mge-v2-rollout";

/// What the resolver knows about a new plan. Overrides are looked up by the caller (store).
#[derive(Debug, Clone, Copy)]
pub struct ResolveInput<'a> {
    pub flags: &'a FlagSet,
    pub plan_id: &'a str,
    pub user_id: Option<&'a str>,
    /// Mode asked for explicitly (CLI `--mode`, API field).
    pub requested: Option<ExecutionMode>,
    /// Override stored for this plan.
    pub plan_override: Option<ExecutionMode>,
    /// Override stored for the plan's user.
    pub user_override: Option<ExecutionMode>,
}

impl<'a> ResolveInput<'a> {
    /// A plan with no user, no request and no overrides.
    pub fn new(flags: &'a FlagSet, plan_id: &'a str) -> Self {
        ResolveInput {
            flags,
            plan_id,
            user_id: None,
            requested: None,
            plan_override: None,
            user_override: None,
        }
    }
}

/// Which id the rollout bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StickinessKey {
    UserId,
    PlanId,
}

impl fmt::Display for StickinessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StickinessKey::UserId => "user",
            StickinessKey::PlanId => "plan",
        })
    }
}

/// Where a bucket fell in the rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucketing {
    pub key: StickinessKey,
    pub value: String,
    pub group_id: String,
    /// In `1..=100`.
    pub bucket: u32,
    pub percent: u32,
}

/// Why a plan got its mode. Serializes with a `rule` tag, e.g.
/// `{"rule":"rollout","mode":"v2_atoms","bucketing":{...}}`; `Display` gives the human text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Reason {
    Requested {
        mode: ExecutionMode,
    },
    PlanOverride {
        mode: ExecutionMode,
    },
    UserOverride {
        mode: ExecutionMode,
        user_id: Option<String>,
    },
    CanaryPlan {
        mode: ExecutionMode,
        plan_id: String,
    },
    CanaryUser {
        mode: ExecutionMode,
        user_id: String,
    },
    Rollout {
        mode: ExecutionMode,
        bucketing: Bucketing,
    },
    /// The default mode; `bucketing` says where the key fell when a rollout was active.
    Default {
        mode: ExecutionMode,
        bucketing: Option<Bucketing>,
    },
    /// `because` wanted V2 or hybrid, but the `missing` capability flags are off: MVP.
    Gated {
        wanted: ExecutionMode,
        missing: Vec<String>,
        because: Box<Reason>,
    },
}

impl Reason {
    /// The rule that decided, as a stable word (a column value).
    pub fn rule(&self) -> &'static str {
        match self {
            Reason::Requested { .. } => "requested",
            Reason::PlanOverride { .. } => "plan_override",
            Reason::UserOverride { .. } => "user_override",
            Reason::CanaryPlan { .. } => "canary_plan",
            Reason::CanaryUser { .. } => "canary_user",
            Reason::Rollout { .. } => "rollout",
            Reason::Default { .. } => "default",
            Reason::Gated { .. } => "gated",
        }
    }

    /// The mode the rule asked for (before gating).
    pub fn wanted(&self) -> ExecutionMode {
        match self {
            Reason::Requested { mode }
            | Reason::PlanOverride { mode }
            | Reason::UserOverride { mode, .. }
            | Reason::CanaryPlan { mode, .. }
            | Reason::CanaryUser { mode, .. }
            | Reason::Rollout { mode, .. }
            | Reason::Default { mode, .. } => *mode,
            Reason::Gated { wanted, .. } => *wanted,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Requested { mode } => write!(f, "{mode} requested explicitly"),
            Reason::PlanOverride { mode } => write!(f, "plan override sets {mode}"),
            Reason::UserOverride { mode, user_id } => match user_id {
                Some(u) => write!(f, "override of user {u} sets {mode}"),
                None => write!(f, "user override sets {mode}"),
            },
            Reason::CanaryPlan { mode, plan_id } => {
                write!(
                    f,
                    "plan {plan_id} is on the canary list V2_CANARY_PLANS: {mode}"
                )
            }
            Reason::CanaryUser { mode, user_id } => {
                write!(
                    f,
                    "user {user_id} is on the canary list V2_CANARY_USERS: {mode}"
                )
            }
            Reason::Rollout { mode, bucketing: b } => write!(
                f,
                "{} {} is in bucket {} of {}, within the {}% rollout: {mode}",
                b.key, b.value, b.bucket, b.group_id, b.percent
            ),
            Reason::Default { mode, bucketing } => {
                write!(f, "default mode {mode} (MGE_DEFAULT_MODE)")?;
                if let Some(b) = bucketing {
                    write!(
                        f,
                        "; {} {} is in bucket {} of {}, outside the {}% rollout",
                        b.key, b.value, b.bucket, b.group_id, b.percent
                    )?;
                }
                Ok(())
            }
            Reason::Gated {
                wanted,
                missing,
                because,
            } => write!(
                f,
                "{because}; but {wanted} needs {} on: running mvp",
                missing.join(", ")
            ),
        }
    }
}

/// The resolver's answer: the mode to persist on the plan and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub mode: ExecutionMode,
    pub reason: Reason,
}

/// Decides the mode of a new plan (rules in the module documentation).
pub fn resolve(input: &ResolveInput<'_>) -> Decision {
    let reason = wanted(input);
    let mode = reason.wanted();
    if mode == ExecutionMode::Mvp {
        return Decision { mode, reason };
    }
    let missing = input.flags.missing_capabilities();
    if missing.is_empty() {
        return Decision { mode, reason };
    }
    Decision {
        mode: ExecutionMode::Mvp,
        reason: Reason::Gated {
            wanted: mode,
            missing: missing.into_iter().map(str::to_string).collect(),
            because: Box::new(reason),
        },
    }
}

/// The stickiness key and its bucket for a plan (user id, else plan id).
pub fn bucketing(plan_id: &str, user_id: Option<&str>, percent: u32) -> Bucketing {
    let (key, value) = match user_id {
        Some(u) => (StickinessKey::UserId, u),
        None => (StickinessKey::PlanId, plan_id),
    };
    Bucketing {
        key,
        value: value.to_string(),
        group_id: ROLLOUT_GROUP_ID.to_string(),
        bucket: normalized_bucket(value, ROLLOUT_GROUP_ID),
        percent,
    }
}

fn wanted(input: &ResolveInput<'_>) -> Reason {
    let flags = input.flags;
    if let Some(mode) = input.requested {
        return Reason::Requested { mode };
    }
    if let Some(mode) = input.plan_override {
        return Reason::PlanOverride { mode };
    }
    if let Some(mode) = input.user_override {
        return Reason::UserOverride {
            mode,
            user_id: input.user_id.map(str::to_string),
        };
    }
    let rollout_mode = flags.rollout_mode();
    if flags.canary_plans().iter().any(|p| p == input.plan_id) {
        return Reason::CanaryPlan {
            mode: rollout_mode,
            plan_id: input.plan_id.to_string(),
        };
    }
    if let Some(user) = input.user_id {
        if flags.canary_users().iter().any(|u| u == user) {
            return Reason::CanaryUser {
                mode: rollout_mode,
                user_id: user.to_string(),
            };
        }
    }
    let percent = flags.rollout_percent();
    let bucketed = (percent > 0).then(|| bucketing(input.plan_id, input.user_id, percent));
    match bucketed {
        Some(b) if bucket_in_rollout(b.bucket, b.percent) => Reason::Rollout {
            mode: rollout_mode,
            bucketing: b,
        },
        other => Reason::Default {
            mode: flags.default_mode(),
            bucketing: other,
        },
    }
}
