//! Scopes, bindings and uses of a whole file, shared by the Python and TS/JS walkers, and the
//! resolution of uses into references: a use bound by a function, lambda, comprehension or
//! class scope is local and dropped; a use bound at module level or not bound at all (and not a
//! builtin) is a reference.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use tree_sitter::Node;

use crate::model::{ImportKind, RefKind, Reference};

pub(crate) type ScopeId = usize;
pub(crate) const MODULE: ScopeId = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeKind {
    Module,
    Function,
    Class,
    Comprehension,
}

#[derive(Debug)]
pub(crate) struct Scope {
    pub parent: Option<ScopeId>,
    pub kind: ScopeKind,
    pub bindings: HashSet<String>,
    /// Python `global`/`nonlocal` names: not local to this scope.
    pub declared_outer: HashSet<String>,
    /// Qualified name of the class this scope's `self`/`this` denotes.
    pub self_class: Option<String>,
    /// Name of the receiver parameter (`self`, `cls`) or `this`.
    pub self_name: Option<String>,
    /// Qualified name of the scope (`Class`, `Class.method`, `outer.inner`).
    pub qualified: String,
    /// First base class of a class scope, as written.
    pub first_base: Option<(String, Vec<String>)>,
}

/// A use of a name (or of `self.x`, `super().x`).
#[derive(Debug, Clone)]
pub(crate) struct Usage {
    pub pos: usize,
    pub line: u32,
    pub column: u32,
    pub scope: ScopeId,
    pub name: String,
    pub attrs: Vec<String>,
    pub kind: RefKind,
    /// An assignment to the name (for the side-effect rule).
    pub write: bool,
}

/// A module-level or class-member binding and where it is written.
#[derive(Debug, Clone)]
pub(crate) struct Definition {
    pub pos: usize,
    pub name: String,
    /// A member assigned through `self`/`this` in a method rather than declared in the class
    /// body: it defines the member only where no declaration does (see `member_definers`).
    pub assigned: bool,
}

/// An import binding made at module level, before it is attached to an atom.
#[derive(Debug, Clone)]
pub(crate) struct RawImport {
    pub pos: usize,
    pub local: String,
    pub module: String,
    pub imported: Option<String>,
    pub kind: ImportKind,
    pub line: u32,
}

/// Tree facts the atomicity rules use, located by byte position.
#[derive(Debug, Clone)]
pub(crate) enum Fact {
    /// A decision point (cyclomatic complexity).
    Decision,
    /// A call; the callee as dotted text (`time.time`, `new Date`).
    Call(String),
    /// An attribute read (`os.environ`, `process.env`).
    Attribute(String),
    /// `global`/`nonlocal` or an assignment to a module-level name from a function.
    GlobalWrite(String),
    /// A function or class definition.
    Definition,
}

#[derive(Debug, Default)]
pub(crate) struct SymbolTable {
    pub scopes: Vec<Scope>,
    pub usages: Vec<Usage>,
    /// Module-level bindings (imports included).
    pub module_defs: Vec<Definition>,
    /// Class members, as `Class.member`.
    pub member_defs: Vec<Definition>,
    pub imports: Vec<RawImport>,
    pub facts: Vec<(usize, Fact)>,
    /// Positions of module-level bindings per name (to tell a module write from a local one).
    module_names: HashMap<String, usize>,
}

impl SymbolTable {
    pub(crate) fn new() -> SymbolTable {
        let mut t = SymbolTable::default();
        t.scopes.push(Scope {
            parent: None,
            kind: ScopeKind::Module,
            bindings: HashSet::default(),
            declared_outer: HashSet::default(),
            self_class: None,
            self_name: None,
            qualified: String::new(),
            first_base: None,
        });
        t
    }

    pub(crate) fn new_scope(
        &mut self,
        parent: ScopeId,
        kind: ScopeKind,
        qualified: String,
    ) -> ScopeId {
        let (self_class, self_name) = if kind == ScopeKind::Class {
            (None, None)
        } else {
            (
                self.scopes[parent].self_class.clone(),
                self.scopes[parent].self_name.clone(),
            )
        };
        self.scopes.push(Scope {
            parent: Some(parent),
            kind,
            bindings: HashSet::default(),
            declared_outer: HashSet::default(),
            self_class,
            self_name,
            qualified,
            first_base: None,
        });
        self.scopes.len() - 1
    }

    /// Binds `name` in `scope`; module-level bindings are recorded as definitions at `pos`.
    pub(crate) fn bind(&mut self, scope: ScopeId, name: &str, pos: usize) {
        if name.is_empty() {
            return;
        }
        let s = &mut self.scopes[scope];
        if s.declared_outer.contains(name) {
            // `global x; x = 1` writes the module binding.
            self.facts.push((pos, Fact::GlobalWrite(name.to_string())));
            return;
        }
        s.bindings.insert(name.to_string());
        match s.kind {
            ScopeKind::Module => {
                self.module_names.entry(name.to_string()).or_insert(pos);
                self.module_defs.push(Definition {
                    pos,
                    name: name.to_string(),
                    assigned: false,
                });
            }
            ScopeKind::Class => {
                let qualified = format!("{}.{}", s.qualified, name);
                self.member_defs.push(Definition {
                    pos,
                    name: qualified,
                    assigned: false,
                });
            }
            _ => {}
        }
    }

