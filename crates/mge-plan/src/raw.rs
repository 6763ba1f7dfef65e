//! The plan file as written, before validation. `deny_unknown_fields` everywhere so a misspelled
//! field is an error rather than silently ignored.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlan {
    pub name: String,
    pub description: String,
    pub reference_dir: Option<String>,
    pub test_command: Option<String>,
    pub phases: Vec<RawPhase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPhase {
    pub name: String,
    pub description: Option<String>,
    pub milestones: Vec<RawMilestone>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMilestone {
    pub name: String,
    pub description: Option<String>,
    pub tasks: Vec<RawTask>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTask {
    pub key: String,
    pub name: String,
    pub description: String,
    pub language: String,
    pub target: String,
    #[serde(default)]
    pub depends_on: Vec<String>,
    pub skeleton: Option<String>,
    #[serde(default)]
    pub subtasks: Vec<RawSubtask>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSubtask {
    pub name: String,
    pub description: Option<String>,
    pub lines: Option<(u32, u32)>,
}
