//! Execution benchmark, two parts.
//!
//! 1. Scheduler makespan: a seeded synthetic DAG of 1,000 units (fan-in 0-4 from earlier units,
//!    modelled latencies of 20-200 ms scaled by `SCALE` and really slept) runs through
//!    `mge_engine::scheduler::run` with dependency-driven starts and with strict waves. Each
//!    makespan is divided by its lower bound max(critical path, total work / concurrency), from
//!    the modelled durations and from the durations the units really slept (tokio's timer rounds
//!    sleeps up to the millisecond; the measured bound removes that from the ratio). Target: within
//!    5% of the bound for dependency-driven scheduling.
//! 2. Engine overhead: a synthetic plan of 40 Python modules x 25 functions (~1,000 atoms, calls
//!    across modules give edges) runs end to end through `Engine` with the simulated generator at
//!    `time_scale 0`, in V2 and MVP mode, on SQLite (temp file) and, when `DATABASE_URL` is set, on
//!    a fresh Postgres database. Overhead per unit = (last unit end - first unit start) / units.
//!    Targets: under 1 ms per atom on SQLite, 2 ms on Postgres. The serial latency of each store
//!    call an atom makes is measured alongside, to show where the time goes.
//!
//! Run: `cargo bench --bench engine` (add `DATABASE_URL=postgres://...` for Postgres; pass
//! `-- --overhead-only` to skip the makespan part).

#[path = "engine/overhead.rs"]
mod overhead;
#[path = "engine/schedule.rs"]
mod schedule;

use std::sync::Arc;
use std::time::Duration;

use mge_core::ExecutionMode;
use mge_engine::scheduler::Barrier;
use mge_store::Store;

const UNITS: usize = 1_000;
/// Providers are drawn from this many preceding units.
const WINDOW: usize = 60;
/// Factor on the modelled 20-200 ms latencies: 5-50 ms sleeps.
const SCALE: f64 = 0.25;
const SEEDS: [u64; 3] = [1, 2, 3];
const MAKESPAN_TARGET: f64 = 1.05;
const SQLITE_TARGET_MS: f64 = 1.0;
const POSTGRES_TARGET_MS: f64 = 2.0;
/// Atoms whose store calls are timed one by one.
const PROFILED_ATOMS: usize = 200;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISSED"
    }
}

async fn makespans() {
    println!("## Scheduler makespan ({UNITS} units, sleeps of 20-200 ms x {SCALE})\n");
    println!(
        "| seed | barrier | concurrency | critical path ms | work/conc ms | makespan ms | \
         / nominal bound | / measured bound | max running | target | ideal list schedule, \
         wave order / bound | ideal, critical-path order / bound |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for seed in SEEDS {
        let dag = schedule::dag(UNITS, WINDOW, SCALE, seed);
        let cp = schedule::critical_path(&dag.schedule, &dag.durations);
        let work: Duration = dag.durations.iter().sum();
        for concurrency in [50usize, 8] {
            for barrier in [Barrier::Dependencies, Barrier::Waves] {
                let m = schedule::measure(&dag, concurrency, barrier).await;
                let nominal = m.makespan.as_secs_f64() / m.nominal_bound.as_secs_f64();
                let measured = m.makespan.as_secs_f64() / m.measured_bound.as_secs_f64();
                let (target, ideal) = match barrier {
                    Barrier::Dependencies => {
                        let ratio = |p| {
                            schedule::simulate(&dag, concurrency, p).as_secs_f64()
                                / m.nominal_bound.as_secs_f64()
                        };
                        (
                            verdict(measured <= MAKESPAN_TARGET),
                            format!(
                                "{:.3} | {:.3}",
                                ratio(schedule::Priority::WaveIndex),
                                ratio(schedule::Priority::RemainingPath)
                            ),
                        )
                    }
                    Barrier::Waves => ("(reported)", "- | -".to_string()),
                };
                println!(
                    "| {seed} | {barrier:?} | {concurrency} | {:.0} | {:.0} | {:.0} | {nominal:.3} | \
                     {measured:.3} | {} | {target} | {ideal} |",
                    ms(cp),
                    ms(work / concurrency as u32),
                    ms(m.makespan),
                    m.max_concurrency,
                );
            }
        }
    }
    println!();
}

async fn overheads(backend: &str, url: &str, plan_dir: &std::path::Path, target_ms: f64) {
    let runs = [
        (ExecutionMode::V2Atoms, None),
        (ExecutionMode::V2Atoms, Some(1)),
        (ExecutionMode::Mvp, None),
    ];
    for (mode, max_parallel) in runs {
        overhead_row(backend, url, plan_dir, target_ms, mode, max_parallel).await;
    }
}

