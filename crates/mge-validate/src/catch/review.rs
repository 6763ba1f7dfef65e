//! Review-queue quality: the confidence of every atom as a V2 run would score it after its
//! first attempt, the share of atoms that go to review, and the recall of faults that survived
//! every level.
//!
//! **Population.** A run at per-line fault rate `r` faults atom `a` with probability
//! `p_a = 1 − (1 − r)^lines_a`, where `lines_a` counts the lines of the atom offering a fault
//! site (the injector's own figure). Each task atom of each fixture therefore contributes a
//! clean copy with weight `1 − p_a` (every level passed, as the false-positive check asserts)
//! and faulty copies with total weight `p_a`, spread over the faults drawn on that atom: each
//! class present on the atom gets its share of the generator's default fault mix, split evenly
//! over the class's faults there. The faulty weights are then scaled so that they sum to
//! `Σ p_a` (atoms on which no fault was drawn hand their mass to the others).
//!
//! **Signals.** The level results of the run (a level after the one that failed counts as not
//! run), one attempt, and the atom's reference complexity, context completeness and atomicity
//! score; no log-probabilities (the simulated provider has none). The consistency signal comes
//! from the caller: per member, the agreement share of independent samples of the atom (drawn
//! by the benchmark with the generator's injector at the run's fault rate, under a seed of
//! their own) with the member's code, `None` when no sample passed its atomic check.
//!
//! **Figures.** The review share is the weighted share of the population scoring below the
//! threshold; the recall is the share of drawn faults that survived every level and still went
//! to review.

use std::collections::BTreeMap;
use std::fmt::Write;

use mge_atomize::Atom;
use serde::Serialize;

use super::{caught_at, Class, Fixture, Levels, Mutant};
use crate::confidence::{confidence, needs_review, ConfidenceWeights, Signals};

/// One scored member of the population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub signals: Signals,
    /// 1 when the atom is correct.
    pub correct: bool,
    pub weight: f64,
    pub score: f64,
}

/// The review figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewSummary {
    pub threshold: f64,
    pub atoms: usize,
    /// Expected share of atoms that a run faults (`Σ p_a / atoms`).
    pub faulty_share: f64,
    /// Weighted share of the population sent to review.
    pub review_share: f64,
    /// Share of clean atoms sent to review.
    pub clean_reviewed: f64,
    /// Share of faults caught at some level that are sent to review.
    pub caught_reviewed: f64,
    pub survivors: usize,
    pub survivors_reviewed: usize,
    /// Per class: (survivors, of which reviewed).
    pub survivors_by_class: BTreeMap<Class, (usize, usize)>,
}

impl ReviewSummary {
    pub fn recall(&self) -> f64 {
        if self.survivors == 0 {
            1.0
        } else {
            self.survivors_reviewed as f64 / self.survivors as f64
        }
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let pct = |x: f64| format!("{:.1}%", 100.0 * x);
        let _ = writeln!(
            s,
            "Review queue (threshold {:.4}; {} task atoms, {} of them faulty in a run):",
            self.threshold,
            self.atoms,
            pct(self.faulty_share)
        );
        let _ = writeln!(
            s,
            "  share sent to review {} (issue: 15-20%); clean atoms {}, caught faults {}",
            pct(self.review_share),
            pct(self.clean_reviewed),
            pct(self.caught_reviewed)
        );
        let _ = writeln!(
            s,
            "  recall of faults that survived every level: {}/{} = {} (target >= 80%)",
            self.survivors_reviewed,
            self.survivors,
            pct(self.recall())
        );
        for (class, (n, r)) in &self.survivors_by_class {
            let _ = writeln!(s, "    {:<18} {r}/{n}", class.as_str());
        }
        s
    }
}

fn signals_of(atom: &Atom, levels: Levels, consistency: Option<f64>) -> Signals {
    Signals {
        atomic: levels[0],
        module: levels[1],
        component: levels[2],
        system: levels[3],
        attempts: 1,
        complexity: atom.complexity,
        context_completeness: atom.context_completeness,
        atomicity: atom.atomicity.score,
        mean_logprob: None,
        consistency,
    }
}

/// The consistency signal of every member of the population: `clean[f][t][a]` for the clean
/// copy of atom `a` of the `t`-th task target of fixture `f`, `mutants[i]` for mutant `i`.
/// Empty vectors mean no samples were drawn (every member gets `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Consistency {
    pub clean: Vec<Vec<Vec<Option<f64>>>>,
    pub mutants: Vec<Option<f64>>,
}

impl Consistency {
    fn clean(&self, f: usize, t: usize, a: usize) -> Option<f64> {
        self.clean.get(f)?.get(t)?.get(a).copied().flatten()
    }

    fn mutant(&self, i: usize) -> Option<f64> {
        self.mutants.get(i).copied().flatten()
    }
}

