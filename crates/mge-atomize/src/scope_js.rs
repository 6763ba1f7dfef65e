//! TS/JS scope walk (iterative). Functions, arrow functions, methods, classes and namespaces
//! open scopes; declarations anywhere in a function body (`var`, `let`, `const`, functions,
//! classes, catch parameters) bind in that function's scope. Type identifiers are type uses;
//! type parameters bind like locals.

use tree_sitter::Node;

use crate::classify::text;
use crate::model::{ImportKind, RefKind};
use crate::symbols::{member_chain, Fact, RawImport, ScopeId, ScopeKind, SymbolTable, MODULE};

#[derive(Debug, Clone, Copy, Default)]
struct Ctx {
    binding: bool,
    base: bool,
    callee: bool,
    write: bool,
}

impl Ctx {
    fn plain() -> Ctx {
        Ctx::default()
    }
    fn kind(self) -> RefKind {
        if self.base {
            RefKind::BaseClass
        } else if self.callee {
            RefKind::Call
        } else {
            RefKind::Data
        }
    }
}

struct Walker<'s, 't> {
    src: &'s str,
    t: SymbolTable,
    stack: Vec<(Node<'t>, ScopeId, Ctx)>,
    cursor: tree_sitter::TreeCursor<'t>,
}

pub(crate) fn walk(src: &str, root: Node) -> SymbolTable {
    let mut w = Walker {
        src,
        t: SymbolTable::new(),
        stack: vec![(root, MODULE, Ctx::plain())],
        cursor: root.walk(),
    };
    while let Some((n, scope, ctx)) = w.stack.pop() {
        w.visit(n, scope, ctx);
    }
    w.t
}

const FUNCTION_KINDS: [&str; 12] = [
    "function_signature",
    "method_signature",
    "abstract_method_signature",
    "call_signature",
    "construct_signature",
    "function_declaration",
    "generator_function_declaration",
    "function_expression",
    "function",
    "generator_function",
    "arrow_function",
    "method_definition",
];

impl<'s, 't> Walker<'s, 't> {
    fn push(&mut self, n: Option<Node<'t>>, scope: ScopeId, ctx: Ctx) {
        if let Some(n) = n {
            self.stack.push((n, scope, ctx));
        }
    }

    fn push_children(&mut self, n: Node<'t>, scope: ScopeId, ctx: Ctx) {
        // One shared cursor, no allocation: push in order, then reverse the pushed run.
        let Walker { cursor, stack, .. } = self;
        cursor.reset(n);
        let start = stack.len();
        for ch in n.named_children(cursor) {
            stack.push((ch, scope, ctx));
        }
        stack[start..].reverse();
    }

    fn name(&self, n: Node) -> String {
        text(self.src, n).to_string()
    }

    fn qualify(&self, scope: ScopeId, name: &str) -> String {
        let q = &self.t.scopes[scope].qualified;
        if q.is_empty() {
            name.to_string()
        } else {
            format!("{q}.{name}")
        }
    }

