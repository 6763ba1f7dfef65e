//! Construction: ids resolved, references merged, strongly connected components, condensation
//! order, waves and the critical path.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use mge_core::EdgeKind;
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction::Incoming;

use crate::graph::{AtomNode, DependencyGraph, Unit, Wave};
use crate::input::{EdgeEnd, GraphError, GraphInput};
use crate::weight::{Dependency, KindSet};

/// Largest number of atoms or merged edges (petgraph `u32` indices reserve `u32::MAX`).
const MAX_INDEX: usize = u32::MAX as usize - 1;

/// Builds the dependency graph of `input`.
///
/// Every reference becomes part of exactly one edge (several references between one pair are
/// merged, keeping every kind and symbol); no edge is dropped, cycles included. Runs in
/// O(atoms + references · log references) time and linear memory.
pub fn build(input: GraphInput) -> Result<DependencyGraph, GraphError> {
    let GraphInput { nodes, edges } = input;
    if nodes.len() > MAX_INDEX {
        return Err(GraphError::TooLarge {
            what: "atoms",
            count: nodes.len(),
            max: MAX_INDEX,
        });
    }
    let references = edges.len();

    // Resolve ids to positions.
    let mut resolved: Vec<(u32, u32, EdgeKind, String)> = Vec::with_capacity(edges.len());
    {
        let mut index: HashMap<&str, u32> = HashMap::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            match index.entry(node.id.as_str()) {
                Entry::Occupied(e) => {
                    return Err(GraphError::DuplicateNode {
                        id: node.id.clone(),
                        first: *e.get() as usize,
                        second: i,
                    })
                }
                Entry::Vacant(e) => {
                    e.insert(i as u32);
                }
            }
        }
        for (i, edge) in edges.into_iter().enumerate() {
            let lookup = |id: &str, end: EdgeEnd| {
                index
                    .get(id)
                    .copied()
                    .ok_or_else(|| GraphError::UnknownNode {
                        index: i,
                        end,
                        id: id.to_string(),
                        kind: edge.kind,
                        symbol: edge.symbol.clone(),
                    })
            };
            let from = lookup(&edge.from, EdgeEnd::Provider)?;
            let to = lookup(&edge.to, EdgeEnd::Dependent)?;
            resolved.push((from, to, edge.kind, edge.symbol));
        }
    }
    resolved.sort_unstable_by_key(|r| (r.0, r.1));

    // The petgraph graph: node index = input position, edges sorted by (provider, dependent).
    let mut graph: DiGraph<AtomNode, Dependency, u32> =
        DiGraph::with_capacity(nodes.len(), resolved.len());
    for node in nodes {
        graph.add_node(AtomNode {
            id: node.id,
            file: node.file,
            component: node.component,
            name: node.name,
            kind: node.kind,
            est_tokens: node.est_tokens,
            wave: 0,
            unit: 0,
        });
    }
    let mut refs = resolved.into_iter().peekable();
    while let Some((from, to, kind, symbol)) = refs.next() {
        let mut kinds = KindSet::new();
        kinds.insert(kind);
        let mut symbols = Vec::new();
        if !symbol.is_empty() {
            symbols.push(symbol);
        }
        let mut count: u32 = 1;
        while let Some((_, _, kind, symbol)) = refs.next_if(|r| r.0 == from && r.1 == to) {
            kinds.insert(kind);
            if !symbol.is_empty() {
                symbols.push(symbol);
            }
            count = count.saturating_add(1);
        }
        if symbols.len() > 1 {
            symbols.sort_unstable();
            symbols.dedup();
        }
        if graph.edge_count() >= MAX_INDEX {
            return Err(GraphError::TooLarge {
                what: "edges",
                count: graph.edge_count() + 1,
                max: MAX_INDEX,
            });
        }
        graph.add_edge(
            NodeIndex::new(from as usize),
            NodeIndex::new(to as usize),
            Dependency {
                kinds,
                symbols,
                references: count,
            },
        );
    }

    let (units, waves) = schedule(&mut graph);
    let (critical_path, longest_chain_atoms) = critical_path(&graph, &units);
    Ok(DependencyGraph {
        graph,
        units,
        waves,
        references,
        critical_path,
        longest_chain_atoms,
    })
}

