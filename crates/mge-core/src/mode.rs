use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a plan is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionMode {
    /// Tasks in dependency order, subtask by subtask, with a syntax check.
    Mvp,
    /// Tree-sitter atoms, dependency waves, retries, four validation levels, review queue.
    V2Atoms,
    /// V2 per task, falling back to MVP for a task V2 cannot handle.
    Hybrid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown execution mode '{0}' (expected mvp, v2_atoms, hybrid)")]
pub struct UnknownMode(pub String);

impl ExecutionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionMode::Mvp => "mvp",
            ExecutionMode::V2Atoms => "v2_atoms",
            ExecutionMode::Hybrid => "hybrid",
        }
    }
}

impl fmt::Display for ExecutionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExecutionMode {
    type Err = UnknownMode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mvp" => Ok(ExecutionMode::Mvp),
            "v2_atoms" | "v2" => Ok(ExecutionMode::V2Atoms),
            "hybrid" => Ok(ExecutionMode::Hybrid),
            other => Err(UnknownMode(other.to_string())),
        }
    }
}
