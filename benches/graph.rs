//! Dependency graph of a synthetic plan of 100,000 atoms and 400,000 references: graph, SCCs,
//! condensation order, waves and statistics.
//!
//! Besides the criterion measurement, the bench (outside `--test` mode)
//! - measures the peak memory of one build at several sizes (each in a fresh child process), to
//!   show it grows linearly;
//! - runs `scripts/graph-bench-networkx.py`, which builds the same graph (same generator, same seed)
//!   with networkx, checks that both agree on edges, components and waves, and prints the ratio of
//!   the two median times measured in this run.
//!
//! Set `MGE_BENCH_PYTHON` to choose the interpreter (default `python3`); the script installs its
//! pinned networkx into a virtual environment when needed.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use mge_core::EdgeKind;
use mge_graph::{build, EdgeSpec, GraphInput, NodeSpec};

const ATOMS: usize = 100_000;
const REFERENCES: usize = 400_000;
const FILE_SIZE: usize = 50;
const FILES_PER_COMPONENT: usize = 25;
const SEED: u64 = 0x6D6765;
/// Kind order shared with the networkx script.
const KINDS: [EdgeKind; 5] = [
    EdgeKind::Import,
    EdgeKind::Data,
    EdgeKind::Type,
    EdgeKind::Control,
    EdgeKind::Contains,
];

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `(provider, dependent, kind)` triples. Files hold `FILE_SIZE` consecutive atoms. A reference
/// picks a dependent at random, then a provider: 0.1% a little later in the same file (these
/// close a few cycles), ~60% earlier in the same file, the rest in one of the 40 previous files.
/// Mirrored line by line by `references` in `scripts/graph-bench-networkx.py`.
fn synthetic_references(atoms: usize, count: usize, seed: u64) -> Vec<(usize, usize, usize)> {
    let mut rng = SplitMix64(seed);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let d = rng.below(atoms);
        let start = d / FILE_SIZE * FILE_SIZE;
        let end = (start + FILE_SIZE).min(atoms);
        let roll = rng.below(1000);
        let kind = rng.below(KINDS.len());
        let p = if roll < 1 && d + 1 < end {
            d + 1 + rng.below(3.min(end - d - 1))
        } else if roll < 600 && d > start {
            start + rng.below(d - start)
        } else if start > 0 {
            let lo = start.saturating_sub(40 * FILE_SIZE);
            lo + rng.below(start - lo)
        } else if d > start {
            start + rng.below(d - start)
        } else {
            continue;
        };
        out.push((p, d, kind));
    }
    out
}

fn synthetic_plan(atoms: usize, references: usize) -> GraphInput {
    let nodes = (0..atoms)
        .map(|i| {
            let file = i / FILE_SIZE;
            let component = format!("c{}", file / FILES_PER_COMPONENT);
            NodeSpec {
                id: format!("a{i}"),
                file: format!("{component}/f{file}.py"),
                component,
                name: format!("atom_{i}"),
                kind: "function".to_string(),
                est_tokens: 40 + SplitMix64(SEED ^ i as u64).next() % 120,
            }
        })
        .collect();
    let edges = synthetic_references(atoms, references, SEED)
        .into_iter()
        .map(|(p, d, kind)| EdgeSpec {
            from: p as u32,
            to: d as u32,
            kind: KINDS[kind],
            symbol: format!("atom_{p}"),
        })
        .collect();
    GraphInput { nodes, edges }
}

