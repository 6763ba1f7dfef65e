//! Level 4, system: the whole generated project passes the plan's `test_command`, run in the
//! sandbox on a copy of the project. Failures are mapped to file:line (and atoms) through
//! Python tracebacks, node test stacks and compiler diagnostics, so the engine can send them
//! back to the atoms that caused them.

use mge_atomize::{AtomizedFile, Grammar};
use mge_core::ValidationLevel;

use crate::output::{parse_node_test, parse_tsc, parse_unittest, tests_run, Frame, TestFailure};
use crate::project::{atom_at_line, Project, ValidateError};
use crate::report::{codes, ReportBuilder, ValidationReport, Violation};
use crate::sandbox::{RunOutcome, Sandbox, SandboxLimits};
use crate::syntax::callables;

/// Code of the secondary frames of a failure (outer project frames), reported as warnings.
pub const TEST_FAILURE_FRAME: &str = "test_failure_frame";

/// Runs `test_command` over a copy of `project`; `plan_files` (the atomized project) maps
/// failure positions to atoms.
pub fn validate_system(
    project: &Project,
    plan_files: &[AtomizedFile],
    test_command: &str,
    limits: &SandboxLimits,
) -> Result<ValidationReport, ValidateError> {
    let sb = Sandbox::new(*limits)?;
    project.write_to(sb.dir())?;
    let out = sb.run_shell(test_command)?;
    let root = sb.dir().to_string_lossy().into_owned();
    Ok(report_from_run(project, plan_files, &out, &root))
}

/// Turns a finished test run into the system-level report.
pub fn report_from_run(
    project: &Project,
    plan_files: &[AtomizedFile],
    out: &RunOutcome,
    root: &str,
) -> ValidationReport {
    let mut report = ReportBuilder::new(ValidationLevel::System);
    report.isolation(out.isolation.clone());
    let text = out.combined_output();
    let ran = tests_run(&text).unwrap_or(1) as usize;
    report.checked(ran.max(1));
    if out.success() {
        return report.finish();
    }
    let mapper = Mapper {
        project,
        plan_files,
    };
    if let Some(limit) = out.limit {
        report.violation(Violation::new(
            "",
            0,
            0,
            codes::SANDBOX_LIMIT,
            format!(
                "{} ({})",
                out.reason.as_deref().unwrap_or("limit hit"),
                limit.as_str()
            ),
        ));
    }
    for mut v in parse_tsc(&text) {
        v.atom = mapper.atom(&v.file, v.line);
        report.violation(v);
    }
    let mut failures: Vec<TestFailure> = parse_unittest(&text, root);
    failures.extend(parse_node_test(&text, root));
    for f in &failures {
        let frames: Vec<Frame> = f
            .frames
            .iter()
            .filter(|fr| fr.in_project)
            .filter_map(|fr| mapper.source_frame(fr))
            .collect();
        let primary = frames
            .iter()
            .find(|fr| !is_test_file(&fr.file))
            .or_else(|| frames.first());
        let message = if f.message.is_empty() {
            format!("test {} failed", f.test)
        } else {
            format!("test {} failed: {}", f.test, f.message)
        };
        match primary {
            Some(fr) => {
                report.violation(
                    Violation::new(&fr.file, fr.line, fr.col, codes::TEST_FAILURE, &message)
                        .with_atom(mapper.atom(&fr.file, fr.line)),
                );
                for other in frames.iter().filter(|o| *o != fr && !is_test_file(&o.file)) {
                    report.warning(
                        Violation::new(
                            &other.file,
                            other.line,
                            other.col,
                            TEST_FAILURE_FRAME,
                            format!("frame of the failure of test {}", f.test),
                        )
                        .with_atom(mapper.atom(&other.file, other.line)),
                    );
                }
            }
            None => report.violation(Violation::new("", 0, 0, codes::TEST_FAILURE, message)),
        }
    }
    if !report.has_violations() {
        let tail: Vec<&str> = text.trim().lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        report.violation(Violation::new(
            "",
            0,
            0,
            codes::TEST_FAILURE,
            format!(
                "the test command failed ({}): {}",
                out.reason.as_deref().unwrap_or("non-zero exit"),
                tail.join(" | ")
            ),
        ));
    }
    report.finish()
}

fn is_test_file(path: &str) -> bool {
    path.starts_with("tests/")
        || path.contains("/tests/")
        || path.starts_with("test_")
        || path.contains("/test_")
        || path.contains(".test.")
}

struct Mapper<'a> {
    project: &'a Project,
    plan_files: &'a [AtomizedFile],
}

impl Mapper<'_> {
    fn atom(&self, path: &str, line: u32) -> Option<String> {
        let f = self.plan_files.iter().find(|f| f.path == path)?;
        atom_at_line(f, line).map(|a| a.id.clone())
    }

    /// The frame in a project source file: compiled `dist/x.js` frames are mapped to the
    /// `src/x.ts` they come from, at the line of the function the frame names.
    fn source_frame(&self, fr: &Frame) -> Option<Frame> {
        if self.project.get(&fr.file).is_some() {
            return Some(fr.clone());
        }
        let rest = fr.file.strip_prefix("dist/")?;
        let stem = rest.strip_suffix(".js")?;
        let ts = ["ts", "tsx", "mts"]
            .iter()
            .map(|ext| format!("src/{stem}.{ext}"))
            .find(|p| self.project.get(p).is_some())?;
        let src = self.project.get(&ts)?;
        let language = mge_core::Language::TypeScript;
        let grammar = Grammar::for_file(&ts, language);
        let line = fr
            .function
            .as_deref()
            .map(|f| f.trim_start_matches("async ").trim_start_matches("new "))
            .and_then(|name| {
                let tree = mge_atomize::parse::parse(grammar, src)?;
                callables(grammar, &tree, src)
                    .into_iter()
                    .find(|c| {
                        c.qualified_name == name || c.qualified_name.ends_with(&format!(".{name}"))
                    })
                    .map(|c| c.line)
            })
            .unwrap_or(fr.line);
        Some(Frame {
            file: ts,
            line,
            col: if line == fr.line { fr.col } else { 1 },
            function: fr.function.clone(),
            in_project: true,
        })
    }
}
