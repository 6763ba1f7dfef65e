//! Classes: the header (signature, docstring, leading fields), methods and nested classes, and
//! the runs of fields between them, packed up to the target; a class-body statement over the
//! ceiling is split like a definition.

use tree_sitter::Node;

use super::{Decomposer, Segment, SPLIT_DEPTH_LIMIT};
use crate::classify::{self, docstring, first_line, signature, Item};
use crate::model::{AtomKind, Diagnostic, Modifier, Severity};
use crate::parse::{child_by_field, kind_of, position};

impl Decomposer<'_> {
    /// A class: header (signature, docstring, fields before the first method), then methods
    /// and nested classes, with later field runs as `class_fields`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn class<'t>(
        &mut self,
        segs: &mut Vec<Segment<'t>>,
        outer: Node<'t>,
        def: Node<'t>,
        name: String,
        modifiers: Vec<Modifier>,
        parent: Option<usize>,
        prefix: &str,
        level: u32,
    ) {
        let qualified = Self::qualify(prefix, &name);
        let python = self.grammar.is_python();
        let Some(body) = child_by_field(def, "body") else {
            segs.push(self.plain(
                outer,
                AtomKind::ClassHeader,
                name,
                qualified,
                parent,
                modifiers,
            ));
            return;
        };
        if level > SPLIT_DEPTH_LIMIT {
            self.report_depth(outer.start_byte());
            segs.push(self.plain(
                outer,
                AtomKind::ClassHeader,
                name,
                qualified,
                parent,
                modifiers,
            ));
            return;
        }
        let mut c = body.walk();
        let members: Vec<Node<'t>> = body
            .named_children(&mut c)
            .filter(|m| !kind_of(*m).contains("comment") && m.end_byte() > m.start_byte())
            .collect();
        let classify = |m: Node<'t>| {
            if python {
                classify::python_member(self.src, m)
            } else {
                classify::script_member(self.src, m)
            }
        };
        let items: Vec<Option<Item<'t>>> = members.iter().map(|&m| classify(m)).collect();
        let first_def = items.iter().position(Option::is_some);
        // End of the token opening the body (`:` in Python, `{` in TS/JS).
        let open_end = if python {
            body.prev_sibling()
                .map(|p| p.end_byte())
                .unwrap_or(body.start_byte())
        } else {
            body.child(0)
                .filter(|c| !c.is_named())
                .map(|c| c.end_byte())
                .unwrap_or(body.start_byte())
        };
        // Header core: up to the last field before the first definition, or the body opening.
        let header_end = match first_def {
            None => outer.end_byte(),
            Some(0) => open_end,
            Some(i) => members[i - 1].end_byte(),
        };
        let header_fields = &members[..first_def.unwrap_or(members.len())];
        let header = segs.len();
        // The part before the body (decorators, name, heritage) is never cut.
        self.oversized_header(outer, open_end);
        let header_seg = Segment {
            start: outer.start_byte(),
            end: header_end,
            kind: AtomKind::ClassHeader,
            name: name.clone(),
            qualified: qualified.clone(),
            parent,
            signature: signature(self.src, outer, def),
            docstring: docstring(self.src, outer, Some(def), python),
            modifiers,
            cut_inside: false,
            def: Some(def),
            split: false,
            merged: 1,
        };
        if self.loc(header_seg.start, header_seg.end) <= self.config.max_loc
            || header_fields.is_empty()
        {
            if header_fields.is_empty()
                && first_def.is_none()
                && self.loc(outer.start_byte(), outer.end_byte()) > self.config.max_loc
            {
                self.oversized(outer, outer.start_byte(), outer.end_byte());
            }
            segs.push(header_seg);
        } else {
            let first = Segment {
                end: open_end,
                ..header_seg
            };
            self.pack_fields(segs, Some(first), header_fields, header, &qualified, level);
        }
        self.members(segs, &members, &items, first_def, header, &qualified, level);
        // The class's closing tokens belong to its last segment.
        if let Some(last) = segs.last_mut() {
            if last.end < outer.end_byte() {
                last.end = outer.end_byte();
            }
        }
    }

    /// Methods, nested classes and the field runs after the first of them.
    #[allow(clippy::too_many_arguments)]
    fn members<'t>(
        &mut self,
        segs: &mut Vec<Segment<'t>>,
        members: &[Node<'t>],
        items: &[Option<Item<'t>>],
        first_def: Option<usize>,
        header: usize,
        qualified: &str,
        level: u32,
    ) {
        let Some(first_def) = first_def else { return };
        let mut i = first_def;
        while i < members.len() {
            if let Some(item) = items[i].clone() {
                self.emit(segs, members[i], item, Some(header), qualified, level + 1);
                i += 1;
                continue;
            }
            let run_start = i;
            while i < members.len() && items[i].is_none() {
                i += 1;
            }
            let run = &members[run_start..i];
            let seg = Segment {
                start: run[0].start_byte(),
                end: run[run.len() - 1].end_byte(),
                kind: AtomKind::ClassFields,
                name: "fields".into(),
                qualified: format!("{qualified}.<fields>"),
                parent: Some(header),
                signature: first_line(self.src, run[0].start_byte(), run[0].end_byte()),
                docstring: None,
                modifiers: Vec::new(),
                cut_inside: false,
                def: None,
                split: false,
                merged: run.len() as u32,
            };
            if self.loc(seg.start, seg.end) <= self.config.target_loc {
                segs.push(seg);
            } else if self.loc(run[0].start_byte(), run[0].end_byte()) > self.config.max_loc {
                self.pack_fields(segs, None, run, header, qualified, level);
            } else {
                let first = Segment {
                    end: run[0].end_byte(),
                    merged: 1,
                    ..seg
                };
                self.pack_fields(segs, Some(first), &run[1..], header, qualified, level);
            }
        }
    }

    /// `first` (a header or a field group) grows over `rest` up to the target; the remaining
    /// fields are packed into `class_fields` segments (children of the class header at index
    /// `header`). A field over the ceiling (a compound statement holding methods, a long
    /// assignment) is split like a definition, its definitions becoming the class's methods.
    #[allow(clippy::too_many_arguments)]
    fn pack_fields<'t>(
        &mut self,
        segs: &mut Vec<Segment<'t>>,
        first: Option<Segment<'t>>,
        rest: &[Node<'t>],
        header: usize,
        qualified: &str,
        level: u32,
    ) {
        let mut current = first;
        for &m in rest {
            let field = |src: &str, split: bool| Segment {
                start: m.start_byte(),
                end: m.end_byte(),
                kind: AtomKind::ClassFields,
                name: "fields".into(),
                qualified: format!("{qualified}.<fields>"),
                parent: Some(header),
                signature: first_line(src, m.start_byte(), m.end_byte()),
                docstring: None,
                modifiers: Vec::new(),
                cut_inside: false,
                def: None,
                split,
                merged: 1,
            };
            if self.loc(m.start_byte(), m.end_byte()) > self.config.max_loc {
                if let Some(c) = current.take() {
                    segs.push(c);
                }
                let seg = field(self.src, true);
                self.push_or_split_in(segs, m, seg, level + 1, Some((header, qualified)));
                continue;
            }
            match current.as_mut() {
                Some(c) if self.loc(c.start, m.end_byte()) <= self.config.target_loc => {
                    c.end = m.end_byte();
                    c.merged += 1;
                }
                _ => {
                    if let Some(c) = current.take() {
                        segs.push(c);
                    }
                    current = Some(field(self.src, true));
                }
            }
        }
        if let Some(c) = current {
            segs.push(c);
        }
    }

    /// Reports a class whose part before the body is over the ceiling.
    fn oversized_header(&mut self, outer: Node, open_end: usize) {
        let loc = self.loc(outer.start_byte(), open_end);
        if loc <= self.config.max_loc {
            return;
        }
        let (line, column) = position(outer);
        if self
            .diagnostics
            .iter()
            .any(|d| d.line == line && d.code == "oversized_statement")
        {
            return;
        }
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code: "oversized_statement".into(),
            message: format!(
                "the header of a class ({} at {line}:{column}: decorators, name and heritage before the body) is {loc} LOC, over the ceiling of {}, and is never cut",
                kind_of(outer),
                self.config.max_loc
            ),
            line,
            column,
        });
    }
}
