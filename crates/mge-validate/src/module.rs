//! Level 2, module: one reassembled file — it parses, defines every expected name exactly once,
//! every name it uses resolves in the module or its imports, and Python files pass
//! `py_compile` (run in the sandbox).

use std::collections::{BTreeMap, BTreeSet};

use mge_atomize::parse::{first_syntax_error, parse};
use mge_atomize::{atomize, AtomKind, AtomizedFile, Config, Grammar, Modifier, PlanIndex};
use mge_core::{Language, ValidationLevel};

use crate::names::unresolved;
use crate::project::ValidateError;
use crate::report::{codes, ReportBuilder, ValidationReport, Violation};
use crate::sandbox::{Isolation, Sandbox, SandboxLimits};

/// What the module validator needs about one file.
#[derive(Debug, Clone, Copy)]
pub struct ModuleInput<'a> {
    pub path: &'a str,
    pub language: Language,
    /// The reassembled file.
    pub source: &'a str,
    /// The atomized files of the plan (the entry for `path`, if any, is replaced).
    pub plan_files: &'a [AtomizedFile],
    /// Names the file must define (the union of its planned atoms' `defines`).
    pub expected_defines: &'a [String],
    /// Names that count as resolved besides the plan's.
    pub context_names: &'a [String],
}

/// Structural checks of a module: parse, duplicate and missing definitions, name resolution.
/// No toolchain run.
pub fn check_module(input: &ModuleInput) -> ValidationReport {
    let mut report = ReportBuilder::new(ValidationLevel::Module);
    structure(input, &mut report);
    report.finish()
}

/// [`check_module`] plus `py_compile` in a sandbox for Python files.
pub fn validate_module(
    input: &ModuleInput,
    limits: &SandboxLimits,
) -> Result<ValidationReport, ValidateError> {
    let mut report = ReportBuilder::new(ValidationLevel::Module);
    let parsed = structure(input, &mut report);
    if parsed && input.language == Language::Python {
        let (found, isolation) = py_compile(&[(input.path, input.source)], limits)?;
        report.checked(1);
        report.isolation(isolation);
        for v in found.into_values().flatten() {
            report.violation(v);
        }
    }
    Ok(report.finish())
}

/// Validates several modules of one project at once, sharing one `py_compile` run. `expected`
/// gives each path's expected defines (absent: none). Reports are keyed by path.
pub fn validate_modules(
    modules: &[(&str, &str)],
    plan_files: &[AtomizedFile],
    expected: &BTreeMap<String, Vec<String>>,
    context_names: &[String],
    limits: &SandboxLimits,
) -> Result<BTreeMap<String, ValidationReport>, ValidateError> {
    let mut builders = BTreeMap::new();
    let mut python = Vec::new();
    for &(path, source) in modules {
        let Some(language) = Language::from_path(path) else {
            continue;
        };
        let none = Vec::new();
        let input = ModuleInput {
            path,
            language,
            source,
            plan_files,
            expected_defines: expected.get(path).unwrap_or(&none),
            context_names,
        };
        let mut b = ReportBuilder::new(ValidationLevel::Module);
        if structure(&input, &mut b) && language == Language::Python {
            python.push((path, source));
        }
        builders.insert(path.to_string(), b);
    }
    if !python.is_empty() {
        let (mut found, isolation) = py_compile(&python, limits)?;
        for (path, _) in &python {
            if let Some(b) = builders.get_mut(*path) {
                b.checked(1);
                b.isolation(isolation.clone());
                for v in found.remove(*path).unwrap_or_default() {
                    b.violation(v);
                }
            }
        }
    }
    Ok(builders.into_iter().map(|(p, b)| (p, b.finish())).collect())
}

