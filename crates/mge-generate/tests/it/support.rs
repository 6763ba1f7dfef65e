//! Samples and checks shared by the simulated-provider tests.

use mge_core::Language;
use mge_generate::{FaultKind, InjectedFault};

pub const SAMPLES: [(&str, &str, Language); 3] = [
    (
        "pricing.py",
        include_str!("samples/pricing.py"),
        Language::Python,
    ),
    (
        "inventory.ts",
        include_str!("samples/inventory.ts"),
        Language::TypeScript,
    ),
    (
        "report.js",
        include_str!("samples/report.js"),
        Language::JavaScript,
    ),
];

pub const PY_SNIPPET: &str = r#"from util import clamp, round_money

def total(lines, limit):
    if len(lines) > limit:
        raise ValueError("too many lines")
    subtotal = sum(line.price * line.qty for line in lines)
    return round_money(clamp(subtotal, 0, 100))
"#;

pub const TS_SNIPPET: &str = r#"import { clamp, roundTo } from "./util";

export function share(part: number, whole: number): number {
  if (whole <= 0) {
    return 0;
  }
  const ratio = clamp(part / whole, 0, 1);
  return roundTo(ratio * 100, 2);
}
"#;

pub fn render(faults: &[InjectedFault]) -> String {
    faults
        .iter()
        .map(|f| {
            format!(
                "{}:{} {}: {:?} -> {:?}\n",
                f.line, f.column, f.kind, f.original, f.replacement
            )
        })
        .collect()
}

/// Byte offset of a fault's column on its line.
pub fn offset(code: &str, fault: &InjectedFault) -> usize {
    let line_start: usize = code
        .split_inclusive('\n')
        .take(fault.line as usize - 1)
        .map(str::len)
        .sum();
    line_start + fault.column as usize - 1
}

/// Undo every fault of a generated code: gives the reference back when faults are ground truth.
pub fn undo(code: &str, faults: &[InjectedFault]) -> String {
    let mut out = code.to_string();
    for fault in faults.iter().rev() {
        let at = offset(&out, fault);
        assert!(
            out[at..].starts_with(&fault.replacement),
            "fault {fault:?} not found in the output"
        );
        out.replace_range(at..at + fault.replacement.len(), &fault.original);
    }
    out
}

/// The reference with only one fault applied.
pub fn apply_one(expected: &str, fault: &InjectedFault) -> String {
    let at = offset(expected, fault);
    assert!(expected[at..].starts_with(&fault.original));
    let mut out = expected.to_string();
    out.replace_range(at..at + fault.original.len(), &fault.replacement);
    out
}

pub fn parse_has_error(code: &str, language: Language) -> bool {
    let grammar: tree_sitter::Language = match language {
        Language::Python => tree_sitter_python::LANGUAGE.into(),
        Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
    };
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&grammar).unwrap();
    parser.parse(code, None).unwrap().root_node().has_error()
}

/// Top-level comma-separated parts of a bracketed argument text `(a, f(b, c))`.
pub fn top_level_args(text: &str) -> Vec<String> {
    let inner = text.trim();
    let inner = inner
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(inner);
    let mut parts = Vec::new();
    let (mut depth, mut current) = (0i32, String::new());
    for c in inner.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_string());
    }
    parts
}

pub fn is_word_in(name: &str, code: &str) -> bool {
    code.match_indices(name).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        !word(before) && !word(after)
    })
}

/// The documented change of each kind.
pub fn assert_documented_change(fault: &InjectedFault, expected: &str) {
    let (o, r) = (fault.original.as_str(), fault.replacement.as_str());
    match fault.kind {
        FaultKind::SyntaxError => {
            assert!(
                [")", "]", "}", ":"].contains(&o) && r.is_empty(),
                "{fault:?}"
            )
        }
        FaultKind::MisspelledIdentifier | FaultKind::WrongImportName => {
            assert_ne!(o, r);
            assert!(o.len().abs_diff(r.len()) <= 1, "{fault:?}");
            assert!(
                !is_word_in(r, expected),
                "{fault:?} collides with a name of the unit"
            );
        }
        FaultKind::WrongArity => {
            let (before, after) = (top_level_args(o).len(), top_level_args(r).len());
            assert!(before.abs_diff(after) == 1, "{fault:?}");
            assert!(r.starts_with('(') && r.ends_with(')'));
        }
        FaultKind::FlippedComparison => {
            let pairs = [
                ("<", ">="),
                (">=", "<"),
                (">", "<="),
                ("<=", ">"),
                ("==", "!="),
                ("!=", "=="),
                ("===", "!=="),
                ("!==", "==="),
            ];
            assert!(pairs.contains(&(o, r)), "{fault:?}");
        }
        FaultKind::FlippedOperator => {
            let pairs = [
                ("+", "-"),
                ("-", "+"),
                ("*", "/"),
                ("/", "*"),
                ("//", "/"),
                ("%", "/"),
            ];
            assert!(pairs.contains(&(o, r)), "{fault:?}");
        }
        FaultKind::OffByOne => {
            let (a, b): (i64, i64) = (o.parse().unwrap(), r.parse().unwrap());
            assert_eq!((a - b).abs(), 1, "{fault:?}");
        }
        FaultKind::SwappedArguments => {
            let args = top_level_args(o);
            assert_eq!(args.len(), 2, "{fault:?}");
            let (sep_start, sep_end) = (args[0].len(), o.len() - args[1].len());
            assert_eq!(
                r,
                format!("{}{}{}", args[1], &o[sep_start..sep_end], args[0])
            );
        }
    }
}
