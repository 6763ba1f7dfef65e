//! Atomicity validation: ten criteria, each worth 0.1, computed from facts gathered on the
//! syntax tree. An atom passes at a score of 0.8.
//!
//! | criterion | rule |
//! |---|---|
//! | `size` | LOC ≤ the configured ceiling (`max_loc`) |
//! | `complexity` | cyclomatic complexity ≤ 5 |
//! | `single_responsibility` | at most one function or class defined inside the atom, and a declarative group (imports, constants, type aliases, fields) mixes no callable |
//! | `clear_boundaries` | the atom covers whole statements of one block: it was not cut out of a compound statement (`if`, `for`, …) of a split definition, and holds no syntax error |
//! | `independence` | at most 7 distinct external symbols referenced |
//! | `context_completeness` | context completeness ≥ 0.95 |
//! | `testability` | the atom is addressable on its own: a named function, method, class or declaration (a continuation block or a loose statement is not) |
//! | `determinism` | no call into clock, random, uuid or environment APIs (`time.time`, `datetime.now`, `random.*`, `uuid4`, `os.environ`, `Date.now`, `new Date()`, `Math.random`, `crypto.randomUUID`, `performance.now`, `process.env`) |
//! | `side_effects` | no `global`/`nonlocal` writes or writes to module-level names from a function, and no file, console, process or network calls (`open`, `print`, `input`, `subprocess.*`, `os.system`, `requests.*`, `socket.*`, `urllib.*`, `fetch`, `fs.*`, `console.*`, `process.exit`, `XMLHttpRequest`) |
//! | `clear_io` | for a callable: every parameter (besides `self`/`cls`) has a type annotation or is named in the docstring, and the return is annotated, documented or absent (no value returned); other atoms pass |

use serde::{Deserialize, Serialize};

/// Score at or above which an atom is atomic.
pub const PASS_SCORE: f64 = 0.8;
/// Cyclomatic complexity above which the `complexity` criterion fails.
pub const MAX_COMPLEXITY: u32 = 5;
/// Distinct external symbols above which the `independence` criterion fails.
pub const MAX_EXTERNAL_SYMBOLS: usize = 7;
/// Completeness below which the `context_completeness` criterion fails.
pub const MIN_CONTEXT_COMPLETENESS: f64 = 0.95;

/// The ten criteria, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    Size,
    Complexity,
    SingleResponsibility,
    ClearBoundaries,
    Independence,
    ContextCompleteness,
    Testability,
    Determinism,
    SideEffects,
    ClearIo,
}

impl Criterion {
    pub const ALL: [Criterion; 10] = [
        Criterion::Size,
        Criterion::Complexity,
        Criterion::SingleResponsibility,
        Criterion::ClearBoundaries,
        Criterion::Independence,
        Criterion::ContextCompleteness,
        Criterion::Testability,
        Criterion::Determinism,
        Criterion::SideEffects,
        Criterion::ClearIo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::Size => "size",
            Criterion::Complexity => "complexity",
            Criterion::SingleResponsibility => "single_responsibility",
            Criterion::ClearBoundaries => "clear_boundaries",
            Criterion::Independence => "independence",
            Criterion::ContextCompleteness => "context_completeness",
            Criterion::Testability => "testability",
            Criterion::Determinism => "determinism",
            Criterion::SideEffects => "side_effects",
            Criterion::ClearIo => "clear_io",
        }
    }
}

/// The outcome of one criterion, with the reason when it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionResult {
    pub criterion: Criterion,
    pub passed: bool,
    /// Why it failed (empty when it passed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The ten results of an atom and their score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Atomicity {
    /// 0.1 per passed criterion.
    pub score: f64,
    /// `score >= PASS_SCORE`.
    pub passed: bool,
    pub criteria: Vec<CriterionResult>,
}

/// What the syntax tree says about an atom, gathered during atomization.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AtomFacts {
    pub loc: u32,
    pub max_loc: u32,
    pub complexity: u32,
    /// Function and class definitions inside the atom (including the atom's own).
    pub definitions: u32,
    /// True for callable atoms (function, method, nested function).
    pub callable: bool,
    /// True when the atom is a declarative group (imports, constants, aliases, fields).
    pub declarative: bool,
    /// The atom starts or ends inside a compound statement of a split definition.
    pub cut_inside_statement: bool,
    pub has_syntax_error: bool,
    /// Distinct external symbols referenced.
    pub external_symbols: usize,
    pub context_completeness: f64,
    /// Named function, method, class or declaration.
    pub addressable: bool,
    /// First nondeterministic API used, if any.
    pub nondeterministic_call: Option<String>,
    /// First side effect found, if any.
    pub side_effect: Option<String>,
    /// First parameter or return lacking a type and a mention in the docstring, if any.
    pub unclear_io: Option<String>,
}