    fn visit(&mut self, n: Node<'t>, scope: ScopeId, ctx: Ctx) {
        let kind = n.kind();
        if FUNCTION_KINDS.contains(&kind) {
            self.function(n, scope);
            return;
        }
        if matches!(kind, "function_type" | "constructor_type") {
            // `(row: number, col: number) => number`: the parameter names are bound in the type.
            let q = self.t.scopes[scope].qualified.clone();
            let inner = self.t.new_scope(scope, ScopeKind::Function, q);
            self.push(n.child_by_field_name("return_type"), inner, Ctx::plain());
            self.push(n.child_by_field_name("type"), inner, Ctx::plain());
            if let Some(params) = n.child_by_field_name("parameters") {
                self.parameters(params, inner);
            }
            self.push(
                n.child_by_field_name("type_parameters"),
                inner,
                Ctx::plain(),
            );
            return;
        }
        match kind {
            "comment"
            | "string_fragment"
            | "escape_sequence"
            | "property_identifier"
            | "private_property_identifier"
            | "statement_identifier"
            | "predefined_type"
            | "regex"
            | "number"
            | "hash_bang_line" => {}
            "identifier" | "shorthand_property_identifier_pattern" => {
                let name = self.name(n);
                if ctx.binding {
                    self.t.bind(scope, &name, n.start_byte());
                } else {
                    self.t
                        .use_name(n, scope, name, Vec::new(), ctx.kind(), ctx.write);
                }
            }
            "shorthand_property_identifier" => {
                let name = self.name(n);
                self.t
                    .use_name(n, scope, name, Vec::new(), RefKind::Data, false);
            }
            "type_identifier" => {
                let name = self.name(n);
                if ctx.binding {
                    self.t.bind(scope, &name, n.start_byte());
                } else {
                    let kind = if ctx.base {
                        RefKind::BaseClass
                    } else {
                        RefKind::Type
                    };
                    self.t.use_name(n, scope, name, Vec::new(), kind, false);
                }
            }
            "nested_type_identifier" | "nested_identifier" => {
                let parts: Vec<String> = self
                    .name(n)
                    .split('.')
                    .map(|p| p.trim().to_string())
                    .collect();
                if let Some((first, rest)) = parts.split_first() {
                    let k = if ctx.base {
                        RefKind::BaseClass
                    } else if kind == "nested_type_identifier" {
                        RefKind::Type
                    } else {
                        ctx.kind()
                    };
                    self.t
                        .use_name(n, scope, first.clone(), rest.to_vec(), k, false);
                }
            }
            // A bare `this` names the instance, not a member: nothing to resolve.
            "this" | "super" => {}
            "class_declaration" | "abstract_class_declaration" | "class" => self.class(n, scope),
            "interface_declaration" | "type_alias_declaration" => {
                if let Some(name) = n.child_by_field_name("name") {
                    self.t.bind(scope, &self.name(name), name.start_byte());
                }
                let inner = self.t.new_scope(
                    scope,
                    ScopeKind::Function,
                    self.t.scopes[scope].qualified.clone(),
                );
                let mut c = n.walk();
                let children: Vec<Node<'t>> = n.named_children(&mut c).collect();
                for ch in children.into_iter().rev() {
                    if Some(ch) == n.child_by_field_name("name") {
                        continue;
                    }
                    let base = ch.kind() == "extends_type_clause";
                    self.stack.push((
                        ch,
                        inner,
                        Ctx {
                            base,
                            ..Ctx::plain()
                        },
                    ));
                }
            }
            "type_parameter" => {
                if let Some(name) = n.child_by_field_name("name") {
                    self.t.bind(scope, &self.name(name), name.start_byte());
                }
                self.push(n.child_by_field_name("constraint"), scope, Ctx::plain());
                self.push(n.child_by_field_name("value"), scope, Ctx::plain());
            }
            "enum_declaration" => {
                if let Some(name) = n.child_by_field_name("name") {
                    self.t.bind(scope, &self.name(name), name.start_byte());
                }
                self.push(n.child_by_field_name("body"), scope, Ctx::plain());
            }
            "enum_assignment"
            | "pair"
            | "property_signature"
            | "public_field_definition"
            | "field_definition" => {
                if matches!(kind, "public_field_definition" | "field_definition")
                    && self.t.scopes[scope].kind == ScopeKind::Class
                {
                    if let Some(name) = n
                        .child_by_field_name("name")
                        .or_else(|| n.child_by_field_name("property"))
                    {
                        self.t.bind(scope, &self.name(name), name.start_byte());
                    }
                }
                let key = n
                    .child_by_field_name("name")
                    .or_else(|| n.child_by_field_name("key"))
                    .or_else(|| n.child_by_field_name("property"));
                // A class field's initializer runs with `this` the instance.
                let inner = if matches!(kind, "public_field_definition" | "field_definition")
                    && self.t.scopes[scope].kind == ScopeKind::Class
                {
                    let class_q = self.t.scopes[scope].qualified.clone();
                    let first_base = self.t.scopes[scope].first_base.clone();
                    let inner = self
                        .t
                        .new_scope(scope, ScopeKind::Function, class_q.clone());
                    self.t.scopes[inner].self_class = Some(class_q);
                    self.t.scopes[inner].first_base = first_base;
                    inner
                } else {
                    scope
                };
                let mut c = n.walk();
                let children: Vec<Node<'t>> = n
                    .named_children(&mut c)
                    .filter(|ch| Some(*ch) != key || ch.kind() == "computed_property_name")
                    .collect();
                for ch in children.into_iter().rev() {
                    let at = if ch.kind() == "computed_property_name" {
                        scope
                    } else {
                        inner
                    };
                    self.stack.push((ch, at, Ctx::plain()));
                }
            }
            "internal_module" | "module" => {
                if let Some(name) = n
                    .child_by_field_name("name")
                    .filter(|x| x.kind() == "identifier")
                {
                    self.t.bind(scope, &self.name(name), name.start_byte());
                }
                let inner = self.t.new_scope(
                    scope,
                    ScopeKind::Function,
                    self.t.scopes[scope].qualified.clone(),
                );
                self.push(n.child_by_field_name("body"), inner, Ctx::plain());
            }
            "variable_declarator" => {
                self.push(n.child_by_field_name("value"), scope, Ctx::plain());
                self.push(n.child_by_field_name("type"), scope, Ctx::plain());
                self.push(
                    n.child_by_field_name("name"),
                    scope,
                    Ctx {
                        binding: true,
                        ..Ctx::plain()
                    },
                );
            }
            "object_pattern"
            | "array_pattern"
            | "rest_pattern"
            | "assignment_pattern"
            | "object_assignment_pattern"
            | "pair_pattern" => {
                if !ctx.binding {
                    // A destructuring assignment to existing names.
                    self.push_children(
                        n,
                        scope,
                        Ctx {
                            write: true,
                            ..Ctx::plain()
                        },
                    );
                    return;
                }
                match kind {
                    "assignment_pattern" | "object_assignment_pattern" => {
                        self.push(n.child_by_field_name("right"), scope, Ctx::plain());
                        self.push(n.child_by_field_name("left"), scope, ctx);
                    }
                    "pair_pattern" => {
                        self.push(n.child_by_field_name("value"), scope, ctx);
                        if let Some(k) = n
                            .child_by_field_name("key")
                            .filter(|k| k.kind() == "computed_property_name")
                        {
                            self.stack.push((k, scope, Ctx::plain()));
                        }
                    }
                    _ => self.push_children(n, scope, ctx),
                }
            }
            "catch_clause" => {
                self.t.fact(n, Fact::Decision);
                self.push(n.child_by_field_name("body"), scope, Ctx::plain());
                self.push(n.child_by_field_name("type"), scope, Ctx::plain());
                self.push(
                    n.child_by_field_name("parameter"),
                    scope,
                    Ctx {
                        binding: true,
                        ..Ctx::plain()
                    },
                );
            }
            "for_in_statement" => {
                self.t.fact(n, Fact::Decision);
                let declares = n.child_by_field_name("kind").is_some();
                self.push(n.child_by_field_name("body"), scope, Ctx::plain());
                self.push(n.child_by_field_name("right"), scope, Ctx::plain());
                self.push(
                    n.child_by_field_name("left"),
                    scope,
                    Ctx {
                        binding: declares,
                        write: !declares,
                        ..Ctx::plain()
                    },
                );
            }
            "assignment_expression" | "augmented_assignment_expression" => {
                self.push(n.child_by_field_name("right"), scope, Ctx::plain());
                let left = n.child_by_field_name("left");
                if let Some(l) = left {
                    if l.kind() == "member_expression" {
                        self.member_write(l, scope);
                        return;
                    }
                }
                self.push(
                    left,
                    scope,
                    Ctx {
                        write: true,
                        ..Ctx::plain()
                    },
                );
            }
            "import_statement" => self.import(n, scope),
            "export_statement" => self.export(n, scope),
            "member_expression" => self.member(n, scope, ctx),
            "call_expression" => {
                let f = n.child_by_field_name("function");
                if let Some(f) = f {
                    let callee = text(self.src, f);
                    if callee.len() <= 80 && !callee.contains('\n') {
                        self.t.callee(n, callee, true);
                    }
                    if f.kind() == "super" {
                        self.super_use(f, scope, "constructor");
                    }
                }
                self.push(n.child_by_field_name("arguments"), scope, Ctx::plain());
                self.push(n.child_by_field_name("type_arguments"), scope, Ctx::plain());
                if f.is_some_and(|f| f.kind() != "super") {
                    self.push(
                        f,
                        scope,
                        Ctx {
                            callee: true,
                            ..Ctx::plain()
                        },
                    );
                }
            }
            "new_expression" => {
                if let Some(c) = n.child_by_field_name("constructor") {
                    let callee = text(self.src, c);
                    if callee.len() <= 80 {
                        self.t.callee(n, &format!("new {callee}"), true);
                    }
                }
                self.push(n.child_by_field_name("arguments"), scope, Ctx::plain());
                self.push(n.child_by_field_name("type_arguments"), scope, Ctx::plain());
                self.push(
                    n.child_by_field_name("constructor"),
                    scope,
                    Ctx {
                        callee: true,
                        ..Ctx::plain()
                    },
                );
            }
            "decorator" => self.push_children(
                n,
                scope,
                Ctx {
                    callee: true,
                    ..Ctx::plain()
                },
            ),
            "jsx_opening_element" | "jsx_self_closing_element" => {
                if let Some(name) = n.child_by_field_name("name") {
                    let t = self.name(name);
                    if t.starts_with(|c: char| c.is_ascii_uppercase())
                        || name.kind() == "member_expression"
                    {
                        self.stack.push((
                            name,
                            scope,
                            Ctx {
                                callee: true,
                                ..Ctx::plain()
                            },
                        ));
                    }
                }
                let mut c = n.walk();
                let attrs: Vec<Node<'t>> = n.children_by_field_name("attribute", &mut c).collect();
                for a in attrs.into_iter().rev() {
                    self.stack.push((a, scope, Ctx::plain()));
                }
            }
            "jsx_closing_element" | "jsx_namespace_name" => {}
            "jsx_attribute" => {
                let mut c = n.walk();
                let children: Vec<Node<'t>> = n.named_children(&mut c).skip(1).collect();
                for ch in children.into_iter().rev() {
                    self.stack.push((ch, scope, Ctx::plain()));
                }
            }
            "extends_clause" => {
                self.push(n.child_by_field_name("type_arguments"), scope, Ctx::plain());
                self.push(
                    n.child_by_field_name("value"),
                    scope,
                    Ctx {
                        base: true,
                        ..Ctx::plain()
                    },
                );
            }
            "class_heritage" => {
                let mut c = n.walk();
                let children: Vec<Node<'t>> = n.named_children(&mut c).collect();
                for ch in children.into_iter().rev() {
                    // The JS grammar puts the base expression directly in the heritage.
                    let base = !matches!(ch.kind(), "extends_clause" | "implements_clause");
                    self.stack.push((
                        ch,
                        scope,
                        Ctx {
                            base,
                            ..Ctx::plain()
                        },
                    ));
                }
            }
            "if_statement" | "for_statement" | "while_statement" | "do_statement"
            | "ternary_expression" | "switch_case" => {
                self.t.fact(n, Fact::Decision);
                self.push_children(n, scope, Ctx::plain());
            }
            "binary_expression" => {
                if let Some(op) = n.child_by_field_name("operator") {
                    if matches!(op.kind(), "&&" | "||" | "??") {
                        self.t.fact(n, Fact::Decision);
                    }
                }
                self.push_children(n, scope, Ctx::plain());
            }
            "parenthesized_expression"
            | "non_null_expression"
            | "as_expression"
            | "satisfies_expression" => {
                self.push_children(
                    n,
                    scope,
                    Ctx {
                        binding: false,
                        ..ctx
                    },
                );
            }
            _ => self.push_children(
                n,
                scope,
                Ctx {
                    binding: false,
                    base: ctx.base && matches!(kind, "generic_type"),
                    ..Ctx::plain()
                },
            ),
        }
    }

