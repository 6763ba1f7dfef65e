//! Name resolution checks shared by the atomic and module levels: every reference and every
//! import binding of some atoms must resolve in the plan.

use std::collections::BTreeSet;

use mge_atomize::{AtomizedFile, ImportKind, PlanIndex, Resolution};
use tree_sitter::{Point, Tree};

use crate::report::{codes, Violation};

/// Unresolved references and import bindings of the atoms `atoms` (indices into the file's
/// atoms) of file `file` of `index`. Names listed in `allowed` (plain or dotted) and the
/// dotted names in `tolerated` (unresolved already in the reference) are skipped. Returns the
/// violations and the number of checks made. Violations carry `atom_id` when given, else the
/// id of the atom holding the reference.
pub(crate) fn unresolved(
    index: &PlanIndex,
    file: usize,
    atoms: &[usize],
    allowed: &BTreeSet<String>,
    tolerated: &BTreeSet<String>,
    atom_id: Option<&str>,
    tree: Option<&Tree>,
) -> (Vec<Violation>, usize) {
    let f: &AtomizedFile = &index.files()[file];
    let mut out = Vec::new();
    let mut checks = 0;
    for &ai in atoms {
        let a = &f.atoms[ai];
        let id = atom_id.unwrap_or(&a.id).to_string();
        for r in &a.references {
            let dotted = r.dotted();
            if allowed.contains(&r.name) || allowed.contains(&dotted) || tolerated.contains(&dotted)
            {
                continue;
            }
            checks += 1;
            if let Resolution::Unresolved { reason } = index.resolve(file, r) {
                if tree.is_some_and(|t| is_parameter_name(t, r.line, r.column)) {
                    continue;
                }
                let shown = match r.kind {
                    mge_atomize::RefKind::SelfMember | mge_atomize::RefKind::SuperCall => {
                        r.attrs.first().cloned().unwrap_or_else(|| r.name.clone())
                    }
                    _ => dotted.clone(),
                };
                out.push(
                    Violation::new(
                        &f.path,
                        r.line,
                        r.column,
                        codes::UNRESOLVED_NAME,
                        format!("name '{shown}' does not resolve: {reason}"),
                    )
                    .with_atom(Some(id.clone())),
                );
            }
        }
        for b in f.imports.iter().filter(|b| b.atom_id == a.id) {
            if matches!(b.kind, ImportKind::SideEffect | ImportKind::Wildcard) || b.local.is_empty()
            {
                continue;
            }
            if tolerated.contains(&format!("import:{}", b.local)) {
                continue;
            }
            checks += 1;
            if let Resolution::Unresolved { reason } = index.resolve_name(file, &b.local, &[], 0) {
                let what = b.imported.as_deref().unwrap_or(&b.local);
                out.push(
                    Violation::new(
                        &f.path,
                        b.line,
                        1,
                        codes::UNRESOLVED_IMPORT,
                        format!(
                            "import of '{what}' from '{}' does not resolve: {reason}",
                            b.module
                        ),
                    )
                    .with_atom(Some(id.clone())),
                );
            }
        }
    }
    (out, checks)
}

/// The dotted names (and `import:<local>` for bindings) that do not resolve in `file` of
/// `index`, over the atoms `atoms`: what the reference itself leaves unresolved.
pub(crate) fn unresolved_set(index: &PlanIndex, file: usize, atoms: &[usize]) -> BTreeSet<String> {
    let (violations, _) = unresolved(
        index,
        file,
        atoms,
        &BTreeSet::new(),
        &BTreeSet::new(),
        None,
        None,
    );
    let f = &index.files()[file];
    let mut out = BTreeSet::new();
    for &ai in atoms {
        let a = &f.atoms[ai];
        for r in &a.references {
            if !index.resolve(file, r).is_resolved() {
                out.insert(r.dotted());
            }
        }
    }
    for v in violations {
        if v.code == codes::UNRESOLVED_IMPORT {
            for b in f.imports.iter().filter(|b| b.line == v.line) {
                out.insert(format!("import:{}", b.local));
            }
        }
    }
    out
}

/// Whether the identifier at 1-based `line`:`column` names a parameter (the parameters of a TS
/// function type such as `(row: number) => number` bind names, they do not use them).
fn is_parameter_name(tree: &Tree, line: u32, column: u32) -> bool {
    let p = Point::new(
        line.saturating_sub(1) as usize,
        column.saturating_sub(1) as usize,
    );
    let Some(node) = tree.root_node().named_descendant_for_point_range(p, p) else {
        return false;
    };
    let Some(parent) = node.parent() else {
        return false;
    };
    matches!(parent.kind(), "required_parameter" | "optional_parameter")
        && parent.child_by_field_name("pattern") == Some(node)
}
