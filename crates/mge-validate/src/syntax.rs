//! Syntax facts the validators need beyond what atomization records: the parameters of every
//! callable, the call sites with their argument counts, and the names a TS/JS module exports.

use std::collections::BTreeSet;

use mge_atomize::Grammar;
use tree_sitter::{Node, Tree};

/// How a parameter can be passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Positional or keyword (Python), positional (TS/JS).
    Positional,
    /// Python parameters before `/`.
    PositionalOnly,
    /// Python parameters after `*` or `*args`.
    KeywordOnly,
    /// `*args` / `...rest`.
    VarPositional,
    /// `**kwargs`.
    VarKeyword,
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    /// Has a default value or is marked optional (`x?: T`).
    pub optional: bool,
}

/// A function, method or arrow function bound to a name, with its parameters. For methods the
/// receiver (`self`, `cls`) is left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callable {
    /// Dotted name as atomization qualifies it: `f`, `Class.method`, `outer.inner`.
    pub qualified_name: String,
    pub params: Vec<Param>,
    /// Defined directly in a class body.
    pub is_method: bool,
    /// `@staticmethod` / `static`.
    pub is_static: bool,
    /// `@classmethod`.
    pub is_classmethod: bool,
    /// Decorator names (`property`, `functools.lru_cache`), without arguments.
    pub decorators: Vec<String>,
    /// A getter or setter, an overload signature, or a `@property`: not checked for arity.
    pub accessor_or_overload: bool,
    pub start_byte: usize,
    pub end_byte: usize,
    /// 1-based line of the definition.
    pub line: u32,
}

impl Callable {
    /// Bounds on the number of positional arguments: `(required, max)`, `max` is `None` with
    /// `*args` / `...rest`.
    pub fn positional_bounds(&self) -> (usize, Option<usize>) {
        let mut required = 0;
        let mut max = 0;
        let mut unbounded = false;
        for p in &self.params {
            match p.kind {
                ParamKind::Positional | ParamKind::PositionalOnly => {
                    max += 1;
                    if !p.optional {
                        required += 1;
                    }
                }
                ParamKind::VarPositional => unbounded = true,
                ParamKind::KeywordOnly | ParamKind::VarKeyword => {}
            }
        }
        (required, if unbounded { None } else { Some(max) })
    }

    /// Parameter names in order, with `*`/`**`/`...` marks: `a, b=, *args`.
    pub fn shape(&self) -> String {
        let parts: Vec<String> = self
            .params
            .iter()
            .map(|p| {
                let mark = match p.kind {
                    ParamKind::VarPositional => "*",
                    ParamKind::VarKeyword => "**",
                    _ => "",
                };
                let default = p.optional && mark.is_empty();
                format!("{mark}{}{}", p.name, if default { "=" } else { "" })
            })
            .collect();
        parts.join(", ")
    }

    /// Decorators that keep the signature as written (so arity can be checked).
    pub fn signature_preserved(&self) -> bool {
        !self.accessor_or_overload
            && self.decorators.iter().all(|d| {
                matches!(
                    d.rsplit('.').next().unwrap_or(d),
                    "staticmethod"
                        | "classmethod"
                        | "lru_cache"
                        | "cache"
                        | "abstractmethod"
                        | "override"
                        | "wraps"
                )
            })
    }
}

/// A call in the source: the callee as a chain of names and what is passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    /// `f` → `["f"]`, `self.m` → `["self", "m"]`, `mod.f` → `["mod", "f"]`.
    pub callee: Vec<String>,
    /// 1-based line and byte column of the callee's start.
    pub line: u32,
    pub col: u32,
    pub start_byte: usize,
    pub positional: usize,
    pub keywords: Vec<String>,
    /// `*xs`, `**kw` or `...xs` among the arguments: the count is not known.
    pub has_splat: bool,
    /// `new C(...)`.
    pub is_new: bool,
}

fn text<'s>(src: &'s str, n: Node) -> &'s str {
    &src[n.byte_range()]
}

fn field_text(src: &str, n: Node, field: &str) -> Option<String> {
    n.child_by_field_name(field)
        .map(|c| text(src, c).to_string())
}

fn named_children<'t>(n: Node<'t>) -> Vec<Node<'t>> {
    let mut c = n.walk();
    n.named_children(&mut c)
        .filter(|ch| ch.kind() != "comment")
        .collect()
}

fn has_token(n: Node, token: &str) -> bool {
    let mut c = n.walk();
    let found = n
        .children(&mut c)
        .any(|ch| !ch.is_named() && ch.kind() == token);
    found
}