/// One row of the overhead table (and, for V2 at the default concurrency, the store-call
/// profile), on a database created for it and dropped after.
async fn overhead_row(
    backend: &str,
    url: &str,
    plan_dir: &std::path::Path,
    target_ms: f64,
    mode: ExecutionMode,
    max_parallel: Option<usize>,
) {
    mge_store::create_database(url)
        .await
        .expect("create database");
    let store: Arc<dyn Store> = Arc::from(mge_store::open(url).await.expect("open store"));
    store.migrate_up().await.expect("migrate");
    let o = overhead::run(store.clone(), plan_dir, mode, max_parallel).await;
    let per_unit = ms(o.execute) / o.units as f64;
    let unit = if mode == ExecutionMode::Mvp {
        "subtask"
    } else {
        "atom"
    };
    println!(
        "| {backend} | {mode} | {} | {} {unit}s | {:.0} | {:.0} | {:.0} | {per_unit:.3} | {:.3} | \
         {:.3} | {:.2} | {} |",
        max_parallel.map_or("default".to_string(), |p| p.to_string()),
        o.units,
        ms(o.wall),
        ms(o.prepare),
        ms(o.execute),
        ms(o.wall - o.prepare) / o.units as f64,
        ms(o.generator) / o.generator_calls.max(1) as f64,
        per_unit / target_ms,
        if mode == ExecutionMode::Mvp || max_parallel.is_some() || backend.contains(',') {
            "(reported)"
        } else {
            verdict(per_unit < target_ms)
        },
    );
    if mode == ExecutionMode::V2Atoms && max_parallel.is_none() {
        let calls =
            overhead::v2_store_calls(store.as_ref(), o.summary.run_id, PROFILED_ATOMS).await;
        let total: Duration = calls.calls.iter().map(|(_, d)| *d).sum();
        let detail: Vec<String> = calls
            .calls
            .iter()
            .map(|(name, d)| format!("{name} {:.3}", ms(*d)))
            .collect();
        PROFILES.lock().expect("profiles lock").push(format!(
            "| {backend} | {} | {:.3} |",
            detail.join(", "),
            ms(total)
        ));
    }
    store.close().await;
    mge_store::drop_database(url).await.expect("drop database");
}

static PROFILES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// `DATABASE_URL` with its database replaced by a fresh name.
fn fresh_postgres(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, ""), |(b, q)| (b, q));
    let cut = base
        .rfind('/')
        .filter(|&i| i > base.find("://").map_or(0, |s| s + 2));
    let root = cut.map_or(base, |i| &base[..i]);
    let name = format!("mge_bench_engine_{}", std::process::id());
    if query.is_empty() {
        format!("{root}/{name}")
    } else {
        format!("{root}/{name}?{query}")
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // `--overhead-only` skips the makespan part (about a minute) when profiling the engine.
    let overhead_only = std::env::args().any(|a| a == "--overhead-only");
    runtime.block_on(async {
        if !overhead_only {
            makespans().await;
        }

        let dir = tempfile::tempdir().expect("temp dir");
        let plan_dir = dir.path().join("plan");
        overhead::write_plan(&plan_dir, 42).expect("write the synthetic plan");
        println!(
            "## Engine overhead ({} modules x {} functions, simulated generator, time_scale 0)\n",
            overhead::MODULES,
            overhead::FUNCTIONS
        );
        println!(
            "| backend | mode | max parallel | units | wall ms | prepare ms | execute ms | ms / unit | \
             (wall - prepare) ms / unit | generator ms / call | / target | target |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        let sqlite = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.sqlite").display()
        );
        overheads("sqlite", &sqlite, &plan_dir, SQLITE_TARGET_MS).await;
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let url = fresh_postgres(&url);
                overheads("postgres", &url, &plan_dir, POSTGRES_TARGET_MS).await;
                // Each commit waits for the WAL flush by default. With
                // `synchronous_commit=off` (a URL option any user can set) a commit survives a
                // killed `mge` but the last ~0.6 s of commits may be lost if the database
                // server itself crashes; reported for comparison.
                let sep = if url.contains('?') { '&' } else { '?' };
                let relaxed = format!("{url}{sep}options=-c%20synchronous_commit%3Doff");
                overhead_row(
                    "postgres, synchronous_commit=off",
                    &relaxed,
                    &plan_dir,
                    POSTGRES_TARGET_MS,
                    ExecutionMode::V2Atoms,
                    None,
                )
                .await;
            }
            _ => println!("| postgres | - | - | DATABASE_URL not set: skipped | | | | | | | | |"),
        }
        println!(
            "\n## Serial latency of each store call of one V2 atom ({PROFILED_ATOMS} atoms, ms)\n"
        );
        println!("| backend | calls | sum ms |");
        println!("|---|---|---|");
        for line in PROFILES.lock().expect("profiles lock").iter() {
            println!("{line}");
        }
    });
}
