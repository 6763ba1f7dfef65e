//! The dependency edges of each fixture plan against the edges written down by reading its code
//! (`tests/expected/<plan>.edges`): every file is the complete list, and the graph must hold
//! exactly those edges, no edge missing, no spurious edge. Each expected edge is one
//! `(provider, dependent, kind)`; a merged graph edge counts once per kind it carries.
//!
//! `absent <edge>` lines document tricky edges that must not exist (shadowing, calls on
//! parameters, aliases); the exact comparison already rules them out, and the file is refused if
//! one of them is also listed as expected.
//!
//! Where the atomizer is known to disagree with the written edges, the file lists the
//! disagreement as `known-missing <edge>` / `known-spurious <edge>`; the test then requires the
//! difference to be exactly those lines, so a fix in the atomizer makes the test ask for them to
//! be removed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mge_atomize::Config;
use mge_core::Language;
use mge_graph::{DependencyGraph, SourceFile};

type Edge = (String, String, String);

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plans")
}

/// Directories of a reference solution that hold no project source.
const SKIPPED_DIRS: [&str; 6] = [
    "__pycache__",
    "node_modules",
    "dist",
    ".git",
    ".venv",
    "target",
];

/// The reference's source files that are not task targets (re-exporting `__init__.py`,
/// `index.ts` barrels, tests), as (project-relative path, language, code), sorted by path.
fn support_files(reference: &Path, targets: &BTreeSet<&str>) -> Vec<(String, Language, String)> {
    let mut out = Vec::new();
    let mut stack = vec![reference.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for path in entries.map(|e| e.unwrap().path()) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !SKIPPED_DIRS.contains(&name) {
                    stack.push(path);
                }
                continue;
            }
            let rel = path
                .strip_prefix(reference)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let Some(language) = Language::from_path(&rel) else {
                continue;
            };
            if !targets.contains(rel.as_str()) {
                let code = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push((rel, language, code));
            }
        }
    }
    out.sort();
    out
}

/// Atomizes the plan's reference files (else skeletons) and its support files, links them all
/// and builds the graph of the task atoms, as the engine does.
fn fixture_graph(plan_dir: &Path) -> DependencyGraph {
    let loaded = mge_plan::load(plan_dir).unwrap_or_else(|e| panic!("{}: {e}", plan_dir.display()));
    let plan = loaded.plan;
    let codes: Vec<String> = plan
        .tasks()
        .map(|task| {
            let reference = plan.reference_dir.as_ref().map(|d| d.join(&task.target));
            match reference.filter(|p| p.is_file()) {
                Some(path) => std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
                None => task.skeleton.clone().expect("a task with a skeleton"),
            }
        })
        .collect();
    let sources: Vec<SourceFile<'_>> = plan
        .tasks()
        .zip(&codes)
        .map(|(task, code)| SourceFile {
            path: &task.target,
            language: task.language,
            code,
        })
        .collect();
    let targets: BTreeSet<&str> = plan.tasks().map(|t| t.target.as_str()).collect();
    let support_data = plan
        .reference_dir
        .as_ref()
        .map(|r| support_files(r, &targets))
        .unwrap_or_default();
    let support: Vec<SourceFile<'_>> = support_data
        .iter()
        .map(|(path, language, code)| SourceFile {
            path,
            language: *language,
            code,
        })
        .collect();
    let atomized =
        mge_graph::atomize_plan_with_support(&sources, &support, &Config::default()).unwrap();
    mge_graph::build(atomized.input).unwrap()
}

fn actual_edges(graph: &DependencyGraph) -> BTreeSet<Edge> {
    let mut out = BTreeSet::new();
    for (from, to, dep) in graph.dependencies() {
        for kind in dep.kinds.iter() {
            out.insert((
                graph.atom(from).id.clone(),
                graph.atom(to).id.clone(),
                kind.to_string(),
            ));
        }
    }
    out
}

/// The written edges (all the edges), the edges that must not exist, then the known missing
/// and known spurious ones.
struct Expected {
    edges: BTreeSet<Edge>,
    absent: BTreeSet<Edge>,
    known_missing: BTreeSet<Edge>,
    known_spurious: BTreeSet<Edge>,
}

