//! Confidence in each generated atom and the human review queue. Once the validation rounds
//! are over, every atom with code gets a score in [0, 1] from the documented signals
//! (`mge_validate::confidence`): its atomic result, the module, component and system results of
//! the last round as they concern it, the attempts it took, its complexity, its context
//! completeness and atomicity, and its self-consistency. Atoms under the threshold of the
//! fitted weights are queued for review with the reasons. Scores, queue entries and the
//! `confidence_scored` history row commit together, once per plan.
//!
//! **Self-consistency.** Before scoring, every succeeded atom gets `consistency_samples`
//! independent samples of its unit from the generator, at `consistency_temperature`
//! (default 0.6: at temperature 0 a real model tends to repeat itself, and a repeated fault
//! is no evidence). A sample that passes the atomic check counts, and it agrees when its
//! tokens (tree-sitter leaves, comments dropped) equal the accepted code's; the signal is the
//! share of counted samples that agree (`mge_validate::consistency`). It detects faults that
//! an independent sample does not reproduce. Each sample is a generation whose tokens and
//! cost count in the run's totals, and each is persisted as a `consistency_sample` history
//! row before the next is used, so a resumed run reuses them (and a seeded generator draws a
//! missing one exactly as the uninterrupted run did).

use std::collections::{HashMap, HashSet};

use mge_core::{AtomStatus, ValidationLevel};
use mge_generate::GenerationResponse;
use mge_store::{HistoryEntry, HistoryEvent, NewReview, StoredAtom};
use mge_validate::consistency::{agreement, agrees};
use mge_validate::{confidence, needs_review, ConfidenceWeights, Signals};

use super::atom::{check_in_place, consistency_request};
use super::post::VALIDATION_ROUND;
use super::Prepared;
use crate::run::RunContext;
use crate::Result;

/// History event of one consistency sample (details: unit, sample, counts, agrees, tokens,
/// cost, latency, model, error).
pub const CONSISTENCY_SAMPLE: &str = "consistency_sample";

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

/// The signals of one stored atom, given the last validation round and its consistency
/// (agreement share of its counted samples).
pub fn signals(
    atom: &StoredAtom,
    round: Option<&serde_json::Value>,
    consistency: Option<f64>,
) -> Signals {
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
        consistency,
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
    if let Some(c) = s.consistency.filter(|c| *c < 1.0) {
        out.push(format!(
            "an independent sample disagrees with it ({:.0}% of samples agree)",
            c * 100.0
        ));
    }
    serde_json::json!(out)
}

/// What one recorded sample says: `Some(agrees)` when it counts, `None` otherwise.
fn recorded_outcome(h: &HistoryEntry) -> Option<bool> {
    let counts = h.details["counts"].as_bool() == Some(true);
    counts.then(|| h.details["agrees"].as_bool() == Some(true))
}

/// The details of a sample's history row.
fn sample_details(
    key: &str,
    sample: u32,
    temperature: f32,
    response: &std::result::Result<GenerationResponse, String>,
    outcome: Option<bool>,
) -> serde_json::Value {
    let r = response.as_ref().ok();
    serde_json::json!({
        "unit": key,
        "sample": sample,
        "temperature": temperature,
        "counts": outcome.is_some(),
        "agrees": outcome == Some(true),
        "tokens_in": r.map_or(0, |r| r.tokens_in),
        "tokens_out": r.map_or(0, |r| r.tokens_out),
        "latency_seconds": r.map_or(0.0, |r| r.latency.as_secs_f64()),
        "cost_usd": r.map_or(0.0, |r| r.cost_usd),
        "model": r.map(|r| r.model.clone()),
        "faults_injected": r.map_or(0, |r| r.injected_faults.len()),
        "error": response.as_ref().err(),
    })
}