    fn function(&mut self, n: Node<'t>, scope: ScopeId) {
        self.t.fact(n, Fact::Definition);
        let kind = n.kind();
        let name_node = n.child_by_field_name("name");
        let name = name_node.map(|x| self.name(x)).unwrap_or_default();
        let in_class = self.t.scopes[scope].kind == ScopeKind::Class;
        if let Some(id) = name_node {
            let method_like = matches!(
                kind,
                "method_definition" | "method_signature" | "abstract_method_signature"
            );
            if matches!(
                kind,
                "function_declaration" | "generator_function_declaration" | "function_signature"
            ) || (in_class && method_like)
            {
                self.t.bind(scope, &name, id.start_byte());
            }
        }
        let qualified = if name.is_empty() {
            self.t.scopes[scope].qualified.clone()
        } else {
            self.qualify(scope, &name)
        };
        let inner = self.t.new_scope(scope, ScopeKind::Function, qualified);
        if in_class && kind != "arrow_function" {
            let class_q = self.t.scopes[scope].qualified.clone();
            self.t.scopes[inner].self_class = Some(class_q);
            self.t.scopes[inner].first_base = self.t.scopes[scope].first_base.clone();
        } else if kind != "arrow_function" && !in_class {
            // A plain function has its own `this`.
            self.t.scopes[inner].self_class = None;
            self.t.scopes[inner].first_base = None;
        } else {
            self.t.scopes[inner].first_base = self.t.scopes[scope].first_base.clone();
        }
        if matches!(
            kind,
            "function_expression" | "function" | "generator_function"
        ) {
            if let Some(id) = name_node {
                self.t.bind(inner, &name, id.start_byte());
            }
        }
        self.push(n.child_by_field_name("body"), inner, Ctx::plain());
        self.push(n.child_by_field_name("return_type"), inner, Ctx::plain());
        if let Some(p) = n.child_by_field_name("parameter") {
            self.t.bind(inner, &self.name(p), p.start_byte());
        }
        if let Some(params) = n.child_by_field_name("parameters") {
            self.parameters(params, inner);
        }
        self.push(
            n.child_by_field_name("type_parameters"),
            inner,
            Ctx::plain(),
        );
        if kind == "method_definition" {
            if let Some(id) = name_node.filter(|x| x.kind() == "computed_property_name") {
                self.stack.push((id, scope, Ctx::plain()));
            }
        }
    }

