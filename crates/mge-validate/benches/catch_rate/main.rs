//! Catch-rate benchmark of the four validation levels (issue: hierarchical validation).
//!
//! Draws `--faults-per-kind` faults of each class (syntax, misspelled name, wrong arity or
//! imported name, logic) with the simulated generator's injector, one fault per mutated copy of
//! a fixture's reference project, runs atomic → module → component → system on each (stopping
//! at the first level that fails), and prints the cumulative share caught per class and level,
//! where each class and kind is caught, the faults no level catches, the false positives over
//! the unmodified references (there must be none: the run fails otherwise), and the review
//! queue the committed confidence weights would fill.
//!
//! ```text
//! cargo bench -p mge-validate --bench catch_rate -- [--faults-per-kind N] [--seed S]
//!     [--workers W] [--fault-rate R] [--cache FILE] [--csv FILE] [--weights FILE] [--plans DIR]
//!     [--list-survivors N] [--consistency-samples K]
//! ```
//!
//! `--cache FILE` keeps level results by project content hash across runs (the key holds the
//! validator version: delete the file after changing a validator); `--csv FILE` writes the
//! review population for `scripts/fit_confidence.py`; `--list-survivors N` lists that many of
//! the faults no level caught; `--consistency-samples K` (default 1, 0 = off) draws K
//! independent samples of each review member's atom with the injector at `--fault-rate`, for
//! the self-consistency signal of the confidence score.

mod draw;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use mge_validate::catch::{self, review, tally::Tally, Class, Fixture, Levels};
use mge_validate::confidence::ConfidenceWeights;

struct Args {
    per_kind: usize,
    seed: u64,
    workers: usize,
    fault_rate: f64,
    cache: Option<PathBuf>,
    csv: Option<PathBuf>,
    weights: Option<PathBuf>,
    plans: PathBuf,
    list_survivors: usize,
    consistency_samples: u32,
}

const USAGE: &str = "usage: catch_rate [--faults-per-kind N] [--seed S] [--workers W] \
[--fault-rate R] [--cache FILE] [--csv FILE] [--weights FILE] [--plans DIR] \
[--list-survivors N] [--consistency-samples K]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        per_kind: 1000,
        seed: 1,
        workers: 2,
        fault_rate: 0.02,
        cache: None,
        csv: None,
        weights: None,
        plans: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plans"),
        list_survivors: 25,
        consistency_samples: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--bench" {
            continue; // passed by `cargo bench`
        }
        let mut value = || it.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        let bad = |v: &str| format!("{flag}: '{v}' is not valid\n{USAGE}");
        match flag.as_str() {
            "--faults-per-kind" => {
                let v = value()?;
                a.per_kind = v.parse().map_err(|_| bad(&v))?;
            }
            "--seed" => {
                let v = value()?;
                a.seed = v.parse().map_err(|_| bad(&v))?;
            }
            "--workers" => {
                let v = value()?;
                a.workers = v.parse().ok().filter(|w| *w > 0).ok_or_else(|| bad(&v))?;
            }
            "--fault-rate" => {
                let v = value()?;
                a.fault_rate = v
                    .parse()
                    .ok()
                    .filter(|r: &f64| (0.0..=1.0).contains(r))
                    .ok_or_else(|| bad(&v))?;
            }
            "--list-survivors" => {
                let v = value()?;
                a.list_survivors = v.parse().map_err(|_| bad(&v))?;
            }
            "--consistency-samples" => {
                let v = value()?;
                a.consistency_samples = v.parse().map_err(|_| bad(&v))?;
            }
            "--cache" => a.cache = Some(value()?.into()),
            "--csv" => a.csv = Some(value()?.into()),
            "--weights" => a.weights = Some(value()?.into()),
            "--plans" => a.plans = value()?.into(),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    Ok(a)
}

fn load_cache(path: &Path) -> Result<HashMap<u64, Levels>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(format!("cache {}: {e}", path.display())),
    };
    let raw: HashMap<String, Levels> = serde_json::from_str(&text)
        .map_err(|e| format!("cache {}: line {}: {e}", path.display(), e.line()))?;
    raw.into_iter()
        .map(|(k, v)| {
            u64::from_str_radix(&k, 16)
                .map(|k| (k, v))
                .map_err(|_| format!("cache {}: bad key '{k}'", path.display()))
        })
        .collect()
}

fn save_cache(path: &Path, cache: &HashMap<u64, Levels>) -> Result<(), String> {
    let raw: std::collections::BTreeMap<String, Levels> = cache
        .iter()
        .map(|(k, v)| (format!("{k:016x}"), *v))
        .collect();
    let text = serde_json::to_string(&raw).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("cache {}: {e}", path.display()))
}

