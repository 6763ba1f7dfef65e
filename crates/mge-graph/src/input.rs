//! The input of the graph builder: atoms and the references between them, by id.

use std::fmt;

use mge_core::EdgeKind;
use serde::{Deserialize, Serialize};

/// Everything the builder needs: the atoms of a plan and the references between them.
///
/// Order matters only for determinism: atoms keep their input position (plan order) and every tie
/// in the output (wave members, cycle members, unit order) is broken by that position.
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

/// One reference: `to` uses `symbol` provided by `from`, so `from` must be generated first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeSpec {
    /// Id of the provider atom.
    pub from: String,
    /// Id of the dependent atom.
    pub to: String,
    pub kind: EdgeKind,
    /// The name through which the dependent reaches the provider (may be empty for `contains`).
    pub symbol: String,
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
    #[error("edges[{index}] ({kind} '{symbol}'): {end} '{id}' is not an atom of the graph")]
    UnknownNode {
        index: usize,
        end: EdgeEnd,
        id: String,
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
