//! The SQL of [`crate::modes::ModeStore`], written once and implemented for both backends' pools.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mge_core::{ExecutionMode, PlanId};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Pool, Postgres, Row, Sqlite};
use uuid::Uuid;

use crate::error::db_err;
use crate::modes::{
    DecidedMode, FlagAuditEntry, FlagChangeSet, FlagWrite, FlagsVersion, ModeOverride, ModeStore,
    NewRollback, RollbackEvent, RollbackKind, StoredFlag,
};
use crate::value::{now, parse_text, DbUuid};
use crate::{Result, StoreError};

const AUDIT_COLUMNS: &str =
    "id, change_set, name, old_value, new_value, changed_by, changed_at, reason";
const ROLLBACK_COLUMNS: &str =
    "id, change_set, kind, trigger_info, drain, reason, created_by, created_at";

fn check_writes(writes: &[FlagWrite]) -> Result<()> {
    for (i, w) in writes.iter().enumerate() {
        if w.name.trim().is_empty() {
            return Err(StoreError::invalid("flag write", i, "name", "is empty"));
        }
        if writes[..i].iter().any(|o| o.name == w.name) {
            return Err(StoreError::invalid(
                "flag write",
                &w.name,
                "name",
                "appears twice in one change",
            ));
        }
    }
    Ok(())
}

/// Whose override a statement reads or writes. The key is always the last bind parameter.
enum OverrideKey {
    Plan(PlanId),
    User(String),
}

impl std::fmt::Display for OverrideKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OverrideKey::Plan(id) => write!(f, "{id}"),
            OverrideKey::User(user) => f.write_str(user),
        }
    }
}

impl OverrideKey {
    fn entity(&self) -> &'static str {
        match self {
            OverrideKey::Plan(_) => "mode override of plan",
            OverrideKey::User(_) => "mode override of user",
        }
    }

    /// The `feature_flag_audit.name` of this override's changes.
    fn audit_name(&self) -> String {
        match self {
            OverrideKey::Plan(id) => format!("override.plan.{id}"),
            OverrideKey::User(user) => format!("override.user.{user}"),
        }
    }

    fn sql_delete(&self) -> &'static str {
        match self {
            OverrideKey::Plan(_) => "DELETE FROM plan_mode_overrides WHERE masterplan_id = $1",
            OverrideKey::User(_) => "DELETE FROM user_mode_overrides WHERE user_id = $1",
        }
    }

    fn sql_select(&self) -> &'static str {
        match self {
            OverrideKey::Plan(_) => {
                "SELECT mode, set_by, set_at, reason FROM plan_mode_overrides \
                 WHERE masterplan_id = $1"
            }
            OverrideKey::User(_) => {
                "SELECT mode, set_by, set_at, reason FROM user_mode_overrides WHERE user_id = $1"
            }
        }
    }

    fn sql_upsert(&self) -> &'static str {
        match self {
            OverrideKey::Plan(_) => {
                "INSERT INTO plan_mode_overrides (mode, set_by, set_at, reason, masterplan_id) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (masterplan_id) DO UPDATE SET \
                 mode = excluded.mode, set_by = excluded.set_by, set_at = excluded.set_at, \
                 reason = excluded.reason"
            }
            OverrideKey::User(_) => {
                "INSERT INTO user_mode_overrides (mode, set_by, set_at, reason, user_id) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET \
                 mode = excluded.mode, set_by = excluded.set_by, set_at = excluded.set_at, \
                 reason = excluded.reason"
            }
        }
    }
}

