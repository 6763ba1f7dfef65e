//! The syntax check of generated code: tree-sitter, located to line and column.

use mge_atomize::parse::{first_syntax_error, parse, Grammar};
use mge_core::Language;

/// `None` when `code` parses cleanly as a file of `language` at `path`; the first error as
/// `path:line:col: message` otherwise.
pub fn check(path: &str, language: Language, code: &str) -> Option<String> {
    let grammar = Grammar::for_file(path, language);
    let Some(tree) = parse(grammar, code) else {
        return Some(format!("{path}: the parser gave up on this file"));
    };
    first_syntax_error(&tree).map(|d| format!("{path}:{}:{}: {}", d.line, d.column, d.message))
}

/// The check of a prefix of a file (the code generated so far, ending at a subtask boundary):
/// a block left open at the end is not an error yet, since a later subtask closes it. For the
/// brace languages a prefix passes when closing up to four open blocks makes it parse; Python
/// prefixes cut between statements parse as they are.
pub fn check_prefix(path: &str, language: Language, code: &str) -> Option<String> {
    let error = check(path, language, code)?;
    if language == Language::Python {
        return Some(error);
    }
    let closes_cleanly =
        (1..=4).any(|n| check(path, language, &format!("{code}{}", "\n}".repeat(n))).is_none());
    (!closes_cleanly).then_some(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_may_leave_blocks_open_but_not_break_them() {
        let ts = "export class A {\n  f(): number {\n    return 1;\n  }\n";
        assert!(check("a.ts", Language::TypeScript, ts).is_some());
        assert_eq!(check_prefix("a.ts", Language::TypeScript, ts), None);
        let broken = "export class A {\n  f(): number {\n    return (1;\n  }\n";
        let error = check_prefix("a.ts", Language::TypeScript, broken).unwrap();
        assert!(error.starts_with("a.ts:"), "{error}");
        assert!(check_prefix("a.py", Language::Python, "def f(:\n    pass\n").is_some());
        assert_eq!(
            check("a.py", Language::Python, "class A:\n    x = 1\n"),
            None
        );
    }
}
