//! Dependency analysis of a plan's atoms: a petgraph graph with edges from provider to dependent,
//! strongly connected components condensed into units, a topological order of the condensation,
//! parallel waves (longest-path levels), statistics, module and component boundaries, and JSON,
//! DOT and Mermaid exports. The same ordering at task level serves the MVP strategy.
//!
//! This crate does no IO: same input, same output.
//!
//! Invariants (checked by the property tests):
//! - every edge runs from a lower wave to a higher one, except edges between members of one
//!   cyclic unit, which share a wave;
//! - every atom is in exactly one unit and one wave;
//! - units are numbered in a topological order of the condensation;
//! - no reference is dropped: each one is part of exactly one merged edge.

mod analysis;
mod atomized;
mod build;
mod export;
mod graph;
mod input;
mod tasks;
mod weight;

pub use analysis::{Boundaries, Boundary, GraphStats};
pub use atomized::{
    atomize_plan, atomize_plan_with_support, estimate_tokens, input_from_atomized, AtomizedPlan,
    SourceFile,
};
pub use build::build;
pub use export::{to_dot, to_json, to_mermaid, EdgeRecord, GraphDocument, NodeRecord};
pub use graph::{AtomNode, DependencyGraph, Unit, Wave};
pub use input::{
    directory_component, EdgeEnd, EdgeSpec, GraphError, GraphInput, IdReference, NodeSpec,
};
pub use tasks::{plan_task_order, task_order, TaskOrderError};
pub use weight::{edge_weight, Dependency, KindSet};
