//! Level 3, component: the files of a package or directory together — imports resolve to
//! symbols that exist and are exported by the target file, calls pass what the callee accepts
//! (every call of the files, see [`crate::arity`]), and TypeScript compiles with
//! `tsc --noEmit -p <tsconfig>` (in the sandbox).

use std::collections::{BTreeMap, HashMap};

use mge_atomize::parse::parse;
use mge_atomize::{AtomKind, AtomizedFile, Grammar, ImportKind, Modifier, PlanIndex, Resolution};
use mge_core::{Language, ValidationLevel};

use crate::output::parse_tsc;
use crate::project::{atom_at_line, Project, ValidateError};
use crate::report::{codes, ReportBuilder, ValidationReport, Violation};
use crate::sandbox::{Isolation, Sandbox, SandboxLimits};
use crate::syntax::{exported_names, Callable};

/// The files of a project grouped by directory (`""` for the root): the default components.
pub fn components<'a>(paths: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in paths {
        let dir = p.rsplit_once('/').map_or("", |(d, _)| d);
        out.entry(dir.to_string()).or_default().push(p.to_string());
    }
    out
}

/// Structural checks of the component made of `files` (imports and call arity), over the
/// atomized project `plan_files` (see [`Project::atomize`]).
pub fn check_component(
    project: &Project,
    plan_files: &[AtomizedFile],
    files: &[String],
) -> ValidationReport {
    let mut report = ReportBuilder::new(ValidationLevel::Component);
    let mut structure = Structure::new(project, plan_files);
    for f in files {
        structure.check_file(f, &mut report);
    }
    report.finish()
}

/// [`check_component`] plus `tsc --noEmit -p <tsconfig>` over the project when `tsconfig` (a
/// project-relative path) is given and the component holds TypeScript. Compiler diagnostics in
/// the component's files are violations, those elsewhere warnings.
pub fn validate_component(
    project: &Project,
    plan_files: &[AtomizedFile],
    files: &[String],
    tsconfig: Option<&str>,
    limits: &SandboxLimits,
) -> Result<ValidationReport, ValidateError> {
    let mut reports = validate_components(
        project,
        plan_files,
        &BTreeMap::from([(String::new(), files.to_vec())]),
        tsconfig,
        limits,
    )?;
    Ok(reports
        .remove("")
        .unwrap_or_else(|| ReportBuilder::new(ValidationLevel::Component).finish()))
}

/// Validates several components of one project, sharing one `tsc` run. Reports by component
/// name (the keys of `components`).
pub fn validate_components(
    project: &Project,
    plan_files: &[AtomizedFile],
    components: &BTreeMap<String, Vec<String>>,
    tsconfig: Option<&str>,
    limits: &SandboxLimits,
) -> Result<BTreeMap<String, ValidationReport>, ValidateError> {
    let any_ts = components
        .values()
        .flatten()
        .any(|f| Language::from_path(f) == Some(Language::TypeScript));
    let tsc = match tsconfig {
        Some(cfg) if any_ts && project.get(cfg).is_some() => Some(run_tsc(project, cfg, limits)?),
        _ => None,
    };
    let mut structure = Structure::new(project, plan_files);
    let mut out = BTreeMap::new();
    for (name, files) in components {
        let mut report = ReportBuilder::new(ValidationLevel::Component);
        for f in files {
            structure.check_file(f, &mut report);
        }
        if let Some((diags, isolation)) = &tsc {
            if files
                .iter()
                .any(|f| Language::from_path(f) == Some(Language::TypeScript))
            {
                report.checked(1);
                report.isolation(isolation.clone());
                for d in diags {
                    let mut v = d.clone();
                    v.atom = structure.atom_id(&v.file, v.line);
                    if files.contains(&v.file) || (v.file.is_empty() && v.line == 0) {
                        report.violation(v);
                    } else {
                        report.warning(v);
                    }
                }
            }
        }
        out.insert(name.clone(), report.finish());
    }
    Ok(out)
}

/// Runs `tsc --noEmit -p <tsconfig>` on a copy of the project in the sandbox.
pub fn run_tsc(
    project: &Project,
    tsconfig: &str,
    limits: &SandboxLimits,
) -> Result<(Vec<Violation>, Isolation), ValidateError> {
    let sb = Sandbox::new(*limits)?;
    project.write_to(sb.dir())?;
    let out = sb.run("tsc", &["--noEmit", "--pretty", "false", "-p", tsconfig])?;
    let mut diags = parse_tsc(&out.combined_output());
    if !out.success() && diags.is_empty() {
        let code = if out.limit.is_some() {
            codes::SANDBOX_LIMIT
        } else {
            codes::TOOL_FAILED
        };
        diags.push(Violation::new(
            "",
            0,
            0,
            code,
            format!(
                "tsc: {}: {}",
                out.reason.as_deref().unwrap_or("failed"),
                crate::module::last_line(&out.combined_output())
            ),
        ));
    }
    Ok((diags, out.isolation))
}

