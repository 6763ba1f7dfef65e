//! The catch-rate benchmark's machinery on a small draw: faults are drawn deterministically
//! with one fault of the requested class each, levels run in order and stop at the first
//! failure, identical projects are validated once, and the tallies and review figures add up.

#[path = "../benches/catch_rate/draw.rs"]
mod draw;

use std::collections::HashMap;
use std::path::Path;

use mge_validate::catch::{self, caught_at, review, tally::Tally, Class, Fixture, Levels, Mutant};
use mge_validate::confidence::ConfidenceWeights;

fn fixtures() -> Vec<Fixture> {
    Fixture::load_all(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plans"))
        .expect("fixture plans")
}

fn reference_atom<'a>(fx: &'a [Fixture], m: &Mutant) -> &'a str {
    let f = &fx[m.fixture];
    let file = &f.files[m.file];
    let a = &file.atoms[m.atom];
    &f.project.get(&file.path).unwrap()[a.start_byte..a.end_byte]
}

#[test]
fn small_draw_runs_every_level_in_order_and_tallies() {
    let fx = fixtures();
    assert_eq!(fx.len(), 7);
    let sites = draw::atom_sites(&fx);
    let mut mutants = Vec::new();
    for class in Class::ALL {
        let drawn = draw::draw(&sites, class, 4, 11);
        assert_eq!(drawn.len(), 4, "{class:?}");
        // Deterministic by seed; another seed draws other faults.
        let again = draw::draw(&sites, class, 4, 11);
        assert!(drawn
            .iter()
            .zip(&again)
            .all(|(a, b)| (a.fixture, a.file, a.atom, &a.generated)
                == (b.fixture, b.file, b.atom, &b.generated)));
        let other = draw::draw(&sites, class, 4, 12);
        assert!(drawn
            .iter()
            .zip(&other)
            .any(|(a, b)| a.generated != b.generated));
        for m in &drawn {
            assert_eq!(m.class, class);
            assert_ne!(
                m.generated,
                reference_atom(&fx, m),
                "{class:?} changed nothing"
            );
            // Every mutated atom lies in a task target.
            assert!(fx[m.fixture].targets.contains(&m.file));
        }
        mutants.extend(drawn);
    }
    // A duplicate is validated once.
    mutants.push(mutants[0].clone());

    let limits = catch::bench_limits();
    let mut cache = HashMap::new();
    let (levels, stats) = catch::evaluate_all(&fx, &mutants, &limits, 2, &mut cache, None).unwrap();
    assert_eq!(stats.mutants, 17);
    assert_eq!(stats.distinct, 16);
    assert_eq!(stats.evaluated, 16);
    assert_eq!(levels[16], levels[0]);
    for (m, l) in mutants.iter().zip(&levels) {
        // Levels run in order and stop at the first failure.
        let first = caught_at(l);
        for (k, v) in l.iter().enumerate() {
            match first {
                Some(c) if k < c => assert_eq!(*v, Some(true)),
                Some(c) if k == c => assert_eq!(*v, Some(false)),
                Some(_) => assert_eq!(*v, None),
                None => assert_eq!(*v, Some(true)),
            }
        }
        // A dropped bracket or block colon never parses.
        if m.class == Class::Syntax {
            assert_eq!(first, Some(0), "{}", m.generated);
        }
    }
    // The second run takes everything from the cache.
    let (again, stats) = catch::evaluate_all(&fx, &mutants, &limits, 2, &mut cache, None).unwrap();
    assert_eq!((stats.evaluated, again), (0, levels.clone()));

    let tally = Tally::new(&mutants, &levels);
    assert_eq!(tally.all.faults, 17);
    assert_eq!(
        tally.all.first.iter().sum::<usize>() + tally.all.survived,
        17
    );
    assert_eq!(tally.by_class[&Class::Syntax].cumulative()[0], 1.0);
    assert!((tally.all.cumulative()[3] - (17 - tally.all.survived) as f64 / 17.0).abs() < 1e-12);
    let table = tally.render();
    assert!(
        table.contains("all classes") && table.contains("seed target"),
        "{table}"
    );

    let weights = ConfidenceWeights::builtin();
    let p = draw::fault_probability(&fx, &sites, 0.02);
    let consistency = draw::consistency(&fx, &sites, &mutants, 0.02, 1, 1).unwrap();
    // Every mutant differs from the reference it was drawn from: a sample that counts agrees
    // with it only when it carries the very same fault.
    assert_eq!(consistency.mutants.len(), mutants.len());
    let agreeing = consistency
        .mutants
        .iter()
        .flatten()
        .filter(|c| **c > 0.5)
        .count();
    assert!(agreeing <= 1, "{agreeing} mutants agree with their sample");
    let clean: Vec<f64> = consistency
        .clean
        .iter()
        .flatten()
        .flatten()
        .flatten()
        .copied()
        .collect();
    assert!(clean.len() > 500, "{}", clean.len());
    let clean_agree = clean.iter().filter(|c| **c > 0.5).count() as f64 / clean.len() as f64;
    assert!(clean_agree > 0.8, "{clean_agree}");
    let (population, member) = review::population(
        &fx,
        &p,
        &mutants,
        &levels,
        &draw::default_mix(),
        &weights,
        &consistency,
    );
    let atoms: usize = fx
        .iter()
        .map(|f| {
            f.targets
                .iter()
                .map(|&t| f.files[t].atoms.len())
                .sum::<usize>()
        })
        .sum();
    // One row per atom plus one per drawn fault; the weights sum to the number of atoms.
    assert_eq!(population.len(), atoms + mutants.len());
    let total: f64 = population.iter().map(|s| s.weight).sum();
    assert!((total - atoms as f64).abs() < 1e-6, "{total} vs {atoms}");
    let s = review::summarize(&population, &member, &mutants, &levels, &weights);
    assert!((0.0..=1.0).contains(&s.review_share));
    assert_eq!(s.survivors, tally.all.survived);
    assert!(s.faulty_share > 0.0 && s.faulty_share < 0.5);
    let csv = review::to_csv(&population);
    assert_eq!(csv.lines().count(), population.len() + 1);
    assert!(csv.starts_with("atomic,module,component,system,attempts,complexity,context_completeness,atomicity,mean_logprob,consistency,label,weight\n"));
    let none = draw::consistency(&fx, &sites, &mutants, 0.02, 1, 0).unwrap();
    assert_eq!(none, review::Consistency::default());
}

#[test]
fn the_unmodified_reference_raises_nothing_at_any_level() {
    let fx = fixtures();
    let limits = catch::bench_limits();
    // One Python and one JavaScript plan here; tests/reference.rs covers every fixture level by
    // level, and the benchmark asserts it for all seven before it draws.
    for f in fx
        .iter()
        .filter(|f| f.name == "textstats" || f.name == "kvstore")
    {
        assert_eq!(
            catch::false_positives(f, &limits).unwrap(),
            Vec::<String>::new()
        );
    }
    // A mutant that puts the reference back is no fault at all.
    let f = &fx[0];
    let file = f.targets[0];
    let a = &f.files[file].atoms[0];
    let same: Levels = catch::evaluate(
        f,
        &Mutant {
            fixture: 0,
            file,
            atom: 0,
            generated: f.project.get(&f.files[file].path).unwrap()[a.start_byte..a.end_byte]
                .to_string(),
            class: Class::Logic,
            kind: "none",
            change: String::new(),
        },
        &limits,
    )
    .unwrap();
    assert_eq!(same, [Some(true); 4]);
}
