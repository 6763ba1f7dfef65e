//! V2 atomization: tree-sitter parsing of Python, TypeScript, TSX and JavaScript files,
//! decomposition into atoms of about ten lines that tile the file exactly, symbol resolution by
//! scope, cross-file linking, context injection and atomicity validation. Pure: no IO.
//!
//! Entry points: [`atomize`] for one file, [`link`] / [`PlanIndex`] across the files of a plan,
//! [`context::build_context`] for what a generator needs to write one atom.

pub mod atomicity;
mod atomize;
mod builtins;
mod classify;
pub mod context;
mod decompose;
mod facts;
mod lines;
pub mod link;
pub mod model;
pub mod parse;
mod resolve;
mod scope_js;
mod scope_js_decl;
mod scope_py;
mod scope_walk;
mod split;
mod symbols;

pub use atomicity::{AtomFacts, Atomicity, Criterion, CriterionResult};
pub use atomize::{atomize, atomize_parsed, atomize_with, rescore, NESTING_WARNING_DEPTH};
pub use context::{build_context, import_statement, AtomContext, SymbolSignature};
pub use link::{link, AtomLocation, Link, Linkage, PlanIndex, Resolution, UnresolvedReference};
pub use model::{
    Atom, AtomKind, AtomizedFile, Config, Diagnostic, ImportBinding, ImportKind, Modifier, RefKind,
    Reference, Severity,
};
pub use parse::Grammar;
