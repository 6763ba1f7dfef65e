//! What a syntax node is, for decomposition: module-level statements and class members of
//! Python and TS/JS, their names, signatures, docstrings and modifiers.

use tree_sitter::Node;

use crate::parse::{child_by_field, kind_of, named_children_into};

use crate::model::{AtomKind, Modifier};

/// How a module-level statement (or class member) is decomposed.
#[derive(Debug, Clone)]
pub(crate) enum Item<'t> {
    /// One atom of this kind (split when over the ceiling, for compound statements).
    Simple {
        kind: AtomKind,
        name: String,
        modifiers: Vec<Modifier>,
    },
    /// A function: `def` is the function node itself (inside decorators or `export`).
    Function {
        def: Node<'t>,
        name: String,
        modifiers: Vec<Modifier>,
    },
    /// A class: header, then members.
    Class {
        def: Node<'t>,
        name: String,
        modifiers: Vec<Modifier>,
    },
}

pub(crate) fn text<'s>(src: &'s str, n: Node) -> &'s str {
    &src[n.byte_range()]
}

fn field_text(src: &str, n: Node, field: &str) -> Option<String> {
    child_by_field(n, field).map(|c| text(src, c).to_string())
}

fn has_token(n: Node, token: &str) -> bool {
    let mut c = n.walk();
    let found = n
        .children(&mut c)
        .any(|ch| !ch.is_named() && kind_of(ch) == token);
    found
}

fn all_upper(names: &[String]) -> bool {
    !names.is_empty()
        && names.iter().all(|n| {
            n.chars().any(|c| c.is_ascii_uppercase())
                && n.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
}

/// Names bound by a Python assignment target or TS/JS declaration pattern (identifiers only).
pub(crate) fn pattern_names(src: &str, n: Node, out: &mut Vec<String>) {
    let mut stack = vec![n];
    while let Some(n) = stack.pop() {
        match kind_of(n) {
            "identifier" | "shorthand_property_identifier_pattern" => {
                out.push(text(src, n).to_string())
            }
            "attribute" | "subscript" | "member_expression" | "subscript_expression" => {}
            "pair_pattern" => {
                if let Some(v) = child_by_field(n, "value") {
                    stack.push(v);
                }
            }
            _ => {
                let mut children = Vec::new();
                named_children_into(n, &mut children);
                stack.extend(children.into_iter().rev());
            }
        }
    }
}

fn is_python_docstring(n: Node) -> bool {
    kind_of(n) == "expression_statement"
        && n.named_child_count() == 1
        && n.named_child(0).is_some_and(|c| kind_of(c) == "string")
}

/// Whether a Python `if` statement is `if __name__ == "__main__":`.
fn is_main_guard(src: &str, n: Node) -> bool {
    let Some(cond) = child_by_field(n, "condition") else {
        return false;
    };
    let t: String = text(src, cond)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    matches!(
        t.as_str(),
        "__name__==\"__main__\""
            | "__name__=='__main__'"
            | "\"__main__\"==__name__"
            | "'__main__'==__name__"
    )
}

/// Classifies a Python module-level statement; `first` is true for the module's first statement.
pub(crate) fn python_item<'t>(src: &str, n: Node<'t>, first: bool) -> Item<'t> {
    let simple = |kind, name: String| Item::Simple {
        kind,
        name,
        modifiers: Vec::new(),
    };
    match kind_of(n) {
        "import_statement" | "import_from_statement" | "future_import_statement" => {
            simple(AtomKind::Import, "import".into())
        }
        "function_definition" => python_function(src, n, Vec::new()),
        "class_definition" => Item::Class {
            def: n,
            name: field_text(src, n, "name").unwrap_or_default(),
            modifiers: Vec::new(),
        },
        "decorated_definition" => {
            let Some(def) = child_by_field(n, "definition") else {
                return simple(AtomKind::Statement, "statement".into());
            };
            let mut mods = python_decorator_modifiers(src, n);
            mods.insert(0, Modifier::Decorated);
            if kind_of(def) == "class_definition" {
                Item::Class {
                    def,
                    name: field_text(src, def, "name").unwrap_or_default(),
                    modifiers: mods,
                }
            } else {
                python_function(src, def, mods)
            }
        }
        "type_alias_statement" => {
            let name = n
                .child_by_field_name("left")
                .map(|l| {
                    text(src, l)
                        .split('[')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_string()
                })
                .unwrap_or_default();
            simple(AtomKind::TypeAlias, name)
        }
        "expression_statement" if first && is_python_docstring(n) => {
            simple(AtomKind::ModuleDocstring, "docstring".into())
        }
        "expression_statement" => {
            let Some(inner) = n.named_child(0) else {
                return simple(AtomKind::Statement, "statement".into());
            };
            if matches!(kind_of(inner), "assignment" | "augmented_assignment") {
                let mut names = Vec::new();
                if let Some(left) = child_by_field(inner, "left") {
                    pattern_names(src, left, &mut names);
                }
                let is_alias = inner
                    .child_by_field_name("type")
                    .is_some_and(|t| text(src, t).ends_with("TypeAlias"));
                let kind = if is_alias {
                    AtomKind::TypeAlias
                } else if all_upper(&names) {
                    AtomKind::Constant
                } else {
                    AtomKind::Assignment
                };
                let name = names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "assignment".into());
                simple(kind, name)
            } else {
                simple(AtomKind::Statement, "statement".into())
            }
        }
        "if_statement" if is_main_guard(src, n) => simple(AtomKind::MainBlock, "__main__".into()),
        _ => simple(AtomKind::Statement, "statement".into()),
    }
}

