//! The built dependency graph and its read-only views.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde::{Deserialize, Serialize};

use crate::weight::Dependency;

/// One atom of the graph, with its place in the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtomNode {
    pub id: String,
    pub file: String,
    pub component: String,
    pub name: String,
    pub kind: String,
    pub est_tokens: u64,
    /// The wave the atom is generated in (0: no providers outside its own unit).
    pub wave: u32,
    /// Index of the atom's unit in [`DependencyGraph::units`].
    pub unit: u32,
}

/// A node of the condensation: one strongly connected component, scheduled as one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Atom positions (input order), ascending.
    pub members: Vec<u32>,
    pub wave: u32,
    /// True when the members form a cycle: more than one member, or a member referencing itself.
    pub cyclic: bool,
    /// Sum of the members' estimated tokens.
    pub est_tokens: u64,
}

/// Units whose providers are all in earlier waves; they can be generated in parallel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wave {
    /// Unit indices, ascending.
    pub units: Vec<u32>,
    /// Atom positions of all those units, ascending.
    pub atoms: Vec<u32>,
}

/// The dependency graph of a plan's atoms: edges provider → dependent, strongly connected
/// components condensed into units, units in topological order, waves of longest-path levels.
///
/// Atoms are addressed by their position in the [`crate::GraphInput`] (`u32`), which is also their
/// petgraph node index. Units are numbered in a topological order of the condensation: by wave,
/// then by their first member's position.
#[derive(Debug, Clone)]
pub struct DependencyGraph {
    /// Structure only; the atoms' data lives in `atoms`, so traversals stay in cache.
    pub(crate) graph: DiGraph<(), Dependency, u32>,
    pub(crate) atoms: Vec<AtomNode>,
    pub(crate) units: Vec<Unit>,
    pub(crate) waves: Vec<Wave>,
    pub(crate) references: usize,
    pub(crate) critical_path: Vec<u32>,
    pub(crate) longest_chain_atoms: u64,
}

impl DependencyGraph {
    /// The underlying petgraph graph; node index = atom position (see [`Self::atom`]).
    pub fn petgraph(&self) -> &DiGraph<(), Dependency, u32> {
        &self.graph
    }

    pub fn atom_count(&self) -> usize {
        self.graph.node_count()
    }

    /// Number of merged edges (distinct provider/dependent pairs).
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Number of input references before merging.
    pub fn reference_count(&self) -> usize {
        self.references
    }

    /// The atom at `position`. Panics when out of range, like slice indexing.
    pub fn atom(&self, position: u32) -> &AtomNode {
        &self.atoms[position as usize]
    }

    /// Every atom in input order.
    pub fn atoms(&self) -> &[AtomNode] {
        &self.atoms
    }

    /// Every merged edge as `(provider, dependent, dependency)`, sorted by provider then dependent.
    pub fn dependencies(&self) -> impl Iterator<Item = (u32, u32, &Dependency)> + '_ {
        self.graph.edge_references().map(|e| {
            (
                e.source().index() as u32,
                e.target().index() as u32,
                e.weight(),
            )
        })
    }

    /// Providers of the atom at `position`, ascending.
    pub fn providers(&self, position: u32) -> Vec<u32> {
        self.neighbors(position, Direction::Incoming)
    }

    /// Dependents of the atom at `position`, ascending.
    pub fn dependents(&self, position: u32) -> Vec<u32> {
        self.neighbors(position, Direction::Outgoing)
    }

    fn neighbors(&self, position: u32, direction: Direction) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .graph
            .neighbors_directed(NodeIndex::new(position as usize), direction)
            .map(|n| n.index() as u32)
            .collect();
        out.sort_unstable();
        out
    }

    /// The units (condensation nodes) in topological order.
    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// Edges of the condensation as `(provider unit, dependent unit)`, sorted and distinct.
    pub fn unit_edges(&self) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = self
            .graph
            .edge_references()
            .map(|e| {
                (
                    self.atoms[e.source().index()].unit,
                    self.atoms[e.target().index()].unit,
                )
            })
            .filter(|(a, b)| a != b)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    pub fn waves(&self) -> &[Wave] {
        &self.waves
    }

    /// The cyclic units, in unit order.
    pub fn cycles(&self) -> impl Iterator<Item = &Unit> + '_ {
        self.units.iter().filter(|u| u.cyclic)
    }

    /// Every atom in a topological order of the condensation (units in order, members ascending).
    pub fn order(&self) -> Vec<u32> {
        self.units
            .iter()
            .flat_map(|u| u.members.iter().copied())
            .collect()
    }

    /// Unit indices of the critical path: the chain of units with the most estimated tokens
    /// (ties: the most atoms, then the lowest unit indices). A cyclic unit counts with all its
    /// members, since they are generated together.
    pub fn critical_path(&self) -> &[u32] {
        &self.critical_path
    }

    /// Atom ids of the cyclic unit or wave members given by positions.
    pub fn ids<'a>(&'a self, positions: &'a [u32]) -> impl Iterator<Item = &'a str> + 'a {
        positions.iter().map(|p| self.atom(*p).id.as_str())
    }
}
