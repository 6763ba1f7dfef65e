//! Breaking a plan into atoms and ordering them: atomize every task's code, link the atoms
//! across files, build the dependency graph, and persist atoms, edges and waves. Atomization is
//! pure and deterministic, so a resumed run recomputes the same atoms and only reads their
//! execution state from the store.

use std::collections::HashMap;
use std::time::Instant;

use mge_atomize::context::{build_context, AtomContext};
use mge_atomize::{AtomizedFile, Config, Link, PlanIndex};
use mge_core::{AtomId, AtomStatus, Language, TaskId};
use mge_graph::{DependencyGraph, GraphInput, IdReference, NodeSpec};
use mge_store::{NewAtom, NewAtomDependency, NewDependencyGraph, NewWave};

use crate::run::RunContext;
use crate::scheduler::Schedule;
use crate::{output, EngineError, Result};

/// One atom as the V2 strategy executes it.
#[derive(Debug, Clone)]
pub struct PreparedAtom {
    pub id: AtomId,
    /// Stable textual id from the atomizer (`path::Qualified.name#n`).
    pub key: String,
    pub task_id: TaskId,
    pub file: String,
    pub language: Language,
    /// Atom kind as the atomizer names it (`function`, `method`, `unparsed`, ...).
    pub kind: String,
    /// Byte range in the file's base source (the code that was atomized).
    pub start_byte: usize,
    pub end_byte: usize,
    /// Where the atomizer's record of this atom is: `Prepared::files[file_index].atoms[atom_index]`.
    pub file_index: usize,
    pub atom_index: usize,
    pub status: AtomStatus,
    /// Attempts recorded before this invocation.
    pub attempts: i32,
    pub description: String,
    /// The context the generator gets: imports, provider signatures, enclosing header, task.
    pub context: String,
}

/// A plan ready to execute in V2.
#[derive(Debug)]
pub struct Prepared {
    /// In plan order: tasks in plan order, each task's atoms in file order.
    pub atoms: Vec<PreparedAtom>,
    /// Base source of every file, by path.
    pub sources: HashMap<String, String>,
    /// The atomized files of the plan: the task files (in plan order) then the support files.
    /// The atomic validator resolves names against them.
    pub files: Vec<AtomizedFile>,
    /// Atomic validation's per-plan state over `files` (shared by every attempt).
    pub atomic: mge_validate::atomic::AtomicContext,
    /// Limits of the sandboxed toolchain runs after generation (from the run's options).
    pub sandbox: mge_validate::SandboxLimits,
    /// Scheduling units (strongly connected components), as atom positions.
    pub units: Vec<Vec<usize>>,
    pub schedule: Schedule,
}

