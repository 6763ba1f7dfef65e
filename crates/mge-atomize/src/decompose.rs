//! Recursive decomposition: module-level statements and class members become segments (the core
//! byte ranges of future atoms); definitions over the ceiling are split; tiny neighbours of the
//! same kind are merged; finally the segments are widened to tile the file.

use tree_sitter::Node;

use crate::classify::{self, docstring, first_line, signature, Item};
use crate::lines::LineIndex;
use crate::model::{AtomKind, Config, Diagnostic, Modifier, Severity};
use crate::parse::{child_by_field, kind_of, named_children_into, position, Grammar};
use crate::split::{definition_of, Splitter};

mod class;

/// Deepest recursion of splitting and of nested classes.
pub(crate) const SPLIT_DEPTH_LIMIT: u32 = 48;

/// The core of a future atom.
#[derive(Debug, Clone)]
pub(crate) struct Segment<'t> {
    pub start: usize,
    pub end: usize,
    pub kind: AtomKind,
    pub name: String,
    pub qualified: String,
    /// Index of the parent segment.
    pub parent: Option<usize>,
    pub signature: Option<String>,
    pub docstring: Option<String>,
    pub modifiers: Vec<Modifier>,
    /// Cut out of a compound statement.
    pub cut_inside: bool,
    /// The function or class node, for callables and class headers.
    pub def: Option<Node<'t>>,
    /// Produced by a split (never merged).
    pub split: bool,
    /// Number of statements merged into this segment.
    pub merged: u32,
}

pub(crate) struct Decomposer<'a> {
    pub src: &'a str,
    pub grammar: Grammar,
    pub lines: &'a LineIndex,
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
    depth_limit_reported: bool,
}

impl<'a> Decomposer<'a> {
    pub(crate) fn new(
        src: &'a str,
        grammar: Grammar,
        lines: &'a LineIndex,
        config: Config,
    ) -> Self {
        Decomposer {
            src,
            grammar,
            lines,
            config,
            diagnostics: Vec::new(),
            depth_limit_reported: false,
        }
    }

    fn loc(&self, start: usize, end: usize) -> u32 {
        self.lines.loc(start, end)
    }