    fn parameters(&mut self, params: Node<'t>, inner: ScopeId) {
        let mut c = params.walk();
        let list: Vec<Node<'t>> = params.named_children(&mut c).collect();
        for p in list.into_iter().rev() {
            match p.kind() {
                "required_parameter" | "optional_parameter" => {
                    self.push(p.child_by_field_name("value"), inner, Ctx::plain());
                    self.push(p.child_by_field_name("type"), inner, Ctx::plain());
                    let pattern = p
                        .child_by_field_name("pattern")
                        .or_else(|| p.child_by_field_name("name"));
                    let mut c2 = p.walk();
                    let is_property = p
                        .children(&mut c2)
                        .any(|ch| ch.kind() == "accessibility_modifier" || ch.kind() == "readonly");
                    if let Some(pat) = pattern {
                        if is_property {
                            if let Some(class) = self.t.scopes[inner].self_class.clone() {
                                let member = self.name(pat);
                                self.t.member(pat, inner, &class, &member);
                            }
                        }
                        self.stack.push((
                            pat,
                            inner,
                            Ctx {
                                binding: true,
                                ..Ctx::plain()
                            },
                        ));
                    }
                    let mut c3 = p.walk();
                    let decorators: Vec<Node<'t>> =
                        p.children_by_field_name("decorator", &mut c3).collect();
                    for d in decorators {
                        self.stack.push((d, inner, Ctx::plain()));
                    }
                }
                "comment" => {}
                _ => self.stack.push((
                    p,
                    inner,
                    Ctx {
                        binding: true,
                        ..Ctx::plain()
                    },
                )),
            }
        }
    }

