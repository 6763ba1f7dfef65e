//! The dependency edges of each fixture plan against the edges written down by reading its code
//! (`tests/expected/<plan>.edges`): no edge missing, no spurious edge. Each expected edge is one
//! `(provider, dependent, kind)`; a merged graph edge counts once per kind it carries.
//!
//! Where the atomizer is known to disagree with the written edges, the file lists the
//! disagreement as `known-missing <edge>` / `known-spurious <edge>`; the test then requires the
//! difference to be exactly those lines, so a fix in the atomizer makes the test ask for them to
//! be removed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mge_atomize::Config;
use mge_graph::{DependencyGraph, SourceFile};

type Edge = (String, String, String);

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plans")
}

/// Atomizes the plan's reference files (else skeletons), links them and builds the graph.
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
    let atomized = mge_graph::atomize_plan(&sources, &Config::default()).unwrap();
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

/// The written edges, then the known missing and known spurious ones.
struct Expected {
    edges: BTreeSet<Edge>,
    known_missing: BTreeSet<Edge>,
    known_spurious: BTreeSet<Edge>,
}

fn expected_edges(path: &Path) -> Expected {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut expected = Expected {
        edges: BTreeSet::new(),
        known_missing: BTreeSet::new(),
        known_spurious: BTreeSet::new(),
    };
    for (number, line) in text.lines().enumerate() {
        let line = strip_comment(line).trim();
        if line.is_empty() {
            continue;
        }
        let (out, line) = if let Some(rest) = line.strip_prefix("known-missing ") {
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
