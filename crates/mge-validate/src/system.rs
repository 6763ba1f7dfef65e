//! Level 4, system: the whole generated project passes the plan's `test_command`, run in the
//! sandbox on a copy of the project. Failures are mapped to file:line (and atoms) through
//! Python tracebacks, node test stacks and compiler diagnostics, so the engine can send them
//! back to the atoms that caused them.
//!
//! **Hangs.** Every Python process of the test run gets a watchdog: a `sitecustomize` module
//! (on `PYTHONPATH`, outside the project's tree) arms `faulthandler.dump_traceback_later`
//! shortly before the sandbox's wall-clock or CPU limit would kill the run. A suite stuck in a
//! loop then prints the stack of every thread, innermost frame first, and exits; the frames of
//! project files become the failure's position, like a traceback's. Other runtimes meet the
//! sandbox's limits as before (`node --test` reports the test file whose process was killed).

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
    sb.write_file(
        &format!("{WATCHDOG_DIR}/sitecustomize.py"),
        &watchdog_module(limits),
    )?;
    let out = sb.run_shell(&watchdog_command(test_command))?;
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
    if let Some(seconds) = watchdog_fired(&text) {
        failures.extend(parse_faulthandler(&text, root, seconds));
    }
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

/// Directory of the watchdog module in the sandbox (next to the project's files).
const WATCHDOG_DIR: &str = ".mge-watchdog";

/// Seconds a Python process of the test run may take before the watchdog stops it: the
/// sandbox's wall-clock limit, or its CPU limit when lower (a busy loop spends CPU time no
/// faster than wall time), less a margin for the stack dump and the cleanup (a tenth, at least
/// one second, at most ten).
pub fn watchdog_seconds(limits: &SandboxLimits) -> f64 {
    let limit = limits
        .timeout
        .as_secs_f64()
        .min(limits.cpu_seconds.max(1) as f64);
    let margin = (limit / 10.0).clamp(1.0, 10.0);
    (limit - margin).max(limit / 2.0)
}

/// The `sitecustomize` module that arms the watchdog in every Python process of the run.
pub fn watchdog_module(limits: &SandboxLimits) -> String {
    format!(
        "\"\"\"Validation watchdog: a test process still running after {s:.1} s prints the stack of \
         every thread and exits.\"\"\"\n\n\
         import faulthandler\n\n\
         faulthandler.dump_traceback_later({s:.1}, exit=True)\n",
        s = watchdog_seconds(limits)
    )
}

/// `test_command` with the watchdog module on `PYTHONPATH` (the sandbox's `$HOME` is its
/// working directory).
pub fn watchdog_command(test_command: &str) -> String {
    format!("PYTHONPATH=\"$HOME/{WATCHDOG_DIR}\"; export PYTHONPATH; {test_command}")
}

/// The watchdog's limit in seconds when `faulthandler` reported it (`Timeout (0:00:54)!`,
/// possibly after unittest's progress characters).
fn watchdog_fired(text: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        // unittest's progress characters may precede it on the same line (`..ETimeout`).
        let at = l.find("Timeout (")?;
        let inner = l[at + "Timeout (".len()..].trim_end().strip_suffix(")!")?;
        let mut seconds = 0.0;
        for part in inner.split(':') {
            seconds = seconds * 60.0 + part.parse::<f64>().ok()?;
        }
        Some(seconds)
    })
}

/// The stacks `faulthandler` printed (`Current thread 0x... (most recent call first):` or
/// `Thread 0x...`, then `  File "path", line N in func` lines, innermost first), one failure
/// per thread that was in a project file. Paths under `root` become project-relative.
pub fn parse_faulthandler(output: &str, root: &str, seconds: f64) -> Vec<TestFailure> {
    let mut out = Vec::new();
    let mut current: Option<Vec<Frame>> = None;
    let flush = |frames: Option<Vec<Frame>>, out: &mut Vec<TestFailure>| {
        if let Some(frames) = frames.filter(|f| f.iter().any(|fr| fr.in_project)) {
            out.push(TestFailure {
                test: "(test suite)".to_string(),
                message: format!(
                    "the test command did not finish within {seconds:.1} s; the stack below is \
                     where it was running when stopped (an endless loop or wait)"
                ),
                frames,
            });
        }
    };
    for line in output.lines() {
        let t = line.trim();
        if (t.starts_with("Current thread 0x") || t.starts_with("Thread 0x"))
            && t.ends_with("(most recent call first):")
        {
            flush(current.take(), &mut out);
            current = Some(Vec::new());
            continue;
        }
        let Some(frames) = current.as_mut() else {
            continue;
        };
        match faulthandler_frame(t, root) {
            Some(f) => frames.push(f),
            None if t.is_empty() || t.starts_with("File ") => {}
            None => flush(current.take(), &mut out),
        }
    }
    flush(current.take(), &mut out);
    out
}

