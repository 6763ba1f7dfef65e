//! Where a fault can go: tree-sitter walks a unit's code and lists, per line, the tokens a fault
//! can change. Every site lies on one line, so faults on different lines never overlap.

use std::collections::HashSet;
use std::ops::Range;

use mge_core::Language;
use tree_sitter::{Node, Parser, Tree};

use super::faults::FaultKind;

/// How a site's replacement text is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Replacement {
    /// A fixed text, known from the site alone.
    Fixed(String),
    /// A misspelling of the site's name, drawn at injection time.
    Misspell,
    /// The integer plus or minus one, drawn at injection time.
    Integer(u64),
}

/// One place a fault can go, in bytes of the original code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    pub kind: FaultKind,
    pub range: Range<usize>,
    pub replacement: Replacement,
}

/// A parser for one language, reused across the parses of one injection.
pub(crate) struct CodeParser {
    parser: Parser,
    language: Language,
}

/// Parsed code; for Python the common indentation is removed first (fragments of a class body
/// would not parse otherwise), and positions are mapped back to the original bytes.
pub(crate) struct Parsed {
    pub tree: Tree,
    pub text: String,
    /// Per line of `text`: its start in `text`, its start in the original, bytes stripped.
    lines: Vec<(usize, usize, usize)>,
}

impl CodeParser {
    pub fn new(language: Language) -> CodeParser {
        let grammar: tree_sitter::Language = match language {
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        };
        let mut parser = Parser::new();
        parser
            .set_language(&grammar)
            .expect("bundled tree-sitter grammar matches the tree-sitter ABI");
        CodeParser { parser, language }
    }

    pub fn parse(&mut self, code: &str) -> Parsed {
        let strip = if self.language == Language::Python {
            common_indent(code)
        } else {
            0
        };
        let mut text = String::with_capacity(code.len());
        let mut lines = Vec::new();
        let mut orig = 0;
        for line in code.split_inclusive('\n') {
            let ws = line
                .bytes()
                .take_while(|b| *b == b' ' || *b == b'\t')
                .count();
            let cut = strip.min(ws);
            lines.push((text.len(), orig, cut));
            text.push_str(&line[cut..]);
            orig += line.len();
        }
        let tree = self
            .parser
            .parse(&text, None)
            .expect("tree-sitter parse without timeout or cancellation");
        Parsed { tree, text, lines }
    }

    /// ERROR and MISSING nodes in the parse of `code`.
    pub fn error_count(&mut self, code: &str) -> usize {
        let parsed = self.parse(code);
        count_errors(&parsed)
    }

    /// True when `code` parses with more than `base` ERROR and MISSING nodes.
    pub fn has_more_errors_than(&mut self, code: &str, base: usize) -> bool {
        let parsed = self.parse(code);
        parsed.tree.root_node().has_error() && (base == 0 || count_errors(&parsed) > base)
    }
}

fn count_errors(parsed: &Parsed) -> usize {
    if !parsed.tree.root_node().has_error() {
        return 0;
    }
    let mut count = 0;
    walk(parsed.tree.root_node(), &mut |node| {
        if node.is_error() || node.is_missing() {
            count += 1;
        }
    });
    count
}

impl Parsed {
    /// The original byte offset of a byte offset in the parsed text.
    fn to_original(&self, at: usize) -> usize {
        let row = self.lines.partition_point(|l| l.0 <= at).saturating_sub(1);
        match self.lines.get(row) {
            Some(&(start, orig, cut)) => orig + cut + (at - start),
            None => at,
        }
    }

    fn range(&self, node: Node<'_>) -> Range<usize> {
        self.to_original(node.start_byte())..self.to_original(node.end_byte())
    }

    fn text_of(&self, node: Node<'_>) -> &str {
        &self.text[node.byte_range()]
    }

    /// Every identifier-like text of the unit (names a misspelling must not collide with).
    pub fn names(&self) -> HashSet<String> {
        let mut names = HashSet::new();
        walk(self.tree.root_node(), &mut |node| {
            if node.kind().contains("identifier") {
                names.insert(self.text_of(node).to_string());
            }
        });
        names
    }
}

fn common_indent(code: &str) -> usize {
    code.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.bytes().take_while(|b| *b == b' ' || *b == b'\t').count())
        .min()
        .unwrap_or(0)
}

