//! Human review decisions on queued atoms: approve, reject, edit (the edited code is validated
//! like a generated attempt, atomic then module level, and becomes the atom's code only when it
//! passes) and regenerate (back through the retry loop with the reviewer's comment as
//! feedback). Each decision is one store transaction with its history row; the output project
//! is rewritten when the atom's code changed.

use std::collections::HashMap;

use mge_core::{AtomId, AtomStatus, PlanId, ReviewStatus};
use mge_store::{HistoryEvent, NewReviewDecision, StoredReview};
use mge_validate::{validate_module, ModuleInput, SandboxLimits};
use serde::{Deserialize, Serialize};

use super::{atom, post, prepare, validate, Prepared};
use crate::run::RunContext;
use crate::{output, Engine, EngineError, Result};

/// History event of a review decision.
pub const REVIEW_DECIDED: &str = "review_decided";

/// What a reviewer decides about a queued atom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ReviewDecision {
    /// The generated code is right as it is.
    Approve,
    /// The generated code is wrong: the atom is marked failed.
    Reject,
    /// The reviewer's code replaces the generated code (after validation).
    Edit { code: String },
    /// Generate the atom again, with the reviewer's comment as feedback.
    Regenerate,
}

impl ReviewDecision {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReviewDecision::Approve => "approve",
            ReviewDecision::Reject => "reject",
            ReviewDecision::Edit { .. } => "edit",
            ReviewDecision::Regenerate => "regenerate",
        }
    }
}

fn review_err(atom: AtomId, message: impl Into<String>) -> EngineError {
    EngineError::Review {
        atom,
        message: message.into(),
    }
}

impl Engine {
    /// Records a reviewer's decision on an atom of the plan's review queue and carries it out.
    /// Fails (and the review stays open) when the atom is not queued in this plan, the review
    /// is already decided, the reviewer is unnamed, an edit does not pass validation or a
    /// regeneration does not produce a passing version. Returns the review as decided.
    pub async fn review_atom(
        &self,
        plan: PlanId,
        atom: AtomId,
        decision: ReviewDecision,
        reviewer: &str,
        comment: Option<&str>,
    ) -> Result<StoredReview> {
        let reviewer = reviewer.trim();
        if reviewer.is_empty() {
            return Err(review_err(atom, "the reviewer must be named"));
        }
        let review = self
            .store
            .load_review(atom)
            .await?
            .filter(|r| r.plan_id == plan)
            .ok_or_else(|| mge_store::StoreError::NotFound {
                entity: "review queue entry of atom",
                id: format!("{atom} in plan {plan}"),
            })?;
        if !matches!(
            review.status,
            ReviewStatus::Pending | ReviewStatus::InReview
        ) {
            return Err(review_err(
                atom,
                format!(
                    "the review is already decided ({}{})",
                    review.status,
                    review
                        .assigned_to
                        .as_deref()
                        .map_or(String::new(), |w| format!(" by {w}"))
                ),
            ));
        }
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        let mut record = NewReviewDecision {
            atom_id: atom,
            status: ReviewStatus::Approved,
            decision: decision.as_str().to_string(),
            reviewer: reviewer.to_string(),
            comment: comment.map(str::to_string),
            edited_code: None,
            atom_status: None,
            atom_error: None,
        };
        let mut rewrite = None;
        match &decision {
            ReviewDecision::Approve => {}
            ReviewDecision::Reject => {
                record.status = ReviewStatus::Rejected;
                record.atom_status = Some(AtomStatus::Failed);
                record.atom_error = Some(format!(
                    "rejected in review by {reviewer}{}",
                    comment.map_or(String::new(), |c| format!(": {c}"))
                ));
            }
            ReviewDecision::Edit { code } => {
                let ctx = self.review_context(plan).await?;
                let prepared = prepare::prepare(&ctx).await?;
                let index = position(&prepared, atom)?;
                check_edit(&ctx, &prepared, index, code).await?;
                record.edited_code = Some(code.clone());
                rewrite = Some((ctx, prepared));
            }
            ReviewDecision::Regenerate => {
                let ctx = self.review_context(plan).await?;
                let prepared = prepare::prepare(&ctx).await?;
                let index = position(&prepared, atom)?;
                self.store.claim_review(atom, reviewer).await?;
                let feedback = format!(
                    "A reviewer ({reviewer}) asked for this code to be generated again: {}",
                    comment.unwrap_or("no comment given")
                );
                let outcome = atom::regenerate(&ctx, &prepared, index, &feedback).await?;
                if !outcome.succeeded {
                    return Err(review_err(
                        atom,
                        format!(
                            "the regeneration produced no passing version in {} attempts \
                             (the atom keeps its code; the review stays open): {}",
                            outcome.attempts,
                            outcome.error.unwrap_or_default()
                        ),
                    ));
                }
                record.status = ReviewStatus::Regenerated;
                rewrite = Some((ctx, prepared));
            }
        }
        let event = HistoryEvent {
            plan,
            task: None,
            event: REVIEW_DECIDED.to_string(),
            details: serde_json::json!({
                "atom": atom,
                "decision": decision.as_str(),
                "status": record.status.as_str(),
                "reviewer": reviewer,
                "comment": comment,
            }),
        };
        let (_, seqs) = self
            .store
            .decide_review(&record, std::slice::from_ref(&event))
            .await?;
        for seq in seqs {
            self.events.send(crate::Event {
                seq,
                plan_id: plan,
                event: event.event.clone(),
                details: event.details.clone(),
            });
        }
        if let Some((ctx, prepared)) = rewrite {
            rewrite_output(&ctx, &prepared).await?;
        }
        self.store
            .load_review(atom)
            .await?
            .ok_or_else(|| review_err(atom, "the review disappeared after its decision"))
    }