pub async fn prepare(run: &RunContext) -> Result<Prepared> {
    let plan_id = run.plan_id();
    let started = Instant::now();
    // 1. Atomize every task's base code: its reference solution, else its skeleton.
    let mut files: Vec<AtomizedFile> = Vec::new();
    let mut sources: HashMap<String, String> = HashMap::new();
    let mut task_of_file: Vec<(TaskId, String)> = Vec::new();
    let config = Config::default();
    for stored in &run.plan.tasks {
        let task = run
            .plan
            .plan
            .task(&stored.key)
            .expect("stored tasks come from the plan");
        let base = match output::reference_code(&run.plan.plan, &task.target)? {
            Some(code) => code,
            None => task.skeleton.clone().ok_or_else(|| EngineError::Plan {
                plan: plan_id,
                message: format!(
                    "task '{}' has neither a reference file nor a skeleton to atomize",
                    task.key
                ),
            })?,
        };
        files.push(mge_atomize::atomize(
            &task.target,
            &base,
            task.language,
            &config,
        ));
        sources.insert(task.target.clone(), base);
        task_of_file.push((stored.task_id, stored.key.clone()));
    }
    // Support files (re-exporting `__init__.py`, `index.ts`, tests) take part in linking and
    // context, so imports through them resolve, but are never generated.
    let task_files = files.len();
    for (path, language, text) in output::support_sources(&run.plan.plan)? {
        files.push(mge_atomize::atomize(&path, &text, language, &config));
    }
    mge_atomize::rescore(&mut files, true);
    let linkage = mge_atomize::link(&files);
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "atomized");

    // 2. The graph over all atoms.
    let graph_started = Instant::now();
    let mut nodes = Vec::new();
    for file in &files[..task_files] {
        for atom in &file.atoms {
            nodes.push(NodeSpec {
                id: atom.id.clone(),
                file: file.path.clone(),
                component: mge_graph::directory_component(&file.path),
                name: atom.name.clone(),
                kind: atom.kind.as_str().to_string(),
                est_tokens: ((atom.end_byte - atom.start_byte) as u64).div_ceil(4),
            });
        }
    }
    let generated: std::collections::HashSet<&str> = files[..task_files]
        .iter()
        .flat_map(|f| f.atoms.iter().map(|a| a.id.as_str()))
        .collect();
    let references = linkage
        .links
        .iter()
        .filter(|l| {
            generated.contains(l.provider.as_str()) && generated.contains(l.dependent.as_str())
        })
        .map(|l: &Link| IdReference {
            from: l.provider.clone(),
            to: l.dependent.clone(),
            kind: l.kind,
            symbol: l.symbol.clone(),
        });
    let graph_error = |e: mge_graph::GraphError| EngineError::Plan {
        plan: plan_id,
        message: format!("dependency graph: {e}"),
    };
    let input = GraphInput::from_id_references(nodes, references).map_err(graph_error)?;
    let graph = mge_graph::build(input).map_err(graph_error)?;
    let graph_seconds = graph_started.elapsed().as_secs_f64();

    // 3. Prepared atoms with their contexts.
    let id_of = |key: &str| AtomId::new_v5(&plan_id, key.as_bytes());
    let index = PlanIndex::new(&files);
    let mut atoms = Vec::new();
    let mut rows = Vec::new();
    for (file_index, (file, (task_id, task_key))) in files.iter().zip(&task_of_file).enumerate() {
        let task = run.plan.plan.task(task_key).expect("task");
        for (number, atom) in file.atoms.iter().enumerate() {
            let loc = index.locate(&atom.id).expect("atoms of the index");
            let context = render_context(&build_context(&index, loc, Some(&task.description)));
            let description = format!(
                "{} {} in {} (lines {}-{})",
                atom.kind.as_str(),
                atom.qualified_name,
                file.path,
                atom.start_line,
                atom.end_line
            );
            rows.push(NewAtom {
                id: id_of(&atom.id),
                task_id: *task_id,
                atom_key: atom.id.clone(),
                atom_number: number as i32 + 1,
                name: atom.name.clone(),
                description: description.clone(),
                kind: atom.kind.as_str().to_string(),
                node_type: None,
                qualified_name: Some(atom.qualified_name.clone()),
                language: file.language,
                file_path: file.path.clone(),
                start_byte: atom.start_byte as i64,
                end_byte: atom.end_byte as i64,
                start_line: atom.start_line as i32,
                end_line: atom.end_line as i32,
                parent_atom_id: atom.parent.as_deref().map(id_of),
                estimated_loc: atom.loc as i32,
                complexity: f64::from(atom.complexity),
                context: serde_json::json!({
                    "prompt": context,
                    "signature": atom.signature,
                    "docstring": atom.docstring,
                    "defines": atom.defines,
                    "references": atom.references,
                    "atomicity": atom.atomicity,
                }),
                completeness_score: atom.context_completeness,
                atomicity_score: Some(atom.atomicity.score),
                code: None,
            });
            atoms.push(PreparedAtom {
                id: id_of(&atom.id),
                key: atom.id.clone(),
                task_id: *task_id,
                file: file.path.clone(),
                language: file.language,
                kind: atom.kind.as_str().to_string(),
                start_byte: atom.start_byte,
                end_byte: atom.end_byte,
                file_index,
                atom_index: number,
                status: AtomStatus::Pending,
                attempts: 0,
                description,
                context,
            });
        }
    }

    // 4. Persist what is not stored yet; read back the execution state of what is.
    let stored = run.store.load_atoms(plan_id).await?;
    if stored.is_empty() {
        run.store.insert_atoms(plan_id, &rows).await?;
    } else {
        let status: HashMap<AtomId, (AtomStatus, i32)> = stored
            .iter()
            .map(|a| (a.atom.id, (a.status, a.attempts)))
            .collect();
        for atom in &mut atoms {
            (atom.status, atom.attempts) =
                *status.get(&atom.id).ok_or_else(|| EngineError::Plan {
                    plan: plan_id,
                    message: format!(
                        "stored atoms differ from the plan's atomization (atom {} is not stored)",
                        atom.key
                    ),
                })?;
        }
    }
    if run.store.load_dependency_graph(plan_id).await?.is_none() {
        persist_graph(run, &graph, &id_of, graph_seconds).await?;
    }

    // 5. Scheduling units: the graph's units, in its topological order.
    let position: HashMap<&str, usize> = atoms
        .iter()
        .enumerate()
        .map(|(i, a)| (a.key.as_str(), i))
        .collect();
    let units: Vec<Vec<usize>> = graph
        .units()
        .iter()
        .map(|u| {
            u.members
                .iter()
                .map(|&m| position[graph.atom(m).id.as_str()])
                .collect()
        })
        .collect();
    let mut providers = vec![Vec::new(); units.len()];
    for (from, to) in graph.unit_edges() {
        providers[to as usize].push(from as usize);
    }
    let waves = graph.units().iter().map(|u| u.wave as usize).collect();
    let weights = graph.units().iter().map(|u| u.est_tokens.max(1)).collect();
    Ok(Prepared {
        atoms,
        // With the sources, an atom's calls into other files are checked for arity too.
        atomic: mge_validate::atomic::AtomicContext::new(files.clone())
            .with_sources(sources.clone()),
        sources,
        sandbox: run.options.sandbox_limits(),
        files,
        units,
        schedule: Schedule {
            providers,
            waves,
            weights,
        },
    })
}

