//! The two writes of every V2 attempt on Postgres, each one statement.
//!
//! An attempt's start and finish were 10-13 statements in two explicit transactions, one network
//! round trip each. Here each is a single statement whose data-modifying CTEs do every write: a
//! single statement is atomic, so there is no `BEGIN`/`COMMIT` either, and an error anywhere
//! (a duplicate attempt number, a history row naming a plan that does not exist) writes
//! nothing. Every write hangs off the CTE that updates the atom or the attempt, so a missing row
//! writes nothing and is reported as not found. (Postgres runs every data-modifying CTE to
//! completion whether or not the final `SELECT` reads it.)
//!
//! History rows are inserted from `unnest` arrays in event order; their identity values are
//! drawn in that order, so the sorted ids are the events' sequence numbers in order.

use sqlx::types::Json;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::error::db_err;
use crate::v2::{AtomAttemptFinish, NewAtomRetry, NewValidationResult};
use crate::value::{now, DbUuid};
use crate::{HistoryEvent, Result, StoreError};
use mge_core::AtomStatus;

/// The history CTE, inserting one row per element of the arrays bound at `$first..$first+3`
/// for each row of `source`, stamped with the timestamp bound at `$at`.
fn history_cte(source: &str, first: usize, at: usize) -> String {
    format!(
        "hist AS (INSERT INTO masterplan_history (masterplan_id, task_id, event, details, \
         created_at) SELECT e.plan, e.task, e.event, e.details, ${at} FROM {source}, \
         unnest(${p}::uuid[], ${t}::uuid[], ${n}::text[], ${d}::jsonb[]) \
         WITH ORDINALITY AS e(plan, task, event, details, ord) ORDER BY e.ord \
         RETURNING history_id)",
        p = first,
        t = first + 1,
        n = first + 2,
        d = first + 3,
    )
}

/// The four history arrays of `events`, bound in the order [`history_cte`] expects.
fn bind_events<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    events: &'q [HistoryEvent],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(events.iter().map(|e| e.plan).collect::<Vec<Uuid>>())
        .bind(events.iter().map(|e| e.task).collect::<Vec<Option<Uuid>>>())
        .bind(
            events
                .iter()
                .map(|e| e.event.as_str())
                .collect::<Vec<&str>>(),
        )
        .bind(events.iter().map(|e| Json(&e.details)).collect::<Vec<_>>())
}

/// Reads the `seqs` column: the history ids in event order.
fn seqs(row: &sqlx::postgres::PgRow, plan_action: &'static str, id: &str) -> Result<Vec<i64>> {
    let mut seqs: Vec<i64> = row
        .try_get::<Option<Vec<i64>>, _>("seqs")
        .map_err(db_err(plan_action, "history of atom", id))?
        .unwrap_or_default();
    seqs.sort_unstable();
    Ok(seqs)
}

/// [`crate::Store::start_atom_attempt`]: the atom is marked running, the attempt row and the
/// history rows are inserted.
pub(crate) async fn start_atom_attempt(
    pool: &PgPool,
    retry: &NewAtomRetry,
    events: &[HistoryEvent],
) -> Result<(Uuid, Vec<i64>)> {
    let at = now();
    let atom = retry.atom_id;
    let id = Uuid::new_v4();
    let sql = format!(
        "WITH atom AS (UPDATE atomic_units SET status = $2, attempts = $3, \
         started_at = COALESCE(started_at, $4), completed_at = NULL WHERE id = $1 RETURNING id), \
         attempt AS (INSERT INTO atom_retry_history (id, atom_id, attempt_number, error_message, \
         error_type, validation_errors, feedback_prompt, temperature, attempted_at) \
         SELECT $5, id, $3, $6, $7, $8, $9, $10, $4 FROM atom RETURNING id), \
         {} \
         SELECT (SELECT count(*) FROM atom) AS atoms, (SELECT count(*) FROM attempt) AS attempts, \
         (SELECT array_agg(history_id) FROM hist) AS seqs",
        history_cte("atom", 11, 4)
    );
    let query = sqlx::query(&sql)
        .bind(DbUuid(atom))
        .bind(AtomStatus::Running.as_str())
        .bind(retry.attempt_number)
        .bind(at)
        .bind(DbUuid(id))
        .bind(retry.error_message.as_deref())
        .bind(retry.error_type.as_deref())
        .bind(retry.validation_errors.as_ref().map(Json))
        .bind(retry.feedback_prompt.as_deref())
        .bind(retry.temperature);
    let row = bind_events(query, events)
        .fetch_one(pool)
        .await
        .map_err(db_err(
            "recording",
            "attempt of atom",
            format!("{atom} attempt {}", retry.attempt_number),
        ))?;
    let atoms: i64 = row
        .try_get("atoms")
        .map_err(db_err("starting attempt of", "atom", atom))?;
    if atoms == 0 {
        return Err(StoreError::not_found("atom", atom));
    }
    Ok((id, seqs(&row, "starting attempt of", &atom.to_string())?))
}

