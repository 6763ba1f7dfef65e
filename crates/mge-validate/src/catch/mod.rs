//! The catch-rate benchmark's machinery: run the four levels in order over faulted copies of
//! the fixtures' reference projects, tally where each fault is caught, check that the
//! unmodified references pass every level, and measure the review queue that confidence
//! scoring would fill.
//!
//! Faults come from outside (the benchmark draws them with the simulated generator's fault
//! injector); a [`Mutant`] is one fixture with one atom replaced by faulty code. Levels run
//! cheapest first and stop at the first that fails: the fault is recorded as caught there.
//! Mutants with identical content are evaluated once ([`evaluate_all`] keys them by a content
//! hash of the changed file), over a fixed number of worker threads.

mod fixture;
pub mod review;
pub mod tally;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use mge_atomize::{atomize, Config};
use serde::Serialize;

pub use fixture::{Fixture, FixtureError};

use crate::atomic::{AtomInput, AtomLimits};
use crate::component::validate_components;
use crate::module::validate_modules;
use crate::project::ValidateError;
use crate::sandbox::SandboxLimits;
use crate::system::validate_system;

/// The four fault classes the issue counts catch rates by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Syntax,
    MisspelledName,
    ArityOrImport,
    Logic,
}

impl Class {
    pub const ALL: [Class; 4] = [
        Class::Syntax,
        Class::MisspelledName,
        Class::ArityOrImport,
        Class::Logic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Syntax => "syntax",
            Class::MisspelledName => "misspelled name",
            Class::ArityOrImport => "arity or import",
            Class::Logic => "logic",
        }
    }
}

/// One fixture with one atom of a task file replaced by faulty code.
#[derive(Debug, Clone)]
pub struct Mutant {
    /// Index into the fixtures.
    pub fixture: usize,
    /// Index into the fixture's `files` (a task target).
    pub file: usize,
    /// Index into that file's atoms.
    pub atom: usize,
    /// The faulty code replacing the atom.
    pub generated: String,
    pub class: Class,
    /// The injector's finer kind (`flipped_comparison`, `wrong_arity`, ...).
    pub kind: &'static str,
    /// What changed, for listings (`line 3: '<' -> '>='`, line of the atom).
    pub change: String,
}

/// Result of each level in order atomic, module, component, system: `Some(true)` passed,
/// `Some(false)` failed, `None` not run (a cheaper level already failed).
pub type Levels = [Option<bool>; 4];

/// The level that failed first (0 atomic .. 3 system), if any.
pub fn caught_at(levels: &Levels) -> Option<usize> {
    levels.iter().position(|l| *l == Some(false))
}

/// Sandbox limits for the benchmark's toolchain runs: a hung or runaway mutant ends quickly
/// as a failed validation.
pub fn bench_limits() -> SandboxLimits {
    SandboxLimits {
        // The fixtures' suites take at most a few seconds; a mutant looping forever is cut
        // off (and counted as caught by the level that ran it) well before the defaults.
        timeout: std::time::Duration::from_secs(30),
        cpu_seconds: 10,
        ..SandboxLimits::default()
    }
}

/// Runs the levels in order over one mutant, stopping at the first that fails.
pub fn evaluate(fx: &Fixture, m: &Mutant, limits: &SandboxLimits) -> Result<Levels, ValidateError> {
    let file = &fx.files[m.file];
    let atom = &file.atoms[m.atom];
    let base = fx
        .project
        .get(&file.path)
        .ok_or_else(|| ValidateError::UnknownFile(file.path.clone()))?;
    let mut levels: Levels = [None; 4];
    let atomic = fx.atomic_context().validate(&AtomInput {
        path: &file.path,
        language: file.language,
        base_source: base,
        range: atom.start_byte..atom.end_byte,
        generated: &m.generated,
        expected: atom,
        plan_files: &fx.files,
        context_names: &[],
        limits: AtomLimits::default(),
    })?;
    levels[0] = Some(atomic.passed);
    if !atomic.passed {
        return Ok(levels);
    }
    let source = format!(
        "{}{}{}",
        &base[..atom.start_byte],
        m.generated,
        &base[atom.end_byte..]
    );
    let module = validate_modules(
        &[(file.path.as_str(), source.as_str())],
        &fx.files,
        &fx.expected,
        &[],
        limits,
    )?;
    let passed = module.values().all(|r| r.passed);
    levels[1] = Some(passed);
    if !passed {
        return Ok(levels);
    }
    let mut project = fx.project.clone();
    project.insert(file.path.clone(), source.clone());
    let mut files = fx.files.clone();
    files[m.file] = atomize(&file.path, &source, file.language, &Config::default());
    let component = validate_components(
        &project,
        &files,
        &fx.component_of(&file.path),
        fx.tsconfig,
        limits,
    )?;
    let passed = component.values().all(|r| r.passed);
    levels[2] = Some(passed);
    if !passed {
        return Ok(levels);
    }
    let system = validate_system(&project, &files, &fx.test_command, limits)?;
    levels[3] = Some(system.passed);
    Ok(levels)
}

