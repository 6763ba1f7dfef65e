//! `mge graph <PLAN>`: the atom dependency graph of a plan, with its waves, as JSON, DOT or
//! Mermaid on standard output.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use mge_atomize::Config;
use mge_graph::{GraphInput, SourceFile};

/// Output format of `mge graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Json,
    Dot,
    Mermaid,
}

/// Arguments of `mge graph`.
#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// Plan file, or a directory holding plan.toml or plan.json.
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Json)]
    pub format: GraphFormat,
    /// Only the atoms of this task and the edges between them (links are still resolved
    /// against the whole plan).
    #[arg(long, value_name = "KEY")]
    pub task: Option<String>,
}

/// Atomizes every task's code (its reference file, else its skeleton), links the atoms across
/// the plan, builds the graph and prints it. Unresolved references are listed on stderr.
pub fn run(args: GraphArgs) -> anyhow::Result<ExitCode> {
    let loaded = mge_plan::load(&args.plan)?;
    let plan = &loaded.plan;
    if let Some(key) = &args.task {
        if plan.task(key).is_none() {
            bail!("{}: no task '{key}' in the plan", loaded.path.display());
        }
    }

    let mut codes = Vec::new();
    for task in plan.tasks() {
        codes.push(task_code(plan.reference_dir.as_deref(), task)?);
    }
    let sources: Vec<SourceFile<'_>> = plan
        .tasks()
        .zip(&codes)
        .map(|(task, code)| SourceFile {
            path: &task.target,
            language: task.language,
            code,
        })
        .collect();
    // Support files (re-exporting `__init__.py`, barrels) are linked through, as the engine does.
    let support_files = mge_engine::output::support_sources(plan)?;
    let support: Vec<SourceFile<'_>> = support_files
        .iter()
        .map(|(path, language, code)| SourceFile {
            path,
            language: *language,
            code,
        })
        .collect();
    let atomized = mge_graph::atomize_plan_with_support(&sources, &support, &Config::default())
        .with_context(|| format!("{}: dependency graph", loaded.path.display()))?;
    for u in &atomized.linkage.unresolved {
        eprintln!(
            "warning: {}:{}:{}: unresolved reference '{}' in {}: {}",
            u.atom.split("::").next().unwrap_or(&u.atom),
            u.line,
            u.column,
            u.symbol,
            u.atom,
            u.reason
        );
    }

    let input = match &args.task {
        Some(key) => {
            let target = &plan.task(key).expect("checked above").target;
            only_file(atomized.input, target)
        }
        None => atomized.input,
    };
    let graph = mge_graph::build(input)
        .with_context(|| format!("{}: dependency graph", loaded.path.display()))?;
    let text = match args.format {
        GraphFormat::Json => mge_graph::to_json(&graph),
        GraphFormat::Dot => mge_graph::to_dot(&graph),
        GraphFormat::Mermaid => mge_graph::to_mermaid(&graph),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// The code a task's atoms come from: its file under the plan's reference solution, else its
/// skeleton.
fn task_code(reference_dir: Option<&Path>, task: &mge_plan::Task) -> anyhow::Result<String> {
    if let Some(dir) = reference_dir {
        let path = dir.join(&task.target);
        if path.is_file() {
            return std::fs::read_to_string(&path)
                .with_context(|| format!("task '{}': cannot read {}", task.key, path.display()));
        }
    }
    match &task.skeleton {
        Some(skeleton) => Ok(skeleton.clone()),
        None => bail!(
            "task '{}': no reference file for '{}' and no skeleton to atomize",
            task.key,
            task.target
        ),
    }
}

/// The atoms of one file and the references between them, positions renumbered.
fn only_file(input: GraphInput, file: &str) -> GraphInput {
    let mut new_position = vec![None; input.nodes.len()];
    let mut nodes = Vec::new();
    for (old, node) in input.nodes.into_iter().enumerate() {
        if node.file == file {
            new_position[old] = Some(nodes.len() as u32);
            nodes.push(node);
        }
    }
    let edges = input
        .edges
        .into_iter()
        .filter_map(|mut edge| {
            edge.from = new_position[edge.from as usize]?;
            edge.to = new_position[edge.to as usize]?;
            Some(edge)
        })
        .collect();
    GraphInput { nodes, edges }
}
