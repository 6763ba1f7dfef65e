//! Scheduler makespan against its lower bound on a synthetic, seeded DAG of units that sleep
//! for their simulated latency.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mge_engine::scheduler::{self, Barrier, Hooks, Schedule, UnitEnd};

/// Deterministic splitmix64: the same seed gives the same DAG on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// A synthetic plan: units with providers among earlier units and a duration each.
pub struct Dag {
    pub schedule: Schedule,
    pub durations: Vec<Duration>,
}

/// `units` units; unit `i` depends on 0-4 distinct units drawn from the `window` units before
/// it (a layered shape: a wide frontier with chains through it); durations are the modelled
/// 20-200 ms generation latency times `scale`.
pub fn dag(units: usize, window: usize, scale: f64, seed: u64) -> Dag {
    let mut rng = Rng::new(seed);
    let mut providers: Vec<Vec<usize>> = Vec::with_capacity(units);
    let mut durations = Vec::with_capacity(units);
    for i in 0..units {
        let lo = i.saturating_sub(window);
        let fan_in = (rng.range(0, 4) as usize).min(i - lo);
        let mut mine: Vec<usize> = Vec::with_capacity(fan_in);
        while mine.len() < fan_in {
            let p = lo + rng.range(0, (i - lo - 1) as u64) as usize;
            if !mine.contains(&p) {
                mine.push(p);
            }
        }
        mine.sort_unstable();
        providers.push(mine);
        durations.push(Duration::from_secs_f64(
            rng.range(20, 200) as f64 / 1000.0 * scale,
        ));
    }
    let mut waves = vec![0usize; units];
    for i in 0..units {
        waves[i] = providers[i]
            .iter()
            .map(|&p| waves[p] + 1)
            .max()
            .unwrap_or(0);
    }
    // The scheduler's weights: each unit's duration in microseconds.
    let weights = durations.iter().map(|d| d.as_micros() as u64).collect();
    Dag {
        schedule: Schedule {
            providers,
            waves,
            weights,
        },
        durations,
    }
}

/// Longest path through the DAG, weighting each unit by its duration.
pub fn critical_path(schedule: &Schedule, durations: &[Duration]) -> Duration {
    let mut finish = vec![Duration::ZERO; durations.len()];
    for i in 0..durations.len() {
        let start = schedule.providers[i]
            .iter()
            .map(|&p| finish[p])
            .max()
            .unwrap_or(Duration::ZERO);
        finish[i] = start + durations[i];
    }
    finish.into_iter().max().unwrap_or(Duration::ZERO)
}

/// max(critical path, total work / concurrency).
pub fn lower_bound(schedule: &Schedule, durations: &[Duration], concurrency: usize) -> Duration {
    let work: Duration = durations.iter().sum();
    critical_path(schedule, durations).max(work / concurrency as u32)
}

struct NoHooks;

impl Hooks for NoHooks {
    async fn on_blocked(&mut self, _unit: usize, _cause: usize) {}
}

/// One measured run.
pub struct Makespan {
    pub makespan: Duration,
    /// Bound from the modelled durations.
    pub nominal_bound: Duration,
    /// Bound from the durations each unit really slept (timer granularity included), so the
    /// ratio against it is the scheduler's own idle time.
    pub measured_bound: Duration,
    pub max_concurrency: usize,
}

pub async fn measure(dag: &Dag, concurrency: usize, barrier: Barrier) -> Makespan {
    let slept: Arc<Mutex<Vec<Duration>>> =
        Arc::new(Mutex::new(vec![Duration::ZERO; dag.durations.len()]));
    let durations = dag.durations.clone();
    let record = slept.clone();
    let started = Instant::now();
    let report = scheduler::run(
        &dag.schedule,
        Vec::new(),
        concurrency,
        barrier,
        &mut NoHooks,
        move |unit| {
            let duration = durations[unit];
            let record = record.clone();
            async move {
                let began = Instant::now();
                tokio::time::sleep(duration).await;
                record.lock().expect("slept lock")[unit] = began.elapsed();
                true
            }
        },
    )
    .await;
    let makespan = started.elapsed();
    assert!(
        report.ends.iter().all(|e| *e == UnitEnd::Succeeded),
        "every synthetic unit succeeds"
    );
    let slept = slept.lock().expect("slept lock").clone();
    Makespan {
        makespan,
        nominal_bound: lower_bound(&dag.schedule, &dag.durations, concurrency),
        measured_bound: lower_bound(&dag.schedule, &slept, concurrency),
        max_concurrency: report.max_concurrency,
    }
}

/// Which ready unit an idealized list scheduler starts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Lowest wave, then lowest index: the order `scheduler::run` uses.
    WaveIndex,
    /// Longest remaining path to the end of the DAG first (critical-path list scheduling).
    RemainingPath,
}

/// The makespan of a zero-overhead list schedule of the DAG at `concurrency` with dependency
/// starts, by discrete-event simulation: what the start order alone costs, without any runtime.
pub fn simulate(dag: &Dag, concurrency: usize, priority: Priority) -> Duration {
    use std::cmp::Reverse;
    use std::collections::{BTreeSet, BinaryHeap};
    let n = dag.durations.len();
    let dependents = dag.schedule.dependents();
    let mut remaining = vec![Duration::ZERO; n];
    for i in (0..n).rev() {
        let tail = dependents[i]
            .iter()
            .map(|&d| remaining[d])
            .max()
            .unwrap_or(Duration::ZERO);
        remaining[i] = tail + dag.durations[i];
    }
    let key = |i: usize| match priority {
        Priority::WaveIndex => (dag.schedule.waves[i] as u128, i),
        Priority::RemainingPath => (u128::MAX - remaining[i].as_nanos(), i),
    };
    let mut waiting: Vec<usize> = dag.schedule.providers.iter().map(Vec::len).collect();
    let mut ready: BTreeSet<(u128, usize)> = (0..n).filter(|&i| waiting[i] == 0).map(key).collect();
    let mut running: BinaryHeap<Reverse<(Duration, usize)>> = BinaryHeap::new();
    let mut now = Duration::ZERO;
    loop {
        while running.len() < concurrency {
            let Some(first) = ready.pop_first() else {
                break;
            };
            running.push(Reverse((now + dag.durations[first.1], first.1)));
        }
        let Some(Reverse((end, unit))) = running.pop() else {
            break;
        };
        now = end;
        for &d in &dependents[unit] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.insert(key(d));
            }
        }
    }
    now
}
