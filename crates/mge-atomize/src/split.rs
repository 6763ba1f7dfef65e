//! Splitting an oversized definition at statement boundaries of its body, recursively into nested
//! blocks (never inside a statement's own tokens), then packing the pieces into chunks of about
//! the target size.

use tree_sitter::Node;

use crate::parse::{child_by_field, children_into, kind_of};

use crate::lines::LineIndex;

/// Node kinds whose named children are statements (or declarations) one may cut between.
pub(crate) fn is_statement_container(kind: &str) -> bool {
    matches!(
        kind,
        "block"
            | "statement_block"
            | "switch_case"
            | "switch_default"
            | "class_body"
            | "interface_body"
            | "enum_body"
            | "object_type"
    )
}

/// Clauses of compound statements, cut between like statements.
fn is_clause(kind: &str) -> bool {
    matches!(
        kind,
        "elif_clause"
            | "else_clause"
            | "except_clause"
            | "except_group_clause"
            | "finally_clause"
            | "case_clause"
            | "catch_clause"
            | "switch_case"
            | "switch_default"
    )
}

/// Python and TS/JS definitions that become their own atom when met as a statement of a split
/// body.
pub(crate) fn definition_of(node: Node) -> Option<Node> {
    match kind_of(node) {
        "function_definition"
        | "class_definition"
        | "function_declaration"
        | "generator_function_declaration"
        | "class_declaration"
        | "abstract_class_declaration" => Some(node),
        "decorated_definition" => child_by_field(node, "definition"),
        _ => None,
    }
}

/// A contiguous piece of the definition being split.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Piece<'t> {
    pub start: usize,
    pub end: usize,
    /// A statement of some block (as opposed to tokens of a compound statement's header).
    pub statement: bool,
    /// Nesting below the definition's own body (0 = a statement of the body).
    pub depth: u32,
    /// A nested function or class definition: it becomes its own atom.
    pub definition: Option<Node<'t>>,
}

/// A chunk of consecutive pieces: one atom of the split definition.
#[derive(Debug, Clone)]
pub(crate) struct Chunk<'t> {
    pub start: usize,
    pub end: usize,
    /// Holds pieces from inside a compound statement.
    pub cut_inside: bool,
    pub definition: Option<Node<'t>>,
    /// The range of a single piece longer than the ceiling that could not be cut further.
    pub oversized: Option<(usize, usize)>,
}

pub(crate) struct Splitter<'a> {
    pub lines: &'a LineIndex,
    pub target: u32,
    pub max: u32,
    /// Deepest recursion allowed; deeper statements stay whole.
    pub depth_limit: u32,
    /// Set when the depth limit stopped a split.
    pub hit_depth_limit: Option<usize>,
}

impl<'a> Splitter<'a> {
    fn loc(&self, n: Node) -> u32 {
        self.lines.loc(n.start_byte(), n.end_byte())
    }

