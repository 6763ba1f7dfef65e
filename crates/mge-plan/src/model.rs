use std::path::PathBuf;

use mge_core::Language;
use serde::{Deserialize, Serialize};

/// A validated masterplan: phases > milestones > tasks > subtasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub description: String,
    /// Reference solution directory, resolved against the plan file's directory.
    pub reference_dir: Option<PathBuf>,
    /// Command that runs the project's tests from the project root.
    pub test_command: Option<String>,
    pub phases: Vec<Phase>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    pub description: Option<String>,
    pub milestones: Vec<Milestone>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Milestone {
    pub name: String,
    pub description: Option<String>,
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Unique within the plan.
    pub key: String,
    pub name: String,
    pub description: String,
    pub language: Language,
    /// Path of the file this task produces, relative to the project root (`/`-separated).
    pub target: String,
    pub depends_on: Vec<String>,
    pub skeleton: Option<String>,
    pub subtasks: Vec<Subtask>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subtask {
    pub name: String,
    pub description: Option<String>,
    /// 1-based inclusive line range of the task's target file.
    pub lines: Option<(u32, u32)>,
}

impl Plan {
    /// Every task of the plan, in file order.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> + '_ {
        self.phases
            .iter()
            .flat_map(|p| p.milestones.iter())
            .flat_map(|m| m.tasks.iter())
    }

    pub fn task(&self, key: &str) -> Option<&Task> {
        self.tasks().find(|t| t.key == key)
    }
}