    /// Segments of the whole module, in byte order, merged.
    pub(crate) fn module<'t>(&mut self, root: Node<'t>) -> Vec<Segment<'t>> {
        let mut segs = Vec::new();
        let mut c = root.walk();
        let mut first = true;
        for n in root.named_children(&mut c) {
            if kind_of(n).contains("comment")
                || kind_of(n) == "hash_bang_line"
                || n.end_byte() == n.start_byte()
            {
                continue;
            }
            let item = if self.grammar.is_python() {
                classify::python_item(self.src, n, first)
            } else {
                classify::script_item(self.src, n)
            };
            first = false;
            self.emit(&mut segs, n, item, None, "", 0);
        }
        merge(segs, self.lines, self.config.target_loc)
    }

    fn qualify(prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    }

    /// Emits the segments of one item whose outermost node is `outer`.
    fn emit<'t>(
        &mut self,
        segs: &mut Vec<Segment<'t>>,
        outer: Node<'t>,
        item: Item<'t>,
        parent: Option<usize>,
        prefix: &str,
        level: u32,
    ) {
        match item {
            Item::Simple {
                kind,
                name,
                modifiers,
            } => {
                let qualified = if kind.is_mergeable()
                    || kind == AtomKind::ModuleDocstring
                    || kind == AtomKind::MainBlock
                {
                    match kind {
                        AtomKind::Constant
                        | AtomKind::Assignment
                        | AtomKind::TypeAlias
                        | AtomKind::Export
                            if name != "statement" && name != "export" =>
                        {
                            Self::qualify(prefix, &name)
                        }
                        _ => Self::qualify(prefix, &format!("<{}>", kind.as_str())),
                    }
                } else {
                    Self::qualify(prefix, &name)
                };
                let seg = Segment {
                    start: outer.start_byte(),
                    end: outer.end_byte(),
                    kind,
                    name,
                    qualified,
                    parent,
                    signature: first_line(self.src, outer.start_byte(), outer.end_byte()),
                    docstring: None,
                    modifiers,
                    cut_inside: false,
                    def: None,
                    split: false,
                    merged: 1,
                };
                self.push_or_split(segs, outer, seg, level);
            }
            Item::Function {
                def,
                name,
                modifiers,
            } => {
                let kind = if parent.is_some_and(|p| segs[p].kind == AtomKind::ClassHeader) {
                    AtomKind::Method
                } else if parent.is_some() {
                    AtomKind::NestedFunction
                } else {
                    AtomKind::Function
                };
                let mut modifiers = modifiers;
                if !modifiers.contains(&Modifier::Generator)
                    && self.grammar.is_python()
                    && contains_yield(self.src, def)
                {
                    modifiers.push(Modifier::Generator);
                }
                let seg = Segment {
                    start: outer.start_byte(),
                    end: outer.end_byte(),
                    kind,
                    qualified: Self::qualify(prefix, &name),
                    name,
                    parent,
                    signature: signature(self.src, outer, def),
                    docstring: docstring(self.src, outer, Some(def), self.grammar.is_python()),
                    modifiers,
                    cut_inside: false,
                    def: Some(def),
                    split: false,
                    merged: 1,
                };
                self.push_or_split(segs, outer, seg, level);
            }
            Item::Class {
                def,
                name,
                modifiers,
            } => self.class(segs, outer, def, name, modifiers, parent, prefix, level),
        }
    }

    /// Pushes `seg`, or splits `outer` when it is over the ceiling and has a body to cut.
    fn push_or_split<'t>(
        &mut self,
        segs: &mut Vec<Segment<'t>>,
        outer: Node<'t>,
        seg: Segment<'t>,
        level: u32,
    ) {
        self.push_or_split_in(segs, outer, seg, level, None)
    }

    /// [`Self::push_or_split`]; with `class` (the class header's segment and the class's
    /// qualified name), definitions cut out of `outer` are that class's methods rather than
    /// functions nested in `seg`.
    fn push_or_split_in<'t>(
        &mut self,
        segs: &mut Vec<Segment<'t>>,
        outer: Node<'t>,
        seg: Segment<'t>,
        level: u32,
        class: Option<(usize, &str)>,
    ) {
        if self.loc(seg.start, seg.end) <= self.config.max_loc {
            segs.push(seg);
            return;
        }
        let mut splitter = Splitter {
            lines: self.lines,
            target: self.config.target_loc,
            max: self.config.max_loc,
            depth_limit: SPLIT_DEPTH_LIMIT.saturating_sub(level),
            hit_depth_limit: None,
        };
        let chunks = splitter.split(outer);
        if let Some(at) = splitter.hit_depth_limit {
            self.report_depth(at);
        }
        let head = segs.len();
        let mut block_no = 1;
        for (i, chunk) in chunks.iter().enumerate() {
            if let Some((start, end)) = chunk.oversized {
                self.oversized(outer, start, end);
            }
            if i == 0 {
                segs.push(Segment {
                    start: chunk.start,
                    end: chunk.end,
                    split: true,
                    ..seg.clone()
                });
                continue;
            }
            if let Some(d) = chunk.definition {
                let inner = definition_of(d).unwrap_or(d);
                let item = if self.grammar.is_python() {
                    classify::python_item(self.src, d, false)
                } else {
                    classify::script_item(self.src, d)
                };
                let _ = inner;
                let (parent, prefix) = class.unwrap_or((head, &seg.qualified));
                self.emit(segs, d, item, Some(parent), prefix, level + 1);
                continue;
            }
            block_no += 1;
            segs.push(Segment {
                start: chunk.start,
                end: chunk.end,
                kind: AtomKind::Block,
                name: format!("{} [{}]", seg.name, block_no),
                qualified: format!("{}[{}]", seg.qualified, block_no),
                parent: Some(head),
                signature: None,
                docstring: None,
                modifiers: Vec::new(),
                cut_inside: chunk.cut_inside,
                def: None,
                split: true,
                merged: 1,
            });
        }
        if chunks.len() <= 1 {
            self.oversized(outer, seg.start, seg.end);
        }
    }

    /// Reports the statement at `start..end` that stays whole over the ceiling: its LOC, kind
    /// and position (the largest node starting there and lying within the range).
    fn oversized(&mut self, outer: Node, start: usize, end: usize) {
        let loc = self.loc(start, end);
        if loc <= self.config.max_loc {
            return;
        }
        let mut node = outer
            .descendant_for_byte_range(start, start)
            .unwrap_or(outer);
        while node.id() != outer.id() {
            match node.parent() {
                Some(p) if p.start_byte() >= start && p.end_byte() <= end => node = p,
                _ => break,
            }
        }
        let node = if self.loc(node.start_byte(), node.end_byte()) > self.config.max_loc {
            self.oversized_statement(node)
        } else {
            // Header tokens glued to a statement: look down from the node holding the range.
            let holder = outer.descendant_for_byte_range(start, end).unwrap_or(outer);
            Some(self.oversized_statement(holder))
                .filter(|n| n.start_byte() >= start && n.end_byte() <= end)
                .unwrap_or(node)
        };
        // The statement's own size, or the piece's when tokens glued to it make the difference.
        let own = self.loc(node.start_byte(), node.end_byte());
        let loc = if own > self.config.max_loc { own } else { loc };
        let (line, column) = position(node);
        let msg = format!(
            "a single statement of {loc} LOC ({} at {line}:{column}) is over the ceiling of {} and cannot be split at a statement boundary",
            kind_of(node),
            self.config.max_loc
        );
        if !self
            .diagnostics
            .iter()
            .any(|d| d.line == line && d.code == "oversized_statement")
        {
            self.diagnostics.push(Diagnostic {
                severity: Severity::Warning,
                code: "oversized_statement".into(),
                message: msg,
                line,
                column,
            });
        }
    }

    fn report_depth(&mut self, at: usize) {
        if self.depth_limit_reported {
            return;
        }
        self.depth_limit_reported = true;
        let line = self.lines.line_of(at) as u32 + 1;
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code: "deep_nesting".into(),
            message: format!(
                "statements nested deeper than {SPLIT_DEPTH_LIMIT} levels are kept whole"
            ),
            line,
            column: 1,
        });
    }

    /// The statement to name for a piece kept whole over the ceiling: following the only child
    /// over the ceiling down from `node`, the innermost one that is a statement of a block;
    /// `node` itself when there is none.
    fn oversized_statement<'t>(&self, node: Node<'t>) -> Node<'t> {
        let mut found = node;
        let mut cur = node;
        let mut c = node.walk();
        loop {
            let mut over = cur
                .named_children(&mut c)
                .filter(|k| self.loc(k.start_byte(), k.end_byte()) > self.config.max_loc);
            let (Some(next), None) = (over.next(), over.next()) else {
                return found;
            };
            if next
                .parent()
                .is_some_and(|p| crate::split::is_statement_container(kind_of(p)))
            {
                found = next;
            }
            cur = next;
        }
    }

    fn plain<'t>(
        &self,
        outer: Node<'t>,
        kind: AtomKind,
        name: String,
        qualified: String,
        parent: Option<usize>,
        modifiers: Vec<Modifier>,
    ) -> Segment<'t> {
        Segment {
            start: outer.start_byte(),
            end: outer.end_byte(),
            kind,
            name,
            qualified,
            parent,
            signature: first_line(self.src, outer.start_byte(), outer.end_byte()),
            docstring: None,
            modifiers,
            cut_inside: false,
            def: None,
            split: false,
            merged: 1,
        }
    }
}

