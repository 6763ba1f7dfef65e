//! One atom's life: generate, check in place, retry with the errors as feedback at the next
//! temperature, up to the attempt limit. Every attempt is persisted before it is reported, under
//! a fresh attempt number; the generator's draw index counts only finished attempts, so a resumed
//! run regenerates an interrupted attempt exactly as the uninterrupted run would have.

use std::collections::HashMap;

use mge_core::{AtomId, AtomStatus};
use mge_generate::{GenerationRequest, UnitKind};
use mge_store::{AtomAttemptFinish, HistoryEvent, NewAtomRetry};

use super::{validate, Prepared};
use crate::run::{RunContext, ATTEMPT_FINISHED};
use crate::Result;

/// `error_type` of an attempt that has started and not finished.
pub const ATTEMPT_RUNNING: &str = "running";
/// `error_type` of an attempt whose code passed.
pub const ATTEMPT_OK: &str = "ok";

pub struct AtomOutcome {
    pub succeeded: bool,
    pub attempts: u32,
    pub error: Option<String>,
}

pub async fn execute(run: &RunContext, prepared: &Prepared, index: usize) -> Result<AtomOutcome> {
    attempts_loop(run, prepared, index, None).await
}

/// Generates an atom that had passed again, with `feedback` (a later validation level's
/// failure, or a reviewer's comment) as the first attempt's feedback. The new attempts get
/// fresh numbers and draws; their budget is the run's attempt limit. A failed attempt leaves
/// the atom's code as it was (its last passing version), and when every attempt fails the atom
/// keeps that version and stays succeeded, with the last error recorded.
pub async fn regenerate(
    run: &RunContext,
    prepared: &Prepared,
    index: usize,
    feedback: &str,
) -> Result<AtomOutcome> {
    attempts_loop(run, prepared, index, Some(feedback)).await
}

