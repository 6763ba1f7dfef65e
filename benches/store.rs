//! Store throughput: persist a plan of 50 tasks and 200 subtasks with 10,000 atoms and 30,000
//! atom dependencies, then read it all back, on SQLite and (when `DATABASE_URL` is set)
//! Postgres. The baseline pair writes the same 200 atoms batched versus one row per call, so
//! the ratio of the two shows what batching buys on each backend.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use mge_core::{EdgeKind, Language, PlanId};
use mge_plan::{Milestone, Phase, Plan, Subtask, Task};
use mge_store::{NewAtom, NewAtomDependency, Store, StoredPlan};
use uuid::Uuid;

const TASKS: usize = 50;
const SUBTASKS_PER_TASK: usize = 4;
const ATOMS: usize = 10_000;
const DEPENDENCIES: usize = 30_000;
/// Atoms written per iteration by the batched / one-per-call baseline pair.
const BASELINE_ATOMS: usize = 200;

fn plan() -> Plan {
    let mut n = 0;
    let phases = (0..5)
        .map(|p| Phase {
            name: format!("phase {p}"),
            description: Some("phase".to_string()),
            milestones: (0..2)
                .map(|m| Milestone {
                    name: format!("milestone {p}.{m}"),
                    description: None,
                    tasks: (0..TASKS / 10)
                        .map(|_| {
                            n += 1;
                            Task {
                                key: format!("task-{n:02}"),
                                name: format!("task {n}"),
                                description: "implements one module of the service".to_string(),
                                language: Language::Python,
                                target: format!("svc/module_{n:02}.py"),
                                depends_on: if n > 1 {
                                    vec![format!("task-{:02}", n - 1)]
                                } else {
                                    Vec::new()
                                },
                                skeleton: Some("def main():\n    pass\n".to_string()),
                                subtasks: (0..SUBTASKS_PER_TASK)
                                    .map(|s| Subtask {
                                        name: format!("subtask {s}"),
                                        description: None,
                                        lines: Some((1 + 25 * s as u32, 25 + 25 * s as u32)),
                                    })
                                    .collect(),
                            }
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Plan {
        name: "bench".to_string(),
        description: "store benchmark plan".to_string(),
        reference_dir: Some(PathBuf::from("reference")),
        test_command: None,
        phases,
    }
}

/// `count` atoms spread evenly over the stored plan's tasks, with fresh ids; atom numbers
/// start after `offset` so several batches can go into the same plan.
fn atoms(stored: &StoredPlan, count: usize, offset: usize) -> Vec<NewAtom> {
    let per_task = count.div_ceil(stored.tasks.len());
    (0..count)
        .map(|i| {
            let task = &stored.tasks[i / per_task];
            let n = offset + i % per_task;
            NewAtom {
                id: Uuid::new_v4(),
                task_id: task.task_id,
                atom_key: format!("{}::f{n}", task.key),
                atom_number: n as i32 + 1,
                name: format!("f{n}"),
                description: "a function of about ten lines".to_string(),
                kind: "function".to_string(),
                node_type: Some("function_definition".to_string()),
                qualified_name: Some(format!("module.f{n}")),
                language: Language::Python,
                file_path: task.target.clone(),
                start_byte: 320 * n as i64,
                end_byte: 320 * n as i64 + 319,
                start_line: 10 * n as i32 + 1,
                end_line: 10 * n as i32 + 10,
                parent_atom_id: None,
                estimated_loc: 10,
                complexity: 1.0,
                context: serde_json::json!({"imports": ["os", "json"], "calls": [format!("f{}", n + 1)]}),
                completeness_score: 0.95,
                atomicity_score: Some(0.9),
                code: None,
            }
        })
        .collect()
}

/// `count` distinct edges, each from an earlier atom to a later one.
fn dependencies(atoms: &[NewAtom], count: usize) -> Vec<NewAtomDependency> {
    let kinds = [
        EdgeKind::Import,
        EdgeKind::Data,
        EdgeKind::Type,
        EdgeKind::Control,
    ];
    let mut deps = Vec::with_capacity(count);
    'outer: for distance in 1..atoms.len() {
        for to in distance..atoms.len() {
            if deps.len() == count {
                break 'outer;
            }
            deps.push(NewAtomDependency {
                from_atom: atoms[to - distance].id,
                to_atom: atoms[to].id,
                kind: kinds[(to + distance) % kinds.len()],
                weight: 1.0,
            });
        }
    }
    deps
}

struct Bench {
    name: &'static str,
    store: Box<dyn Store>,
    /// Database dropped at the end.
    cleanup: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

async fn backends() -> Vec<Bench> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let mut out = vec![Bench {
        name: "sqlite",
        store: mge_store::open(&url).await.expect("open sqlite"),
        cleanup: None,
        _dir: Some(dir),
    }];
    match std::env::var("DATABASE_URL") {
        Ok(admin) => {
            let name = format!("mge_bench_{}", Uuid::new_v4().simple());
            let url = match admin
                .split_once('?')
                .map_or(admin.as_str(), |(b, _)| b)
                .rsplit_once('/')
            {
                Some((base, _)) => format!("{base}/{name}"),
                None => panic!("DATABASE_URL has no database path: {admin}"),
            };
            mge_store::create_database(&url)
                .await
                .expect("create bench database");
            out.push(Bench {
                name: "postgres",
                store: mge_store::open(&url).await.expect("open postgres"),
                cleanup: Some(url),
                _dir: None,
            });
        }
        Err(_) => eprintln!("DATABASE_URL is not set: benchmarking SQLite only"),
    }
    for b in &out {
        b.store.migrate_up().await.expect("migrate");
    }
    out
}

async fn persist_and_load(store: &dyn Store, plan: &Plan) -> (PlanId, usize) {
    let id = store.import_plan(plan, "bench").await.expect("import");
    let stored = store.load_plan(id).await.expect("load plan");
    let atoms = atoms(&stored, ATOMS, 0);
    let deps = dependencies(&atoms, DEPENDENCIES);
    store.insert_atoms(id, &atoms).await.expect("insert atoms");
    store
        .insert_atom_dependencies(id, &deps)
        .await
        .expect("insert deps");
    let back = store.load_plan(id).await.expect("load plan");
    let atoms_back = store.load_atoms(id).await.expect("load atoms");
    let deps_back = store.load_atom_dependencies(id).await.expect("load deps");
    assert_eq!(back.tasks.len(), TASKS);
    assert_eq!(atoms_back.len(), ATOMS);
    assert_eq!(deps_back.len(), DEPENDENCIES);
    (id, atoms_back.len() + deps_back.len())
}

fn bench_store(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let benches = rt.block_on(backends());
    let plan = plan();
    assert_eq!(plan.tasks().count(), TASKS);
    assert_eq!(
        plan.tasks().map(|t| t.subtasks.len()).sum::<usize>(),
        TASKS * SUBTASKS_PER_TASK
    );

    let mut group = c.benchmark_group("store");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for b in &benches {
        let store = b.store.as_ref();
        group.bench_function(
            format!("{}/persist_and_load_10k_atoms_30k_deps", b.name),
            |bench| bench.iter(|| rt.block_on(persist_and_load(store, &plan))),
        );

        // Baseline pair on a plan of its own: 200 atoms in one batch vs one call per atom.
        let id = rt
            .block_on(store.import_plan(&plan, "bench"))
            .expect("import");
        let stored = rt.block_on(store.load_plan(id)).expect("load");
        let mut offset = 0;
        group.bench_function(format!("{}/atoms_200_batched", b.name), |bench| {
            bench.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let batch = atoms(&stored, BASELINE_ATOMS, offset);
                    offset += BASELINE_ATOMS;
                    let start = Instant::now();
                    rt.block_on(store.insert_atoms(id, &batch)).expect("insert");
                    total += start.elapsed();
                }
                total
            })
        });
        group.bench_function(format!("{}/atoms_200_one_per_call", b.name), |bench| {
            bench.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let batch = atoms(&stored, BASELINE_ATOMS, offset);
                    offset += BASELINE_ATOMS;
                    let start = Instant::now();
                    for atom in batch.chunks(1) {
                        rt.block_on(store.insert_atoms(id, atom)).expect("insert");
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    }
    group.finish();

    for b in benches {
        rt.block_on(b.store.close());
        if let Some(url) = &b.cleanup {
            rt.block_on(mge_store::drop_database(url))
                .expect("drop bench database");
        }
    }
}

criterion_group!(benches, bench_store);
criterion_main!(benches);