    fn class(&mut self, n: Node<'t>, scope: ScopeId) {
        self.t.fact(n, Fact::Definition);
        let name_node = n.child_by_field_name("name");
        let name = name_node.map(|x| self.name(x)).unwrap_or_default();
        if let Some(id) = name_node {
            self.t.bind(scope, &name, id.start_byte());
        }
        let qualified = self.qualify(scope, &name);
        // Type parameters live in a scope around the class body, not as members.
        let params_scope = self.t.new_scope(
            scope,
            ScopeKind::Function,
            self.t.scopes[scope].qualified.clone(),
        );
        let inner = self.t.new_scope(params_scope, ScopeKind::Class, qualified);
        let mut c = n.walk();
        let children: Vec<Node<'t>> = n.named_children(&mut c).collect();
        for ch in &children {
            if ch.kind() == "class_heritage" {
                if let Some(base) = first_base(self.src, *ch) {
                    self.t.scopes[inner].first_base = Some(base);
                }
            }
        }
        for ch in children.into_iter().rev() {
            if Some(ch) == name_node {
                continue;
            }
            match ch.kind() {
                "class_body" => self.stack.push((ch, inner, Ctx::plain())),
                "type_parameters" | "class_heritage" => {
                    self.stack.push((ch, params_scope, Ctx::plain()))
                }
                _ => self.stack.push((ch, scope, Ctx::plain())),
            }
        }
    }