/// Caches per file: parsed callables and exported names.
struct Structure<'a> {
    project: &'a Project,
    index: PlanIndex<'a>,
    callables: HashMap<usize, Vec<Callable>>,
    exports: HashMap<usize, (std::collections::BTreeSet<String>, bool)>,
}

impl<'a> Structure<'a> {
    fn new(project: &'a Project, plan_files: &'a [AtomizedFile]) -> Structure<'a> {
        Structure {
            project,
            index: PlanIndex::new(plan_files),
            callables: HashMap::new(),
            exports: HashMap::new(),
        }
    }

    fn atom_id(&self, path: &str, line: u32) -> Option<String> {
        let fi = self.index.file_index(path)?;
        atom_at_line(&self.index.files()[fi], line).map(|a| a.id.clone())
    }

    fn grammar(&self, fi: usize) -> Grammar {
        let f = &self.index.files()[fi];
        Grammar::for_file(&f.path, f.language)
    }

    fn exports(&mut self, fi: usize) -> &(std::collections::BTreeSet<String>, bool) {
        let grammar = self.grammar(fi);
        let path = &self.index.files()[fi].path;
        let src = self.project.get(path).unwrap_or("");
        self.exports.entry(fi).or_insert_with(|| {
            parse(grammar, src)
                .map(|t| exported_names(&t, src))
                .unwrap_or_default()
        })
    }

    fn check_file(&mut self, path: &str, report: &mut ReportBuilder) {
        let Some(fi) = self.index.file_index(path) else {
            return;
        };
        let file = &self.index.files()[fi];
        if file.has_errors() {
            return;
        }
        self.check_imports(fi, report);
        self.check_calls(fi, report);
    }

    fn check_imports(&mut self, fi: usize, report: &mut ReportBuilder) {
        let file = &self.index.files()[fi];
        let script = file.language != Language::Python;
        for b in &file.imports {
            if matches!(b.kind, ImportKind::SideEffect | ImportKind::Wildcard) || b.local.is_empty()
            {
                continue;
            }
            report.checked(1);
            let what = b.imported.clone().unwrap_or_else(|| b.local.clone());
            match self.index.resolve_name(fi, &b.local, &[], 0) {
                Resolution::Unresolved { reason } => report.violation(
                    Violation::new(
                        &file.path,
                        b.line,
                        1,
                        codes::UNRESOLVED_IMPORT,
                        format!(
                            "import of '{what}' from '{}' does not resolve: {reason}",
                            b.module
                        ),
                    )
                    .with_atom(Some(b.atom_id.clone())),
                ),
                Resolution::Plan { providers, .. } if script && b.kind != ImportKind::Module => {
                    let mut exported = false;
                    for p in &providers {
                        let a = self.index.atom(*p);
                        if p.file == fi
                            || a.kind == AtomKind::Import
                            || a.modifiers.contains(&Modifier::Exported)
                        {
                            exported = true;
                            break;
                        }
                        let (names, star) = self.exports(p.file);
                        if *star || a.defines.iter().any(|d| names.contains(d)) {
                            exported = true;
                            break;
                        }
                    }
                    if !exported {
                        let target = providers
                            .first()
                            .map(|p| self.index.files()[p.file].path.clone())
                            .unwrap_or_default();
                        report.violation(
                            Violation::new(
                                &file.path,
                                b.line,
                                1,
                                codes::NOT_EXPORTED,
                                format!("'{what}' is defined in {target} but not exported"),
                            )
                            .with_atom(Some(b.atom_id.clone())),
                        );
                    }
                }
                _ => {}
            }
        }
    }

    fn check_calls(&mut self, fi: usize, report: &mut ReportBuilder) {
        let file = &self.index.files()[fi];
        let grammar = self.grammar(fi);
        let src = self.project.get(&file.path).unwrap_or("");
        let Some(tree) = parse(grammar, src) else {
            return;
        };
        let Structure {
            project,
            index,
            callables,
            ..
        } = self;
        let mut callables_of = |f: usize| {
            let pf = &index.files()[f];
            let g = Grammar::for_file(&pf.path, pf.language);
            let s = project.get(&pf.path).unwrap_or("");
            Some(
                callables
                    .entry(f)
                    .or_insert_with(|| {
                        parse(g, s)
                            .map(|t| crate::syntax::callables_for_calls(g, &t, s))
                            .unwrap_or_default()
                    })
                    .clone(),
            )
        };
        let (violations, checks) =
            crate::arity::check_calls(index, fi, &tree, src, None, &mut callables_of);
        report.checked(checks);
        for v in violations {
            report.violation(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mge_atomize::Config;

    fn check(files: &[(&str, &str)]) -> Vec<String> {
        let mut p = Project::new();
        for (path, src) in files {
            p.insert(*path, *src);
        }
        let atomized = p.atomize(&Config::default());
        let paths: Vec<String> = files.iter().map(|(p, _)| p.to_string()).collect();
        let r = check_component(&p, &atomized, &paths);
        r.violations.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn python_arity_counts_defaults_star_args_keywords_and_receivers() {
        let lib = "def f(a, b=1, *rest, key, flag=False, **extra):\n    return a\n\n\ndef g(a, /, b, *, c=0):\n    return a\n\n\nclass C:\n    def __init__(self, x, y=0):\n        self.x = x\n\n    def m(self, z):\n        return self.x + z\n\n    @staticmethod\n    def s(q):\n        return q\n\n    def use(self):\n        return self.m(1, 2)\n";
        let user = "from .lib import C, f, g\n\n\ndef ok():\n    f(1, key=2)\n    f(1, 2, 3, 4, key=5, other=6)\n    g(1, 2)\n    g(1, b=2, c=3)\n    C(1)\n    C.s(1)\n    return f(*[1], **{})\n\n\ndef bad():\n    f(key=1)\n    g(1)\n    g(a=1, b=2)\n    C()\n    C(1, 2, 3)\n    C.s(1, 2)\n    f(1)\n";
        let got = check(&[
            ("pkg/__init__.py", ""),
            ("pkg/lib.py", lib),
            ("pkg/user.py", user),
        ]);
        expect_test::expect![[r#"
            [
                "pkg/lib.py:21:16: too_many_arguments: 'C.m' takes at most 1 positional argument(s) (z) but 2 were given",
                "pkg/user.py:15:5: missing_argument: 'f' is missing argument 'a' (a, b=, *rest, key, flag=, **extra)",
                "pkg/user.py:16:5: missing_argument: 'g' is missing argument 'b' (a, b, c=)",
                "pkg/user.py:17:5: unexpected_keyword: 'g' has no parameter 'a' (a, b, c=)",
                "pkg/user.py:18:5: missing_argument: 'C.__init__' is missing argument 'x' (x, y=)",
                "pkg/user.py:19:5: too_many_arguments: 'C.__init__' takes at most 2 positional argument(s) (x, y=) but 3 were given",
                "pkg/user.py:20:5: too_many_arguments: 'C.s' takes at most 1 positional argument(s) (q) but 2 were given",
                "pkg/user.py:21:5: missing_argument: 'f' is missing argument 'key' (a, b=, *rest, key, flag=, **extra)",
            ]
        "#]]
        .assert_debug_eq(&got);
    }

    #[test]
    fn script_arity_counts_optional_default_and_rest_parameters() {
        let lib = "export function f(a: number, b?: number, c: number = 1): number {\n  return a;\n}\n\nexport const r = (a: string, ...more: string[]): string => a;\n\nexport class K {\n  constructor(private x: number) {}\n  m(y: number): number {\n    return this.x + y;\n  }\n  n(): number {\n    return this.m(1, 2);\n  }\n}\n\nconst hidden = (): number => 1;\n";
        let user = "import { f, r, K, hidden } from './lib.js';\n\nexport function use(): number {\n  f(1);\n  f(1, 2, 3);\n  r('a', 'b', 'c');\n  new K(1);\n  f();\n  f(1, 2, 3, 4);\n  new K();\n  return hidden();\n}\n";
        let js = "/**\n * @param {number} a\n * @param {number} [b]\n */\nexport function j(a, b) {\n  return a + (b ?? 0);\n}\n\nexport function use() {\n  j(1);\n  j(1, 2, 3);\n  return j();\n}\n";
        let got = check(&[("src/lib.ts", lib), ("src/user.ts", user), ("src/j.js", js)]);
        expect_test::expect![[r#"
            [
                "src/j.js:11:3: too_many_arguments: 'j' takes at most 2 positional argument(s) (a, b=) but 3 were given",
                "src/j.js:12:10: missing_argument: 'j' needs at least 1 argument(s) (a, b=) but 0 were given",
                "src/lib.ts:13:12: too_many_arguments: 'K.m' takes at most 1 positional argument(s) (y) but 2 were given",
                "src/user.ts:1:1: not_exported: 'hidden' is defined in src/lib.ts but not exported",
                "src/user.ts:8:3: missing_argument: 'f' needs at least 1 argument(s) (a, b=, c=) but 0 were given",
                "src/user.ts:9:3: too_many_arguments: 'f' takes at most 3 positional argument(s) (a, b=, c=) but 4 were given",
                "src/user.ts:10:7: missing_argument: 'K.constructor' needs at least 1 argument(s) (x) but 0 were given",
            ]
        "#]]
        .assert_debug_eq(&got);
    }
}