/// Every named callable of a parsed file.
pub fn callables(grammar: Grammar, tree: &Tree, src: &str) -> Vec<Callable> {
    let mut out = Vec::new();
    // (node, name prefix, directly inside a class body)
    let mut stack: Vec<(Node, String, bool)> = vec![(tree.root_node(), String::new(), false)];
    while let Some((n, prefix, in_class)) = stack.pop() {
        let join = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        if grammar.is_python() {
            match n.kind() {
                "class_definition" => {
                    let name = field_text(src, n, "name").unwrap_or_default();
                    if let Some(body) = n.child_by_field_name("body") {
                        push_named(&mut stack, body, join(&name), true);
                    }
                }
                "decorated_definition" => {
                    if let Some(def) = n.child_by_field_name("definition") {
                        if def.kind() == "function_definition" {
                            let decorators = python_decorators(src, n);
                            let c = python_callable(src, def, &join, in_class, decorators);
                            if let Some(body) = def.child_by_field_name("body") {
                                push_named(&mut stack, body, c.qualified_name.clone(), false);
                            }
                            out.push(c);
                        } else {
                            stack.push((def, prefix.clone(), in_class));
                        }
                    }
                }
                "function_definition" => {
                    let c = python_callable(src, n, &join, in_class, Vec::new());
                    if let Some(body) = n.child_by_field_name("body") {
                        push_named(&mut stack, body, c.qualified_name.clone(), false);
                    }
                    out.push(c);
                }
                _ => push_named(&mut stack, n, prefix.clone(), false),
            }
        } else {
            match n.kind() {
                "class_declaration" | "abstract_class_declaration" | "class" => {
                    let name = field_text(src, n, "name").unwrap_or_else(|| "default".into());
                    if let Some(body) = n.child_by_field_name("body") {
                        push_named(&mut stack, body, join(&name), true);
                    }
                }
                "function_declaration"
                | "generator_function_declaration"
                | "function_signature"
                | "method_definition"
                | "method_signature"
                | "abstract_method_signature" => {
                    let name = field_text(src, n, "name").unwrap_or_default();
                    let is_accessor = has_token(n, "get") || has_token(n, "set");
                    let overload = n.kind() == "function_signature"
                        || (n.kind() == "method_signature" && in_class);
                    let c = script_callable(src, n, join(&name), in_class, is_accessor || overload);
                    if let Some(body) = n.child_by_field_name("body") {
                        push_named(&mut stack, body, c.qualified_name.clone(), false);
                    }
                    out.push(c);
                }
                "variable_declarator" | "public_field_definition" => {
                    let name_node = n
                        .child_by_field_name("name")
                        .or_else(|| n.child_by_field_name("property"));
                    let value = n.child_by_field_name("value");
                    match (name_node, value) {
                        (Some(name), Some(v))
                            if matches!(
                                v.kind(),
                                "arrow_function" | "function_expression" | "function"
                            ) && matches!(
                                name.kind(),
                                "identifier"
                                    | "property_identifier"
                                    | "private_property_identifier"
                            ) =>
                        {
                            let c = script_callable(src, v, join(text(src, name)), in_class, false);
                            let c = Callable {
                                is_static: c.is_static || has_token(n, "static"),
                                line: n.start_position().row as u32 + 1,
                                ..c
                            };
                            if let Some(body) = v.child_by_field_name("body") {
                                push_named(&mut stack, body, c.qualified_name.clone(), false);
                            }
                            out.push(c);
                        }
                        _ => push_named(&mut stack, n, prefix.clone(), false),
                    }
                }
                _ => push_named(&mut stack, n, prefix.clone(), false),
            }
        }
    }
    out.sort_by_key(|c| c.start_byte);
    out
}

fn push_named<'t>(
    stack: &mut Vec<(Node<'t>, String, bool)>,
    node: Node<'t>,
    prefix: String,
    in_class: bool,
) {
    for k in named_children(node).into_iter().rev() {
        stack.push((k, prefix.clone(), in_class));
    }
}

fn python_decorators(src: &str, n: Node) -> Vec<String> {
    named_children(n)
        .into_iter()
        .filter(|c| c.kind() == "decorator")
        .map(|d| {
            let t = text(src, d).trim_start_matches('@').trim();
            t.split('(').next().unwrap_or(t).trim().to_string()
        })
        .collect()
}

