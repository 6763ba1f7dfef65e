//! Line arithmetic: byte offset to line, and LOC (non-blank, non-comment lines) of any byte
//! range, from a per-line "holds code" flag computed on the syntax tree. Docstrings (string-only
//! expression statements) count as comments.

use tree_sitter::{Node, Tree, TreeCursor};

use crate::parse::Grammar;

pub(crate) struct LineIndex {
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
    /// `code_prefix[i]` = number of code lines among lines `0..i`.
    code_prefix: Vec<u32>,
    /// Depth of the deepest node and its 1-based line and column (exact when over the depth
    /// limit given to [`LineIndex::new`]).
    pub(crate) max_depth: usize,
    pub(crate) deepest_at: (u32, u32),
}

impl LineIndex {
    /// Marks every line touched by a token that is not a comment (multi-line tokens such as
    /// strings mark every line they span), and measures the tree depth. Iterative walk: deep trees
    /// are fine.
    ///
    /// A subtree lying on one line that is already marked cannot mark anything new, so it is
    /// skipped unless it could hold a node deeper than `depth_limit` (its depth below the current
    /// node is at most its descendant count): over the limit, the deepest node and its position
    /// are exact; under it, `max_depth` is only known to be within the limit.
    pub(crate) fn new(
        source: &str,
        tree: &Tree,
        grammar: Grammar,
        depth_limit: usize,
    ) -> LineIndex {
        let bytes = source.as_bytes();
        let mut starts = Vec::with_capacity(bytes.len() / 32 + 1);
        starts.push(0);
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        let last_line = starts.len() - 1;
        let kinds = grammar.kinds();
        let mut code = vec![false; starts.len()];
        let root = tree.root_node();
        let mut cursor = root.walk();
        // Preorder with an explicit stack of (node, depth): children pushed last first.
        let mut stack = vec![(root, 0usize)];
        let (mut max_depth, mut deepest_at) = (0usize, (1u32, 1u32));
        while let Some((node, depth)) = stack.pop() {
            if depth > max_depth {
                max_depth = depth;
                deepest_at = crate::parse::position(node);
            }
            // Comments, and string-only expression statements (docstrings, directives), are
            // documentation rather than code.
            let is_comment = kinds.is_comment(node)
                || (kinds.name(node) == "expression_statement"
                    && node.named_child_count() == 1
                    && node
                        .named_child(0)
                        .is_some_and(|c| kinds.name(c) == "string"));
            if is_comment {
                continue;
            }
            let (start, end) = (node.start_position(), node.end_position());
            let (a, b) = (start.row, end.row);
            let count = node.child_count();
            if count == 0 {
                if node.end_byte() > node.start_byte() {
                    // A token ending at column 0 of the next line does not touch that line.
                    let b = if end.column == 0 && b > a { b - 1 } else { b };
                    for flag in code.iter_mut().take(b.min(last_line) + 1).skip(a) {
                        *flag = true;
                    }
                }
                continue;
            }
            if a == b
                && code.get(a).copied().unwrap_or(false)
                && depth + node.descendant_count() <= depth_limit
            {
                continue;
            }
            push_children(&mut stack, &mut cursor, node, count, depth + 1);
        }
        let mut code_prefix = Vec::with_capacity(code.len() + 1);
        let mut n = 0u32;
        code_prefix.push(0);
        for c in &code {
            n += u32::from(*c);
            code_prefix.push(n);
        }
        LineIndex {
            starts,
            code_prefix,
            max_depth,
            deepest_at,
        }
    }

    /// 0-based line of a byte offset.
    pub(crate) fn line_of(&self, byte: usize) -> usize {
        match self.starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// Non-blank, non-comment lines spanned by `start..end` (end exclusive).
    pub(crate) fn loc(&self, start: usize, end: usize) -> u32 {
        if end <= start {
            return 0;
        }
        let a = self.line_of(start);
        let b = self.line_of(end - 1);
        self.code_prefix[b + 1] - self.code_prefix[a]
    }

    /// 1-based first and last line of `start..end`.
    pub(crate) fn line_span(&self, start: usize, end: usize) -> (u32, u32) {
        let a = self.line_of(start);
        let b = if end > start {
            self.line_of(end - 1)
        } else {
            a
        };
        (a as u32 + 1, b as u32 + 1)
    }
}

/// Up to this many children, [`push_children`] looks them up by index (a short scan per
/// lookup); beyond, it steps the cursor once through them.
const INDEXED_CHILDREN_MAX: usize = 8;

/// Pushes the `count` children of `node` at `depth` so that they pop in source order.
fn push_children<'t>(
    stack: &mut Vec<(Node<'t>, usize)>,
    cursor: &mut TreeCursor<'t>,
    node: Node<'t>,
    count: usize,
    depth: usize,
) {
    if count <= INDEXED_CHILDREN_MAX {
        for i in (0..count).rev() {
            if let Some(ch) = node.child(i) {
                stack.push((ch, depth));
            }
        }
        return;
    }
    let first = stack.len();
    cursor.reset(node);
    if cursor.goto_first_child() {
        loop {
            stack.push((cursor.node(), depth));
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
    stack[first..].reverse();
}
