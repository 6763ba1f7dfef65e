//! Statistics and module/component boundaries of a built graph.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::graph::{AtomNode, DependencyGraph};

/// Summary figures of a graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphStats {
    pub atoms: usize,
    /// Input references before merging.
    pub references: usize,
    /// Merged edges (distinct provider/dependent pairs).
    pub edges: usize,
    /// Strongly connected components (units), singletons included.
    pub components: usize,
    /// Components that form a cycle.
    pub cyclic_components: usize,
    /// Members of the largest component.
    pub largest_component: usize,
    pub waves: usize,
    /// Atoms of the wave with the most atoms.
    pub widest_wave: usize,
    /// Critical path length in atoms: the most atoms on any chain of units (never fewer than the
    /// number of waves).
    pub critical_path_atoms: u64,
    /// Critical path length in estimated tokens: the most tokens on any chain of units, i.e. on
    /// [`DependencyGraph::critical_path`].
    pub critical_path_tokens: u64,
    /// Atoms in waves of more than one unit: they can run alongside another unit.
    pub parallelizable_atoms: usize,
    /// Estimated tokens of all atoms.
    pub est_tokens: u64,
    /// Distinct files.
    pub modules: usize,
    /// Distinct components (packages or directories).
    pub component_groups: usize,
}

/// A group of atoms: a module (file) or a component (package or directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boundary {
    pub name: String,
    /// Atom ids in input order.
    pub atoms: Vec<String>,
    /// Wave of the group's first atoms.
    pub first_wave: u32,
    /// Wave of the group's last atoms: the group is complete (and can be validated) after it.
    pub last_wave: u32,
    /// Edges between two atoms of the group.
    pub internal_edges: usize,
    /// Edges from another group into this one.
    pub incoming_edges: usize,
    /// Edges from this group into another one.
    pub outgoing_edges: usize,
    /// The other groups this one depends on, in order of first appearance.
    pub depends_on: Vec<String>,
}

/// Module and component groupings of a graph, each in order of first appearance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boundaries {
    pub modules: Vec<Boundary>,
    pub components: Vec<Boundary>,
}

impl DependencyGraph {
    /// Summary figures; O(atoms + units).
    pub fn stats(&self) -> GraphStats {
        let widest_wave = self.waves.iter().map(|w| w.atoms.len()).max().unwrap_or(0);
        let parallelizable_atoms = self
            .waves
            .iter()
            .filter(|w| w.units.len() > 1)
            .map(|w| w.atoms.len())
            .sum();
        let critical = self.critical_path.iter().map(|&u| &self.units[u as usize]);
        let mut files = std::collections::HashSet::new();
        let mut components = std::collections::HashSet::new();
        let mut est_tokens: u64 = 0;
        for atom in self.atoms() {
            files.insert(atom.file.as_str());
            components.insert(atom.component.as_str());
            est_tokens = est_tokens.saturating_add(atom.est_tokens);
        }
        GraphStats {
            atoms: self.atom_count(),
            references: self.references,
            edges: self.edge_count(),
            components: self.units.len(),
            cyclic_components: self.units.iter().filter(|u| u.cyclic).count(),
            largest_component: self
                .units
                .iter()
                .map(|u| u.members.len())
                .max()
                .unwrap_or(0),
            waves: self.waves.len(),
            widest_wave,
            critical_path_atoms: self.longest_chain_atoms,
            critical_path_tokens: critical.map(|u| u.est_tokens).sum(),
            parallelizable_atoms,
            est_tokens,
            modules: files.len(),
            component_groups: components.len(),
        }
    }

    /// Module (file) and component groupings with their waves and cross-group edges.
    pub fn boundaries(&self) -> Boundaries {
        Boundaries {
            modules: self.group_by(|a| &a.file),
            components: self.group_by(|a| &a.component),
        }
    }

    fn group_by(&self, key: impl Fn(&AtomNode) -> &String) -> Vec<Boundary> {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut group_of = Vec::with_capacity(self.atom_count());
        let mut groups: Vec<Boundary> = Vec::new();
        let mut depends: Vec<BTreeSet<usize>> = Vec::new();
        for atom in self.atoms() {
            let name = key(atom);
            let g = *index.entry(name.as_str()).or_insert_with(|| {
                groups.push(Boundary {
                    name: name.clone(),
                    atoms: Vec::new(),
                    first_wave: atom.wave,
                    last_wave: atom.wave,
                    internal_edges: 0,
                    incoming_edges: 0,
                    outgoing_edges: 0,
                    depends_on: Vec::new(),
                });
                depends.push(BTreeSet::new());
                groups.len() - 1
            });
            let group = &mut groups[g];
            group.atoms.push(atom.id.clone());
            group.first_wave = group.first_wave.min(atom.wave);
            group.last_wave = group.last_wave.max(atom.wave);
            group_of.push(g);
        }
        for (from, to, _) in self.dependencies() {
            let (a, b) = (group_of[from as usize], group_of[to as usize]);
            if a == b {
                groups[a].internal_edges += 1;
            } else {
                groups[a].outgoing_edges += 1;
                groups[b].incoming_edges += 1;
                depends[b].insert(a);
            }
        }
        let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
        for (group, deps) in groups.iter_mut().zip(depends) {
            group.depends_on = deps.into_iter().map(|d| names[d].clone()).collect();
        }
        groups
    }
}