/// The structural checks; returns false when the file does not parse.
fn structure(input: &ModuleInput, report: &mut ReportBuilder) -> bool {
    let path = input.path;
    let grammar = Grammar::for_file(path, input.language);
    report.checked(1);
    let Some(tree) = parse(grammar, input.source) else {
        report.violation(Violation::new(
            path,
            1,
            1,
            codes::SYNTAX_ERROR,
            "the parser could not process the file",
        ));
        return false;
    };
    let file = atomize(path, input.source, input.language, &Config::default());
    let atom_of = |line: u32| crate::project::atom_at_line(&file, line).map(|a| a.id.clone());
    if let Some(d) = first_syntax_error(&tree) {
        report.violation(
            Violation::new(path, d.line, d.column, d.code.clone(), d.message.clone())
                .with_atom(atom_of(d.line)),
        );
        return false;
    }

    // Duplicate definitions: the same name bound by two plain definitions.
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    for a in &file.atoms {
        let plain = matches!(
            a.kind,
            AtomKind::Function | AtomKind::Method | AtomKind::ClassHeader | AtomKind::Enum
        ) && !a.modifiers.iter().any(|m| {
            matches!(
                m,
                Modifier::Decorated | Modifier::Overload | Modifier::Ambient
            )
        });
        if !plain {
            continue;
        }
        // Only the definition itself: members assigned in a method are not redefinitions.
        let own: Vec<&str> = a
            .defines
            .iter()
            .filter(|d| **d == a.qualified_name)
            .map(String::as_str)
            .collect();
        let accessor = a.signature.as_deref().is_some_and(|sig| {
            let sig = sig
                .trim_start_matches("static ")
                .trim_start_matches("public ")
                .trim_start_matches("protected ")
                .trim_start_matches("private ");
            sig.starts_with("get ") || sig.starts_with("set ")
        });
        if accessor {
            continue;
        }
        let line = first_code_line(input.source, a);
        for d in own {
            report.checked(1);
            if let Some(first) = seen.insert(d, line) {
                report.violation(
                    Violation::new(
                        path,
                        line,
                        1,
                        codes::DUPLICATE_DEFINITION,
                        format!("'{d}' is defined again (first defined at line {first})"),
                    )
                    .with_atom(Some(a.id.clone())),
                );
            }
        }
    }

    // Missing definitions.
    let defined: BTreeSet<&str> = file
        .atoms
        .iter()
        .flat_map(|a| a.defines.iter().map(String::as_str))
        .collect();
    for d in input.expected_defines {
        report.checked(1);
        if !defined.contains(d.as_str()) {
            report.violation(Violation::new(
                path,
                1,
                1,
                codes::MISSING_DEFINITION,
                format!("the module must define '{d}' but does not"),
            ));
        }
    }

    // Name resolution.
    let mut files: Vec<AtomizedFile> = input
        .plan_files
        .iter()
        .filter(|f| f.path != path)
        .cloned()
        .collect();
    files.push(file);
    let index = PlanIndex::new(&files);
    let fi = files.len() - 1;
    let all: Vec<usize> = (0..files[fi].atoms.len()).collect();
    let allowed: BTreeSet<String> = input.context_names.iter().cloned().collect();
    let (violations, checks) = unresolved(
        &index,
        fi,
        &all,
        &allowed,
        &BTreeSet::new(),
        None,
        Some(&tree),
    );
    report.checked(checks);
    for v in violations {
        report.violation(v);
    }
    true
}

const PY_COMPILE_SCRIPT: &str = r#"
import sys, py_compile
bad = 0
for p in sys.argv[1:]:
    try:
        py_compile.compile(p, doraise=True)
    except py_compile.PyCompileError as e:
        bad = 1
        v = e.exc_value
        line = getattr(v, "lineno", None) or 0
        col = getattr(v, "offset", None) or 0
        msg = (getattr(v, "msg", None) or str(v)).replace("\n", " ")
        print("MGE-PYC\t%s\t%d\t%d\t%s: %s" % (p, line, col, e.exc_type_name, msg))
sys.exit(bad)
"#;

