//! Hybrid mode's per-task rule: run a task in V2 unless V2 cannot handle it, then fall back to MVP.
//!
//! A task of a hybrid plan falls back to MVP, with the reason recorded, when
//!
//! 1. its target file is in a language without a grammar (`unsupported_language`);
//! 2. its code does not parse: the parser reported syntax errors (`unparsed`);
//! 3. atomization produced no atom, so V2 has nothing to execute (`no_atoms`);
//! 4. it was run in V2 and failed after its retries (`v2_failed_after_retries`); the task is then
//!    run again in MVP from its start.
//!
//! Otherwise it runs (or ran) in V2. The rules are checked in this order, so a task is never sent to
//! V2 for code V2 cannot atomize. [`HybridTally`] counts the tasks of a plan per mode and fallback
//! reason for the run's report.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What atomizing a task's code produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum AtomizationSummary {
    /// The target file's language has no grammar.
    UnsupportedLanguage { file: String },
    /// The parser reported `errors` syntax errors; `first_error` locates the first one.
    Unparsed {
        file: String,
        errors: usize,
        first_error: Option<String>,
    },
    /// Parsed into `atoms` atoms.
    Atomized { atoms: usize },
}

/// How a task's V2 execution ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum V2TaskOutcome {
    Succeeded,
    /// Still failing after `attempts` attempts (the retry budget).
    FailedAfterRetries {
        attempts: u32,
        last_error: String,
    },
}

/// Why a task of a hybrid plan runs in MVP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FallbackReason {
    UnsupportedLanguage {
        file: String,
    },
    Unparsed {
        file: String,
        errors: usize,
        first_error: Option<String>,
    },
    NoAtoms,
    V2FailedAfterRetries {
        attempts: u32,
        last_error: String,
    },
}

impl FallbackReason {
    /// A stable word for the reason (a column value, a report key).
    pub fn code(&self) -> &'static str {
        match self {
            FallbackReason::UnsupportedLanguage { .. } => "unsupported_language",
            FallbackReason::Unparsed { .. } => "unparsed",
            FallbackReason::NoAtoms => "no_atoms",
            FallbackReason::V2FailedAfterRetries { .. } => "v2_failed_after_retries",
        }
    }
}

impl fmt::Display for FallbackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FallbackReason::UnsupportedLanguage { file } => {
                write!(f, "{file}: no grammar for this language, running the task in MVP")
            }
            FallbackReason::Unparsed {
                file,
                errors,
                first_error,
            } => {
                write!(f, "{file}: {errors} syntax error(s)")?;
                if let Some(first) = first_error {
                    write!(f, ", first at {first}")?;
                }
                f.write_str(", running the task in MVP")
            }
            FallbackReason::NoAtoms => f.write_str("atomization produced no atom, running the task in MVP"),
            FallbackReason::V2FailedAfterRetries {
                attempts,
                last_error,
            } => write!(
                f,
                "V2 failed after {attempts} attempt(s) (last error: {last_error}), running the task in MVP"
            ),
        }
    }
}

/// Where a task of a hybrid plan runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "route", rename_all = "snake_case")]
pub enum TaskRoute {
    V2,
    Fallback { reason: FallbackReason },
}

/// The route of a task from its atomization and, once V2 has run it, the V2 outcome (rules in the
/// module documentation).
pub fn route_task(atomization: &AtomizationSummary, v2: Option<&V2TaskOutcome>) -> TaskRoute {
    let reason = match atomization {
        AtomizationSummary::UnsupportedLanguage { file } => {
            FallbackReason::UnsupportedLanguage { file: file.clone() }
        }
        AtomizationSummary::Unparsed {
            file,
            errors,
            first_error,
        } => FallbackReason::Unparsed {
            file: file.clone(),
            errors: *errors,
            first_error: first_error.clone(),
        },
        AtomizationSummary::Atomized { atoms: 0 } => FallbackReason::NoAtoms,
        AtomizationSummary::Atomized { .. } => match v2 {
            None | Some(V2TaskOutcome::Succeeded) => return TaskRoute::V2,
            Some(V2TaskOutcome::FailedAfterRetries {
                attempts,
                last_error,
            }) => FallbackReason::V2FailedAfterRetries {
                attempts: *attempts,
                last_error: last_error.clone(),
            },
        },
    };
    TaskRoute::Fallback { reason }
}

