//! Cross-file linking: resolves every reference of every atom of a plan to the atoms that
//! provide it, following imports, relative imports, package `__init__.py` re-exports, TS/JS
//! named, default and namespace imports, `export … from` re-exports and index files.
//!
//! # Links produced
//!
//! A [`Link`] runs from the provider to the dependent (the provider must be generated first):
//!
//! - **use links** — a dependent atom `D` uses a symbol defined by atom `P` (in its own file or,
//!   through imports, in another file of the plan): `P → D` with a kind by use: a call (including
//!   `self.m()`/`this.m()` to a method and `super()` calls) gives [`EdgeKind::Control`]; a type
//!   annotation, base class or generic argument gives [`EdgeKind::Type`]; any other use (a
//!   value, a `self.field` read, a method call on a module-level constant or variable such as
//!   `PATTERN.match(s)`) gives [`EdgeKind::Data`].
//! - **import links** — when `D` uses a name bound by an import atom `I` of its own file that
//!   resolves inside the plan: `I → D` ([`EdgeKind::Import`]); and for every import binding of
//!   `I` that resolves to atoms of the plan: `P → I` ([`EdgeKind::Import`]), where `P` is the
//!   atom the binding names directly — which may itself be a re-exporting import atom (an
//!   `__init__.py` import or an `export … from`), which in turn gets its own `P' → re-export`
//!   link; through such a re-export, `I` is also linked from the final definitions. Use links
//!   always point at the final definition.
//! - **containment links** — a class header to each of its methods and field groups, a split
//!   definition's head to its continuation blocks, an outer function to its cut-out nested
//!   functions: `parent → child` ([`EdgeKind::Contains`]).
//!
//! Builtins are never references. Names imported from modules outside the plan (stdlib, third
//! party) resolve as [`Resolution::External`] and make no link. A name found nowhere is
//! reported in [`Linkage::unresolved`]. Links are de-duplicated on
//! `(provider, dependent, kind, symbol)` and sorted; self-links are never produced.

use std::collections::BTreeSet;

use mge_core::EdgeKind;
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

use crate::model::{
    AtomKind, AtomizedFile, ImportBinding, ImportKind, Modifier, RefKind, Reference,
};
use crate::resolve::{is_relative, resolve_module};

/// One dependency between two atoms of a plan: `provider` must exist before `dependent`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link {
    /// Id of the atom that provides the symbol.
    pub provider: String,
    /// Id of the atom that uses it.
    pub dependent: String,
    pub kind: EdgeKind,
    /// The symbol as the dependent writes it (`Item`, `models.Item`, `Stock.add`).
    pub symbol: String,
}

impl Link {
    fn key(&self) -> (&str, &str, &'static str, &str) {
        (
            &self.provider,
            &self.dependent,
            self.kind.as_str(),
            &self.symbol,
        )
    }
}

impl PartialOrd for Link {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Sorted by provider, dependent, kind name, symbol.
impl Ord for Link {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// A reference no atom of the plan and no import provides.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnresolvedReference {
    /// Id of the atom holding the reference.
    pub atom: String,
    pub symbol: String,
    pub line: u32,
    pub column: u32,
    pub reason: String,
}

/// Every link of a plan and the references that could not be resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Linkage {
    pub links: Vec<Link>,
    pub unresolved: Vec<UnresolvedReference>,
}

/// Where a reference leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Atoms of the plan define the symbol; `via_import` is the import atom of the dependent's
    /// file the name comes through, if any.
    Plan {
        providers: Vec<AtomLocation>,
        via_import: Option<AtomLocation>,
    },
    /// The whole module `file` (a plan file) is what the name denotes (`import pkg.mod as m`,
    /// used as `m` alone).
    Module {
        file: usize,
        via_import: Option<AtomLocation>,
    },
    /// The name comes from a module outside the plan (stdlib, third party).
    External { module: String },
    /// Nothing provides it.
    Unresolved { reason: String },
}

impl Resolution {
    /// Plan, module and external resolutions count as resolved for context completeness.
    pub fn is_resolved(&self) -> bool {
        !matches!(self, Resolution::Unresolved { .. })
    }
}

/// Position of an atom inside the files given to [`PlanIndex::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AtomLocation {
    pub file: usize,
    pub atom: usize,
}

