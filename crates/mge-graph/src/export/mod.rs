//! Exports of a built graph: a JSON document (also the form to persist) and DOT and Mermaid
//! renderings with waves as ranks. Every export is deterministic: same input, same bytes.

mod dot;
mod mermaid;

use mge_core::EdgeKind;
use serde::{Deserialize, Serialize};

use crate::analysis::GraphStats;
use crate::graph::DependencyGraph;

pub use dot::to_dot;
pub use mermaid::to_mermaid;

/// The JSON form of a graph:
/// `{"nodes":[{"id","file","name","kind","wave","component"}],"edges":[{"from","to","kind",
/// "weight"}],"waves":[[ids]],"cycles":[[ids]],"stats":{...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphDocument {
    /// Atoms in input order.
    pub nodes: Vec<NodeRecord>,
    /// Merged edges sorted by provider then dependent position.
    pub edges: Vec<EdgeRecord>,
    /// Atom ids per wave, in input order within a wave.
    pub waves: Vec<Vec<String>>,
    /// Atom ids of each cyclic component, in input order.
    pub cycles: Vec<Vec<String>>,
    pub stats: GraphStats,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: String,
    pub file: String,
    pub name: String,
    pub kind: String,
    pub wave: u32,
    pub component: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeRecord {
    /// Provider atom id.
    pub from: String,
    /// Dependent atom id.
    pub to: String,
    /// The strongest kind of the merged references.
    pub kind: EdgeKind,
    pub weight: f64,
}

impl DependencyGraph {
    /// The JSON document of the graph.
    pub fn document(&self) -> GraphDocument {
        let ids = |positions: &[u32]| -> Vec<String> {
            positions.iter().map(|&p| self.atom(p).id.clone()).collect()
        };
        GraphDocument {
            nodes: self
                .atoms()
                .iter()
                .map(|a| NodeRecord {
                    id: a.id.clone(),
                    file: a.file.clone(),
                    name: a.name.clone(),
                    kind: a.kind.clone(),
                    wave: a.wave,
                    component: a.component.clone(),
                })
                .collect(),
            edges: self
                .dependencies()
                .map(|(from, to, dep)| EdgeRecord {
                    from: self.atom(from).id.clone(),
                    to: self.atom(to).id.clone(),
                    kind: dep.kind(),
                    weight: dep.weight(),
                })
                .collect(),
            waves: self.waves().iter().map(|w| ids(&w.atoms)).collect(),
            cycles: self.cycles().map(|u| ids(&u.members)).collect(),
            stats: self.stats(),
        }
    }
}

/// The graph as pretty-printed JSON, ending with a newline.
pub fn to_json(graph: &DependencyGraph) -> String {
    let mut text = serde_json::to_string_pretty(&graph.document())
        .expect("a graph document holds only strings, numbers and lists");
    text.push('\n');
    text
}

/// Kinds of a merged edge joined by `,`, strongest first.
fn kinds_label(dep: &crate::weight::Dependency) -> String {
    dep.kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
