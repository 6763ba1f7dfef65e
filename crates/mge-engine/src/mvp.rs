//! The MVP strategy: tasks in dependency order (at most three at once by default), each task
//! generated subtask by subtask with the task's context, a tree-sitter syntax check per subtask
//! and on the whole file, and no automatic retry: a failed task stays failed until it is retried
//! explicitly. The MVP path reads and writes MVP tables only.

use std::collections::HashMap;

use async_trait::async_trait;
use mge_core::{ExecutionMode, TaskStatus};
use mge_generate::{GenerationRequest, UnitKind};
use mge_plan::Task;
use mge_store::{HistoryEvent, Outcome, StoredTask};

use crate::run::{RunContext, ATTEMPT_FINISHED};
use crate::scheduler::{Schedule, UnitEnd};
use crate::strategy::{ExecutionStrategy, UnitPlan, UnitResult};
use crate::{output, syntax, EngineError, Result};

#[derive(Debug, Default)]
pub struct MvpStrategy;

fn task_pair(run: &RunContext, unit: usize) -> (&StoredTask, &Task) {
    let stored = &run.plan.tasks[unit];
    let spec = run
        .plan
        .plan
        .task(&stored.key)
        .expect("stored tasks come from the plan");
    (stored, spec)
}

#[async_trait]
impl ExecutionStrategy for MvpStrategy {
    fn mode(&self) -> ExecutionMode {
        ExecutionMode::Mvp
    }

    async fn atomize_plan(&self, run: &RunContext) -> Result<UnitPlan> {
        // MVP units are the plan's tasks as imported; a resumed run keeps finished ones.
        let units = run.plan.tasks.iter().map(|t| t.key.clone()).collect();
        let initial = run
            .plan
            .tasks
            .iter()
            .map(|t| match t.status {
                TaskStatus::Succeeded => Some(UnitEnd::Succeeded),
                TaskStatus::Failed => Some(UnitEnd::Failed),
                TaskStatus::Blocked => Some(UnitEnd::Blocked),
                TaskStatus::Pending | TaskStatus::Running => None,
            })
            .collect();
        Ok(UnitPlan { units, initial })
    }

    async fn build_execution_order(&self, run: &RunContext, units: &UnitPlan) -> Result<Schedule> {
        task_schedule(run, &units.units)
    }

