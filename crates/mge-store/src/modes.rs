//! Dual-mode control (tables of migration 0004): feature flags and their audit trail, per-plan and
//! per-user mode overrides, and rollback events.
//!
//! The store knows flags as `(name, JSON value)` pairs only: validation against the flag registry
//! happens before a write, in the caller. Every write of flag values runs in one transaction with
//! its audit rows, which share one `change_set` id; a write that leaves a value unchanged writes
//! no audit row. [`ModeStore::flags_version`] is the cheap poll a running process uses to notice
//! a change: it moves with every audit row and every rollback event.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mge_core::{ExecutionMode, PlanId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::Result;

/// One stored flag value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFlag {
    pub name: String,
    pub value: Value,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// A value to write for flag `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagWrite {
    pub name: String,
    pub value: Value,
}

impl FlagWrite {
    pub fn new(name: impl Into<String>, value: Value) -> Self {
        FlagWrite {
            name: name.into(),
            value,
        }
    }
}

/// One row of the flag audit trail (`old_value` is `None` for a first-start default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagAuditEntry {
    pub id: i64,
    pub change_set: Uuid,
    pub name: String,
    pub old_value: Option<Value>,
    pub new_value: Value,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
    pub reason: String,
}

/// The result of one flag write: its change-set id and the audit rows written (only the flags
/// whose value actually changed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagChangeSet {
    pub change_set: Uuid,
    pub entries: Vec<FlagAuditEntry>,
}

/// Moves whenever a flag changes or a rollback is recorded; compare for equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlagsVersion {
    /// Largest audit row id (0: none).
    pub audit: i64,
    /// Largest rollback event id (0: none).
    pub rollback: i64,
}

/// Who asked for a rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackKind {
    /// An operator (`mge rollback`, the API).
    Manual,
    /// The automatic trigger over V2 unit outcomes.
    Automatic,
}

impl RollbackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RollbackKind::Manual => "manual",
            RollbackKind::Automatic => "automatic",
        }
    }
}

impl std::str::FromStr for RollbackKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "manual" => Ok(RollbackKind::Manual),
            "automatic" => Ok(RollbackKind::Automatic),
            other => Err(format!("expected manual or automatic, found '{other}'")),
        }
    }
}

/// A rollback to record: the flag values it writes and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRollback {
    pub kind: RollbackKind,
    /// What tripped an automatic rollback (serialized trigger), `None` for a manual one.
    pub trigger: Option<Value>,
    /// Whether running V2 plans stop at their next unit boundary.
    pub drain: bool,
    pub reason: String,
    pub created_by: String,
    pub flags: Vec<FlagWrite>,
}

/// A recorded rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackEvent {
    pub id: i64,
    pub change_set: Uuid,
    pub kind: RollbackKind,
    pub trigger: Option<Value>,
    pub drain: bool,
    pub reason: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A stored mode override (of a plan or of a user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeOverride {
    pub mode: ExecutionMode,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
    pub reason: String,
}

/// The mode decided for a plan: its `execution_mode_set` history row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecidedMode {
    pub mode: ExecutionMode,
    pub reason: String,
    pub history_id: i64,
}

/// Dual-mode control operations; reach them through [`crate::Store::modes`].
#[async_trait]
pub trait ModeStore: Send + Sync {
    /// Every stored flag, by name.
    async fn load_flags(&self) -> Result<Vec<StoredFlag>>;
    /// First start: inserts each value whose flag has no row yet, with an audit row (old value
    /// `None`); existing rows are left alone. Returns the audit rows written.
    async fn seed_flags(
        &self,
        defaults: &[FlagWrite],
        by: &str,
        reason: &str,
    ) -> Result<FlagChangeSet>;
    /// Writes the values and their audit rows in one transaction.
    async fn set_flags(
        &self,
        writes: &[FlagWrite],
        by: &str,
        reason: &str,
    ) -> Result<FlagChangeSet>;
    /// The newest `limit` audit rows, newest first.
    async fn flag_audit(&self, limit: i64) -> Result<Vec<FlagAuditEntry>>;
    async fn flags_version(&self) -> Result<FlagsVersion>;
    /// Writes the rollback's flag values, their audit rows and the rollback event in one
    /// transaction (audit rows and event share the change-set id).
    async fn record_rollback(
        &self,
        rollback: &NewRollback,
    ) -> Result<(RollbackEvent, FlagChangeSet)>;
    /// The newest `limit` rollback events, newest first.
    async fn rollback_events(&self, limit: i64) -> Result<Vec<RollbackEvent>>;
    /// Sets (`Some`) or clears (`None`) the plan's override, audited in the same transaction
    /// (audit name `override.plan.<id>`); an unchanged override writes nothing.
    async fn set_plan_override(
        &self,
        plan: PlanId,
        mode: Option<ExecutionMode>,
        by: &str,
        reason: &str,
    ) -> Result<FlagChangeSet>;
    async fn plan_override(&self, plan: PlanId) -> Result<Option<ModeOverride>>;
    /// Sets (`Some`) or clears (`None`) the user's override, audited like a plan's (audit name
    /// `override.user.<id>`).
    async fn set_user_override(
        &self,
        user: &str,
        mode: Option<ExecutionMode>,
        by: &str,
        reason: &str,
    ) -> Result<FlagChangeSet>;
    async fn user_override(&self, user: &str) -> Result<Option<ModeOverride>>;
    /// The latest mode decision recorded for the plan (`None`: never decided).
    async fn decided_mode(&self, plan: PlanId) -> Result<Option<DecidedMode>>;
}
