//! Call arity, shared by the atomic level (the calls of one generated atom) and the component
//! level (every call of a component's files): a call must pass what its callee's signature
//! accepts. The callee is known for sure in three cases only, and only those are checked:
//!
//! - a callable of the plan the call's reference resolves to (functions, methods through
//!   `self.`/`this.` of the enclosing class, static and class methods, constructors through
//!   the class), when every provider has the same signature;
//! - a Python builtin the file never rebinds ([`crate::pysigs`]);
//! - a function or class of the Python standard library, reached through the file's imports
//!   ([`crate::pysigs`]).

use std::ops::Range;

use mge_atomize::{AtomKind, AtomizedFile, Grammar, PlanIndex, RefKind, Reference, Resolution};
use mge_core::Language;
use tree_sitter::Tree;

use crate::report::{codes, Violation};
use crate::syntax::{call_sites, CallSite, Callable, ParamKind};

/// The callables of a plan file by index, when they are known (`None`: unknown, skip).
pub(crate) type CallablesOf<'a> = dyn FnMut(usize) -> Option<Vec<Callable>> + 'a;

/// Checks the arity of the calls of file `fi` of `index` whose callee starts inside `range`
/// (every call when `None`). `tree` and `src` are the file as checked. Returns the violations
/// and the number of calls checked.
pub(crate) fn check_calls(
    index: &PlanIndex,
    fi: usize,
    tree: &Tree,
    src: &str,
    range: Option<Range<usize>>,
    callables_of: &mut CallablesOf<'_>,
) -> (Vec<Violation>, usize) {
    let file = &index.files()[fi];
    let grammar = Grammar::for_file(&file.path, file.language);
    let python = grammar.is_python();
    let shadows = python.then(|| crate::pysigs::Bindings::of(tree, src));
    let mut out = Vec::new();
    let mut checks = 0;
    for site in call_sites(grammar, tree, src) {
        if range
            .as_ref()
            .is_some_and(|r| !(r.start <= site.start_byte && site.start_byte < r.end))
        {
            continue;
        }
        if site.has_splat || site.callee.first().is_some_and(|c| c == "super") {
            continue;
        }
        // Atomization may record a name once per atom: the call's name is the module-level
        // one when its atom references it (locals and parameters are never references).
        let Some(atom) = file
            .atoms
            .iter()
            .find(|a| a.start_byte <= site.start_byte && site.start_byte < a.end_byte)
        else {
            continue;
        };
        let candidates = atom
            .references
            .iter()
            .filter(|r| matches_chain(r, &site.callee));
        let exact = candidates
            .clone()
            .find(|r| (r.line, r.column) == (site.line, site.col));
        let callee = match exact.or_else(|| candidates.clone().next()) {
            Some(r) => match index.resolve(fi, r) {
                Resolution::Plan { .. } => plan_callee(index, fi, r, &site, callables_of),
                Resolution::External { .. } if python => {
                    crate::pysigs::imported_callee(file, &site.callee)
                }
                _ => None,
            },
            // No reference: a local, a parameter or a builtin.
            None if python && site.callee.len() == 1 => shadows
                .as_ref()
                .filter(|b| !b.binds(&site.callee[0]) && !binds_at_module(file, &site.callee[0]))
                .and_then(|_| crate::pysigs::builtin(&site.callee[0])),
            None => None,
        };
        let Some(callee) = callee else {
            continue;
        };
        checks += 1;
        if let Some((code, message)) = arity_problem(&callee, &site, python) {
            out.push(
                Violation::new(&file.path, site.line, site.col, code, message)
                    .with_atom(Some(atom.id.clone())),
            );
        }
    }
    (out, checks)
}

/// Whether the file binds `name` at module level (a definition or an import, wildcards
/// included: they may bind anything).
fn binds_at_module(file: &AtomizedFile, name: &str) -> bool {
    file.atoms
        .iter()
        .any(|a| a.defines.iter().any(|d| d == name))
        || file
            .imports
            .iter()
            .any(|b| b.local == name || matches!(b.kind, mge_atomize::ImportKind::Wildcard))
}

