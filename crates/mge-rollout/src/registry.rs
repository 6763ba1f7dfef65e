//! The flag registry: every flag's name, type, default, description and the validation of a new
//! value.
//!
//! Flag names are the environment variable names, which also serve as first-start defaults. A value
//! is written three ways, all validated by the flag's [`FlagKind`]:
//! - as text (`mge flags set NAME VALUE`, environment variables): booleans accept
//!   `true/false/1/0/yes/no/on/off` (any case); lists are comma-separated, trimmed, empty items
//!   dropped, duplicates removed (first occurrence kept); modes accept `mvp`, `v2_atoms` (or `v2`),
//!   `hybrid`;
//! - as JSON (a stored row): the JSON type of the kind, or a string parsed as text;
//! - as a [`FlagValue`] (in process): checked against the kind and its range.

use std::fmt;

use mge_core::ExecutionMode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Flag names (each is also the environment variable giving its first-start default).
pub mod names {
    /// Mode of a plan no other rule decides: `mvp` | `v2_atoms` | `hybrid`. Env alias `DEVMATRIX_MODE`.
    pub const DEFAULT_MODE: &str = "MGE_DEFAULT_MODE";
    pub const ENABLE_V2_ATOMIZATION: &str = "ENABLE_V2_ATOMIZATION";
    pub const ENABLE_V2_DEP_GRAPH: &str = "ENABLE_V2_DEP_GRAPH";
    pub const ENABLE_V2_VALIDATION: &str = "ENABLE_V2_VALIDATION";
    pub const ENABLE_V2_EXECUTION: &str = "ENABLE_V2_EXECUTION";
    pub const ENABLE_V2_REVIEW: &str = "ENABLE_V2_REVIEW";
    pub const V2_ROLLOUT_PERCENT: &str = "V2_ROLLOUT_PERCENT";
    pub const V2_ROLLOUT_MODE: &str = "V2_ROLLOUT_MODE";
    pub const V2_CANARY_USERS: &str = "V2_CANARY_USERS";
    pub const V2_CANARY_PLANS: &str = "V2_CANARY_PLANS";
    pub const V2_MAX_PARALLEL_ATOMS: &str = "V2_MAX_PARALLEL_ATOMS";
    pub const V2_RETRY_MAX_ATTEMPTS: &str = "V2_RETRY_MAX_ATTEMPTS";
    pub const V2_CONTEXT_COMPLETENESS_TARGET: &str = "V2_CONTEXT_COMPLETENESS_TARGET";
    pub const V2_VALIDATION_STRICTNESS: &str = "V2_VALIDATION_STRICTNESS";
    pub const V2_AUTO_ROLLBACK_ENABLED: &str = "V2_AUTO_ROLLBACK_ENABLED";
    pub const V2_AUTO_ROLLBACK_WINDOW: &str = "V2_AUTO_ROLLBACK_WINDOW";
    pub const V2_AUTO_ROLLBACK_MIN_SAMPLES: &str = "V2_AUTO_ROLLBACK_MIN_SAMPLES";
    pub const V2_AUTO_ROLLBACK_MAX_FAILURE_RATE: &str = "V2_AUTO_ROLLBACK_MAX_FAILURE_RATE";
    pub const V2_AUTO_ROLLBACK_P99_LATENCY_MS: &str = "V2_AUTO_ROLLBACK_P99_LATENCY_MS";
}

use names::*;

/// Capability flags that must all be on for a plan to run in `v2_atoms` or `hybrid`.
pub const REQUIRED_CAPABILITIES: [&str; 4] = [
    ENABLE_V2_ATOMIZATION,
    ENABLE_V2_DEP_GRAPH,
    ENABLE_V2_VALIDATION,
    ENABLE_V2_EXECUTION,
];

/// Every V2 capability flag (the required ones plus the optional review queue); a rollback turns
/// all of them off.
pub const V2_CAPABILITIES: [&str; 5] = [
    ENABLE_V2_ATOMIZATION,
    ENABLE_V2_DEP_GRAPH,
    ENABLE_V2_VALIDATION,
    ENABLE_V2_EXECUTION,
    ENABLE_V2_REVIEW,
];