/// True when a Python function body yields (outside nested functions and classes).
fn contains_yield(src: &str, def: Node) -> bool {
    let Some(body) = child_by_field(def, "body") else {
        return false;
    };
    // A `yield` node's text holds the keyword: without it in the body, no tree walk.
    if !src
        .get(body.byte_range())
        .is_some_and(|t| t.contains("yield"))
    {
        return false;
    }
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        match kind_of(n) {
            "yield" => return true,
            "function_definition" | "class_definition" | "lambda" => continue,
            _ => named_children_into(n, &mut stack),
        }
    }
    false
}

/// Merges consecutive mergeable segments of the same kind and parent up to the target.
fn merge<'t>(segs: Vec<Segment<'t>>, lines: &LineIndex, target: u32) -> Vec<Segment<'t>> {
    let mut out: Vec<Segment<'t>> = Vec::with_capacity(segs.len());
    // Old index -> new index, to re-point parents.
    let mut remap = Vec::with_capacity(segs.len());
    for mut s in segs {
        s.parent = s.parent.map(|p| remap[p]);
        if let Some(last) = out.last_mut() {
            if last.kind == s.kind
                && last.kind.is_mergeable()
                && !last.split
                && !s.split
                && last.parent == s.parent
                && lines.loc(last.start, s.end) <= target
            {
                last.end = s.end;
                last.merged += s.merged;
                last.modifiers.extend(s.modifiers.iter().copied());
                last.modifiers.sort();
                last.modifiers.dedup();
                let label = plural(last.kind);
                last.name = label.to_string();
                let prefix = last
                    .qualified
                    .rfind('.')
                    .filter(|_| last.parent.is_some())
                    .map(|i| last.qualified[..i].to_string());
                last.qualified = match prefix {
                    Some(p) => format!("{p}.<{label}>"),
                    None => format!("<{label}>"),
                };
                remap.push(out.len() - 1);
                continue;
            }
        }
        remap.push(out.len());
        out.push(s);
    }
    out
}