    fn super_use(&mut self, n: Node<'t>, scope: ScopeId, member: &str) {
        if let Some((base, _)) = self.t.scopes[scope].first_base.clone() {
            self.t.use_name(
                n,
                scope,
                base,
                vec![member.to_string()],
                RefKind::SuperCall,
                false,
            );
        }
    }

    /// `this.x = …` defines member `x` of the enclosing class; other member writes use their
    /// object.
    fn member_write(&mut self, l: Node<'t>, scope: ScopeId) {
        let (base, attrs) = member_chain(self.src, l, "member_expression", "object", "property");
        if base.kind() == "this" && attrs.len() == 1 {
            if let Some(class) = self.t.scopes[scope].self_class.clone() {
                self.t.member(l, scope, &class, &attrs[0]);
                return;
            }
        }
        self.member(
            l,
            scope,
            Ctx {
                write: true,
                ..Ctx::plain()
            },
        );
    }

    fn member(&mut self, n: Node<'t>, scope: ScopeId, ctx: Ctx) {
        let (base, attrs) = member_chain(self.src, n, "member_expression", "object", "property");
        let chain = text(self.src, n);
        if !ctx.callee && chain.len() <= 80 && !chain.contains('\n') {
            self.t.callee(n, chain, false);
        }
        match base.kind() {
            "identifier" => {
                let name = self.name(base);
                self.t
                    .use_name(base, scope, name, attrs, ctx.kind(), ctx.write);
            }
            "this" => {
                if let Some(class) = self.t.scopes[scope].self_class.clone() {
                    let member = attrs.into_iter().take(1).collect();
                    self.t
                        .use_name(base, scope, class, member, RefKind::SelfMember, false);
                }
            }
            "super" => {
                if let Some(first) = attrs.first() {
                    self.super_use(base, scope, &first.clone());
                }
            }
            _ => self.stack.push((base, scope, Ctx::plain())),
        }
    }

