//! The dependency-driven scheduler both strategies run on: a unit starts as soon as every one of
//! its providers has succeeded, at most `max_parallel` at a time; a failed unit blocks everything
//! that depends on it, transitively, while independent units go on. Strict wave barriers (a wave
//! starts only when the previous one has finished) are available for comparison.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;

use tokio::task::JoinSet;

/// Units to run and the order constraints between them. Unit `i` may start once every unit in
/// `providers[i]` has succeeded. `waves[i]` is the unit's longest-path level, used for strict
/// barriers. `weights[i]` estimates the unit's duration (e.g. its tokens; empty: all 1): among
/// ready units, the one with the heaviest remaining chain of dependents starts first, which keeps
/// the critical path moving.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    pub providers: Vec<Vec<usize>>,
    pub waves: Vec<usize>,
    pub weights: Vec<u64>,
}

impl Schedule {
    pub fn len(&self) -> usize {
        self.providers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// For every unit, the heaviest chain of weights from it through its dependents (itself
    /// included). Units are visited in decreasing wave order, so dependents come first.
    pub fn remaining_path(&self) -> Vec<u64> {
        let dependents = self.dependents();
        let weight = |i: usize| self.weights.get(i).copied().unwrap_or(1);
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.waves[i]));
        let mut remaining = vec![0u64; self.len()];
        for i in order {
            let tail = dependents[i]
                .iter()
                .map(|&d| remaining[d])
                .max()
                .unwrap_or(0);
            remaining[i] = weight(i) + tail;
        }
        remaining
    }

    /// Dependents of every unit (the reverse of `providers`).
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.len()];
        for (unit, providers) in self.providers.iter().enumerate() {
            for &p in providers {
                out[p].push(unit);
            }
        }
        out
    }
}

/// How one unit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitEnd {
    Succeeded,
    Failed,
    /// Not started because a provider failed or was blocked.
    Blocked,
    /// Not started because the run was asked to stop (drain).
    NotStarted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Barrier {
    /// A unit starts as soon as its providers have succeeded.
    Dependencies,
    /// A wave starts only when every unit of the previous waves has ended.
    Waves,
}

/// What the scheduler saw.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleReport {
    pub ends: Vec<UnitEnd>,
    /// Most units that ran at the same time.
    pub max_concurrency: usize,
}

/// Decisions the caller makes as units end; `on_blocked` is awaited (and so persisted) before
/// the blocked unit's dependents are considered.
pub trait Hooks: Send {
    /// Called for every unit that will never start because `cause` failed or was blocked.
    fn on_blocked(&mut self, unit: usize, cause: usize) -> impl Future<Output = ()> + Send;
    /// Asked before each start; `false` stops starting new units (running ones finish).
    fn keep_going(&mut self) -> bool {
        true
    }
}