async fn attempts_loop(
    run: &RunContext,
    prepared: &Prepared,
    index: usize,
    regenerate: Option<&str>,
) -> Result<AtomOutcome> {
    let atom = &prepared.atoms[index];
    // An atom that has never been attempted has no history to read (every atom of a fresh run).
    let history =
        if regenerate.is_none() && atom.status == AtomStatus::Pending && atom.attempts == 0 {
            Vec::new()
        } else {
            run.store.load_atom_retries(atom.id).await?
        };
    let is_finished =
        |r: &&mge_store::StoredAtomRetry| r.retry.error_type.as_deref() != Some(ATTEMPT_RUNNING);
    // Draws count every finished attempt; the budget counts those since the last passing one
    // (a regeneration starts a new budget).
    let mut draws = history.iter().filter(is_finished).count() as u32;
    let last_ok = history
        .iter()
        .rposition(|r| r.retry.error_type.as_deref() == Some(ATTEMPT_OK));
    let since_ok = &history[last_ok.map_or(0, |i| i + 1)..];
    let regenerating = regenerate.is_some() || last_ok.is_some();
    let mut finished = since_ok.iter().filter(is_finished).count() as u32;
    let mut number = history
        .iter()
        .map(|r| r.retry.attempt_number)
        .max()
        .unwrap_or(0)
        + 1;
    let mut last_error: Option<String> = since_ok
        .iter()
        .rfind(|r| {
            !matches!(
                r.retry.error_type.as_deref(),
                Some(ATTEMPT_RUNNING) | Some(ATTEMPT_OK)
            )
        })
        .and_then(|r| r.retry.error_message.clone());
    // An interrupted attempt is regenerated with the feedback it was started with.
    let interrupted = history
        .last()
        .filter(|r| r.retry.error_type.as_deref() == Some(ATTEMPT_RUNNING))
        .and_then(|r| r.retry.feedback_prompt.clone());
    let mut feedback = match regenerate {
        Some(text) => Some(regeneration_prompt(text)),
        None => interrupted.or_else(|| last_error.as_deref().map(feedback_prompt)),
    };
    let event = |name: &str, details: serde_json::Value| HistoryEvent {
        plan: run.plan_id(),
        task: Some(atom.task_id),
        event: name.to_string(),
        details,
    };
    // Reported with the first attempt of this execution, in its transaction.
    let mut started = Some(event(
        "unit_started",
        serde_json::json!({"unit": atom.key, "kind": "atom"}),
    ));
    let expected = prepared.sources[&atom.file][atom.start_byte..atom.end_byte].to_string();
    let max_attempts = run.options.max_attempts.max(1);
    let mut attempts = 0;
    while finished < max_attempts {
        let draw = draws + 1;
        let temperature = run.options.temperature(finished + 1);
        let start_events: Vec<HistoryEvent> = started.take().into_iter().collect();
        let (_, seqs) = run
            .store
            .start_atom_attempt(
                &NewAtomRetry {
                    atom_id: atom.id,
                    attempt_number: number as i32,
                    error_message: None,
                    error_type: Some(ATTEMPT_RUNNING.to_string()),
                    validation_errors: None,
                    feedback_prompt: feedback.clone(),
                    temperature: Some(f64::from(temperature)),
                },
                &start_events,
            )
            .await?;
        for (seq, e) in seqs.into_iter().zip(start_events) {
            run.report(seq, e);
        }
        let request = GenerationRequest {
            unit_id: atom.key.clone(),
            unit_kind: UnitKind::Atom,
            language: atom.language,
            file_path: atom.file.clone(),
            prompt: atom.description.clone(),
            context: atom.context.clone(),
            feedback: feedback.clone(),
            temperature,
            attempt: draw,
            expected: Some(expected.clone()),
        };
        attempts += 1;
        let generated = run.generator.generate(&request).await;
        let (code, report, error, error_type, response) = match generated {
            Ok(response) => {
                let report = validate::atomic(run.plan_id(), prepared, index, &response.code)?;
                let error = validate::feedback(&report);
                let kind = if report.passed {
                    ATTEMPT_OK.to_string()
                } else {
                    validate::error_type(&report).to_string()
                };
                (
                    Some(response.code.clone()),
                    Some(report),
                    error,
                    kind,
                    Some(response),
                )
            }
            Err(e) => (
                None,
                None,
                Some(format!("{}: generation failed: {e}", atom.key)),
                "generation".to_string(),
                None,
            ),
        };
        let validation = report
            .as_ref()
            .map(|report| validate::result_row(Some(atom.id), report));
        let ok = error.is_none();
        // A generation error is final: the provider already retried what was transient.
        let last = ok || finished + 1 >= max_attempts || response.is_none();
        let status = match (ok, last) {
            (true, _) => AtomStatus::Succeeded,
            // A failed regeneration keeps the version that had passed.
            (false, true) if regenerating => AtomStatus::Succeeded,
            (false, true) => AtomStatus::Failed,
            (false, false) => AtomStatus::Running,
        };
        let details = serde_json::json!({
            "unit": atom.key,
            "attempt": number,
            "draw": draw,
            "temperature": temperature,
            "ok": ok,
            "error": error,
            "tokens_in": response.as_ref().map_or(0, |r| r.tokens_in),
            "tokens_out": response.as_ref().map_or(0, |r| r.tokens_out),
            "latency_seconds": response.as_ref().map_or(0.0, |r| r.latency.as_secs_f64()),
            "cost_usd": response.as_ref().map_or(0.0, |r| r.cost_usd),
            "model": response.as_ref().map(|r| r.model.clone()),
            "faults_injected": response.as_ref().map_or(0, |r| r.injected_faults.len()),
            "regeneration": regenerating,
        });
        let mut details = details;
        if draw == 1 {
            // The first attempt's code: what the plan's tests would see without any retry.
            details["first_code"] = serde_json::json!(code);
        }
        // The attempt's result, its validation row and its history rows commit together.
        let mut events = vec![event(ATTEMPT_FINISHED, details)];
        if ok {
            events.push(event(
                "unit_succeeded",
                serde_json::json!({"unit": atom.key, "kind": "atom", "attempts": draw}),
            ));
        } else if last && regenerating {
            events.push(event(
                REGENERATION_FAILED,
                serde_json::json!({"unit": atom.key, "kind": "atom", "error": error}),
            ));
        } else if last {
            events.push(event(
                "unit_failed",
                serde_json::json!({"unit": atom.key, "kind": "atom", "error": error}),
            ));
        }
        let seqs = run
            .store
            .finish_atom_attempt(
                &AtomAttemptFinish {
                    atom_id: atom.id,
                    attempt_number: number as i32,
                    status,
                    // A regeneration only replaces the code with a version that passes.
                    code: if regenerating && !ok {
                        None
                    } else {
                        code.clone()
                    },
                    error_message: error.clone(),
                    error_type,
                    validation_errors: match &report {
                        Some(r) if !r.passed => Some(r.violations_json()),
                        Some(_) => None,
                        None => error.as_ref().map(|e| serde_json::json!([e])),
                    },
                    llm_model: response.as_ref().map(|r| r.model.clone()),
                    tokens_in: response.as_ref().map(|r| i64::from(r.tokens_in)),
                    tokens_out: response.as_ref().map(|r| i64::from(r.tokens_out)),
                    cost_usd: response.as_ref().map(|r| r.cost_usd),
                },
                validation.as_ref(),
                &events,
            )
            .await?;
        for (seq, e) in seqs.into_iter().zip(events) {
            run.report(seq, e);
        }
        if ok {
            return Ok(AtomOutcome {
                succeeded: true,
                attempts,
                error: None,
            });
        }
        if last && regenerating {
            return Ok(AtomOutcome {
                succeeded: false,
                attempts,
                error,
            });
        }
        finished += 1;
        draws += 1;
        number += 1;
        feedback = error.as_deref().map(feedback_prompt);
        last_error = error;
        if last {
            return Ok(AtomOutcome {
                succeeded: false,
                attempts,
                error: last_error,
            });
        }
    }
    if regenerating {
        // The regeneration's budget was spent before this execution: the atom keeps the
        // version that had passed.
        run.store
            .set_atom_status(atom.id, AtomStatus::Succeeded, last_error.as_deref())
            .await?;
        return Ok(AtomOutcome {
            succeeded: false,
            attempts,
            error: last_error,
        });
    }
    // Every attempt had finished before this execution: the atom failed then.
    run.store
        .set_atom_status(atom.id, AtomStatus::Failed, last_error.as_deref())
        .await?;
    run.record(
        Some(atom.task_id),
        "unit_failed",
        serde_json::json!({"unit": atom.key, "kind": "atom", "error": last_error}),
    )
    .await?;
    Ok(AtomOutcome {
        succeeded: false,
        attempts,
        error: last_error,
    })
}