/// The weighted population (see the module documentation). `fault_probability[f][t][a]` is
/// `p_a` for atom `a` of the `t`-th task target of fixture `f`; `mix` gives each class its
/// weight in the generator's default fault mix.
pub fn population(
    fixtures: &[Fixture],
    fault_probability: &[Vec<Vec<f64>>],
    mutants: &[Mutant],
    levels: &[Levels],
    mix: &BTreeMap<Class, f64>,
    weights: &ConfidenceWeights,
    consistency: &Consistency,
) -> (Vec<Scored>, Vec<Option<usize>>) {
    let mut out = Vec::new();
    let mut total_p = 0.0;
    // Faults per (fixture, file, atom) and class.
    let mut drawn: BTreeMap<(usize, usize, usize), BTreeMap<Class, Vec<usize>>> = BTreeMap::new();
    for (i, m) in mutants.iter().enumerate() {
        drawn
            .entry((m.fixture, m.file, m.atom))
            .or_default()
            .entry(m.class)
            .or_default()
            .push(i);
    }
    let all_pass = [Some(true); 4];
    for (f, fx) in fixtures.iter().enumerate() {
        for (t, &file) in fx.targets.iter().enumerate() {
            for (a, atom) in fx.files[file].atoms.iter().enumerate() {
                let p = fault_probability
                    .get(f)
                    .and_then(|x| x.get(t))
                    .and_then(|x| x.get(a))
                    .copied()
                    .unwrap_or(0.0);
                total_p += p;
                let s = signals_of(atom, all_pass, consistency.clean(f, t, a));
                out.push(Scored {
                    signals: s,
                    correct: true,
                    weight: 1.0 - p,
                    score: confidence(&s, weights),
                });
            }
        }
    }
    let clean = out.len();
    let mut member = vec![None; mutants.len()];
    let mut faulty_weight = 0.0;
    for (&(f, file, a), classes) in &drawn {
        let t = fixtures[f].targets.iter().position(|&x| x == file);
        let p = t
            .and_then(|t| fault_probability.get(f)?.get(t)?.get(a).copied())
            .unwrap_or(0.0);
        let mix_sum: f64 = classes
            .keys()
            .map(|c| mix.get(c).copied().unwrap_or(0.0))
            .sum();
        for (class, idx) in classes {
            let share = if mix_sum > 0.0 {
                mix.get(class).copied().unwrap_or(0.0) / mix_sum
            } else {
                1.0 / classes.len() as f64
            };
            for &i in idx {
                let atom = &fixtures[f].files[file].atoms[a];
                let s = signals_of(atom, levels[i], consistency.mutant(i));
                let w = p * share / idx.len() as f64;
                faulty_weight += w;
                member[i] = Some(out.len());
                out.push(Scored {
                    signals: s,
                    correct: false,
                    weight: w,
                    score: confidence(&s, weights),
                });
            }
        }
    }
    if faulty_weight > 0.0 {
        let scale = total_p / faulty_weight;
        for s in &mut out[clean..] {
            s.weight *= scale;
        }
    }
    (out, member)
}

/// The review figures of a population at the weights' threshold.
pub fn summarize(
    population: &[Scored],
    member: &[Option<usize>],
    mutants: &[Mutant],
    levels: &[Levels],
    weights: &ConfidenceWeights,
) -> ReviewSummary {
    let reviewed = |s: &Scored| needs_review(s.score, weights);
    let wsum = |pred: &dyn Fn(&Scored) -> bool| -> (f64, f64) {
        population
            .iter()
            .filter(|s| pred(s))
            .fold((0.0, 0.0), |(all, r), s| {
                (all + s.weight, r + if reviewed(s) { s.weight } else { 0.0 })
            })
    };
    let ratio = |(all, r): (f64, f64)| if all > 0.0 { r / all } else { 0.0 };
    let atoms = population.iter().filter(|s| s.correct).count();
    let (total, total_reviewed) = wsum(&|_| true);
    let (faulty, _) = wsum(&|s| !s.correct);
    let mut summary = ReviewSummary {
        threshold: weights.review_threshold,
        atoms,
        faulty_share: if total > 0.0 { faulty / total } else { 0.0 },
        review_share: ratio((total, total_reviewed)),
        clean_reviewed: ratio(wsum(&|s| s.correct)),
        caught_reviewed: 0.0,
        survivors: 0,
        survivors_reviewed: 0,
        survivors_by_class: BTreeMap::new(),
    };
    let (mut caught, mut caught_rev) = (0usize, 0usize);
    for (i, m) in mutants.iter().enumerate() {
        let Some(s) = member[i].map(|j| &population[j]) else {
            continue;
        };
        let r = reviewed(s);
        if caught_at(&levels[i]).is_some() {
            caught += 1;
            caught_rev += usize::from(r);
        } else {
            summary.survivors += 1;
            summary.survivors_reviewed += usize::from(r);
            let e = summary.survivors_by_class.entry(m.class).or_default();
            e.0 += 1;
            e.1 += usize::from(r);
        }
    }
    summary.caught_reviewed = if caught == 0 {
        0.0
    } else {
        caught_rev as f64 / caught as f64
    };
    summary
}

/// The population as the CSV `scripts/fit_confidence.py` reads (label 1 = correct; `weight`
/// per row).
pub fn to_csv(population: &[Scored]) -> String {
    let mut s = String::from(
        "atomic,module,component,system,attempts,complexity,context_completeness,atomicity,mean_logprob,consistency,label,weight\n",
    );
    let lv = |v: Option<bool>| match v {
        Some(true) => "pass",
        Some(false) => "fail",
        None => "",
    };
    for p in population {
        let g = &p.signals;
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{:.6},{:.6},,{},{},{:.9}",
            lv(g.atomic),
            lv(g.module),
            lv(g.component),
            lv(g.system),
            g.attempts,
            g.complexity,
            g.context_completeness,
            g.atomicity,
            g.consistency.map_or(String::new(), |c| format!("{c:.6}")),
            u8::from(p.correct),
            p.weight
        );
    }
    s
}