fn python_callable(
    src: &str,
    def: Node,
    join: &dyn Fn(&str) -> String,
    in_class: bool,
    decorators: Vec<String>,
) -> Callable {
    let name = field_text(src, def, "name").unwrap_or_default();
    let is_static = decorators.iter().any(|d| d == "staticmethod");
    let is_classmethod = decorators.iter().any(|d| d == "classmethod");
    let accessor = decorators.iter().any(|d| {
        d == "property"
            || d.ends_with(".setter")
            || d.ends_with(".getter")
            || d == "overload"
            || d.ends_with(".overload")
            || d.ends_with("cached_property")
    });
    let mut params = Vec::new();
    let mut keyword_only = false;
    if let Some(ps) = def.child_by_field_name("parameters") {
        for p in named_children(ps) {
            let (pname, kind, optional) = match p.kind() {
                "identifier" => (text(src, p).to_string(), ParamKind::Positional, false),
                "default_parameter" | "typed_default_parameter" => (
                    field_text(src, p, "name").unwrap_or_default(),
                    ParamKind::Positional,
                    true,
                ),
                "typed_parameter" => {
                    let inner = named_children(p).into_iter().next();
                    match inner.map(|i| (i.kind(), i)) {
                        Some(("list_splat_pattern", i)) => {
                            (splat_name(src, i), ParamKind::VarPositional, true)
                        }
                        Some(("dictionary_splat_pattern", i)) => {
                            (splat_name(src, i), ParamKind::VarKeyword, true)
                        }
                        Some((_, i)) => (text(src, i).to_string(), ParamKind::Positional, false),
                        None => continue,
                    }
                }
                "list_splat_pattern" => (splat_name(src, p), ParamKind::VarPositional, true),
                "dictionary_splat_pattern" => (splat_name(src, p), ParamKind::VarKeyword, true),
                "keyword_separator" => {
                    keyword_only = true;
                    continue;
                }
                "positional_separator" => {
                    for q in params.iter_mut() {
                        let q: &mut Param = q;
                        if q.kind == ParamKind::Positional {
                            q.kind = ParamKind::PositionalOnly;
                        }
                    }
                    continue;
                }
                _ => continue,
            };
            let kind = match kind {
                ParamKind::Positional if keyword_only => ParamKind::KeywordOnly,
                ParamKind::VarPositional => {
                    keyword_only = true;
                    kind
                }
                k => k,
            };
            params.push(Param {
                name: pname,
                kind,
                optional,
            });
        }
    }
    if in_class && !is_static && !params.is_empty() {
        params.remove(0);
    }
    Callable {
        qualified_name: join(&name),
        params,
        is_method: in_class,
        is_static,
        is_classmethod,
        decorators,
        accessor_or_overload: accessor,
        start_byte: def.start_byte(),
        end_byte: def.end_byte(),
        line: def.start_position().row as u32 + 1,
    }
}

fn splat_name(src: &str, n: Node) -> String {
    text(src, n).trim_start_matches('*').to_string()
}

fn script_callable(
    src: &str,
    n: Node,
    qualified_name: String,
    in_class: bool,
    accessor_or_overload: bool,
) -> Callable {
    let mut params = Vec::new();
    let ps = n
        .child_by_field_name("parameters")
        .or_else(|| n.child_by_field_name("parameter"));
    if let Some(ps) = ps {
        let list = if ps.kind() == "formal_parameters" {
            named_children(ps)
        } else {
            vec![ps]
        };
        for p in list {
            let (pattern, optional) = match p.kind() {
                "required_parameter" => (
                    p.child_by_field_name("pattern"),
                    p.child_by_field_name("value").is_some(),
                ),
                "optional_parameter" => (p.child_by_field_name("pattern"), true),
                "assignment_pattern" => (p.child_by_field_name("left"), true),
                "identifier" | "rest_pattern" | "object_pattern" | "array_pattern" => {
                    (Some(p), false)
                }
                _ => continue,
            };
            let Some(pattern) = pattern else { continue };
            if pattern.kind() == "this" {
                continue;
            }
            let (name, kind, optional) = if pattern.kind() == "rest_pattern" {
                (
                    text(src, pattern).trim_start_matches("...").to_string(),
                    ParamKind::VarPositional,
                    true,
                )
            } else {
                (
                    text(src, pattern).to_string(),
                    ParamKind::Positional,
                    optional,
                )
            };
            params.push(Param {
                name,
                kind,
                optional,
            });
        }
    }
    if let Some(doc) = jsdoc(src, n) {
        for p in params.iter_mut() {
            let p: &mut Param = p;
            if doc.contains(&format!("[{}]", p.name)) || doc.contains(&format!("[{}=", p.name)) {
                p.optional = true;
            }
        }
    }
    Callable {
        qualified_name,
        params,
        is_method: in_class,
        is_static: has_token(n, "static"),
        is_classmethod: false,
        decorators: Vec::new(),
        accessor_or_overload,
        start_byte: n.start_byte(),
        end_byte: n.end_byte(),
        line: n.start_position().row as u32 + 1,
    }
}

