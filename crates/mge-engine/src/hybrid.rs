//! Hybrid mode: V2 per task, MVP for a task V2 cannot handle. A task whose code does not atomize
//! (it does not parse) runs in MVP from the start; a task whose V2 execution still fails after its
//! retries is run again in MVP, from its first subtask. Every fallback is recorded in the plan's
//! history (`hybrid_fallback`, with its reason) before it is acted on, and the output takes a
//! fallen-back task's file from its MVP run.
//!
//! After generation the V2 part gets what a V2 run gets: the validation rounds (module,
//! component and system levels, regenerating the atoms failures point at) and the confidence
//! scores and review queue. The files of tasks that fell back are part of the project those
//! rounds check, but they stay MVP: no failure is sent back to them and none of their atoms
//! is scored or queued.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use mge_core::{ExecutionMode, TaskId, TaskStatus};
use mge_rollout::{route_task, AtomizationSummary, FallbackReason, TaskRoute, V2TaskOutcome};
use tokio::sync::OnceCell;

use crate::run::RunContext;
use crate::scheduler::{Schedule, UnitEnd};
use crate::strategy::{ExecutionStrategy, UnitPlan, UnitResult};
use crate::v2::post;
use crate::{MvpStrategy, Result, V2Strategy};

/// History event of a task handed from V2 to MVP.
pub const HYBRID_FALLBACK: &str = "hybrid_fallback";

#[derive(Debug, Clone)]
enum HybridUnit {
    /// A V2 scheduling unit (atoms), by its index in the V2 plan.
    Atoms(usize),
    /// A whole task run in MVP, by its index in the plan's tasks.
    Task(usize),
}

#[derive(Debug)]
struct Layout {
    units: Vec<HybridUnit>,
    /// Task index of every V2 unit's atoms.
    unit_tasks: Vec<Vec<usize>>,
    task_index: HashMap<TaskId, usize>,
}

#[derive(Default)]
pub struct HybridStrategy {
    v2: V2Strategy,
    mvp: MvpStrategy,
    layout: Mutex<Option<Arc<Layout>>>,
    /// Tasks that fell back to MVP, each run there at most once per invocation; the cell holds
    /// whether its MVP run succeeded.
    fallbacks: tokio::sync::Mutex<HashMap<usize, Arc<OnceCell<bool>>>>,
}

impl HybridStrategy {
    /// Validation rounds over the V2 tasks, then confidence scores and the review queue (the
    /// same code as V2's; the rounds already made are not made again).
    pub(crate) async fn validate_generated(&self, run: &RunContext) -> Result<()> {
        let prepared = self.v2.prepared();
        let scope = self.scope(run).await?;
        post::run_rounds_in(run, &prepared, Arc::new(scope)).await?;
        self.v2.validate_generated(run).await
    }

    /// The atoms of tasks that fell back to MVP are left out of the rounds; their files come
    /// from the MVP run.
    async fn scope(&self, run: &RunContext) -> Result<post::Scope> {
        let fallen = fallen_tasks(run).await?;
        let targets: HashSet<&str> = run
            .plan
            .tasks
            .iter()
            .filter(|t| fallen.contains(&t.task_id))
            .map(|t| t.target.as_str())
            .collect();
        let excluded = self
            .v2
            .prepared()
            .atoms
            .iter()
            .filter(|a| fallen.contains(&a.task_id))
            .map(|a| a.key.clone())
            .collect();
        let fixed_files = self
            .mvp
            .assemble(run)
            .await?
            .into_iter()
            .filter(|(path, _)| targets.contains(path.as_str()))
            .collect();
        Ok(post::Scope {
            excluded,
            fixed_files,
        })
    }

    fn layout(&self) -> Arc<Layout> {
        self.layout
            .lock()
            .expect("layout lock")
            .clone()
            .expect("atomize_plan runs first")
    }