fn python_function<'t>(src: &str, def: Node<'t>, mut modifiers: Vec<Modifier>) -> Item<'t> {
    if has_token(def, "async") {
        modifiers.push(Modifier::Async);
    }
    Item::Function {
        def,
        name: field_text(src, def, "name").unwrap_or_default(),
        modifiers,
    }
}

fn python_decorator_modifiers(src: &str, decorated: Node) -> Vec<Modifier> {
    let mut mods = Vec::new();
    let mut c = decorated.walk();
    for d in decorated.named_children(&mut c) {
        if kind_of(d) != "decorator" {
            continue;
        }
        let t = text(src, d);
        if t.ends_with("overload") {
            mods.push(Modifier::Overload);
        } else if t.ends_with("staticmethod") {
            mods.push(Modifier::Static);
        } else if t.ends_with("abstractmethod") {
            mods.push(Modifier::Abstract);
        }
    }
    mods
}

/// Classifies a Python class-body statement: methods and nested classes are definitions,
/// everything else is a field (or the docstring).
pub(crate) fn python_member<'t>(src: &str, n: Node<'t>) -> Option<Item<'t>> {
    match kind_of(n) {
        "function_definition" | "decorated_definition" | "class_definition" => {
            Some(python_item(src, n, false))
        }
        _ => None,
    }
}

/// Classifies a TS/JS module-level statement.
pub(crate) fn script_item<'t>(src: &str, n: Node<'t>) -> Item<'t> {
    script_item_with(src, n, Vec::new())
}