    async fn execute_unit(&self, run: &RunContext, unit: usize) -> Result<UnitResult> {
        let (stored, task) = task_pair(run, unit);
        // A task still `running` when this invocation started was interrupted: a subtask that
        // already failed in that execution decides it, as it would have without the interruption.
        let interrupted = stored.status == TaskStatus::Running;
        let attempt = run
            .store
            .set_task_status(stored.task_id, TaskStatus::Running, &Outcome::none())
            .await?;
        run.record(
            Some(stored.task_id),
            "unit_started",
            serde_json::json!({"unit": task.key, "kind": "task", "attempt": attempt}),
        )
        .await?;
        // A resumed or retried task keeps the subtasks that already succeeded.
        let current = run.store.load_plan(run.plan_id()).await?;
        let current = current
            .tasks
            .iter()
            .find(|t| t.task_id == stored.task_id)
            .expect("task exists");
        let reference = output::reference_code(&run.plan.plan, &task.target)?;
        let mut code = String::new();
        let mut attempts = 0u32;
        let mut failure: Option<String> = None;
        let count = current.subtasks.len();
        for (i, sub) in current.subtasks.iter().enumerate() {
            let spec = &task.subtasks[i];
            if sub.status == TaskStatus::Succeeded {
                code.push_str(sub.code.as_deref().unwrap_or(""));
                continue;
            }
            if interrupted && sub.status == TaskStatus::Failed {
                code.push_str(sub.code.as_deref().unwrap_or(""));
                failure = Some(
                    sub.error
                        .clone()
                        .unwrap_or_else(|| format!("{}/{}: failed", task.key, sub.number)),
                );
                break;
            }
            // Attempts that finished before: the draw index of this generation.
            let finished = sub.attempts - i32::from(sub.status == TaskStatus::Running);
            let draw = (finished.max(0) + 1) as u32;
            run.store
                .set_subtask_result(sub.subtask_id, TaskStatus::Running, &Outcome::none(), None)
                .await?;
            let expected = match (&reference, spec.lines) {
                (Some(text), Some((start, end))) => Some(line_range(text, start, end)),
                (Some(text), None) if count == 1 => Some(text.clone()),
                _ => None,
            };
            let request = GenerationRequest {
                unit_id: format!("{}/{}", task.key, sub.number),
                unit_kind: UnitKind::Subtask,
                language: task.language,
                file_path: task.target.clone(),
                prompt: format!(
                    "{}\n\nSubtask {} of {}: {}{}",
                    task.description,
                    i + 1,
                    count,
                    spec.name,
                    spec.description
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ),
                context: mvp_context(run, task, &code),
                feedback: None,
                temperature: run.options.temperature(1),
                attempt: draw,
                expected,
            };
            attempts += 1;
            let response = match run.generator.generate(&request).await {
                Ok(r) => r,
                Err(e) => {
                    let error = format!("{}: generation failed: {e}", request.unit_id);
                    run.store
                        .set_subtask_result(
                            sub.subtask_id,
                            TaskStatus::Failed,
                            &Outcome::error(&error),
                            None,
                        )
                        .await?;
                    failure = Some(error);
                    break;
                }
            };
            let error = subtask_syntax_error(task, &code, &response.code, i + 1 == count);
            let event = HistoryEvent {
                plan: run.plan_id(),
                task: Some(stored.task_id),
                event: ATTEMPT_FINISHED.to_string(),
                details: serde_json::json!({
                    "unit": request.unit_id,
                    "draw": draw,
                    "ok": error.is_none(),
                    "error": error,
                    "tokens_in": response.tokens_in,
                    "tokens_out": response.tokens_out,
                    "latency_seconds": response.latency.as_secs_f64(),
                    "cost_usd": response.cost_usd,
                    "model": response.model,
                    "faults_injected": response.injected_faults.len(),
                }),
            };
            let outcome = Outcome {
                code: Some(response.code.clone()),
                error: error.clone(),
            };
            let status = if error.is_none() {
                TaskStatus::Succeeded
            } else {
                TaskStatus::Failed
            };
            // The subtask's result and its history row commit together.
            let (_, seq) = run
                .store
                .set_subtask_result(sub.subtask_id, status, &outcome, Some(&event))
                .await?;
            run.report(seq.expect("event written"), event);
            code.push_str(&response.code);
            if let Some(error) = error {
                failure = Some(error);
                break;
            }
        }
        if count == 0 {
            failure = Some(format!("task '{}' has no subtasks to generate", task.key));
        }
        let (status, event) = match &failure {
            None => (TaskStatus::Succeeded, "unit_succeeded"),
            Some(_) => (TaskStatus::Failed, "unit_failed"),
        };
        let outcome = Outcome {
            code: Some(code),
            error: failure.clone(),
        };
        run.store
            .set_task_status(stored.task_id, status, &outcome)
            .await?;
        run.record(
            Some(stored.task_id),
            event,
            serde_json::json!({"unit": task.key, "kind": "task", "error": failure}),
        )
        .await?;
        Ok(UnitResult {
            succeeded: failure.is_none(),
            attempts,
            error: failure,
        })
    }

    async fn validate_unit(&self, run: &RunContext, unit: usize) -> Result<Option<String>> {
        let (stored, task) = task_pair(run, unit);
        let current = run.store.load_plan(run.plan_id()).await?;
        let code = current
            .tasks
            .iter()
            .find(|t| t.task_id == stored.task_id)
            .and_then(|t| t.code.clone());
        Ok(match code {
            Some(code) => syntax::check(&task.target, task.language, &code),
            None => Some(format!("task '{}' has no code yet", task.key)),
        })
    }

