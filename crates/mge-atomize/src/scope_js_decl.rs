//! TS/JS declarations in the scope walk: functions and their parameters, classes, imports and
//! exports. Expressions, patterns and references are walked in `scope_js`.

use tree_sitter::Node;

use crate::classify::text;
use crate::model::{ImportKind, RefKind};
use crate::parse::child_by_field;
use crate::scope_js::{Ctx, Walker};
use crate::symbols::{member_chain, Fact, RawImport, ScopeId, ScopeKind, MODULE};

impl<'s, 't> Walker<'s, 't> {
    pub(crate) fn function(&mut self, n: Node<'t>, scope: ScopeId) {
        self.t.fact(n, Fact::Definition);
        let kind = self.kind(n);
        let name_node = self.field(n, "name");
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
                self.define_function(scope, &name);
            }
        }
        let named = !name.is_empty();
        let qualified = if name.is_empty() {
            self.t.scopes[scope].qualified.clone()
        } else {
            self.qualify(scope, &name)
        };
        let inner = self.t.new_scope(scope, ScopeKind::Function, qualified);
        if named {
            self.function_body(inner);
        }
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
        self.push(self.field(n, "body"), inner, Ctx::plain());
        self.push(self.field(n, "return_type"), inner, Ctx::plain());
        if let Some(p) = self.field(n, "parameter") {
            self.t.bind(inner, &self.name(p), p.start_byte());
        }
        if let Some(params) = self.field(n, "parameters") {
            self.parameters(params, inner);
        }
        self.push(self.field(n, "type_parameters"), inner, Ctx::plain());
        if kind == "method_definition" {
            if let Some(id) = name_node.filter(|x| self.kind(*x) == "computed_property_name") {
                self.stack.push((id, scope, Ctx::plain()));
            }
        }
    }

    pub(crate) fn parameters(&mut self, params: Node<'t>, inner: ScopeId) {
        let mut c = params.walk();
        let list: Vec<Node<'t>> = params.named_children(&mut c).collect();
        for p in list.into_iter().rev() {
            match self.kind(p) {
                "required_parameter" | "optional_parameter" => {
                    self.push(self.field(p, "value"), inner, Ctx::plain());
                    self.push(self.field(p, "type"), inner, Ctx::plain());
                    let pattern = p
                        .child_by_field_name("pattern")
                        .or_else(|| self.field(p, "name"));
                    let mut c2 = p.walk();
                    let is_property = p.children(&mut c2).any(|ch| {
                        self.kind(ch) == "accessibility_modifier" || self.kind(ch) == "readonly"
                    });
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

    pub(crate) fn class(&mut self, n: Node<'t>, scope: ScopeId) {
        self.t.fact(n, Fact::Definition);
        let name_node = self.field(n, "name");
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
            if self.kind(*ch) == "class_heritage" {
                if let Some(base) = first_base(self.src, *ch) {
                    self.t.scopes[inner].first_base = Some(base);
                }
            }
        }
        for ch in children.into_iter().rev() {
            if Some(ch) == name_node {
                continue;
            }
            match self.kind(ch) {
                "class_body" => self.stack.push((ch, inner, Ctx::plain())),
                "type_parameters" | "class_heritage" => {
                    self.stack.push((ch, params_scope, Ctx::plain()))
                }
                _ => self.stack.push((ch, scope, Ctx::plain())),
            }
        }
    }

    pub(crate) fn import(&mut self, n: Node<'t>, scope: ScopeId) {
        let line = n.start_position().row as u32 + 1;
        let module = n
            .child_by_field_name("source")
            .map(|s| unquote(text(self.src, s)))
            .unwrap_or_default();
        let mut records: Vec<(String, Option<String>, ImportKind, usize)> = Vec::new();
        let mut c = n.walk();
        for ch in n.named_children(&mut c) {
            match self.kind(ch) {
                "import_clause" => {
                    let mut c2 = ch.walk();
                    for part in ch.named_children(&mut c2) {
                        match self.kind(part) {
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
                                    .filter(|s| self.kind(*s) == "import_specifier")
                                {
                                    let (name, local) = specifier_names(self.src, spec);
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
                    if let Some(id) = ch.named_child(0).filter(|x| self.kind(*x) == "identifier") {
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
        if records.is_empty() && self.field(n, "source").is_some() && scope == MODULE {
            let mut c4 = n.walk();
            if !n.named_children(&mut c4).any(|ch| {
                self.kind(ch) == "import_clause" || self.kind(ch) == "import_require_clause"
            }) {
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

    pub(crate) fn export(&mut self, n: Node<'t>, scope: ScopeId) {
        let line = n.start_position().row as u32 + 1;
        let source = n
            .child_by_field_name("source")
            .map(|s| unquote(text(self.src, s)));
        let mut c = n.walk();
        let children: Vec<Node<'t>> = n.named_children(&mut c).collect();
        if let Some(module) = source {
            let mut any = false;
            for ch in &children {
                match self.kind(*ch) {
                    "export_clause" => {
                        let mut c2 = ch.walk();
                        let kinds = self.kinds;
                        for spec in ch
                            .named_children(&mut c2)
                            .filter(|s| kinds.name(*s) == "export_specifier")
                        {
                            let (name, local) = specifier_names(self.src, spec);
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
            match self.kind(ch) {
                "export_clause" => {
                    let mut c2 = ch.walk();
                    let specs: Vec<Node<'t>> = ch
                        .named_children(&mut c2)
                        .filter(|s| self.kind(*s) == "export_specifier")
                        .collect();
                    for spec in specs {
                        if let Some(name) = spec
                            .child_by_field_name("name")
                            .filter(|x| self.kind(*x) == "identifier")
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
        if self.field(n, "value").is_some() || children_has_default(n) {
            self.t.bind(scope, "default", n.start_byte());
        }
    }
}

fn children_has_default(n: Node) -> bool {
    let mut c = n.walk();
    let found = n.children(&mut c).any(|ch| ch.kind() == "default");
    found
}

/// The exported name of an import or export specifier and the local name it binds
/// (`name as alias`, `"quoted" as alias`).
fn specifier_names(src: &str, spec: Node) -> (String, String) {
    let name = spec
        .child_by_field_name("name")
        .map(|x| unquote(text(src, x)))
        .unwrap_or_default();
    let local = spec
        .child_by_field_name("alias")
        .map(|x| unquote(text(src, x)))
        .unwrap_or_else(|| name.clone());
    (name, local)
}

fn unquote(s: &str) -> String {
    s.trim_matches(|c| c == '"' || c == '\'' || c == '`')
        .to_string()
}

fn first_base(src: &str, heritage: Node) -> Option<(String, Vec<String>)> {
    let mut c = heritage.walk();
    for ch in heritage.named_children(&mut c) {
        let expr = if ch.kind() == "extends_clause" {
            child_by_field(ch, "value")?
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
