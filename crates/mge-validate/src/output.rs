//! Parsers of toolchain output: TypeScript compiler diagnostics, Python `unittest` failures with
//! their tracebacks, and `node --test` (TAP) failures with their stacks. Pure.

use serde::{Deserialize, Serialize};

use crate::report::{codes, Violation};

/// `file(line,col): error TSxxxx: message` lines (with `--pretty false`) as violations coded
/// `tsc:TSxxxx`. Indented continuation lines are appended to the message.
pub fn parse_tsc(output: &str) -> Vec<Violation> {
    let mut out: Vec<Violation> = Vec::new();
    for line in output.lines() {
        if let Some(v) = tsc_line(line) {
            out.push(v);
        } else if line.starts_with("  ") && !line.trim().is_empty() {
            if let Some(last) = out.last_mut() {
                last.message.push(' ');
                last.message.push_str(line.trim());
            }
        }
    }
    out
}

fn tsc_line(line: &str) -> Option<Violation> {
    let (head, rest) = line.split_once("): ")?;
    let (file, pos) = head.rsplit_once('(')?;
    let (l, c) = pos.split_once(',')?;
    let rest = rest
        .strip_prefix("error ")
        .or_else(|| rest.strip_prefix("warning "))?;
    let (code, message) = rest.split_once(": ")?;
    if !code.starts_with("TS") {
        return None;
    }
    Some(Violation::new(
        file.trim(),
        l.parse().ok()?,
        c.parse().ok()?,
        format!("{}{code}", codes::TSC_PREFIX),
        message.trim(),
    ))
}

/// One stack frame: a project-relative file when it lies under the project root, as written
/// otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub function: Option<String>,
    /// The file lies under the project root.
    pub in_project: bool,
}

/// A failed test with the frames of its error, innermost first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestFailure {
    pub test: String,
    pub message: String,
    pub frames: Vec<Frame>,
}

fn relative(path: &str, root: &str) -> (String, bool) {
    let p = path.strip_prefix("file://").unwrap_or(path);
    let root = root.trim_end_matches('/');
    match p.strip_prefix(root).and_then(|r| r.strip_prefix('/')) {
        Some(rel) if !root.is_empty() => (rel.to_string(), true),
        _ => (
            p.to_string(),
            !p.starts_with('/') && !p.starts_with("node:"),
        ),
    }
}

/// Failures of a `python -m unittest` run (`ERROR:`/`FAIL:` blocks). Paths under `root`
/// become project-relative.
pub fn parse_unittest(output: &str, root: &str) -> Vec<TestFailure> {
    let lines: Vec<&str> = output.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let test = l
            .strip_prefix("ERROR: ")
            .or_else(|| l.strip_prefix("FAIL: "));
        let Some(test) = test else {
            i += 1;
            continue;
        };
        let mut frames = Vec::new();
        let mut message = String::new();
        let mut j = i + 1;
        while j < lines.len() {
            let b = lines[j];
            if b.starts_with("=====") || (b.starts_with("-----") && !message.is_empty()) {
                break;
            }
            if let Some(f) = python_frame(b, root) {
                frames.push(f);
            } else if !b.starts_with(' ')
                && !b.trim().is_empty()
                && !b.starts_with("-----")
                && !b.starts_with("Traceback")
            {
                message = b.trim().to_string();
            }
            j += 1;
        }
        frames.reverse();
        out.push(TestFailure {
            test: test.trim().to_string(),
            message,
            frames,
        });
        i = j;
    }
    out
}

/// `  File "path", line N, in func` (the `, in func` part is absent for syntax errors).
fn python_frame(line: &str, root: &str) -> Option<Frame> {
    let rest = line.trim_start().strip_prefix("File \"")?;
    let (path, rest) = rest.split_once('"')?;
    let rest = rest.strip_prefix(", line ")?;
    let (num, func) = match rest.split_once(", in ") {
        Some((n, f)) => (n, Some(f.trim().to_string())),
        None => (rest.trim(), None),
    };
    let (file, in_project) = relative(path, root);
    Some(Frame {
        file,
        line: num.trim().parse().ok()?,
        col: 0,
        function: func,
        in_project,
    })
}

