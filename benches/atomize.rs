//! Atomization speed, as ratios measured in one run:
//!
//! - throughput (MB/s) of `atomize` against a bare tree-sitter parse of the same files
//!   (target: atomize within 1.6x of parse-only time);
//! - parallel speed-up of atomizing the files with rayon against one thread (target ≥ 1.7x on 2
//!   cores);
//! - time to atomize one ~500-LOC task file (target < 5 ms).
//!
//! On a shared machine wall times move with the load: the load average is printed before and
//! after, and each parallel run reports the CPU time the process got per second of wall time
//! (2.0 = both cores were ours), which bounds the speed-up that run could show.
//!
//! Corpora: the machine's python3 standard library (`MGE_BENCH_PY_DIR` overrides) and a
//! TypeScript tree in `MGE_BENCH_TS_DIR` (`scripts/atomize-corpus.sh` unpacks the `effect`
//! package; without it the fixture plans' TS/JS sources are used). Each corpus is capped at
//! `MGE_BENCH_MAX_MB` megabytes (default 6) of files, taken in path order; files the grammar
//! does not parse are left out (counted in the output).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mge_atomize::{atomize, parse::parse, Config, Grammar};
use mge_core::Language;
use rayon::prelude::*;

struct Source {
    path: String,
    language: Language,
    text: String,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if !matches!(
                name,
                "node_modules" | "site-packages" | "__pycache__" | "test" | "tests"
            ) {
                walk(&p, out);
            }
        } else {
            out.push(p);
        }
    }
}

/// Up to `max_bytes` of the parseable source files under `dir`, in path order; `skipped` counts
/// the files left out for syntax errors.
fn corpus(dir: &Path, max_bytes: usize, skipped: &mut usize) -> Vec<Source> {
    let mut paths = Vec::new();
    walk(dir, &mut paths);
    let mut out = Vec::new();
    let mut total = 0;
    for p in paths {
        let path = p.to_string_lossy().to_string();
        let Some(language) = Language::from_path(&path) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        // A file the grammar does not parse becomes one `unparsed` atom after the parse alone;
        // it would flatter the atomize/parse ratio, so it is left out.
        let parses = parse(Grammar::for_file(&path, language), &text)
            .is_some_and(|t| !t.root_node().has_error());
        if !parses {
            *skipped += 1;
            continue;
        }
        total += text.len();
        out.push(Source {
            path,
            language,
            text,
        });
        if total >= max_bytes {
            break;
        }
    }
    out
}

fn python_stdlib() -> PathBuf {
    if let Ok(dir) = std::env::var("MGE_BENCH_PY_DIR") {
        return dir.into();
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .expect("python3 is needed to locate the standard library");
    String::from_utf8_lossy(&out.stdout).trim().into()
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// CPU time (user + system) of this process so far, all threads, from `/proc/self/stat`.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in clock ticks, 100 per second on Linux.
    Some(Duration::from_millis(ticks * 10))
}

/// Timing rounds per measurement. The two sides of each ratio run alternately, one of each per
/// round, and each side keeps its best round: the machine's drift (other processes, frequency)
/// then weighs on both sides alike.
const ROUNDS: usize = 7;

/// Best of [`ROUNDS`] timings of `a` and of `b`, run alternately.
fn best_pair(mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed()
    };
    let (mut best_a, mut best_b) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        best_a = best_a.min(time(&mut a));
        best_b = best_b.min(time(&mut b));
    }
    (best_a, best_b)
}

