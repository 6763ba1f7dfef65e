//! Automatic rollback trigger driven by injected failures and slow units.

use expect_test::expect;
use mge_rollout::names::*;
use mge_rollout::{
    FlagSet, RandomSource, SlidingWindow, SplitMix64, TriggerKind, UnitOutcome, WindowSettings,
};

fn feed(w: &mut SlidingWindow, outcomes: impl IntoIterator<Item = UnitOutcome>) -> Vec<usize> {
    // Indices (0-based, in this batch) of the outcomes that tripped the window.
    outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(i, o)| w.record(o).map(|_| i))
        .collect()
}

#[test]
fn eleven_failures_in_the_last_200_trip_ten_do_not() {
    let mut w = SlidingWindow::new(WindowSettings::default());
    assert!(feed(&mut w, (0..190).map(|_| UnitOutcome::success(40))).is_empty());
    assert!(feed(&mut w, (0..10).map(|_| UnitOutcome::failure(40))).is_empty());
    assert_eq!(
        w.stats().failure_rate,
        0.05,
        "exactly at the limit does not trip"
    );
    let trigger = w
        .record(UnitOutcome::failure(40))
        .expect("11th failure trips");
    assert_eq!(trigger.kind, TriggerKind::FailureRate);
    assert_eq!(trigger.samples, 200);
    expect!["automatic rollback: 11 of the last 200 V2 units failed (5.5%), above the 5.0% limit"]
        .assert_eq(&trigger.reason);
    assert_eq!(w.tripped(), Some(&trigger));
}

#[test]
fn trips_once_until_rearmed_and_old_failures_slide_out() {
    let mut w = SlidingWindow::new(WindowSettings::default());
    let trips = feed(&mut w, (0..400).map(|_| UnitOutcome::failure(10)));
    assert_eq!(trips, vec![49], "trips at min_samples, then stays quiet");
    assert_eq!(w.stats().samples, 200, "the window keeps only the last 200");
    assert_eq!(w.stats().failures, 200);

    w.rearm();
    assert!(w.tripped().is_none());
    assert_eq!(w.stats().samples, 0);
    // 5% failures spread evenly (1 in 20) never trip, however long the stream runs.
    let steady = (0..10_000).map(|i| {
        if i % 20 == 19 {
            UnitOutcome::failure(10)
        } else {
            UnitOutcome::success(10)
        }
    });
    assert!(feed(&mut w, steady).is_empty());
    // A burst trips again.
    let trips = feed(&mut w, (0..20).map(|_| UnitOutcome::failure(10)));
    assert_eq!(trips.len(), 1);
}

#[test]
fn min_samples_ignores_an_early_handful() {
    let mut w = SlidingWindow::new(WindowSettings::default());
    assert!(feed(&mut w, (0..2).map(|_| UnitOutcome::failure(5))).is_empty());
    let trips = feed(&mut w, (0..300).map(|_| UnitOutcome::success(5)));
    assert!(trips.is_empty(), "2 of 50 is 4%, and less from then on");

    let mut early = SlidingWindow::new(WindowSettings::default());
    let mut stream = vec![UnitOutcome::failure(5); 3];
    stream.extend(vec![UnitOutcome::success(5); 47]);
    assert_eq!(
        feed(&mut early, stream),
        vec![49],
        "3 of 50 is 6%: trips at the 50th unit"
    );
}

#[test]
fn slow_units_trip_the_p99_check() {
    let settings = WindowSettings {
        p99_latency_ms: 5_000,
        ..WindowSettings::default()
    };
    let mut w = SlidingWindow::new(settings);
    assert!(feed(&mut w, (0..198).map(|_| UnitOutcome::success(100))).is_empty());
    // Nearest-rank p99 of 200 is the 198th smallest: two slow units are not enough, a third is.
    assert!(feed(&mut w, (0..2).map(|_| UnitOutcome::success(9_000))).is_empty());
    assert_eq!(w.stats().p99_latency_ms, Some(100));
    let trigger = w
        .record(UnitOutcome::success(9_000))
        .expect("third slow unit trips");
    assert_eq!(trigger.kind, TriggerKind::P99Latency);
    assert_eq!((trigger.observed, trigger.threshold), (9_000.0, 5_000.0));
    expect!["automatic rollback: p99 latency of the last 200 V2 units is 9000 ms, above the 5000 ms limit"]
        .assert_eq(&trigger.reason);

    let mut off = SlidingWindow::new(WindowSettings {
        p99_latency_ms: 0,
        ..settings
    });
    assert!(feed(&mut off, (0..300).map(|_| UnitOutcome::success(1_000_000))).is_empty());
}

