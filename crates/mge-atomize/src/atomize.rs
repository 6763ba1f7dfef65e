//! The pipeline of one file: parse, decompose, tile, resolve symbols, gather facts, score.

use std::borrow::Cow;

use mge_core::Language;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::atomicity::{AtomFacts, Atomicity};
use crate::builtins::{is_python_builtin, is_script_builtin};
use crate::decompose::{tile, Decomposer, Segment};
use crate::facts::{is_nondeterministic, is_side_effect, unclear_io};
use crate::lines::LineIndex;
use crate::link::{AtomLocation, PlanIndex};
use crate::model::{
    Atom, AtomKind, AtomizedFile, Config, Diagnostic, ImportBinding, RefKind, Reference, Severity,
};
use crate::parse::{first_syntax_error, parse, Grammar};
use crate::symbols::{Definition, Fact, SymbolTable};
use crate::{scope_js, scope_py};
use tree_sitter::Tree;

/// Trees deeper than this get a `deep_nesting` warning (the analysis itself is iterative).
pub const NESTING_WARNING_DEPTH: usize = 1000;

/// Atomizes one file. `path` is project-relative and `/`-separated (it prefixes the atom ids);
/// the grammar is TSX for `.tsx` files, otherwise the language's own. Never fails: syntax errors
/// give a single `unparsed` atom and an error diagnostic.
pub fn atomize(path: &str, source: &str, language: Language, config: &Config) -> AtomizedFile {
    atomize_with(
        path,
        source,
        language,
        Grammar::for_file(path, language),
        config,
    )
}

/// [`atomize`] with an explicit grammar.
pub fn atomize_with(
    path: &str,
    source: &str,
    language: Language,
    grammar: Grammar,
    config: &Config,
) -> AtomizedFile {
    let config = Config {
        target_loc: config.target_loc.max(1),
        max_loc: config.max_loc.max(config.target_loc.max(1)),
    };
    let Some(tree) = parse(grammar, source) else {
        let d = Diagnostic {
            severity: Severity::Error,
            code: "syntax_error".into(),
            message: "the parser could not process the file".into(),
            line: 1,
            column: 1,
        };
        return unparsed(path, source, language, config, d);
    };
    atomize_parsed(path, source, language, grammar, &tree, &config)
}

/// [`atomize_with`] over a syntax tree the caller already has (`tree` must be `source` parsed
/// with `grammar`), so a file is not parsed twice.
pub fn atomize_parsed(
    path: &str,
    source: &str,
    language: Language,
    grammar: Grammar,
    tree: &Tree,
    config: &Config,
) -> AtomizedFile {
    let config = Config {
        target_loc: config.target_loc.max(1),
        max_loc: config.max_loc.max(config.target_loc.max(1)),
    };
    if let Some(d) = first_syntax_error(tree) {
        return unparsed(path, source, language, config, d);
    }
    let root = tree.root_node();
    let mut diagnostics = Vec::new();
    let lines = LineIndex::new(source, tree, grammar, NESTING_WARNING_DEPTH);
    if lines.max_depth > NESTING_WARNING_DEPTH {
        let (line, column) = lines.deepest_at;
        diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code: "deep_nesting".into(),
            message: format!(
                "syntax tree nested {} levels deep (over {NESTING_WARNING_DEPTH}); deep statements are kept whole",
                lines.max_depth
            ),
            line,
            column,
        });
    }
    let mut dec = Decomposer::new(source, grammar, &lines, config);
    let mut segs = dec.module(root);
    diagnostics.append(&mut dec.diagnostics);
    if segs.is_empty() && !source.is_empty() {
        segs.push(whole_file_segment(source, AtomKind::Statement, "<module>"));
    }
    let bounds = tile(source, &mut segs);
    let mut table = if grammar.is_python() {
        scope_py::walk(source, root, grammar)
    } else {
        scope_js::walk(source, root, grammar)
    };
    let builtin: fn(&str) -> bool = if grammar.is_python() {
        is_python_builtin
    } else {
        is_script_builtin
    };
    let references = table.references(builtin);
    let atoms = build_atoms(
        path, source, &lines, &segs, &bounds, &table, references, config, grammar,
    );
    let imports = table
        .imports
        .iter()
        .map(|r| ImportBinding {
            atom_id: atoms[locate(&bounds, r.pos)].id.clone(),
            local: r.local.clone(),
            module: r.module.clone(),
            imported: r.imported.clone(),
            kind: r.kind,
            line: r.line,
        })
        .collect();
    diagnostics.sort_by_key(|d| (d.line, d.column));
    let mut file = AtomizedFile {
        path: path.to_string(),
        language,
        bytes: source.len(),
        atoms,
        imports,
        diagnostics,
    };
    rescore(std::slice::from_mut(&mut file), false);
    file
}

