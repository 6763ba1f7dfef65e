//! Self-consistency of a generated atom: does an independent sample of the same unit say the
//! same thing as the accepted code? Pure.
//!
//! After an atom has passed, the engine asks the generator once more (at a non-zero
//! temperature, so that a real model can answer differently) and compares the sample to the
//! accepted code token by token: the leaves of their tree-sitter parse trees, comments
//! dropped, so whitespace, layout and comments never count as disagreement. A sample that
//! fails the atomic check is not evidence about the accepted code and is not counted.
//!
//! **Assumption.** The signal detects faults that an independent sample does not reproduce.
//! A fault the generator makes systematically (every sample has it) is invisible to it, and
//! at temperature 0 a real model tends to give the same answer twice, hence the non-zero
//! sampling temperature. Correct code can disagree with a correct sample too (two valid
//! spellings of the same logic); the fitted weight of the signal absorbs how often that
//! happens on the data it was fitted on.

use mge_atomize::parse::parse;
use mge_atomize::Grammar;
use mge_core::Language;

/// The sampling temperature of the consistency sample when a run does not set one.
pub const DEFAULT_TEMPERATURE: f32 = 0.6;

/// The token texts of `code`: the leaves of its parse tree in order, comments left out. Code
/// that does not parse still gives its tokens (error nodes are walked like any other).
pub fn tokens(code: &str, path: &str, language: Language) -> Vec<String> {
    let grammar = Grammar::for_file(path, language);
    let Some(tree) = parse(grammar, code) else {
        return code.split_whitespace().map(str::to_string).collect();
    };
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    let mut descend = true;
    loop {
        let node = cursor.node();
        let is_comment = node.kind() == "comment";
        if descend && !is_comment && cursor.goto_first_child() {
            continue;
        }
        if descend && !is_comment && node.child_count() == 0 {
            let text = &code[node.start_byte()..node.end_byte()];
            if !text.is_empty() {
                out.push(text.to_string());
            }
        }
        if cursor.goto_next_sibling() {
            descend = true;
            continue;
        }
        if !cursor.goto_parent() {
            break;
        }
        descend = false;
    }
    out
}

/// Whether two versions of one atom agree token by token (see [`tokens`]).
pub fn agrees(a: &str, b: &str, path: &str, language: Language) -> bool {
    a == b || tokens(a, path, language) == tokens(b, path, language)
}

/// Agreement share of some samples with the accepted code: `None` when no sample counts
/// (none was drawn, or every one failed its atomic check).
pub fn agreement(outcomes: &[Option<bool>]) -> Option<f64> {
    let counted: Vec<bool> = outcomes.iter().flatten().copied().collect();
    if counted.is_empty() {
        return None;
    }
    Some(counted.iter().filter(|a| **a).count() as f64 / counted.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_comments_do_not_count_but_tokens_do() {
        let a = "def f(x):\n    # double it\n    return x * 2\n";
        let b = "def f( x ):\n    return x*2  # twice\n";
        let c = "def f(x):\n    return x * 3\n";
        assert!(agrees(a, b, "m.py", Language::Python));
        assert!(!agrees(a, c, "m.py", Language::Python));
        assert_eq!(
            tokens(a, "m.py", Language::Python),
            ["def", "f", "(", "x", ")", ":", "return", "x", "*", "2"]
        );
        let t1 = "export const k = (a: number): number => a + 1; // inc\n";
        let t2 = "export const k = (a: number): number =>\n  a + 1;\n";
        let t3 = "export const k = (a: number): number => a - 1;\n";
        assert!(agrees(t1, t2, "k.ts", Language::TypeScript));
        assert!(!agrees(t1, t3, "k.ts", Language::TypeScript));
    }

    #[test]
    fn string_contents_and_indented_methods_are_compared() {
        let a = "    def m(self):\n        raise ValueError(\"bad input\")\n";
        let b = "    def m(self):\n        raise ValueError()\n";
        let c = "    def m(self):\n\n        raise ValueError(\"bad input\")\n";
        assert!(!agrees(a, b, "m.py", Language::Python));
        assert!(agrees(a, c, "m.py", Language::Python));
    }

    #[test]
    fn agreement_counts_only_samples_that_count() {
        assert_eq!(agreement(&[]), None);
        assert_eq!(agreement(&[None, None]), None);
        assert_eq!(agreement(&[Some(true), None]), Some(1.0));
        assert_eq!(agreement(&[Some(true), Some(false)]), Some(0.5));
    }
}
