//! The automatic rollback trigger: a sliding window over the outcomes of V2 units.
//!
//! The window keeps the last `window` unit outcomes (success or failure, and latency). After each
//! [`SlidingWindow::record`], once the window holds at least `min_samples` outcomes, it trips when
//!
//! - the failure rate `failed / held` is **strictly greater** than `max_failure_rate`
//!   (defaults: 200 units, 0.05, so 11 failures among the last 200 trip and 10 do not; while fewer
//!   than 200 are held, the same rate applies to what is held, from 50 units on), or
//! - the p99 latency (nearest rank: the `ceil(0.99 * held)`-th smallest latency) is strictly greater
//!   than `p99_latency_ms` (default 120 000 ms; 0 disables the check).
//!
//! The failure rate is checked first. `min_samples` (default 50) keeps a handful of early failures
//! from rolling everything back: 1 failure among the first 3 units is 33% but says little.
//!
//! The window trips **once**: `record` returns the [`Trigger`] the first time and `None` afterwards,
//! so one bad streak causes one rollback. [`SlidingWindow::rearm`] (after the operator re-enables V2)
//! clears the window and allows the next trip; outcomes recorded while tripped are still kept, so
//! [`SlidingWindow::stats`] stays truthful. The window counts units, not seconds: no clock is read.

use std::collections::VecDeque;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::flags::FlagSet;

/// Settings of the trigger (from flags `V2_AUTO_ROLLBACK_*`, see [`WindowSettings::from_flags`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowSettings {
    /// Outcomes kept (the most recent ones).
    pub window: usize,
    /// Outcomes the window must hold before it may trip.
    pub min_samples: usize,
    /// Trip when `failed / held > max_failure_rate`.
    pub max_failure_rate: f64,
    /// Trip when the p99 latency exceeds this many milliseconds; 0 disables the check.
    pub p99_latency_ms: u64,
}

impl Default for WindowSettings {
    fn default() -> Self {
        WindowSettings {
            window: 200,
            min_samples: 50,
            max_failure_rate: 0.05,
            p99_latency_ms: 120_000,
        }
    }
}

impl WindowSettings {
    /// The settings held by `flags`; `min_samples` is capped at `window` so the window can trip.
    pub fn from_flags(flags: &FlagSet) -> Self {
        let (window, min_samples, max_failure_rate, p99_latency_ms) = flags.auto_rollback_numbers();
        WindowSettings {
            window,
            min_samples: min_samples.min(window),
            max_failure_rate,
            p99_latency_ms,
        }
    }
}

/// The outcome of one V2 unit (an atom execution, retries included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitOutcome {
    pub success: bool,
    pub latency_ms: u64,
}

impl UnitOutcome {
    pub fn success(latency_ms: u64) -> Self {
        UnitOutcome {
            success: true,
            latency_ms,
        }
    }

    pub fn failure(latency_ms: u64) -> Self {
        UnitOutcome {
            success: false,
            latency_ms,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    FailureRate,
    P99Latency,
}

/// Why the window tripped; `reason` is the text recorded as the rollback's reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    pub kind: TriggerKind,
    /// The failure rate (0..=1) or the p99 latency in ms.
    pub observed: f64,
    pub threshold: f64,
    /// Outcomes held when it tripped.
    pub samples: usize,
    pub reason: String,
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// What the window holds now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowStats {
    pub samples: usize,
    pub failures: usize,
    pub failure_rate: f64,
    /// `None` while the window is empty.
    pub p99_latency_ms: Option<u64>,
}

/// The sliding window (rules in the module documentation).
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    settings: WindowSettings,
    outcomes: VecDeque<UnitOutcome>,
    failures: usize,
    /// Outcomes held whose latency exceeds `p99_latency_ms` (kept so a record costs O(1)).
    slow: usize,
    tripped: Option<Trigger>,
}

impl SlidingWindow {
    pub fn new(settings: WindowSettings) -> Self {
        let settings = WindowSettings {
            window: settings.window.max(1),
            min_samples: settings.min_samples.clamp(1, settings.window.max(1)),
            ..settings
        };
        SlidingWindow {
            outcomes: VecDeque::with_capacity(settings.window),
            settings,
            failures: 0,
            slow: 0,
            tripped: None,
        }
    }

