//! The two writes of every V2 attempt on SQLite, each run as one synchronous transaction on the
//! pooled connection's own handle.
//!
//! sqlx-sqlite executes every statement on its worker thread, so each `BEGIN`, `UPDATE`, `INSERT`
//! and `COMMIT` costs a channel round trip and two thread wake-ups. An attempt's start and finish
//! are 10-13 statements, which made the store the bottleneck of a V2 run at `--time-scale 0`
//! (0.65 ms per start transaction through the worker against 0.06 ms for the same statements
//! run directly). Here the connection's handle is locked once (one round trip) and the whole
//! transaction runs through rusqlite on the calling thread: `BEGIN IMMEDIATE`, the statements,
//! then `COMMIT`, or `ROLLBACK` on any error. Being synchronous, a transaction cannot be cancelled
//! half-way, so the connection never goes back to the pool inside one.
//!
//! The SQL and the encoding of every value (hyphenated TEXT uuids, RFC3339 TEXT timestamps, JSON
//! TEXT, 0/1 booleans) are those of the sqlx queries in `v2_sql.rs`, which the Postgres backend
//! still uses: rows written here read back through sqlx like any other.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sqlx::SqlitePool;
use uuid::Uuid;

use crate::error::{db_err, ConstraintKind};
use crate::v2::{AtomAttemptFinish, NewAtomRetry, NewValidationResult};
use crate::value::now;
use crate::{HistoryEvent, Result, StoreError};
use mge_core::AtomStatus;

/// Runs `work` in one `BEGIN IMMEDIATE` transaction on the pool's connection, committing when it
/// returns `Ok` and rolling back otherwise.
///
/// The one `unsafe` call of the crate: rusqlite borrows the raw handle sqlx lends while locked.
#[allow(unsafe_code)]
async fn in_transaction<T>(
    pool: &SqlitePool,
    action: &'static str,
    entity: &'static str,
    id: &str,
    work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let mut conn = pool.acquire().await.map_err(db_err(action, entity, id))?;
    let mut locked = conn
        .lock_handle()
        .await
        .map_err(db_err(action, entity, id))?;
    let handle = locked.as_raw_handle();
    // SAFETY: `locked` keeps the connection's mutex held, so nothing else uses the handle until
    // it is dropped, after `db`. A connection made by `from_handle` does not close the handle
    // when dropped; it only finalizes the statements it prepared.
    let mut db = unsafe { Connection::from_handle(handle.as_ptr()) }
        .map_err(sqlite_err(action, entity, id))?;
    let result = (|| {
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite_err(action, entity, id))?;
        let out = work(&tx)?;
        tx.commit().map_err(sqlite_err("committing", entity, id))?;
        Ok(out)
    })();
    drop(db);
    drop(locked);
    result
}

/// [`crate::Store::start_atom_attempt`]: the atom is marked running, the attempt row and the
/// history rows are inserted.
pub(crate) async fn start_atom_attempt(
    pool: &SqlitePool,
    retry: &NewAtomRetry,
    events: &[HistoryEvent],
) -> Result<(Uuid, Vec<i64>)> {
    let at = timestamp(now());
    let atom = retry.atom_id.to_string();
    in_transaction(pool, "starting attempt of", "atom", &atom, |tx| {
        let err = || sqlite_err("starting attempt of", "atom", &atom);
        let changed = tx
            .execute(
                "UPDATE atomic_units SET status = ?2, attempts = ?3, \
                 started_at = COALESCE(started_at, ?4), completed_at = NULL WHERE id = ?1",
                params![atom, AtomStatus::Running.as_str(), retry.attempt_number, at],
            )
            .map_err(err())?;
        if changed == 0 {
            return Err(StoreError::not_found("atom", &atom));
        }
        let id = Uuid::new_v4();
        let attempt = format!("{atom} attempt {}", retry.attempt_number);
        tx.execute(
            "INSERT INTO atom_retry_history (id, atom_id, attempt_number, error_message, \
             error_type, validation_errors, feedback_prompt, temperature, attempted_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id.hyphenated().to_string(),
                atom,
                retry.attempt_number,
                retry.error_message,
                retry.error_type,
                retry.validation_errors.as_ref().map(json_text),
                retry.feedback_prompt,
                retry.temperature,
                at
            ],
        )
        .map_err(sqlite_err("recording", "attempt of atom", &attempt))?;
        let seqs = insert_history(tx, events, &at)?;
        Ok((id, seqs))
    })
    .await
}

/// [`crate::Store::finish_atom_attempt`]: the attempt row gets its result, the atom its status,
/// code and usage, and the validation row and history rows are inserted.
pub(crate) async fn finish_atom_attempt(
    pool: &SqlitePool,
    finish: &AtomAttemptFinish,
    validation: Option<&NewValidationResult>,
    events: &[HistoryEvent],
) -> Result<Vec<i64>> {
    let at = timestamp(now());
    let atom = finish.atom_id.to_string();
    let attempt = format!("{atom} attempt {}", finish.attempt_number);
    in_transaction(pool, "finishing", "attempt of atom", &attempt, |tx| {
        let changed = tx
            .execute(
                "UPDATE atom_retry_history SET error_message = ?3, error_type = ?4, \
                 validation_errors = ?5 WHERE atom_id = ?1 AND attempt_number = ?2",
                params![
                    atom,
                    finish.attempt_number,
                    finish.error_message,
                    finish.error_type,
                    finish.validation_errors.as_ref().map(json_text)
                ],
            )
            .map_err(sqlite_err("finishing", "attempt of atom", &attempt))?;
        if changed == 0 {
            return Err(StoreError::not_found("attempt of atom", &attempt));
        }
        update_atom(tx, finish, &atom, &at)?;
        if let Some(v) = validation {
            insert_validation(tx, v, &atom, &attempt, &at)?;
        }
        insert_history(tx, events, &at)
    })
    .await
}

