//! V2 atomization: tree-sitter parsing of Python, TypeScript, TSX and JavaScript files,
//! decomposition into atoms of about ten lines that tile the file exactly, symbol resolution by
//! scope, cross-file linking, context injection and atomicity validation. Pure: no IO.

pub mod atomicity;
pub mod link;
pub mod model;
pub mod parse;
mod resolve;

pub use atomicity::{AtomFacts, Atomicity, Criterion, CriterionResult};
pub use link::{link, AtomLocation, Link, Linkage, PlanIndex, Resolution, UnresolvedReference};
pub use model::{
    Atom, AtomKind, AtomizedFile, Config, Diagnostic, ImportBinding, ImportKind, Modifier, RefKind,
    Reference, Severity,
};
pub use parse::Grammar;
