//! Engine overhead end to end through a real store: a synthetic plan (Python modules whose
//! functions call functions of earlier modules) run with the simulated generator at
//! `time_scale 0`, so everything measured is the engine, the store and the generator's own CPU.

use std::fmt::Write as _;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mge_core::{AtomStatus, ExecutionMode};
use mge_engine::{Engine, RunOptions, RunSummary};
use mge_generate::{
    GenerateError, GenerationRequest, GenerationResponse, Generator, SimulatedConfig,
    SimulatedGenerator,
};
use mge_store::{AtomAttemptFinish, NewAtomRetry, Store};

use super::schedule::Rng;

pub const MODULES: usize = 40;
pub const FUNCTIONS: usize = 25;
/// Subtasks per task (MVP units): five functions each.
pub const SUBTASKS: usize = 5;

/// Writes `plan.toml` and `reference/` under `dir`: `MODULES` tasks, one module each, with
/// `FUNCTIONS` functions; each function calls 0-2 functions of earlier modules.
pub fn write_plan(dir: &Path, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng::new(seed);
    let reference = dir.join("reference").join("app");
    std::fs::create_dir_all(&reference)?;
    std::fs::write(reference.join("__init__.py"), "")?;
    let mut plan = String::from(
        "name = \"engine-bench\"\ndescription = \"synthetic plan for the engine benchmark\"\n\
         reference_dir = \"reference\"\n\n[[phases]]\nname = \"all\"\n\n\
         [[phases.milestones]]\nname = \"modules\"\n",
    );
    for m in 0..MODULES {
        let mut calls: Vec<Vec<(usize, usize)>> = Vec::new();
        for _ in 0..FUNCTIONS {
            let n = if m == 0 { 0 } else { rng.range(0, 2) as usize };
            let mut mine = Vec::new();
            for _ in 0..n {
                let other = rng.range(0, m as u64 - 1) as usize;
                let f = rng.range(0, FUNCTIONS as u64 - 1) as usize;
                if !mine.contains(&(other, f)) {
                    mine.push((other, f));
                }
            }
            calls.push(mine);
        }
        let mut imports: Vec<(usize, usize)> = calls.iter().flatten().copied().collect();
        imports.sort_unstable();
        imports.dedup();
        let mut code = String::new();
        for (other, f) in &imports {
            writeln!(code, "from app.m{other:02} import f{other:02}_{f:02}").expect("string");
        }
        let mut depends: Vec<usize> = imports.iter().map(|(o, _)| *o).collect();
        depends.dedup();
        // Subtask ranges: the import block goes with the first subtask.
        let mut bounds = Vec::new();
        let mut line = code.lines().count() + 1;
        let mut start = 1;
        for (f, mine) in calls.iter().enumerate() {
            writeln!(code, "\n\ndef f{m:02}_{f:02}(x):").expect("string");
            writeln!(code, "    \"\"\"Step {f} of module {m}.\"\"\"").expect("string");
            writeln!(code, "    y = x + {f}").expect("string");
            for (other, g) in mine {
                writeln!(code, "    y = y + f{other:02}_{g:02}(y)").expect("string");
            }
            writeln!(code, "    return y * 2").expect("string");
            line += 2 + 4 + mine.len();
            if (f + 1) % (FUNCTIONS / SUBTASKS) == 0 {
                bounds.push((start, line - 1));
                start = line;
            }
        }
        std::fs::write(reference.join(format!("m{m:02}.py")), &code)?;
        let depends: Vec<String> = depends.iter().map(|o| format!("\"m{o:02}\"")).collect();
        write!(
            plan,
            "\n[[phases.milestones.tasks]]\nkey = \"m{m:02}\"\nname = \"module {m}\"\n\
             description = \"module {m} of the synthetic service\"\nlanguage = \"python\"\n\
             target = \"app/m{m:02}.py\"\ndepends_on = [{}]\n",
            depends.join(", ")
        )
        .expect("string");
        for (s, (a, b)) in bounds.iter().enumerate() {
            write!(
                plan,
                "\n[[phases.milestones.tasks.subtasks]]\nname = \"part {s}\"\nlines = [{a}, {b}]\n"
            )
            .expect("string");
        }
    }
    std::fs::write(dir.join("plan.toml"), plan)
}

/// The simulated generator, timing its own calls.
pub struct TimedGenerator {
    inner: SimulatedGenerator,
    pub nanos: AtomicU64,
    pub calls: AtomicU64,
}

impl TimedGenerator {
    pub fn new() -> TimedGenerator {
        TimedGenerator {
            inner: SimulatedGenerator::new(SimulatedConfig {
                fault_rate: 0.0,
                time_scale: 0.0,
                ..SimulatedConfig::default()
            })
            .expect("valid simulated settings"),
            nanos: AtomicU64::new(0),
            calls: AtomicU64::new(0),
        }
    }
}

type GenerateFuture<'a> =
    Pin<Box<dyn Future<Output = Result<GenerationResponse, GenerateError>> + Send + 'a>>;

impl Generator for TimedGenerator {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn generate<'s, 'r, 'f>(&'s self, request: &'r GenerationRequest) -> GenerateFuture<'f>
    where
        's: 'f,
        'r: 'f,
        Self: 'f,
    {
        Box::pin(async move {
            let started = Instant::now();
            let out = self.inner.generate(request).await;
            self.nanos
                .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            self.calls.fetch_add(1, Ordering::Relaxed);
            out
        })
    }
}

