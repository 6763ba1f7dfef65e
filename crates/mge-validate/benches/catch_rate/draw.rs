//! Drawing the benchmark's faults with the simulated generator's injector: exactly one fault of
//! a class per mutant, on a line drawn uniformly among every line of the fixtures' task atoms
//! offering a site of that class, deterministically from the seed.

use std::collections::{BTreeMap, HashMap};

use mge_generate::simulated::{call_seed, FaultClass, FaultMix, FaultSites, SplitMix64};
use mge_validate::atomic::{AtomInput, AtomLimits, AtomicContext};
use mge_validate::catch::review::Consistency;
use mge_validate::catch::{Class, Fixture, Mutant};
use mge_validate::consistency::{agreement, agrees};

/// The injector's sites of one task atom.
pub struct AtomSites {
    pub fixture: usize,
    /// Index into the fixture's files.
    pub file: usize,
    pub atom: usize,
    pub sites: FaultSites,
    /// Rows offering a site of each class, in the order of [`Class::ALL`].
    pub rows: [usize; 4],
}

pub fn injector_class(class: Class) -> FaultClass {
    match class {
        Class::Syntax => FaultClass::Syntax,
        Class::MisspelledName => FaultClass::MisspelledIdentifier,
        Class::ArityOrImport => FaultClass::ArityOrImport,
        Class::Logic => FaultClass::Logic,
    }
}

/// The sites of every atom of every task target.
pub fn atom_sites(fixtures: &[Fixture]) -> Vec<AtomSites> {
    let mut out = Vec::new();
    for (f, fx) in fixtures.iter().enumerate() {
        for &file in &fx.targets {
            let af = &fx.files[file];
            let source = fx.project.get(&af.path).unwrap_or("");
            for (a, atom) in af.atoms.iter().enumerate() {
                let sites = FaultSites::new(&source[atom.start_byte..atom.end_byte], af.language);
                let rows = Class::ALL.map(|c| sites.rows_with(injector_class(c)));
                out.push(AtomSites {
                    fixture: f,
                    file,
                    atom: a,
                    sites,
                    rows,
                });
            }
        }
    }
    out
}

/// `p_a = 1 − (1 − rate)^lines_a` per fixture, task target and atom, with `lines_a` the atom's
/// lines offering any fault site.
pub fn fault_probability(
    fixtures: &[Fixture],
    sites: &[AtomSites],
    rate: f64,
) -> Vec<Vec<Vec<f64>>> {
    let mut out: Vec<Vec<Vec<f64>>> = fixtures
        .iter()
        .map(|fx| {
            fx.targets
                .iter()
                .map(|&t| vec![0.0; fx.files[t].atoms.len()])
                .collect()
        })
        .collect();
    for s in sites {
        let t = fixtures[s.fixture]
            .targets
            .iter()
            .position(|&x| x == s.file)
            .unwrap_or(0);
        let lines = s.sites.eligible_lines();
        out[s.fixture][t][s.atom] =
            1.0 - (1.0 - rate).powi(i32::try_from(lines).unwrap_or(i32::MAX));
    }
    out
}

/// The default fault mix of the generator, by class.
pub fn default_mix() -> BTreeMap<Class, f64> {
    let mix = FaultMix::default();
    Class::ALL
        .iter()
        .map(|&c| (c, mix.weight(injector_class(c))))
        .collect()
}

