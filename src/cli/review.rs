//! `mge review list|show|approve|reject|edit|regenerate`: the human review queue of V2 runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Subcommand;
use mge_core::{AtomId, PlanId, ReviewStatus};
use mge_engine::{Engine, ReviewDecision, StoredReview};
use mge_store::{Store, StoredAtom};

use super::run::{build_generator, GeneratorSettings};
use super::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Queued atoms, lowest confidence first.
    List {
        /// Only this plan's queue.
        #[arg(long)]
        plan: Option<PlanId>,
        /// Only entries in this status (pending, in_review, approved, rejected, regenerated).
        #[arg(long)]
        status: Option<ReviewStatus>,
        #[arg(long)]
        json: bool,
    },
    /// One queued atom: its review entry, code and last error.
    Show {
        atom: AtomId,
        #[arg(long)]
        json: bool,
    },
    /// The generated code is right.
    Approve(DecisionArgs),
    /// The generated code is wrong: the atom is marked failed.
    Reject(DecisionArgs),
    /// Replace the atom's code with the code in --file (validated first).
    Edit(DecisionArgs),
    /// Generate the atom again with the comment as feedback.
    Regenerate(DecisionArgs),
}

#[derive(Debug, clap::Args)]
pub struct DecisionArgs {
    atom: AtomId,
    /// The edited code (edit only).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Why (recorded; the feedback of a regeneration).
    #[arg(long)]
    comment: Option<String>,
    /// Who decides.
    #[arg(long, env = "USER", default_value = "local")]
    reviewer: String,
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: ReviewCommand, store_args: &StoreArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let store = super::store::open_migrated(store_args).await?;
        let result = match cmd {
            ReviewCommand::List { plan, status, json } => {
                list(store.as_ref(), plan, status, json).await
            }
            ReviewCommand::Show { atom, json } => show(store.as_ref(), atom, json).await,
            ReviewCommand::Approve(args) => {
                decide(&store, args, |_| Ok(ReviewDecision::Approve)).await
            }
            ReviewCommand::Reject(args) => {
                decide(&store, args, |_| Ok(ReviewDecision::Reject)).await
            }
            ReviewCommand::Regenerate(args) => {
                decide(&store, args, |_| Ok(ReviewDecision::Regenerate)).await
            }
            ReviewCommand::Edit(args) => {
                decide(&store, args, |args| {
                    let Some(path) = &args.file else {
                        bail!("review edit needs --file with the edited code");
                    };
                    let code = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    Ok(ReviewDecision::Edit { code })
                })
                .await
            }
        };
        store.close().await;
        result
    })
}

async fn list(
    store: &dyn Store,
    plan: Option<PlanId>,
    status: Option<ReviewStatus>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let reviews = store.list_reviews(plan, status).await?;
    if json {
        println!("{}", serde_json::to_string(&reviews)?);
        return Ok(ExitCode::SUCCESS);
    }
    if reviews.is_empty() {
        println!("no atoms in review");
    }
    for r in &reviews {
        let atom = atom_of(store, r).await?;
        println!(
            "{}  {:<11} {:.3}  {}{}",
            r.atom_id,
            r.status,
            r.confidence_score,
            atom.as_ref().map_or("?", |a| a.atom.atom_key.as_str()),
            r.assigned_to
                .as_deref()
                .map_or(String::new(), |w| format!("  ({w})"))
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn atom_of(store: &dyn Store, review: &StoredReview) -> anyhow::Result<Option<StoredAtom>> {
    Ok(store
        .load_atoms(review.plan_id)
        .await?
        .into_iter()
        .find(|a| a.atom.id == review.atom_id))
}

async fn show(store: &dyn Store, atom: AtomId, json: bool) -> anyhow::Result<ExitCode> {
    let Some(review) = store.load_review(atom).await? else {
        bail!("atom {atom} was never queued for review");
    };
    let stored = atom_of(store, &review).await?;
    if json {
        println!("{}", serde_json::json!({"review": review, "atom": stored}));
        return Ok(ExitCode::SUCCESS);
    }
    print_review(&review);
    if let Some(a) = stored {
        println!(
            "atom:       {} ({}, {})",
            a.atom.atom_key, a.atom.kind, a.status
        );
        println!(
            "file:       {} lines {}-{}",
            a.atom.file_path, a.atom.start_line, a.atom.end_line
        );
        println!("attempts:   {}", a.attempts);
        if let Some(e) = &a.last_error {
            println!("last error: {e}");
        }
        println!("code:\n{}", a.atom.code.as_deref().unwrap_or("(none)"));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_review(r: &StoredReview) {
    println!("review:     {} of plan {}", r.status, r.plan_id);
    println!("confidence: {:.3}", r.confidence_score);
    if let Some(reasons) = r.reasons.as_array() {
        for reason in reasons {
            println!("  - {}", reason.as_str().unwrap_or_default());
        }
    }
    if let Some(d) = &r.human_decision {
        println!(
            "decision:   {d} by {} at {}",
            r.assigned_to.as_deref().unwrap_or("?"),
            r.reviewed_at.map_or("?".to_string(), |t| t.to_rfc3339())
        );
    }
    if let Some(c) = &r.human_comments {
        println!("comment:    {c}");
    }
}

async fn decide(
    store: &Arc<dyn Store>,
    args: DecisionArgs,
    decision: impl FnOnce(&DecisionArgs) -> anyhow::Result<ReviewDecision>,
) -> anyhow::Result<ExitCode> {
    let decision = decision(&args)?;
    let Some(review) = store.load_review(args.atom).await? else {
        bail!("atom {} was never queued for review", args.atom);
    };
    let options = Engine::run_options(store.as_ref(), review.plan_id).await?;
    let settings: GeneratorSettings = serde_json::from_value(options.generator.clone())
        .context("reading the run's generator settings")?;
    let engine = Engine::new(store.clone(), build_generator(&settings)?);
    let decided = engine
        .review_atom(
            review.plan_id,
            args.atom,
            decision,
            &args.reviewer,
            args.comment.as_deref(),
        )
        .await?;
    if args.json {
        println!("{}", serde_json::to_string(&decided)?);
    } else {
        print_review(&decided);
    }
    Ok(ExitCode::SUCCESS)
}