/// Lookup tables over the atomized files of a plan; resolves references across files.
pub struct PlanIndex<'a> {
    files: &'a [AtomizedFile],
    by_path: HashMap<&'a str, usize>,
    /// Per file: module-level name (or `Class.member`) → defining atoms, import atoms excluded.
    defs: Vec<HashMap<&'a str, Vec<usize>>>,
    /// Per file: local name → import binding (last one wins, as at run time).
    imports: Vec<HashMap<&'a str, &'a ImportBinding>>,
    /// Per file: wildcard imports and `export *` re-exports.
    wildcards: Vec<Vec<&'a ImportBinding>>,
    by_id: HashMap<&'a str, AtomLocation>,
    /// Per file: the plan file each imported module specifier names, resolved once.
    modules: Vec<HashMap<&'a str, Option<usize>>>,
    /// When false, unresolved references carry no reason (scoring needs only the verdict).
    reasons: bool,
    /// When false, a relative import of a module missing from the files counts as external
    /// (single-file atomization); when true it is unresolved (a whole plan).
    strict: bool,
}

/// Maximum re-export chain followed before giving up (cycles are also cut by this bound).
const MAX_CHAIN: usize = 16;
/// Deepest level at which wildcard imports (`from x import *`, `export *`) are searched.
const MAX_WILDCARD_DEPTH: usize = 3;