    /// A context to act on a plan that was run, with the options it was run with.
    async fn review_context(&self, plan: PlanId) -> Result<RunContext> {
        let options = Engine::run_options(self.store.as_ref(), plan).await?;
        if options.mode != mge_core::ExecutionMode::V2Atoms {
            return Err(EngineError::Plan {
                plan,
                message: format!("ran in {} mode, which has no review queue", options.mode),
            });
        }
        Ok(RunContext {
            store: self.store.clone(),
            generator: self.generator.clone(),
            plan: self.store.load_plan(plan).await?,
            options,
            events: self.events.clone(),
        })
    }
}

fn position(prepared: &Prepared, atom: AtomId) -> Result<usize> {
    prepared
        .atoms
        .iter()
        .position(|a| a.id == atom)
        .ok_or_else(|| review_err(atom, "the atom is not part of its plan's atomization"))
}

/// The current code of every atom, by key.
async fn codes(ctx: &RunContext) -> Result<HashMap<String, String>> {
    Ok(ctx
        .store
        .load_atoms(ctx.plan_id())
        .await?
        .into_iter()
        .filter_map(|a| a.atom.code.map(|c| (a.atom.atom_key, c)))
        .collect())
}

/// Validates edited code like a generated attempt: atomic level in its place, then the module
/// level on its file with the other atoms' current code.
async fn check_edit(ctx: &RunContext, prepared: &Prepared, index: usize, code: &str) -> Result<()> {
    let atom = &prepared.atoms[index];
    let report = validate::atomic(ctx.plan_id(), prepared, index, code)?;
    if let Some(feedback) = validate::feedback(&report) {
        return Err(review_err(
            atom.id,
            format!("the edited code fails atomic validation:\n{feedback}"),
        ));
    }
    let mut current = codes(ctx).await?;
    current.insert(atom.key.clone(), code.to_string());
    let files = post::assemble(prepared, &current);
    let Some((path, source)) = files.into_iter().find(|(p, _)| *p == atom.file) else {
        return Ok(());
    };
    let mut expected = Vec::new();
    for a in prepared.atoms.iter().filter(|a| a.file == atom.file) {
        expected.extend(
            prepared.files[a.file_index].atoms[a.atom_index]
                .defines
                .iter()
                .cloned(),
        );
    }
    let plan_files = prepared.files.clone();
    let language = atom.language;
    let id = atom.id;
    let report = tokio::task::spawn_blocking(move || {
        let input = ModuleInput {
            path: &path,
            language,
            source: &source,
            plan_files: &plan_files,
            expected_defines: &expected,
            context_names: &[],
        };
        validate_module(&input, &SandboxLimits::default())
    })
    .await
    .map_err(|e| review_err(id, format!("module validation panicked: {e}")))?
    .map_err(|e| review_err(id, format!("module validation could not run: {e}")))?;
    if let Some(feedback) = validate::feedback(&report) {
        return Err(review_err(
            id,
            format!("the edited code fails module validation:\n{feedback}"),
        ));
    }
    Ok(())
}

/// Writes the plan's output project again from the atoms' current code.
async fn rewrite_output(ctx: &RunContext, prepared: &Prepared) -> Result<()> {
    let Some(out) = &ctx.options.out_dir else {
        return Ok(());
    };
    let files = post::assemble(prepared, &codes(ctx).await?);
    output::write_project(out, &ctx.plan.plan, &files)
}