    /// Records the fallback of `task` (once) and runs it in MVP; returns whether that succeeded.
    async fn fall_back(
        &self,
        run: &RunContext,
        task: usize,
        reason: &FallbackReason,
    ) -> Result<bool> {
        let cell = {
            let mut map = self.fallbacks.lock().await;
            map.entry(task).or_default().clone()
        };
        let done = cell
            .get_or_try_init(|| async {
                let stored = &run.plan.tasks[task];
                let history = run.store.load_history(run.plan_id()).await?;
                let recorded = history
                    .iter()
                    .any(|h| h.event == HYBRID_FALLBACK && h.task_id == Some(stored.task_id));
                if !recorded {
                    run.record(
                        Some(stored.task_id),
                        HYBRID_FALLBACK,
                        serde_json::json!({
                            "task": stored.key,
                            "reason": reason,
                            "message": reason.to_string(),
                        }),
                    )
                    .await?;
                }
                let current = run.store.load_plan(run.plan_id()).await?;
                let status = current.tasks[task].status;
                if status == TaskStatus::Succeeded {
                    return Ok::<bool, crate::EngineError>(true);
                }
                let result = self.mvp.execute_unit(run, task).await?;
                Ok(result.succeeded)
            })
            .await?;
        Ok(*done)
    }
}

#[async_trait]
impl ExecutionStrategy for HybridStrategy {
    fn mode(&self) -> ExecutionMode {
        ExecutionMode::Hybrid
    }

