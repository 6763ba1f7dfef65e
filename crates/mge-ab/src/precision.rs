//! Precision of a generated project: its plan's `test_command` run in the project directory, and
//! the passed and failed tests read from the runner's summary lines (Python `unittest`, node
//! `--test`). Everything that runs a test command is in this file, so the way commands are run
//! (plain child process with a timeout today) can be swapped in one place.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::AbError;

/// Default limit for one test command.
pub const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Tests counted in a runner's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCounts {
    pub passed: u32,
    pub failed: u32,
}

/// One run of a test command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRun {
    /// `None` when no runner summary was found: the suite did not start (a compile or import
    /// error before any test ran) or was killed.
    pub counts: Option<TestCounts>,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub seconds: f64,
    /// The last lines of the combined output, for the report of a suite that did not start.
    pub tail: String,
}

impl SuiteRun {
    /// Tests passed, out of a reference total: a suite that did not start passed none, and a
    /// count above the reference (an extra failing "test" for a module that did not import) is
    /// capped.
    pub fn passed_of(&self, total: u32) -> u32 {
        self.counts.map_or(0, |c| c.passed.min(total))
    }
}

/// Reads the passed and failed counts from a test runner's output. Understands Python
/// `unittest` (`Ran N tests` then `OK` or `FAILED (failures=a, errors=b)`) and node's test
/// runner (`# pass N` / `# fail M`, TAP or spec reporter summary). `None` when neither appears.
pub fn parse_counts(output: &str) -> Option<TestCounts> {
    parse_unittest(output).or_else(|| parse_node(output))
}

fn parse_unittest(output: &str) -> Option<TestCounts> {
    let mut ran = None;
    let mut failed = 0u32;
    let mut skipped = 0u32;
    let mut verdict = false;
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Ran ") {
            let n = rest.split_whitespace().next()?.parse::<u32>().ok()?;
            if rest.contains(" test") {
                ran = Some(n);
            }
        } else if ran.is_some()
            && (line == "OK" || line.starts_with("OK (") || line.starts_with("FAILED"))
        {
            verdict = true;
            if let (Some(open), Some(close)) = (line.find('('), line.rfind(')')) {
                for part in line[open + 1..close].split(',') {
                    let mut kv = part.trim().splitn(2, '=');
                    let (key, value) = (kv.next()?, kv.next()?.trim().parse::<u32>().ok()?);
                    match key {
                        "failures" | "errors" | "unexpected_successes" => failed += value,
                        "skipped" | "expected_failures" => skipped += value,
                        _ => {}
                    }
                }
            }
        }
    }
    let ran = ran?;
    if !verdict {
        return None;
    }
    Some(TestCounts {
        passed: ran.saturating_sub(failed + skipped),
        failed,
    })
}

fn parse_node(output: &str) -> Option<TestCounts> {
    let mut pass = None;
    let mut fail = None;
    let mut cancelled = 0u32;
    for line in output.lines() {
        // TAP: `# pass 12`; spec reporter: `ℹ pass 12`.
        let line = line.trim_start_matches(['#', 'ℹ', ' ']);
        let mut words = line.split_whitespace();
        let (Some(key), Some(value), None) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        let Ok(value) = value.parse::<u32>() else {
            continue;
        };
        match key {
            "pass" => pass = Some(value),
            "fail" => fail = Some(value),
            "cancelled" => cancelled = value,
            _ => {}
        }
    }
    Some(TestCounts {
        passed: pass?,
        failed: fail? + cancelled,
    })
}