/// The one callable of the plan a call lands on, when it is known for sure.
fn plan_callee(
    index: &PlanIndex,
    fi: usize,
    r: &Reference,
    site: &CallSite,
    callables_of: &mut CallablesOf<'_>,
) -> Option<Callable> {
    let Resolution::Plan { providers, .. } = index.resolve(fi, r) else {
        return None;
    };
    let last = site.callee.last()?.clone();
    let via_receiver = r.kind == RefKind::SelfMember;
    let mut found: Vec<Callable> = Vec::new();
    for p in providers {
        let a = index.atom(p);
        let name_ok = site.callee.len() == 1 || a.name == last;
        let wanted = if a.kind.is_callable() && name_ok {
            a.qualified_name.clone()
        } else if a.kind == AtomKind::ClassHeader && name_ok {
            let ctor = if index.files()[p.file].language == Language::Python {
                "__init__"
            } else {
                "constructor"
            };
            format!("{}.{ctor}", a.qualified_name)
        } else {
            continue;
        };
        // A class without its own constructor (inherited or generated) is not known.
        let c = callables_of(p.file)?
            .into_iter()
            .find(|c| c.qualified_name == wanted)?;
        let unbound = c.is_method
            && !c.is_static
            && !c.is_classmethod
            && !via_receiver
            && !wanted.ends_with(".__init__")
            && !wanted.ends_with(".constructor");
        if unbound || !c.signature_preserved() {
            return None;
        }
        found.push(c);
    }
    let first = found.first()?;
    if found.iter().any(|c| c.shape() != first.shape()) {
        return None;
    }
    Some(first.clone())
}

/// Whether reference `r` is the callee chain of a call site.
fn matches_chain(r: &Reference, chain: &[String]) -> bool {
    match r.kind {
        RefKind::SelfMember => {
            chain.len() == 2
                && matches!(chain[0].as_str(), "self" | "this")
                && r.attrs.len() == 1
                && r.attrs[0] == chain[1]
        }
        RefKind::Call | RefKind::Data => {
            chain.len() == r.attrs.len() + 1
                && chain[0] == r.name
                && chain[1..].iter().zip(&r.attrs).all(|(a, b)| a == b)
        }
        _ => false,
    }
}

/// The arity problem of a call, if any: `(code, message)`.
pub(crate) fn arity_problem(
    c: &Callable,
    site: &CallSite,
    python: bool,
) -> Option<(&'static str, String)> {
    let name = &c.qualified_name;
    let (required, max) = c.positional_bounds();
    if let Some(max) = max {
        if site.positional > max {
            return Some((
                codes::TOO_MANY_ARGUMENTS,
                format!(
                    "'{name}' takes at most {max} positional argument(s) ({}) but {} were given",
                    c.shape(),
                    site.positional
                ),
            ));
        }
    }
    if !python {
        if site.positional < required {
            return Some((
                codes::MISSING_ARGUMENT,
                format!(
                    "'{name}' needs at least {required} argument(s) ({}) but {} were given",
                    c.shape(),
                    site.positional
                ),
            ));
        }
        return None;
    }
    let var_kw = c.params.iter().any(|p| p.kind == ParamKind::VarKeyword);
    for k in &site.keywords {
        let known = c.params.iter().any(|p| {
            &p.name == k && matches!(p.kind, ParamKind::Positional | ParamKind::KeywordOnly)
        });
        if !known && !var_kw {
            return Some((
                codes::UNEXPECTED_KEYWORD,
                format!("'{name}' has no parameter '{k}' ({})", c.shape()),
            ));
        }
    }
    let mut pos_index = 0;
    for p in &c.params {
        let positional = matches!(p.kind, ParamKind::Positional | ParamKind::PositionalOnly);
        let given = if positional {
            pos_index += 1;
            pos_index <= site.positional || site.keywords.contains(&p.name)
        } else {
            site.keywords.contains(&p.name)
        };
        let required = !p.optional
            && matches!(
                p.kind,
                ParamKind::Positional | ParamKind::PositionalOnly | ParamKind::KeywordOnly
            );
        if required && !given {
            return Some((
                codes::MISSING_ARGUMENT,
                format!("'{name}' is missing argument '{}' ({})", p.name, c.shape()),
            ));
        }
    }
    None
}
