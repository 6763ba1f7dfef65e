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
//! | `consistency` | 2·(share of independent samples agreeing with the code) − 1; 0 without a sample that counts | higher is more confident |
//!
//! `consistency` comes from [`crate::consistency`]: after an atom passed, one more sample of
//! the same unit is drawn at a non-zero temperature and compared token by token with the
//! accepted code; a sample failing its atomic check does not count. It detects faults that an
//! independent sample does not reproduce (see that module for the assumption).
//!
//! The fitting script constrains each weight to its direction, so the score is monotonic in
//! every signal.

use serde::{Deserialize, Serialize};

/// The feature names, in the order of the weight vector and of the CSV columns after the
/// raw signals are converted.
pub const FEATURES: [&str; 10] = [
    "atomic",
    "module",
    "component",
    "system",
    "retries",
    "log_complexity",
    "context_completeness",
    "atomicity",
    "logprob_gap",
    "consistency",
];

/// Direction of each feature: +1 when a larger value means more confidence, −1 otherwise.
pub const DIRECTIONS: [f64; 10] = [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0];

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
    /// Share (0..=1) of the independent samples of the unit that agree with the accepted code,
    /// among those that passed their atomic check; `None` when no sample counts.
    #[serde(default)]
    pub consistency: Option<f64>,
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
pub fn features(s: &Signals, w: &ConfidenceWeights) -> [f64; 10] {
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
        s.consistency
            .map_or(0.0, |share| 2.0 * share.clamp(0.0, 1.0) - 1.0),
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signals() -> impl Strategy<Value = Signals> {
        let level = prop_oneof![Just(None), Just(Some(true)), Just(Some(false))];
        (
            (level.clone(), level.clone(), level.clone(), level),
            1u32..6,
            0u32..40,
            0.0f64..=1.0,
            0.0f64..=1.0,
            proptest::option::of(-5.0f64..=0.0),
            proptest::option::of(0.0f64..=1.0),
        )
            .prop_map(
                |((a, m, c, s), attempts, complexity, cc, at, lp, cs)| Signals {
                    atomic: a,
                    module: m,
                    component: c,
                    system: s,
                    attempts,
                    complexity,
                    context_completeness: cc,
                    atomicity: at,
                    mean_logprob: lp,
                    consistency: cs,
                },
            )
    }

    fn better_level(v: Option<bool>) -> Option<bool> {
        match v {
            Some(false) => None,
            _ => Some(true),
        }
    }

    #[test]
    fn the_committed_weights_load_and_score_in_range() {
        let w = ConfidenceWeights::builtin();
        assert_eq!(w.weights.len(), FEATURES.len());
        let good = Signals {
            atomic: Some(true),
            module: Some(true),
            component: Some(true),
            system: Some(true),
            attempts: 1,
            complexity: 2,
            context_completeness: 1.0,
            atomicity: 0.9,
            mean_logprob: None,
            consistency: Some(1.0),
        };
        let bad = Signals {
            system: Some(false),
            attempts: 4,
            ..good
        };
        let (g, b) = (confidence(&good, &w), confidence(&bad, &w));
        assert!(g > 0.95 && g <= 1.0, "{g}");
        assert!(b < g && b >= 0.0);
        assert!(!needs_review(g, &w));
        assert!(needs_review(b, &w), "{b}");
    }

    #[test]
    fn weights_against_their_direction_are_refused() {
        let text = BUILTIN_WEIGHTS.replace("\"retries\": -0.5", "\"retries\": 0.5");
        let err = ConfidenceWeights::from_json(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "confidence weights: weight of 'retries' is 0.5, against its documented direction"
        );
        let err = ConfidenceWeights::from_json("{").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("confidence weights: invalid JSON at line 1"));
    }

    proptest! {
        #[test]
        fn the_score_is_monotonic_in_every_signal(s in signals()) {
            let w = ConfidenceWeights::builtin();
            let base = confidence(&s, &w);
            prop_assert!((0.0..=1.0).contains(&base));
            let improved = [
                Signals { atomic: better_level(s.atomic), ..s },
                Signals { module: better_level(s.module), ..s },
                Signals { component: better_level(s.component), ..s },
                Signals { system: better_level(s.system), ..s },
                Signals { attempts: s.attempts.saturating_sub(1).max(1), ..s },
                Signals { complexity: s.complexity / 2, ..s },
                Signals { context_completeness: (s.context_completeness + 0.1).min(1.0), ..s },
                Signals { atomicity: (s.atomicity + 0.1).min(1.0), ..s },
                Signals { mean_logprob: Some(s.mean_logprob.map_or(0.0, |lp| (lp + 0.5).min(0.0))), ..s },
                Signals { consistency: Some(s.consistency.map_or(0.5, |c| (c + 0.25).min(1.0))), ..s },
            ];
            for (i, better) in improved.iter().enumerate() {
                if i == 8 && s.mean_logprob.is_none() {
                    // Absent → a log-probability of 0 means a gap of 0 ≤ the default gap.
                    prop_assert!(confidence(better, &w) >= base);
                    continue;
                }
                prop_assert!(confidence(better, &w) >= base, "signal {} lowered the score", FEATURES[i]);
            }
        }
    }
}