fn bench_build(c: &mut Criterion, input: &GraphInput) {
    let mut group = c.benchmark_group("graph");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("build_100k_atoms_400k_refs", |b| {
        b.iter_batched(
            || input.clone(),
            |input| black_box(build(input).expect("synthetic plan is valid")),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Resident memory in bytes: the current value (`VmRSS`) or the peak (`VmHWM`).
fn resident(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// In a child process (fresh heap): the peak memory growth of one build, printed in bytes.
fn measure_memory_child(spec: &str) {
    let (atoms, references) = spec
        .split_once(',')
        .and_then(|(a, r)| Some((a.parse().ok()?, r.parse().ok()?)))
        .expect("MGE_GRAPH_BENCH_MEMORY is <atoms>,<references>");
    let input = synthetic_plan(atoms, references);
    // Linux: writing 5 to clear_refs resets the peak to the current resident size.
    let measured = std::fs::write("/proc/self/clear_refs", "5")
        .ok()
        .and_then(|()| resident("VmRSS:"))
        .and_then(|before| {
            let graph = build(input).expect("synthetic plan is valid");
            let peak = resident("VmHWM:")?;
            drop(graph);
            Some(peak.saturating_sub(before))
        });
    match measured {
        Some(bytes) => println!("{bytes}"),
        None => println!("unavailable"),
    }
}

fn report_memory() {
    println!(
        "\nmemory: peak growth of one build in a fresh process (the build consumes its input)"
    );
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    for scale in [1usize, 2, 4, 8] {
        let (atoms, references) = (ATOMS * scale / 4, REFERENCES * scale / 4);
        let output = Command::new(&exe)
            .env("MGE_GRAPH_BENCH_MEMORY", format!("{atoms},{references}"))
            .output();
        let text = output
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        match text.parse::<u64>() {
            Ok(bytes) => println!(
                "  {atoms:>7} atoms {references:>7} references: {:>6.1} MiB, {:>5.1} bytes per atom+reference",
                bytes as f64 / (1024.0 * 1024.0),
                bytes as f64 / (atoms + references) as f64
            ),
            Err(_) => println!("  {atoms} atoms: peak memory not measurable here ({text})"),
        }
    }
}

fn median_build_seconds(input: &GraphInput, runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let input = input.clone();
            let started = Instant::now();
            let graph = black_box(build(input).expect("synthetic plan is valid"));
            let elapsed = started.elapsed().as_secs_f64();
            drop(graph);
            elapsed
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn compare_with_networkx(input: &GraphInput) {
    let graph = build(input.clone()).expect("synthetic plan is valid");
    let stats = graph.stats();
    let ours = median_build_seconds(input, 5);
    println!(
        "\nmge-graph: {} atoms, {} references, {} edges, {} components ({} cyclic), {} waves, \
         widest {}, critical path {} atoms / {} tokens; median {:.1} ms",
        stats.atoms,
        stats.references,
        stats.edges,
        stats.components,
        stats.cyclic_components,
        stats.waves,
        stats.widest_wave,
        stats.critical_path_atoms,
        stats.critical_path_tokens,
        ours * 1e3
    );

    let python = std::env::var("MGE_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/graph-bench-networkx.py"
    );
    let output = Command::new(&python)
        .arg(script)
        .args(["--atoms", &ATOMS.to_string()])
        .args(["--references", &REFERENCES.to_string()])
        .args(["--file-size", &FILE_SIZE.to_string()])
        .args(["--seed", &SEED.to_string()])
        .output();
    let output = match output {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            println!(
                "networkx baseline failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
            return;
        }
        Err(error) => {
            println!("networkx baseline not run: cannot start {python}: {error}");
            return;
        }
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let Some(report) = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    else {
        println!("networkx baseline printed no JSON report: {text}");
        return;
    };
    let figure = |key: &str| report[key].as_u64().unwrap_or(u64::MAX);
    let agree = figure("atoms") == stats.atoms as u64
        && figure("edges") == stats.edges as u64
        && figure("components") == stats.components as u64
        && figure("cyclic_components") == stats.cyclic_components as u64
        && figure("waves") == stats.waves as u64
        && figure("widest_wave") == stats.widest_wave as u64;
    let theirs = report["median_seconds"].as_f64().unwrap_or(f64::NAN);
    println!(
        "networkx {}: {} edges, {} components ({} cyclic), {} waves, widest {}; median {:.1} ms",
        report["networkx"].as_str().unwrap_or("?"),
        figure("edges"),
        figure("components"),
        figure("cyclic_components"),
        figure("waves"),
        figure("widest_wave"),
        theirs * 1e3
    );
    println!(
        "same graph and waves: {}",
        if agree {
            "yes"
        } else {
            "NO (generators differ)"
        }
    );
    println!(
        "ratio: mge-graph is {:.1}x faster than networkx (target >= 20x; build target < 500 ms: {})",
        theirs / ours,
        if ours < 0.5 { "met" } else { "missed" }
    );
}

fn main() {
    if let Ok(spec) = std::env::var("MGE_GRAPH_BENCH_MEMORY") {
        measure_memory_child(&spec);
        return;
    }
    let test_mode = std::env::args().any(|a| a == "--test");
    let input = synthetic_plan(ATOMS, REFERENCES);
    let mut criterion = Criterion::default().configure_from_args();
    bench_build(&mut criterion, &input);
    criterion.final_summary();
    if !test_mode {
        report_memory();
        compare_with_networkx(&input);
    }
}