/// One end-to-end run.
pub struct Overhead {
    pub summary: RunSummary,
    /// Units the run executed (atoms in V2, subtasks in MVP).
    pub units: usize,
    pub wall: Duration,
    /// From `start` to the first unit started: load, atomize, graph, persist.
    pub prepare: Duration,
    /// From the first unit started to the last unit ended.
    pub execute: Duration,
    pub generator: Duration,
    pub generator_calls: u64,
}

/// Runs the plan in `mode` with `max_parallel` units at once (`None`: the mode's default).
pub async fn run(
    store: Arc<dyn Store>,
    plan_dir: &Path,
    mode: ExecutionMode,
    max_parallel: Option<usize>,
) -> Overhead {
    let loaded = mge_plan::load(plan_dir).expect("the synthetic plan is valid");
    let plan_id = store
        .import_plan(&loaded.plan, "bench")
        .await
        .expect("import");
    let generator = Arc::new(TimedGenerator::new());
    let engine = Engine::new(store.clone(), generator.clone());
    let mut rx = engine.events.subscribe();
    let marks: Arc<Mutex<(Option<Instant>, Option<Instant>)>> = Arc::default();
    let recorder = {
        let marks = marks.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(event) => {
                        let now = Instant::now();
                        let mut m = marks.lock().expect("marks lock");
                        match event.event.as_str() {
                            "unit_started" => {
                                m.0.get_or_insert(now);
                            }
                            "unit_succeeded" | "unit_failed" => m.1 = Some(now),
                            "run_completed" | "run_stopped" => break,
                            _ => {}
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    };
    let options = RunOptions {
        mode,
        mode_reason: "engine benchmark".to_string(),
        max_parallel,
        generator: serde_json::json!({"provider": "simulated", "fault_rate": 0.0, "time_scale": 0.0}),
        ..RunOptions::default()
    };
    let started = Instant::now();
    let summary = engine.start(plan_id, options).await.expect("run");
    let wall = started.elapsed();
    recorder.await.expect("recorder");
    assert_eq!(
        summary.failed + summary.blocked,
        0,
        "a fault-free run succeeds"
    );
    let (first, last) = *marks.lock().expect("marks lock");
    let first = first.expect("a unit started");
    let last = last.expect("a unit ended");
    let units = match mode {
        ExecutionMode::Mvp => summary.attempts as usize,
        _ => summary.units,
    };
    Overhead {
        units,
        wall,
        prepare: first - started,
        execute: last - first,
        generator: Duration::from_nanos(generator.nanos.load(Ordering::Relaxed)),
        generator_calls: generator.calls.load(Ordering::Relaxed),
        summary,
    }
}

/// Mean latency of each store call a V2 atom makes on its first attempt, as the engine makes
/// them, timed one after the other on the atoms of the finished run (each gets one more attempt),
/// so their sum is the serial store cost of one atom: the attempt starts with its `unit_started`
/// row in one transaction, and finishes with its result, validation row, `attempt_finished` and
/// `unit_succeeded` rows in another.
pub struct StoreCalls {
    pub calls: Vec<(&'static str, Duration)>,
}

pub async fn v2_store_calls(store: &dyn Store, plan: mge_core::PlanId, n: usize) -> StoreCalls {
    let atoms = store.load_atoms(plan).await.expect("atoms");
    let atoms: Vec<_> = atoms.iter().take(n).collect();
    let mut totals = [Duration::ZERO; 2];
    for a in &atoms {
        let id = a.atom.id;
        // Not timed: a fresh atom has no history to read.
        let number = store.load_atom_retries(id).await.expect("retries").len() as i32 + 1;
        let details = serde_json::json!({"unit": a.atom.atom_key, "kind": "atom"});
        let event = |name: &str| mge_store::HistoryEvent {
            plan,
            task: Some(a.atom.task_id),
            event: name.to_string(),
            details: details.clone(),
        };
        let t = Instant::now();
        store
            .start_atom_attempt(
                &NewAtomRetry {
                    atom_id: id,
                    attempt_number: number,
                    error_message: None,
                    error_type: Some("running".to_string()),
                    validation_errors: None,
                    feedback_prompt: None,
                    temperature: Some(0.0),
                },
                &[event("unit_started")],
            )
            .await
            .expect("start attempt");
        totals[0] += t.elapsed();
        let validation = mge_store::NewValidationResult {
            atom_id: Some(id),
            level: mge_core::ValidationLevel::Atomic,
            passed: true,
            score: Some(1.0),
            violations: serde_json::json!([]),
            warnings: serde_json::json!([]),
            duration_seconds: Some(0.0),
            validator_version: Some("bench".to_string()),
        };
        let t = Instant::now();
        store
            .finish_atom_attempt(
                &AtomAttemptFinish {
                    atom_id: id,
                    attempt_number: number,
                    status: AtomStatus::Succeeded,
                    code: a.atom.code.clone(),
                    error_message: None,
                    error_type: "ok".to_string(),
                    validation_errors: None,
                    llm_model: Some("bench".to_string()),
                    tokens_in: Some(100),
                    tokens_out: Some(50),
                    cost_usd: Some(0.0),
                },
                Some(&validation),
                &[event("attempt_finished"), event("unit_succeeded")],
            )
            .await
            .expect("finish attempt");
        totals[1] += t.elapsed();
    }
    let names = [
        "start_atom_attempt(+unit_started)",
        "finish_atom_attempt(+validation, attempt_finished, unit_succeeded)",
    ];
    StoreCalls {
        calls: names
            .into_iter()
            .zip(totals)
            .map(|(name, total)| (name, total / atoms.len().max(1) as u32))
            .collect(),
    }
}