    async fn mark_blocked(&self, run: &RunContext, unit: usize, cause: usize) -> Result<()> {
        let (stored, task) = task_pair(run, unit);
        let cause_key = &run.plan.tasks[cause].key;
        let error = format!("blocked: task '{cause_key}' it depends on did not succeed");
        run.store
            .set_task_status(stored.task_id, TaskStatus::Blocked, &Outcome::error(&error))
            .await?;
        run.record(
            Some(stored.task_id),
            "unit_blocked",
            serde_json::json!({"unit": task.key, "kind": "task", "cause": cause_key}),
        )
        .await?;
        Ok(())
    }

    async fn assemble(&self, run: &RunContext) -> Result<Vec<(String, String)>> {
        let current = run.store.load_plan(run.plan_id()).await?;
        Ok(current
            .tasks
            .iter()
            .filter_map(|t| t.code.clone().map(|code| (t.target.clone(), code)))
            .filter(|(_, code)| !code.is_empty())
            .collect())
    }
}

/// Task order for the scheduler: providers from `depends_on`, waves = longest-path levels.
fn task_schedule(run: &RunContext, keys: &[String]) -> Result<Schedule> {
    let plan = &run.plan.plan;
    let order = mge_graph::task_order(keys.iter().map(|k| {
        (
            k.as_str(),
            plan.task(k)
                .map(|t| t.depends_on.iter().map(String::as_str))
                .into_iter()
                .flatten(),
        )
    }))
    .map_err(|e| EngineError::Plan {
        plan: run.plan_id(),
        message: e.to_string(),
    })?;
    let index: HashMap<&str, usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let providers: Vec<Vec<usize>> = keys
        .iter()
        .map(|k| {
            plan.task(k)
                .map(|t| {
                    t.depends_on
                        .iter()
                        .filter_map(|d| index.get(d.as_str()).copied())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let mut waves = vec![0usize; keys.len()];
    for key in order {
        let i = index[key];
        waves[i] = providers[i]
            .iter()
            .map(|&p| waves[p] + 1)
            .max()
            .unwrap_or(0);
    }
    Ok(Schedule {
        providers,
        waves,
        weights: Vec::new(),
    })
}

/// The context an MVP subtask is generated with: the task's skeleton, the names of the tasks it
/// depends on, and the code of the file generated so far.
fn mvp_context(run: &RunContext, task: &Task, so_far: &str) -> String {
    let mut context = String::new();
    for dep in &task.depends_on {
        if let Some(t) = run.plan.plan.task(dep) {
            context.push_str(&format!(
                "# depends on {} ({}): {}\n",
                t.key, t.target, t.description
            ));
        }
    }
    if let Some(skeleton) = &task.skeleton {
        context.push_str(skeleton);
        context.push('\n');
    }
    context.push_str(so_far);
    context
}

/// Lines `start..=end` (1-based) of `text`, with their line endings.
pub(crate) fn line_range(text: &str, start: u32, end: u32) -> String {
    text.split_inclusive('\n')
        .skip(start.saturating_sub(1) as usize)
        .take((end + 1).saturating_sub(start) as usize)
        .collect()
}

/// The syntax check of one subtask: the file so far plus the new code must parse (a block left
/// open for the next subtask to close is allowed); the last subtask's check is the whole file's.
fn subtask_syntax_error(task: &Task, so_far: &str, code: &str, last: bool) -> Option<String> {
    let text = format!("{so_far}{code}");
    if last {
        syntax::check(&task.target, task.language, &text)
    } else {
        syntax::check_prefix(&task.target, task.language, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::line_range;

    #[test]
    fn line_ranges_keep_line_endings() {
        let text = "a\r\nb\nc\n";
        assert_eq!(line_range(text, 1, 1), "a\r\n");
        assert_eq!(line_range(text, 2, 3), "b\nc\n");
        assert_eq!(line_range("x\ny", 2, 2), "y");
    }
}