impl<'a> PlanIndex<'a> {
    /// Indexes the atomized files of a whole plan (paths project-relative, `/`-separated): a
    /// relative import of a module that is not among them is unresolved.
    pub fn new(files: &'a [AtomizedFile]) -> PlanIndex<'a> {
        PlanIndex {
            strict: true,
            ..PlanIndex::partial(files)
        }
    }

    /// Indexes some files of a project only: imports of modules not among them count as
    /// external.
    pub fn partial(files: &'a [AtomizedFile]) -> PlanIndex<'a> {
        let mut by_path = HashMap::default();
        let mut defs = Vec::with_capacity(files.len());
        let mut imports = Vec::with_capacity(files.len());
        let mut wildcards = Vec::with_capacity(files.len());
        let mut by_id = HashMap::default();
        for (fi, f) in files.iter().enumerate() {
            by_path.insert(f.path.as_str(), fi);
            let mut d: HashMap<&str, Vec<usize>> = HashMap::default();
            for (ai, a) in f.atoms.iter().enumerate() {
                by_id.insert(a.id.as_str(), AtomLocation { file: fi, atom: ai });
                if a.kind == AtomKind::Import {
                    continue;
                }
                for name in &a.defines {
                    d.entry(name.as_str()).or_default().push(ai);
                }
            }
            defs.push(d);
            let mut imp = HashMap::default();
            let mut wild = Vec::new();
            for b in &f.imports {
                match b.kind {
                    ImportKind::Wildcard => wild.push(b),
                    ImportKind::ReExport if b.local.is_empty() => wild.push(b),
                    ImportKind::SideEffect => {}
                    _ => {
                        imp.insert(b.local.as_str(), b);
                    }
                }
            }
            imports.push(imp);
            wildcards.push(wild);
        }
        let modules = files
            .iter()
            .map(|f| {
                let mut m: HashMap<&str, Option<usize>> = HashMap::default();
                for b in &f.imports {
                    m.entry(b.module.as_str()).or_insert_with(|| {
                        resolve_module(&by_path, &f.path, f.language, &b.module)
                    });
                }
                m
            })
            .collect();
        PlanIndex {
            files,
            by_path,
            defs,
            imports,
            wildcards,
            by_id,
            modules,
            reasons: true,
            strict: false,
        }
    }

    /// [`PlanIndex::partial`] whose unresolved references carry no reason text: for
    /// completeness scores, which count resolutions only.
    pub(crate) fn partial_without_reasons(files: &'a [AtomizedFile]) -> PlanIndex<'a> {
        PlanIndex {
            reasons: false,
            ..PlanIndex::partial(files)
        }
    }

    /// [`PlanIndex::new`] whose unresolved references carry no reason text.
    pub(crate) fn new_without_reasons(files: &'a [AtomizedFile]) -> PlanIndex<'a> {
        PlanIndex {
            reasons: false,
            ..PlanIndex::new(files)
        }
    }

    /// An unresolved resolution; the reason is written only when reasons are kept.
    fn unresolved(&self, reason: impl FnOnce() -> String) -> Resolution {
        Resolution::Unresolved {
            reason: if self.reasons {
                reason()
            } else {
                String::new()
            },
        }
    }

    pub fn files(&self) -> &'a [AtomizedFile] {
        self.files
    }

    /// Finds an atom by id.
    pub fn locate(&self, atom_id: &str) -> Option<AtomLocation> {
        self.by_id.get(atom_id).copied()
    }

    pub fn atom(&self, loc: AtomLocation) -> &'a crate::model::Atom {
        &self.files[loc.file].atoms[loc.atom]
    }

    /// Index of the plan file with this path.
    pub fn file_index(&self, path: &str) -> Option<usize> {
        self.by_path.get(path).copied()
    }

    /// Resolves one reference made by an atom of file `file`.
    pub fn resolve(&self, file: usize, r: &Reference) -> Resolution {
        match r.kind {
            RefKind::SelfMember => match r.attrs.first() {
                Some(member) => match self.resolve_member(file, &r.name, member, 0) {
                    // A nested function of `r.name` that was not cut out: the enclosing
                    // function's atom holds it.
                    Resolution::Unresolved { .. } if self.is_function(file, &r.name) => {
                        Resolution::Plan {
                            providers: self.functions_named(file, &r.name),
                            via_import: None,
                        }
                    }
                    found => found,
                },
                None => self.resolve_name(file, &r.name, &[], 0),
            },
            RefKind::SuperCall => {
                let base = self.resolve_name(file, &r.name, &[], 0);
                match (&base, r.attrs.first()) {
                    (Resolution::Plan { providers, .. }, Some(member)) => {
                        for p in providers {
                            let class = &self.atom(*p).qualified_name;
                            let found = self.resolve_member(p.file, class, member, 1);
                            if let Resolution::Plan { .. } | Resolution::External { .. } = found {
                                return found;
                            }
                        }
                        base
                    }
                    _ => base,
                }
            }
            _ => self.resolve_name(file, &r.name, &r.attrs, 0),
        }
    }

    /// Whether a function or method of `file` has the qualified name `qualified`.
    fn is_function(&self, file: usize, qualified: &str) -> bool {
        !self.functions_named(file, qualified).is_empty()
    }

    fn functions_named(&self, file: usize, qualified: &str) -> Vec<AtomLocation> {
        self.files[file]
            .atoms
            .iter()
            .enumerate()
            .filter(|(_, a)| a.kind.is_callable() && a.qualified_name == qualified)
            .map(|(atom, _)| AtomLocation { file, atom })
            .collect()
    }

    /// Resolves `name` (followed by `attrs`) as seen from module level of `file`.
    pub fn resolve_name(
        &self,
        file: usize,
        name: &str,
        attrs: &[String],
        depth: usize,
    ) -> Resolution {
        if depth > MAX_CHAIN {
            return self
                .unresolved(|| format!("re-export chain for '{name}' longer than {MAX_CHAIN}"));
        }
        if let Some(atoms) = self.defs[file].get(name) {
            let mut providers: Vec<AtomLocation> = atoms
                .iter()
                .map(|&atom| AtomLocation { file, atom })
                .collect();
            if let Some(first) = attrs.first() {
                let member = format!("{name}.{first}");
                if let Some(m) = self.defs[file].get(member.as_str()) {
                    providers.extend(m.iter().map(|&atom| AtomLocation { file, atom }));
                }
            }
            return Resolution::Plan {
                providers,
                via_import: None,
            };
        }
        if let Some(b) = self.imports[file].get(name) {
            let via = self.locate(&b.atom_id);
            return match self.resolve_binding(file, b, attrs, depth) {
                Resolution::Plan { providers, .. } => Resolution::Plan {
                    providers,
                    via_import: via,
                },
                Resolution::Module { file, .. } => Resolution::Module {
                    file,
                    via_import: via,
                },
                other => other,
            };
        }
        // Wildcard imports are followed only a few levels: chains of `import *` can branch and
        // loop, and deeper ones do not occur in practice.
        let wildcards: &[&ImportBinding] = if depth <= MAX_WILDCARD_DEPTH {
            &self.wildcards[file]
        } else {
            &[]
        };
        for b in wildcards {
            if let Some(target) = self.module_file(file, &b.module) {
                if let r @ Resolution::Plan { .. } =
                    self.resolve_export(target, name, attrs, depth + 1)
                {
                    return match r {
                        Resolution::Plan { providers, .. } => Resolution::Plan {
                            providers,
                            via_import: self.locate(&b.atom_id),
                        },
                        other => other,
                    };
                }
            } else if !self.is_plan_relative(&b.module) {
                return Resolution::External {
                    module: b.module.clone(),
                };
            }
        }
        self.unresolved(|| {
            format!(
                "'{name}' is neither defined nor imported in {}",
                self.files[file].path
            )
        })
    }

    fn is_plan_relative(&self, module: &str) -> bool {
        self.strict && is_relative(module)
    }

    fn module_file(&self, file: usize, module: &str) -> Option<usize> {
        if let Some(&found) = self.modules[file].get(module) {
            return found;
        }
        let f = &self.files[file];
        resolve_module(&self.by_path, &f.path, f.language, module)
    }

    /// Resolves what an import binding of `file` names, then `attrs` inside it.
    fn resolve_binding(
        &self,
        file: usize,
        b: &ImportBinding,
        attrs: &[String],
        depth: usize,
    ) -> Resolution {
        let Some(target) = self.module_file(file, &b.module) else {
            if self.is_plan_relative(&b.module) {
                return self.unresolved(|| {
                    format!(
                        "module '{}' imported at {}:{} is not a file of the plan",
                        b.module, self.files[file].path, b.line
                    )
                });
            }
            // `import a.b` binds `a`; `a.b.f` may name plan module `a/b.py`.
            if b.kind == ImportKind::Module && !attrs.is_empty() {
                return self.resolve_dotted_module(file, &b.local, attrs, depth, &b.module);
            }
            return Resolution::External {
                module: b.module.clone(),
            };
        };
        match b.kind {
            ImportKind::Module => {
                if b.module != b.local && b.module.starts_with(&format!("{}.", b.local)) {
                    // `import a.b` binding `a`, with `a/__init__.py` in the plan.
                    return self.resolve_dotted_module(file, &b.local, attrs, depth, &b.module);
                }
                match attrs.split_first() {
                    None => Resolution::Module {
                        file: target,
                        via_import: None,
                    },
                    Some((first, rest)) => self.resolve_export(target, first, rest, depth + 1),
                }
            }
            ImportKind::Named | ImportKind::ReExport => {
                let imported = b.imported.as_deref().unwrap_or(&b.local);
                let r = self.resolve_export(target, imported, attrs, depth + 1);
                if let Resolution::Unresolved { .. } = r {
                    // `from pkg import mod`: a submodule.
                    if self.files[file].language == mge_core::Language::Python {
                        let sub = format!(
                            "{}{}{}",
                            b.module,
                            if b.module.ends_with('.') { "" } else { "." },
                            imported
                        );
                        if let Some(subfile) = self.module_file(file, &sub) {
                            return match attrs.split_first() {
                                None => Resolution::Module {
                                    file: subfile,
                                    via_import: None,
                                },
                                Some((first, rest)) => {
                                    self.resolve_export(subfile, first, rest, depth + 1)
                                }
                            };
                        }
                    }
                }
                r
            }
            ImportKind::Default => self.resolve_default(target, depth + 1),
            ImportKind::Wildcard | ImportKind::SideEffect => Resolution::Module {
                file: target,
                via_import: None,
            },
        }
    }

    /// `import a.b` binds `a`: finds the longest `a.x.y` prefix of the chain that is a plan
    /// module and resolves the remaining attributes inside it.
    fn resolve_dotted_module(
        &self,
        file: usize,
        local: &str,
        attrs: &[String],
        depth: usize,
        module: &str,
    ) -> Resolution {
        for take in (0..=attrs.len()).rev() {
            let mut dotted = local.to_string();
            for a in &attrs[..take] {
                dotted.push('.');
                dotted.push_str(a);
            }
            if let Some(target) = self.module_file(file, &dotted) {
                return match attrs[take..].split_first() {
                    None => Resolution::Module {
                        file: target,
                        via_import: None,
                    },
                    Some((first, rest)) => self.resolve_export(target, first, rest, depth + 1),
                };
            }
        }
        Resolution::External {
            module: module.to_string(),
        }
    }

    /// The atoms that `name` denotes when imported from plan file `target`.
    fn resolve_export(
        &self,
        target: usize,
        name: &str,
        attrs: &[String],
        depth: usize,
    ) -> Resolution {
        match self.resolve_name(target, name, attrs, depth) {
            Resolution::Unresolved { .. } => {
                // `export {X as Y} from` binds nothing locally; look at re-export bindings.
                for b in self.files[target].imports.iter() {
                    if b.kind == ImportKind::ReExport && b.local == name {
                        return self.resolve_binding(target, b, attrs, depth + 1);
                    }
                }
                self.unresolved(|| {
                    format!("'{name}' is not defined in {}", self.files[target].path)
                })
            }
            Resolution::Plan { providers, .. } => Resolution::Plan {
                providers,
                via_import: None,
            },
            other => other,
        }
    }

    fn resolve_default(&self, target: usize, depth: usize) -> Resolution {
        let f = &self.files[target];
        let providers: Vec<AtomLocation> = f
            .atoms
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                a.modifiers.contains(&Modifier::Default) || a.defines.iter().any(|d| d == "default")
            })
            .map(|(atom, _)| AtomLocation { file: target, atom })
            .collect();
        if !providers.is_empty() {
            return Resolution::Plan {
                providers,
                via_import: None,
            };
        }
        self.resolve_export(target, "default", &[], depth)
    }