/// Failures of a `node --test` run (TAP `not ok` entries): the test's `location`, its
/// `error` text and the frames of its `stack`.
pub fn parse_node_test(output: &str, root: &str) -> Vec<TestFailure> {
    let lines: Vec<&str> = output.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let Some(rest) = t.strip_prefix("not ok ") else {
            continue;
        };
        let indent = l.len() - t.len();
        let test = rest
            .split_once(" - ")
            .map_or(rest, |(_, name)| name)
            .trim()
            .to_string();
        let mut frames = Vec::new();
        let mut location = None;
        let mut message = String::new();
        let mut in_error = false;
        let mut parent_only = false;
        for b in &lines[i + 1..] {
            let bt = b.trim_start();
            let bindent = b.len() - bt.len();
            if bt == "..." && bindent <= indent + 2 {
                break;
            }
            if bindent <= indent && (bt.starts_with("ok ") || bt.starts_with("not ok ")) {
                break;
            }
            if bt.starts_with("failureType: 'subtestsFailed'") {
                parent_only = true;
            }
            if let Some(loc) = bt.strip_prefix("location: ") {
                location = script_frame(loc.trim_matches('\''), root);
                in_error = false;
                continue;
            }
            if bt.starts_with("error: ") {
                in_error = true;
                let first = bt
                    .trim_start_matches("error: ")
                    .trim_matches(['|', '-', '\'']);
                message.push_str(first.trim());
                continue;
            }
            if bt.contains(": ") && !bt.contains('(') && bindent <= indent + 2 {
                in_error = false;
            }
            if in_error && message.len() < 400 {
                if !message.is_empty() {
                    message.push(' ');
                }
                message.push_str(bt);
            }
            if let Some(f) = script_frame(bt, root) {
                frames.push(f);
            }
        }
        frames.extend(location);
        if parent_only {
            continue;
        }
        out.push(TestFailure {
            test,
            message,
            frames,
        });
    }
    out
}

/// A frame such as `at Fn.name (file:///root/src/x.js:10:5)`, `Fn.name (/root/x.js:1:2)` or
/// a bare `/root/tests/x.test.mjs:17:1`.
fn script_frame(text: &str, root: &str) -> Option<Frame> {
    let t = text.trim().trim_start_matches("at ").trim();
    let (function, loc) = match t.rsplit_once(" (") {
        Some((f, l)) => (Some(f.trim().to_string()), l.trim_end_matches(')')),
        None => (None, t),
    };
    if !(loc.starts_with("file://") || loc.starts_with('/')) {
        return None;
    }
    let (rest, col) = loc.rsplit_once(':')?;
    let (path, line) = rest.rsplit_once(':')?;
    let (file, in_project) = relative(path, root);
    Some(Frame {
        file,
        line: line.parse().ok()?,
        col: col.parse().ok()?,
        function,
        in_project,
    })
}