/// The `/** ... */` comment right before a definition (or before the statement holding it):
/// JSDoc marks optional parameters as `[name]`.
fn jsdoc<'s>(src: &'s str, n: Node) -> Option<&'s str> {
    let mut node = n;
    for _ in 0..4 {
        if let Some(prev) = node.prev_sibling() {
            if prev.kind() == "comment" {
                let t = text(src, prev);
                return t.starts_with("/**").then_some(t);
            }
        }
        node = node.parent()?;
        if !matches!(
            node.kind(),
            "export_statement"
                | "variable_declarator"
                | "lexical_declaration"
                | "public_field_definition"
        ) {
            return None;
        }
    }
    None
}

/// The callee of a call as a chain of simple names, when it is one.
fn callee_chain(src: &str, n: Node) -> Option<Vec<String>> {
    match n.kind() {
        "identifier" | "this" | "super" => Some(vec![text(src, n).to_string()]),
        "attribute" => {
            let mut v = callee_chain(src, n.child_by_field_name("object")?)?;
            v.push(field_text(src, n, "attribute")?);
            Some(v)
        }
        "member_expression" => {
            if has_token(n, "?.") {
                return None;
            }
            let mut v = callee_chain(src, n.child_by_field_name("object")?)?;
            v.push(field_text(src, n, "property")?);
            Some(v)
        }
        _ => None,
    }
}

/// Every call with a simple-name callee.
pub fn call_sites(grammar: Grammar, tree: &Tree, src: &str) -> Vec<CallSite> {
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        let kids = named_children(n);
        stack.extend(kids.into_iter().rev());
        let (callee, args, is_new) = match n.kind() {
            "call" if grammar.is_python() => (
                n.child_by_field_name("function"),
                n.child_by_field_name("arguments"),
                false,
            ),
            "call_expression" if !grammar.is_python() => (
                n.child_by_field_name("function"),
                n.child_by_field_name("arguments"),
                false,
            ),
            "new_expression" => (
                n.child_by_field_name("constructor"),
                n.child_by_field_name("arguments"),
                true,
            ),
            _ => continue,
        };
        let Some(callee) = callee else { continue };
        let Some(chain) = callee_chain(src, callee) else {
            continue;
        };
        let mut site = CallSite {
            callee: chain,
            line: callee.start_position().row as u32 + 1,
            col: callee.start_position().column as u32 + 1,
            start_byte: callee.start_byte(),
            positional: 0,
            keywords: Vec::new(),
            has_splat: false,
            is_new,
        };
        match args {
            None => {}
            Some(a) if matches!(a.kind(), "generator_expression") => site.positional = 1,
            Some(a) if matches!(a.kind(), "argument_list" | "arguments") => {
                for arg in named_children(a) {
                    match arg.kind() {
                        "keyword_argument" => site
                            .keywords
                            .push(field_text(src, arg, "name").unwrap_or_default()),
                        "list_splat" | "dictionary_splat" | "spread_element" => {
                            site.has_splat = true
                        }
                        _ => site.positional += 1,
                    }
                }
            }
            // Tagged templates and anything else: not an argument list.
            Some(_) => continue,
        }
        out.push(site);
    }
    out.sort_by_key(|s| s.start_byte);
    out
}

/// Names a TS/JS module exports, and whether it has an `export * from` (which exports names not
/// listed here).
pub fn exported_names(tree: &Tree, src: &str) -> (BTreeSet<String>, bool) {
    let mut names = BTreeSet::new();
    let mut star = false;
    for st in named_children(tree.root_node()) {
        if st.kind() != "export_statement" {
            continue;
        }
        if has_token(st, "default") {
            names.insert("default".to_string());
        }
        if let Some(decl) = st.child_by_field_name("declaration") {
            match decl.kind() {
                "lexical_declaration" | "variable_declaration" => {
                    for d in named_children(decl) {
                        if let Some(n) = d.child_by_field_name("name") {
                            names.insert(text(src, n).to_string());
                        }
                    }
                }
                _ => {
                    if let Some(n) = decl.child_by_field_name("name") {
                        names.insert(text(src, n).to_string());
                    }
                }
            }
            continue;
        }
        let mut any_clause = false;
        for ch in named_children(st) {
            match ch.kind() {
                "export_clause" => {
                    any_clause = true;
                    for spec in named_children(ch) {
                        let n = spec
                            .child_by_field_name("alias")
                            .or_else(|| spec.child_by_field_name("name"));
                        if let Some(n) = n {
                            names.insert(text(src, n).trim_matches(['"', '\'']).to_string());
                        }
                    }
                }
                "namespace_export" => {
                    any_clause = true;
                    if let Some(n) = named_children(ch).into_iter().next() {
                        names.insert(text(src, n).to_string());
                    }
                }
                _ => {}
            }
        }
        if !any_clause && st.child_by_field_name("source").is_some() {
            star = true;
        }
    }
    (names, star)
}