fn update_atom(
    tx: &rusqlite::Transaction<'_>,
    finish: &AtomAttemptFinish,
    atom: &str,
    at: &str,
) -> Result<()> {
    let terminal = matches!(finish.status, AtomStatus::Succeeded | AtomStatus::Failed);
    let changed = tx
        .execute(
            "UPDATE atomic_units SET status = ?2, code = COALESCE(?3, code), \
             last_error = ?4, validation_passed = ?5, \
             llm_model = COALESCE(?6, llm_model), \
             llm_tokens_input = COALESCE(llm_tokens_input, 0) + ?7, \
             llm_tokens_output = COALESCE(llm_tokens_output, 0) + ?8, \
             llm_cost_usd = COALESCE(llm_cost_usd, 0.0) + ?9, \
             actual_loc = COALESCE(?10, actual_loc), \
             completed_at = COALESCE(?11, completed_at) WHERE id = ?1",
            params![
                atom,
                finish.status.as_str(),
                finish.code,
                finish.error_message,
                finish.error_message.is_none(),
                finish.llm_model,
                i32::try_from(finish.tokens_in.unwrap_or(0)).unwrap_or(i32::MAX),
                i32::try_from(finish.tokens_out.unwrap_or(0)).unwrap_or(i32::MAX),
                finish.cost_usd.unwrap_or(0.0),
                finish.code.as_ref().map(|c| c.lines().count() as i32),
                terminal.then_some(at)
            ],
        )
        .map_err(sqlite_err("recording attempt result of", "atom", atom))?;
    if changed == 0 {
        return Err(StoreError::not_found("atom", atom));
    }
    Ok(())
}

fn insert_validation(
    tx: &rusqlite::Transaction<'_>,
    v: &NewValidationResult,
    atom: &str,
    attempt: &str,
    at: &str,
) -> Result<()> {
    let validated = v
        .atom_id
        .map_or_else(|| atom.to_string(), |a| a.to_string());
    tx.execute(
        "INSERT INTO validation_results (id, masterplan_id, atom_id, validation_level, \
         passed, score, violations, warnings, validated_at, duration_seconds, \
         validator_version) \
         SELECT ?1, masterplan_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 \
         FROM atomic_units WHERE id = ?2",
        params![
            Uuid::new_v4().hyphenated().to_string(),
            validated,
            v.level.as_str(),
            v.passed,
            v.score,
            json_text(&v.violations),
            json_text(&v.warnings),
            at,
            v.duration_seconds,
            v.validator_version
        ],
    )
    .map_err(sqlite_err(
        "recording validation of",
        "attempt of atom",
        attempt,
    ))?;
    Ok(())
}

/// Appends `events` to `masterplan_history`, returning their sequence numbers in order.
fn insert_history(
    tx: &rusqlite::Transaction<'_>,
    events: &[HistoryEvent],
    at: &str,
) -> Result<Vec<i64>> {
    let mut seqs = Vec::with_capacity(events.len());
    for e in events {
        let plan = e.plan.to_string();
        let seq = tx
            .query_row(
                "INSERT INTO masterplan_history (masterplan_id, task_id, event, details, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING history_id",
                params![
                    plan,
                    e.task.map(|t| t.to_string()),
                    e.event,
                    json_text(&e.details),
                    at
                ],
                |row| row.get::<_, i64>(0),
            )
            .optional()
            .map_err(sqlite_err("appending history to", "plan", &plan))?
            .ok_or_else(|| StoreError::not_found("history row of plan", &plan))?;
        seqs.push(seq);
    }
    Ok(seqs)
}

/// A timestamp as sqlx-sqlite writes `DateTime<Utc>`.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// A JSON value as sqlx-sqlite writes `Json<T>`.
fn json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

/// `map_err` helper for rusqlite failures, with the same constraint classification as the sqlx
/// path.
fn sqlite_err(
    action: &'static str,
    entity: &'static str,
    id: impl std::fmt::Display,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| {
        let id = id.to_string();
        if let rusqlite::Error::SqliteFailure(failure, message) = &source {
            use rusqlite::ffi;
            let kind = match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    Some(ConstraintKind::Unique)
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(ConstraintKind::ForeignKey),
                ffi::SQLITE_CONSTRAINT_NOTNULL => Some(ConstraintKind::NotNull),
                ffi::SQLITE_CONSTRAINT_CHECK => Some(ConstraintKind::Check),
                _ => None,
            };
            if let Some(kind) = kind {
                return StoreError::Constraint {
                    entity,
                    id,
                    kind,
                    constraint: None,
                    message: message.clone().unwrap_or_else(|| failure.to_string()),
                };
            }
        }
        StoreError::Sqlite {
            action,
            entity,
            id,
            source,
        }
    }
}