/// The consistency of every succeeded atom with code, by atom key: samples recorded before
/// are reused, missing ones are drawn (up to `max_parallel` generations at once) and recorded
/// in atom order.
async fn consistency(
    run: &RunContext,
    prepared: &Prepared,
    atoms: &[StoredAtom],
    history: &[HistoryEntry],
) -> Result<HashMap<String, Option<f64>>> {
    let n = run.options.consistency_samples;
    let temperature = run.options.consistency_temperature;
    let mut outcomes: HashMap<(String, u32), Option<bool>> = history
        .iter()
        .filter(|h| h.event == CONSISTENCY_SAMPLE)
        .filter_map(|h| {
            let key = h.details["unit"].as_str()?.to_string();
            let sample = u32::try_from(h.details["sample"].as_u64()?).ok()?;
            Some(((key, sample), recorded_outcome(h)))
        })
        .collect();
    let index: HashMap<&str, usize> = prepared
        .atoms
        .iter()
        .enumerate()
        .map(|(i, a)| (a.key.as_str(), i))
        .collect();
    let mut todo = Vec::new();
    for a in atoms.iter().filter(|a| a.status == AtomStatus::Succeeded) {
        let (Some(code), Some(&i)) = (a.atom.code.as_ref(), index.get(a.atom.atom_key.as_str()))
        else {
            continue;
        };
        for k in 1..=n {
            if !outcomes.contains_key(&(a.atom.atom_key.clone(), k)) {
                todo.push((i, k, code.clone()));
            }
        }
    }
    let width = run.options.max_parallel.unwrap_or(50).max(1);
    for chunk in todo.chunks(width) {
        let handles: Vec<_> = chunk
            .iter()
            .map(|(i, k, _)| {
                let generator = run.generator.clone();
                let request = consistency_request(prepared, *i, *k, temperature);
                tokio::spawn(async move { generator.generate(&request).await })
            })
            .collect();
        for ((i, k, code), handle) in chunk.iter().zip(handles) {
            let response = match handle.await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(e) => Err(format!("generation task ended: {e}")),
            };
            let atom = &prepared.atoms[*i];
            let outcome = match &response {
                Ok(r) if check_in_place(run, prepared, *i, &r.code)?.is_none() => {
                    Some(agrees(&r.code, code, &atom.file, atom.language))
                }
                _ => None,
            };
            let details = sample_details(&atom.key, *k, temperature, &response, outcome);
            run.record(Some(atom.task_id), CONSISTENCY_SAMPLE, details)
                .await?;
            outcomes.insert((atom.key.clone(), *k), outcome);
        }
    }
    Ok(atoms
        .iter()
        .map(|a| {
            let key = a.atom.atom_key.clone();
            let samples: Vec<Option<bool>> = (1..=n)
                .filter_map(|k| outcomes.get(&(key.clone(), k)).copied())
                .collect();
            (key, agreement(&samples))
        })
        .collect())
}

/// Scores the plan's atoms and queues the doubtful ones, once per plan.
pub async fn score_plan(run: &RunContext, prepared: &Prepared) -> Result<()> {
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
    // Atoms of tasks that fell back to MVP (hybrid) are not this mode's: no score, no review.
    let fallen: HashSet<mge_core::TaskId> = history
        .iter()
        .filter(|h| h.event == crate::HYBRID_FALLBACK)
        .filter_map(|h| h.task_id)
        .collect();
    let atoms: Vec<StoredAtom> = run
        .store
        .load_atoms(plan)
        .await?
        .into_iter()
        .filter(|a| !fallen.contains(&a.atom.task_id))
        .collect();
    let consistency = consistency(run, prepared, &atoms, &history).await?;
    let mut scores = Vec::new();
    let mut reviews = Vec::new();
    for atom in atoms.iter().filter(|a| a.atom.code.is_some()) {
        let s = signals(
            atom,
            round,
            consistency.get(&atom.atom.atom_key).copied().flatten(),
        );
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
            "consistency_samples": run.options.consistency_samples,
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
            consistency: Some(1.0),
        };
        let bad = Signals {
            system: Some(false),
            attempts: 3,
            context_completeness: 0.5,
            consistency: Some(0.0),
            ..good
        };
        let (g, b) = (confidence(&good, &weights), confidence(&bad, &weights));
        assert!(b < g, "{b} < {g}");
        let why = reasons(&bad, b, &weights).to_string();
        for part in [
            "the system level failed at this atom",
            "it took 3 attempts",
            "its context is 50% complete",
            "an independent sample disagrees with it (0% of samples agree)",
            "under the review threshold",
        ] {
            assert!(why.contains(part), "{why}");
        }
    }
}