/// How many tasks of a plan ran in each mode, and why the MVP ones fell back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HybridTally {
    pub v2_tasks: usize,
    pub mvp_tasks: usize,
    /// Fallback count per [`FallbackReason::code`].
    pub fallbacks: BTreeMap<String, usize>,
}

impl HybridTally {
    /// Counts a task's final route.
    pub fn record(&mut self, route: &TaskRoute) {
        match route {
            TaskRoute::V2 => self.v2_tasks += 1,
            TaskRoute::Fallback { reason } => {
                self.mvp_tasks += 1;
                *self.fallbacks.entry(reason.code().to_string()).or_default() += 1;
            }
        }
    }

    pub fn total(&self) -> usize {
        self.v2_tasks + self.mvp_tasks
    }
}

impl fmt::Display for HybridTally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} task(s) in v2, {} in mvp",
            self.v2_tasks, self.mvp_tasks
        )?;
        if !self.fallbacks.is_empty() {
            let parts: Vec<String> = self
                .fallbacks
                .iter()
                .map(|(code, n)| format!("{code}: {n}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn each_rule_routes_and_explains() {
        let failed = V2TaskOutcome::FailedAfterRetries {
            attempts: 3,
            last_error: "atom 4: test failed".into(),
        };
        let cases = [
            (
                AtomizationSummary::UnsupportedLanguage {
                    file: "src/main.go".into(),
                },
                Some(&V2TaskOutcome::Succeeded),
            ),
            (
                AtomizationSummary::Unparsed {
                    file: "app/models.py".into(),
                    errors: 2,
                    first_error: Some("app/models.py:12:5".into()),
                },
                None,
            ),
            (AtomizationSummary::Atomized { atoms: 0 }, None),
            (AtomizationSummary::Atomized { atoms: 7 }, Some(&failed)),
            (AtomizationSummary::Atomized { atoms: 7 }, None),
            (
                AtomizationSummary::Atomized { atoms: 7 },
                Some(&V2TaskOutcome::Succeeded),
            ),
        ];
        let mut tally = HybridTally::default();
        let mut lines = Vec::new();
        for (atomization, v2) in &cases {
            let route = route_task(atomization, *v2);
            tally.record(&route);
            lines.push(match &route {
                TaskRoute::V2 => "v2".to_string(),
                TaskRoute::Fallback { reason } => format!("mvp [{}] {reason}", reason.code()),
            });
        }
        lines.push(tally.to_string());
        expect![[r#"
            mvp [unsupported_language] src/main.go: no grammar for this language, running the task in MVP
            mvp [unparsed] app/models.py: 2 syntax error(s), first at app/models.py:12:5, running the task in MVP
            mvp [no_atoms] atomization produced no atom, running the task in MVP
            mvp [v2_failed_after_retries] V2 failed after 3 attempt(s) (last error: atom 4: test failed), running the task in MVP
            v2
            v2
            2 task(s) in v2, 4 in mvp (no_atoms: 1, unparsed: 1, unsupported_language: 1, v2_failed_after_retries: 1)"#]]
        .assert_eq(&lines.join("\n"));
        assert_eq!(tally.total(), cases.len());
    }

    #[test]
    fn routes_serialize_for_the_store() {
        let route = route_task(&AtomizationSummary::Atomized { atoms: 0 }, None);
        assert_eq!(
            serde_json::to_string(&route).unwrap(),
            r#"{"route":"fallback","reason":{"code":"no_atoms"}}"#
        );
        let back: TaskRoute =
            serde_json::from_str(&serde_json::to_string(&route).unwrap()).unwrap();
        assert_eq!(back, route);
    }
}
