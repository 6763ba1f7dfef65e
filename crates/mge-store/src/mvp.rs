//! MVP entities: a masterplan's phase > milestone > task > subtask tree, its statuses and its
//! audit trail. These types and the MVP SQL (`mvp_sql.rs`) touch only the tables of migration
//! 0001, so they work on a database that has never seen the V2 migration.

use chrono::{DateTime, Utc};
use mge_core::{PlanId, TaskId, TaskStatus};
use mge_plan::Plan;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::value::{now, to_i32};
use crate::{Result, StoreError};

/// Identifier of a stored subtask.
pub type SubtaskId = Uuid;
/// Identifier of a stored phase.
pub type PhaseId = Uuid;
/// Identifier of a stored milestone.
pub type MilestoneId = Uuid;

/// A stored masterplan: its ids, statuses and the [`Plan`] rebuilt from the MVP tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPlan {
    pub plan_id: PlanId,
    pub owner: String,
    pub status: TaskStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Ids of the phases, in plan order, each with the ids of its milestones.
    pub phases: Vec<StoredPhase>,
    /// Every task in plan file order (the order of [`Plan::tasks`]).
    pub tasks: Vec<StoredTask>,
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPhase {
    pub phase_id: PhaseId,
    pub name: String,
    pub status: TaskStatus,
    pub milestone_ids: Vec<MilestoneId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTask {
    pub task_id: TaskId,
    pub key: String,
    /// 1-based position of the task in the plan file.
    pub number: i32,
    pub phase_id: PhaseId,
    pub milestone_id: MilestoneId,
    pub target: String,
    pub status: TaskStatus,
    pub attempts: i32,
    pub code: Option<String>,
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub subtasks: Vec<StoredSubtask>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSubtask {
    pub subtask_id: SubtaskId,
    /// 1-based position of the subtask within its task.
    pub number: i32,
    pub name: String,
    pub status: TaskStatus,
    pub attempts: i32,
    pub code: Option<String>,
    pub error: Option<String>,
}

impl StoredPlan {
    pub fn task(&self, key: &str) -> Option<&StoredTask> {
        self.tasks.iter().find(|t| t.key == key)
    }

    pub fn task_by_id(&self, task_id: TaskId) -> Option<&StoredTask> {
        self.tasks.iter().find(|t| t.task_id == task_id)
    }
}

/// One line of [`crate::Store::list_plans`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub plan_id: PlanId,
    pub name: String,
    pub owner: String,
    pub status: TaskStatus,
    pub total_tasks: i32,
    pub total_subtasks: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One row of a plan's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub history_id: i64,
    pub plan_id: PlanId,
    pub task_id: Option<TaskId>,
    pub event: String,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A history row to append in the same transaction as a state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub plan: PlanId,
    pub task: Option<TaskId>,
    pub event: String,
    pub details: serde_json::Value,
}

/// What a status change records besides the status.
///
/// `code` replaces the stored code when it is `Some` and keeps it otherwise; `error` always
/// replaces the stored error (`None` clears it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub code: Option<String>,
    pub error: Option<String>,
}

impl Outcome {
    pub fn none() -> Outcome {
        Outcome::default()
    }

    pub fn code(code: impl Into<String>) -> Outcome {
        Outcome {
            code: Some(code.into()),
            error: None,
        }
    }

    pub fn error(error: impl Into<String>) -> Outcome {
        Outcome {
            code: None,
            error: Some(error.into()),
        }
    }
}