fn script_item_with<'t>(src: &str, n: Node<'t>, mut modifiers: Vec<Modifier>) -> Item<'t> {
    let simple = |kind, name: String, modifiers| Item::Simple {
        kind,
        name,
        modifiers,
    };
    match kind_of(n) {
        "import_statement" => simple(AtomKind::Import, "import".into(), modifiers),
        "export_statement" => {
            modifiers.push(Modifier::Exported);
            let is_default = has_token(n, "default");
            if is_default {
                modifiers.push(Modifier::Default);
            }
            if child_by_field(n, "source").is_some() {
                return simple(AtomKind::Import, "export from".into(), modifiers);
            }
            if let Some(decl) = child_by_field(n, "declaration") {
                return script_item_with(src, decl, modifiers);
            }
            if let Some(value) = child_by_field(n, "value") {
                return match kind_of(value) {
                    "arrow_function"
                    | "function_expression"
                    | "function"
                    | "generator_function" => {
                        script_function(src, value, "default".into(), modifiers)
                    }
                    "class" => Item::Class {
                        def: value,
                        name: field_text(src, value, "name").unwrap_or_else(|| "default".into()),
                        modifiers,
                    },
                    _ => simple(AtomKind::Export, "default".into(), modifiers),
                };
            }
            simple(AtomKind::Export, "export".into(), modifiers)
        }
        "function_declaration" | "generator_function_declaration" => {
            let name = field_text(src, n, "name").unwrap_or_default();
            script_function(src, n, name, modifiers)
        }
        "function_signature" => {
            modifiers.push(Modifier::Overload);
            simple(
                AtomKind::Function,
                field_text(src, n, "name").unwrap_or_default(),
                modifiers,
            )
        }
        "class_declaration" | "abstract_class_declaration" | "class" => {
            if kind_of(n) == "abstract_class_declaration" {
                modifiers.push(Modifier::Abstract);
            }
            let mut c = n.walk();
            if n.children(&mut c).any(|ch| kind_of(ch) == "decorator") {
                modifiers.push(Modifier::Decorated);
            }
            Item::Class {
                def: n,
                name: field_text(src, n, "name").unwrap_or_default(),
                modifiers,
            }
        }
        "interface_declaration" => simple(
            AtomKind::Interface,
            field_text(src, n, "name").unwrap_or_default(),
            modifiers,
        ),
        "type_alias_declaration" => simple(
            AtomKind::TypeAlias,
            field_text(src, n, "name").unwrap_or_default(),
            modifiers,
        ),
        "enum_declaration" => simple(
            AtomKind::Enum,
            field_text(src, n, "name").unwrap_or_default(),
            modifiers,
        ),
        "ambient_declaration" => {
            modifiers.push(Modifier::Ambient);
            let mut c = n.walk();
            let inner = n
                .named_children(&mut c)
                .find(|ch| !kind_of(*ch).contains("comment"));
            match inner {
                Some(inner) if kind_of(inner) != "statement_block" => {
                    script_item_with(src, inner, modifiers)
                }
                _ => simple(AtomKind::Statement, "declare".into(), modifiers),
            }
        }
        "lexical_declaration" | "variable_declaration" => {
            let mut c = n.walk();
            let declarators: Vec<Node> = n
                .named_children(&mut c)
                .filter(|d| kind_of(*d) == "variable_declarator")
                .collect();
            if let [d] = declarators.as_slice() {
                if let Some(v) = child_by_field(*d, "value") {
                    if matches!(
                        kind_of(v),
                        "arrow_function"
                            | "function_expression"
                            | "function"
                            | "generator_function"
                    ) {
                        let name = field_text(src, *d, "name").unwrap_or_default();
                        return script_function(src, v, name, modifiers);
                    }
                }
            }
            let mut names = Vec::new();
            for d in &declarators {
                if let Some(name) = child_by_field(*d, "name") {
                    pattern_names(src, name, &mut names);
                }
            }
            let kind = if all_upper(&names) {
                AtomKind::Constant
            } else {
                AtomKind::Assignment
            };
            let name = names
                .first()
                .cloned()
                .unwrap_or_else(|| "declaration".into());
            simple(kind, name, modifiers)
        }
        "expression_statement" => {
            let name = match n.named_child(0) {
                Some(inner) if matches!(kind_of(inner), "internal_module" | "module") => {
                    field_text(src, inner, "name").unwrap_or_else(|| "namespace".into())
                }
                _ => "statement".into(),
            };
            simple(AtomKind::Statement, name, modifiers)
        }
        "internal_module" | "module" => simple(
            AtomKind::Statement,
            field_text(src, n, "name").unwrap_or_else(|| "namespace".into()),
            modifiers,
        ),
        _ => simple(AtomKind::Statement, "statement".into(), modifiers),
    }
}

fn script_function<'t>(
    src: &str,
    def: Node<'t>,
    name: String,
    mut modifiers: Vec<Modifier>,
) -> Item<'t> {
    let _ = src;
    if has_token(def, "async") {
        modifiers.push(Modifier::Async);
    }
    if has_token(def, "*") || kind_of(def).starts_with("generator") {
        modifiers.push(Modifier::Generator);
    }
    Item::Function {
        def,
        name,
        modifiers,
    }
}