impl Atomicity {
    /// Applies the ten rules to the facts.
    pub fn evaluate(f: &AtomFacts) -> Atomicity {
        let mut criteria = Vec::with_capacity(10);
        // The detail is written only for a failed criterion.
        let mut push = |criterion, passed: bool, detail: &dyn Fn() -> String| {
            criteria.push(CriterionResult {
                criterion,
                passed,
                detail: if passed { String::new() } else { detail() },
            })
        };
        push(Criterion::Size, f.loc <= f.max_loc, &|| {
            format!("{} LOC over the ceiling of {}", f.loc, f.max_loc)
        });
        push(
            Criterion::Complexity,
            f.complexity <= MAX_COMPLEXITY,
            &|| {
                format!(
                    "cyclomatic complexity {} over {}",
                    f.complexity, MAX_COMPLEXITY
                )
            },
        );
        let single = f.definitions <= 1 && !(f.declarative && f.definitions > 0);
        push(Criterion::SingleResponsibility, single, &|| {
            format!("{} definitions in one atom", f.definitions)
        });
        push(
            Criterion::ClearBoundaries,
            !f.cut_inside_statement && !f.has_syntax_error,
            &|| {
                if f.has_syntax_error {
                    "holds a syntax error".to_string()
                } else {
                    "cut out of a compound statement".to_string()
                }
            },
        );
        push(
            Criterion::Independence,
            f.external_symbols <= MAX_EXTERNAL_SYMBOLS,
            &|| {
                format!(
                    "{} external symbols (at most {})",
                    f.external_symbols, MAX_EXTERNAL_SYMBOLS
                )
            },
        );
        push(
            Criterion::ContextCompleteness,
            f.context_completeness >= MIN_CONTEXT_COMPLETENESS,
            &|| {
                format!(
                    "context completeness {:.2} under {:.2}",
                    f.context_completeness, MIN_CONTEXT_COMPLETENESS
                )
            },
        );
        push(Criterion::Testability, f.addressable, &|| {
            "not addressable on its own (continuation block or loose statement)".to_string()
        });
        push(
            Criterion::Determinism,
            f.nondeterministic_call.is_none(),
            &|| {
                format!(
                    "calls {}",
                    f.nondeterministic_call.as_deref().unwrap_or_default()
                )
            },
        );
        push(Criterion::SideEffects, f.side_effect.is_none(), &|| {
            f.side_effect.clone().unwrap_or_default()
        });
        push(Criterion::ClearIo, f.unclear_io.is_none(), &|| {
            f.unclear_io.clone().unwrap_or_default()
        });
        Atomicity::from_criteria(criteria)
    }

    fn from_criteria(criteria: Vec<CriterionResult>) -> Atomicity {
        let passed_count = criteria.iter().filter(|c| c.passed).count();
        // Integer tenths keep the score exact (0.8, not 0.7999…).
        let score = passed_count as f64 / 10.0;
        Atomicity {
            score,
            passed: passed_count >= 8,
            criteria,
        }
    }

    /// The result of one criterion.
    pub fn get(&self, criterion: Criterion) -> Option<&CriterionResult> {
        self.criteria.iter().find(|c| c.criterion == criterion)
    }

    /// Re-scores after the context completeness changed (cross-file resolution).
    pub fn with_context_completeness(&self, completeness: f64) -> Atomicity {
        let criteria = self
            .criteria
            .iter()
            .map(|c| {
                if c.criterion == Criterion::ContextCompleteness {
                    let passed = completeness >= MIN_CONTEXT_COMPLETENESS;
                    CriterionResult {
                        criterion: c.criterion,
                        passed,
                        detail: if passed {
                            String::new()
                        } else {
                            format!(
                                "context completeness {:.2} under {:.2}",
                                completeness, MIN_CONTEXT_COMPLETENESS
                            )
                        },
                    }
                } else {
                    c.clone()
                }
            })
            .collect();
        Atomicity::from_criteria(criteria)
    }
}
