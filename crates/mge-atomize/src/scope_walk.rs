//! The scaffolding the Python and TS/JS scope walks share: an explicit stack of
//! `(node, scope, context)` (no recursion, so deep trees cannot overflow the call stack), one
//! reused tree cursor, and the symbol table being filled. Each language keeps its own context
//! type `C` and its own `visit`.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use tree_sitter::{Node, TreeCursor};

use crate::classify::text;
use crate::parse::{Grammar, KindTable};
use crate::symbols::{ScopeId, ScopeKind, SymbolTable, MODULE};

/// Up to this many named children, [`Walker::push_children`] looks them up by index (a scan
/// from the first child per lookup); beyond, it steps a tree cursor once through them.
const INDEXED_CHILDREN_MAX: usize = 8;

pub(crate) struct Walker<'s, 't, C> {
    pub(crate) src: &'s str,
    /// The grammar's kind and field tables (no C-string conversions per node).
    pub(crate) kinds: &'static KindTable,
    pub(crate) t: SymbolTable,
    pub(crate) stack: Vec<(Node<'t>, ScopeId, C)>,
    cursor: TreeCursor<'t>,
    /// Functions defined inside functions, by (enclosing scope, name): the enclosing
    /// function's qualified name. A split outer function gets its nested functions cut out as
    /// atoms of their own, which a call from the outer function's blocks must reach.
    nested: HashMap<(ScopeId, String), String>,
    /// Body scopes of named functions and methods: the scopes whose nested functions are
    /// recorded.
    function_bodies: HashSet<ScopeId>,
}

impl<'s, 't, C: Copy + Default> Walker<'s, 't, C> {
    /// Visits `root` and everything `visit` pushes, in stack order, starting at module scope
    /// with the default context; returns the filled symbol table.
    pub(crate) fn run(
        src: &'s str,
        root: Node<'t>,
        grammar: Grammar,
        visit: fn(&mut Self, Node<'t>, ScopeId, C),
    ) -> SymbolTable {
        let mut w = Walker {
            src,
            kinds: grammar.kinds(),
            t: SymbolTable::new(),
            stack: vec![(root, MODULE, C::default())],
            cursor: root.walk(),
            nested: HashMap::default(),
            function_bodies: HashSet::default(),
        };
        while let Some((n, scope, ctx)) = w.stack.pop() {
            visit(&mut w, n, scope, ctx);
        }
        w.t
    }

    pub(crate) fn push(&mut self, n: Option<Node<'t>>, scope: ScopeId, ctx: C) {
        if let Some(n) = n {
            self.stack.push((n, scope, ctx));
        }
    }

    /// Pushes the named children so that they are visited in source order.
    pub(crate) fn push_children(&mut self, n: Node<'t>, scope: ScopeId, ctx: C) {
        let count = n.named_child_count();
        if count == 0 {
            return;
        }
        if count <= INDEXED_CHILDREN_MAX {
            // By index, last first: each lookup is a short scan of the children, cheaper than
            // the cursor's sibling steps for the few children most nodes have.
            for i in (0..count).rev() {
                if let Some(ch) = n.named_child(i) {
                    self.stack.push((ch, scope, ctx));
                }
            }
            return;
        }
        // One shared cursor, no allocation: push in order, then reverse the pushed run.
        let Walker { cursor, stack, .. } = self;
        let start = stack.len();
        for ch in n.named_children(cursor) {
            stack.push((ch, scope, ctx));
        }
        stack[start..].reverse();
    }

    /// The node's kind (`Node::kind`, from the grammar's table).
    pub(crate) fn kind(&self, n: Node) -> &'static str {
        self.kinds.name(n)
    }

    /// The child in field `name` (`Node::child_by_field_name`, by field id).
    pub(crate) fn field(&self, n: Node<'t>, name: &str) -> Option<Node<'t>> {
        self.kinds.child(n, name)
    }

    pub(crate) fn name(&self, n: Node) -> String {
        text(self.src, n).to_string()
    }

    /// `name` qualified by the scope it is defined in (`Class.method`).
    pub(crate) fn qualify(&self, scope: ScopeId, name: &str) -> String {
        let q = &self.t.scopes[scope].qualified;
        if q.is_empty() {
            name.to_string()
        } else {
            format!("{q}.{name}")
        }
    }

    /// Marks `scope` as the body of a named function or method, whose qualified name is the
    /// scope's.
    pub(crate) fn function_body(&mut self, scope: ScopeId) {
        self.function_bodies.insert(scope);
    }

    /// Records a function `name` defined in `scope`, when `scope` is a named function's body.
    pub(crate) fn define_function(&mut self, scope: ScopeId, name: &str) {
        if self.function_bodies.contains(&scope) {
            let outer = self.t.scopes[scope].qualified.clone();
            self.nested.insert((scope, name.to_string()), outer);
        }
    }

    /// The qualified name of the function that encloses the nested function `name` seen from
    /// `scope` (Python lookup: class scopes are skipped from inner functions), if the name
    /// binds to one.
    pub(crate) fn nested_function(&self, scope: ScopeId, name: &str) -> Option<&String> {
        let mut cur = Some(scope);
        let mut first = true;
        while let Some(s) = cur {
            let sc = &self.t.scopes[s];
            let visible = first || sc.kind != ScopeKind::Class;
            if visible && sc.bindings.contains(name) && !sc.declared_outer.contains(name) {
                return self.nested.get(&(s, name.to_string()));
            }
            first = false;
            cur = sc.parent;
        }
        None
    }
}
