//! Test databases and data builders shared by the conformance suite.

use std::path::PathBuf;

use mge_core::{AtomId, EdgeKind, Language, PlanId};
use mge_plan::{Milestone, Phase, Plan, Subtask, Task};
use mge_store::{NewAtom, NewAtomDependency, Store, StoredPlan};
use sqlx::Connection;
use uuid::Uuid;

/// A throw-away database: a temporary SQLite file, or a fresh Postgres database
/// `mge_t_<random>` created through the admin URL in `DATABASE_URL` and dropped afterwards.
pub struct TestDb {
    pub store: Box<dyn Store>,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
        dropped: bool,
    },
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("store.db").display()
        );
        let store = mge_store::open(&url).await.expect("open sqlite store");
        TestDb {
            store,
            cleanup: Cleanup::Sqlite { _dir: dir },
        }
    }

    /// `None` (with a note on stderr) when `DATABASE_URL` is not set.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        let Ok(admin_url) = std::env::var("DATABASE_URL") else {
            eprintln!("{test}: DATABASE_URL is not set; skipping the Postgres half of this test");
            return None;
        };
        let name = format!("mge_t_{}", Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to DATABASE_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.expect("close admin connection");
        let url = database_url(&admin_url, &name);
        let store = mge_store::open(&url).await.expect("open postgres store");
        Some(TestDb {
            store,
            cleanup: Cleanup::Postgres {
                admin_url,
                name,
                dropped: false,
            },
        })
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Closes the store and removes the database.
    pub async fn finish(mut self) {
        self.store.close().await;
        if let Cleanup::Postgres {
            admin_url,
            name,
            dropped,
        } = &mut self.cleanup
        {
            drop_database(admin_url, name).await;
            *dropped = true;
        }
    }
}

impl Drop for TestDb {
    /// A failed test still removes its Postgres database.
    fn drop(&mut self) {
        if let Cleanup::Postgres {
            admin_url,
            name,
            dropped: false,
        } = &self.cleanup
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(drop_database(&admin_url, &name));
            })
            .join();
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) {
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to DATABASE_URL");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop test database");
    let _ = admin.close().await;
}

/// `admin_url` with its database path replaced by `name` (query string kept).
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A plan exercising every optional field: `phases` x `milestones` x `tasks` tasks, each with
/// `subtasks` subtasks, dependencies on the previous task.
pub fn sample_plan(phases: usize, milestones: usize, tasks: usize, subtasks: usize) -> Plan {
    let mut n = 0;
    let mut previous: Option<String> = None;
    let mut plan = Plan {
        name: "inventory".to_string(),
        description: "Stock keeping service, with 'quotes' and unicode: äö 漢字".to_string(),
        reference_dir: Some(PathBuf::from("fixtures/reference")),
        test_command: Some("python3 -m unittest discover -s tests -t .".to_string()),
        phases: Vec::new(),
    };
    for p in 0..phases {
        let mut phase = Phase {
            name: format!("Phase {p}"),
            description: (p % 2 == 0).then(|| format!("phase {p} description")),
            milestones: Vec::new(),
        };
        for m in 0..milestones {
            let mut milestone = Milestone {
                name: format!("Milestone {p}.{m}"),
                description: (m % 2 == 1).then(|| "milestone notes".to_string()),
                tasks: Vec::new(),
            };
            for _ in 0..tasks {
                n += 1;
                let key = format!("task-{n:03}");
                let language = Language::ALL[n % 3];
                let ext = match language {
                    Language::Python => "py",
                    Language::TypeScript => "ts",
                    Language::JavaScript => "js",
                };
                milestone.tasks.push(Task {
                    key: key.clone(),
                    name: format!("Task {n}"),
                    description: format!("Implements part {n}\nwith a second line"),
                    language,
                    target: format!("pkg/module_{n:03}.{ext}"),
                    depends_on: previous.iter().cloned().collect(),
                    skeleton: (n % 2 == 0).then(|| format!("def f{n}():\n    pass\n")),
                    subtasks: (0..subtasks)
                        .map(|s| Subtask {
                            name: format!("Subtask {n}.{s}"),
                            description: (s % 2 == 0).then(|| "step".to_string()),
                            lines: (s % 3 != 2).then(|| {
                                let start = 1 + 25 * s as u32;
                                (start, start + 24)
                            }),
                        })
                        .collect(),
                });
                previous = Some(key);
            }
            phase.milestones.push(milestone);
        }
        plan.phases.push(phase);
    }
    plan
}

