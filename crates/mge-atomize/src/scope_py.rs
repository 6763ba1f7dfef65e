//! Python scope walk (iterative): bindings of module, class, function, lambda and comprehension
//! scopes; uses classified as call, type, base class, data, `self.m` or `super().m`; module
//! imports; complexity and effect facts.

use tree_sitter::Node;

use crate::classify::text;
use crate::model::{ImportKind, RefKind};
use crate::parse::{child_by_field, Grammar};
use crate::symbols::{member_chain, Fact, RawImport, ScopeId, ScopeKind, SymbolTable, MODULE};

#[derive(Debug, Clone, Copy, Default)]
struct Ctx {
    binding: bool,
    ty: bool,
    base: bool,
    callee: bool,
}

impl Ctx {
    fn plain() -> Ctx {
        Ctx::default()
    }
    fn kind(self) -> RefKind {
        if self.base {
            RefKind::BaseClass
        } else if self.ty {
            RefKind::Type
        } else if self.callee {
            RefKind::Call
        } else {
            RefKind::Data
        }
    }
}

type Walker<'s, 't> = crate::scope_walk::Walker<'s, 't, Ctx>;

pub(crate) fn walk(src: &str, root: Node, grammar: Grammar) -> SymbolTable {
    Walker::run(src, root, grammar, Walker::visit)
}