/// Runs `py_compile` over the files in one sandbox; violations by path.
pub fn py_compile(
    files: &[(&str, &str)],
    limits: &SandboxLimits,
) -> Result<(BTreeMap<String, Vec<Violation>>, Isolation), ValidateError> {
    let sb = Sandbox::new(*limits)?;
    for (path, source) in files {
        sb.write_file(path, source)?;
    }
    let mut args = vec!["-c", PY_COMPILE_SCRIPT];
    args.extend(files.iter().map(|(p, _)| *p));
    let out = sb.run("python3", &args)?;
    let mut found: BTreeMap<String, Vec<Violation>> = BTreeMap::new();
    for line in out.stdout.lines() {
        let mut parts = line.splitn(5, '\t');
        if parts.next() != Some("MGE-PYC") {
            continue;
        }
        let (Some(p), Some(l), Some(c), Some(msg)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        found.entry(p.to_string()).or_default().push(Violation::new(
            p,
            l.parse().unwrap_or(0),
            c.parse().unwrap_or(0),
            codes::PY_COMPILE,
            msg.to_string(),
        ));
    }
    if !out.success() && found.is_empty() {
        let reason = out
            .reason
            .clone()
            .unwrap_or_else(|| "py_compile failed".into());
        let code = if out.limit.is_some() {
            codes::SANDBOX_LIMIT
        } else {
            codes::TOOL_FAILED
        };
        for (p, _) in files {
            found.entry(p.to_string()).or_default().push(Violation::new(
                *p,
                0,
                0,
                code,
                format!("{reason}: {}", last_line(&out.stderr)),
            ));
        }
    }
    Ok((found, out.isolation))
}

/// The first line of an atom that is not blank (atoms also hold the blank lines before them).
fn first_code_line(source: &str, a: &mge_atomize::Atom) -> u32 {
    let text = source.get(a.start_byte..a.end_byte).unwrap_or("");
    let skipped = text.lines().take_while(|l| l.trim().is_empty()).count() as u32;
    (a.start_line + skipped).min(a.end_line.max(a.start_line))
}

pub(crate) fn last_line(s: &str) -> &str {
    s.trim().lines().last().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(path: &'a str, source: &'a str, expected: &'a [String]) -> ModuleInput<'a> {
        ModuleInput {
            path,
            language: Language::from_path(path).unwrap(),
            source,
            plan_files: &[],
            expected_defines: expected,
            context_names: &[],
        }
    }

    #[test]
    fn duplicates_missing_definitions_and_unresolved_names_are_reported() {
        let src = "import os\n\n\ndef f():\n    return os.sep\n\n\ndef f():\n    return g()\n\n\nclass P:\n    @property\n    def v(self):\n        return 1\n\n    @v.setter\n    def v(self, x):\n        pass\n";
        let expected = vec!["f".to_string(), "h".to_string()];
        let r = check_module(&input("m.py", src, &expected));
        expect_test::expect![[r#"
            m.py:1:1: missing_definition: the module must define 'h' but does not
            m.py:8:1: duplicate_definition: 'f' is defined again (first defined at line 4)
            m.py:9:12: unresolved_name: name 'g' does not resolve: 'g' is neither defined nor imported in m.py
        "#]]
        .assert_eq(&r.feedback());
        let ts = "export class A {\n  get x(): number { return 1; }\n  set x(v: number) { void v; }\n}\nexport function f(n: number): number;\nexport function f(n: string): string;\nexport function f(n: any): any { return n; }\n";
        assert!(check_module(&input("a.ts", ts, &[])).passed);
    }

    #[test]
    fn py_compile_catches_what_the_parser_accepts() {
        let src = "def f():\n    return 1\n\n\nreturn f()\n";
        let structural = check_module(&input("m.py", src, &[]));
        assert!(structural.passed, "{:?}", structural.violations);
        let r = validate_module(&input("m.py", src, &[]), &SandboxLimits::default()).unwrap();
        expect_test::expect![[r#"
            m.py:5:1: py_compile: SyntaxError: 'return' outside function
        "#]]
        .assert_eq(&r.feedback());
        assert!(r.isolation.is_some());
    }
}
