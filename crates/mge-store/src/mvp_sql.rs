//! The MVP queries, written once and instantiated for each backend by [`mvp_ops!`].
//!
//! Both backends accept the same SQL text (`$n` placeholders, `RETURNING`); the only typed
//! difference, UUID columns, is absorbed by [`crate::value::DbUuid`]. Every statement here reads
//! or writes tables and columns of migration 0001 only.

/// Expands to the MVP operations for one sqlx database type, as free functions taking a pool.
macro_rules! mvp_ops {
    ($db:ty, $max_binds:expr) => {
        use chrono::{DateTime, Utc};
        use mge_core::{Language, PlanId, TaskId, TaskStatus};
        use mge_plan::{Milestone, Phase, Plan, Subtask, Task};
        use sqlx::types::Json;
        use sqlx::{Pool, QueryBuilder, Row};

        use $crate::error::db_err;
        use $crate::mvp::{
            HistoryEntry, Outcome, PlanRows, PlanSummary, StatusEffects, StoredPhase, StoredPlan,
            StoredSubtask, StoredTask, SubtaskId,
        };
        use $crate::value::{now, parse_text, rows_per_statement, DbUuid};
        use $crate::{Result, StoreError};

        type DbRow = <$db as sqlx::Database>::Row;
        type DbConn = <$db as sqlx::Database>::Connection;

        /// Reads one column, naming the entity, id and column when it cannot be decoded.
        pub(crate) fn col<'r, T>(
            row: &'r DbRow,
            name: &'static str,
            entity: &'static str,
            id: &dyn std::fmt::Display,
        ) -> Result<T>
        where
            T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
        {
            row.try_get::<T, _>(name)
                .map_err(|e| StoreError::corrupt(entity, id, name, e))
        }

        /// Inserts `rows` with multi-row `INSERT`s, as many rows per statement as the bind
        /// parameter limit allows.
        pub(crate) async fn insert_rows<'a, T, F>(
            conn: &mut DbConn,
            head: &'static str,
            columns: usize,
            rows: &'a [T],
            entity: &'static str,
            id: &(dyn std::fmt::Display + Sync),
            mut bind: F,
        ) -> Result<()>
        where
            F: FnMut(&mut sqlx::query_builder::Separated<'_, 'a, $db, &'static str>, &'a T),
        {
            for chunk in rows.chunks(rows_per_statement($max_binds, columns)) {
                let mut qb = QueryBuilder::<'a, $db>::new(head);
                qb.push_values(chunk, |mut sep, row| bind(&mut sep, row));
                qb.build()
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err("inserting", entity, id))?;
            }
            Ok(())
        }

        pub(crate) async fn import_plan(
            pool: &Pool<$db>,
            plan: &Plan,
            owner: &str,
        ) -> Result<PlanId> {
            let rows = PlanRows::build(plan, owner)?;
            let pid = rows.plan_id;
            let at = rows.created_at;
            let mut tx = pool
                .begin()
                .await
                .map_err(db_err("starting import of", "plan", pid))?;
            sqlx::query(
                "INSERT INTO masterplans (masterplan_id, user_id, name, description, status, \
                 plan_source, reference_dir, test_command, total_phases, total_milestones, \
                 total_tasks, total_subtasks, current_version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13)",
            )
            .bind(DbUuid(pid))
            .bind(&rows.owner)
            .bind(&plan.name)
            .bind(&plan.description)
            .bind(TaskStatus::Pending.as_str())
            .bind(Json(&rows.source))
            .bind(rows.reference_dir.as_deref())
            .bind(plan.test_command.as_deref())
            .bind(rows.phases.len() as i32)
            .bind(rows.milestones.len() as i32)
            .bind(rows.tasks.len() as i32)
            .bind(rows.subtasks.len() as i32)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db_err("inserting", "plan", pid))?;

            insert_rows(
                &mut tx,
                "INSERT INTO masterplan_phases (phase_id, masterplan_id, phase_number, name, \
                 description, status, created_at) ",
                7,
                &rows.phases,
                "phase of plan",
                &pid,
                |b, p| {
                    b.push_bind(DbUuid(p.id))
                        .push_bind(DbUuid(pid))
                        .push_bind(p.number)
                        .push_bind(p.name.as_str())
                        .push_bind(p.description.as_deref())
                        .push_bind(TaskStatus::Pending.as_str())
                        .push_bind(at);
                },
            )
            .await?;
            insert_rows(
                &mut tx,
                "INSERT INTO masterplan_milestones (milestone_id, masterplan_id, phase_id, \
                 milestone_number, name, description, status, created_at) ",
                8,
                &rows.milestones,
                "milestone of plan",
                &pid,
                |b, m| {
                    b.push_bind(DbUuid(m.id))
                        .push_bind(DbUuid(pid))
                        .push_bind(DbUuid(m.phase_id))
                        .push_bind(m.number)
                        .push_bind(m.name.as_str())
                        .push_bind(m.description.as_deref())
                        .push_bind(TaskStatus::Pending.as_str())
                        .push_bind(at);
                },
            )
            .await?;
            insert_rows(
                &mut tx,
                "INSERT INTO masterplan_tasks (task_id, masterplan_id, phase_id, milestone_id, \
                 task_number, task_key, name, description, language, target_path, depends_on, \
                 skeleton, status, attempts, created_at, updated_at) ",
                16,
                &rows.tasks,
                "task of plan",
                &pid,
                |b, t| {
                    b.push_bind(DbUuid(t.id))
                        .push_bind(DbUuid(pid))
                        .push_bind(DbUuid(t.phase_id))
                        .push_bind(DbUuid(t.milestone_id))
                        .push_bind(t.number)
                        .push_bind(t.key.as_str())
                        .push_bind(t.name.as_str())
                        .push_bind(t.description.as_str())
                        .push_bind(t.language)
                        .push_bind(t.target.as_str())
                        .push_bind(Json(&t.depends_on))
                        .push_bind(t.skeleton.as_deref())
                        .push_bind(TaskStatus::Pending.as_str())
                        .push_bind(0_i32)
                        .push_bind(at)
                        .push_bind(at);
                },
            )
            .await?;
            insert_rows(
                &mut tx,
                "INSERT INTO masterplan_subtasks (subtask_id, masterplan_id, task_id, \
                 subtask_number, name, description, line_start, line_end, status, attempts, \
                 created_at, updated_at) ",
                12,
                &rows.subtasks,
                "subtask of plan",
                &pid,
                |b, s| {
                    b.push_bind(DbUuid(s.id))
                        .push_bind(DbUuid(pid))
                        .push_bind(DbUuid(s.task_id))
                        .push_bind(s.number)
                        .push_bind(s.name.as_str())
                        .push_bind(s.description.as_deref())
                        .push_bind(s.line_start)
                        .push_bind(s.line_end)
                        .push_bind(TaskStatus::Pending.as_str())
                        .push_bind(0_i32)
                        .push_bind(at)
                        .push_bind(at);
                },
            )
            .await?;
            sqlx::query(
                "INSERT INTO masterplan_versions (version_id, masterplan_id, version_number, \
                 plan_source, change_summary, created_by, created_at) \
                 VALUES ($1, $2, 1, $3, $4, $5, $6)",
            )
            .bind(DbUuid(uuid::Uuid::new_v4()))
            .bind(DbUuid(pid))
            .bind(Json(&rows.source))
            .bind("imported")
            .bind(&rows.owner)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db_err("inserting", "version 1 of plan", pid))?;
            let details = serde_json::json!({
                "name": plan.name,
                "phases": rows.phases.len(),
                "milestones": rows.milestones.len(),
                "tasks": rows.tasks.len(),
                "subtasks": rows.subtasks.len(),
            });
            insert_history(&mut tx, pid, None, "plan_imported", &details, at).await?;
            tx.commit()
                .await
                .map_err(db_err("committing import of", "plan", pid))?;
            Ok(pid)
        }

        pub(crate) async fn insert_history(
            conn: &mut DbConn,
            plan: PlanId,
            task: Option<TaskId>,
            event: &str,
            details: &serde_json::Value,
            at: DateTime<Utc>,
        ) -> Result<i64> {
            let row = sqlx::query(
                "INSERT INTO masterplan_history (masterplan_id, task_id, event, details, \
                 created_at) VALUES ($1, $2, $3, $4, $5) RETURNING history_id",
            )
            .bind(DbUuid(plan))
            .bind(task.map(DbUuid))
            .bind(event)
            .bind(Json(details))
            .bind(at)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err("appending history to", "plan", plan))?;
            col(&row, "history_id", "history of plan", &plan)
        }

        pub(crate) async fn append_history(
            pool: &Pool<$db>,
            plan: PlanId,
            task: Option<TaskId>,
            event: &str,
            details: &serde_json::Value,
        ) -> Result<i64> {
            let mut conn = pool
                .acquire()
                .await
                .map_err(db_err("connecting to append history to", "plan", plan))?;
            insert_history(&mut conn, plan, task, event, details, now()).await
        }

        pub(crate) async fn load_history(
            pool: &Pool<$db>,
            plan: PlanId,
        ) -> Result<Vec<HistoryEntry>> {
            let rows = sqlx::query(
                "SELECT history_id, masterplan_id, task_id, event, details, created_at \
                 FROM masterplan_history WHERE masterplan_id = $1 ORDER BY history_id",
            )
            .bind(DbUuid(plan))
            .fetch_all(pool)
            .await
            .map_err(db_err("loading history of", "plan", plan))?;
            rows.iter()
                .map(|r| {
                    let id: i64 = col(r, "history_id", "history entry of plan", &plan)?;
                    let e = "history entry";
                    Ok(HistoryEntry {
                        history_id: id,
                        plan_id: col::<DbUuid>(r, "masterplan_id", e, &id)?.0,
                        task_id: col::<Option<DbUuid>>(r, "task_id", e, &id)?.map(|u| u.0),
                        event: col(r, "event", e, &id)?,
                        details: col::<Json<serde_json::Value>>(r, "details", e, &id)?.0,
                        created_at: col(r, "created_at", e, &id)?,
                    })
                })
                .collect()
        }

        pub(crate) async fn list_plans(pool: &Pool<$db>) -> Result<Vec<PlanSummary>> {
            let rows = sqlx::query(
                "SELECT masterplan_id, name, user_id, status, total_tasks, total_subtasks, \
                 created_at, updated_at FROM masterplans ORDER BY created_at, masterplan_id",
            )
            .fetch_all(pool)
            .await
            .map_err(db_err("listing", "plans", "(all)"))?;
            rows.iter()
                .map(|r| {
                    let id = col::<DbUuid>(r, "masterplan_id", "plan", &"?")?.0;
                    let status: String = col(r, "status", "plan", &id)?;
                    Ok(PlanSummary {
                        plan_id: id,
                        name: col(r, "name", "plan", &id)?,
                        owner: col(r, "user_id", "plan", &id)?,
                        status: parse_text(&status, "plan", id, "status")?,
                        total_tasks: col(r, "total_tasks", "plan", &id)?,
                        total_subtasks: col(r, "total_subtasks", "plan", &id)?,
                        created_at: col(r, "created_at", "plan", &id)?,
                        updated_at: col(r, "updated_at", "plan", &id)?,
                    })
                })
                .collect()
        }

        pub(crate) async fn set_plan_status(
            pool: &Pool<$db>,
            plan: PlanId,
            status: TaskStatus,
        ) -> Result<()> {
            let fx = StatusEffects::of(status);
            let done = sqlx::query(
                "UPDATE masterplans SET status = $2, updated_at = $3, \
                 started_at = COALESCE(started_at, $4), completed_at = COALESCE($5, completed_at) \
                 WHERE masterplan_id = $1",
            )
            .bind(DbUuid(plan))
            .bind(status.as_str())
            .bind(fx.at)
            .bind(fx.started_at)
            .bind(fx.completed_at)
            .execute(pool)
            .await
            .map_err(db_err("setting status of", "plan", plan))?;
            if done.rows_affected() == 0 {
                return Err(StoreError::not_found("plan", plan));
            }
            Ok(())
        }

        pub(crate) async fn set_task_status(
            pool: &Pool<$db>,
            task: TaskId,
            status: TaskStatus,
            outcome: &Outcome,
        ) -> Result<i32> {
            let fx = StatusEffects::of(status);
            let row = sqlx::query(
                "UPDATE masterplan_tasks SET status = $2, attempts = attempts + $3, \
                 code = COALESCE($4, code), error = $5, updated_at = $6, \
                 started_at = COALESCE($7, started_at), completed_at = COALESCE($8, completed_at) \
                 WHERE task_id = $1 RETURNING attempts",
            )
            .bind(DbUuid(task))
            .bind(status.as_str())
            .bind(fx.attempt_increment)
            .bind(outcome.code.as_deref())
            .bind(outcome.error.as_deref())
            .bind(fx.at)
            .bind(fx.started_at)
            .bind(fx.completed_at)
            .fetch_optional(pool)
            .await
            .map_err(db_err("setting status of", "task", task))?
            .ok_or_else(|| StoreError::not_found("task", task))?;
            col(&row, "attempts", "task", &task)
        }

        pub(crate) async fn set_subtask_result(
            pool: &Pool<$db>,
            subtask: SubtaskId,
            status: TaskStatus,
            outcome: &Outcome,
            event: Option<&$crate::HistoryEvent>,
        ) -> Result<(i32, Option<i64>)> {
            let fx = StatusEffects::of(status);
            let mut tx = pool
                .begin()
                .await
                .map_err(db_err("starting result of", "subtask", subtask))?;
            let row = sqlx::query(
                "UPDATE masterplan_subtasks SET status = $2, attempts = attempts + $3, \
                 code = COALESCE($4, code), error = $5, updated_at = $6 \
                 WHERE subtask_id = $1 RETURNING attempts",
            )
            .bind(DbUuid(subtask))
            .bind(status.as_str())
            .bind(fx.attempt_increment)
            .bind(outcome.code.as_deref())
            .bind(outcome.error.as_deref())
            .bind(fx.at)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err("setting result of", "subtask", subtask))?
            .ok_or_else(|| StoreError::not_found("subtask", subtask))?;
            let attempts = col(&row, "attempts", "subtask", &subtask)?;
            let seq = match event {
                Some(e) => Some(insert_history(&mut tx, e.plan, e.task, &e.event, &e.details, fx.at).await?),
                None => None,
            };
            tx.commit()
                .await
                .map_err(db_err("committing result of", "subtask", subtask))?;
            Ok((attempts, seq))
        }

        pub(crate) async fn load_plan(pool: &Pool<$db>, plan_id: PlanId) -> Result<StoredPlan> {
            let mut conn = pool
                .acquire()
                .await
                .map_err(db_err("connecting to load", "plan", plan_id))?;
            let p = sqlx::query(
                "SELECT masterplan_id, user_id, name, description, status, reference_dir, \
                 test_command, current_version, created_at, updated_at, started_at, completed_at \
                 FROM masterplans WHERE masterplan_id = $1",
            )
            .bind(DbUuid(plan_id))
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err("loading", "plan", plan_id))?
            .ok_or_else(|| StoreError::not_found("plan", plan_id))?;
            let id = &plan_id;
            let status: String = col(&p, "status", "plan", id)?;
            let reference_dir: Option<String> = col(&p, "reference_dir", "plan", id)?;
            let mut plan = Plan {
                name: col(&p, "name", "plan", id)?,
                description: col(&p, "description", "plan", id)?,
                reference_dir: reference_dir.map(std::path::PathBuf::from),
                test_command: col(&p, "test_command", "plan", id)?,
                phases: Vec::new(),
            };

            let phase_rows = sqlx::query(
                "SELECT phase_id, name, description, status FROM masterplan_phases \
                 WHERE masterplan_id = $1 ORDER BY phase_number",
            )
            .bind(DbUuid(plan_id))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err("loading phases of", "plan", plan_id))?;
            let mut phases = Vec::with_capacity(phase_rows.len());
            for r in &phase_rows {
                let phase_id = col::<DbUuid>(r, "phase_id", "phase of plan", id)?.0;
                let status: String = col(r, "status", "phase", &phase_id)?;
                let name: String = col(r, "name", "phase", &phase_id)?;
                plan.phases.push(Phase {
                    name: name.clone(),
                    description: col(r, "description", "phase", &phase_id)?,
                    milestones: Vec::new(),
                });
                phases.push(StoredPhase {
                    phase_id,
                    name,
                    status: parse_text(&status, "phase", phase_id, "status")?,
                    milestone_ids: Vec::new(),
                });
            }

            let milestone_rows = sqlx::query(
                "SELECT m.milestone_id, m.phase_id, m.name, m.description \
                 FROM masterplan_milestones m \
                 JOIN masterplan_phases p ON p.phase_id = m.phase_id \
                 WHERE m.masterplan_id = $1 ORDER BY p.phase_number, m.milestone_number",
            )
            .bind(DbUuid(plan_id))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err("loading milestones of", "plan", plan_id))?;
            // milestone id -> (phase index, milestone index)
            let mut milestone_at = std::collections::HashMap::new();
            for r in &milestone_rows {
                let mid = col::<DbUuid>(r, "milestone_id", "milestone of plan", id)?.0;
                let phase_id = col::<DbUuid>(r, "phase_id", "milestone", &mid)?.0;
                let pi = phases
                    .iter()
                    .position(|p| p.phase_id == phase_id)
                    .ok_or_else(|| StoreError::corrupt("milestone", mid, "phase_id", "unknown phase"))?;
                milestone_at.insert(mid, (pi, phases[pi].milestone_ids.len()));
                phases[pi].milestone_ids.push(mid);
                plan.phases[pi].milestones.push(Milestone {
                    name: col(r, "name", "milestone", &mid)?,
                    description: col(r, "description", "milestone", &mid)?,
                    tasks: Vec::new(),
                });
            }

            let task_rows = sqlx::query(
                "SELECT task_id, phase_id, milestone_id, task_number, task_key, name, \
                 description, language, target_path, depends_on, skeleton, status, attempts, \
                 code, error, started_at, completed_at \
                 FROM masterplan_tasks WHERE masterplan_id = $1 ORDER BY task_number",
            )
            .bind(DbUuid(plan_id))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err("loading tasks of", "plan", plan_id))?;
            let mut tasks = Vec::with_capacity(task_rows.len());
            // task id -> (phase index, milestone index, task index in milestone, index in `tasks`)
            let mut task_at = std::collections::HashMap::new();
            for r in &task_rows {
                let tid = col::<DbUuid>(r, "task_id", "task of plan", id)?.0;
                let e = "task";
                let mid = col::<DbUuid>(r, "milestone_id", e, &tid)?.0;
                let &(pi, mi) = milestone_at
                    .get(&mid)
                    .ok_or_else(|| StoreError::corrupt(e, tid, "milestone_id", "unknown milestone"))?;
                let language: String = col(r, "language", e, &tid)?;
                let status: String = col(r, "status", e, &tid)?;
                let key: String = col(r, "task_key", e, &tid)?;
                let target: String = col(r, "target_path", e, &tid)?;
                let depends_on: Json<Vec<String>> = col(r, "depends_on", e, &tid)?;
                let milestone = &mut plan.phases[pi].milestones[mi];
                task_at.insert(tid, (pi, mi, milestone.tasks.len(), tasks.len()));
                milestone.tasks.push(Task {
                    key: key.clone(),
                    name: col(r, "name", e, &tid)?,
                    description: col(r, "description", e, &tid)?,
                    language: parse_text::<Language>(&language, e, tid, "language")?,
                    target: target.clone(),
                    depends_on: depends_on.0,
                    skeleton: col(r, "skeleton", e, &tid)?,
                    subtasks: Vec::new(),
                });
                tasks.push(StoredTask {
                    task_id: tid,
                    key,
                    number: col(r, "task_number", e, &tid)?,
                    phase_id: col::<DbUuid>(r, "phase_id", e, &tid)?.0,
                    milestone_id: mid,
                    target,
                    status: parse_text(&status, e, tid, "status")?,
                    attempts: col(r, "attempts", e, &tid)?,
                    code: col(r, "code", e, &tid)?,
                    error: col(r, "error", e, &tid)?,
                    started_at: col(r, "started_at", e, &tid)?,
                    completed_at: col(r, "completed_at", e, &tid)?,
                    subtasks: Vec::new(),
                });
            }

            let subtask_rows = sqlx::query(
                "SELECT s.subtask_id, s.task_id, s.subtask_number, s.name, s.description, \
                 s.line_start, s.line_end, s.status, s.attempts, s.code, s.error \
                 FROM masterplan_subtasks s JOIN masterplan_tasks t ON t.task_id = s.task_id \
                 WHERE s.masterplan_id = $1 ORDER BY t.task_number, s.subtask_number",
            )
            .bind(DbUuid(plan_id))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err("loading subtasks of", "plan", plan_id))?;
            for r in &subtask_rows {
                let sid = col::<DbUuid>(r, "subtask_id", "subtask of plan", id)?.0;
                let e = "subtask";
                let tid = col::<DbUuid>(r, "task_id", e, &sid)?.0;
                let &(pi, mi, ti, si) = task_at
                    .get(&tid)
                    .ok_or_else(|| StoreError::corrupt(e, sid, "task_id", "unknown task"))?;
                let start: Option<i32> = col(r, "line_start", e, &sid)?;
                let end: Option<i32> = col(r, "line_end", e, &sid)?;
                let lines = match (start, end) {
                    (Some(a), Some(b)) => Some((
                        u32::try_from(a).map_err(|x| StoreError::corrupt(e, sid, "line_start", x))?,
                        u32::try_from(b).map_err(|x| StoreError::corrupt(e, sid, "line_end", x))?,
                    )),
                    (None, None) => None,
                    _ => {
                        return Err(StoreError::corrupt(
                            e,
                            sid,
                            "line_start",
                            "line_start and line_end must both be set or both be null",
                        ))
                    }
                };
                let name: String = col(r, "name", e, &sid)?;
                let status: String = col(r, "status", e, &sid)?;
                plan.phases[pi].milestones[mi].tasks[ti].subtasks.push(Subtask {
                    name: name.clone(),
                    description: col(r, "description", e, &sid)?,
                    lines,
                });
                tasks[si].subtasks.push(StoredSubtask {
                    subtask_id: sid,
                    number: col(r, "subtask_number", e, &sid)?,
                    name,
                    status: parse_text(&status, e, sid, "status")?,
                    attempts: col(r, "attempts", e, &sid)?,
                    code: col(r, "code", e, &sid)?,
                    error: col(r, "error", e, &sid)?,
                });
            }

            Ok(StoredPlan {
                plan_id,
                owner: col(&p, "user_id", "plan", id)?,
                status: parse_text(&status, "plan", plan_id, "status")?,
                version: col(&p, "current_version", "plan", id)?,
                created_at: col(&p, "created_at", "plan", id)?,
                updated_at: col(&p, "updated_at", "plan", id)?,
                started_at: col(&p, "started_at", "plan", id)?,
                completed_at: col(&p, "completed_at", "plan", id)?,
                phases,
                tasks,
                plan,
            })
        }
    };
}

pub(crate) use mvp_ops;