fn expected_edges(path: &Path) -> Expected {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut expected = Expected {
        edges: BTreeSet::new(),
        absent: BTreeSet::new(),
        known_missing: BTreeSet::new(),
        known_spurious: BTreeSet::new(),
    };
    for (number, line) in text.lines().enumerate() {
        let line = strip_comment(line).trim();
        if line.is_empty() {
            continue;
        }
        let (out, line) = if let Some(rest) = line.strip_prefix("absent ") {
            (&mut expected.absent, rest)
        } else if let Some(rest) = line.strip_prefix("known-missing ") {
            (&mut expected.known_missing, rest)
        } else if let Some(rest) = line.strip_prefix("known-spurious ") {
            (&mut expected.known_spurious, rest)
        } else {
            (&mut expected.edges, line)
        };
        let parse = || -> Option<Edge> {
            let (from, rest) = line.split_once(" -> ")?;
            let (to, kind) = rest.trim().rsplit_once(' ')?;
            kind.parse::<mge_core::EdgeKind>().ok()?;
            Some((
                from.trim().to_string(),
                to.trim().to_string(),
                kind.to_string(),
            ))
        };
        let edge = parse().unwrap_or_else(|| {
            panic!(
                "{}:{}: expected `<provider> -> <dependent> <kind>`",
                path.display(),
                number + 1
            )
        });
        assert!(
            out.insert(edge),
            "{}:{}: edge listed twice",
            path.display(),
            number + 1
        );
    }
    for edge in &expected.known_missing {
        assert!(
            expected.edges.contains(edge),
            "known-missing {edge:?} is not an expected edge"
        );
    }
    for edge in &expected.absent {
        assert!(
            !expected.edges.contains(edge),
            "absent {edge:?} is an expected edge"
        );
    }
    for edge in &expected.known_spurious {
        assert!(
            !expected.edges.contains(edge),
            "known-spurious {edge:?} is an expected edge"
        );
    }
    expected
}

/// Ids contain `#` (`file::name#0`), so comments start at ` #` or at a line's first `#`.
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #") {
        Some(i) => &line[..i],
        None => line,
    }
}

fn check_fixture(name: &str) {
    let expected_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expected")
        .join(format!("{name}.edges"));
    let expected = expected_edges(&expected_path);

    let graph = fixture_graph(&fixtures_dir().join(name));
    let actual = actual_edges(&graph);
    let missing: BTreeSet<Edge> = expected.edges.difference(&actual).cloned().collect();
    let spurious: BTreeSet<Edge> = actual.difference(&expected.edges).cloned().collect();
    let unknown_missing: Vec<&Edge> = missing.difference(&expected.known_missing).collect();
    let unknown_spurious: Vec<&Edge> = spurious.difference(&expected.known_spurious).collect();
    let fixed_missing: Vec<&Edge> = expected.known_missing.difference(&missing).collect();
    let fixed_spurious: Vec<&Edge> = expected.known_spurious.difference(&spurious).collect();
    let show = |edges: &[&Edge]| {
        edges
            .iter()
            .map(|(f, t, k)| format!("  {f} -> {t} {k}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        unknown_missing.is_empty() && unknown_spurious.is_empty(),
        "{name}: {} missing edge(s):\n{}\n{} spurious edge(s):\n{}",
        unknown_missing.len(),
        show(&unknown_missing),
        unknown_spurious.len(),
        show(&unknown_spurious)
    );
    assert!(
        fixed_missing.is_empty() && fixed_spurious.is_empty(),
        "{name}: known divergences no longer seen, remove them from the expected file:\n{}\n{}",
        show(&fixed_missing),
        show(&fixed_spurious)
    );
    // The written edges hold the wave invariant too.
    for (from, to, _) in graph.dependencies() {
        let (a, b) = (graph.atom(from), graph.atom(to));
        assert!(a.unit == b.unit || a.wave < b.wave, "{} -> {}", a.id, b.id);
    }
}

#[test]
fn kvstore_edges() {
    check_fixture("kvstore");
}

#[test]
fn eventbus_edges() {
    check_fixture("eventbus");
}

#[test]
fn exprcalc_edges() {
    check_fixture("exprcalc");
}

#[test]
fn geometry_edges() {
    check_fixture("geometry");
}

#[test]
fn scheduler_edges() {
    check_fixture("scheduler");
}

#[test]
fn shop_edges() {
    check_fixture("shop");
}

#[test]
fn textstats_edges() {
    check_fixture("textstats");
}