    /// Records a `self.x = …` / `this.x += …` assignment to `Class.member` at `node` in
    /// `scope`: a candidate definition, and a use of the member (which links the writer to
    /// the member's definer when the writer is not itself one).
    pub(crate) fn member(&mut self, node: Node, scope: ScopeId, class: &str, member: &str) {
        self.member_defs.push(Definition {
            pos: node.start_byte(),
            name: format!("{class}.{member}"),
            assigned: true,
        });
        self.use_name(
            node,
            scope,
            class.to_string(),
            vec![member.to_string()],
            RefKind::SelfMember,
            true,
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn use_name(
        &mut self,
        node: Node,
        scope: ScopeId,
        name: String,
        attrs: Vec<String>,
        kind: RefKind,
        write: bool,
    ) {
        let p = node.start_position();
        self.usages.push(Usage {
            pos: node.start_byte(),
            line: p.row as u32 + 1,
            column: p.column as u32 + 1,
            scope,
            name,
            attrs,
            kind,
            write,
        });
    }

    /// Records a call (or attribute read) only when an atomicity rule cares about it.
    pub(crate) fn callee(&mut self, node: Node, callee: &str, is_call: bool) {
        let relevant = crate::facts::is_nondeterministic(callee)
            || (is_call && crate::facts::is_side_effect(callee));
        if relevant {
            let f = if is_call {
                Fact::Call(callee.to_string())
            } else {
                Fact::Attribute(callee.to_string())
            };
            self.facts.push((node.start_byte(), f));
        }
    }

    pub(crate) fn fact(&mut self, node: Node, fact: Fact) {
        self.facts.push((node.start_byte(), fact));
    }

    /// The nearest scope (from `scope` up) that binds `name`, Python rules: class scopes are
    /// skipped when looking up from an inner function.
    fn binding_scope(&self, scope: ScopeId, name: &str) -> Option<ScopeId> {
        let mut cur = Some(scope);
        let mut first = true;
        while let Some(s) = cur {
            let sc = &self.scopes[s];
            let visible = first || sc.kind != ScopeKind::Class;
            if visible && sc.bindings.contains(name) && !sc.declared_outer.contains(name) {
                return Some(s);
            }
            first = false;
            cur = sc.parent;
        }
        None
    }

    /// Turns the uses into references (positioned), dropping locals and builtins; module
    /// writes from functions become `GlobalWrite` facts. The uses are consumed.
    pub(crate) fn references(&mut self, is_builtin: fn(&str) -> bool) -> Vec<(usize, Reference)> {
        let usages = std::mem::take(&mut self.usages);
        let mut out = Vec::with_capacity(usages.len());
        let mut extra_facts = Vec::new();
        for u in usages {
            let keep = match u.kind {
                RefKind::SelfMember => true,
                // `super().__init__()` of a builtin base (`Exception`, `Error`) is no reference.
                RefKind::SuperCall => !is_builtin(&u.name),
                _ => match self.binding_scope(u.scope, &u.name) {
                    Some(MODULE) => {
                        if u.write
                            && u.scope != MODULE
                            && self.scopes[u.scope].kind != ScopeKind::Class
                        {
                            extra_facts.push((u.pos, Fact::GlobalWrite(u.name.clone())));
                        }
                        true
                    }
                    Some(_) => false,
                    None => !is_builtin(&u.name),
                },
            };
            if keep {
                out.push((
                    u.pos,
                    Reference {
                        name: u.name,
                        attrs: u.attrs,
                        kind: u.kind,
                        line: u.line,
                        column: u.column,
                    },
                ));
            }
        }
        self.facts.extend(extra_facts);
        out
    }
}

/// The dotted chain of an attribute/member expression: `a.b.c` gives `(base node, ["b","c"])`.
/// Stops at the first object that is not itself an attribute access.
pub(crate) fn member_chain<'t>(
    src: &str,
    mut node: Node<'t>,
    attr_kind: &str,
    object_field: &str,
    name_field: &str,
) -> (Node<'t>, Vec<String>) {
    let mut attrs = Vec::new();
    while node.kind() == attr_kind {
        let (Some(obj), Some(name)) = (
            crate::parse::child_by_field(node, object_field),
            crate::parse::child_by_field(node, name_field),
        ) else {
            break;
        };
        attrs.push(src[name.byte_range()].to_string());
        node = obj;
    }
    attrs.reverse();
    (node, attrs)
}
