//! Confidence in each generated atom and the human review queue. Once the validation rounds
//! are over, every atom with code gets a score in [0, 1] from the documented signals
//! (`mge_validate::confidence`): its atomic result, the module, component and system results of
//! the last round as they concern it, the attempts it took, its complexity, its context
//! completeness and atomicity. Atoms under the threshold of the fitted weights are queued for
//! review with the reasons. Scores, queue entries and the `confidence_scored` history row
//! commit together, once per plan.

use std::collections::HashSet;

use mge_core::ValidationLevel;
use mge_store::{HistoryEvent, NewReview, StoredAtom};
use mge_validate::{confidence, needs_review, ConfidenceWeights, Signals};

use super::post::VALIDATION_ROUND;
use crate::run::RunContext;
use crate::Result;

/// History event recording that a plan's atoms were scored (details: scored, queued,
/// threshold).
pub const CONFIDENCE_SCORED: &str = "confidence_scored";

/// What the last validation round says about one level for one atom.
fn level_signal(
    round: Option<&serde_json::Value>,
    level: ValidationLevel,
    key: &str,
) -> Option<bool> {
    let round = round?;
    let passed = round["levels"].get(level.as_str())?.as_bool()?;
    if passed {
        return Some(true);
    }
    let suspects: HashSet<&str> = round["suspects"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    if suspects.contains(key) {
        Some(false)
    } else if suspects.is_empty() {
        // The failure points nowhere: nothing is known about this atom.
        None
    } else {
        Some(true)
    }
}

/// The signals of one stored atom, given the last validation round.
pub fn signals(atom: &StoredAtom, round: Option<&serde_json::Value>) -> Signals {
    let key = atom.atom.atom_key.as_str();
    Signals {
        atomic: atom.validation_passed.or(Some(atom.atom.code.is_some())),
        module: level_signal(round, ValidationLevel::Module, key),
        component: level_signal(round, ValidationLevel::Component, key),
        system: level_signal(round, ValidationLevel::System, key),
        attempts: atom.attempts.max(1) as u32,
        complexity: atom.atom.complexity.max(0.0).round() as u32,
        context_completeness: atom.atom.completeness_score,
        atomicity: atom.atom.atomicity_score.unwrap_or(1.0),
        mean_logprob: None,
    }
}

/// Why an atom with these signals and this score goes to review.
pub fn reasons(s: &Signals, score: f64, weights: &ConfidenceWeights) -> serde_json::Value {
    let mut out = vec![format!(
        "confidence {score:.3} is under the review threshold {:.3}",
        weights.review_threshold
    )];
    for (name, v) in [
        ("atomic", s.atomic),
        ("module", s.module),
        ("component", s.component),
        ("system", s.system),
    ] {
        match v {
            Some(false) => out.push(format!("the {name} level failed at this atom")),
            None if name != "atomic" => out.push(format!("the {name} level says nothing of it")),
            _ => {}
        }
    }
    if s.attempts > 1 {
        out.push(format!("it took {} attempts", s.attempts));
    }
    if s.context_completeness < 1.0 {
        out.push(format!(
            "its context is {:.0}% complete",
            s.context_completeness * 100.0
        ));
    }
    if s.atomicity < 1.0 {
        out.push(format!("its atomicity score is {:.2}", s.atomicity));
    }
    if s.complexity > 5 {
        out.push(format!("its cyclomatic complexity is {}", s.complexity));
    }
    serde_json::json!(out)
}

/// Scores the plan's atoms and queues the doubtful ones, once per plan.
pub async fn score_plan(run: &RunContext) -> Result<()> {
    let plan = run.plan_id();
    let history = run.store.load_history(plan).await?;
    if history.iter().any(|h| h.event == CONFIDENCE_SCORED) {
        return Ok(());
    }
    let round = history
        .iter()
        .rfind(|h| h.event == VALIDATION_ROUND)
        .map(|h| &h.details);
    let weights = ConfidenceWeights::builtin();
    let atoms = run.store.load_atoms(plan).await?;
    let mut scores = Vec::new();
    let mut reviews = Vec::new();
    for atom in atoms.iter().filter(|a| a.atom.code.is_some()) {
        let s = signals(atom, round);
        let score = confidence(&s, &weights);
        scores.push((atom.atom.id, score));
        if needs_review(score, &weights) {
            reviews.push(NewReview {
                atom_id: atom.atom.id,
                confidence_score: score,
                reasons: reasons(&s, score, &weights),
            });
        }
    }
    let event = HistoryEvent {
        plan,
        task: None,
        event: CONFIDENCE_SCORED.to_string(),
        details: serde_json::json!({
            "scored": scores.len(),
            "queued": reviews.len(),
            "threshold": weights.review_threshold,
            "weights_version": weights.version,
        }),
    };
    let seqs = run
        .store
        .record_confidence(plan, &scores, &reviews, std::slice::from_ref(&event))
        .await?;
    for (seq, e) in seqs.into_iter().zip([event]) {
        run.report(seq, e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round() -> serde_json::Value {
        serde_json::json!({
            "levels": {"module": true, "component": false, "system": false},
            "suspects": ["a.py::f#0"],
        })
    }

    #[test]
    fn a_level_concerns_an_atom_only_where_it_points() {
        let r = round();
        let m = ValidationLevel::Module;
        let s = ValidationLevel::System;
        assert_eq!(level_signal(Some(&r), m, "a.py::g#0"), Some(true));
        assert_eq!(level_signal(Some(&r), s, "a.py::f#0"), Some(false));
        assert_eq!(level_signal(Some(&r), s, "a.py::g#0"), Some(true));
        assert_eq!(level_signal(None, s, "a.py::f#0"), None);
        let nowhere = serde_json::json!({"levels": {"system": false}, "suspects": []});
        assert_eq!(level_signal(Some(&nowhere), s, "a.py::f#0"), None);
        assert_eq!(
            level_signal(Some(&r), ValidationLevel::Atomic, "a.py::f#0"),
            None
        );
    }

    #[test]
    fn failing_levels_lower_the_score_and_are_named_in_the_reasons() {
        let weights = ConfidenceWeights::builtin();
        let good = Signals {
            atomic: Some(true),
            module: Some(true),
            component: Some(true),
            system: Some(true),
            attempts: 1,
            complexity: 1,
            context_completeness: 1.0,
            atomicity: 1.0,
            mean_logprob: None,
        };
        let bad = Signals {
            system: Some(false),
            attempts: 3,
            context_completeness: 0.5,
            ..good
        };
        let (g, b) = (confidence(&good, &weights), confidence(&bad, &weights));
        assert!(b < g, "{b} < {g}");
        let why = reasons(&bad, b, &weights).to_string();
        for part in [
            "the system level failed at this atom",
            "it took 3 attempts",
            "its context is 50% complete",
            "under the review threshold",
        ] {
            assert!(why.contains(part), "{why}");
        }
    }
}
