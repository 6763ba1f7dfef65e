//! The result of one validation: what the store persists in `validation_results`.

use std::time::{Duration, Instant};

use mge_core::ValidationLevel;
use serde::{Deserialize, Serialize};

use crate::sandbox::Isolation;

/// Version of the validators, stored with every result so that results of older validators can
/// be told apart (v2: call arity at the atomic level, builtins, standard library, dataclasses).
pub const VALIDATOR_VERSION: &str = concat!("mge-validate/", env!("CARGO_PKG_VERSION"), "+v2");

/// One problem found by a validator, at a position of a file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Violation {
    /// Project-relative, `/`-separated path.
    pub file: String,
    /// 1-based line (0 when the problem has no line, e.g. a test run that timed out).
    pub line: u32,
    /// 1-based column in bytes (0 when unknown).
    pub col: u32,
    /// Stable machine-readable code (see [`codes`]).
    pub code: String,
    pub message: String,
    /// Id of the atom the position falls in, when known.
    pub atom: Option<String>,
}

impl Violation {
    pub fn new(
        file: impl Into<String>,
        line: u32,
        col: u32,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Violation {
        Violation {
            file: file.into(),
            line,
            col,
            code: code.into(),
            message: message.into(),
            atom: None,
        }
    }

    pub fn with_atom(mut self, atom: Option<String>) -> Violation {
        self.atom = atom;
        self
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.col, self.code, self.message
        )
    }
}

/// Stable violation codes.
pub mod codes {
    pub const SYNTAX_ERROR: &str = "syntax_error";
    pub const MISSING_NODE: &str = "missing_node";
    pub const EMPTY_ATOM: &str = "empty_atom";
    pub const MISSING_DEFINITION: &str = "missing_definition";
    pub const EXTRA_DEFINITION: &str = "extra_definition";
    pub const DUPLICATE_DEFINITION: &str = "duplicate_definition";
    pub const SIGNATURE_MISMATCH: &str = "signature_mismatch";
    pub const UNRESOLVED_NAME: &str = "unresolved_name";
    pub const UNRESOLVED_IMPORT: &str = "unresolved_import";
    pub const NOT_EXPORTED: &str = "not_exported";
    pub const TOO_MANY_ARGUMENTS: &str = "too_many_arguments";
    pub const MISSING_ARGUMENT: &str = "missing_argument";
    pub const UNEXPECTED_KEYWORD: &str = "unexpected_keyword";
    pub const ATOM_TOO_LARGE: &str = "atom_too_large";
    pub const ATOM_TOO_COMPLEX: &str = "atom_too_complex";
    pub const PY_COMPILE: &str = "py_compile";
    /// Prefix of TypeScript compiler diagnostics: `tsc:TS2345`.
    pub const TSC_PREFIX: &str = "tsc:";
    pub const TEST_FAILURE: &str = "test_failure";
    pub const TOOL_FAILED: &str = "tool_failed";
    pub const SANDBOX_LIMIT: &str = "sandbox_limit";
    pub const SANDBOX_NOT_ISOLATED: &str = "sandbox_not_isolated";
}

/// The outcome of one validator on one unit (atom, file, component or project).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationReport {
    pub level: ValidationLevel,
    /// True when there is no violation.
    pub passed: bool,
    /// Share of the checks that passed, in [0, 1] (1.0 when nothing was checked).
    pub score: f64,
    pub violations: Vec<Violation>,
    pub warnings: Vec<Violation>,
    #[serde(with = "duration_ms")]
    pub duration: Duration,
    pub validator_version: &'static str,
    /// How the toolchain run was isolated, for levels that ran one.
    pub isolation: Option<Isolation>,
}

impl ValidationReport {
    /// Violations as the JSON array stored in `validation_results.violations`.
    pub fn violations_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.violations).unwrap_or(serde_json::Value::Null)
    }

    /// Warnings as the JSON array stored in `validation_results.warnings`.
    pub fn warnings_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.warnings).unwrap_or(serde_json::Value::Null)
    }

    /// A one-line-per-violation text for retry feedback.
    pub fn feedback(&self) -> String {
        let mut out = String::new();
        for v in &self.violations {
            out.push_str(&v.to_string());
            out.push('\n');
        }
        out
    }
}

mod duration_ms {
    use std::time::Duration;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

/// Accumulates checks and violations while a validator runs.
#[derive(Debug)]
pub(crate) struct ReportBuilder {
    level: ValidationLevel,
    started: Instant,
    checks: u32,
    violations: Vec<Violation>,
    warnings: Vec<Violation>,
    isolation: Option<Isolation>,
}

impl ReportBuilder {
    pub(crate) fn new(level: ValidationLevel) -> ReportBuilder {
        ReportBuilder {
            level,
            started: Instant::now(),
            checks: 0,
            violations: Vec::new(),
            warnings: Vec::new(),
            isolation: None,
        }
    }

    /// Counts `n` checks that were made (passed or not).
    pub(crate) fn checked(&mut self, n: usize) {
        self.checks = self.checks.saturating_add(n as u32);
    }

    pub(crate) fn violation(&mut self, v: Violation) {
        self.violations.push(v);
    }

    pub(crate) fn warning(&mut self, v: Violation) {
        self.warnings.push(v);
    }

    pub(crate) fn has_violations(&self) -> bool {
        !self.violations.is_empty()
    }

    pub(crate) fn isolation(&mut self, isolation: Isolation) {
        if !isolation.network_isolated {
            self.warnings.push(Violation::new(
                "",
                0,
                0,
                codes::SANDBOX_NOT_ISOLATED,
                format!(
                    "network not isolated: {}",
                    isolation
                        .network_note
                        .as_deref()
                        .unwrap_or("unknown reason")
                ),
            ));
        }
        self.isolation = Some(isolation);
    }

    pub(crate) fn finish(mut self) -> ValidationReport {
        self.violations.sort();
        self.violations.dedup();
        self.warnings.sort();
        self.warnings.dedup();
        let checks = self.checks.max(self.violations.len() as u32);
        let score = if checks == 0 {
            1.0
        } else {
            (checks - self.violations.len() as u32) as f64 / checks as f64
        };
        ValidationReport {
            level: self.level,
            passed: self.violations.is_empty(),
            score,
            violations: self.violations,
            warnings: self.warnings,
            duration: self.started.elapsed(),
            validator_version: VALIDATOR_VERSION,
            isolation: self.isolation,
        }
    }
}
