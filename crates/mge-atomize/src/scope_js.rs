//! TS/JS scope walk (iterative). Functions, arrow functions, methods, classes and namespaces
//! open scopes; declarations anywhere in a function body (`var`, `let`, `const`, functions,
//! classes, catch parameters) bind in that function's scope. Type identifiers are type uses;
//! type parameters bind like locals.

use tree_sitter::Node;

use crate::classify::text;
use crate::model::RefKind;
use crate::parse::Grammar;
use crate::symbols::{member_chain, Fact, ScopeId, ScopeKind, SymbolTable};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ctx {
    pub(crate) binding: bool,
    pub(crate) base: bool,
    pub(crate) callee: bool,
    pub(crate) write: bool,
}

impl Ctx {
    pub(crate) fn plain() -> Ctx {
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

pub(crate) type Walker<'s, 't> = crate::scope_walk::Walker<'s, 't, Ctx>;

pub(crate) fn walk(src: &str, root: Node, grammar: Grammar) -> SymbolTable {
    Walker::run(src, root, grammar, Walker::visit)
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
    pub(crate) fn visit(&mut self, n: Node<'t>, scope: ScopeId, ctx: Ctx) {
        let kind = self.kind(n);
        if FUNCTION_KINDS.contains(&kind) {
            self.function(n, scope);
            return;
        }
        if matches!(kind, "function_type" | "constructor_type") {
            // `(row: number, col: number) => number`: the parameter names are bound in the type.
            let q = self.t.scopes[scope].qualified.clone();
            let inner = self.t.new_scope(scope, ScopeKind::Function, q);
            self.push(self.field(n, "return_type"), inner, Ctx::plain());
            self.push(self.field(n, "type"), inner, Ctx::plain());
            if let Some(params) = self.field(n, "parameters") {
                self.parameters(params, inner);
            }
            self.push(self.field(n, "type_parameters"), inner, Ctx::plain());
            return;
        }
        match kind {
            "comment"
            // A plain string literal holds fragments and escapes, never a name.
            | "string"
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
                    if let Some(outer) = self.nested_function(scope, &name).cloned() {
                        // A nested function declaration, reached like a member of the
                        // enclosing function (see scope_py).
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
                if let Some(name) = self.field(n, "name") {
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
                    if Some(ch) == self.field(n, "name") {
                        continue;
                    }
                    let base = self.kind(ch) == "extends_type_clause";
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
                if let Some(name) = self.field(n, "name") {
                    self.t.bind(scope, &self.name(name), name.start_byte());
                }
                self.push(self.field(n, "constraint"), scope, Ctx::plain());
                self.push(self.field(n, "value"), scope, Ctx::plain());
            }
            "enum_declaration" => {
                if let Some(name) = self.field(n, "name") {
                    self.t.bind(scope, &self.name(name), name.start_byte());
                }
                self.push(self.field(n, "body"), scope, Ctx::plain());
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
                        .or_else(|| self.field(n, "property"))
                    {
                        self.t.bind(scope, &self.name(name), name.start_byte());
                    }
                }
                let key = n
                    .child_by_field_name("name")
                    .or_else(|| self.field(n, "key"))
                    .or_else(|| self.field(n, "property"));
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
                    .filter(|ch| Some(*ch) != key || self.kind(*ch) == "computed_property_name")
                    .collect();
                for ch in children.into_iter().rev() {
                    let at = if self.kind(ch) == "computed_property_name" {
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
                    .filter(|x| self.kind(*x) == "identifier")
                {
                    self.t.bind(scope, &self.name(name), name.start_byte());
                }
                let inner = self.t.new_scope(
                    scope,
                    ScopeKind::Function,
                    self.t.scopes[scope].qualified.clone(),
                );
                self.push(self.field(n, "body"), inner, Ctx::plain());
            }
            "variable_declarator" => {
                self.push(self.field(n, "value"), scope, Ctx::plain());
                self.push(self.field(n, "type"), scope, Ctx::plain());
                self.push(
                    self.field(n, "name"),
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
                        self.push(self.field(n, "right"), scope, Ctx::plain());
                        self.push(self.field(n, "left"), scope, ctx);
                    }
                    "pair_pattern" => {
                        self.push(self.field(n, "value"), scope, ctx);
                        if let Some(k) = n
                            .child_by_field_name("key")
                            .filter(|k| self.kind(*k) == "computed_property_name")
                        {
                            self.stack.push((k, scope, Ctx::plain()));
                        }
                    }
                    _ => self.push_children(n, scope, ctx),
                }
            }
            "catch_clause" => {
                self.t.fact(n, Fact::Decision);
                self.push(self.field(n, "body"), scope, Ctx::plain());
                self.push(self.field(n, "type"), scope, Ctx::plain());
                self.push(
                    self.field(n, "parameter"),
                    scope,
                    Ctx {
                        binding: true,
                        ..Ctx::plain()
                    },
                );
            }
            "for_in_statement" => {
                self.t.fact(n, Fact::Decision);
                let declares = self.field(n, "kind").is_some();
                self.push(self.field(n, "body"), scope, Ctx::plain());
                self.push(self.field(n, "right"), scope, Ctx::plain());
                self.push(
                    self.field(n, "left"),
                    scope,
                    Ctx {
                        binding: declares,
                        write: !declares,
                        ..Ctx::plain()
                    },
                );
            }
            "assignment_expression" | "augmented_assignment_expression" => {
                self.push(self.field(n, "right"), scope, Ctx::plain());
                let left = self.field(n, "left");
                if let Some(l) = left {
                    if self.kind(l) == "member_expression" {
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
                let f = self.field(n, "function");
                if let Some(f) = f {
                    let callee = text(self.src, f);
                    if callee.len() <= 80 && !callee.contains('\n') {
                        self.t.callee(n, callee, true);
                    }
                    if self.kind(f) == "super" {
                        self.super_use(f, scope, "constructor");
                    }
                }
                self.push(self.field(n, "arguments"), scope, Ctx::plain());
                self.push(self.field(n, "type_arguments"), scope, Ctx::plain());
                if f.is_some_and(|f| self.kind(f) != "super") {
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
                if let Some(c) = self.field(n, "constructor") {
                    let callee = text(self.src, c);
                    if callee.len() <= 80 {
                        self.t.callee(n, &format!("new {callee}"), true);
                    }
                }
                self.push(self.field(n, "arguments"), scope, Ctx::plain());
                self.push(self.field(n, "type_arguments"), scope, Ctx::plain());
                self.push(
                    self.field(n, "constructor"),
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
                if let Some(name) = self.field(n, "name") {
                    let t = self.name(name);
                    if t.starts_with(|c: char| c.is_ascii_uppercase())
                        || self.kind(name) == "member_expression"
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
                self.push(self.field(n, "type_arguments"), scope, Ctx::plain());
                self.push(
                    self.field(n, "value"),
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
                    let base = !matches!(self.kind(ch), "extends_clause" | "implements_clause");
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
                if let Some(op) = self.field(n, "operator") {
                    if matches!(self.kind(op), "&&" | "||" | "??") {
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

    pub(crate) fn super_use(&mut self, n: Node<'t>, scope: ScopeId, member: &str) {
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
        if self.kind(base) == "this" && attrs.len() == 1 {
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
        match self.kind(base) {
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
}
