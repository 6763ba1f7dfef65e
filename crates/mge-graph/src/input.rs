//! The input of the graph builder: atoms and the references between them, by id.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use mge_core::EdgeKind;
use serde::{Deserialize, Serialize};

/// Everything the builder needs: the atoms of a plan and the references between them.
///
/// References name atoms by position in `nodes`, so building never looks ids up; callers that
/// hold ids use [`GraphInput::from_id_references`]. Order matters only for determinism: atoms
/// keep their input position (plan order) and every tie in the output (wave members, cycle
/// members, unit order) is broken by that position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphInput {
    pub nodes: Vec<NodeSpec>,
    pub edges: Vec<EdgeSpec>,
}

/// One atom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// Unique within the input.
    pub id: String,
    /// The file (module) holding the atom, project-relative and `/`-separated.
    pub file: String,
    /// The component (package or directory) holding the file; see [`directory_component`].
    pub component: String,
    /// Name of the atom (function, class, method, constant, ...).
    pub name: String,
    /// Kind of the atom as the atomizer names it (`function`, `class`, `method`, `import`, ...).
    pub kind: String,
    /// Estimated size of the atom in tokens; drives the critical path in tokens.
    pub est_tokens: u64,
}

/// One reference: atom `to` uses `symbol` provided by atom `from`, so `from` must be generated
/// first. Both are positions in [`GraphInput::nodes`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeSpec {
    /// Position of the provider atom.
    pub from: u32,
    /// Position of the dependent atom.
    pub to: u32,
    pub kind: EdgeKind,
    /// The name through which the dependent reaches the provider (may be empty for `contains`).
    pub symbol: String,
}

/// A reference naming its atoms by id; see [`GraphInput::from_id_references`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdReference {
    /// Id of the provider atom.
    pub from: String,
    /// Id of the dependent atom.
    pub to: String,
    pub kind: EdgeKind,
    pub symbol: String,
}

impl GraphInput {
    /// An input whose references name atoms by id; fails on a duplicate id or an unknown one.
    pub fn from_id_references(
        nodes: Vec<NodeSpec>,
        references: impl IntoIterator<Item = IdReference>,
    ) -> Result<GraphInput, GraphError> {
        let index = id_index(&nodes)?;
        let mut edges = Vec::new();
        for (i, reference) in references.into_iter().enumerate() {
            let position = |id: &str, end: EdgeEnd| {
                index
                    .get(id)
                    .copied()
                    .ok_or_else(|| GraphError::UnknownNode {
                        index: i,
                        end,
                        id: id.to_string(),
                        kind: reference.kind,
                        symbol: reference.symbol.clone(),
                    })
            };
            let from = position(&reference.from, EdgeEnd::Provider)?;
            let to = position(&reference.to, EdgeEnd::Dependent)?;
            edges.push(EdgeSpec {
                from,
                to,
                kind: reference.kind,
                symbol: reference.symbol,
            });
        }
        drop(index);
        Ok(GraphInput { nodes, edges })
    }
}

/// Position of every atom id; fails on the first duplicate.
pub(crate) fn id_index(
    nodes: &[NodeSpec],
) -> Result<HashMap<&str, u32, BuildHasherDefault<IdHasher>>, GraphError> {
    if nodes.len() > MAX_ATOMS {
        return Err(GraphError::TooLarge {
            what: "atoms",
            count: nodes.len(),
            max: MAX_ATOMS,
        });
    }
    let mut index: HashMap<&str, u32, BuildHasherDefault<IdHasher>> =
        HashMap::with_capacity_and_hasher(nodes.len(), Default::default());
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
    Ok(index)
}

/// Largest number of atoms or merged edges (petgraph `u32` indices reserve `u32::MAX`).
pub(crate) const MAX_ATOMS: usize = u32::MAX as usize - 1;

/// A fast non-cryptographic hasher for atom ids (the Fx multiply-rotate scheme); ids come from
/// the plan, not from an adversary.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("chunks of 8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.write(&[byte]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Which end of an edge an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeEnd {
    Provider,
    Dependent,
}

impl fmt::Display for EdgeEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EdgeEnd::Provider => "provider",
            EdgeEnd::Dependent => "dependent",
        })
    }
}

/// Why an input could not be turned into a graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("duplicate atom id '{id}' at nodes[{second}] (first defined at nodes[{first}])")]
    DuplicateNode {
        id: String,
        first: usize,
        second: usize,
    },
    #[error("references[{index}] ({kind} '{symbol}'): {end} '{id}' is not an atom of the graph")]
    UnknownNode {
        index: usize,
        end: EdgeEnd,
        id: String,
        kind: EdgeKind,
        symbol: String,
    },
    #[error(
        "edges[{index}] ({kind} '{symbol}'): {end} position {position} is out of range ({atoms} atoms)"
    )]
    PositionOutOfRange {
        index: usize,
        end: EdgeEnd,
        position: u32,
        atoms: usize,
        kind: EdgeKind,
        symbol: String,
    },
    #[error("graph too large: {count} {what} (at most {max})")]
    TooLarge {
        what: &'static str,
        count: usize,
        max: usize,
    },
}

/// The component of a project-relative file: its directory (`pkg/sub` for `pkg/sub/mod.py`), or
/// `.` for a file at the project root.
pub fn directory_component(file: &str) -> String {
    match file.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => dir.to_string(),
        _ => ".".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::directory_component;

    #[test]
    fn components_are_directories() {
        assert_eq!(directory_component("shop/models.py"), "shop");
        assert_eq!(directory_component("a/b/c.ts"), "a/b");
        assert_eq!(directory_component("main.py"), ".");
        assert_eq!(directory_component("/x.py"), ".");
    }
}