    /// Resolves member `member` of class `class` (a qualified name in `file`), searching base
    /// classes when the class itself does not define it.
    fn resolve_member(&self, file: usize, class: &str, member: &str, depth: usize) -> Resolution {
        if depth > MAX_CHAIN {
            return self
                .unresolved(|| format!("base-class chain of '{class}' longer than {MAX_CHAIN}"));
        }
        let key = format!("{class}.{member}");
        if let Some(atoms) = self.defs[file].get(key.as_str()) {
            return Resolution::Plan {
                providers: atoms
                    .iter()
                    .map(|&atom| AtomLocation { file, atom })
                    .collect(),
                via_import: None,
            };
        }
        let header = self.files[file]
            .atoms
            .iter()
            .find(|a| a.kind == AtomKind::ClassHeader && a.qualified_name == class);
        let Some(header) = header else {
            return self
                .unresolved(|| format!("class '{class}' not found in {}", self.files[file].path));
        };
        let bases: Vec<&Reference> = header
            .references
            .iter()
            .filter(|r| r.kind == RefKind::BaseClass)
            .collect();
        for base in &bases {
            match self.resolve_name(file, &base.name, &base.attrs, depth + 1) {
                Resolution::Plan { providers, .. } => {
                    for p in providers {
                        let a = self.atom(p);
                        if a.kind != AtomKind::ClassHeader {
                            continue;
                        }
                        let r = self.resolve_member(p.file, &a.qualified_name, member, depth + 1);
                        if r.is_resolved() {
                            return r;
                        }
                    }
                }
                r @ Resolution::External { .. } => return r,
                _ => {}
            }
        }
        self.unresolved(|| {
            format!(
                "'{class}' has no member '{member}' in {}{}",
                self.files[file].path,
                if bases.is_empty() {
                    ""
                } else {
                    " nor in its bases"
                }
            )
        })
    }

