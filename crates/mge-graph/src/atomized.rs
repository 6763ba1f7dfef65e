//! From atomized files to graph input: every atom a node, every link of the plan an edge.

use std::collections::HashSet;

use mge_atomize::{Atom, AtomizedFile, Config, Linkage};
use mge_core::Language;

use crate::input::{directory_component, GraphError, GraphInput, IdReference, NodeSpec};

/// Estimated tokens of an atom: its bytes divided by four, rounded up (the usual size of a
/// token of source code).
pub fn estimate_tokens(atom: &Atom) -> u64 {
    (atom.end_byte.saturating_sub(atom.start_byte) as u64).div_ceil(4)
}

/// The graph input of atomized files and their links: atoms in file order (the files in the
/// order given), named by qualified name, in the component of their file's directory.
pub fn input_from_atomized(
    files: &[AtomizedFile],
    linkage: &Linkage,
) -> Result<GraphInput, GraphError> {
    let nodes = files
        .iter()
        .flat_map(|file| {
            file.atoms.iter().map(move |atom| NodeSpec {
                id: atom.id.clone(),
                file: file.path.clone(),
                component: directory_component(&file.path),
                name: atom.qualified_name.clone(),
                kind: atom.kind.as_str().to_string(),
                est_tokens: estimate_tokens(atom),
            })
        })
        .collect();
    let references = linkage.links.iter().map(|link| IdReference {
        from: link.provider.clone(),
        to: link.dependent.clone(),
        kind: link.kind,
        symbol: link.symbol.clone(),
    });
    GraphInput::from_id_references(nodes, references)
}

/// One file of a plan: its project-relative path, language and code.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile<'a> {
    pub path: &'a str,
    pub language: Language,
    pub code: &'a str,
}

/// A plan's files atomized, linked across each other, and turned into graph input.
#[derive(Debug, Clone)]
pub struct AtomizedPlan {
    /// The task files, then the support files.
    pub files: Vec<AtomizedFile>,
    /// How many of `files` are task files (the rest are support files).
    pub task_files: usize,
    pub linkage: Linkage,
    pub input: GraphInput,
}

/// Atomizes `sources` with `config`, links them as the whole plan and builds the graph input.
pub fn atomize_plan(
    sources: &[SourceFile<'_>],
    config: &Config,
) -> Result<AtomizedPlan, GraphError> {
    atomize_plan_with_support(sources, &[], config)
}

/// Atomizes the task files `sources` and the `support` files (re-exporting `__init__.py`,
/// `index.ts` barrels, tests: files of the project that are not generated) with `config`,
/// links them all, so imports through a support file resolve to the task atom behind it, and
/// builds the graph input of the task atoms alone: links to or from a support atom are dropped.
pub fn atomize_plan_with_support(
    sources: &[SourceFile<'_>],
    support: &[SourceFile<'_>],
    config: &Config,
) -> Result<AtomizedPlan, GraphError> {
    let files: Vec<AtomizedFile> = sources
        .iter()
        .chain(support)
        .map(|s| mge_atomize::atomize(s.path, s.code, s.language, config))
        .collect();
    let linkage = mge_atomize::link(&files);
    let task_files = sources.len();
    let generated: HashSet<&str> = files[..task_files]
        .iter()
        .flat_map(|f| f.atoms.iter().map(|a| a.id.as_str()))
        .collect();
    let task_linkage = Linkage {
        links: linkage
            .links
            .iter()
            .filter(|l| {
                generated.contains(l.provider.as_str()) && generated.contains(l.dependent.as_str())
            })
            .cloned()
            .collect(),
        ..linkage.clone()
    };
    let input = input_from_atomized(&files[..task_files], &task_linkage)?;
    Ok(AtomizedPlan {
        files,
        task_files,
        linkage,
        input,
    })
}