/// The type of a flag and the values it admits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FlagKind {
    Bool,
    /// An integer in `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    /// A finite number in `min..=max`.
    Float {
        min: f64,
        max: f64,
    },
    /// An execution mode; `mvp` only when `allow_mvp`.
    Mode {
        allow_mvp: bool,
    },
    /// One of a fixed set of lower-case words.
    Choice {
        options: &'static [&'static str],
    },
    /// A list of non-empty strings (ids).
    List,
}

impl FlagKind {
    /// What a valid value looks like, for error messages.
    pub fn expected(&self) -> String {
        match self {
            FlagKind::Bool => "true or false".to_string(),
            FlagKind::Int { min, max } => format!("an integer in {min}..={max}"),
            FlagKind::Float { min, max } => format!("a number in {min}..={max}"),
            FlagKind::Mode { allow_mvp: true } => "one of mvp, v2_atoms, hybrid".to_string(),
            FlagKind::Mode { allow_mvp: false } => "one of v2_atoms, hybrid".to_string(),
            FlagKind::Choice { options } => format!("one of {}", options.join(", ")),
            FlagKind::List => "a comma-separated list (or JSON array) of ids".to_string(),
        }
    }
}

/// The value of a flag. Serializes to plain JSON (`true`, `50`, `0.95`, `"mvp"`, `["u1"]`), the
/// form stored in `feature_flags.value` and the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FlagValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Mode(ExecutionMode),
    Text(String),
    List(Vec<String>),
}

impl fmt::Display for FlagValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagValue::Bool(b) => write!(f, "{b}"),
            FlagValue::Int(i) => write!(f, "{i}"),
            FlagValue::Float(x) => write!(f, "{x}"),
            FlagValue::Mode(m) => write!(f, "{m}"),
            FlagValue::Text(s) => f.write_str(s),
            FlagValue::List(items) => f.write_str(&items.join(",")),
        }
    }
}

/// A registered flag.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FlagDef {
    pub name: &'static str,
    pub kind: FlagKind,
    /// The default, written as text and parsed by `kind` (a unit test checks each one parses).
    pub default: &'static str,
    /// Other environment variable names read for the first-start default (after `name`).
    pub env_aliases: &'static [&'static str],
    pub description: &'static str,
}

/// An invalid flag name or value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlagError {
    #[error("unknown flag '{name}'{}", did_you_mean(.suggestion))]
    UnknownFlag {
        name: String,
        suggestion: Option<&'static str>,
    },
    #[error("invalid value '{value}' for flag {name}: expected {expected}")]
    InvalidValue {
        name: &'static str,
        value: String,
        expected: String,
    },
    #[error("environment variable {var}: {source}")]
    Env {
        var: String,
        #[source]
        source: Box<FlagError>,
    },
}

fn did_you_mean(suggestion: &Option<&'static str>) -> String {
    suggestion.map_or_else(
        || " (see `mge flags list`)".to_string(),
        |s| format!(" (did you mean {s}?)"),
    )
}

const STRICTNESS: &[&str] = &["low", "medium", "high"];

