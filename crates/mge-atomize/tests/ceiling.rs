//! The hard ceiling: an atom over `max_loc` is left whole only when a diagnostic explains why —
//! a single statement (or a class header) longer than the ceiling, named by its kind and its
//! line:column. Everything that has statement boundaries to cut at is split.

use std::path::{Path, PathBuf};

use mge_atomize::{atomize, AtomKind, AtomizedFile, Config, Diagnostic};
use mge_core::Language;

const CONFIG: Config = Config {
    target_loc: 10,
    max_loc: 15,
};

fn run(path: &str, src: &str) -> AtomizedFile {
    let lang = Language::from_path(path).unwrap();
    let f = atomize(path, src, lang, &CONFIG);
    f.check_tiling().unwrap();
    assert_eq!(f.reassemble(src), src);
    assert!(
        f.diagnostics.iter().all(|d| d.code != "syntax_error"),
        "{path}: {:?}",
        f.diagnostics
    );
    f
}

/// The diagnostics that explain an atom over the ceiling: an `oversized_statement` (or a
/// `deep_nesting`) warning located inside the atom's lines.
fn explanations(f: &AtomizedFile, start: u32, end: u32) -> Vec<&Diagnostic> {
    f.diagnostics
        .iter()
        .filter(|d| {
            (d.code == "oversized_statement" || d.code == "deep_nesting")
                && (start..=end).contains(&d.line)
        })
        .collect()
}

/// Every atom over the ceiling has an explanation, which names a kind and a position.
fn assert_explained(f: &AtomizedFile) {
    for a in &f.atoms {
        if a.loc <= CONFIG.max_loc || a.kind == AtomKind::Unparsed {
            continue;
        }
        let why = explanations(f, a.start_line, a.end_line);
        assert!(
            !why.is_empty(),
            "{}: atom {} ({}-{}, {} LOC) is over the ceiling without a diagnostic: {:?}",
            f.path,
            a.qualified_name,
            a.start_line,
            a.end_line,
            a.loc,
            f.diagnostics
        );
        for d in why {
            if d.code == "oversized_statement" {
                let at = format!(" at {}:{}", d.line, d.column);
                assert!(d.message.contains(&at), "{}: {}", f.path, d.message);
                assert!(
                    d.message.contains("over the ceiling of 15"),
                    "{}",
                    d.message
                );
            }
        }
    }
}

/// The single `oversized_statement` diagnostic of a file.
fn only_oversized(f: &AtomizedFile) -> &Diagnostic {
    let all: Vec<&Diagnostic> = f
        .diagnostics
        .iter()
        .filter(|d| d.code == "oversized_statement")
        .collect();
    assert_eq!(all.len(), 1, "{}: {:?}", f.path, f.diagnostics);
    all[0]
}

fn lines(prefix: &str, n: usize, item: impl Fn(usize) -> String, suffix: &str) -> String {
    let mut s = String::from(prefix);
    for i in 0..n {
        s.push_str(&item(i));
    }
    s.push_str(suffix);
    s
}

#[test]
fn python_single_statement_over_the_ceiling_is_explained() {
    // A function whose body is one 22-line return statement: nothing to cut at.
    let src = lines(
        "def table():\n    return {\n",
        20,
        |i| format!("        \"k{i}\": {i},\n"),
        "    }\n",
    );
    let f = run("pkg/table.py", &src);
    assert_explained(&f);
    let d = only_oversized(&f);
    assert_eq!((d.line, d.column), (2, 5));
    assert!(
        d.message.contains("return_statement at 2:5"),
        "{}",
        d.message
    );
    assert!(d.message.contains("22 LOC"), "{}", d.message);
}

#[test]
fn python_class_body_compound_statement_is_split_into_methods() {
    // `if` in a class body holding method definitions: split, the definitions are methods.
    let method = |name: &str| {
        lines(
            &format!("        def {name}(self, x: int) -> int:\n"),
            9,
            |i| format!("            x = x + {i}\n"),
            "            return x\n",
        )
    };
    let src = format!(
        "import os\n\n\nclass Worker:\n    \"\"\"Works.\"\"\"\n\n    if os.name == \"nt\":\n{}{}    else:\n{}\n    def run(self) -> None:\n        pass\n",
        method("start"),
        method("stop"),
        method("start"),
    );
    let f = run("pkg/worker.py", &src);
    assert_explained(&f);
    assert!(
        f.atoms.iter().all(|a| a.loc <= CONFIG.max_loc),
        "{:#?}",
        f.atoms
            .iter()
            .map(|a| (&a.qualified_name, a.loc))
            .collect::<Vec<_>>()
    );
    let methods: Vec<&str> = f
        .atoms
        .iter()
        .filter(|a| a.kind == AtomKind::Method)
        .map(|a| a.qualified_name.as_str())
        .collect();
    assert_eq!(methods, ["Worker.start", "Worker.stop", "Worker.run"]);
    let header = f
        .atoms
        .iter()
        .find(|a| a.kind == AtomKind::ClassHeader)
        .unwrap();
    for a in f.atoms.iter().filter(|a| a.kind == AtomKind::Method) {
        assert_eq!(a.parent.as_deref(), Some(header.id.as_str()));
    }
    assert!(f.atoms.iter().any(|a| a.defines == ["Worker.stop"]));
}

