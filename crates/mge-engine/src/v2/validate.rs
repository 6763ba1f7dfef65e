//! Validation in the V2 strategy. The atomic level runs on every attempt, inside the retry
//! loop: the generated code, put in place of its atom in the file's base source, must parse,
//! define what the reference atom defines with the same parameters, use only names that
//! resolve against the plan's files, and stay within size and complexity bounds. Its report
//! is the retry feedback and one `validation_results` row.

use mge_core::{AtomId, PlanId};
use mge_store::NewValidationResult;
use mge_validate::{AtomInput, AtomLimits, ValidationReport};

use super::Prepared;
use crate::{EngineError, Result};

/// `error_type` of an attempt rejected by a validator without a violation code of its own.
pub const VALIDATION: &str = "validation";

/// Validates `code` as the generated version of atom `index` of `prepared`. Deterministic: the
/// same code gives the same violations (only the measured duration differs).
pub fn atomic(
    plan: PlanId,
    prepared: &Prepared,
    index: usize,
    code: &str,
) -> Result<ValidationReport> {
    let atom = &prepared.atoms[index];
    let expected = &prepared.files[atom.file_index].atoms[atom.atom_index];
    let input = AtomInput {
        path: &atom.file,
        language: atom.language,
        base_source: &prepared.sources[&atom.file],
        range: atom.start_byte..atom.end_byte,
        generated: code,
        expected,
        plan_files: &prepared.files,
        context_names: &[],
        limits: AtomLimits::default(),
    };
    prepared
        .atomic
        .validate(&input)
        .map_err(|e| EngineError::Plan {
            plan,
            message: format!("atomic validation of {}: {e}", atom.key),
        })
}

/// The retry feedback of a failed report: one `file:line:col: code: message` line per
/// violation. `None` when the report passed.
pub fn feedback(report: &ValidationReport) -> Option<String> {
    (!report.passed).then(|| report.feedback().trim_end().to_string())
}

/// The `error_type` of a failed report: the code of its first violation.
pub fn error_type(report: &ValidationReport) -> &str {
    report
        .violations
        .first()
        .map_or(VALIDATION, |v| v.code.as_str())
}

/// The `validation_results` row of one report.
pub fn result_row(atom: Option<AtomId>, report: &ValidationReport) -> NewValidationResult {
    NewValidationResult {
        atom_id: atom,
        level: report.level,
        passed: report.passed,
        score: Some(report.score),
        violations: report.violations_json(),
        warnings: report.warnings_json(),
        duration_seconds: Some(report.duration.as_secs_f64()),
        validator_version: Some(report.validator_version.to_string()),
    }
}