fn plural(kind: AtomKind) -> &'static str {
    match kind {
        AtomKind::Import => "imports",
        AtomKind::Constant => "constants",
        AtomKind::Assignment => "assignments",
        AtomKind::TypeAlias => "type_aliases",
        AtomKind::ClassFields => "fields",
        AtomKind::Export => "exports",
        _ => "statements",
    }
}

/// Widens the cores to tile `0..len`: the text between two cores goes to the earlier one up
/// to the end of its last line, the rest (blank lines, comments) to the later one. Segments are
/// sorted by start (parents re-pointed) and any that would be empty are folded into their
/// predecessor. Returns the atom ranges, parallel to the segments left.
pub(crate) fn tile(src: &str, segs: &mut Vec<Segment<'_>>) -> Vec<(usize, usize)> {
    let len = src.len();
    if segs.is_empty() {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..segs.len()).collect();
    order.sort_by_key(|&i| (segs[i].start, i));
    if order.iter().enumerate().any(|(k, &i)| k != i) {
        let mut new_of_old = vec![0; segs.len()];
        for (new, &old) in order.iter().enumerate() {
            new_of_old[old] = new;
        }
        let mut taken: Vec<Option<Segment>> = segs.drain(..).map(Some).collect();
        for &old in &order {
            let mut s = taken[old].take().expect("each segment moved once");
            s.parent = s.parent.map(|p| new_of_old[p]);
            segs.push(s);
        }
    }
    let bytes = src.as_bytes();
    let mut starts: Vec<usize> = Vec::with_capacity(segs.len());
    for i in 0..segs.len() {
        if i == 0 {
            starts.push(0);
            continue;
        }
        let prev_end = segs[i - 1].end.min(len);
        let start = segs[i].start.clamp(prev_end, len);
        let b = match bytes[prev_end..start].iter().position(|&c| c == b'\n') {
            Some(k) => prev_end + k + 1,
            None => start,
        };
        starts.push(b.max(starts[i - 1]));
    }
    // Fold empty atoms into their predecessor.
    let mut keep = vec![true; segs.len()];
    for i in 1..segs.len() {
        let end = if i + 1 < segs.len() {
            starts[i + 1]
        } else {
            len
        };
        if end <= starts[i] {
            keep[i] = false;
        }
    }
    if keep.iter().any(|k| !k) {
        let mut new_index = vec![0usize; segs.len()];
        let mut n = 0usize;
        for i in 0..segs.len() {
            if keep[i] {
                new_index[i] = n;
                n += 1;
            } else {
                new_index[i] = n.saturating_sub(1);
            }
        }
        let old: Vec<Segment> = std::mem::take(segs);
        let mut kept_starts = Vec::with_capacity(n);
        for (i, mut s) in old.into_iter().enumerate() {
            if keep[i] {
                s.parent = s
                    .parent
                    .map(|p| new_index[p])
                    .filter(|&p| p != new_index[i]);
                segs.push(s);
                kept_starts.push(starts[i]);
            }
        }
        starts = kept_starts;
    }
    (0..starts.len())
        .map(|i| {
            (
                starts[i],
                if i + 1 < starts.len() {
                    starts[i + 1]
                } else {
                    len
                },
            )
        })
        .collect()
}