/// `Ran N tests` (unittest) or `# tests N` (node): how many tests ran, when stated.
pub fn tests_run(output: &str) -> Option<u32> {
    for l in output.lines() {
        if let Some(rest) = l.strip_prefix("Ran ") {
            if let Some(n) = rest.split_whitespace().next().and_then(|n| n.parse().ok()) {
                return Some(n);
            }
        }
        if let Some(rest) = l.strip_prefix("# tests ") {
            if let Ok(n) = rest.trim().parse() {
                return Some(n);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn tsc_diagnostics_become_violations() {
        let out = "src/shapes/circle.ts(12,5): error TS2554: Expected 2-3 arguments, but got 4.\nsrc/a.ts(1,10): error TS2305: Module '\"./b.js\"' has no exported member 'X'.\n  Did you mean 'Y'?\nFound 2 errors.\n";
        let got: Vec<String> = parse_tsc(out).iter().map(|v| v.to_string()).collect();
        expect![[r#"
            [
                "src/shapes/circle.ts:12:5: tsc:TS2554: Expected 2-3 arguments, but got 4.",
                "src/a.ts:1:10: tsc:TS2305: Module '\"./b.js\"' has no exported member 'X'. Did you mean 'Y'?",
            ]
        "#]]
        .assert_debug_eq(&got);
    }

    #[test]
    fn unittest_failures_keep_their_frames_innermost_first() {
        let out = r#"EF
======================================================================
ERROR: test_a (tests.test_m.T.test_a)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/sb/work/tests/test_m.py", line 10, in test_a
    self.assertEqual(g(), 3)
  File "/sb/work/pkg/m.py", line 6, in g
    return A().f(1, 2)
TypeError: A.f() takes 2 positional arguments but 3 were given

======================================================================
FAIL: test_b (tests.test_m.T.test_b)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/sb/work/tests/test_m.py", line 12, in test_b
    self.assertEqual(1, 2)
AssertionError: 1 != 2

----------------------------------------------------------------------
Ran 2 tests in 0.009s

FAILED (failures=1, errors=1)
"#;
        let got = parse_unittest(out, "/sb/work");
        expect![[r#"
            [
                TestFailure {
                    test: "test_a (tests.test_m.T.test_a)",
                    message: "TypeError: A.f() takes 2 positional arguments but 3 were given",
                    frames: [
                        Frame {
                            file: "pkg/m.py",
                            line: 6,
                            col: 0,
                            function: Some(
                                "g",
                            ),
                            in_project: true,
                        },
                        Frame {
                            file: "tests/test_m.py",
                            line: 10,
                            col: 0,
                            function: Some(
                                "test_a",
                            ),
                            in_project: true,
                        },
                    ],
                },
                TestFailure {
                    test: "test_b (tests.test_m.T.test_b)",
                    message: "AssertionError: 1 != 2",
                    frames: [
                        Frame {
                            file: "tests/test_m.py",
                            line: 12,
                            col: 0,
                            function: Some(
                                "test_b",
                            ),
                            in_project: true,
                        },
                    ],
                },
            ]
        "#]]
        .assert_debug_eq(&got);
        assert_eq!(tests_run(out), Some(2));
    }

    #[test]
    fn node_test_failures_keep_location_and_stack() {
        let out = "TAP version 13\n# Subtest: lru entries expire\nnot ok 6 - lru entries expire\n  ---\n  duration_ms: 1.9\n  location: '/sb/work/tests/store.test.mjs:17:1'\n  failureType: 'testCodeFailure'\n  error: |-\n    Expected values to be strictly equal:\n    2 !== 1\n  code: 'ERR_ASSERTION'\n  stack: |-\n    LruCache.get (file:///sb/work/src/lru.js:25:5)\n    TestContext.<anonymous> (file:///sb/work/tests/store.test.mjs:23:10)\n    Test.run (node:internal/test_runner/test:796:25)\n  ...\n# tests 10\n";
        let got = parse_node_test(out, "/sb/work");
        expect![[r#"
            [
                TestFailure {
                    test: "lru entries expire",
                    message: "Expected values to be strictly equal: 2 !== 1",
                    frames: [
                        Frame {
                            file: "src/lru.js",
                            line: 25,
                            col: 5,
                            function: Some(
                                "LruCache.get",
                            ),
                            in_project: true,
                        },
                        Frame {
                            file: "tests/store.test.mjs",
                            line: 23,
                            col: 10,
                            function: Some(
                                "TestContext.<anonymous>",
                            ),
                            in_project: true,
                        },
                        Frame {
                            file: "tests/store.test.mjs",
                            line: 17,
                            col: 1,
                            function: None,
                            in_project: true,
                        },
                    ],
                },
            ]
        "#]]
        .assert_debug_eq(&got);
        assert_eq!(tests_run(out), Some(10));
    }
}
