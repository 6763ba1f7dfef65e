//! Construction: references merged into edges, strongly connected components, condensation
//! order, waves and the critical path.

use mge_core::EdgeKind;
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction::Incoming;

use crate::graph::{AtomNode, DependencyGraph, Unit, Wave};
use crate::input::{id_index, EdgeEnd, GraphError, GraphInput, MAX_ATOMS};
use crate::weight::{Dependency, KindSet};

/// Builds the dependency graph of `input`.
///
/// Every reference becomes part of exactly one edge (several references between one pair are
/// merged, keeping every kind and symbol); no edge is dropped, cycles included. Runs in
/// O(atoms + references · log references) time and linear memory.
pub fn build(input: GraphInput) -> Result<DependencyGraph, GraphError> {
    let GraphInput { nodes, edges } = input;
    drop(id_index(&nodes)?);
    let references = edges.len();
    let atoms = nodes.len();

    let mut resolved: Vec<(u32, u32, EdgeKind, String)> = Vec::with_capacity(edges.len());
    for (index, edge) in edges.into_iter().enumerate() {
        for (end, position) in [
            (EdgeEnd::Provider, edge.from),
            (EdgeEnd::Dependent, edge.to),
        ] {
            if position as usize >= atoms {
                return Err(GraphError::PositionOutOfRange {
                    index,
                    end,
                    position,
                    atoms,
                    kind: edge.kind,
                    symbol: edge.symbol,
                });
            }
        }
        resolved.push((edge.from, edge.to, edge.kind, edge.symbol));
    }
    resolved.sort_unstable_by_key(|r| (r.0, r.1));

    // Structure in petgraph (node index = input position, edges sorted by provider then
    // dependent); atom data beside it.
    let mut graph: DiGraph<(), Dependency, u32> = DiGraph::with_capacity(atoms, resolved.len());
    for _ in 0..atoms {
        graph.add_node(());
    }
    let mut refs = resolved.into_iter().peekable();
    while let Some((from, to, kind, symbol)) = refs.next() {
        let mut kinds = KindSet::new();
        kinds.insert(kind);
        let mut symbols = Vec::with_capacity(1);
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
        if graph.edge_count() >= MAX_ATOMS {
            return Err(GraphError::TooLarge {
                what: "edges",
                count: graph.edge_count() + 1,
                max: MAX_ATOMS,
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
    let mut atoms: Vec<AtomNode> = nodes
        .into_iter()
        .map(|node| AtomNode {
            id: node.id,
            file: node.file,
            component: node.component,
            name: node.name,
            kind: node.kind,
            est_tokens: node.est_tokens,
            wave: 0,
            unit: 0,
        })
        .collect();

    let schedule = schedule(&graph, &mut atoms);
    Ok(DependencyGraph {
        graph,
        atoms,
        units: schedule.units,
        waves: schedule.waves,
        references,
        critical_path: schedule.critical_path,
        longest_chain_atoms: schedule.longest_chain_atoms,
    })
}

struct Schedule {
    units: Vec<Unit>,
    waves: Vec<Wave>,
    critical_path: Vec<u32>,
    longest_chain_atoms: u64,
}

/// Strongly connected components, their waves, the critical path and the canonical
/// (topological) numbering of the units, in one sweep over the incoming edges.
///
/// Kosaraju's algorithm is used because petgraph's implementation is iterative: a plan with a
/// chain of 100,000 atoms must not exhaust the stack. It yields the components in reverse
/// topological order, so one backward sweep sees every provider component before its dependents.
///
/// Units are numbered by (wave, first member). The critical path is the chain with the most
/// tokens, ties broken by more atoms, then by the lower unit number at every step.
fn schedule(graph: &DiGraph<(), Dependency, u32>, atoms: &mut [AtomNode]) -> Schedule {
    const NONE: u32 = u32::MAX;
    let mut sccs = kosaraju_scc(graph);
    let count = sccs.len();
    let mut component_of = vec![0u32; atoms.len()];
    for (c, scc) in sccs.iter_mut().enumerate() {
        scc.sort_unstable();
        for member in scc.iter() {
            component_of[member.index()] = c as u32;
        }
    }
    // Canonical key of a component, known as soon as its wave is: (wave, first member).
    let mut key: Vec<(u32, u32)> = sccs.iter().map(|s| (0, s[0].index() as u32)).collect();
    let mut cyclic = vec![false; count];
    let mut tokens = vec![0u64; count];
    // (tokens, atoms) of the heaviest chain ending with each component, and its predecessor.
    let mut best = vec![(0u64, 0u64); count];
    let mut pred = vec![NONE; count];
    // Atoms of the longest chain ending with each component.
    let mut longest = vec![0u64; count];

    for c in (0..count).rev() {
        let mut wave = 0;
        let mut is_cycle = sccs[c].len() > 1;
        let mut chosen = NONE;
        let mut longest_before = 0;
        let mut unit_tokens: u64 = 0;
        for &member in &sccs[c] {
            unit_tokens = unit_tokens.saturating_add(atoms[member.index()].est_tokens);
            for edge in graph.edges_directed(member, Incoming) {
                let s = component_of[edge.source().index()];
                if s as usize == c {
                    is_cycle |= edge.source() == member;
                    continue;
                }
                let s_ = s as usize;
                wave = wave.max(key[s_].0 + 1);
                longest_before = longest_before.max(longest[s_]);
                if chosen == NONE
                    || best[s_] > best[chosen as usize]
                    || (best[s_] == best[chosen as usize] && key[s_] < key[chosen as usize])
                {
                    chosen = s;
                }
            }
        }
        let base = if chosen == NONE {
            (0, 0)
        } else {
            best[chosen as usize]
        };
        let size = sccs[c].len() as u64;
        best[c] = (base.0.saturating_add(unit_tokens), base.1 + size);
        pred[c] = chosen;
        longest[c] = longest_before + size;
        key[c].0 = wave;
        cyclic[c] = is_cycle;
        tokens[c] = unit_tokens;
    }

    // Edges only go to higher waves, so numbering by (wave, first member) is topological.
    let mut canonical: Vec<u32> = (0..count as u32).collect();
    canonical.sort_unstable_by_key(|&c| key[c as usize]);
    let mut number_of = vec![0u32; count];
    for (number, &c) in canonical.iter().enumerate() {
        number_of[c as usize] = number as u32;
    }

    let mut units = Vec::with_capacity(count);
    let mut waves: Vec<Wave> = Vec::new();
    for (number, &c) in canonical.iter().enumerate() {
        let c = c as usize;
        let members: Vec<u32> = std::mem::take(&mut sccs[c])
            .into_iter()
            .map(|n| n.index() as u32)
            .collect();
        let wave = key[c].0;
        for &m in &members {
            let atom = &mut atoms[m as usize];
            atom.wave = wave;
            atom.unit = number as u32;
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
            est_tokens: tokens[c],
        });
    }
    for wave in &mut waves {
        wave.atoms.sort_unstable();
    }

    let mut critical_path = Vec::new();
    let last = (0..count).max_by(|&a, &b| best[a].cmp(&best[b]).then(key[b].cmp(&key[a])));
    let mut step = last.map_or(NONE, |c| c as u32);
    while step != NONE {
        critical_path.push(number_of[step as usize]);
        step = pred[step as usize];
    }
    critical_path.reverse();

    Schedule {
        units,
        waves,
        critical_path,
        longest_chain_atoms: longest.iter().copied().max().unwrap_or(0),
    }
}
