//! Context injection: what a generator needs to write one atom alone — the imports it uses, the
//! signatures (never the bodies) of the symbols it references in its own file and in the other
//! files of the plan, its enclosing class header, its docstring and the task description — and
//! the context completeness: resolved references / references to non-builtin names.

use serde::{Deserialize, Serialize};

use crate::link::{AtomLocation, PlanIndex, Resolution};
use mge_core::Language;

use crate::model::{AtomKind, ImportBinding, ImportKind};

/// The signature of a symbol an atom uses, and where it lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolSignature {
    /// The symbol as the atom writes it (`Item`, `models.Item`, `Store.add`).
    pub symbol: String,
    /// Id of the atom that defines it.
    pub atom_id: String,
    /// File of that atom.
    pub path: String,
    pub kind: AtomKind,
    /// The definition's header, or the first line of a declaration.
    pub signature: String,
}

/// Everything handed to the generator for one atom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtomContext {
    pub atom_id: String,
    /// Import statements (one per binding) whose names the atom uses.
    pub imports: Vec<String>,
    /// Signatures of referenced symbols, in the atom's own file and in other files.
    pub signatures: Vec<SymbolSignature>,
    /// The enclosing class header (signature, docstring, members), for methods and fields.
    pub class_header: Option<String>,
    pub docstring: Option<String>,
    pub task_description: Option<String>,
    /// Resolved references / references (1.0 when there are none).
    pub completeness: f64,
    /// The references left unresolved, with the reason.
    pub unresolved: Vec<String>,
}

/// The import statement that makes one binding, in the file's language.
pub fn import_statement(b: &ImportBinding, language: Language) -> String {
    match language {
        Language::Python => match (b.kind, &b.imported) {
            (ImportKind::Module, _) if b.module.split('.').next() == Some(b.local.as_str()) => {
                format!("import {}", b.module)
            }
            (ImportKind::Module, _) => format!("import {} as {}", b.module, b.local),
            (ImportKind::Wildcard, _) => format!("from {} import *", b.module),
            (_, Some(name)) if *name != b.local => {
                format!("from {} import {} as {}", b.module, name, b.local)
            }
            _ => format!("from {} import {}", b.module, b.local),
        },
        Language::TypeScript | Language::JavaScript => match (b.kind, &b.imported) {
            (ImportKind::Module, _) => format!("import * as {} from '{}';", b.local, b.module),
            (ImportKind::Default, _) => format!("import {} from '{}';", b.local, b.module),
            (ImportKind::SideEffect, _) => format!("import '{}';", b.module),
            (ImportKind::ReExport, _) if b.local.is_empty() => {
                format!("export * from '{}';", b.module)
            }
            (ImportKind::ReExport, Some(name)) => {
                format!("export {{ {} as {} }} from '{}';", name, b.local, b.module)
            }
            (_, Some(name)) if *name != b.local => {
                format!("import {{ {} as {} }} from '{}';", name, b.local, b.module)
            }
            _ => format!("import {{ {} }} from '{}';", b.local, b.module),
        },
    }
}

/// Builds the context of the atom at `loc`.
pub fn build_context(
    index: &PlanIndex,
    loc: AtomLocation,
    task_description: Option<&str>,
) -> AtomContext {
    let files = index.files();
    let file = &files[loc.file];
    let atom = index.atom(loc);
    let mut imports: Vec<String> = Vec::new();
    let mut signatures: Vec<SymbolSignature> = Vec::new();
    let mut unresolved = Vec::new();
    let mut resolved = 0usize;
    for r in &atom.references {
        if let Some(b) = file
            .imports
            .iter()
            .find(|b| b.local == r.name && !b.local.is_empty())
        {
            let stmt = import_statement(b, file.language);
            if !imports.contains(&stmt) {
                imports.push(stmt);
            }
        }
        match index.resolve(loc.file, r) {
            Resolution::Plan { providers, .. } => {
                resolved += 1;
                for p in providers {
                    if p == loc {
                        continue;
                    }
                    let a = index.atom(p);
                    let Some(sig) = a.signature.clone() else {
                        continue;
                    };
                    if signatures.iter().any(|s| s.atom_id == a.id) {
                        continue;
                    }
                    signatures.push(SymbolSignature {
                        symbol: r.dotted(),
                        atom_id: a.id.clone(),
                        path: files[p.file].path.clone(),
                        kind: a.kind,
                        signature: sig,
                    });
                }
            }
            Resolution::Module { .. } | Resolution::External { .. } => resolved += 1,
            Resolution::Unresolved { reason } => {
                unresolved.push(format!("{}: {reason}", r.dotted()))
            }
        }
    }
    let class_header = enclosing_class(index, loc).map(|h| {
        let header = index.atom(h);
        let mut text = header.signature.clone().unwrap_or_default();
        if let Some(doc) = &header.docstring {
            text.push_str(&format!("\n    \"\"\"{doc}\"\"\""));
        }
        let mut members: Vec<&str> = files[h.file]
            .atoms
            .iter()
            .flat_map(|a| a.defines.iter())
            .filter(|d| {
                d.strip_prefix(&format!("{}.", header.qualified_name))
                    .is_some_and(|m| !m.contains('.'))
            })
            .map(String::as_str)
            .collect();
        members.sort_unstable();
        members.dedup();
        if !members.is_empty() {
            text.push_str(&format!("\n    # members: {}", members.join(", ")));
        }
        text
    });
    let completeness = if atom.references.is_empty() {
        1.0
    } else {
        resolved as f64 / atom.references.len() as f64
    };
    AtomContext {
        atom_id: atom.id.clone(),
        imports,
        signatures,
        class_header,
        docstring: atom.docstring.clone(),
        task_description: task_description.map(str::to_string),
        completeness,
        unresolved,
    }
}

/// The class header an atom belongs to, through its parents.
fn enclosing_class(index: &PlanIndex, loc: AtomLocation) -> Option<AtomLocation> {
    let mut cur = index.atom(loc).parent.clone();
    let mut guard = 0;
    while let Some(id) = cur {
        let l = index.locate(&id)?;
        let a = index.atom(l);
        if a.kind == AtomKind::ClassHeader {
            return Some(l);
        }
        cur = a.parent.clone();
        guard += 1;
        if guard > 64 {
            return None;
        }
    }
    None
}
