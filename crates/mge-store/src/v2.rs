//! V2 entities: atoms, their dependencies, the dependency graph and its waves, validation
//! results, retries and the human review queue (tables of migration 0002).

use chrono::{DateTime, Utc};
use mge_core::{
    AtomId, AtomStatus, EdgeKind, Language, PlanId, ReviewStatus, TaskId, ValidationLevel,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An atomic unit to store. The caller chooses `id` (for instance a UUIDv5 of the plan and
/// `atom_key`), so dependencies can name atoms before they are written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAtom {
    pub id: AtomId,
    pub task_id: TaskId,
    /// Stable textual id, unique within the plan (e.g. `models::Item.total`).
    pub atom_key: String,
    /// 1-based position within the task, unique within the task.
    pub atom_number: i32,
    pub name: String,
    pub description: String,
    /// Decomposition kind (function, method, class_header, statements, ...).
    pub kind: String,
    /// Tree-sitter node type the atom came from.
    pub node_type: Option<String>,
    pub qualified_name: Option<String>,
    pub language: Language,
    pub file_path: String,
    pub start_byte: i64,
    pub end_byte: i64,
    /// 1-based inclusive line range.
    pub start_line: i32,
    pub end_line: i32,
    pub parent_atom_id: Option<AtomId>,
    pub estimated_loc: i32,
    pub complexity: f64,
    pub context: serde_json::Value,
    pub completeness_score: f64,
    pub atomicity_score: Option<f64>,
    pub code: Option<String>,
}

/// A stored atomic unit: what was inserted plus its execution state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAtom {
    #[serde(flatten)]
    pub atom: NewAtom,
    pub status: AtomStatus,
    pub attempts: i32,
    pub wave_number: Option<i32>,
    /// Error of the latest failed attempt (or why the atom is blocked).
    pub last_error: Option<String>,
    pub validation_passed: Option<bool>,
    pub confidence_score: Option<f64>,
    pub needs_human_review: bool,
    pub human_reviewed: bool,
    pub llm_model: Option<String>,
    pub llm_tokens_input: Option<i64>,
    pub llm_tokens_output: Option<i64>,
    pub llm_cost_usd: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A dependency edge from the provider `from_atom` to the dependent `to_atom`: `from_atom` must
/// be generated first. At most one edge per ordered pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAtomDependency {
    pub from_atom: AtomId,
    pub to_atom: AtomId,
    pub kind: EdgeKind,
    pub weight: f64,
}

/// The summary row of a plan's dependency graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDependencyGraph {
    pub total_atoms: i32,
    pub total_edges: i32,
    pub max_depth: Option<i32>,
    pub parallelizable_atoms: Option<i32>,
    /// A topological order of the atoms.
    pub execution_order: Vec<AtomId>,
    pub boundaries: Option<serde_json::Value>,
    pub graph_json: Option<serde_json::Value>,
    /// Time spent building the graph; written to the plan's V2 metrics when set.
    pub build_time_seconds: Option<f64>,
}

/// One parallel wave: its atoms can run concurrently once every earlier wave is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewWave {
    /// 0-based wave number.
    pub wave_number: i32,
    pub atom_ids: Vec<AtomId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDependencyGraph {
    pub id: Uuid,
    pub plan_id: PlanId,
    pub total_atoms: i32,
    pub total_edges: i32,
    pub max_depth: Option<i32>,
    pub parallelizable_atoms: Option<i32>,
    pub execution_order: Vec<AtomId>,
    pub parallel_waves: Vec<Vec<AtomId>>,
    pub boundaries: Option<serde_json::Value>,
    pub graph_json: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredWave {
    pub id: Uuid,
    pub wave_number: i32,
    pub atom_ids: Vec<AtomId>,
    pub status: String,
    pub total_atoms: i32,
    pub completed_atoms: i32,
    pub failed_atoms: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewValidationResult {
    /// The atom validated; `None` for module, component and system levels.
    pub atom_id: Option<AtomId>,
    pub level: ValidationLevel,
    pub passed: bool,
    pub score: Option<f64>,
    pub violations: serde_json::Value,
    pub warnings: serde_json::Value,
    pub duration_seconds: Option<f64>,
    pub validator_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredValidationResult {
    pub id: Uuid,
    #[serde(flatten)]
    pub result: NewValidationResult,
    pub validated_at: DateTime<Utc>,
}

/// One failed attempt of an atom. `(atom_id, attempt_number)` is unique: an attempt number is
/// never reused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAtomRetry {
    pub atom_id: AtomId,
    pub attempt_number: i32,
    pub error_message: Option<String>,
    pub error_type: Option<String>,
    pub validation_errors: Option<serde_json::Value>,
    pub feedback_prompt: Option<String>,
    pub temperature: Option<f64>,
}

/// The end of an attempt started with [`crate::Store::start_atom_attempt`]: completes the
/// attempt's retry row and updates the atom (status, code, error, LLM usage, which accumulates
/// over attempts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtomAttemptFinish {
    pub atom_id: AtomId,
    pub attempt_number: i32,
    /// The atom's status after this attempt (`running` when another attempt follows).
    pub status: AtomStatus,
    /// Generated code; replaces the atom's code when set.
    pub code: Option<String>,
    /// Why the attempt failed (`None`: it passed).
    pub error_message: Option<String>,
    pub error_type: String,
    pub validation_errors: Option<serde_json::Value>,
    pub llm_model: Option<String>,
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAtomRetry {
    pub id: Uuid,
    #[serde(flatten)]
    pub retry: NewAtomRetry,
    pub attempted_at: DateTime<Utc>,
}

/// An atom queued for human review (at most one entry per atom).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewReview {
    pub atom_id: AtomId,
    pub confidence_score: f64,
    pub reasons: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredReview {
    pub id: Uuid,
    pub plan_id: PlanId,
    pub atom_id: AtomId,
    pub confidence_score: f64,
    pub reasons: serde_json::Value,
    pub status: ReviewStatus,
    pub assigned_to: Option<String>,
    pub human_decision: Option<String>,
    pub human_edits: Option<String>,
    pub human_comments: Option<String>,
    pub queued_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// A plan's V2 metrics (columns of `masterplans` added by migration 0002).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct V2Metrics {
    pub total_atoms: i32,
    /// Mean lines per atom.
    pub avg_atom_loc: f64,
    pub atomization_time_seconds: Option<f64>,
    pub graph_build_time_seconds: Option<f64>,
}

/// A reviewer's decision on a queued atom, as the store records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewReviewDecision {
    pub atom_id: AtomId,
    /// The review's status after the decision: approved, rejected or regenerated.
    pub status: ReviewStatus,
    /// What was decided: `approve`, `reject`, `edit` or `regenerate`.
    pub decision: String,
    /// Who decided.
    pub reviewer: String,
    /// Why.
    pub comment: Option<String>,
    /// Edited code: becomes the atom's code in the same transaction.
    pub edited_code: Option<String>,
    /// The atom's status after the decision, when the decision changes it.
    pub atom_status: Option<AtomStatus>,
    /// The atom's error after the decision (with `atom_status`).
    pub atom_error: Option<String>,
}