impl<'s, 't> Walker<'s, 't> {
    fn visit(&mut self, n: Node<'t>, scope: ScopeId, ctx: Ctx) {
        match self.kind(n) {
            "comment" | "string_start" | "string_end" | "string_content" | "escape_sequence" => {}
            "string" if ctx.ty && !ctx.base => self.forward_references(n, scope),
            // Only an f-string holds names (in its interpolations).
            "string" if !is_f_string(text(self.src, n)) => {}
            "identifier" => {
                let name = self.name(n);
                if ctx.binding {
                    if self.t.scopes[scope].declared_outer.contains(&name) {
                        // `global x; x = …`: a write to the module binding.
                        self.t
                            .use_name(n, scope, name.clone(), Vec::new(), RefKind::Data, true);
                    }
                    self.t.bind(scope, &name, n.start_byte());
                } else {
                    if let Some(outer) = self.nested_function(scope, &name).cloned() {
                        // A call of a nested function: resolved like a member of the
                        // enclosing function, so a cut-out nested function is reached.
                        self.t.use_name(
                            n,
                            scope,
                            outer,
                            vec![name.clone()],
                            RefKind::SelfMember,
                            false,
                        );
                    }
                    self.t
                        .use_name(n, scope, name, Vec::new(), ctx.kind(), false);
                }
            }
            "function_definition" => self.function(n, scope),
            "lambda" => {
                let inner = self.t.new_scope(
                    scope,
                    ScopeKind::Function,
                    self.t.scopes[scope].qualified.clone(),
                );
                if let Some(params) = self.field(n, "parameters") {
                    self.parameters(params, scope, inner);
                }
                self.push(self.field(n, "body"), inner, Ctx::plain());
            }
            "class_definition" => self.class(n, scope),
            "decorated_definition" => {
                let mut c = n.walk();
                let children: Vec<Node<'t>> = n.named_children(&mut c).collect();
                for ch in children.into_iter().rev() {
                    if self.kind(ch) == "decorator" {
                        self.push_children(
                            ch,
                            scope,
                            Ctx {
                                callee: true,
                                ..Ctx::plain()
                            },
                        );
                    } else {
                        self.stack.push((ch, scope, Ctx::plain()));
                    }
                }
            }
            "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => {
                let inner = self.t.new_scope(
                    scope,
                    ScopeKind::Comprehension,
                    self.t.scopes[scope].qualified.clone(),
                );
                self.push_children(n, inner, Ctx::plain());
            }
            "for_in_clause" => {
                self.t.fact(n, Fact::Decision);
                self.push(self.field(n, "right"), scope, Ctx::plain());
                self.push(
                    self.field(n, "left"),
                    scope,
                    Ctx {
                        binding: true,
                        ..Ctx::plain()
                    },
                );
            }
            "assignment" | "augmented_assignment" => {
                self.push(self.field(n, "right"), scope, Ctx::plain());
                self.push(
                    self.field(n, "type"),
                    scope,
                    Ctx {
                        ty: true,
                        ..Ctx::plain()
                    },
                );
                self.push(
                    self.field(n, "left"),
                    scope,
                    Ctx {
                        binding: true,
                        ..Ctx::plain()
                    },
                );
            }
            "for_statement" => {
                self.t.fact(n, Fact::Decision);
                self.push(self.field(n, "alternative"), scope, Ctx::plain());
                self.push(self.field(n, "body"), scope, Ctx::plain());
                self.push(self.field(n, "right"), scope, Ctx::plain());
                self.push(
                    self.field(n, "left"),
                    scope,
                    Ctx {
                        binding: true,
                        ..Ctx::plain()
                    },
                );
            }
            "as_pattern" => {
                let alias = self.field(n, "alias");
                let mut c = n.walk();
                let children: Vec<Node<'t>> = n
                    .named_children(&mut c)
                    .filter(|ch| Some(*ch) != alias)
                    .collect();
                self.push(
                    alias,
                    scope,
                    Ctx {
                        binding: true,
                        ..Ctx::plain()
                    },
                );
                for ch in children.into_iter().rev() {
                    self.stack.push((ch, scope, Ctx::plain()));
                }
            }
            "except_clause" => {
                self.t.fact(n, Fact::Decision);
                let alias = self.field(n, "alias");
                let mut c = n.walk();
                let children: Vec<Node<'t>> = n
                    .named_children(&mut c)
                    .filter(|ch| Some(*ch) != alias)
                    .collect();
                for ch in children.into_iter().rev() {
                    self.stack.push((ch, scope, Ctx::plain()));
                }
                self.push(
                    alias,
                    scope,
                    Ctx {
                        binding: true,
                        ..Ctx::plain()
                    },
                );
            }
            "named_expression" => {
                self.push(self.field(n, "value"), scope, Ctx::plain());
                // The walrus binds in the enclosing function, not the comprehension.
                let mut target = scope;
                while self.t.scopes[target].kind == ScopeKind::Comprehension {
                    target = self.t.scopes[target].parent.unwrap_or(MODULE);
                }
                self.push(
                    self.field(n, "name"),
                    target,
                    Ctx {
                        binding: true,
                        ..Ctx::plain()
                    },
                );
            }
            "global_statement" | "nonlocal_statement" => {
                let mut c = n.walk();
                let names: Vec<String> = n
                    .named_children(&mut c)
                    .filter(|ch| self.kind(*ch) == "identifier")
                    .map(|ch| self.name(ch))
                    .collect();
                for name in names {
                    self.t.fact(n, Fact::GlobalWrite(name.clone()));
                    self.t.scopes[scope].declared_outer.insert(name);
                }
            }
            "import_statement" | "import_from_statement" | "future_import_statement" => {
                self.import(n, scope)
            }
            "attribute" => self.attribute(n, scope, ctx),
            "call" => {
                let f = self.field(n, "function");
                if let Some(f) = f {
                    let callee = text(self.src, f);
                    if callee.len() <= 80 && !callee.contains('\n') {
                        self.t.callee(n, callee, true);
                    }
                    if self.kind(f) == "identifier" && callee == "super" {
                        // Bare `super(...)` call; `super().m` is handled by the attribute.
                        self.super_use(n, scope, "__init__");
                    }
                }
                self.push(self.field(n, "arguments"), scope, Ctx::plain());
                if f.is_some_and(|f| text(self.src, f) != "super") {
                    self.push(
                        f,
                        scope,
                        Ctx {
                            callee: true,
                            ty: ctx.ty,
                            ..Ctx::plain()
                        },
                    );
                }
            }
            "keyword_argument" => self.push(
                self.field(n, "value"),
                scope,
                Ctx {
                    ty: ctx.ty,
                    ..Ctx::plain()
                },
            ),
            "type" => self.push_children(n, scope, Ctx { ty: true, ..ctx }),
            "subscript" => {
                // `TABLE[key](x)` calls an element: the indexed value is a data use.
                self.push_children(
                    n,
                    scope,
                    Ctx {
                        binding: false,
                        callee: false,
                        ..ctx
                    },
                );
            }
            "if_statement"
            | "elif_clause"
            | "while_statement"
            | "conditional_expression"
            | "if_clause"
            | "case_clause" => {
                self.t.fact(n, Fact::Decision);
                self.push_children(n, scope, Ctx::plain());
            }
            "boolean_operator" => {
                self.t.fact(n, Fact::Decision);
                self.push_children(n, scope, ctx);
            }
            "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "list_splat_pattern"
            | "tuple"
            | "list"
            | "parenthesized_expression"
            | "expression_list"
            | "as_pattern_target"
            | "case_pattern"
            | "splat_pattern"
            | "dictionary_splat_pattern" => self.push_children(n, scope, ctx),
            "dotted_name" => {
                // A class pattern or an old-style name: first part used, rest as attributes.
                let mut c = n.walk();
                let parts: Vec<String> = n.named_children(&mut c).map(|p| self.name(p)).collect();
                if let Some((first, rest)) = parts.split_first() {
                    self.t
                        .use_name(n, scope, first.clone(), rest.to_vec(), RefKind::Data, false);
                }
            }
            "class_pattern" | "keyword_pattern" => {
                let mut c = n.walk();
                let children: Vec<Node<'t>> = n.named_children(&mut c).collect();
                for ch in children.into_iter().rev() {
                    let binding = self.kind(ch) != "dotted_name" && ctx.binding;
                    self.stack.push((
                        ch,
                        scope,
                        Ctx {
                            binding,
                            ..Ctx::plain()
                        },
                    ));
                }
            }
            "yield" | "return_statement" => self.push_children(n, scope, Ctx::plain()),
            _ => self.push_children(
                n,
                scope,
                Ctx {
                    binding: false,
                    ..ctx
                },
            ),
        }
    }

    fn function(&mut self, n: Node<'t>, scope: ScopeId) {
        self.t.fact(n, Fact::Definition);
        let name = n
            .child_by_field_name("name")
            .map(|x| self.name(x))
            .unwrap_or_default();
        if let Some(id) = self.field(n, "name") {
            self.t.bind(scope, &name, id.start_byte());
            self.define_function(scope, &name);
        }
        let qualified = self.qualify(scope, &name);
        let in_class = self.t.scopes[scope].kind == ScopeKind::Class;
        let inner = self.t.new_scope(scope, ScopeKind::Function, qualified);
        self.function_body(inner);
        if in_class {
            let class_q = self.t.scopes[scope].qualified.clone();
            self.t.scopes[inner].self_class = Some(class_q);
            self.t.scopes[inner].self_name = first_param_name(self.src, n);
            // The class scope's first base, for `super()`.
            self.t.scopes[inner].first_base = self.t.scopes[scope].first_base.clone();
        } else if self.t.scopes[scope].kind == ScopeKind::Function {
            let base = self.t.scopes[scope].first_base.clone();
            self.t.scopes[inner].first_base = base;
        }
        self.push(self.field(n, "body"), inner, Ctx::plain());
        self.push(
            self.field(n, "return_type"),
            scope,
            Ctx {
                ty: true,
                ..Ctx::plain()
            },
        );
        if let Some(params) = self.field(n, "parameters") {
            self.parameters(params, scope, inner);
        }
        if let Some(tp) = self.field(n, "type_parameters") {
            self.type_parameters(tp, inner);
        }
    }

    /// Parameters bind in `inner`; annotations and defaults are evaluated in `outer`.
    fn parameters(&mut self, params: Node<'t>, outer: ScopeId, inner: ScopeId) {
        let mut c = params.walk();
        let list: Vec<Node<'t>> = params.named_children(&mut c).collect();
        for p in list {
            match self.kind(p) {
                "identifier" => self.t.bind(inner, &self.name(p), p.start_byte()),
                "typed_parameter" => {
                    let mut c2 = p.walk();
                    for ch in p.named_children(&mut c2) {
                        match self.kind(ch) {
                            "identifier" => self.t.bind(inner, &self.name(ch), ch.start_byte()),
                            "list_splat_pattern" | "dictionary_splat_pattern" => {
                                if let Some(id) = ch.named_child(0) {
                                    self.t.bind(inner, &self.name(id), id.start_byte());
                                }
                            }
                            _ => {}
                        }
                    }
                    self.push(
                        self.field(p, "type"),
                        outer,
                        Ctx {
                            ty: true,
                            ..Ctx::plain()
                        },
                    );
                }
                "default_parameter" | "typed_default_parameter" => {
                    if let Some(name) = self.field(p, "name") {
                        let mut names = Vec::new();
                        crate::classify::pattern_names(self.src, name, &mut names);
                        for nm in names {
                            self.t.bind(inner, &nm, name.start_byte());
                        }
                    }
                    self.push(
                        self.field(p, "type"),
                        outer,
                        Ctx {
                            ty: true,
                            ..Ctx::plain()
                        },
                    );
                    self.push(self.field(p, "value"), outer, Ctx::plain());
                }
                "list_splat_pattern" | "dictionary_splat_pattern" | "tuple_pattern" => {
                    let mut names = Vec::new();
                    crate::classify::pattern_names(self.src, p, &mut names);
                    for nm in names {
                        self.t.bind(inner, &nm, p.start_byte());
                    }
                }
                _ => {}
            }
        }
    }

    fn type_parameters(&mut self, tp: Node<'t>, scope: ScopeId) {
        let mut c = tp.walk();
        let list: Vec<Node<'t>> = tp.named_children(&mut c).collect();
        for p in list {
            if let Some(id) = p.named_child(0).filter(|x| self.kind(*x) == "identifier") {
                self.t.bind(scope, &self.name(id), id.start_byte());
            }
        }
    }

    fn class(&mut self, n: Node<'t>, scope: ScopeId) {
        self.t.fact(n, Fact::Definition);
        let name = n
            .child_by_field_name("name")
            .map(|x| self.name(x))
            .unwrap_or_default();
        if let Some(id) = self.field(n, "name") {
            self.t.bind(scope, &name, id.start_byte());
        }
        let qualified = self.qualify(scope, &name);
        let inner = self.t.new_scope(scope, ScopeKind::Class, qualified);
        self.push(self.field(n, "body"), inner, Ctx::plain());
        if let Some(sup) = self.field(n, "superclasses") {
            let mut c = sup.walk();
            let args: Vec<Node<'t>> = sup.named_children(&mut c).collect();
            for a in args.into_iter().rev() {
                if self.kind(a) == "keyword_argument" {
                    self.push(self.field(a, "value"), scope, Ctx::plain());
                } else {
                    if matches!(self.kind(a), "identifier" | "attribute") {
                        let (base, attrs) =
                            member_chain(self.src, a, "attribute", "object", "attribute");
                        if self.kind(base) == "identifier" {
                            self.t.scopes[inner].first_base = Some((self.name(base), attrs));
                        }
                    }
                    self.stack.push((
                        a,
                        scope,
                        Ctx {
                            base: true,
                            ..Ctx::plain()
                        },
                    ));
                }
            }
        }
        if let Some(tp) = self.field(n, "type_parameters") {
            self.type_parameters(tp, inner);
        }
    }

    /// A string in an annotation (`-> "Item"`, `list["Node"]`, `"Tree | None"`) is a forward
    /// reference: its capitalized dotted names are type uses. Lower-case words are left out, so
    /// `Literal["open", "closed"]` values make no reference.
    fn forward_references(&mut self, n: Node<'t>, scope: ScopeId) {
        let mut c = n.walk();
        let mut content = String::new();
        for ch in n.named_children(&mut c) {
            match self.kind(ch) {
                "string_content" => content.push_str(text(self.src, ch)),
                "string_start" | "string_end" => {}
                // An f-string or an escape: not a plain forward reference.
                _ => return,
            }
        }
        let names = content
            .split(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '.'))
            .filter(|word| word.starts_with(|ch: char| ch.is_uppercase()));
        for dotted in names {
            let mut parts = dotted.split('.').map(str::to_string);
            let Some(name) = parts.next() else { continue };
            let attrs: Vec<String> = parts.filter(|p| !p.is_empty()).collect();
            self.t.use_name(n, scope, name, attrs, RefKind::Type, false);
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

    fn attribute(&mut self, n: Node<'t>, scope: ScopeId, ctx: Ctx) {
        let (base, attrs) = member_chain(self.src, n, "attribute", "object", "attribute");
        let chain_text = text(self.src, n);
        if !ctx.callee && chain_text.len() <= 80 && !chain_text.contains('\n') {
            self.t.callee(n, chain_text, false);
        }
        match self.kind(base) {
            "identifier" => {
                let name = self.name(base);
                let sc = &self.t.scopes[scope];
                if sc.self_name.as_deref() == Some(name.as_str()) && sc.self_class.is_some() {
                    let class = sc.self_class.clone().unwrap_or_default();
                    if ctx.binding {
                        if let Some(first) = attrs.first() {
                            self.t.member(n, scope, &class, first);
                        }
                    } else {
                        let member = attrs[..1.min(attrs.len())].to_vec();
                        self.t
                            .use_name(base, scope, class, member, RefKind::SelfMember, false);
                    }
                } else {
                    let kind = if ctx.binding {
                        RefKind::Data
                    } else {
                        ctx.kind()
                    };
                    self.t.use_name(base, scope, name, attrs, kind, false);
                }
            }
            "call" => {
                let f = self.field(base, "function");
                if f.is_some_and(|f| text(self.src, f) == "super") {
                    if let Some(first) = attrs.first() {
                        self.super_use(base, scope, first);
                    }
                    self.push(self.field(base, "arguments"), scope, Ctx::plain());
                } else {
                    self.stack.push((base, scope, Ctx::plain()));
                }
            }
            _ => self.stack.push((base, scope, Ctx::plain())),
        }
    }

    fn import(&mut self, n: Node<'t>, scope: ScopeId) {
        let line = n.start_position().row as u32 + 1;
        let mut records: Vec<(String, String, Option<String>, ImportKind, usize)> = Vec::new();
        match self.kind(n) {
            "import_statement" => {
                let mut c = n.walk();
                for ch in n.named_children(&mut c) {
                    match self.kind(ch) {
                        "dotted_name" => {
                            let module = self.name(ch);
                            let local = module.split('.').next().unwrap_or("").to_string();
                            records.push((
                                local,
                                module,
                                None,
                                ImportKind::Module,
                                ch.start_byte(),
                            ));
                        }
                        "aliased_import" => {
                            let module = ch
                                .child_by_field_name("name")
                                .map(|x| self.name(x))
                                .unwrap_or_default();
                            let local = ch
                                .child_by_field_name("alias")
                                .map(|x| self.name(x))
                                .unwrap_or_default();
                            records.push((
                                local,
                                module,
                                None,
                                ImportKind::Module,
                                ch.start_byte(),
                            ));
                        }
                        _ => {}
                    }
                }
            }
            "import_from_statement" => {
                let module_node = self.field(n, "module_name");
                let module = module_node.map(|m| self.name(m)).unwrap_or_default();
                let mut c = n.walk();
                for ch in n.named_children(&mut c) {
                    if Some(ch) == module_node {
                        continue;
                    }
                    match self.kind(ch) {
                        "dotted_name" => {
                            let name = self.name(ch);
                            records.push((
                                name.clone(),
                                module.clone(),
                                Some(name),
                                ImportKind::Named,
                                ch.start_byte(),
                            ));
                        }
                        "aliased_import" => {
                            let name = ch
                                .child_by_field_name("name")
                                .map(|x| self.name(x))
                                .unwrap_or_default();
                            let local = ch
                                .child_by_field_name("alias")
                                .map(|x| self.name(x))
                                .unwrap_or_default();
                            records.push((
                                local,
                                module.clone(),
                                Some(name),
                                ImportKind::Named,
                                ch.start_byte(),
                            ));
                        }
                        "wildcard_import" => {
                            records.push((
                                String::new(),
                                module.clone(),
                                None,
                                ImportKind::Wildcard,
                                ch.start_byte(),
                            ));
                        }
                        _ => {}
                    }
                }
            }
            _ => return,
        }
        for (local, module, imported, kind, pos) in records {
            if !local.is_empty() {
                self.t.bind(scope, &local, pos);
            }
            if scope == MODULE {
                self.t.imports.push(RawImport {
                    pos,
                    local,
                    module,
                    imported,
                    kind,
                    line,
                });
            }
        }
    }
}

/// Name of the first parameter of a method (`self`, `cls`), unless it is a static method.
fn first_param_name(src: &str, def: Node) -> Option<String> {
    if let Some(parent) = def.parent() {
        if parent.kind() == "decorated_definition" && text(src, parent).contains("@staticmethod") {
            return None;
        }
    }
    let params = child_by_field(def, "parameters")?;
    let first = params.named_child(0)?;
    let id = match first.kind() {
        "identifier" => first,
        "typed_parameter" => first.named_child(0).filter(|x| x.kind() == "identifier")?,
        _ => return None,
    };
    Some(text(src, id).to_string())
}

/// Whether a string literal is an f-string (its prefix, before the quote, holds `f` or `F`).
fn is_f_string(literal: &str) -> bool {
    literal
        .bytes()
        .take_while(|&b| b != b'"' && b != b'\'')
        .any(|b| b == b'f' || b == b'F')
}