/// [`crate::Store::finish_atom_attempt`]: the attempt row gets its result, the atom its status,
/// code and usage, and the validation row and history rows are inserted.
pub(crate) async fn finish_atom_attempt(
    pool: &PgPool,
    finish: &AtomAttemptFinish,
    validation: Option<&NewValidationResult>,
    events: &[HistoryEvent],
) -> Result<Vec<i64>> {
    let at = now();
    let atom = finish.atom_id;
    let attempt = format!("{atom} attempt {}", finish.attempt_number);
    let terminal = matches!(finish.status, AtomStatus::Succeeded | AtomStatus::Failed);
    let sql = format!(
        "WITH attempt AS (UPDATE atom_retry_history SET error_message = $4, error_type = $5, \
         validation_errors = $6 WHERE atom_id = $1 AND attempt_number = $2 RETURNING atom_id), \
         atom AS (UPDATE atomic_units SET status = $7, code = COALESCE($8, code), \
         last_error = $4, validation_passed = $9, llm_model = COALESCE($10, llm_model), \
         llm_tokens_input = COALESCE(llm_tokens_input, 0) + $11, \
         llm_tokens_output = COALESCE(llm_tokens_output, 0) + $12, \
         llm_cost_usd = COALESCE(llm_cost_usd, 0.0) + $13, \
         actual_loc = COALESCE($14, actual_loc), completed_at = COALESCE($15, completed_at) \
         WHERE id = $1 AND EXISTS (SELECT 1 FROM attempt) RETURNING id), \
         validation AS (INSERT INTO validation_results (id, masterplan_id, atom_id, \
         validation_level, passed, score, violations, warnings, validated_at, duration_seconds, \
         validator_version) SELECT $16, u.masterplan_id, $17, $18, $19, $20, $21, $22, $3, $23, \
         $24 FROM atomic_units u WHERE u.id = $17 AND $25 AND EXISTS (SELECT 1 FROM atom) \
         RETURNING id), \
         {} \
         SELECT (SELECT count(*) FROM attempt) AS attempts, (SELECT count(*) FROM atom) AS atoms, \
         (SELECT array_agg(history_id) FROM hist) AS seqs",
        history_cte("atom", 26, 3)
    );
    let query = sqlx::query(&sql)
        .bind(DbUuid(atom))
        .bind(finish.attempt_number)
        .bind(at)
        .bind(finish.error_message.as_deref())
        .bind(finish.error_type.as_str())
        .bind(finish.validation_errors.as_ref().map(Json))
        .bind(finish.status.as_str())
        .bind(finish.code.as_deref())
        .bind(finish.error_message.is_none())
        .bind(finish.llm_model.as_deref())
        .bind(i32::try_from(finish.tokens_in.unwrap_or(0)).unwrap_or(i32::MAX))
        .bind(i32::try_from(finish.tokens_out.unwrap_or(0)).unwrap_or(i32::MAX))
        .bind(finish.cost_usd.unwrap_or(0.0))
        .bind(finish.code.as_ref().map(|c| c.lines().count() as i32))
        .bind(terminal.then_some(at));
    let query = match validation {
        Some(v) => query
            .bind(DbUuid(Uuid::new_v4()))
            .bind(DbUuid(v.atom_id.unwrap_or(atom)))
            .bind(v.level.as_str())
            .bind(v.passed)
            .bind(v.score)
            .bind(Json(&v.violations))
            .bind(Json(&v.warnings))
            .bind(v.duration_seconds)
            .bind(v.validator_version.as_deref())
            .bind(true),
        None => query
            .bind(DbUuid(Uuid::new_v4()))
            .bind(DbUuid(atom))
            .bind("")
            .bind(false)
            .bind(None::<f64>)
            .bind(None::<Json<serde_json::Value>>)
            .bind(None::<Json<serde_json::Value>>)
            .bind(None::<f64>)
            .bind(None::<&str>)
            .bind(false),
    };
    let row = bind_events(query, events)
        .fetch_one(pool)
        .await
        .map_err(db_err("finishing", "attempt of atom", &attempt))?;
    let count = |column: &str| -> Result<i64> {
        row.try_get(column)
            .map_err(db_err("finishing", "attempt of atom", &attempt))
    };
    if count("attempts")? == 0 {
        return Err(StoreError::not_found("attempt of atom", attempt));
    }
    if count("atoms")? == 0 {
        return Err(StoreError::not_found("atom", atom));
    }
    seqs(&row, "finishing", &attempt)
}