macro_rules! mode_ops {
    ($db:ty) => {
        type DbRow = <$db as sqlx::Database>::Row;

        fn get<'r, T>(row: &'r DbRow, name: &'static str, entity: &'static str, id: &str) -> Result<T>
        where
            T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
        {
            row.try_get::<T, _>(name)
                .map_err(|e| StoreError::corrupt(entity, id, name, e))
        }

        fn stored_flag(row: &DbRow) -> Result<StoredFlag> {
            let name: String = get(row, "name", "feature flag", "?")?;
            Ok(StoredFlag {
                value: get::<Json<Value>>(row, "value", "feature flag", &name)?.0,
                updated_at: get(row, "updated_at", "feature flag", &name)?,
                updated_by: get(row, "updated_by", "feature flag", &name)?,
                name,
            })
        }

        fn audit_entry(row: &DbRow) -> Result<FlagAuditEntry> {
            let id: i64 = get(row, "id", "feature flag audit row", "?")?;
            let e = "feature flag audit row";
            let key = id.to_string();
            Ok(FlagAuditEntry {
                id,
                change_set: get::<DbUuid>(row, "change_set", e, &key)?.0,
                name: get(row, "name", e, &key)?,
                old_value: get::<Option<Json<Value>>>(row, "old_value", e, &key)?.map(|j| j.0),
                new_value: get::<Json<Value>>(row, "new_value", e, &key)?.0,
                changed_by: get(row, "changed_by", e, &key)?,
                changed_at: get(row, "changed_at", e, &key)?,
                reason: get(row, "reason", e, &key)?,
            })
        }

        fn rollback_event(row: &DbRow) -> Result<RollbackEvent> {
            let id: i64 = get(row, "id", "rollback event", "?")?;
            let e = "rollback event";
            let key = id.to_string();
            let kind: String = get(row, "kind", e, &key)?;
            Ok(RollbackEvent {
                id,
                change_set: get::<DbUuid>(row, "change_set", e, &key)?.0,
                kind: parse_text::<RollbackKind>(&kind, e, &key, "kind")?,
                trigger: get::<Option<Json<Value>>>(row, "trigger_info", e, &key)?.map(|j| j.0),
                drain: get(row, "drain", e, &key)?,
                reason: get(row, "reason", e, &key)?,
                created_by: get(row, "created_by", e, &key)?,
                created_at: get(row, "created_at", e, &key)?,
            })
        }

        fn mode_override(row: &DbRow, label: &str) -> Result<ModeOverride> {
            let e = "mode override";
            let mode: String = get(row, "mode", e, label)?;
            Ok(ModeOverride {
                mode: parse_text(&mode, e, label, "mode")?,
                set_by: get(row, "set_by", e, label)?,
                set_at: get(row, "set_at", e, label)?,
                reason: get(row, "reason", e, label)?,
            })
        }

        /// Writes `writes` (skipping unchanged values) with their audit rows inside `tx`.
        async fn apply_writes(
            tx: &mut <$db as sqlx::Database>::Connection,
            writes: &[FlagWrite],
            by: &str,
            reason: &str,
            change_set: Uuid,
            at: DateTime<Utc>,
            seed_only: bool,
        ) -> Result<Vec<FlagAuditEntry>> {
            let mut entries = Vec::new();
            for w in writes {
                let old: Option<Json<Value>> =
                    sqlx::query_scalar("SELECT value FROM feature_flags WHERE name = $1")
                        .bind(&w.name)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err("reading", "feature flag", &w.name))?;
                let old = old.map(|j| j.0);
                if (seed_only && old.is_some()) || old.as_ref() == Some(&w.value) {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO feature_flags (name, value, updated_at, updated_by) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET \
                     value = excluded.value, updated_at = excluded.updated_at, \
                     updated_by = excluded.updated_by",
                )
                .bind(&w.name)
                .bind(Json(&w.value))
                .bind(at)
                .bind(by)
                .execute(&mut *tx)
                .await
                .map_err(db_err("writing", "feature flag", &w.name))?;
                let row = sqlx::query(&format!(
                    "INSERT INTO feature_flag_audit (change_set, name, old_value, new_value, \
                     changed_by, changed_at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     RETURNING {AUDIT_COLUMNS}"
                ))
                .bind(DbUuid(change_set))
                .bind(&w.name)
                .bind(old.as_ref().map(Json))
                .bind(Json(&w.value))
                .bind(by)
                .bind(at)
                .bind(reason)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err("auditing", "feature flag", &w.name))?;
                entries.push(audit_entry(&row)?);
            }
            Ok(entries)
        }

        async fn write_flags(
            pool: &Pool<$db>,
            writes: &[FlagWrite],
            by: &str,
            reason: &str,
            seed_only: bool,
        ) -> Result<FlagChangeSet> {
            check_writes(writes)?;
            let change_set = Uuid::new_v4();
            let mut tx = pool
                .begin()
                .await
                .map_err(db_err("starting", "flag change", change_set))?;
            let entries =
                apply_writes(&mut tx, writes, by, reason, change_set, now(), seed_only).await?;
            tx.commit()
                .await
                .map_err(db_err("committing", "flag change", change_set))?;
            Ok(FlagChangeSet {
                change_set,
                entries,
            })
        }

        /// Sets or clears an override and writes its audit row (flag name
        /// `override.plan.<id>` or `override.user.<id>`, old and new mode, `null` for none) in
        /// one transaction. Nothing changes and nothing is audited when the mode is already the
        /// one asked for.
        async fn write_override(
            pool: &Pool<$db>,
            key: &OverrideKey,
            mode: Option<ExecutionMode>,
            by: &str,
            reason: &str,
        ) -> Result<FlagChangeSet> {
            let change_set = Uuid::new_v4();
            let mut tx = pool
                .begin()
                .await
                .map_err(db_err("starting", key.entity(), key))?;
            let old = match key {
                OverrideKey::Plan(plan) => sqlx::query(key.sql_select()).bind(DbUuid(*plan)),
                OverrideKey::User(user) => sqlx::query(key.sql_select()).bind(user.as_str()),
            }
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err("reading", key.entity(), key))?
            .map(|r| mode_override(&r, &key.to_string()))
            .transpose()?
            .map(|o| o.mode);
            if old == mode {
                return Ok(FlagChangeSet {
                    change_set,
                    entries: Vec::new(),
                });
            }
            let query = match mode {
                None => sqlx::query(key.sql_delete()),
                Some(mode) => sqlx::query(key.sql_upsert())
                    .bind(mode.as_str())
                    .bind(by)
                    .bind(now())
                    .bind(reason),
            };
            let query = match key {
                OverrideKey::Plan(plan) => query.bind(DbUuid(*plan)),
                OverrideKey::User(user) => query.bind(user.as_str()),
            };
            query
                .execute(&mut *tx)
                .await
                .map_err(db_err("writing", key.entity(), key))?;
            let as_json = |m: Option<ExecutionMode>| m.map_or(Value::Null, |m| Value::from(m.as_str()));
            let row = sqlx::query(&format!(
                "INSERT INTO feature_flag_audit (change_set, name, old_value, new_value, \
                 changed_by, changed_at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 RETURNING {AUDIT_COLUMNS}"
            ))
            .bind(DbUuid(change_set))
            .bind(key.audit_name())
            .bind(Json(as_json(old)))
            .bind(Json(as_json(mode)))
            .bind(by)
            .bind(now())
            .bind(reason)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err("auditing", key.entity(), key))?;
            let entry = audit_entry(&row)?;
            tx.commit()
                .await
                .map_err(db_err("committing", key.entity(), key))?;
            Ok(FlagChangeSet {
                change_set,
                entries: vec![entry],
            })
        }

        async fn read_override(pool: &Pool<$db>, key: &OverrideKey) -> Result<Option<ModeOverride>> {
            let query = sqlx::query(key.sql_select());
            let query = match key {
                OverrideKey::Plan(plan) => query.bind(DbUuid(*plan)),
                OverrideKey::User(user) => query.bind(user.as_str()),
            };
            let row = query
                .fetch_optional(pool)
                .await
                .map_err(db_err("reading", key.entity(), key))?;
            row.map(|r| mode_override(&r, &key.to_string())).transpose()
        }

        #[async_trait]
        impl ModeStore for Pool<$db> {
            async fn load_flags(&self) -> Result<Vec<StoredFlag>> {
                let rows = sqlx::query(
                    "SELECT name, value, updated_at, updated_by FROM feature_flags ORDER BY name",
                )
                .fetch_all(self)
                .await
                .map_err(db_err("loading", "feature flags", "(all)"))?;
                rows.iter().map(|r| stored_flag(r)).collect()
            }

            async fn seed_flags(
                &self,
                defaults: &[FlagWrite],
                by: &str,
                reason: &str,
            ) -> Result<FlagChangeSet> {
                write_flags(self, defaults, by, reason, true).await
            }

            async fn set_flags(
                &self,
                writes: &[FlagWrite],
                by: &str,
                reason: &str,
            ) -> Result<FlagChangeSet> {
                write_flags(self, writes, by, reason, false).await
            }

            async fn flag_audit(&self, limit: i64) -> Result<Vec<FlagAuditEntry>> {
                let rows = sqlx::query(&format!(
                    "SELECT {AUDIT_COLUMNS} FROM feature_flag_audit ORDER BY id DESC LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(self)
                .await
                .map_err(db_err("loading", "feature flag audit", "(all)"))?;
                rows.iter().map(|r| audit_entry(r)).collect()
            }

            async fn flags_version(&self) -> Result<FlagsVersion> {
                let row = sqlx::query(
                    "SELECT (SELECT COALESCE(MAX(id), 0) FROM feature_flag_audit) AS audit, \
                     (SELECT COALESCE(MAX(id), 0) FROM rollback_events) AS rollback",
                )
                .fetch_one(self)
                .await
                .map_err(db_err("reading", "flags version", "(all)"))?;
                Ok(FlagsVersion {
                    audit: row
                        .try_get("audit")
                        .map_err(|e| StoreError::corrupt("flags version", "-", "audit", e))?,
                    rollback: row
                        .try_get("rollback")
                        .map_err(|e| StoreError::corrupt("flags version", "-", "rollback", e))?,
                })
            }

            async fn record_rollback(
                &self,
                rollback: &NewRollback,
            ) -> Result<(RollbackEvent, FlagChangeSet)> {
                check_writes(&rollback.flags)?;
                let change_set = Uuid::new_v4();
                let at = now();
                let mut tx = self
                    .begin()
                    .await
                    .map_err(db_err("starting", "rollback", change_set))?;
                let entries = apply_writes(
                    &mut tx,
                    &rollback.flags,
                    &rollback.created_by,
                    &rollback.reason,
                    change_set,
                    at,
                    false,
                )
                .await?;
                let row = sqlx::query(&format!(
                    "INSERT INTO rollback_events (change_set, kind, trigger_info, drain, reason, \
                     created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     RETURNING {ROLLBACK_COLUMNS}"
                ))
                .bind(DbUuid(change_set))
                .bind(rollback.kind.as_str())
                .bind(rollback.trigger.as_ref().map(Json))
                .bind(rollback.drain)
                .bind(&rollback.reason)
                .bind(&rollback.created_by)
                .bind(at)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err("recording", "rollback", change_set))?;
                let event = rollback_event(&row)?;
                tx.commit()
                    .await
                    .map_err(db_err("committing", "rollback", change_set))?;
                Ok((
                    event,
                    FlagChangeSet {
                        change_set,
                        entries,
                    },
                ))
            }

            async fn rollback_events(&self, limit: i64) -> Result<Vec<RollbackEvent>> {
                let rows = sqlx::query(&format!(
                    "SELECT {ROLLBACK_COLUMNS} FROM rollback_events ORDER BY id DESC LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(self)
                .await
                .map_err(db_err("loading", "rollback events", "(all)"))?;
                rows.iter().map(|r| rollback_event(r)).collect()
            }

            async fn set_plan_override(
                &self,
                plan: PlanId,
                mode: Option<ExecutionMode>,
                by: &str,
                reason: &str,
            ) -> Result<FlagChangeSet> {
                write_override(self, &OverrideKey::Plan(plan), mode, by, reason).await
            }

            async fn plan_override(&self, plan: PlanId) -> Result<Option<ModeOverride>> {
                read_override(self, &OverrideKey::Plan(plan)).await
            }

            async fn set_user_override(
                &self,
                user: &str,
                mode: Option<ExecutionMode>,
                by: &str,
                reason: &str,
            ) -> Result<FlagChangeSet> {
                write_override(self, &OverrideKey::User(user.to_string()), mode, by, reason)
                    .await
            }

            async fn user_override(&self, user: &str) -> Result<Option<ModeOverride>> {
                read_override(self, &OverrideKey::User(user.to_string())).await
            }

            async fn decided_mode(&self, plan: PlanId) -> Result<Option<DecidedMode>> {
                let row = sqlx::query(
                    "SELECT history_id, details FROM masterplan_history \
                     WHERE masterplan_id = $1 AND event = 'execution_mode_set' \
                     ORDER BY history_id DESC LIMIT 1",
                )
                .bind(DbUuid(plan))
                .fetch_optional(self)
                .await
                .map_err(db_err("reading the mode decision of", "plan", plan))?;
                let Some(row) = row else { return Ok(None) };
                let history_id: i64 = row
                    .try_get("history_id")
                    .map_err(|e| StoreError::corrupt("plan", plan, "history_id", e))?;
                let details: Json<Value> = row
                    .try_get("details")
                    .map_err(|e| StoreError::corrupt("plan", plan, "details", e))?;
                let text = |k: &str| details.0.get(k).and_then(Value::as_str).unwrap_or("");
                Ok(Some(DecidedMode {
                    mode: parse_text(text("mode"), "plan", plan, "execution_mode_set.mode")?,
                    reason: text("reason").to_string(),
                    history_id,
                }))
            }
        }
    };
}

mod sqlite {
    use super::*;
    mode_ops!(Sqlite);
}

mod postgres {
    use super::*;
    mode_ops!(Postgres);
}