/// Every flag, in display order.
pub const REGISTRY: &[FlagDef] = &[
    FlagDef {
        name: DEFAULT_MODE,
        kind: FlagKind::Mode { allow_mvp: true },
        default: "mvp",
        env_aliases: &["DEVMATRIX_MODE"],
        description: "Mode of a plan that no request, override, canary or rollout decides",
    },
    FlagDef {
        name: ENABLE_V2_ATOMIZATION,
        kind: FlagKind::Bool,
        default: "false",
        env_aliases: &[],
        description: "V2 capability: split task code into tree-sitter atoms (required for V2)",
    },
    FlagDef {
        name: ENABLE_V2_DEP_GRAPH,
        kind: FlagKind::Bool,
        default: "false",
        env_aliases: &[],
        description: "V2 capability: atom dependency graph and waves (required for V2)",
    },
    FlagDef {
        name: ENABLE_V2_VALIDATION,
        kind: FlagKind::Bool,
        default: "false",
        env_aliases: &[],
        description: "V2 capability: four-level validation (required for V2)",
    },
    FlagDef {
        name: ENABLE_V2_EXECUTION,
        kind: FlagKind::Bool,
        default: "false",
        env_aliases: &[],
        description: "V2 capability: parallel wave execution with retries (required for V2)",
    },
    FlagDef {
        name: ENABLE_V2_REVIEW,
        kind: FlagKind::Bool,
        default: "false",
        env_aliases: &[],
        description: "V2 capability: low-confidence atoms go to the review queue (optional)",
    },
    FlagDef {
        name: V2_ROLLOUT_PERCENT,
        kind: FlagKind::Int { min: 0, max: 100 },
        default: "0",
        env_aliases: &[],
        description: "Share of stickiness buckets (user id, else plan id) that get V2_ROLLOUT_MODE",
    },
    FlagDef {
        name: V2_ROLLOUT_MODE,
        kind: FlagKind::Mode { allow_mvp: false },
        default: "v2_atoms",
        env_aliases: &[],
        description: "Mode given by the canary allowlists and the percentage rollout",
    },
    FlagDef {
        name: V2_CANARY_USERS,
        kind: FlagKind::List,
        default: "",
        env_aliases: &[],
        description: "User ids whose plans get V2_ROLLOUT_MODE regardless of the percentage",
    },
    FlagDef {
        name: V2_CANARY_PLANS,
        kind: FlagKind::List,
        default: "",
        env_aliases: &[],
        description: "Plan ids that get V2_ROLLOUT_MODE regardless of the percentage",
    },
    FlagDef {
        name: V2_MAX_PARALLEL_ATOMS,
        kind: FlagKind::Int {
            min: 1,
            max: 10_000,
        },
        default: "50",
        env_aliases: &[],
        description: "Most atoms executing at once in V2",
    },
    FlagDef {
        name: V2_RETRY_MAX_ATTEMPTS,
        kind: FlagKind::Int { min: 1, max: 100 },
        default: "3",
        env_aliases: &[],
        description: "Most attempts per atom (first try included) before it counts as failed",
    },
    FlagDef {
        name: V2_CONTEXT_COMPLETENESS_TARGET,
        kind: FlagKind::Float { min: 0.0, max: 1.0 },
        default: "0.95",
        env_aliases: &[],
        description: "Context completeness an atom should reach",
    },
    FlagDef {
        name: V2_VALIDATION_STRICTNESS,
        kind: FlagKind::Choice {
            options: STRICTNESS,
        },
        default: "medium",
        env_aliases: &[],
        description: "How strict V2 validation is: low | medium | high",
    },
    FlagDef {
        name: V2_AUTO_ROLLBACK_ENABLED,
        kind: FlagKind::Bool,
        default: "true",
        env_aliases: &[],
        description: "Roll back automatically when the V2 outcome window trips",
    },
    FlagDef {
        name: V2_AUTO_ROLLBACK_WINDOW,
        kind: FlagKind::Int {
            min: 1,
            max: 100_000,
        },
        default: "200",
        env_aliases: &[],
        description: "Number of most recent V2 units the rollback trigger looks at",
    },
    FlagDef {
        name: V2_AUTO_ROLLBACK_MIN_SAMPLES,
        kind: FlagKind::Int {
            min: 1,
            max: 100_000,
        },
        default: "50",
        env_aliases: &[],
        description: "Units the window must hold before the trigger may trip",
    },
    FlagDef {
        name: V2_AUTO_ROLLBACK_MAX_FAILURE_RATE,
        kind: FlagKind::Float { min: 0.0, max: 1.0 },
        default: "0.05",
        env_aliases: &[],
        description: "Trip when failed units / units in the window exceeds this",
    },
    FlagDef {
        name: V2_AUTO_ROLLBACK_P99_LATENCY_MS,
        kind: FlagKind::Int {
            min: 0,
            max: 86_400_000,
        },
        default: "120000",
        env_aliases: &[],
        description: "Trip when the p99 unit latency (ms) exceeds this; 0 disables the check",
    },
];

/// The registered flag called `name` (exact, upper-case name).
pub fn lookup(name: &str) -> Result<&'static FlagDef, FlagError> {
    REGISTRY
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| FlagError::UnknownFlag {
            name: name.to_string(),
            suggestion: suggest(name),
        })
}

