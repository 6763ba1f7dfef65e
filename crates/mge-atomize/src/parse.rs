//! Grammar selection and parsing. Parsing never fails: syntax errors become a diagnostic with
//! the line and column of the first ERROR or MISSING node.

use std::cell::RefCell;
use std::sync::OnceLock;

use mge_core::Language;
use rustc_hash::FxHashMap;
use tree_sitter::{Node, Parser, Tree};

use crate::model::{Diagnostic, Severity};

/// The tree-sitter grammar used for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grammar {
    Python,
    TypeScript,
    Tsx,
    JavaScript,
}

impl Grammar {
    /// The grammar for a file: TSX for `.tsx`, otherwise the language's own.
    pub fn for_file(path: &str, language: Language) -> Grammar {
        match language {
            Language::Python => Grammar::Python,
            Language::JavaScript => Grammar::JavaScript,
            Language::TypeScript => {
                if path.ends_with(".tsx") {
                    Grammar::Tsx
                } else {
                    Grammar::TypeScript
                }
            }
        }
    }

    pub fn ts_language(self) -> tree_sitter::Language {
        match self {
            Grammar::Python => tree_sitter_python::LANGUAGE.into(),
            Grammar::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Grammar::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Grammar::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        }
    }

    pub fn is_python(self) -> bool {
        self == Grammar::Python
    }

    fn index(self) -> usize {
        match self {
            Grammar::Python => 0,
            Grammar::TypeScript => 1,
            Grammar::Tsx => 2,
            Grammar::JavaScript => 3,
        }
    }

    /// The grammar's node kinds by id, built once per process.
    pub(crate) fn kinds(self) -> &'static KindTable {
        static TABLES: [OnceLock<KindTable>; 4] = [const { OnceLock::new() }; 4];
        TABLES[self.index()].get_or_init(|| KindTable::new(&self.ts_language()))
    }
}

/// Names and flags of a grammar's node kinds, indexed by kind id: [`KindTable::name`] is
/// `Node::kind` without the per-call C-string length and UTF-8 check.
pub(crate) struct KindTable {
    names: Box<[&'static str]>,
    /// The kind's name contains `comment`.
    comment: Box<[bool]>,
    /// Field names by id (id 0 is no field).
    fields: Box<[&'static str]>,
    /// Field ids by name (the first id of a name, as `ts_language_field_id_for_name` finds it).
    field_ids: FxHashMap<&'static str, u16>,
}

impl KindTable {
    fn new(language: &tree_sitter::Language) -> KindTable {
        let names: Box<[&'static str]> = (0..language.node_kind_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| language.node_kind_for_id(id))
                    .unwrap_or("")
            })
            .collect();
        let comment = names.iter().map(|n| n.contains("comment")).collect();
        let fields: Box<[&'static str]> = (0..=language.field_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| language.field_name_for_id(id))
                    .unwrap_or("")
            })
            .collect();
        let mut field_ids = FxHashMap::default();
        for (id, name) in fields.iter().enumerate() {
            if let (false, Ok(id)) = (name.is_empty(), u16::try_from(id)) {
                field_ids.entry(*name).or_insert(id);
            }
        }
        KindTable {
            names,
            comment,
            fields,
            field_ids,
        }
    }

    /// The id of a field name (`child_by_field_name` scans the C strings on every call).
    fn field_id(&self, name: &str) -> Option<u16> {
        self.field_ids.get(name).copied()
    }

    /// `node.child_by_field_name(name)` for a node of this table's grammar, by field id.
    pub(crate) fn child<'t>(&self, node: Node<'t>, name: &str) -> Option<Node<'t>> {
        match self.field_id(name) {
            Some(id) => node.child_by_field_id(id),
            None => node.child_by_field_name(name),
        }
    }

    /// The node's kind, as `Node::kind` gives it.
    pub(crate) fn name(&self, node: Node) -> &'static str {
        match self.names.get(usize::from(node.kind_id())) {
            Some(name) if !name.is_empty() => name,
            _ => node.kind(),
        }
    }

    /// Whether the node's kind contains `comment`.
    pub(crate) fn is_comment(&self, node: Node) -> bool {
        match self.comment.get(usize::from(node.kind_id())) {
            Some(&c) => c,
            None => node.kind().contains("comment"),
        }
    }
}

/// The kind table of a node's grammar, recognised by its kind and field counts (unique among
/// the four grammars); `None` if two grammars were alike in counts (no guessing).
fn table_of(node: Node) -> Option<&'static KindTable> {
    let language = node.language();
    let key = (language.node_kind_count(), language.field_count());
    let mut found = None;
    for g in [
        Grammar::Python,
        Grammar::TypeScript,
        Grammar::Tsx,
        Grammar::JavaScript,
    ] {
        let t = g.kinds();
        if (t.names.len(), t.fields.len() - 1) == key {
            if found.is_some() {
                return None;
            }
            found = Some(t);
        }
    }
    found
}