/// Recomputes every atom's context completeness (and its atomicity criterion) against the
/// given files. With `whole_plan`, the files are all the files of a plan and a relative import
/// of a module outside them is unresolved; otherwise it counts as external.
pub fn rescore(files: &mut [AtomizedFile], whole_plan: bool) {
    let scores: Vec<Vec<f64>> = {
        let index = if whole_plan {
            PlanIndex::new_without_reasons(files)
        } else {
            PlanIndex::partial_without_reasons(files)
        };
        files
            .iter()
            .enumerate()
            .map(|(fi, f)| {
                (0..f.atoms.len())
                    .map(|ai| index.completeness(AtomLocation { file: fi, atom: ai }))
                    .collect()
            })
            .collect()
    };
    for (f, s) in files.iter_mut().zip(scores) {
        for (a, c) in f.atoms.iter_mut().zip(s) {
            if a.kind == AtomKind::Unparsed {
                continue;
            }
            a.context_completeness = c;
            a.atomicity = a.atomicity.with_context_completeness(c);
        }
    }
}

fn whole_file_segment<'t>(source: &str, kind: AtomKind, qualified: &str) -> Segment<'t> {
    Segment {
        start: 0,
        end: source.len(),
        kind,
        name: qualified.trim_matches(['<', '>']).to_string(),
        qualified: qualified.to_string(),
        parent: None,
        signature: None,
        docstring: None,
        modifiers: Vec::new(),
        cut_inside: false,
        def: None,
        split: false,
        merged: 1,
    }
}

fn unparsed(
    path: &str,
    source: &str,
    language: Language,
    config: Config,
    d: Diagnostic,
) -> AtomizedFile {
    let mut atoms = Vec::new();
    if !source.is_empty() {
        let line_count = source.lines().count().max(1) as u32;
        let loc = source
            .lines()
            .filter(|l| {
                let t = l.trim();
                !t.is_empty() && !t.starts_with('#') && !t.starts_with("//")
            })
            .count() as u32;
        let facts = AtomFacts {
            loc,
            max_loc: config.max_loc,
            complexity: 1,
            has_syntax_error: true,
            // Nothing could be analysed: no context is known.
            context_completeness: 0.0,
            ..AtomFacts::default()
        };
        atoms.push(Atom {
            id: format!("{path}::<unparsed>#0"),
            kind: AtomKind::Unparsed,
            name: "unparsed".into(),
            qualified_name: "<unparsed>".into(),
            parent: None,
            start_byte: 0,
            end_byte: source.len(),
            start_line: 1,
            end_line: line_count,
            loc,
            complexity: 1,
            signature: None,
            docstring: None,
            modifiers: Vec::new(),
            defines: Vec::new(),
            references: Vec::new(),
            context_completeness: 0.0,
            atomicity: Atomicity::evaluate(&facts),
        });
    }
    AtomizedFile {
        path: path.to_string(),
        language,
        bytes: source.len(),
        atoms,
        imports: Vec::new(),
        diagnostics: vec![d],
    }
}

/// Index of the atom whose range holds byte `pos`.
fn locate(bounds: &[(usize, usize)], pos: usize) -> usize {
    match bounds.binary_search_by(|&(s, _)| s.cmp(&pos)) {
        Ok(i) => i,
        Err(i) => i.saturating_sub(1),
    }
}