/// `per_task` atoms for every task of a stored plan; every atom after the first of a task
/// names the task's first atom as its parent.
pub fn sample_atoms(stored: &StoredPlan, per_task: usize) -> Vec<NewAtom> {
    let mut atoms = Vec::new();
    for task in &stored.tasks {
        let task_plan = stored.plan.task(&task.key).expect("task in plan");
        let mut first: Option<AtomId> = None;
        for i in 0..per_task {
            let id = Uuid::new_v4();
            let start_line = 1 + 10 * i as i32;
            atoms.push(NewAtom {
                id,
                task_id: task.task_id,
                atom_key: format!("{}::atom_{i}", task.key),
                atom_number: i as i32 + 1,
                name: format!("atom {i} of {}", task.key),
                description: format!("function number {i}"),
                kind: if i == 0 { "module_header" } else { "function" }.to_string(),
                node_type: Some("function_definition".to_string()),
                qualified_name: (i > 0).then(|| format!("f_{i}")),
                language: task_plan.language,
                file_path: task.target.clone(),
                start_byte: 400 * i as i64,
                end_byte: 400 * i as i64 + 399,
                start_line,
                end_line: start_line + 9,
                parent_atom_id: first,
                estimated_loc: 10,
                complexity: 1.5 + i as f64,
                context: serde_json::json!({"imports": ["os"], "symbols": [format!("f_{i}")]}),
                completeness_score: 0.95,
                atomicity_score: (i % 2 == 0).then_some(0.875),
                code: (i % 3 == 0).then(|| format!("def f_{i}():\n    return {i}\n")),
            });
            first.get_or_insert(id);
        }
    }
    atoms
}

/// About `per_atom` edges per atom, each from an earlier atom to a later one (provider first).
pub fn sample_dependencies(atoms: &[NewAtom], per_atom: usize) -> Vec<NewAtomDependency> {
    let kinds = [
        EdgeKind::Import,
        EdgeKind::Data,
        EdgeKind::Type,
        EdgeKind::Control,
    ];
    let mut deps = Vec::new();
    for (i, atom) in atoms.iter().enumerate() {
        for k in 1..=per_atom {
            if k * 7 > i {
                break;
            }
            let provider = &atoms[i - k * 7];
            deps.push(NewAtomDependency {
                from_atom: provider.id,
                to_atom: atom.id,
                kind: kinds[(i + k) % kinds.len()],
                weight: 1.0 / k as f64,
            });
        }
    }
    deps
}

/// Imports `plan` and loads it back.
pub async fn import(store: &dyn Store, plan: &Plan) -> (PlanId, StoredPlan) {
    let id = store
        .import_plan(plan, "owner-1")
        .await
        .expect("import plan");
    let stored = store.load_plan(id).await.expect("load plan");
    (id, stored)
}

/// Random valid plans: arbitrary text everywhere, unique keys and targets.
pub fn arbitrary_plan() -> impl proptest::strategy::Strategy<Value = Plan> {
    use proptest::prelude::*;

    let text = "\\PC{0,24}";
    let subtask = (
        text,
        proptest::option::of(text),
        proptest::option::of((1u32..500, 0u32..50)),
    )
        .prop_map(|(name, description, lines)| Subtask {
            name,
            description,
            lines: lines.map(|(start, len)| (start, start + len)),
        });
    let task = (
        text,
        text,
        proptest::sample::select(Language::ALL.to_vec()),
        proptest::option::of(text),
        proptest::collection::vec(subtask, 0..4),
        any::<bool>(),
    );
    let milestone = (
        text,
        proptest::option::of(text),
        proptest::collection::vec(task, 0..4),
    );
    let phase = (
        text,
        proptest::option::of(text),
        proptest::collection::vec(milestone, 0..3),
    );
    (
        text,
        text,
        proptest::option::of("[a-z/]{1,12}"),
        proptest::option::of(text),
        proptest::collection::vec(phase, 0..3),
    )
        .prop_map(|(name, description, reference_dir, test_command, phases)| {
            let mut n = 0;
            let mut keys: Vec<String> = Vec::new();
            let phases = phases
                .into_iter()
                .map(|(name, description, milestones)| Phase {
                    name,
                    description,
                    milestones: milestones
                        .into_iter()
                        .map(|(name, description, tasks)| Milestone {
                            name,
                            description,
                            tasks: tasks
                                .into_iter()
                                .map(|(name, description, language, skeleton, subtasks, dep)| {
                                    n += 1;
                                    let key = format!("t{n}");
                                    let depends_on = if dep {
                                        keys.last().cloned().into_iter().collect()
                                    } else {
                                        Vec::new()
                                    };
                                    keys.push(key.clone());
                                    Task {
                                        target: format!("src/{key}.txt"),
                                        key,
                                        name,
                                        description,
                                        language,
                                        depends_on,
                                        skeleton,
                                        subtasks,
                                    }
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect();
            Plan {
                name,
                description,
                reference_dir: reference_dir.map(PathBuf::from),
                test_command,
                phases,
            }
        })
}