    /// Context completeness of one atom: resolved references / references (1.0 with none).
    pub fn completeness(&self, loc: AtomLocation) -> f64 {
        let a = self.atom(loc);
        if a.references.is_empty() {
            return 1.0;
        }
        let ok = a
            .references
            .iter()
            .filter(|r| self.resolve(loc.file, r).is_resolved())
            .count();
        ok as f64 / a.references.len() as f64
    }

    /// Every link of the plan and the unresolved references.
    pub fn links(&self) -> Linkage {
        let mut links = BTreeSet::new();
        let mut unresolved = Vec::new();
        for (fi, f) in self.files.iter().enumerate() {
            for (ai, a) in f.atoms.iter().enumerate() {
                if let Some(parent) = &a.parent {
                    links.insert(Link {
                        provider: parent.clone(),
                        dependent: a.id.clone(),
                        kind: EdgeKind::Contains,
                        symbol: a.qualified_name.clone(),
                    });
                }
                for r in &a.references {
                    let symbol = r.dotted();
                    match self.resolve(fi, r) {
                        Resolution::Plan {
                            providers,
                            via_import,
                        } => {
                            for p in providers {
                                if p == (AtomLocation { file: fi, atom: ai }) {
                                    continue;
                                }
                                let provider = self.atom(p);
                                let mut kind = edge_kind(r.kind, provider.kind);
                                // `self.x` read from the method that assigns it is data.
                                if r.kind == RefKind::SelfMember
                                    && r.attrs.first().is_some_and(|m| {
                                        !provider.qualified_name.ends_with(&format!(".{m}"))
                                    })
                                {
                                    kind = EdgeKind::Data;
                                }
                                // `WORD_RE.findall(…)`: a method of a module-level value
                                // uses the value; the atom provides no function.
                                if r.kind == RefKind::Call
                                    && !r.attrs.is_empty()
                                    && matches!(
                                        provider.kind,
                                        AtomKind::Constant | AtomKind::Assignment
                                    )
                                {
                                    kind = EdgeKind::Data;
                                }
                                links.insert(Link {
                                    provider: provider.id.clone(),
                                    dependent: a.id.clone(),
                                    kind,
                                    symbol: symbol.clone(),
                                });
                            }
                            if let Some(via) = via_import {
                                self.import_link(&mut links, via, &a.id, &r.name);
                            }
                        }
                        Resolution::Module { via_import, .. } => {
                            if let Some(via) = via_import {
                                self.import_link(&mut links, via, &a.id, &r.name);
                            }
                        }
                        Resolution::External { .. } => {}
                        Resolution::Unresolved { reason } => unresolved.push(UnresolvedReference {
                            atom: a.id.clone(),
                            symbol,
                            line: r.line,
                            column: r.column,
                            reason,
                        }),
                    }
                }
            }
            for b in &f.imports {
                if b.kind == ImportKind::SideEffect || b.kind == ImportKind::Wildcard {
                    continue;
                }
                let Some(target) = self.module_file(fi, &b.module) else {
                    continue;
                };
                let direct = match b.kind {
                    ImportKind::Default => self.resolve_default(target, 1),
                    ImportKind::Module => continue,
                    _ => {
                        let name = b.imported.as_deref().unwrap_or(&b.local);
                        self.direct_provider(target, name)
                    }
                };
                let Resolution::Plan { mut providers, .. } = direct else {
                    continue;
                };
                // Through a re-export (`from util import x` with `util/__init__.py` importing
                // `x`), the import needs the definition behind it too: the re-exporting
                // file may not be generated (a support file), and the definition must exist
                // before the name can be imported.
                if providers
                    .iter()
                    .any(|p| self.atom(*p).kind == AtomKind::Import)
                {
                    if let Resolution::Plan {
                        providers: last, ..
                    } = self.resolve_binding(fi, b, &[], 0)
                    {
                        providers.extend(last);
                    }
                }
                for p in providers {
                    let provider = self.atom(p);
                    if provider.id == b.atom_id {
                        continue;
                    }
                    links.insert(Link {
                        provider: provider.id.clone(),
                        dependent: b.atom_id.clone(),
                        kind: EdgeKind::Import,
                        symbol: b.imported.clone().unwrap_or_else(|| b.local.clone()),
                    });
                }
            }
        }
        Linkage {
            links: links.into_iter().collect(),
            unresolved,
        }
    }