#[derive(Default)]
struct Gathered {
    defines: Vec<String>,
    references: Vec<Reference>,
    decisions: u32,
    definitions: u32,
    nondeterministic: Option<String>,
    side_effect: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn build_atoms(
    path: &str,
    source: &str,
    lines: &LineIndex,
    segs: &[Segment],
    bounds: &[(usize, usize)],
    table: &SymbolTable,
    references: Vec<(usize, Reference)>,
    config: Config,
    grammar: Grammar,
) -> Vec<Atom> {
    let mut g: Vec<Gathered> = (0..segs.len()).map(|_| Gathered::default()).collect();
    if segs.is_empty() {
        return Vec::new();
    }
    for (i, s) in segs.iter().enumerate() {
        // A cut-out nested function defines its qualified name (a local of its parent).
        if s.kind == AtomKind::NestedFunction {
            g[i].defines.push(s.qualified.clone());
        }
    }
    let members = member_definers(&table.member_defs, |pos| {
        is_constructor(&segs[locate(bounds, pos)].qualified)
    });
    for d in table.module_defs.iter().chain(members) {
        let a = &mut g[locate(bounds, d.pos)];
        if !a.defines.contains(&d.name) {
            a.defines.push(d.name.clone());
        }
    }
    // First the references each atom keeps (not its own definitions, each name once), keyed by
    // borrowed text; then the kept references move into their atoms.
    let mut keep = vec![false; references.len()];
    {
        let mut seen: HashSet<(usize, &str, &[String], RefKind)> =
            HashSet::with_capacity_and_hasher(references.len(), Default::default());
        for (k, (pos, r)) in references.iter().enumerate() {
            let i = locate(bounds, *pos);
            let own = match r.kind {
                RefKind::SelfMember => r
                    .attrs
                    .first()
                    .is_some_and(|m| g[i].defines.iter().any(|d| is_member(d, &r.name, m))),
                _ => g[i].defines.contains(&r.name),
            };
            keep[k] = !own && seen.insert((i, &r.name, &r.attrs, r.kind));
        }
    }
    for ((pos, r), keep) in references.into_iter().zip(keep) {
        if keep {
            g[locate(bounds, pos)].references.push(r);
        }
    }
    for (pos, f) in &table.facts {
        let a = &mut g[locate(bounds, *pos)];
        match f {
            Fact::Decision => a.decisions += 1,
            Fact::Definition => a.definitions += 1,
            Fact::Call(c) | Fact::Attribute(c) => {
                if a.nondeterministic.is_none() && is_nondeterministic(c) {
                    a.nondeterministic = Some(c.clone());
                }
                if a.side_effect.is_none() && matches!(f, Fact::Call(_)) && is_side_effect(c) {
                    a.side_effect = Some(format!("calls {c}"));
                }
            }
            Fact::GlobalWrite(name) => {
                if a.side_effect.is_none() {
                    a.side_effect = Some(format!("writes module-level '{name}'"));
                }
            }
        }
    }
    // Ids: qualified name plus the count of earlier atoms with the same one.
    let mut ordinals: HashMap<&str, u32> = HashMap::default();
    let ids: Vec<String> = segs
        .iter()
        .map(|s| {
            let n = ordinals.entry(s.qualified.as_str()).or_insert(0);
            let id = format!("{path}::{}#{}", s.qualified, n);
            *n += 1;
            id
        })
        .collect();
    segs.iter()
        .zip(bounds)
        .zip(g)
        .enumerate()
        .map(|(i, ((s, &(start, end)), g))| {
            let loc = lines.loc(start, end);
            let (start_line, end_line) = lines.line_span(start, end);
            let complexity = 1 + g.decisions;
            let declarative = matches!(
                s.kind,
                AtomKind::Import
                    | AtomKind::Constant
                    | AtomKind::Assignment
                    | AtomKind::TypeAlias
                    | AtomKind::ClassFields
            );
            let external: HashSet<Cow<str>> = g
                .references
                .iter()
                .map(|r| match r.kind {
                    RefKind::SelfMember | RefKind::SuperCall => Cow::Owned(r.dotted()),
                    _ => Cow::Borrowed(r.name.as_str()),
                })
                .collect();
            let unclear = match (s.kind.is_callable(), s.def) {
                (true, Some(def)) => {
                    unclear_io(source, def, s.docstring.as_deref(), grammar.is_python())
                }
                _ => None,
            };
            let facts = AtomFacts {
                loc,
                max_loc: config.max_loc,
                complexity,
                definitions: g.definitions,
                callable: s.kind.is_callable(),
                declarative,
                cut_inside_statement: s.cut_inside,
                has_syntax_error: false,
                external_symbols: external.len(),
                context_completeness: 1.0,
                addressable: !matches!(
                    s.kind,
                    AtomKind::Block | AtomKind::Statement | AtomKind::MainBlock
                ),
                nondeterministic_call: g.nondeterministic,
                side_effect: g.side_effect,
                unclear_io: unclear,
            };
            let _ = i;
            Atom {
                id: ids[i].clone(),
                kind: s.kind,
                name: s.name.clone(),
                qualified_name: s.qualified.clone(),
                parent: s.parent.map(|p| ids[p].clone()),
                start_byte: start,
                end_byte: end,
                start_line,
                end_line,
                loc,
                complexity,
                signature: s.signature.clone(),
                docstring: s.docstring.clone(),
                modifiers: s.modifiers.clone(),
                defines: g.defines,
                references: g.references,
                context_completeness: 1.0,
                atomicity: Atomicity::evaluate(&facts),
            }
        })
        .collect()
}

/// The definitions of class members that count: a member declared in the class body (`#now;`,
/// `hits = 0;`, `count: int = 0`) is defined by that declaration alone; a member only assigned
/// through `self`/`this` is defined by the constructor's assignments (`__init__`,
/// `constructor`), else by every method assigning it. Other assignments are plain uses.
fn member_definers<'a>(
    defs: &'a [Definition],
    in_constructor: impl Fn(usize) -> bool + 'a,
) -> impl Iterator<Item = &'a Definition> + 'a {
    let mut declared: HashSet<&str> = HashSet::default();
    let mut constructed: HashSet<&str> = HashSet::default();
    for d in defs {
        if !d.assigned {
            declared.insert(&d.name);
        } else if in_constructor(d.pos) {
            constructed.insert(&d.name);
        }
    }
    defs.iter().filter(move |d| {
        if !d.assigned {
            true
        } else if declared.contains(d.name.as_str()) {
            false
        } else if constructed.contains(d.name.as_str()) {
            in_constructor(d.pos)
        } else {
            true
        }
    })
}

/// Whether `defined` is `class.member` (without building that string).
fn is_member(defined: &str, class: &str, member: &str) -> bool {
    defined.len() == class.len() + 1 + member.len()
        && defined.starts_with(class)
        && defined.ends_with(member)
        && defined.as_bytes()[class.len()] == b'.'
}

/// Whether a qualified name (`Class.__init__`, `Class.constructor[2]`) is a constructor.
fn is_constructor(qualified: &str) -> bool {
    let name = qualified.split('[').next().unwrap_or(qualified);
    let last = name.rsplit('.').next().unwrap_or(name);
    last == "__init__" || last == "constructor"
}