/// Runs `command` with `bash -c` in `dir`, killing its whole process group after `timeout`.
pub fn run_suite(dir: &Path, command: &str, timeout: Duration) -> Result<SuiteRun, AbError> {
    let io = |what: &str, e: std::io::Error| AbError::Io {
        path: dir.to_path_buf(),
        message: format!("{what}: {e}"),
    };
    let logs = tempfile::tempdir().map_err(|e| io("creating a log directory", e))?;
    let log_path = logs.path().join("output.log");
    let log = File::create(&log_path).map_err(|e| io("creating the test log", e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| io("creating the test log", e))?;
    let started = Instant::now();
    let mut child = {
        use std::os::unix::process::CommandExt;
        Command::new("bash")
            .arg("-c")
            .arg(command)
            .current_dir(dir)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("NO_COLOR", "1")
            .env("NODE_DISABLE_COLORS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .spawn()
            .map_err(|e| io(&format!("starting `{command}`"), e))?
    };
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| io("waiting for the tests", e))?
        {
            break Some(status);
        }
        if started.elapsed() > timeout {
            timed_out = true;
            // The group holds the shell and everything it started (tsc, node, python).
            if let Ok(pgid) = i32::try_from(child.id()) {
                if pgid > 1 {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pgid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut output = String::new();
    File::open(&log_path)
        .and_then(|mut f| f.read_to_string(&mut output))
        .map_err(|e| io("reading the test log", e))?;
    let tail: Vec<&str> = output.lines().rev().take(15).collect();
    let tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
    Ok(SuiteRun {
        counts: if timed_out {
            None
        } else {
            parse_counts(&output)
        },
        exit_code: status.and_then(|s| s.code()),
        timed_out,
        seconds: started.elapsed().as_secs_f64(),
        tail,
    })
}

/// Runs a plan's reference suite in a temporary copy of the reference solution: the total test
/// count that a generated project's passed tests are divided by.
pub fn run_reference(
    reference: &Path,
    command: &str,
    timeout: Duration,
) -> Result<SuiteRun, AbError> {
    let copy = tempfile::tempdir().map_err(|e| AbError::Io {
        path: reference.to_path_buf(),
        message: format!("creating a temporary copy: {e}"),
    })?;
    copy_tree(reference, copy.path())?;
    run_suite(copy.path(), command, timeout)
}

/// Copies a directory tree, skipping caches and build output.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<(), AbError> {
    for (rel, path) in project_files(src)? {
        let to = dst.join(&rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| AbError::Io {
                path: parent.to_path_buf(),
                message: format!("creating directory: {e}"),
            })?;
        }
        std::fs::copy(&path, &to).map_err(|e| AbError::Io {
            path: path.clone(),
            message: format!("copying to {}: {e}", to.display()),
        })?;
    }
    Ok(())
}

const SKIPPED_DIRS: [&str; 5] = ["__pycache__", "node_modules", "dist", ".git", ".venv"];

/// Files under `root` (relative `/`-separated path → full path), caches and build output left
/// out, sorted.
fn project_files(root: &Path) -> Result<BTreeMap<String, PathBuf>, AbError> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| AbError::Io {
            path: dir.clone(),
            message: format!("listing directory: {e}"),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if !SKIPPED_DIRS.contains(&name.as_str()) {
                    stack.push(path);
                }
            } else if !name.ends_with(".pyc") {
                let rel = path
                    .strip_prefix(root)
                    .expect("walk stays under root")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, path);
            }
        }
    }
    Ok(out)
}