    pub fn settings(&self) -> WindowSettings {
        self.settings
    }

    /// Adds one outcome; returns the trigger when this outcome trips the window (once).
    pub fn record(&mut self, outcome: UnitOutcome) -> Option<Trigger> {
        if self.outcomes.len() == self.settings.window {
            if let Some(old) = self.outcomes.pop_front() {
                self.failures -= usize::from(!old.success);
                self.slow -= usize::from(self.is_slow(&old));
            }
        }
        self.failures += usize::from(!outcome.success);
        self.slow += usize::from(self.is_slow(&outcome));
        self.outcomes.push_back(outcome);

        if self.tripped.is_some() || self.outcomes.len() < self.settings.min_samples {
            return None;
        }
        let trigger = self.check()?;
        self.tripped = Some(trigger.clone());
        Some(trigger)
    }

    fn is_slow(&self, outcome: &UnitOutcome) -> bool {
        self.settings.p99_latency_ms > 0 && outcome.latency_ms > self.settings.p99_latency_ms
    }

    fn check(&self) -> Option<Trigger> {
        let held = self.outcomes.len();
        let failure_rate = self.failures as f64 / held as f64;
        // The p99 (rank-th smallest) exceeds the limit iff fewer than `rank` latencies are within it.
        let rank = (held * 99).div_ceil(100);
        let too_slow = self.settings.p99_latency_ms > 0 && held - self.slow < rank;
        if failure_rate <= self.settings.max_failure_rate && !too_slow {
            return None;
        }
        let stats = self.stats();
        let s = &self.settings;
        if stats.failure_rate > s.max_failure_rate {
            return Some(Trigger {
                kind: TriggerKind::FailureRate,
                observed: stats.failure_rate,
                threshold: s.max_failure_rate,
                samples: stats.samples,
                reason: format!(
                    "automatic rollback: {} of the last {} V2 units failed ({:.1}%), above the {:.1}% limit",
                    stats.failures,
                    stats.samples,
                    stats.failure_rate * 100.0,
                    s.max_failure_rate * 100.0
                ),
            });
        }
        let p99 = stats.p99_latency_ms?;
        if s.p99_latency_ms > 0 && p99 > s.p99_latency_ms {
            return Some(Trigger {
                kind: TriggerKind::P99Latency,
                observed: p99 as f64,
                threshold: s.p99_latency_ms as f64,
                samples: stats.samples,
                reason: format!(
                    "automatic rollback: p99 latency of the last {} V2 units is {} ms, above the {} ms limit",
                    stats.samples, p99, s.p99_latency_ms
                ),
            });
        }
        None
    }

    /// The trigger that tripped the window, if it has tripped and not been re-armed.
    pub fn tripped(&self) -> Option<&Trigger> {
        self.tripped.as_ref()
    }

    /// Clears the window and allows it to trip again.
    pub fn rearm(&mut self) {
        self.outcomes.clear();
        self.failures = 0;
        self.slow = 0;
        self.tripped = None;
    }

    pub fn stats(&self) -> WindowStats {
        let samples = self.outcomes.len();
        WindowStats {
            samples,
            failures: self.failures,
            failure_rate: if samples == 0 {
                0.0
            } else {
                self.failures as f64 / samples as f64
            },
            p99_latency_ms: p99(self.outcomes.iter().map(|o| o.latency_ms)),
        }
    }
}

/// Nearest-rank 99th percentile: the `ceil(0.99 * n)`-th smallest value.
fn p99(values: impl Iterator<Item = u64>) -> Option<u64> {
    let mut v: Vec<u64> = values.collect();
    if v.is_empty() {
        return None;
    }
    let rank = (v.len() * 99).div_ceil(100); // in 1..=n
    let (_, nth, _) = v.select_nth_unstable(rank - 1);
    Some(*nth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p99_is_nearest_rank() {
        assert_eq!(p99(std::iter::empty()), None);
        assert_eq!(p99([7].into_iter()), Some(7));
        assert_eq!(p99((1..=100).rev()), Some(99));
        assert_eq!(p99(1..=200), Some(198));
        assert_eq!(p99(1..=50), Some(50));
    }
}