/// `n` mutants of `class`: mutant `i` is seeded from `(seed, class, i)` alone.
pub fn draw(sites: &[AtomSites], class: Class, n: usize, seed: u64) -> Vec<Mutant> {
    let k = Class::ALL.iter().position(|&c| c == class).unwrap_or(0);
    let total: usize = sites.iter().map(|s| s.rows[k]).sum();
    let mut out = Vec::with_capacity(n);
    if total == 0 {
        return out;
    }
    for i in 0..n {
        let attempt = u32::try_from(i).unwrap_or(u32::MAX);
        let mut rng = SplitMix64::new(call_seed(seed, class.as_str(), attempt));
        let mut x = rng.below(total);
        let Some(s) = sites.iter().find(|s| {
            if x < s.rows[k] {
                true
            } else {
                x -= s.rows[k];
                false
            }
        }) else {
            continue;
        };
        let Some(injection) = s.sites.inject_one(injector_class(class), &mut rng) else {
            continue;
        };
        let Some(fault) = injection.faults.first() else {
            continue;
        };
        out.push(Mutant {
            fixture: s.fixture,
            file: s.file,
            atom: s.atom,
            generated: injection.code,
            class,
            kind: fault.kind.as_str(),
            change: format!(
                "line {}: '{}' -> '{}'",
                fault.line, fault.original, fault.replacement
            ),
        });
    }
    out
}

/// The consistency signal of every member of the review population: for each member,
/// `samples` independent samples of its atom drawn with the injector at per-line fault rate
/// `rate` (each from a seed of its own, derived from `seed`, the fixture, the atom, the member
/// and the sample number), compared token by token with the member's code; a sample failing
/// the atomic check does not count (see `mge_validate::consistency`).
pub fn consistency(
    fixtures: &[Fixture],
    sites: &[AtomSites],
    mutants: &[Mutant],
    rate: f64,
    seed: u64,
    samples: u32,
) -> Result<Consistency, String> {
    if samples == 0 {
        return Ok(Consistency::default());
    }
    let contexts: Vec<AtomicContext> = fixtures.iter().map(Fixture::atomic_context).collect();
    let by_atom: HashMap<(usize, usize, usize), &AtomSites> = sites
        .iter()
        .map(|s| ((s.fixture, s.file, s.atom), s))
        .collect();
    let share = |f: usize, file: usize, a: usize, code: &str, member: &str| {
        let Some(s) = by_atom.get(&(f, file, a)) else {
            return Ok(None);
        };
        let fx = &fixtures[f];
        let af = &fx.files[file];
        let atom = &af.atoms[a];
        let base = fx.project.get(&af.path).unwrap_or("");
        let reference = &base[atom.start_byte..atom.end_byte];
        let mut outcomes = Vec::new();
        for k in 0..samples {
            let unit = format!("consistency:{}:{}:{member}", fx.name, atom.id);
            let mut rng = SplitMix64::new(call_seed(seed, &unit, k + 1));
            let sample = s.sites.inject(rate, &FaultMix::default(), &mut rng).code;
            // The unmodified reference passes every level (the false-positive check).
            let counts = sample == reference
                || contexts[f]
                    .validate(&AtomInput {
                        path: &af.path,
                        language: af.language,
                        base_source: base,
                        range: atom.start_byte..atom.end_byte,
                        generated: &sample,
                        expected: atom,
                        plan_files: &fx.files,
                        context_names: &[],
                        limits: AtomLimits::default(),
                    })
                    .map_err(|e| e.to_string())?
                    .passed;
            outcomes.push(counts.then(|| agrees(&sample, code, &af.path, af.language)));
        }
        Ok::<_, String>(agreement(&outcomes))
    };
    let mut out = Consistency::default();
    for (f, fx) in fixtures.iter().enumerate() {
        let mut per_target = Vec::new();
        for &file in &fx.targets {
            let af = &fx.files[file];
            let base = fx.project.get(&af.path).unwrap_or("");
            let mut per_atom = Vec::new();
            for (a, atom) in af.atoms.iter().enumerate() {
                per_atom.push(share(
                    f,
                    file,
                    a,
                    &base[atom.start_byte..atom.end_byte],
                    "clean",
                )?);
            }
            per_target.push(per_atom);
        }
        out.clean.push(per_target);
    }
    for (i, m) in mutants.iter().enumerate() {
        out.mutants.push(share(
            m.fixture,
            m.file,
            m.atom,
            &m.generated,
            &format!("mutant{i}"),
        )?);
    }
    Ok(out)
}