/// Runs every unit not already ended in `initial` (units marked `Succeeded` there count as done,
/// e.g. after a resume). `run_unit(i)` executes unit `i` and says whether it succeeded.
pub async fn run<F, Fut, H>(
    schedule: &Schedule,
    initial: Vec<Option<UnitEnd>>,
    max_parallel: usize,
    barrier: Barrier,
    hooks: &mut H,
    mut run_unit: F,
) -> ScheduleReport
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
    H: Hooks,
{
    let n = schedule.len();
    let max_parallel = max_parallel.max(1);
    let dependents = schedule.dependents();
    let mut ends: Vec<Option<UnitEnd>> = initial;
    ends.resize(n, None);
    let mut waiting: Vec<usize> = (0..n)
        .map(|i| {
            schedule.providers[i]
                .iter()
                .filter(|&&p| ends[p] != Some(UnitEnd::Succeeded))
                .count()
        })
        .collect();

    // Units already failed or blocked in `initial` block their dependents now.
    let mut to_block: VecDeque<(usize, usize)> = VecDeque::new();
    for i in 0..n {
        if matches!(ends[i], Some(UnitEnd::Failed | UnitEnd::Blocked)) {
            to_block.extend(dependents[i].iter().map(|&d| (d, i)));
        }
    }
    block_all(&mut to_block, &mut ends, &dependents, hooks).await;

    // Ready units ordered by key: the heaviest remaining chain first (and, under strict barriers,
    // the lowest wave before that); ties by index, so the order is deterministic.
    let remaining = schedule.remaining_path();
    let key = |i: usize| -> (usize, std::cmp::Reverse<u64>, usize) {
        let wave = match barrier {
            Barrier::Waves => schedule.waves[i],
            Barrier::Dependencies => 0,
        };
        (wave, std::cmp::Reverse(remaining[i]), i)
    };
    let mut ready: BTreeSet<(usize, std::cmp::Reverse<u64>, usize)> = (0..n)
        .filter(|&i| ends[i].is_none() && waiting[i] == 0)
        .map(key)
        .collect();
    let mut running: JoinSet<(usize, bool)> = JoinSet::new();
    let mut in_flight = 0usize;
    let mut max_concurrency = 0usize;
    let mut stopping = false;
    // For strict waves: units not yet ended per wave.
    let wave_count = schedule.waves.iter().max().map_or(0, |w| w + 1);
    let mut open_in_wave = vec![0usize; wave_count];
    for i in 0..n {
        if ends[i].is_none() {
            open_in_wave[schedule.waves[i]] += 1;
        }
    }

    loop {
        while !stopping && in_flight < max_parallel {
            let Some(&first) = ready.iter().next() else {
                break;
            };
            let unit = first.2;
            let wave = schedule.waves[unit];
            if barrier == Barrier::Waves && open_in_wave[..wave].iter().any(|&c| c > 0) {
                break;
            }
            if !hooks.keep_going() {
                stopping = true;
                break;
            }
            ready.remove(&first);
            let fut = run_unit(unit);
            running.spawn(async move { (unit, fut.await) });
            in_flight += 1;
            max_concurrency = max_concurrency.max(in_flight);
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        in_flight -= 1;
        let (unit, ok) = joined.expect("unit task panicked");
        open_in_wave[schedule.waves[unit]] -= 1;
        if ok {
            ends[unit] = Some(UnitEnd::Succeeded);
            for &d in &dependents[unit] {
                waiting[d] -= 1;
                if waiting[d] == 0 && ends[d].is_none() {
                    ready.insert(key(d));
                }
            }
        } else {
            ends[unit] = Some(UnitEnd::Failed);
            to_block.extend(dependents[unit].iter().map(|&d| (d, unit)));
            let before: Vec<bool> = ends.iter().map(Option::is_some).collect();
            block_all(&mut to_block, &mut ends, &dependents, hooks).await;
            for (i, was) in before.into_iter().enumerate() {
                if !was && ends[i].is_some() {
                    open_in_wave[schedule.waves[i]] -= 1;
                    ready.remove(&key(i));
                }
            }
        }
    }
    ScheduleReport {
        ends: ends
            .into_iter()
            .map(|e| e.unwrap_or(UnitEnd::NotStarted))
            .collect(),
        max_concurrency,
    }
}

async fn block_all<H: Hooks>(
    queue: &mut VecDeque<(usize, usize)>,
    ends: &mut [Option<UnitEnd>],
    dependents: &[Vec<usize>],
    hooks: &mut H,
) {
    while let Some((unit, cause)) = queue.pop_front() {
        if ends[unit].is_some() {
            continue;
        }
        ends[unit] = Some(UnitEnd::Blocked);
        hooks.on_blocked(unit, cause).await;
        queue.extend(dependents[unit].iter().map(|&d| (d, unit)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    struct Record(Vec<(usize, usize)>);
    impl Hooks for Record {
        async fn on_blocked(&mut self, unit: usize, cause: usize) {
            self.0.push((unit, cause));
        }
    }

    /// 0 -> 2, 1 -> 2, 2 -> 3, 1 -> 4 ; 5 independent.
    fn diamond() -> Schedule {
        Schedule {
            providers: vec![vec![], vec![], vec![0, 1], vec![2], vec![1], vec![]],
            waves: vec![0, 0, 1, 2, 1, 0],
            weights: vec![],
        }
    }

    async fn go(
        schedule: &Schedule,
        fail: &'static [usize],
        barrier: Barrier,
        max: usize,
    ) -> (ScheduleReport, Vec<usize>, Vec<(usize, usize)>) {
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut hooks = Record(Vec::new());
        let o = order.clone();
        let report = run(schedule, vec![], max, barrier, &mut hooks, move |i| {
            let o = o.clone();
            async move {
                tokio::task::yield_now().await;
                o.lock().unwrap().push(i);
                !fail.contains(&i)
            }
        })
        .await;
        let order = order.lock().unwrap().clone();
        (report, order, hooks.0)
    }

    #[tokio::test]
    async fn providers_run_before_dependents() {
        let (report, order, blocked) = go(&diamond(), &[], Barrier::Dependencies, 4).await;
        assert!(report.ends.iter().all(|e| *e == UnitEnd::Succeeded));
        let pos = |u| order.iter().position(|&x| x == u).unwrap();
        for (unit, providers) in diamond().providers.iter().enumerate() {
            for &p in providers {
                assert!(pos(p) < pos(unit), "{p} before {unit} in {order:?}");
            }
        }
        assert!(blocked.is_empty());
        assert!(report.max_concurrency >= 2);
    }

    #[tokio::test]
    async fn failure_blocks_dependents_transitively_and_others_go_on() {
        let (report, _, blocked) = go(&diamond(), &[0], Barrier::Dependencies, 2).await;
        use UnitEnd::*;
        assert_eq!(
            report.ends,
            vec![Failed, Succeeded, Blocked, Blocked, Succeeded, Succeeded]
        );
        assert_eq!(blocked, vec![(2, 0), (3, 2)]);
    }

    #[tokio::test]
    async fn concurrency_is_bounded() {
        let schedule = Schedule {
            providers: vec![vec![]; 20],
            waves: vec![0; 20],
            weights: vec![],
        };
        let (report, _, _) = go(&schedule, &[], Barrier::Dependencies, 3).await;
        assert_eq!(report.max_concurrency, 3);
    }

    #[tokio::test]
    async fn strict_waves_wait_for_the_whole_previous_wave() {
        let (report, order, _) = go(&diamond(), &[], Barrier::Waves, 4).await;
        assert!(report.ends.iter().all(|e| *e == UnitEnd::Succeeded));
        let waves: Vec<usize> = order.iter().map(|&u| diamond().waves[u]).collect();
        let mut sorted = waves.clone();
        sorted.sort();
        assert_eq!(waves, sorted, "order {order:?}");
    }

    #[test]
    fn the_heaviest_remaining_chain_goes_first() {
        let mut schedule = diamond();
        assert_eq!(schedule.remaining_path(), vec![3, 3, 2, 1, 1, 1]);
        schedule.weights = vec![1, 1, 1, 1, 10, 1];
        assert_eq!(schedule.remaining_path(), vec![3, 11, 2, 1, 10, 1]);
    }

    #[tokio::test]
    async fn resumed_runs_skip_done_units_and_honour_earlier_failures() {
        let mut hooks = Record(Vec::new());
        let started = Arc::new(Mutex::new(Vec::new()));
        let s = started.clone();
        use UnitEnd::*;
        let initial = vec![Some(Succeeded), Some(Failed), None, None, None, None];
        let report = run(
            &diamond(),
            initial,
            4,
            Barrier::Dependencies,
            &mut hooks,
            move |i| {
                s.lock().unwrap().push(i);
                async { true }
            },
        )
        .await;
        let mut started = started.lock().unwrap().clone();
        started.sort();
        assert_eq!(started, vec![5]);
        assert_eq!(
            report.ends,
            vec![Succeeded, Failed, Blocked, Blocked, Blocked, Succeeded]
        );
    }
}