#[test]
fn seeded_fault_injection_trips_high_rates_only() {
    let run = |rate_percent: u32, seed: u64| {
        let mut rng = SplitMix64::new(seed);
        let mut w = SlidingWindow::new(WindowSettings::default());
        (0..5_000).find_map(|i| {
            let failed = rng.percent() <= rate_percent;
            w.record(UnitOutcome {
                success: !failed,
                latency_ms: 20,
            })
            .map(|t| (i, t))
        })
    };
    for seed in 0..10 {
        assert!(run(0, seed).is_none());
        let (at, trigger) = run(25, seed).expect("25% failures trip");
        assert_eq!(
            at, 49,
            "seed {seed}: trips as soon as min_samples is reached"
        );
        assert!(trigger.observed > 0.05);
        let (at, _) = run(12, seed).expect("12% failures trip");
        assert!(at < 300, "seed {seed}: tripped late, at {at}");
    }
}

#[test]
fn settings_come_from_flags() {
    let mut flags = FlagSet::defaults();
    assert_eq!(
        WindowSettings::from_flags(&flags),
        WindowSettings::default()
    );
    flags.set(V2_AUTO_ROLLBACK_WINDOW, "20").unwrap();
    flags.set(V2_AUTO_ROLLBACK_MIN_SAMPLES, "50").unwrap();
    flags.set(V2_AUTO_ROLLBACK_MAX_FAILURE_RATE, "0.1").unwrap();
    flags.set(V2_AUTO_ROLLBACK_P99_LATENCY_MS, "0").unwrap();
    let s = WindowSettings::from_flags(&flags);
    assert_eq!(
        s,
        WindowSettings {
            window: 20,
            min_samples: 20,
            max_failure_rate: 0.1,
            p99_latency_ms: 0
        }
    );
    let mut w = SlidingWindow::new(s);
    let mut stream = vec![UnitOutcome::success(1); 18];
    stream.extend([UnitOutcome::failure(1); 3]);
    // 2 of 20 is 10% (not above), 3 of 20 is 15%.
    assert_eq!(feed(&mut w, stream), vec![20]);
}

proptest::proptest! {
    /// The window trips at the first outcome where a from-scratch computation over the last
    /// `window` outcomes says it should.
    #[test]
    fn trips_where_a_naive_recount_says_so(
        outcomes in proptest::collection::vec((proptest::bool::weighted(0.9), 0u64..1_000), 1..400),
        window in 1usize..120,
        min_samples in 1usize..120,
        max_rate in 0.0f64..0.5,
        p99_limit in 0u64..1_100,
    ) {
        let settings = WindowSettings { window, min_samples, max_failure_rate: max_rate, p99_latency_ms: p99_limit };
        let mut w = SlidingWindow::new(settings);
        let min_samples = min_samples.min(window);
        let outcomes: Vec<UnitOutcome> =
            outcomes.into_iter().map(|(success, latency_ms)| UnitOutcome { success, latency_ms }).collect();
        let naive = (0..outcomes.len()).find(|&i| {
            let held = &outcomes[(i + 1).saturating_sub(window)..=i];
            if held.len() < min_samples {
                return false;
            }
            let rate = held.iter().filter(|o| !o.success).count() as f64 / held.len() as f64;
            let mut lat: Vec<u64> = held.iter().map(|o| o.latency_ms).collect();
            lat.sort_unstable();
            let p99 = lat[(held.len() * 99).div_ceil(100) - 1];
            rate > max_rate || (p99_limit > 0 && p99 > p99_limit)
        });
        let trips = feed(&mut w, outcomes);
        proptest::prop_assert_eq!(trips.first().copied(), naive);
        proptest::prop_assert!(trips.len() <= 1);
    }
}