/// Strongly connected components, their waves and canonical (topological) numbering.
///
/// Kosaraju's algorithm is used because petgraph's implementation is iterative: a plan with a
/// chain of 100,000 atoms must not exhaust the stack. It yields the components in reverse
/// topological order, so one backward sweep computes each component's longest-path level.
fn schedule(graph: &mut DiGraph<AtomNode, Dependency, u32>) -> (Vec<Unit>, Vec<Wave>) {
    let mut sccs = kosaraju_scc(&*graph);
    let mut component_of = vec![0u32; graph.node_count()];
    for (c, scc) in sccs.iter().enumerate() {
        for member in scc {
            component_of[member.index()] = c as u32;
        }
    }

    let mut wave_of = vec![0u32; sccs.len()];
    let mut cyclic = vec![false; sccs.len()];
    for c in (0..sccs.len()).rev() {
        let mut wave = 0;
        let mut is_cycle = sccs[c].len() > 1;
        for &member in &sccs[c] {
            for edge in graph.edges_directed(member, Incoming) {
                let source = component_of[edge.source().index()] as usize;
                if source == c {
                    is_cycle |= edge.source() == member;
                } else {
                    wave = wave.max(wave_of[source] + 1);
                }
            }
        }
        wave_of[c] = wave;
        cyclic[c] = is_cycle;
    }

    // Canonical numbering: by wave, then by first member. Edges only go to higher waves, so this
    // is a topological order of the condensation.
    for scc in &mut sccs {
        scc.sort_unstable();
    }
    let mut canonical: Vec<usize> = (0..sccs.len()).collect();
    canonical.sort_unstable_by_key(|&c| (wave_of[c], sccs[c][0]));

    let mut units = Vec::with_capacity(sccs.len());
    let mut waves: Vec<Wave> = Vec::new();
    for (number, &c) in canonical.iter().enumerate() {
        let members: Vec<u32> = std::mem::take(&mut sccs[c])
            .into_iter()
            .map(|n| n.index() as u32)
            .collect();
        let wave = wave_of[c];
        let mut est_tokens: u64 = 0;
        for &m in &members {
            let atom = &mut graph[NodeIndex::new(m as usize)];
            atom.wave = wave;
            atom.unit = number as u32;
            est_tokens = est_tokens.saturating_add(atom.est_tokens);
        }
        if waves.len() <= wave as usize {
            waves.push(Wave {
                units: Vec::new(),
                atoms: Vec::new(),
            });
        }
        let current = waves.last_mut().expect("a wave was just pushed");
        current.units.push(number as u32);
        current.atoms.extend_from_slice(&members);
        units.push(Unit {
            members,
            wave,
            cyclic: cyclic[c],
            est_tokens,
        });
    }
    for wave in &mut waves {
        wave.atoms.sort_unstable();
    }
    (units, waves)
}

/// The chain of units with the most estimated tokens, ties broken by more atoms, then by lower
/// unit indices, as unit indices from first to last; and the most atoms on any chain.
fn critical_path(graph: &DiGraph<AtomNode, Dependency, u32>, units: &[Unit]) -> (Vec<u32>, u64) {
    const NONE: u32 = u32::MAX;
    // (tokens, atoms) of the heaviest chain ending with each unit.
    let mut best: Vec<(u64, u64)> = Vec::with_capacity(units.len());
    let mut pred: Vec<u32> = Vec::with_capacity(units.len());
    // Atoms of the longest chain ending with each unit.
    let mut longest: Vec<u64> = Vec::with_capacity(units.len());
    for (u, unit) in units.iter().enumerate() {
        let mut chosen: Option<((u64, u64), u32)> = None;
        let mut longest_before: u64 = 0;
        for &m in &unit.members {
            for edge in graph.edges_directed(NodeIndex::new(m as usize), Incoming) {
                let s = graph[edge.source()].unit;
                if s as usize == u {
                    continue;
                }
                longest_before = longest_before.max(longest[s as usize]);
                let candidate = best[s as usize];
                let better = match chosen {
                    None => true,
                    Some((value, index)) => candidate > value || (candidate == value && s < index),
                };
                if better {
                    chosen = Some((candidate, s));
                }
            }
        }
        let (base, from) = chosen.unwrap_or(((0, 0), NONE));
        best.push((
            base.0.saturating_add(unit.est_tokens),
            base.1 + unit.members.len() as u64,
        ));
        pred.push(from);
        longest.push(longest_before + unit.members.len() as u64);
    }
    let longest_chain = longest.iter().copied().max().unwrap_or(0);
    let Some(mut last) = (0..units.len()).max_by(|&a, &b| best[a].cmp(&best[b]).then(b.cmp(&a)))
    else {
        return (Vec::new(), 0);
    };
    let mut path = vec![last as u32];
    while pred[last] != NONE {
        last = pred[last] as usize;
        path.push(last as u32);
    }
    path.reverse();
    (path, longest_chain)
}