/// The request of consistency sample `sample` (1, 2, ...) of an atom: the atom's own prompt
/// and context without feedback, at `temperature`, under a unit id of its own
/// (`<key>#consistency`) so that a seeded generator draws it independently of the atom's
/// attempts, and deterministically for a resume.
pub fn consistency_request(
    prepared: &Prepared,
    index: usize,
    sample: u32,
    temperature: f32,
) -> GenerationRequest {
    let atom = &prepared.atoms[index];
    GenerationRequest {
        unit_id: format!("{}#consistency", atom.key),
        unit_kind: UnitKind::Atom,
        language: atom.language,
        file_path: atom.file.clone(),
        prompt: atom.description.clone(),
        context: atom.context.clone(),
        feedback: None,
        temperature,
        attempt: sample,
        expected: Some(prepared.sources[&atom.file][atom.start_byte..atom.end_byte].to_string()),
    }
}

/// History event of a regeneration whose every attempt failed (the atom keeps its version).
pub const REGENERATION_FAILED: &str = "regeneration_failed";

/// The feedback of a regeneration's first attempt.
fn regeneration_prompt(text: &str) -> String {
    format!("The previous version passed its own checks but was rejected later:\n{text}\nFix it.")
}

/// The feedback a retry carries: what was wrong with the previous attempt.
fn feedback_prompt(error: &str) -> String {
    format!("The previous attempt was rejected by validation:\n{error}\nFix these errors.")
}

/// The atomic check of an atom's code in its place in the file: `None` when it passes, the
/// violations (one per line) otherwise.
pub fn check_in_place(
    run: &RunContext,
    prepared: &Prepared,
    index: usize,
    code: &str,
) -> Result<Option<String>> {
    let report = validate::atomic(run.plan_id(), prepared, index, code)?;
    Ok(validate::feedback(&report))
}

/// The current code of every atom of the plan (`None`: not generated).
pub async fn current_codes(
    run: &RunContext,
    _prepared: &Prepared,
) -> Result<HashMap<AtomId, Option<String>>> {
    Ok(run
        .store
        .load_atoms(run.plan_id())
        .await?
        .into_iter()
        .map(|a| (a.atom.id, a.atom.code))
        .collect())
}