fn run(a: &Args) -> Result<bool, String> {
    let started = Instant::now();
    let fixtures = Fixture::load_all(&a.plans).map_err(|e| e.to_string())?;
    let limits = catch::bench_limits();
    let weights = match &a.weights {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            ConfidenceWeights::from_json(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => ConfidenceWeights::builtin(),
    };

    // False positives: the unmodified references, every level.
    let mut fps = Vec::new();
    for fx in &fixtures {
        fps.extend(catch::false_positives(fx, &limits).map_err(|e| e.to_string())?);
    }
    let atoms: usize = fixtures
        .iter()
        .map(|fx| {
            fx.targets
                .iter()
                .map(|&t| fx.files[t].atoms.len())
                .sum::<usize>()
        })
        .sum();
    println!(
        "False positives over the unmodified references ({} fixtures, {atoms} task atoms, every level): {}",
        fixtures.len(),
        fps.len()
    );
    for fp in &fps {
        println!("  {fp}");
    }

    let sites = draw::atom_sites(&fixtures);
    let mut mutants = Vec::new();
    for class in Class::ALL {
        mutants.extend(draw::draw(&sites, class, a.per_kind, a.seed));
    }
    let mut cache = match &a.cache {
        Some(p) => load_cache(p)?,
        None => HashMap::new(),
    };
    let eval_start = Instant::now();
    let progress = |done: usize, total: usize| {
        if done == total || done % 100 == 0 {
            eprintln!(
                "catch_rate: {done}/{total} projects validated ({:.0} s)",
                eval_start.elapsed().as_secs_f64()
            );
        }
    };
    let result = catch::evaluate_all(
        &fixtures,
        &mutants,
        &limits,
        a.workers,
        &mut cache,
        Some(&progress),
    );
    let eval_time = eval_start.elapsed();
    // Results validated before an error are kept too.
    if let Some(p) = &a.cache {
        save_cache(p, &cache)?;
    }
    let (levels, stats) = result.map_err(|e| e.to_string())?;

    println!(
        "\n{} faults ({} per class, seed {}), {} distinct mutated projects, {} validated now \
         (reaching atomic {}, module {}, component {}, system {}), {} workers\n",
        stats.mutants,
        a.per_kind,
        a.seed,
        stats.distinct,
        stats.evaluated,
        stats.reached[0],
        stats.reached[1],
        stats.reached[2],
        stats.reached[3],
        a.workers
    );
    let tally = Tally::new(&mutants, &levels);
    print!("{}", tally.render());
    let mix = draw::default_mix();
    let mix_total: f64 = mix.values().sum();
    let weighted: Vec<String> = (0..4)
        .map(|k| {
            let share: f64 = tally
                .by_class
                .iter()
                .map(|(c, r)| mix.get(c).copied().unwrap_or(0.0) * r.cumulative()[k])
                .sum::<f64>()
                / mix_total;
            format!("{} {:.1}%", catch::tally::level_name(k), 100.0 * share)
        })
        .collect();
    println!(
        "\nCumulative, classes weighted by the generator's default fault mix \
         (syntax 0.20, misspelled 0.25, arity/import 0.20, logic 0.35): {}",
        weighted.join(", ")
    );
    println!(
        "\nEquivalent mutants (passed every level, test suites included): {} of {} ({:.2}%)",
        tally.all.survived,
        tally.all.faults,
        100.0 * tally.all.survived as f64 / tally.all.faults.max(1) as f64
    );

    let survivors: Vec<&catch::Mutant> = mutants
        .iter()
        .zip(&levels)
        .filter(|(_, l)| catch::caught_at(l).is_none())
        .map(|(m, _)| m)
        .collect();
    for m in survivors.iter().take(a.list_survivors) {
        let fx = &fixtures[m.fixture];
        println!(
            "  {} {} ({}): {}",
            fx.name, fx.files[m.file].atoms[m.atom].id, m.kind, m.change
        );
    }
    if survivors.len() > a.list_survivors {
        println!(
            "  ... {} more (--list-survivors N lists more)",
            survivors.len() - a.list_survivors
        );
    }

    let probability = draw::fault_probability(&fixtures, &sites, a.fault_rate);
    let consistency = draw::consistency(
        &fixtures,
        &sites,
        &mutants,
        a.fault_rate,
        a.seed,
        a.consistency_samples,
    )?;
    let (population, member) = review::population(
        &fixtures,
        &probability,
        &mutants,
        &levels,
        &draw::default_mix(),
        &weights,
        &consistency,
    );
    let summary = review::summarize(&population, &member, &mutants, &levels, &weights);
    println!(
        "\nAt fault rate {} per line, {} consistency sample(s) per atom:",
        a.fault_rate, a.consistency_samples
    );
    print!("{}", summary.render());
    if let Some(p) = &a.csv {
        std::fs::write(p, review::to_csv(&population))
            .map_err(|e| format!("{}: {e}", p.display()))?;
        println!("  review population written to {}", p.display());
    }
    println!(
        "\nWall time: {:.1} s (validation {:.1} s)",
        started.elapsed().as_secs_f64(),
        eval_time.as_secs_f64()
    );
    Ok(fps.is_empty())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("catch_rate: false positives over the unmodified references (listed above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("catch_rate: {e}");
            ExitCode::FAILURE
        }
    }
}