/// A digest of a project's files (paths and contents) and the test command: two projects with
/// the same digest give the same test results, so a suite runs once per distinct project.
pub fn project_digest(dir: &Path, command: &str) -> Result<String, AbError> {
    let mut hasher = Sha256::new();
    hasher.update(command.as_bytes());
    for (rel, path) in project_files(dir)? {
        let bytes = std::fs::read(&path).map_err(|e| AbError::Io {
            path: path.clone(),
            message: format!("reading: {e}"),
        })?;
        hasher.update((rel.len() as u64).to_le_bytes());
        hasher.update(rel.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unittest_ok() {
        let out = "....\n----------------------------------------------------------------------\nRan 42 tests in 0.013s\n\nOK\n";
        assert_eq!(
            parse_counts(out),
            Some(TestCounts {
                passed: 42,
                failed: 0
            })
        );
        let skipped = "Ran 10 tests in 0.1s\n\nOK (skipped=2)\n";
        assert_eq!(
            parse_counts(skipped),
            Some(TestCounts {
                passed: 8,
                failed: 0
            })
        );
    }

    #[test]
    fn unittest_failures_and_errors() {
        let out = "FAIL: test_x (tests.test_a.T)\n...\nRan 30 tests in 0.2s\n\nFAILED (failures=3, errors=2)\n";
        assert_eq!(
            parse_counts(out),
            Some(TestCounts {
                passed: 25,
                failed: 5
            })
        );
        let one = "Ran 1 test in 0.000s\n\nFAILED (errors=1)\n";
        assert_eq!(
            parse_counts(one),
            Some(TestCounts {
                passed: 0,
                failed: 1
            })
        );
    }

    #[test]
    fn node_tap_and_spec_summaries() {
        let tap = "TAP version 13\nok 1 - a\nnot ok 2 - b\n1..2\n# tests 2\n# suites 0\n# pass 1\n# fail 1\n# cancelled 0\n# skipped 0\n# todo 0\n# duration_ms 80\n";
        assert_eq!(
            parse_counts(tap),
            Some(TestCounts {
                passed: 1,
                failed: 1
            })
        );
        let spec = "ℹ tests 17\nℹ suites 3\nℹ pass 16\nℹ fail 0\nℹ cancelled 1\nℹ skipped 0\n";
        assert_eq!(
            parse_counts(spec),
            Some(TestCounts {
                passed: 16,
                failed: 1
            })
        );
    }

    #[test]
    fn no_summary_means_the_suite_did_not_start() {
        let tsc =
            "src/bus.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.\n";
        assert_eq!(parse_counts(tsc), None);
        let import = "Traceback (most recent call last):\n  File \"x.py\", line 1\nSyntaxError: invalid syntax\n";
        assert_eq!(parse_counts(import), None);
        let run = SuiteRun {
            counts: None,
            exit_code: Some(2),
            timed_out: false,
            seconds: 0.1,
            tail: String::new(),
        };
        assert_eq!(run.passed_of(12), 0);
    }

    #[test]
    fn passed_is_capped_at_the_reference_total() {
        let run = SuiteRun {
            counts: Some(TestCounts {
                passed: 14,
                failed: 1,
            }),
            exit_code: Some(1),
            timed_out: false,
            seconds: 0.1,
            tail: String::new(),
        };
        assert_eq!(run.passed_of(12), 12);
        assert_eq!(run.passed_of(20), 14);
    }

    #[test]
    fn runs_a_real_python_suite_and_kills_on_timeout() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        std::fs::write(dir.path().join("tests/__init__.py"), "").unwrap();
        std::fs::write(
            dir.path().join("tests/test_x.py"),
            "import unittest\nclass T(unittest.TestCase):\n    def test_a(self): pass\n    def test_b(self): self.assertEqual(1, 2)\n    def test_c(self): pass\n",
        )
        .unwrap();
        let command = "python3 -m unittest discover -s tests -t .";
        let run = run_suite(dir.path(), command, DEFAULT_TEST_TIMEOUT).unwrap();
        assert_eq!(
            run.counts,
            Some(TestCounts {
                passed: 2,
                failed: 1
            })
        );
        assert_eq!(run.exit_code, Some(1));
        assert!(!run.timed_out);

        let digest = project_digest(dir.path(), command).unwrap();
        assert_eq!(digest, project_digest(dir.path(), command).unwrap());
        std::fs::write(dir.path().join("tests/__init__.py"), "# changed\n").unwrap();
        assert_ne!(digest, project_digest(dir.path(), command).unwrap());

        let slow = run_suite(dir.path(), "sleep 30", Duration::from_millis(200)).unwrap();
        assert!(slow.timed_out);
        assert_eq!(slow.counts, None);
        assert!(slow.seconds < 10.0);
    }
}
