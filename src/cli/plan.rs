//! `mge plan validate|import|show`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use mge_core::TaskStatus;

use super::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Check plan files; exit 0 when all are valid, 2 with `path:line:col: message` lines when not.
    ///
    /// A directory that holds no plan file itself is searched one level down, so
    /// `mge plan validate fixtures/plans` checks every fixture.
    Validate {
        #[arg(required = true)]
        plans: Vec<PathBuf>,
    },
    /// Store a plan; prints its id.
    Import {
        plan: PathBuf,
        /// Owner of the plan (user id).
        #[arg(long, default_value = "local")]
        owner: String,
    },
    /// Show a stored plan (by id) or a plan file, as a tree or as JSON.
    Show {
        /// A plan id, or a plan file or directory.
        plan: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: PlanCommand, store: &StoreArgs) -> anyhow::Result<ExitCode> {
    match cmd {
        PlanCommand::Validate { plans } => validate(&plans),
        PlanCommand::Import { plan, owner } => import(&plan, &owner, store),
        PlanCommand::Show { plan, json } => show(&plan, json, store),
    }
}

/// Loads a plan file, printing its diagnostics on failure.
pub fn load_or_report(path: &Path) -> Result<mge_plan::LoadedPlan, ExitCode> {
    mge_plan::load(path).map_err(|e| {
        for d in &e.diagnostics {
            eprintln!("{d}");
        }
        ExitCode::from(2)
    })
}

fn import(path: &Path, owner: &str, store_args: &StoreArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_or_report(path) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    super::runtime()?.block_on(async {
        let store = super::store::open_migrated(store_args).await?;
        let id = store
            .import_plan(&loaded.plan, owner)
            .await
            .with_context(|| format!("importing {}", loaded.path.display()))?;
        println!("{id}");
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

fn show(arg: &str, json: bool, store_args: &StoreArgs) -> anyhow::Result<ExitCode> {
    if let Ok(id) = arg.parse::<uuid::Uuid>() {
        return super::runtime()?.block_on(async {
            let store = super::store::open_migrated(store_args).await?;
            let stored = store.load_plan(id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stored)?);
            } else {
                print_tree(&stored.plan, |key| {
                    stored.tasks.iter().find(|t| t.key == key).map(|t| t.status)
                });
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        });
    }
    let loaded = match load_or_report(Path::new(arg)) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&loaded.plan)?);
    } else {
        print_tree(&loaded.plan, |_| None);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_tree(plan: &mge_plan::Plan, status: impl Fn(&str) -> Option<TaskStatus>) {
    println!("{}: {}", plan.name, plan.description);
    for phase in &plan.phases {
        println!("  phase {}", phase.name);
        for milestone in &phase.milestones {
            println!("    milestone {}", milestone.name);
            for task in &milestone.tasks {
                let status = status(&task.key)
                    .map(|s| format!(" [{s}]"))
                    .unwrap_or_default();
                let deps = if task.depends_on.is_empty() {
                    String::new()
                } else {
                    format!(" <- {}", task.depends_on.join(", "))
                };
                println!(
                    "      task {} ({}, {}){status}{deps}",
                    task.key, task.language, task.target
                );
                for sub in &task.subtasks {
                    let lines = sub
                        .lines
                        .map(|(a, b)| format!(" lines {a}-{b}"))
                        .unwrap_or_default();
                    println!("        subtask {}{lines}", sub.name);
                }
            }
        }
    }
}

/// Expands directories that hold plans one level down (e.g. `fixtures/plans`).
pub fn expand_plan_args(args: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for arg in args {
        if arg.is_dir() && mge_plan::resolve_plan_path(arg).is_err() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(arg)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir() && mge_plan::resolve_plan_path(p).is_ok())
                .collect();
            if !children.is_empty() {
                children.sort();
                out.extend(children);
                continue;
            }
        }
        out.push(arg.clone());
    }
    out
}

fn validate(args: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for path in expand_plan_args(args) {
        match mge_plan::load(&path) {
            Ok(loaded) => print_ok(&loaded.path, &loaded.plan),
            Err(e) => {
                failed = true;
                for d in &e.diagnostics {
                    eprintln!("{d}");
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_ok(path: &Path, plan: &mge_plan::Plan) {
    let tasks = plan.tasks().count();
    let subtasks: usize = plan.tasks().map(|t| t.subtasks.len()).sum();
    println!(
        "ok {}: plan '{}', {} phases, {tasks} tasks, {subtasks} subtasks",
        path.display(),
        plan.name,
        plan.phases.len()
    );
}