fn bench_corpus(
    name: &str,
    files: &[Source],
    pool1: &rayon::ThreadPool,
    pool2: &rayon::ThreadPool,
) {
    let config = Config::default();
    let mb = files.iter().map(|s| s.text.len()).sum::<usize>() as f64 / 1e6;
    let (parse_only, sequential) = best_pair(
        || {
            for s in files {
                let tree = parse(Grammar::for_file(&s.path, s.language), &s.text);
                std::hint::black_box(tree);
            }
        },
        || {
            for s in files {
                std::hint::black_box(atomize(&s.path, &s.text, s.language, &config));
            }
        },
    );
    // Best wall time on one and on two threads, and the CPU time per wall second of each. The
    // largest files start first (as in `mge atomize`), so no thread is left with one big file
    // at the end.
    let mut largest_first: Vec<&Source> = files.iter().collect();
    largest_first.sort_by_key(|s| std::cmp::Reverse(s.text.len()));
    let cpu = std::cell::Cell::new([(Duration::ZERO, Duration::ZERO); 2]);
    let run_on = |slot: usize, pool: &rayon::ThreadPool| {
        let (cpu0, t0) = (cpu_time(), Instant::now());
        pool.install(|| {
            let v: Vec<_> = largest_first
                .par_iter()
                .with_max_len(1)
                .map(|s| atomize(&s.path, &s.text, s.language, &config).atoms.len())
                .collect();
            std::hint::black_box(v);
        });
        if let (Some(a), Some(b)) = (cpu0, cpu_time()) {
            let mut c = cpu.get();
            c[slot].0 += b.saturating_sub(a);
            c[slot].1 += t0.elapsed();
            cpu.set(c);
        }
    };
    let (one, two) = best_pair(|| run_on(0, pool1), || run_on(1, pool2));
    let used = |slot: usize| {
        let (c, w) = cpu.get()[slot];
        if w.is_zero() {
            f64::NAN
        } else {
            c.as_secs_f64() / w.as_secs_f64()
        }
    };
    let (one_cpu, two_cpu) = (used(0), used(1));
    let secs = |d: Duration| d.as_secs_f64();
    println!("{name}: {} files, {mb:.2} MB", files.len());
    println!(
        "  parse only   {:8.1} MB/s ({:.3} s)",
        mb / secs(parse_only),
        secs(parse_only)
    );
    println!(
        "  atomize      {:8.1} MB/s ({:.3} s)  ratio atomize/parse = {:.2}x (target <= 1.6x)",
        mb / secs(sequential),
        secs(sequential),
        secs(sequential) / secs(parse_only)
    );
    println!(
        "  rayon 1 thread {:.3} s, 2 threads {:.3} s  speed-up = {:.2}x (target >= 1.7x)",
        secs(one),
        secs(two),
        secs(one) / secs(two)
    );
    println!(
        "  CPU per wall second: 1 thread {one_cpu:.2}, 2 threads {two_cpu:.2} (2.00 = both cores ours)"
    );
}

/// A ~500-LOC file of the corpus (the one closest to 500 non-blank lines).
fn task_of_500_loc(files: &[Source]) -> Option<&Source> {
    files.iter().min_by_key(|s| {
        let loc = s.text.lines().filter(|l| !l.trim().is_empty()).count();
        loc.abs_diff(500)
    })
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let max_bytes = std::env::var("MGE_BENCH_MAX_MB")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(6_000_000, |mb| (mb * 1e6) as usize);
    let pool1 = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool");
    let pool2 = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("thread pool");
    println!("load average before: {}", load_average());
    let mut skipped = 0;
    let py = corpus(&python_stdlib(), max_bytes, &mut skipped);
    let ts_dir = std::env::var("MGE_BENCH_TS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plans"));
    let ts = corpus(&ts_dir, max_bytes, &mut skipped);
    println!("files left out for syntax errors: {skipped}");
    if !py.is_empty() {
        bench_corpus("python stdlib", &py, &pool1, &pool2);
    }
    if !ts.is_empty() {
        bench_corpus(
            &format!("typescript ({})", ts_dir.display()),
            &ts,
            &pool1,
            &pool2,
        );
    }
    if let Some(task) = task_of_500_loc(&py) {
        let loc = task.text.lines().filter(|l| !l.trim().is_empty()).count();
        let config = Config::default();
        let runs = 50;
        let t = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(atomize(&task.path, &task.text, task.language, &config));
        }
        let per = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
        println!(
            "500-LOC task ({}, {loc} non-blank lines): {per:.2} ms per atomization (target < 5 ms)",
            task.path
        );
    }
    println!("load average after: {}", load_average());
}
