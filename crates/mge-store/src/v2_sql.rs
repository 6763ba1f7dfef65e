//! The V2 queries, written once and instantiated for each backend by [`v2_ops!`] next to the
//! MVP ones (whose helpers `col` and `insert_rows` they reuse through `super::mvp`).

/// The columns of `atomic_units` written by an insert (26 of them), in bind order.
macro_rules! atom_columns {
    () => {
        "id, task_id, masterplan_id, atom_number, atom_key, name, description, kind, \
         qualified_name, language, file_path, start_byte, end_byte, start_line, end_line, \
         parent_atom_id, estimated_loc, complexity, node_type, context_json, \
         completeness_score, code, status, attempts, atomicity_score, created_at"
    };
}

pub(crate) use atom_columns;

/// Expands to the V2 operations for one sqlx database type, as free functions taking a pool.
macro_rules! v2_ops {
    ($db:ty, $max_binds:expr) => {
        use mge_core::{AtomId, AtomStatus, ExecutionMode, Language, PlanId};
        use sqlx::types::Json;
        use sqlx::Pool;

        use super::mvp::{col, insert_history, insert_rows};
        use $crate::error::db_err;
        use $crate::v2::{
            NewAtom, NewAtomRetry, NewReview, NewValidationResult, StoredAtom,
            StoredAtomRetry, StoredReview, StoredValidationResult, V2Metrics,
        };
        use $crate::value::{now, parse_text, DbUuid};
        use $crate::{Result, StoreError};

        type DbConn = <$db as sqlx::Database>::Connection;

        const ATOM_COLUMNS: &str = $crate::v2_sql::atom_columns!();

        pub(crate) async fn insert_atoms(
            pool: &Pool<$db>,
            plan: PlanId,
            atoms: &[NewAtom],
        ) -> Result<()> {
            let at = now();
            let mut tx = pool
                .begin()
                .await
                .map_err(db_err("starting atom insert of", "plan", plan))?;
            let head = concat!("INSERT INTO atomic_units (", $crate::v2_sql::atom_columns!(), ") ");
            insert_rows(&mut tx, head, 26, atoms, "atoms of plan", &plan, |b, a| {
                b.push_bind(DbUuid(a.id))
                    .push_bind(DbUuid(a.task_id))
                    .push_bind(DbUuid(plan))
                    .push_bind(a.atom_number)
                    .push_bind(a.atom_key.as_str())
                    .push_bind(a.name.as_str())
                    .push_bind(a.description.as_str())
                    .push_bind(a.kind.as_str())
                    .push_bind(a.qualified_name.as_deref())
                    .push_bind(a.language.as_str())
                    .push_bind(a.file_path.as_str())
                    .push_bind(a.start_byte)
                    .push_bind(a.end_byte)
                    .push_bind(a.start_line)
                    .push_bind(a.end_line)
                    .push_bind(a.parent_atom_id.map(DbUuid))
                    .push_bind(a.estimated_loc)
                    .push_bind(a.complexity)
                    .push_bind(a.node_type.as_deref())
                    .push_bind(Json(&a.context))
                    .push_bind(a.completeness_score)
                    .push_bind(a.code.as_deref())
                    .push_bind("pending")
                    .push_bind(0_i32)
                    .push_bind(a.atomicity_score)
                    .push_bind(at);
            })
            .await?;
            add_to_atom_totals(&mut tx, plan, atoms).await?;
            tx.commit()
                .await
                .map_err(db_err("committing atoms of", "plan", plan))?;
            Ok(())
        }

        /// Folds a batch of new atoms into the plan's V2 atom metrics (count and mean lines per
        /// atom) without rescanning the plan's earlier atoms.
        async fn add_to_atom_totals(conn: &mut DbConn, plan: PlanId, atoms: &[NewAtom]) -> Result<()> {
            let count = atoms.len() as i32;
            let lines: f64 = atoms
                .iter()
                .map(|a| f64::from(a.end_line - a.start_line + 1))
                .sum();
            let done = sqlx::query(
                "UPDATE masterplans SET \
                 v2_total_atoms = COALESCE(v2_total_atoms, 0) + $2, \
                 v2_avg_atom_loc = CASE WHEN COALESCE(v2_total_atoms, 0) + $2 = 0 THEN 0.0 \
                     ELSE (COALESCE(v2_avg_atom_loc, 0.0) * COALESCE(v2_total_atoms, 0) + $3) \
                          / (COALESCE(v2_total_atoms, 0) + $2) END \
                 WHERE masterplan_id = $1",
            )
            .bind(DbUuid(plan))
            .bind(count)
            .bind(lines)
            .execute(&mut *conn)
            .await
            .map_err(db_err("updating atom metrics of", "plan", plan))?;
            if done.rows_affected() == 0 {
                return Err(StoreError::not_found("plan", plan));
            }
            Ok(())
        }

        pub(crate) async fn load_atoms(pool: &Pool<$db>, plan: PlanId) -> Result<Vec<StoredAtom>> {
            let sql = format!(
                "SELECT a.{}, a.wave_number, a.last_error, a.validation_passed, \
                 a.confidence_score, a.needs_human_review, a.human_reviewed, a.llm_model, \
                 a.llm_tokens_input, a.llm_tokens_output, a.llm_cost_usd, a.started_at, \
                 a.completed_at \
                 FROM atomic_units a JOIN masterplan_tasks t ON t.task_id = a.task_id \
                 WHERE a.masterplan_id = $1 ORDER BY t.task_number, a.atom_number",
                ATOM_COLUMNS.replace(", ", ", a.")
            );
            let rows = sqlx::query(&sql)
                .bind(DbUuid(plan))
                .fetch_all(pool)
                .await
                .map_err(db_err("loading atoms of", "plan", plan))?;
            rows.iter()
                .map(|r| {
                    let id = col::<DbUuid>(r, "id", "atom of plan", &plan)?.0;
                    let e = "atom";
                    let language: String = col(r, "language", e, &id)?;
                    let status: Option<String> = col(r, "status", e, &id)?;
                    Ok(StoredAtom {
                        atom: NewAtom {
                            id,
                            task_id: col::<DbUuid>(r, "task_id", e, &id)?.0,
                            atom_key: col(r, "atom_key", e, &id)?,
                            atom_number: col(r, "atom_number", e, &id)?,
                            name: col(r, "name", e, &id)?,
                            description: col(r, "description", e, &id)?,
                            kind: col(r, "kind", e, &id)?,
                            node_type: col(r, "node_type", e, &id)?,
                            qualified_name: col(r, "qualified_name", e, &id)?,
                            language: parse_text::<Language>(&language, e, id, "language")?,
                            file_path: col(r, "file_path", e, &id)?,
                            start_byte: col(r, "start_byte", e, &id)?,
                            end_byte: col(r, "end_byte", e, &id)?,
                            start_line: col(r, "start_line", e, &id)?,
                            end_line: col(r, "end_line", e, &id)?,
                            parent_atom_id: col::<Option<DbUuid>>(r, "parent_atom_id", e, &id)?
                                .map(|u| u.0),
                            estimated_loc: col::<Option<i32>>(r, "estimated_loc", e, &id)?
                                .unwrap_or(10),
                            complexity: col::<Option<f64>>(r, "complexity", e, &id)?
                                .unwrap_or(1.0),
                            context: col::<Json<serde_json::Value>>(r, "context_json", e, &id)?.0,
                            completeness_score: col::<Option<f64>>(r, "completeness_score", e, &id)?
                                .unwrap_or(0.0),
                            atomicity_score: col(r, "atomicity_score", e, &id)?,
                            code: col(r, "code", e, &id)?,
                        },
                        status: parse_text(status.as_deref().unwrap_or("pending"), e, id, "status")?,
                        attempts: col::<Option<i32>>(r, "attempts", e, &id)?.unwrap_or(0),
                        wave_number: col(r, "wave_number", e, &id)?,
                        last_error: col(r, "last_error", e, &id)?,
                        validation_passed: col(r, "validation_passed", e, &id)?,
                        confidence_score: col(r, "confidence_score", e, &id)?,
                        needs_human_review: col::<Option<bool>>(r, "needs_human_review", e, &id)?
                            .unwrap_or(false),
                        human_reviewed: col::<Option<bool>>(r, "human_reviewed", e, &id)?
                            .unwrap_or(false),
                        llm_model: col(r, "llm_model", e, &id)?,
                        llm_tokens_input: col::<Option<i32>>(r, "llm_tokens_input", e, &id)?
                            .map(i64::from),
                        llm_tokens_output: col::<Option<i32>>(r, "llm_tokens_output", e, &id)?
                            .map(i64::from),
                        llm_cost_usd: col(r, "llm_cost_usd", e, &id)?,
                        created_at: col(r, "created_at", e, &id)?,
                        started_at: col(r, "started_at", e, &id)?,
                        completed_at: col(r, "completed_at", e, &id)?,
                    })
                })
                .collect()
        }

        pub(crate) async fn set_atom_status(
            pool: &Pool<$db>,
            atom: AtomId,
            status: AtomStatus,
            error: Option<&str>,
        ) -> Result<()> {
            let terminal = matches!(
                status,
                AtomStatus::Succeeded | AtomStatus::Failed | AtomStatus::Blocked
            );
            let done = sqlx::query(
                "UPDATE atomic_units SET status = $2, last_error = $3, \
                 completed_at = COALESCE($4, completed_at) WHERE id = $1",
            )
            .bind(DbUuid(atom))
            .bind(status.as_str())
            .bind(error)
            .bind(terminal.then(now))
            .execute(pool)
            .await
            .map_err(db_err("setting status of", "atom", atom))?;
            if done.rows_affected() == 0 {
                return Err(StoreError::not_found("atom", atom));
            }
            Ok(())
        }

        pub(crate) async fn set_execution_mode(
            pool: &Pool<$db>,
            plan: PlanId,
            mode: ExecutionMode,
            reason: &str,
        ) -> Result<i64> {
            let at = now();
            let mut tx = pool
                .begin()
                .await
                .map_err(db_err("starting mode change of", "plan", plan))?;
            let done = sqlx::query(
                "UPDATE masterplans SET execution_mode = $2 WHERE masterplan_id = $1",
            )
            .bind(DbUuid(plan))
            .bind(mode.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err("setting execution mode of", "plan", plan))?;
            if done.rows_affected() == 0 {
                return Err(StoreError::not_found("plan", plan));
            }
            let details = serde_json::json!({ "mode": mode.as_str(), "reason": reason });
            let history_id =
                insert_history(&mut tx, plan, None, "execution_mode_set", &details, at).await?;
            sqlx::query("UPDATE masterplan_history SET execution_mode = $2 WHERE history_id = $1")
                .bind(history_id)
                .bind(mode.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err("recording execution mode in history of", "plan", plan))?;
            tx.commit()
                .await
                .map_err(db_err("committing mode change of", "plan", plan))?;
            Ok(history_id)
        }

        pub(crate) async fn execution_mode(
            pool: &Pool<$db>,
            plan: PlanId,
        ) -> Result<ExecutionMode> {
            let row = sqlx::query("SELECT execution_mode FROM masterplans WHERE masterplan_id = $1")
                .bind(DbUuid(plan))
                .fetch_optional(pool)
                .await
                .map_err(db_err("reading execution mode of", "plan", plan))?
                .ok_or_else(|| StoreError::not_found("plan", plan))?;
            let mode: Option<String> = col(&row, "execution_mode", "plan", &plan)?;
            parse_text(mode.as_deref().unwrap_or("mvp"), "plan", plan, "execution_mode")
        }

        pub(crate) async fn record_atomization_time(
            pool: &Pool<$db>,
            plan: PlanId,
            seconds: f64,
        ) -> Result<()> {
            let done = sqlx::query(
                "UPDATE masterplans SET v2_atomization_time_seconds = $2 WHERE masterplan_id = $1",
            )
            .bind(DbUuid(plan))
            .bind(seconds)
            .execute(pool)
            .await
            .map_err(db_err("recording atomization time of", "plan", plan))?;
            if done.rows_affected() == 0 {
                return Err(StoreError::not_found("plan", plan));
            }
            Ok(())
        }

        pub(crate) async fn load_v2_metrics(pool: &Pool<$db>, plan: PlanId) -> Result<V2Metrics> {
            let r = sqlx::query(
                "SELECT v2_total_atoms, v2_avg_atom_loc, v2_atomization_time_seconds, \
                 v2_graph_build_time_seconds FROM masterplans WHERE masterplan_id = $1",
            )
            .bind(DbUuid(plan))
            .fetch_optional(pool)
            .await
            .map_err(db_err("loading V2 metrics of", "plan", plan))?
            .ok_or_else(|| StoreError::not_found("plan", plan))?;
            let e = "plan";
            Ok(V2Metrics {
                total_atoms: col::<Option<i32>>(&r, "v2_total_atoms", e, &plan)?.unwrap_or(0),
                avg_atom_loc: col::<Option<f64>>(&r, "v2_avg_atom_loc", e, &plan)?.unwrap_or(0.0),
                atomization_time_seconds: col(&r, "v2_atomization_time_seconds", e, &plan)?,
                graph_build_time_seconds: col(&r, "v2_graph_build_time_seconds", e, &plan)?,
            })
        }

        pub(crate) async fn insert_validation_results(
            pool: &Pool<$db>,
            plan: PlanId,
            results: &[NewValidationResult],
        ) -> Result<()> {
            let at = now();
            let mut tx = pool
                .begin()
                .await
                .map_err(db_err("starting validation insert of", "plan", plan))?;
            insert_rows(
                &mut tx,
                "INSERT INTO validation_results (id, masterplan_id, atom_id, validation_level, \
                 passed, score, violations, warnings, validated_at, duration_seconds, \
                 validator_version) ",
                11,
                results,
                "validation results of plan",
                &plan,
                |b, v| {
                    b.push_bind(DbUuid(uuid::Uuid::new_v4()))
                        .push_bind(DbUuid(plan))
                        .push_bind(v.atom_id.map(DbUuid))
                        .push_bind(v.level.as_str())
                        .push_bind(v.passed)
                        .push_bind(v.score)
                        .push_bind(Json(&v.violations))
                        .push_bind(Json(&v.warnings))
                        .push_bind(at)
                        .push_bind(v.duration_seconds)
                        .push_bind(v.validator_version.as_deref());
                },
            )
            .await?;
            tx.commit()
                .await
                .map_err(db_err("committing validation results of", "plan", plan))
        }

        pub(crate) async fn load_validation_results(
            pool: &Pool<$db>,
            plan: PlanId,
        ) -> Result<Vec<StoredValidationResult>> {
            let rows = sqlx::query(
                "SELECT id, atom_id, validation_level, passed, score, violations, warnings, \
                 validated_at, duration_seconds, validator_version FROM validation_results \
                 WHERE masterplan_id = $1 ORDER BY validated_at, id",
            )
            .bind(DbUuid(plan))
            .fetch_all(pool)
            .await
            .map_err(db_err("loading", "validation results of plan", plan))?;
            rows.iter()
                .map(|r| {
                    let id = col::<DbUuid>(r, "id", "validation result of plan", &plan)?.0;
                    let e = "validation result";
                    let level: String = col(r, "validation_level", e, &id)?;
                    let json = |name| -> Result<serde_json::Value> {
                        Ok(col::<Option<Json<serde_json::Value>>>(r, name, e, &id)?
                            .map(|j| j.0)
                            .unwrap_or(serde_json::Value::Null))
                    };
                    Ok(StoredValidationResult {
                        id,
                        result: NewValidationResult {
                            atom_id: col::<Option<DbUuid>>(r, "atom_id", e, &id)?.map(|u| u.0),
                            level: parse_text(&level, e, id, "validation_level")?,
                            passed: col(r, "passed", e, &id)?,
                            score: col(r, "score", e, &id)?,
                            violations: json("violations")?,
                            warnings: json("warnings")?,
                            duration_seconds: col(r, "duration_seconds", e, &id)?,
                            validator_version: col(r, "validator_version", e, &id)?,
                        },
                        validated_at: col(r, "validated_at", e, &id)?,
                    })
                })
                .collect()
        }

        async fn insert_retry(
            conn: &mut DbConn,
            retry: &NewAtomRetry,
            at: chrono::DateTime<chrono::Utc>,
        ) -> Result<uuid::Uuid> {
            let id = uuid::Uuid::new_v4();
            sqlx::query(
                "INSERT INTO atom_retry_history (id, atom_id, attempt_number, error_message, \
                 error_type, validation_errors, feedback_prompt, temperature, attempted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(DbUuid(id))
            .bind(DbUuid(retry.atom_id))
            .bind(retry.attempt_number)
            .bind(retry.error_message.as_deref())
            .bind(retry.error_type.as_deref())
            .bind(retry.validation_errors.as_ref().map(Json))
            .bind(retry.feedback_prompt.as_deref())
            .bind(retry.temperature)
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(db_err(
                "recording",
                "attempt of atom",
                format!("{} attempt {}", retry.atom_id, retry.attempt_number),
            ))?;
            Ok(id)
        }

        pub(crate) async fn record_atom_retry(
            pool: &Pool<$db>,
            retry: &NewAtomRetry,
        ) -> Result<uuid::Uuid> {
            let mut conn = pool
                .acquire()
                .await
                .map_err(db_err("recording retry of", "atom", retry.atom_id))?;
            insert_retry(&mut conn, retry, now()).await
        }

        pub(crate) async fn load_atom_retries(
            pool: &Pool<$db>,
            atom: AtomId,
        ) -> Result<Vec<StoredAtomRetry>> {
            let rows = sqlx::query(
                "SELECT id, atom_id, attempt_number, error_message, error_type, \
                 validation_errors, feedback_prompt, temperature, attempted_at \
                 FROM atom_retry_history WHERE atom_id = $1 ORDER BY attempt_number",
            )
            .bind(DbUuid(atom))
            .fetch_all(pool)
            .await
            .map_err(db_err("loading", "retries of atom", atom))?;
            rows.iter()
                .map(|r| {
                    let id = col::<DbUuid>(r, "id", "retry of atom", &atom)?.0;
                    let e = "atom retry";
                    Ok(StoredAtomRetry {
                        id,
                        retry: NewAtomRetry {
                            atom_id: col::<DbUuid>(r, "atom_id", e, &id)?.0,
                            attempt_number: col(r, "attempt_number", e, &id)?,
                            error_message: col(r, "error_message", e, &id)?,
                            error_type: col(r, "error_type", e, &id)?,
                            validation_errors: col::<Option<Json<serde_json::Value>>>(
                                r,
                                "validation_errors",
                                e,
                                &id,
                            )?
                            .map(|j| j.0),
                            feedback_prompt: col(r, "feedback_prompt", e, &id)?,
                            temperature: col(r, "temperature", e, &id)?,
                        },
                        attempted_at: col(r, "attempted_at", e, &id)?,
                    })
                })
                .collect()
        }

        pub(crate) async fn enqueue_review(
            pool: &Pool<$db>,
            plan: PlanId,
            review: &NewReview,
        ) -> Result<uuid::Uuid> {
            let id = uuid::Uuid::new_v4();
            let mut tx = pool
                .begin()
                .await
                .map_err(db_err("starting review of", "atom", review.atom_id))?;
            sqlx::query(
                "INSERT INTO human_review_queue (id, atom_id, masterplan_id, confidence_score, \
                 reasons, status, queued_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(DbUuid(id))
            .bind(DbUuid(review.atom_id))
            .bind(DbUuid(plan))
            .bind(review.confidence_score)
            .bind(Json(&review.reasons))
            .bind("pending")
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(db_err("queueing review of", "atom", review.atom_id))?;
            sqlx::query(
                "UPDATE atomic_units SET needs_human_review = $2, confidence_score = $3 \
                 WHERE id = $1",
            )
            .bind(DbUuid(review.atom_id))
            .bind(true)
            .bind(review.confidence_score)
            .execute(&mut *tx)
            .await
            .map_err(db_err("flagging for review", "atom", review.atom_id))?;
            tx.commit()
                .await
                .map_err(db_err("committing review of", "atom", review.atom_id))?;
            Ok(id)
        }

        pub(crate) async fn load_review_queue(
            pool: &Pool<$db>,
            plan: PlanId,
        ) -> Result<Vec<StoredReview>> {
            let rows = sqlx::query(
                "SELECT id, atom_id, confidence_score, reasons, status, assigned_to, \
                 human_decision, human_edits, human_comments, queued_at, reviewed_at \
                 FROM human_review_queue WHERE masterplan_id = $1 \
                 ORDER BY confidence_score, queued_at, id",
            )
            .bind(DbUuid(plan))
            .fetch_all(pool)
            .await
            .map_err(db_err("loading", "review queue of plan", plan))?;
            rows.iter()
                .map(|r| {
                    let id = col::<DbUuid>(r, "id", "review of plan", &plan)?.0;
                    let e = "review";
                    let status: Option<String> = col(r, "status", e, &id)?;
                    Ok(StoredReview {
                        id,
                        plan_id: plan,
                        atom_id: col::<DbUuid>(r, "atom_id", e, &id)?.0,
                        confidence_score: col(r, "confidence_score", e, &id)?,
                        reasons: col::<Option<Json<serde_json::Value>>>(r, "reasons", e, &id)?
                            .map(|j| j.0)
                            .unwrap_or(serde_json::Value::Null),
                        status: parse_text(status.as_deref().unwrap_or("pending"), e, id, "status")?,
                        assigned_to: col(r, "assigned_to", e, &id)?,
                        human_decision: col(r, "human_decision", e, &id)?,
                        human_edits: col(r, "human_edits", e, &id)?,
                        human_comments: col(r, "human_comments", e, &id)?,
                        queued_at: col(r, "queued_at", e, &id)?,
                        reviewed_at: col(r, "reviewed_at", e, &id)?,
                    })
                })
                .collect()
        }
    };
}

pub(crate) use v2_ops;