#[test]
fn python_class_body_long_assignment_is_explained() {
    let src = lines(
        "class Codes:\n    TABLE = [\n",
        18,
        |i| format!("        {i},\n"),
        "    ]\n\n    def get(self, i: int) -> int:\n        return self.TABLE[i]\n",
    );
    let f = run("pkg/codes.py", &src);
    assert_explained(&f);
    let d = only_oversized(&f);
    assert_eq!(d.line, 2);
    assert!(d.message.contains("at 2:5"), "{}", d.message);
}

#[test]
fn typescript_class_header_over_the_ceiling_is_explained() {
    // The heritage clause holds a long expression: the part before the body is never cut.
    let src = lines(
        "export class Service extends Base.make(\"svc\", {\n",
        18,
        |i| format!("  field{i}: {i},\n"),
        "}) {\n  static readonly layer = 1\n}\n",
    );
    let f = run("src/service.ts", &src);
    assert_explained(&f);
    let d = only_oversized(&f);
    assert_eq!((d.line, d.column), (1, 1));
    assert!(d.message.contains("header of a class"), "{}", d.message);
    assert!(
        d.message.contains("export_statement at 1:1"),
        "{}",
        d.message
    );
}

#[test]
fn typescript_function_with_one_long_statement_is_explained() {
    let src = lines(
        "export function config(): Record<string, number> {\n  const small = 1\n  return {\n",
        18,
        |i| format!("    key{i}: small + {i},\n"),
        "  }\n}\n",
    );
    let f = run("src/config.ts", &src);
    assert_explained(&f);
    let d = only_oversized(&f);
    assert!(
        d.message.contains("return_statement at 3:3"),
        "{}",
        d.message
    );
}

#[test]
fn tsx_component_returning_long_markup_is_explained() {
    let src = lines(
        "export function List(): JSX.Element {\n  return (\n    <ul>\n",
        18,
        |i| format!("      <li>item {i}</li>\n"),
        "    </ul>\n  );\n}\n",
    );
    let f = run("src/List.tsx", &src);
    assert_explained(&f);
    let d = only_oversized(&f);
    assert!(
        d.message.contains("return_statement at 2:3"),
        "{}",
        d.message
    );
}

#[test]
fn javascript_module_constant_over_the_ceiling_is_explained() {
    let src = lines(
        "const small = 1;\n\nexport const PRIMES = [\n",
        18,
        |i| format!("  {},\n", i * 2 + 1),
        "];\n",
    );
    let f = run("src/primes.js", &src);
    assert_explained(&f);
    let d = only_oversized(&f);
    assert!(
        d.message.contains("export_statement at 3:1"),
        "{}",
        d.message
    );
}

#[test]
fn javascript_function_with_statements_is_split_below_the_ceiling() {
    let src = lines(
        "function sum(xs) {\n  let total = 0;\n",
        30,
        |i| format!("  total += xs[{i}];\n"),
        "  return total;\n}\n",
    );
    let f = run("src/sum.js", &src);
    assert_explained(&f);
    assert!(f.atoms.iter().all(|a| a.loc <= CONFIG.max_loc));
    assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if Language::from_path(&p.to_string_lossy()).is_some() {
            out.push(p);
        }
    }
}

#[test]
fn fixture_files_leave_nothing_over_the_ceiling_unexplained() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    assert!(
        files.len() > 10,
        "fixtures not found under {}",
        root.display()
    );
    for p in files {
        let path = p.to_string_lossy().to_string();
        let src = std::fs::read_to_string(&p).unwrap();
        let lang = Language::from_path(&path).unwrap();
        let f = atomize(&path, &src, lang, &CONFIG);
        if f.diagnostics.iter().any(|d| d.code == "syntax_error") {
            continue;
        }
        assert_explained(&f);
    }
}