/// The closest registered name: same name in another case, or within edit distance 3.
fn suggest(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    REGISTRY
        .iter()
        .map(|d| (edit_distance(&upper, d.name), d.name))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl FlagDef {
    fn invalid(&self, value: impl fmt::Display) -> FlagError {
        FlagError::InvalidValue {
            name: self.name,
            value: value.to_string(),
            expected: self.kind.expected(),
        }
    }

    /// The default value, parsed from [`FlagDef::default`].
    pub fn default_value(&self) -> FlagValue {
        // Every default in REGISTRY parses (checked by a unit test); an empty list is the fallback.
        self.parse(self.default)
            .unwrap_or(FlagValue::List(Vec::new()))
    }

    /// Parses a value written as text.
    pub fn parse(&self, raw: &str) -> Result<FlagValue, FlagError> {
        let text = raw.trim();
        let value = match self.kind {
            FlagKind::Bool => match text.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => FlagValue::Bool(true),
                "false" | "0" | "no" | "off" => FlagValue::Bool(false),
                _ => return Err(self.invalid(raw)),
            },
            FlagKind::Int { .. } => {
                FlagValue::Int(text.parse::<i64>().map_err(|_| self.invalid(raw))?)
            }
            FlagKind::Float { .. } => {
                FlagValue::Float(text.parse::<f64>().map_err(|_| self.invalid(raw))?)
            }
            FlagKind::Mode { .. } => FlagValue::Mode(
                text.to_ascii_lowercase()
                    .parse::<ExecutionMode>()
                    .map_err(|_| self.invalid(raw))?,
            ),
            FlagKind::Choice { .. } => FlagValue::Text(text.to_ascii_lowercase()),
            FlagKind::List => FlagValue::List(text.split(',').map(str::to_string).collect()),
        };
        self.check(value).map_err(|_| self.invalid(raw))
    }

    /// Reads a stored JSON value: the JSON type of the kind, or a string parsed as text.
    pub fn from_json(&self, json: &Value) -> Result<FlagValue, FlagError> {
        let value = match (self.kind, json) {
            (_, Value::String(s)) => return self.parse(s),
            (FlagKind::Bool, Value::Bool(b)) => FlagValue::Bool(*b),
            (FlagKind::Int { .. }, Value::Number(n)) => match n.as_i64() {
                Some(i) => FlagValue::Int(i),
                None => FlagValue::Float(n.as_f64().ok_or_else(|| self.invalid(json))?),
            },
            (FlagKind::Float { .. }, Value::Number(n)) => {
                FlagValue::Float(n.as_f64().ok_or_else(|| self.invalid(json))?)
            }
            (FlagKind::List, Value::Array(items)) => FlagValue::List(
                items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| self.invalid(json))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(self.invalid(json)),
        };
        self.check(value).map_err(|_| self.invalid(json))
    }

    /// Validates an in-process value against the kind and normalizes it (lists trimmed and
    /// de-duplicated, an integral float accepted by an int flag and vice versa, a mode given as text).
    pub fn check(&self, value: FlagValue) -> Result<FlagValue, FlagError> {
        let bad = |v: &FlagValue| self.invalid(v);
        match (self.kind, value) {
            (FlagKind::Bool, v @ FlagValue::Bool(_)) => Ok(v),
            (FlagKind::Int { min, max }, v) => {
                let i = match v {
                    FlagValue::Int(i) => i,
                    FlagValue::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => x as i64,
                    other => return Err(bad(&other)),
                };
                if (min..=max).contains(&i) {
                    Ok(FlagValue::Int(i))
                } else {
                    Err(bad(&FlagValue::Int(i)))
                }
            }
            (FlagKind::Float { min, max }, v) => {
                let x = match v {
                    FlagValue::Float(x) => x,
                    FlagValue::Int(i) => i as f64,
                    other => return Err(bad(&other)),
                };
                if x.is_finite() && x >= min && x <= max {
                    Ok(FlagValue::Float(x))
                } else {
                    Err(bad(&FlagValue::Float(x)))
                }
            }
            (FlagKind::Mode { allow_mvp }, v) => {
                let mode = match &v {
                    FlagValue::Mode(m) => *m,
                    FlagValue::Text(s) => s.parse::<ExecutionMode>().map_err(|_| bad(&v))?,
                    _ => return Err(bad(&v)),
                };
                if mode == ExecutionMode::Mvp && !allow_mvp {
                    return Err(bad(&v));
                }
                Ok(FlagValue::Mode(mode))
            }
            (FlagKind::Choice { options }, FlagValue::Text(s)) if options.contains(&s.as_str()) => {
                Ok(FlagValue::Text(s))
            }
            (FlagKind::List, FlagValue::List(items)) => {
                let mut out: Vec<String> = Vec::with_capacity(items.len());
                for item in items {
                    let item = item.trim();
                    if !item.is_empty() && !out.iter().any(|o| o == item) {
                        out.push(item.to_string());
                    }
                }
                Ok(FlagValue::List(out))
            }
            (_, other) => Err(bad(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn every_default_parses_and_names_are_unique() {
        for def in REGISTRY {
            assert!(def.parse(def.default).is_ok(), "default of {}", def.name);
            assert_eq!(
                REGISTRY.iter().filter(|d| d.name == def.name).count(),
                1,
                "{} registered once",
                def.name
            );
        }
    }

    #[test]
    fn parsing_normalizes_and_rejects_with_the_flag_and_value_named() {
        let percent = lookup(V2_ROLLOUT_PERCENT).unwrap();
        assert_eq!(percent.parse(" 25 "), Ok(FlagValue::Int(25)));
        assert_eq!(
            percent.from_json(&serde_json::json!(25)),
            Ok(FlagValue::Int(25))
        );
        let users = lookup(V2_CANARY_USERS).unwrap();
        assert_eq!(
            users.parse("a, b,,a ,c"),
            Ok(FlagValue::List(vec!["a".into(), "b".into(), "c".into()]))
        );
        let on = lookup(ENABLE_V2_REVIEW).unwrap();
        assert_eq!(on.parse("YES"), Ok(FlagValue::Bool(true)));
        let mode = lookup(DEFAULT_MODE).unwrap();
        assert_eq!(
            mode.parse("V2"),
            Ok(FlagValue::Mode(ExecutionMode::V2Atoms))
        );

        let errors: Vec<String> = [
            percent.parse("101"),
            percent.parse("ten"),
            percent.from_json(&serde_json::json!(2.5)),
            on.parse("maybe"),
            lookup(V2_ROLLOUT_MODE).unwrap().parse("mvp"),
            lookup(V2_VALIDATION_STRICTNESS).unwrap().parse("extreme"),
            lookup(V2_CONTEXT_COMPLETENESS_TARGET).unwrap().parse("NaN"),
            users.from_json(&serde_json::json!([1, 2])),
            lookup("v2_rollout_percnt").map(|_| FlagValue::Bool(true)),
            lookup("NOPE").map(|_| FlagValue::Bool(true)),
        ]
        .into_iter()
        .map(|r| r.unwrap_err().to_string())
        .collect();
        expect![[r#"
            invalid value '101' for flag V2_ROLLOUT_PERCENT: expected an integer in 0..=100
            invalid value 'ten' for flag V2_ROLLOUT_PERCENT: expected an integer in 0..=100
            invalid value '2.5' for flag V2_ROLLOUT_PERCENT: expected an integer in 0..=100
            invalid value 'maybe' for flag ENABLE_V2_REVIEW: expected true or false
            invalid value 'mvp' for flag V2_ROLLOUT_MODE: expected one of v2_atoms, hybrid
            invalid value 'extreme' for flag V2_VALIDATION_STRICTNESS: expected one of low, medium, high
            invalid value 'NaN' for flag V2_CONTEXT_COMPLETENESS_TARGET: expected a number in 0..=1
            invalid value '[1,2]' for flag V2_CANARY_USERS: expected a comma-separated list (or JSON array) of ids
            unknown flag 'v2_rollout_percnt' (did you mean V2_ROLLOUT_PERCENT?)
            unknown flag 'NOPE' (see `mge flags list`)"#]]
        .assert_eq(&errors.join("\n"));
    }

    #[test]
    fn values_serialize_to_plain_json_and_back() {
        for def in REGISTRY {
            let value = def.default_value();
            let json = serde_json::to_value(&value).unwrap();
            assert_eq!(def.from_json(&json), Ok(value), "{}", def.name);
        }
        let json = serde_json::to_string(&FlagValue::Mode(ExecutionMode::Hybrid)).unwrap();
        assert_eq!(json, r#""hybrid""#);
    }
}