fn walk<'t>(node: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
    f(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk(child, f);
    }
}

const BLOCK_HEADERS: &[&str] = &[
    "function_definition",
    "class_definition",
    "if_statement",
    "elif_clause",
    "else_clause",
    "for_statement",
    "while_statement",
    "with_statement",
    "try_statement",
    "except_clause",
    "finally_clause",
    "match_statement",
    "case_clause",
];

const BINDING_PARENTS: &[&str] = &[
    "parameters",
    "lambda_parameters",
    "typed_parameter",
    "list_splat_pattern",
    "dictionary_splat_pattern",
    "pattern_list",
    "tuple_pattern",
    "list_pattern",
    "as_pattern_target",
    "global_statement",
    "nonlocal_statement",
    "formal_parameters",
    "rest_pattern",
    "array_pattern",
    "object_pattern",
];

const BINDING_FIELDS: &[&str] = &[
    "name",
    "alias",
    "attribute",
    "parameter",
    "pattern",
    "label",
];

const LEFT_BINDERS: &[&str] = &[
    "assignment",
    "for_statement",
    "for_in_clause",
    "assignment_expression",
    "for_in_statement",
    "assignment_pattern",
];

/// Where a node sits: the field of its parent it fills, and whether it is inside an import.
#[derive(Clone, Copy)]
struct Position<'a> {
    field: Option<&'a str>,
    parent_kind: &'a str,
    in_import: bool,
}

/// True for an identifier that reads a name (not one that defines, binds or imports it).
fn is_reference(at: Position<'_>) -> bool {
    let pk = at.parent_kind;
    let field = at.field.unwrap_or("");
    !(at.in_import
        || BINDING_PARENTS.contains(&pk)
        || BINDING_FIELDS.contains(&field)
        || (field == "left" && LEFT_BINDERS.contains(&pk))
        || (field == "value" && pk == "pair_pattern"))
}

/// Visit every node with its position, depth first.
fn visit_all<'t>(node: Node<'t>, at: Position<'_>, f: &mut impl FnMut(Node<'t>, Position<'_>)) {
    f(node, at);
    let in_import =
        at.in_import || matches!(node.kind(), "import_statement" | "import_from_statement");
    let mut cursor = node.walk();
    if cursor.goto_first_child() {
        loop {
            let child_at = Position {
                field: cursor.field_name(),
                parent_kind: node.kind(),
                in_import,
            };
            visit_all(cursor.node(), child_at, f);
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
}

fn comparison_flip(op: &str) -> Option<&'static str> {
    Some(match op {
        "<" => ">=",
        ">=" => "<",
        ">" => "<=",
        "<=" => ">",
        "==" => "!=",
        "!=" => "==",
        "===" => "!==",
        "!==" => "===",
        _ => return None,
    })
}

fn arithmetic_flip(op: &str) -> Option<&'static str> {
    Some(match op {
        "+" => "-",
        "-" => "+",
        "*" => "/",
        "/" => "*",
        "//" => "/",
        "%" => "/",
        _ => return None,
    })
}

/// All fault sites of a parsed unit.
pub(crate) fn find_sites(parsed: &Parsed, language: Language) -> Vec<Site> {
    let mut sites = Vec::new();
    let root = Position {
        field: None,
        parent_kind: "",
        in_import: false,
    };
    visit_all(parsed.tree.root_node(), root, &mut |node, at| {
        visit(parsed, language, node, at, &mut sites);
    });
    sites.retain(|s| s.range.start < s.range.end);
    sites
}