    /// The atom of `target` that binds `name` directly: a definition, or the import atom that
    /// re-exports it.
    fn direct_provider(&self, target: usize, name: &str) -> Resolution {
        if let Some(atoms) = self.defs[target].get(name) {
            return Resolution::Plan {
                providers: atoms
                    .iter()
                    .map(|&atom| AtomLocation { file: target, atom })
                    .collect(),
                via_import: None,
            };
        }
        let f = &self.files[target];
        for b in &f.imports {
            if b.local == name && b.kind != ImportKind::SideEffect {
                if let Some(loc) = self.locate(&b.atom_id) {
                    return Resolution::Plan {
                        providers: vec![loc],
                        via_import: None,
                    };
                }
            }
        }
        self.unresolved(|| format!("'{name}' is not bound in {}", f.path))
    }

    fn import_link(
        &self,
        links: &mut BTreeSet<Link>,
        via: AtomLocation,
        dependent: &str,
        name: &str,
    ) {
        let import = self.atom(via);
        if import.id != dependent {
            links.insert(Link {
                provider: import.id.clone(),
                dependent: dependent.to_string(),
                kind: EdgeKind::Import,
                symbol: name.to_string(),
            });
        }
    }
}

/// The edge kind of a use: calls are control, types and bases are types, the rest is data.
pub fn edge_kind(use_kind: RefKind, provider: AtomKind) -> EdgeKind {
    match use_kind {
        RefKind::Call | RefKind::SuperCall => EdgeKind::Control,
        RefKind::Type | RefKind::BaseClass => EdgeKind::Type,
        RefKind::Data => EdgeKind::Data,
        RefKind::SelfMember => {
            if provider.is_callable() || provider == AtomKind::Block {
                EdgeKind::Control
            } else {
                EdgeKind::Data
            }
        }
    }
}

/// Links every atom of a plan's atomized files; see the module documentation for the rules.
pub fn link(files: &[AtomizedFile]) -> Linkage {
    PlanIndex::new(files).links()
}
