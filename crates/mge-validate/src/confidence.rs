//! Confidence that a generated atom is right: a logistic function of documented signals with
//! weights fitted by `scripts/fit_confidence.py` and committed in
//! `crates/mge-validate/data/confidence_weights.json`. Pure.
//!
//! | feature | value | direction |
//! |---|---|---|
//! | `atomic`, `module`, `component`, `system` | +1 passed, −1 failed, 0 not run | higher is more confident |
//! | `retries` | attempts used − 1 | fewer is more confident |
//! | `log_complexity` | ln(1 + cyclomatic complexity) | lower is more confident |
//! | `context_completeness` | resolved references / references, 0..1 | higher is more confident |
//! | `atomicity` | atomicity score, 0..1 | higher is more confident |
//! | `logprob_gap` | −(mean token log-probability), or the file's default when absent | lower is more confident |
//!
//! The fitting script constrains each weight to its direction, so the score is monotonic in
//! every signal.

use serde::{Deserialize, Serialize};

/// The feature names, in the order of the weight vector and of the CSV columns after the
/// raw signals are converted.
pub const FEATURES: [&str; 9] = [
    "atomic",
    "module",
    "component",
    "system",
    "retries",
    "log_complexity",
    "context_completeness",
    "atomicity",
    "logprob_gap",
];

/// Direction of each feature: +1 when a larger value means more confidence, −1 otherwise.
pub const DIRECTIONS: [f64; 9] = [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0];

/// What is known about one atom when its confidence is scored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Result of each validation level: `Some(true)` passed, `Some(false)` failed, `None` not
    /// run.
    pub atomic: Option<bool>,
    pub module: Option<bool>,
    pub component: Option<bool>,
    pub system: Option<bool>,
    /// Generation attempts used (1 = the first attempt passed).
    pub attempts: u32,
    /// Cyclomatic complexity of the atom.
    pub complexity: u32,
    /// Context completeness, 0..=1.
    pub context_completeness: f64,
    /// Atomicity score, 0..=1.
    pub atomicity: f64,
    /// Mean log-probability of the generated tokens, when the provider returns them (≤ 0).
    pub mean_logprob: Option<f64>,
}

/// Fitted weights and the review threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceWeights {
    pub version: u32,
    pub bias: f64,
    /// One weight per entry of [`FEATURES`], by name.
    pub weights: std::collections::BTreeMap<String, f64>,
    /// `logprob_gap` used when a provider gives no log-probabilities.
    pub logprob_gap_when_absent: f64,
    /// Atoms scoring below this go to human review.
    pub review_threshold: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("confidence weights: invalid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("confidence weights: missing weight for feature '{0}'")]
    Missing(&'static str),
    #[error(
        "confidence weights: weight of '{feature}' is {value}, against its documented direction"
    )]
    WrongDirection { feature: &'static str, value: f64 },
}

/// The committed weights file.
pub const BUILTIN_WEIGHTS: &str = include_str!("../data/confidence_weights.json");

impl ConfidenceWeights {
    /// Parses a weights file and checks every feature has a weight in its direction.
    pub fn from_json(text: &str) -> Result<ConfidenceWeights, WeightsError> {
        let w: ConfidenceWeights = serde_json::from_str(text).map_err(|e| WeightsError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        for (name, dir) in FEATURES.iter().zip(DIRECTIONS) {
            let v = *w.weights.get(*name).ok_or(WeightsError::Missing(name))?;
            if v * dir < 0.0 {
                return Err(WeightsError::WrongDirection {
                    feature: name,
                    value: v,
                });
            }
        }
        Ok(w)
    }

    /// The committed weights.
    pub fn builtin() -> ConfidenceWeights {
        ConfidenceWeights::from_json(BUILTIN_WEIGHTS)
            .unwrap_or_else(|e| panic!("data/confidence_weights.json is invalid: {e}"))
    }

    fn weight(&self, name: &str) -> f64 {
        self.weights.get(name).copied().unwrap_or(0.0)
    }
}

fn level(v: Option<bool>) -> f64 {
    match v {
        Some(true) => 1.0,
        Some(false) => -1.0,
        None => 0.0,
    }
}

/// The feature vector of some signals, in the order of [`FEATURES`].
pub fn features(s: &Signals, w: &ConfidenceWeights) -> [f64; 9] {
    [
        level(s.atomic),
        level(s.module),
        level(s.component),
        level(s.system),
        s.attempts.saturating_sub(1) as f64,
        (1.0 + s.complexity as f64).ln(),
        s.context_completeness.clamp(0.0, 1.0),
        s.atomicity.clamp(0.0, 1.0),
        s.mean_logprob
            .map_or(w.logprob_gap_when_absent, |lp| (-lp).max(0.0)),
    ]
}

/// Confidence in [0, 1]: `1 / (1 + e^-(bias + Σ weight·feature))`.
pub fn confidence(signals: &Signals, weights: &ConfidenceWeights) -> f64 {
    let x = features(signals, weights);
    let z = FEATURES.iter().zip(x).fold(weights.bias, |acc, (name, v)| {
        acc + weights.weight(name) * v
    });
    1.0 / (1.0 + (-z).exp())
}

/// Whether an atom with this confidence goes to human review.
pub fn needs_review(score: f64, weights: &ConfidenceWeights) -> bool {
    score < weights.review_threshold
}