/// [`callables`] plus the `__init__` that `@dataclass` generates for a module-level Python
/// class without one of its own (what a call of the class checks against).
pub fn callables_for_calls(grammar: Grammar, tree: &Tree, src: &str) -> Vec<Callable> {
    let mut out = callables(grammar, tree, src);
    if grammar.is_python() {
        let known: BTreeSet<String> = out.iter().map(|c| c.qualified_name.clone()).collect();
        let mut fields: std::collections::HashMap<String, Vec<Param>> = Default::default();
        for st in named_children(tree.root_node()) {
            if let Some(init) = dataclass_init(src, st, &mut fields) {
                if !known.contains(&init.qualified_name) {
                    out.push(init);
                }
            }
        }
    }
    out
}

/// The generated `__init__` of a `@dataclass` class statement, when it is known: the class's
/// own annotated fields, after those of a base that is an earlier dataclass of the same file
/// (`fields` holds them by class name). Unknown (None): `init=False`, `kw_only`, a base that is
/// not such a dataclass, or an `__init__` of its own.
fn dataclass_init(
    src: &str,
    st: Node,
    fields: &mut std::collections::HashMap<String, Vec<Param>>,
) -> Option<Callable> {
    if st.kind() != "decorated_definition" {
        return None;
    }
    let class = st.child_by_field_name("definition")?;
    if class.kind() != "class_definition" {
        return None;
    }
    let decorator = named_children(st)
        .into_iter()
        .filter(|d| d.kind() == "decorator")
        .map(|d| text(src, d).trim_start_matches('@').trim().to_string())
        .find(|d| {
            let head = d.split('(').next().unwrap_or(d).trim();
            head == "dataclass" || head == "dataclasses.dataclass"
        })?;
    if decorator.contains("init=False") || decorator.contains("kw_only") {
        return None;
    }
    let name = field_text(src, class, "name")?;
    let mut params = Vec::new();
    if let Some(bases) = class.child_by_field_name("superclasses") {
        let bases = named_children(bases);
        match bases.as_slice() {
            [] => {}
            [one] if one.kind() == "identifier" => {
                params.extend(fields.get(text(src, *one))?.iter().cloned());
            }
            _ => return None,
        }
    }
    for item in named_children(class.child_by_field_name("body")?) {
        if matches!(item.kind(), "function_definition" | "decorated_definition")
            && text(src, item).contains("def __init__(")
        {
            return None;
        }
        let Some(a) = (item.kind() == "expression_statement")
            .then(|| named_children(item).into_iter().next())
            .flatten()
            .filter(|a| a.kind() == "assignment")
        else {
            continue;
        };
        let (Some(left), Some(ty)) = (a.child_by_field_name("left"), a.child_by_field_name("type"))
        else {
            continue;
        };
        let ty = text(src, ty);
        if left.kind() != "identifier" || ty.contains("ClassVar") || ty.contains("KW_ONLY") {
            if ty.contains("KW_ONLY") {
                return None;
            }
            continue;
        }
        let value = a.child_by_field_name("right").map(|v| text(src, v));
        let optional = match value {
            None => false,
            Some(v) if v.starts_with("field(") || v.starts_with("dataclasses.field(") => {
                if v.contains("init=False") || v.contains("kw_only") {
                    return None;
                }
                v.contains("default=") || v.contains("default_factory=")
            }
            Some(_) => true,
        };
        let field = text(src, left).to_string();
        // A redefined field keeps its place.
        params.retain(|p: &Param| p.name != field);
        params.push(Param {
            name: field,
            kind: ParamKind::Positional,
            optional,
        });
    }
    fields.insert(name.clone(), params.clone());
    Some(Callable {
        qualified_name: format!("{name}.__init__"),
        params,
        is_method: true,
        is_static: false,
        is_classmethod: false,
        decorators: Vec::new(),
        accessor_or_overload: false,
        start_byte: class.start_byte(),
        end_byte: class.end_byte(),
        line: class.start_position().row as u32 + 1,
    })
}