async fn persist_graph(
    run: &RunContext,
    graph: &DependencyGraph,
    id_of: &impl Fn(&str) -> AtomId,
    graph_seconds: f64,
) -> Result<()> {
    let stats = graph.stats();
    let deps: Vec<NewAtomDependency> = graph
        .dependencies()
        .map(|(from, to, dep)| NewAtomDependency {
            from_atom: id_of(&graph.atom(from).id),
            to_atom: id_of(&graph.atom(to).id),
            kind: dep.kind(),
            weight: dep.weight(),
        })
        .collect();
    let waves: Vec<NewWave> = graph
        .waves()
        .iter()
        .enumerate()
        .map(|(n, w)| NewWave {
            wave_number: n as i32,
            atom_ids: w.atoms.iter().map(|&a| id_of(&graph.atom(a).id)).collect(),
        })
        .collect();
    let row = NewDependencyGraph {
        total_atoms: stats.atoms as i32,
        total_edges: stats.edges as i32,
        max_depth: Some(stats.waves as i32),
        parallelizable_atoms: Some(stats.parallelizable_atoms as i32),
        execution_order: graph
            .order()
            .iter()
            .map(|&a| id_of(&graph.atom(a).id))
            .collect(),
        boundaries: serde_json::to_value(graph.boundaries()).ok(),
        graph_json: serde_json::from_str(&mge_graph::to_json(graph)).ok(),
        build_time_seconds: Some(graph_seconds),
    };
    run.store
        .replace_dependency_graph(run.plan_id(), &row, &deps, &waves)
        .await?;
    Ok(())
}

/// The context one atom is generated with, as the prompt shows it: the task, the imports it
/// uses, the signatures (not bodies) of what it references, its enclosing class header and its
/// docstring.
fn render_context(context: &AtomContext) -> String {
    let mut out = String::new();
    if let Some(task) = &context.task_description {
        out.push_str(&format!("Task: {task}\n"));
    }
    if !context.imports.is_empty() {
        out.push_str("Imports in scope:\n");
        for import in &context.imports {
            out.push_str(&format!("{import}\n"));
        }
    }
    if !context.signatures.is_empty() {
        out.push_str("Signatures of what it uses:\n");
        for s in &context.signatures {
            out.push_str(&format!(
                "# {} ({}, {})\n{}\n",
                s.symbol,
                s.kind.as_str(),
                s.path,
                s.signature
            ));
        }
    }
    if let Some(header) = &context.class_header {
        out.push_str(&format!("Enclosing class:\n{header}\n"));
    }
    if let Some(doc) = &context.docstring {
        out.push_str(&format!("Docstring: {doc}\n"));
    }
    out
}