    fn import(&mut self, n: Node<'t>, scope: ScopeId) {
        let line = n.start_position().row as u32 + 1;
        let module = n
            .child_by_field_name("source")
            .map(|s| unquote(text(self.src, s)))
            .unwrap_or_default();
        let mut records: Vec<(String, Option<String>, ImportKind, usize)> = Vec::new();
        let mut c = n.walk();
        for ch in n.named_children(&mut c) {
            match ch.kind() {
                "import_clause" => {
                    let mut c2 = ch.walk();
                    for part in ch.named_children(&mut c2) {
                        match part.kind() {
                            "identifier" => records.push((
                                self.name(part),
                                Some("default".into()),
                                ImportKind::Default,
                                part.start_byte(),
                            )),
                            "namespace_import" => {
                                if let Some(id) = part.named_child(0) {
                                    records.push((
                                        self.name(id),
                                        None,
                                        ImportKind::Module,
                                        id.start_byte(),
                                    ));
                                }
                            }
                            "named_imports" => {
                                let mut c3 = part.walk();
                                for spec in part
                                    .named_children(&mut c3)
                                    .filter(|s| s.kind() == "import_specifier")
                                {
                                    let name = spec
                                        .child_by_field_name("name")
                                        .map(|x| unquote(text(self.src, x)))
                                        .unwrap_or_default();
                                    let local = spec
                                        .child_by_field_name("alias")
                                        .map(|x| self.name(x))
                                        .unwrap_or_else(|| name.clone());
                                    records.push((
                                        local,
                                        Some(name),
                                        ImportKind::Named,
                                        spec.start_byte(),
                                    ));
                                }
                            }
                            _ => {}
                        }
                    }
                }
                "import_require_clause" => {
                    let src_mod = ch
                        .child_by_field_name("source")
                        .map(|s| unquote(text(self.src, s)))
                        .unwrap_or_default();
                    if let Some(id) = ch.named_child(0).filter(|x| x.kind() == "identifier") {
                        self.t.bind(scope, &self.name(id), id.start_byte());
                        if scope == MODULE {
                            self.t.imports.push(RawImport {
                                pos: id.start_byte(),
                                local: self.name(id),
                                module: src_mod,
                                imported: None,
                                kind: ImportKind::Module,
                                line,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        if records.is_empty() && n.child_by_field_name("source").is_some() && scope == MODULE {
            let mut c4 = n.walk();
            if !n
                .named_children(&mut c4)
                .any(|ch| ch.kind() == "import_clause" || ch.kind() == "import_require_clause")
            {
                self.t.imports.push(RawImport {
                    pos: n.start_byte(),
                    local: String::new(),
                    module: module.clone(),
                    imported: None,
                    kind: ImportKind::SideEffect,
                    line,
                });
            }
        }
        for (local, imported, kind, pos) in records {
            self.t.bind(scope, &local, pos);
            if scope == MODULE {
                self.t.imports.push(RawImport {
                    pos,
                    local,
                    module: module.clone(),
                    imported,
                    kind,
                    line,
                });
            }
        }
    }

    fn export(&mut self, n: Node<'t>, scope: ScopeId) {
        let line = n.start_position().row as u32 + 1;
        let source = n
            .child_by_field_name("source")
            .map(|s| unquote(text(self.src, s)));
        let mut c = n.walk();
        let children: Vec<Node<'t>> = n.named_children(&mut c).collect();
        if let Some(module) = source {
            let mut any = false;
            for ch in &children {
                match ch.kind() {
                    "export_clause" => {
                        let mut c2 = ch.walk();
                        for spec in ch
                            .named_children(&mut c2)
                            .filter(|s| s.kind() == "export_specifier")
                        {
                            let name = spec
                                .child_by_field_name("name")
                                .map(|x| unquote(text(self.src, x)))
                                .unwrap_or_default();
                            let local = spec
                                .child_by_field_name("alias")
                                .map(|x| unquote(text(self.src, x)))
                                .unwrap_or_else(|| name.clone());
                            self.t.imports.push(RawImport {
                                pos: spec.start_byte(),
                                local,
                                module: module.clone(),
                                imported: Some(name),
                                kind: ImportKind::ReExport,
                                line,
                            });
                            any = true;
                        }
                    }
                    "namespace_export" => {
                        if let Some(id) = ch.named_child(0) {
                            self.t.imports.push(RawImport {
                                pos: id.start_byte(),
                                local: unquote(text(self.src, id)),
                                module: module.clone(),
                                imported: None,
                                kind: ImportKind::Module,
                                line,
                            });
                            any = true;
                        }
                    }
                    _ => {}
                }
            }
            if !any {
                self.t.imports.push(RawImport {
                    pos: n.start_byte(),
                    local: String::new(),
                    module,
                    imported: None,
                    kind: ImportKind::ReExport,
                    line,
                });
            }
            return;
        }
        for ch in children.into_iter().rev() {
            match ch.kind() {
                "export_clause" => {
                    let mut c2 = ch.walk();
                    let specs: Vec<Node<'t>> = ch
                        .named_children(&mut c2)
                        .filter(|s| s.kind() == "export_specifier")
                        .collect();
                    for spec in specs {
                        if let Some(name) = spec
                            .child_by_field_name("name")
                            .filter(|x| x.kind() == "identifier")
                        {
                            self.t.use_name(
                                name,
                                scope,
                                self.name(name),
                                Vec::new(),
                                RefKind::Data,
                                false,
                            );
                        }
                    }
                }
                _ => self.stack.push((ch, scope, Ctx::plain())),
            }
        }
        if n.child_by_field_name("value").is_some() || children_has_default(n) {
            self.t.bind(scope, "default", n.start_byte());
        }
    }
}

fn children_has_default(n: Node) -> bool {
    let mut c = n.walk();
    let found = n.children(&mut c).any(|ch| ch.kind() == "default");
    found
}

fn unquote(s: &str) -> String {
    s.trim_matches(|c| c == '"' || c == '\'' || c == '`')
        .to_string()
}

fn first_base(src: &str, heritage: Node) -> Option<(String, Vec<String>)> {
    let mut c = heritage.walk();
    for ch in heritage.named_children(&mut c) {
        let expr = if ch.kind() == "extends_clause" {
            ch.child_by_field_name("value")?
        } else if ch.kind() == "implements_clause" {
            continue;
        } else {
            ch
        };
        let (base, attrs) = member_chain(src, expr, "member_expression", "object", "property");
        if base.kind() == "identifier" {
            return Some((text(src, base).to_string(), attrs));
        }
    }
    None
}
