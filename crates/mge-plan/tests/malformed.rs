//! Every malformed plan under `tests/plans/malformed/` is refused with diagnostics that name the
//! place; the expected diagnostics are written down in `malformed.expected`.

use std::fmt::Write;
use std::path::Path;

#[test]
fn malformed_plans_are_refused_with_located_diagnostics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/plans/malformed");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    assert!(entries.len() >= 15, "expected at least 15 malformed plans");
    let mut actual = String::new();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let err = mge_plan::load(&path).expect_err(&name);
        writeln!(actual, "{name}:").unwrap();
        for d in &err.diagnostics {
            assert!(d.line >= 1 && d.col >= 1, "{name}: {d}");
            // Print the file name only: absolute paths differ between machines.
            let shown = d.to_string().replacen(&d.file, "", 1);
            writeln!(actual, "  {shown}").unwrap();
        }
    }
    expect_test::expect_file!["malformed.expected"].assert_eq(&actual);
}

#[test]
fn oversized_plan_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.toml");
    let line = "# padding padding padding padding padding padding padding padding\n";
    let big = line.repeat(50 * 1024 * 1024 / line.len() + 1);
    std::fs::write(&path, big).unwrap();
    let err = mge_plan::load(dir.path()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("plan.toml:1:1: plan file is 524")
            && message.ends_with("bytes, over the limit of 4194304 bytes"),
        "{message}"
    );
}

#[test]
fn directory_without_plan_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = mge_plan::load(dir.path()).unwrap_err();
    assert!(err
        .to_string()
        .ends_with(":1:1: directory holds no plan file (looked for plan.toml, plan.json)"));
}

#[test]
fn valid_plan_with_reference_loads_and_normalizes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ref/pkg")).unwrap();
    std::fs::write(
        dir.path().join("ref/pkg/a.py"),
        "X = 1\n\n\ndef f():\n    return X\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("ref/pkg/b.py"), "from pkg.a import f\n").unwrap();
    let plan = r#"
name = "demo"
description = "two files"
reference_dir = "ref"
test_command = "python3 -c 'import pkg.b'"

[[phases]]
name = "Core"

[[phases.milestones]]
name = "All"

[[phases.milestones.tasks]]
key = "a"
name = "A"
description = "constants and f"
language = "python"
target = "./pkg/a.py"

[[phases.milestones.tasks.subtasks]]
name = "constant"
lines = [1, 2]

[[phases.milestones.tasks.subtasks]]
name = "function"
lines = [3, 5]

[[phases.milestones.tasks]]
key = "b"
name = "B"
description = "uses f"
language = "python"
target = "pkg/b.py"
depends_on = ["a"]
"#;
    std::fs::write(dir.path().join("plan.toml"), plan).unwrap();
    let loaded = mge_plan::load(dir.path()).unwrap();
    let keys: Vec<_> = loaded
        .plan
        .tasks()
        .map(|t| (t.key.as_str(), t.target.as_str()))
        .collect();
    assert_eq!(keys, [("a", "pkg/a.py"), ("b", "pkg/b.py")]);
    assert_eq!(loaded.plan.reference_dir, Some(dir.path().join("ref")));
    assert_eq!(
        loaded.plan.task("a").unwrap().subtasks[1].lines,
        Some((3, 5))
    );

    // The same subtasks no longer tile the file once it grows: refused with the place.
    std::fs::write(
        dir.path().join("ref/pkg/a.py"),
        "X = 1\n\n\ndef f():\n    return X\n\n# end\n",
    )
    .unwrap();
    let err = mge_plan::load(dir.path()).unwrap_err();
    assert_eq!(err.diagnostics.len(), 1);
    assert_eq!(
        err.diagnostics[0].message,
        "subtasks of 'a' end at line 5 but './pkg/a.py' has 7 lines"
    );
    assert_eq!((err.diagnostics[0].line, err.diagnostics[0].col), (20, 27));
}