/// `File "path", line N in func` (faulthandler's frame line).
fn faulthandler_frame(line: &str, root: &str) -> Option<Frame> {
    let rest = line.strip_prefix("File \"")?;
    let (path, rest) = rest.split_once('"')?;
    let rest = rest.strip_prefix(", line ")?;
    let (num, func) = rest.split_once(" in ").unwrap_or((rest, ""));
    let root = root.trim_end_matches('/');
    let relative = path
        .strip_prefix(root)
        .and_then(|r| r.strip_prefix('/'))
        .filter(|_| !root.is_empty());
    Some(Frame {
        file: relative.unwrap_or(path).to_string(),
        line: num.trim().parse().ok()?,
        col: 0,
        function: (!func.is_empty()).then(|| func.trim().to_string()),
        in_project: relative.is_some(),
    })
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mge_atomize::Config;

    use super::*;

    #[test]
    fn faulthandler_stacks_become_failures_with_project_frames_innermost_first() {
        let out = "\
Timeout (0:00:09)!
Thread 0x00007f0000000001 (most recent call first):
  File \"/usr/lib/python3.11/threading.py\", line 320 in wait

Current thread 0x00007fd960428b80 (most recent call first):
  File \"/sb/work/calc/lexer.py\", line 22 in tokens
  File \"/sb/work/calc/lexer.py\", line 95 in tokenize
  File \"/sb/work/tests/test_lexer.py\", line 9 in test_numbers
  File \"/usr/lib/python3.11/unittest/case.py\", line 579 in _callTestMethod

Extension modules: _cffi_backend (total: 1)
";
        assert_eq!(watchdog_fired(out), Some(9.0));
        assert_eq!(watchdog_fired("Ran 3 tests\nOK\n"), None);
        assert_eq!(watchdog_fired("..ETimeout (0:01:30.500000)!\n"), Some(90.5));
        let failures = parse_faulthandler(out, "/sb/work", 9.0);
        assert_eq!(failures.len(), 1, "{failures:?}");
        let at: Vec<(&str, u32, bool)> = failures[0]
            .frames
            .iter()
            .map(|f| (f.file.as_str(), f.line, f.in_project))
            .collect();
        assert_eq!(
            at,
            [
                ("calc/lexer.py", 22, true),
                ("calc/lexer.py", 95, true),
                ("tests/test_lexer.py", 9, true),
                ("/usr/lib/python3.11/unittest/case.py", 579, false),
            ]
        );
        assert_eq!(failures[0].frames[0].function.as_deref(), Some("tokens"));
        assert!(failures[0].message.contains("did not finish within 9.0 s"));
    }

    #[test]
    fn the_watchdog_fires_before_the_sandbox_limits() {
        let limits = |wall: u64, cpu: u64| SandboxLimits {
            timeout: Duration::from_secs(wall),
            cpu_seconds: cpu,
            ..SandboxLimits::default()
        };
        assert_eq!(watchdog_seconds(&limits(120, 60)), 54.0);
        assert_eq!(watchdog_seconds(&limits(20, 20)), 18.0);
        assert_eq!(watchdog_seconds(&limits(200, 200)), 190.0);
        assert_eq!(watchdog_seconds(&limits(2, 2)), 1.0);
        assert!(watchdog_module(&limits(20, 20))
            .contains("faulthandler.dump_traceback_later(18.0, exit=True)"));
        // The command runs unchanged and keeps its exit status.
        let sb = Sandbox::new(limits(20, 20)).unwrap();
        let out = sb
            .run_shell(&watchdog_command("echo \"$PYTHONPATH\" && exit 3"))
            .unwrap();
        assert_eq!(
            out.stdout.trim(),
            format!("{}/.mge-watchdog", sb.dir().display())
        );
        assert_eq!(out.ending, crate::sandbox::Ending::Exited(3));
    }

    /// A generated endless loop: the suite is stopped by the watchdog, and the failure points
    /// at the looping line and its callers, not nowhere.
    #[test]
    fn a_hanging_python_suite_points_at_the_looping_line() {
        let mut project = Project::new();
        project.insert(
            "pkg/count.py",
            "def count_to(limit):\n    n = 0\n    while n != limit:\n        n = (n + 1) * 0\n    return n\n",
        );
        project.insert("pkg/__init__.py", "");
        project.insert("tests/__init__.py", "");
        project.insert(
            "tests/test_count.py",
            "import unittest\n\nfrom pkg.count import count_to\n\n\nclass T(unittest.TestCase):\n    def test_count(self):\n        self.assertEqual(count_to(3), 3)\n",
        );
        let files = project.atomize(&Config::default());
        let limits = SandboxLimits {
            timeout: Duration::from_secs(6),
            cpu_seconds: 6,
            ..SandboxLimits::default()
        };
        let report = validate_system(
            &project,
            &files,
            "python3 -m unittest discover -s tests -t .",
            &limits,
        )
        .unwrap();
        assert!(!report.passed);
        assert!(report.duration < Duration::from_secs(6));
        let v = &report.violations[0];
        assert_eq!(
            (v.file.as_str(), v.code.as_str()),
            ("pkg/count.py", codes::TEST_FAILURE),
            "{report:?}"
        );
        assert!((3..=4).contains(&v.line), "{v:?}");
        assert!(
            v.atom.as_deref().is_some_and(|a| a.contains("count_to")),
            "{v:?}"
        );
        assert!(v.message.contains("did not finish"), "{v:?}");
    }
}