/// `node.child_by_field_name(name)`, with the field id taken from the node's grammar table.
pub(crate) fn child_by_field<'t>(node: Node<'t>, name: &str) -> Option<Node<'t>> {
    match table_of(node) {
        Some(t) => t.child(node, name),
        None => node.child_by_field_name(name),
    }
}

/// `node.kind()`, from the node's grammar table (no C-string conversion).
pub(crate) fn kind_of(node: Node) -> &'static str {
    match table_of(node) {
        Some(t) => t.name(node),
        None => node.kind(),
    }
}

/// Up to this many children, looking them up by index (a short scan of the children per
/// lookup) is cheaper than stepping a tree cursor through them.
const INDEXED_CHILDREN_MAX: usize = 8;

/// Appends the named children of `node` to `out`, in source order (`Node::named_children`).
pub(crate) fn named_children_into<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    let count = node.named_child_count();
    if count <= INDEXED_CHILDREN_MAX {
        out.extend((0..count).filter_map(|i| node.named_child(i)));
    } else {
        let mut cursor = node.walk();
        out.extend(node.named_children(&mut cursor));
    }
}

/// Appends all children of `node` (named or not) to `out`, in source order (`Node::children`).
pub(crate) fn children_into<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    let count = node.child_count();
    if count <= INDEXED_CHILDREN_MAX {
        out.extend((0..count).filter_map(|i| node.child(i)));
    } else {
        let mut cursor = node.walk();
        out.extend(node.children(&mut cursor));
    }
}

thread_local! {
    /// One parser per grammar and thread, reused from file to file (rayon workers keep theirs).
    static PARSERS: RefCell<[Option<Parser>; 4]> = const { RefCell::new([None, None, None, None]) };
}

/// Parses `source`; `None` only if tree-sitter refuses the grammar (an ABI mismatch).
pub fn parse(grammar: Grammar, source: &str) -> Option<Tree> {
    PARSERS.with(|parsers| {
        let Ok(mut parsers) = parsers.try_borrow_mut() else {
            // Re-entered on this thread (never in this crate): a parser of its own.
            return new_parser(grammar)?.parse(source, None);
        };
        let slot = &mut parsers[grammar.index()];
        if slot.is_none() {
            *slot = Some(new_parser(grammar)?);
        }
        let parser = slot.as_mut()?;
        let tree = parser.parse(source, None);
        if tree.is_none() {
            // A parse that stopped early leaves state behind; start the next one clean.
            parser.reset();
        }
        tree
    })
}

fn new_parser(grammar: Grammar) -> Option<Parser> {
    let mut parser = Parser::new();
    parser.set_language(&grammar.ts_language()).ok()?;
    Some(parser)
}

/// 1-based line and byte column of a node's start.
pub fn position(node: Node) -> (u32, u32) {
    let p = node.start_position();
    (p.row as u32 + 1, p.column as u32 + 1)
}

/// The first ERROR or MISSING node in document order, as a diagnostic.
pub fn first_syntax_error(tree: &Tree) -> Option<Diagnostic> {
    let root = tree.root_node();
    if !root.has_error() {
        return None;
    }
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            let (line, column) = position(node);
            let (code, message) = if node.is_missing() {
                (
                    "missing_node",
                    format!("syntax error: missing '{}'", node.kind()),
                )
            } else {
                let text_hint = node.child(0).map(|c| c.kind()).unwrap_or("input");
                (
                    "syntax_error",
                    format!("syntax error: unexpected {text_hint}"),
                )
            };
            return Some(Diagnostic {
                severity: Severity::Error,
                code: code.to_string(),
                message,
                line,
                column,
            });
        }
        // Descend only into subtrees that hold an error.
        if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                // has_error() on the root promised an error; report the root if none found.
                let (line, column) = position(root);
                return Some(Diagnostic {
                    severity: Severity::Error,
                    code: "syntax_error".to_string(),
                    message: "syntax error".to_string(),
                    line,
                    column,
                });
            }
        }
    }
}

/// Depth of the deepest node, computed without recursion; stops counting at `limit + 1`.
pub fn max_depth(tree: &Tree, limit: usize) -> (usize, Option<Node<'_>>) {
    let mut cursor = tree.root_node().walk();
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut deepest = None;
    loop {
        if depth > max {
            max = depth;
            if max > limit {
                return (max, Some(cursor.node()));
            }
            deepest = Some(cursor.node());
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return (max, deepest);
            }
            depth -= 1;
        }
    }
}