/// Content hash (FNV-1a, 64 bits) of a mutant's project: the validator version, the fixture,
/// and the changed file's path and text. Stable across runs, so it can key a cache file.
pub fn content_key(fx: &Fixture, m: &Mutant) -> u64 {
    let file = &fx.files[m.file];
    let atom = &file.atoms[m.atom];
    let base = fx.project.get(&file.path).unwrap_or("");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let parts = [
        crate::report::VALIDATOR_VERSION.to_string(),
        fx.name.clone(),
        file.path.clone(),
    ];
    let texts = [
        base.get(..atom.start_byte).unwrap_or(""),
        m.generated.as_str(),
        base.get(atom.end_byte..).unwrap_or(""),
    ];
    for bytes in parts
        .iter()
        .map(|p| p.as_bytes())
        .chain([b"\0".as_slice()])
        .chain(texts.iter().map(|t| t.as_bytes()))
    {
        for &b in bytes.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// What [`evaluate_all`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunStats {
    pub mutants: usize,
    /// Distinct projects among the mutants.
    pub distinct: usize,
    /// Distinct projects validated in this run (the others came from the cache).
    pub evaluated: usize,
    /// Of those validated, how many reached each level.
    pub reached: [usize; 4],
}

/// Called with (projects validated so far, projects to validate) after each one.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Evaluates every mutant on `workers` threads, each distinct project once; `cache` (content
/// key → levels, see [`content_key`]) supplies known results and receives the new ones.
/// Results are in the order of `mutants`.
pub fn evaluate_all(
    fixtures: &[Fixture],
    mutants: &[Mutant],
    limits: &SandboxLimits,
    workers: usize,
    cache: &mut HashMap<u64, Levels>,
    progress: Option<Progress<'_>>,
) -> Result<(Vec<Levels>, RunStats), ValidateError> {
    let keys: Vec<u64> = mutants
        .iter()
        .map(|m| content_key(&fixtures[m.fixture], m))
        .collect();
    let mut todo: Vec<(u64, usize)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, &k) in keys.iter().enumerate() {
        if seen.insert(k) && !cache.contains_key(&k) {
            todo.push((k, i));
        }
    }
    let next = AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let results: Mutex<Vec<(u64, Result<Levels, ValidateError>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Some(&(k, i)) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                let m = &mutants[i];
                let r = evaluate(&fixtures[m.fixture], m, limits);
                if r.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
                let done = {
                    let mut all = results.lock().unwrap_or_else(|e| e.into_inner());
                    all.push((k, r));
                    all.len()
                };
                if let Some(report) = progress {
                    report(done, todo.len());
                }
            });
        }
    });
    let mut stats = RunStats {
        mutants: mutants.len(),
        distinct: seen.len(),
        ..RunStats::default()
    };
    let mut first_error = None;
    for (k, r) in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        let levels = match r {
            Ok(levels) => levels,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        stats.evaluated += 1;
        for (n, l) in stats.reached.iter_mut().zip(levels) {
            *n += usize::from(l.is_some());
        }
        cache.insert(k, levels);
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let out = keys
        .iter()
        .map(|k| {
            cache.get(k).copied().ok_or_else(|| {
                ValidateError::UnknownFile(format!("no result for mutant project {k:016x}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((out, stats))
}

/// Every violation any level reports over the unmodified reference of `fx` (every atom, every
/// task module, every component, the test suite), as `fixture level: violation` lines.
pub fn false_positives(fx: &Fixture, limits: &SandboxLimits) -> Result<Vec<String>, ValidateError> {
    let mut out = Vec::new();
    let mut note = |level: &str, r: &crate::report::ValidationReport| {
        out.extend(
            r.violations
                .iter()
                .map(|v| format!("{} {level}: {v}", fx.name)),
        );
    };
    let mut modules = Vec::new();
    for &t in &fx.targets {
        let f = &fx.files[t];
        let source = fx
            .project
            .get(&f.path)
            .ok_or_else(|| ValidateError::UnknownFile(f.path.clone()))?;
        let context = fx.atomic_context();
        for a in &f.atoms {
            let r = context.validate(&AtomInput {
                path: &f.path,
                language: f.language,
                base_source: source,
                range: a.start_byte..a.end_byte,
                generated: &source[a.start_byte..a.end_byte],
                expected: a,
                plan_files: &fx.files,
                context_names: &[],
                limits: AtomLimits::default(),
            })?;
            note("atomic", &r);
        }
        modules.push((f.path.as_str(), source));
    }
    for r in validate_modules(&modules, &fx.files, &fx.expected, &[], limits)?.values() {
        note("module", r);
    }
    let comps = validate_components(&fx.project, &fx.files, &fx.components, fx.tsconfig, limits)?;
    for r in comps.values() {
        note("component", r);
    }
    note(
        "system",
        &validate_system(&fx.project, &fx.files, &fx.test_command, limits)?,
    );
    Ok(out)
}