    async fn atomize_plan(&self, run: &RunContext) -> Result<UnitPlan> {
        let v2_units = self.v2.atomize_plan(run).await?;
        let prepared = self.v2.prepared();
        let task_index: HashMap<TaskId, usize> = run
            .plan
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.task_id, i))
            .collect();
        // Route every task from its atomization.
        let mut static_fallback: HashSet<usize> = HashSet::new();
        for (i, task) in run.plan.tasks.iter().enumerate() {
            let atoms: Vec<_> = prepared
                .atoms
                .iter()
                .filter(|a| a.task_id == task.task_id)
                .collect();
            let summary = if atoms.iter().any(|a| a.kind == "unparsed") {
                let error = crate::syntax::check(
                    &atoms[0].file,
                    atoms[0].language,
                    &prepared.sources[&atoms[0].file],
                );
                AtomizationSummary::Unparsed {
                    file: task.target.clone(),
                    errors: 1,
                    first_error: error,
                }
            } else {
                AtomizationSummary::Atomized { atoms: atoms.len() }
            };
            if let TaskRoute::Fallback { .. } = route_task(&summary, None) {
                static_fallback.insert(i);
            }
        }
        let mut units = Vec::new();
        let mut unit_tasks = Vec::new();
        let mut initial = Vec::new();
        for (u, members) in prepared.units.iter().enumerate() {
            let tasks: Vec<usize> = members
                .iter()
                .map(|&m| task_index[&prepared.atoms[m].task_id])
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if tasks.iter().all(|t| static_fallback.contains(t)) {
                continue;
            }
            units.push(HybridUnit::Atoms(u));
            unit_tasks.push(tasks);
            initial.push(v2_units.initial[u]);
        }
        let mut sorted: Vec<usize> = static_fallback.iter().copied().collect();
        sorted.sort_unstable();
        for t in sorted {
            units.push(HybridUnit::Task(t));
            unit_tasks.push(vec![t]);
            initial.push(match run.plan.tasks[t].status {
                TaskStatus::Succeeded => Some(UnitEnd::Succeeded),
                TaskStatus::Failed => Some(UnitEnd::Failed),
                TaskStatus::Blocked => Some(UnitEnd::Blocked),
                _ => None,
            });
        }
        let names = units
            .iter()
            .map(|u| match u {
                HybridUnit::Atoms(i) => v2_units.units[*i].clone(),
                HybridUnit::Task(t) => run.plan.tasks[*t].key.clone(),
            })
            .collect();
        *self.layout.lock().expect("layout lock") = Some(Arc::new(Layout {
            units,
            unit_tasks,
            task_index,
        }));
        Ok(UnitPlan {
            units: names,
            initial,
        })
    }

    async fn build_execution_order(&self, run: &RunContext, _units: &UnitPlan) -> Result<Schedule> {
        let layout = self.layout();
        let v2 = &self.v2.prepared().schedule;
        let mut position_of_v2: HashMap<usize, usize> = HashMap::new();
        let mut task_units: HashMap<usize, usize> = HashMap::new();
        for (i, unit) in layout.units.iter().enumerate() {
            match unit {
                HybridUnit::Atoms(u) => {
                    position_of_v2.insert(*u, i);
                }
                HybridUnit::Task(t) => {
                    task_units.insert(*t, i);
                }
            }
        }
        // Units of each task, to make an MVP task wait for (and be waited on by) whole tasks.
        let mut units_of_task: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, tasks) in layout.unit_tasks.iter().enumerate() {
            for &t in tasks {
                units_of_task.entry(t).or_default().push(i);
            }
        }
        let mut providers: Vec<Vec<usize>> = vec![Vec::new(); layout.units.len()];
        for (i, unit) in layout.units.iter().enumerate() {
            match unit {
                HybridUnit::Atoms(u) => {
                    for &p in &v2.providers[*u] {
                        match position_of_v2.get(&p) {
                            Some(&q) => providers[i].push(q),
                            // The provider's atoms belong to a task run in MVP.
                            None => {
                                let owner = self.v2.prepared().units[p].first().map(|&m| {
                                    layout.task_index[&self.v2.prepared().atoms[m].task_id]
                                });
                                if let Some(q) = owner.and_then(|t| task_units.get(&t)) {
                                    providers[i].push(*q);
                                }
                            }
                        }
                    }
                }
                HybridUnit::Task(t) => {
                    let spec = run.plan.plan.task(&run.plan.tasks[*t].key).expect("task");
                    for dep in &spec.depends_on {
                        if let Some(d) = run.plan.tasks.iter().position(|x| &x.key == dep) {
                            providers[i].extend(units_of_task.get(&d).into_iter().flatten());
                        }
                    }
                }
            }
            providers[i].sort_unstable();
            providers[i].dedup();
            providers[i].retain(|&p| p != i);
        }
        Ok(Schedule {
            waves: longest_path_levels(&providers),
            providers,
            weights: Vec::new(),
        })
    }

    async fn execute_unit(&self, run: &RunContext, unit: usize) -> Result<UnitResult> {
        let layout = self.layout();
        match layout.units[unit] {
            HybridUnit::Task(t) => {
                let prepared = self.v2.prepared();
                let atom = prepared
                    .atoms
                    .iter()
                    .find(|a| a.task_id == run.plan.tasks[t].task_id)
                    .expect("a task has atoms");
                let reason = FallbackReason::Unparsed {
                    file: run.plan.tasks[t].target.clone(),
                    errors: 1,
                    first_error: crate::syntax::check(
                        &atom.file,
                        atom.language,
                        &prepared.sources[&atom.file],
                    ),
                };
                let ok = self.fall_back(run, t, &reason).await?;
                Ok(UnitResult {
                    succeeded: ok,
                    attempts: 0,
                    error: (!ok).then(|| format!("task '{}' failed in MVP", run.plan.tasks[t].key)),
                })
            }
            HybridUnit::Atoms(u) => {
                // Atoms of tasks that already fell back are not generated again.
                let fallen: Vec<usize> = {
                    let map = self.fallbacks.lock().await;
                    layout.unit_tasks[unit]
                        .iter()
                        .copied()
                        .filter(|t| map.get(t).and_then(|c| c.get()).copied() == Some(true))
                        .collect()
                };
                if fallen.len() == layout.unit_tasks[unit].len() {
                    return Ok(UnitResult {
                        succeeded: true,
                        attempts: 0,
                        error: None,
                    });
                }
                let result = self.v2.execute_unit(run, u).await?;
                if result.succeeded {
                    return Ok(result);
                }
                let reason = FallbackReason::V2FailedAfterRetries {
                    attempts: run.options.max_attempts,
                    last_error: result.error.clone().unwrap_or_default(),
                };
                let outcome = V2TaskOutcome::FailedAfterRetries {
                    attempts: run.options.max_attempts,
                    last_error: result.error.clone().unwrap_or_default(),
                };
                let mut all_ok = true;
                for &t in &layout.unit_tasks[unit] {
                    let atoms = AtomizationSummary::Atomized { atoms: 1 };
                    if let TaskRoute::Fallback { .. } = route_task(&atoms, Some(&outcome)) {
                        all_ok &= self.fall_back(run, t, &reason).await?;
                    }
                }
                Ok(UnitResult {
                    succeeded: all_ok,
                    attempts: result.attempts,
                    error: (!all_ok).then(|| result.error.unwrap_or_default()),
                })
            }
        }
    }

    async fn validate_unit(&self, run: &RunContext, unit: usize) -> Result<Option<String>> {
        let layout = self.layout();
        match layout.units[unit] {
            HybridUnit::Atoms(u) => self.v2.validate_unit(run, u).await,
            HybridUnit::Task(t) => self.mvp.validate_unit(run, t).await,
        }
    }

    async fn mark_blocked(&self, run: &RunContext, unit: usize, cause: usize) -> Result<()> {
        let layout = self.layout();
        let prepared = self.v2.prepared();
        // The cause as each strategy names it: a V2 unit, or a task.
        let cause_task = layout.unit_tasks[cause][0];
        let cause_v2 = match layout.units[cause] {
            HybridUnit::Atoms(c) => c,
            HybridUnit::Task(t) => prepared
                .units
                .iter()
                .position(|members| {
                    members
                        .iter()
                        .any(|&m| prepared.atoms[m].task_id == run.plan.tasks[t].task_id)
                })
                .expect("every task has atoms"),
        };
        match layout.units[unit] {
            HybridUnit::Atoms(u) => self.v2.mark_blocked(run, u, cause_v2).await,
            HybridUnit::Task(t) => self.mvp.mark_blocked(run, t, cause_task).await,
        }
    }

    async fn assemble(&self, run: &RunContext) -> Result<Vec<(String, String)>> {
        let fallen = fallen_tasks(run).await?;
        let mvp_targets: HashSet<&str> = run
            .plan
            .tasks
            .iter()
            .filter(|t| fallen.contains(&t.task_id))
            .map(|t| t.target.as_str())
            .collect();
        let mut files: Vec<(String, String)> = self
            .v2
            .assemble(run)
            .await?
            .into_iter()
            .filter(|(path, _)| !mvp_targets.contains(path.as_str()))
            .collect();
        files.extend(
            self.mvp
                .assemble(run)
                .await?
                .into_iter()
                .filter(|(path, _)| mvp_targets.contains(path.as_str())),
        );
        Ok(files)
    }
}

/// Tasks recorded as fallen back to MVP.
async fn fallen_tasks(run: &RunContext) -> Result<HashSet<TaskId>> {
    let history = run.store.load_history(run.plan_id()).await?;
    Ok(history
        .iter()
        .filter(|h| h.event == HYBRID_FALLBACK)
        .filter_map(|h| h.task_id)
        .collect())
}

/// Wave of every unit: 0 without providers, else one more than its highest provider.
fn longest_path_levels(providers: &[Vec<usize>]) -> Vec<usize> {
    let n = providers.len();
    let mut level = vec![usize::MAX; n];
    let mut changed = true;
    // Providers form a DAG; iterate to a fixed point (at most n rounds).
    for _ in 0..=n {
        if !changed {
            break;
        }
        changed = false;
        for i in 0..n {
            let l = providers[i]
                .iter()
                .map(|&p| {
                    if level[p] == usize::MAX {
                        usize::MAX
                    } else {
                        level[p] + 1
                    }
                })
                .max()
                .unwrap_or(0);
            if l != usize::MAX && level[i] != l {
                level[i] = l;
                changed = true;
            }
        }
    }
    level
        .into_iter()
        .map(|l| if l == usize::MAX { 0 } else { l })
        .collect()
}