/// Timestamp effects of a status change: entering `running` starts an attempt; `succeeded`
/// and `failed` complete it.
pub(crate) struct StatusEffects {
    pub attempt_increment: i32,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

impl StatusEffects {
    pub fn of(status: TaskStatus) -> StatusEffects {
        let at = now();
        let running = status == TaskStatus::Running;
        let done = matches!(status, TaskStatus::Succeeded | TaskStatus::Failed);
        StatusEffects {
            attempt_increment: i32::from(running),
            started_at: running.then_some(at),
            completed_at: done.then_some(at),
            at,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rows of an import.

pub(crate) struct PlanRows {
    pub plan_id: PlanId,
    pub owner: String,
    pub source: serde_json::Value,
    pub reference_dir: Option<String>,
    pub created_at: DateTime<Utc>,
    pub phases: Vec<PhaseRow>,
    pub milestones: Vec<MilestoneRow>,
    pub tasks: Vec<TaskRow>,
    pub subtasks: Vec<SubtaskRow>,
}

pub(crate) struct PhaseRow {
    pub id: PhaseId,
    pub number: i32,
    pub name: String,
    pub description: Option<String>,
}

pub(crate) struct MilestoneRow {
    pub id: MilestoneId,
    pub phase_id: PhaseId,
    pub number: i32,
    pub name: String,
    pub description: Option<String>,
}

pub(crate) struct TaskRow {
    pub id: TaskId,
    pub phase_id: PhaseId,
    pub milestone_id: MilestoneId,
    pub number: i32,
    pub key: String,
    pub name: String,
    pub description: String,
    pub language: &'static str,
    pub target: String,
    pub depends_on: serde_json::Value,
    pub skeleton: Option<String>,
}

pub(crate) struct SubtaskRow {
    pub id: SubtaskId,
    pub task_id: TaskId,
    pub number: i32,
    pub name: String,
    pub description: Option<String>,
    pub line_start: Option<i32>,
    pub line_end: Option<i32>,
}

impl PlanRows {
    /// Flattens a plan into rows with fresh ids.
    pub fn build(plan: &Plan, owner: &str) -> Result<PlanRows> {
        let plan_id = Uuid::new_v4();
        let source = serde_json::to_value(plan)
            .map_err(|e| StoreError::invalid("plan", &plan.name, "plan_source", e))?;
        let reference_dir = match &plan.reference_dir {
            None => None,
            Some(dir) => Some(
                dir.to_str()
                    .ok_or_else(|| {
                        StoreError::invalid(
                            "plan",
                            &plan.name,
                            "reference_dir",
                            format!("path {} is not UTF-8", dir.display()),
                        )
                    })?
                    .to_string(),
            ),
        };
        let mut rows = PlanRows {
            plan_id,
            owner: owner.to_string(),
            source,
            reference_dir,
            created_at: now(),
            phases: Vec::new(),
            milestones: Vec::new(),
            tasks: Vec::new(),
            subtasks: Vec::new(),
        };
        for (pi, phase) in plan.phases.iter().enumerate() {
            let phase_id = Uuid::new_v4();
            rows.phases.push(PhaseRow {
                id: phase_id,
                number: to_i32(pi + 1, "phase", &phase.name, "phase_number")?,
                name: phase.name.clone(),
                description: phase.description.clone(),
            });
            for (mi, milestone) in phase.milestones.iter().enumerate() {
                let milestone_id = Uuid::new_v4();
                rows.milestones.push(MilestoneRow {
                    id: milestone_id,
                    phase_id,
                    number: to_i32(mi + 1, "milestone", &milestone.name, "milestone_number")?,
                    name: milestone.name.clone(),
                    description: milestone.description.clone(),
                });
                for task in &milestone.tasks {
                    let task_id = Uuid::new_v4();
                    let number = to_i32(rows.tasks.len() + 1, "task", &task.key, "task_number")?;
                    rows.tasks.push(TaskRow {
                        id: task_id,
                        phase_id,
                        milestone_id,
                        number,
                        key: task.key.clone(),
                        name: task.name.clone(),
                        description: task.description.clone(),
                        language: task.language.as_str(),
                        target: task.target.clone(),
                        depends_on: serde_json::Value::from(task.depends_on.clone()),
                        skeleton: task.skeleton.clone(),
                    });
                    for (si, subtask) in task.subtasks.iter().enumerate() {
                        let line =
                            |n: u32, field| to_i32(n as usize, "subtask", &subtask.name, field);
                        let (line_start, line_end) = match subtask.lines {
                            Some((a, b)) => (Some(line(a, "lines")?), Some(line(b, "lines")?)),
                            None => (None, None),
                        };
                        rows.subtasks.push(SubtaskRow {
                            id: Uuid::new_v4(),
                            task_id,
                            number: to_i32(si + 1, "subtask", &subtask.name, "subtask_number")?,
                            name: subtask.name.clone(),
                            description: subtask.description.clone(),
                            line_start,
                            line_end,
                        });
                    }
                }
            }
        }
        Ok(rows)
    }
}