    /// Cuts `def` (a definition or compound statement) into chunks.
    pub(crate) fn split<'t>(&mut self, def: Node<'t>) -> Vec<Chunk<'t>> {
        let mut pieces = Vec::new();
        self.expand(def, 0, 0, &mut pieces);
        let pieces = glue(pieces);
        self.pack(&pieces)
    }

    /// Appends the pieces of `node`: its statement-container children are opened and each
    /// statement appended (recursing into those over the ceiling); other children are header
    /// tokens, recursed into only when they are large (a function value inside a declaration).
    fn expand<'t>(&mut self, node: Node<'t>, depth: u32, level: u32, out: &mut Vec<Piece<'t>>) {
        if level > self.depth_limit {
            self.hit_depth_limit.get_or_insert(node.start_byte());
            out.push(piece(node, false, depth, None));
            return;
        }
        let container = is_statement_container(kind_of(node));
        let mut children = Vec::new();
        children_into(node, &mut children);
        for child in children {
            if child.end_byte() == child.start_byte() {
                continue;
            }
            let is_stmt = container && child.is_named() && !kind_of(child).contains("comment");
            if kind_of(child).contains("comment") {
                // Comments travel with the following piece through the tiling gaps.
                continue;
            }
            if is_stmt {
                if let Some(d) = definition_of(child) {
                    out.push(Piece {
                        start: child.start_byte(),
                        end: child.end_byte(),
                        statement: true,
                        depth,
                        definition: Some(wrapper_or(child, d)),
                    });
                    continue;
                }
                // The header tokens waiting to glue onto this statement count too.
                let glued = trailing_header_start(out).unwrap_or(child.start_byte());
                if self.lines.loc(glued, child.end_byte()) > self.max && child.child_count() > 0 {
                    self.expand(child, depth + 1, level + 1, out);
                } else {
                    out.push(piece(child, true, depth, None));
                }
            } else if is_clause(kind_of(child)) {
                // `elif`/`else`/`except`/`case` clauses are units like statements.
                let glued = trailing_header_start(out).unwrap_or(child.start_byte());
                if self.lines.loc(glued, child.end_byte()) > self.max {
                    self.expand(child, depth, level + 1, out);
                } else {
                    out.push(piece(child, true, depth, None));
                }
            } else if is_statement_container(kind_of(child))
                || (self.loc(child) > self.max && child.child_count() > 0)
            {
                // A body, or a large header part holding one (a function value).
                self.expand(child, depth, level + 1, out);
            } else {
                out.push(piece(child, false, depth, None));
            }
        }
    }

    /// Greedy packing: consecutive pieces join while the chunk stays within the target; a
    /// nested definition is always a chunk of its own.
    fn pack<'t>(&self, pieces: &[Piece<'t>]) -> Vec<Chunk<'t>> {
        let mut chunks: Vec<Chunk<'t>> = Vec::new();
        let mut open: Option<Chunk<'t>> = None;
        for p in pieces {
            if p.definition.is_some() {
                if let Some(c) = open.take() {
                    chunks.push(c);
                }
                chunks.push(Chunk {
                    start: p.start,
                    end: p.end,
                    cut_inside: p.depth > 0,
                    definition: p.definition,
                    oversized: None,
                });
                continue;
            }
            let own = self.lines.loc(p.start, p.end);
            match open.as_mut() {
                Some(c) if self.lines.loc(c.start, p.end) <= self.target => {
                    c.end = p.end;
                    c.cut_inside |= p.depth > 0;
                }
                _ => {
                    if let Some(c) = open.take() {
                        chunks.push(c);
                    }
                    open = Some(Chunk {
                        start: p.start,
                        end: p.end,
                        cut_inside: p.depth > 0,
                        definition: None,
                        oversized: None,
                    });
                }
            }
            if own > self.max {
                if let Some(c) = open.as_mut() {
                    c.oversized.get_or_insert((p.start, p.end));
                }
            }
        }
        if let Some(c) = open.take() {
            chunks.push(c);
        }
        chunks
    }
}

/// Start of the run of header pieces at the end of `out`, if it ends with one.
fn trailing_header_start(out: &[Piece]) -> Option<usize> {
    let mut start = None;
    for p in out.iter().rev() {
        if p.statement {
            break;
        }
        start = Some(p.start);
    }
    start
}

fn wrapper_or<'t>(stmt: Node<'t>, def: Node<'t>) -> Node<'t> {
    if kind_of(stmt) == "decorated_definition" {
        stmt
    } else {
        def
    }
}

fn piece<'t>(
    node: Node<'t>,
    statement: bool,
    depth: u32,
    definition: Option<Node<'t>>,
) -> Piece<'t> {
    Piece {
        start: node.start_byte(),
        end: node.end_byte(),
        statement,
        depth,
        definition,
    }
}

/// Header tokens glue to the next statement; tokens after the last statement of a run (a
/// closing brace) glue to the previous one.
fn glue(pieces: Vec<Piece<'_>>) -> Vec<Piece<'_>> {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    let mut pending: Option<Piece> = None;
    for p in pieces {
        if !p.statement {
            match pending.as_mut() {
                Some(q) => q.end = p.end,
                None => pending = Some(p),
            }
            continue;
        }
        if p.definition.is_some() {
            // Definitions stay whole and alone: header tokens before them close the previous
            // piece, or become a piece of their own at the start.
            if let Some(q) = pending.take() {
                match out.last_mut() {
                    Some(last) if last.definition.is_none() => last.end = q.end,
                    _ => out.push(Piece {
                        statement: true,
                        ..q
                    }),
                }
            }
            out.push(p);
            continue;
        }
        match pending.take() {
            Some(q) => out.push(Piece {
                start: q.start,
                end: p.end,
                statement: true,
                depth: p.depth,
                definition: None,
            }),
            None => out.push(p),
        }
    }
    if let Some(q) = pending {
        match out.last_mut() {
            Some(last) if last.definition.is_none() => last.end = q.end,
            _ => out.push(Piece {
                statement: true,
                ..q
            }),
        }
    }
    out
}