fn visit(
    parsed: &Parsed,
    language: Language,
    node: Node<'_>,
    at: Position<'_>,
    sites: &mut Vec<Site>,
) {
    let fixed = |kind, node: Node<'_>, text: &str| Site {
        kind,
        range: parsed.range(node),
        replacement: Replacement::Fixed(text.to_string()),
    };
    let kind = node.kind();
    if !node.is_named() {
        let in_header = BLOCK_HEADERS.contains(&at.parent_kind);
        let droppable = matches!(kind, ")" | "]" | "}") || (kind == ":" && in_header);
        if droppable && !node.is_missing() {
            sites.push(fixed(FaultKind::SyntaxError, node, ""));
        }
        return;
    }
    match kind {
        "identifier" if is_reference(at) => sites.push(Site {
            kind: FaultKind::MisspelledIdentifier,
            range: parsed.range(node),
            replacement: Replacement::Misspell,
        }),
        "comparison_operator" | "binary_expression" | "binary_operator" => {
            let mut cursor = node.walk();
            for op in node.children(&mut cursor).filter(|c| !c.is_named()) {
                if let Some(to) = comparison_flip(op.kind()) {
                    sites.push(fixed(FaultKind::FlippedComparison, op, to));
                } else if let Some(to) = arithmetic_flip(op.kind()) {
                    if kind != "comparison_operator" {
                        sites.push(fixed(FaultKind::FlippedOperator, op, to));
                    }
                }
            }
        }
        "integer" | "number" => {
            let text = parsed.text_of(node);
            if text.bytes().all(|b| b.is_ascii_digit())
                && !(text.len() > 1 && text.starts_with('0'))
            {
                if let Ok(value) = text.parse::<u64>() {
                    sites.push(Site {
                        kind: FaultKind::OffByOne,
                        range: parsed.range(node),
                        replacement: Replacement::Integer(value),
                    });
                }
            }
        }
        "call" | "call_expression" => call_sites(parsed, language, node, sites),
        "import_from_statement" | "import_statement" => {
            let mut cursor = node.walk();
            let names: Vec<Node<'_>> = node.children_by_field_name("name", &mut cursor).collect();
            for name in names {
                let dotted = if name.kind() == "aliased_import" {
                    name.child_by_field_name("name")
                } else {
                    Some(name)
                };
                if let Some(last) =
                    dotted.and_then(|d| d.named_child(d.named_child_count().checked_sub(1)?))
                {
                    if last.kind() == "identifier" {
                        sites.push(Site {
                            kind: FaultKind::WrongImportName,
                            range: parsed.range(last),
                            replacement: Replacement::Misspell,
                        });
                    }
                }
            }
        }
        "import_specifier" => {
            if let Some(name) = node
                .child_by_field_name("name")
                .filter(|n| n.kind() == "identifier")
            {
                sites.push(Site {
                    kind: FaultKind::WrongImportName,
                    range: parsed.range(name),
                    replacement: Replacement::Misspell,
                });
            }
        }
        _ => {}
    }
}

fn call_sites(parsed: &Parsed, language: Language, call: Node<'_>, sites: &mut Vec<Site>) {
    let Some(args) = call.child_by_field_name("arguments") else {
        return;
    };
    if !matches!(args.kind(), "argument_list" | "arguments") || args.has_error() {
        return;
    }
    let mut cursor = args.walk();
    let items: Vec<Node<'_>> = args
        .named_children(&mut cursor)
        .filter(|n| n.kind() != "comment")
        .collect();
    let positional = |n: &Node<'_>| {
        !matches!(
            n.kind(),
            "keyword_argument" | "list_splat" | "dictionary_splat" | "spread_element"
        )
    };
    let one_line = |n: Node<'_>| n.start_position().row == n.end_position().row;

    // Wrong arity: only calls whose arguments are all positional and on one line.
    if one_line(args) && items.iter().all(positional) {
        let text = parsed.text_of(args);
        let replacement = match items.len() {
            0 => match language {
                Language::Python => "(None)".to_string(),
                Language::TypeScript | Language::JavaScript => "(undefined)".to_string(),
            },
            1 => "()".to_string(),
            n => {
                let keep_end = items[n - 2].end_byte() - args.start_byte();
                format!("{})", &text[..keep_end])
            }
        };
        sites.push(Site {
            kind: FaultKind::WrongArity,
            range: parsed.range(args),
            replacement: Replacement::Fixed(replacement),
        });
    }

    // Swapped arguments: two adjacent positional arguments with different texts, on one line.
    for pair in items.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if positional(&a)
            && positional(&b)
            && a.start_position().row == b.end_position().row
            && parsed.text_of(a) != parsed.text_of(b)
        {
            let between = &parsed.text[a.end_byte()..b.start_byte()];
            sites.push(Site {
                kind: FaultKind::SwappedArguments,
                range: parsed.to_original(a.start_byte())..parsed.to_original(b.end_byte()),
                replacement: Replacement::Fixed(format!(
                    "{}{between}{}",
                    parsed.text_of(b),
                    parsed.text_of(a)
                )),
            });
        }
    }
}