/// Classifies a TS/JS class member: methods (and fields holding a function) are definitions.
pub(crate) fn script_member<'t>(src: &str, n: Node<'t>) -> Option<Item<'t>> {
    let mut modifiers = Vec::new();
    if has_token(n, "static") {
        modifiers.push(Modifier::Static);
    }
    if has_token(n, "abstract") || kind_of(n) == "abstract_method_signature" {
        modifiers.push(Modifier::Abstract);
    }
    let mut c = n.walk();
    if n.children(&mut c).any(|ch| kind_of(ch) == "decorator") {
        modifiers.push(Modifier::Decorated);
    }
    let name = field_text(src, n, "name")
        .or_else(|| field_text(src, n, "property"))
        .unwrap_or_default();
    match kind_of(n) {
        "method_definition" => {
            if has_token(n, "async") {
                modifiers.push(Modifier::Async);
            }
            if has_token(n, "*") {
                modifiers.push(Modifier::Generator);
            }
            Some(Item::Function {
                def: n,
                name,
                modifiers,
            })
        }
        "method_signature" | "abstract_method_signature" => {
            modifiers.push(Modifier::Overload);
            Some(Item::Simple {
                kind: AtomKind::Method,
                name,
                modifiers,
            })
        }
        "public_field_definition" | "field_definition" => {
            let value = child_by_field(n, "value")?;
            if matches!(
                kind_of(value),
                "arrow_function" | "function_expression" | "function"
            ) {
                let Item::Function { modifiers: m, .. } =
                    script_function(src, value, name.clone(), modifiers)
                else {
                    return None;
                };
                Some(Item::Function {
                    def: n,
                    name,
                    modifiers: m,
                })
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The JSDoc block (`/** … */`) right before a node, or the Python docstring of a definition.
pub(crate) fn docstring(src: &str, outer: Node, def: Option<Node>, python: bool) -> Option<String> {
    if python {
        let body = def?.child_by_field_name("body")?;
        let first = body.named_child(0)?;
        if !is_python_docstring(first) {
            return None;
        }
        let s = first.named_child(0)?;
        let mut c = s.walk();
        let content: String = s
            .named_children(&mut c)
            .filter(|ch| kind_of(*ch) == "string_content")
            .map(|ch| text(src, ch))
            .collect();
        return Some(clean_doc(&content));
    }
    let prev = outer.prev_sibling()?;
    if kind_of(prev) == "comment" && text(src, prev).starts_with("/**") {
        let t = text(src, prev);
        let inner = t.trim_start_matches("/**").trim_end_matches("*/");
        let lines: Vec<&str> = inner
            .lines()
            .map(|l| l.trim().trim_start_matches('*').trim())
            .filter(|l| !l.is_empty())
            .collect();
        return Some(lines.join("\n"));
    }
    None
}

fn clean_doc(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim).collect();
    lines.join("\n").trim().to_string()
}

/// The text of a definition up to its body, whitespace collapsed (`def f(a: int) -> str`,
/// `class A(B)`, `function f(a: string): void`, `const f = (a) =>`).
pub(crate) fn signature(src: &str, outer: Node, def: Node) -> Option<String> {
    let body = child_by_field(def, "body").or_else(|| {
        child_by_field(def, "value").filter(|_| kind_of(def).ends_with("field_definition"))
    });
    let start = if kind_of(outer) == "decorated_definition" {
        def.start_byte()
    } else {
        outer.start_byte()
    };
    let end = match body {
        Some(b) if b.start_byte() >= start => b.start_byte(),
        _ => def.end_byte(),
    };
    let raw = &src[start.min(end)..end];
    let collapsed: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = collapsed
        .trim_end_matches(['{', ':', ';', ' '])
        .trim_end_matches("=>")
        .trim()
        .to_string();
    if trimmed.is_empty() {
        None
    } else {
        Some(shorten(trimmed))
    }
}

/// First line of a declaration, for atoms without a body (constants, aliases, imports).
pub(crate) fn first_line(src: &str, start: usize, end: usize) -> Option<String> {
    let t = src[start..end].trim();
    let line = t.lines().next()?.trim_end();
    if line.is_empty() {
        None
    } else {
        Some(shorten(line.to_string()))
    }
}

fn shorten(mut s: String) -> String {
    const MAX: usize = 200;
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}
