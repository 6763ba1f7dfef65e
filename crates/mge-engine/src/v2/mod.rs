//! The V2 strategy: every task's code is cut into atoms (tree-sitter), the atoms' dependency
//! graph orders them into waves, and each atom is generated alone with its injected context,
//! checked in its place in the file, and retried with the errors as feedback at the next
//! temperature of the schedule. Cyclic groups of atoms (strongly connected components) are
//! scheduled as one unit.

pub(crate) mod atom;
mod bisect;
pub(crate) mod confidence;
pub(crate) mod post;
pub(crate) mod prepare;
pub mod review;
pub(crate) mod validate;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use mge_core::{AtomStatus, ExecutionMode};

use crate::run::RunContext;
use crate::scheduler::{Schedule, UnitEnd};
use crate::strategy::{ExecutionStrategy, UnitPlan, UnitResult};
use crate::Result;

pub(crate) use confidence::CONSISTENCY_SAMPLE;
pub(crate) use prepare::Prepared;

/// Adds the post-generation validation figures of a plan's history to its summary.
pub(crate) fn summarize_validation(
    history: &[mge_store::HistoryEntry],
    summary: &mut crate::RunSummary,
) {
    for h in history {
        match h.event.as_str() {
            post::VALIDATION_ROUND => {
                let d = &h.details;
                summary.validation_rounds += 1;
                if let Some(p) = d["precision_first_attempt"].as_f64() {
                    summary.precision_first_attempt = Some(p);
                }
                summary.precision_final = d["precision"].as_f64();
                summary.atoms_regenerated +=
                    d["regenerate"].as_array().map_or(0, |a| a.len() as u64);
            }
            confidence::CONFIDENCE_SCORED => {
                summary.review_queued = h.details["queued"].as_u64().unwrap_or(0);
            }
            _ => {}
        }
    }
}

#[derive(Default)]
pub struct V2Strategy {
    /// Filled by `atomize_plan`.
    prepared: Mutex<Option<std::sync::Arc<Prepared>>>,
}

impl V2Strategy {
    /// Validation after generation (module, component, system levels) with regeneration of
    /// the atoms failures point at, up to the run's limit of rounds; then confidence scores
    /// and the review queue.
    pub(crate) async fn validate_generated(&self, run: &RunContext) -> Result<()> {
        post::run_rounds(run, &self.prepared()).await?;
        confidence::score_plan(run, &self.prepared()).await
    }

    pub(crate) fn prepared(&self) -> std::sync::Arc<Prepared> {
        self.prepared
            .lock()
            .expect("prepared lock")
            .clone()
            .expect("atomize_plan runs first")
    }
}

#[async_trait]
impl ExecutionStrategy for V2Strategy {
    fn mode(&self) -> ExecutionMode {
        ExecutionMode::V2Atoms
    }

    async fn atomize_plan(&self, run: &RunContext) -> Result<UnitPlan> {
        let prepared = std::sync::Arc::new(prepare::prepare(run).await?);
        let units = prepared
            .units
            .iter()
            .map(|members| {
                members
                    .iter()
                    .map(|&m| prepared.atoms[m].key.as_str())
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect();
        let initial = prepared
            .units
            .iter()
            .map(|members| {
                let statuses: Vec<AtomStatus> =
                    members.iter().map(|&m| prepared.atoms[m].status).collect();
                if statuses.iter().all(|s| *s == AtomStatus::Succeeded) {
                    Some(UnitEnd::Succeeded)
                } else if statuses.contains(&AtomStatus::Failed) {
                    Some(UnitEnd::Failed)
                } else if statuses.contains(&AtomStatus::Blocked) {
                    Some(UnitEnd::Blocked)
                } else {
                    None
                }
            })
            .collect();
        *self.prepared.lock().expect("prepared lock") = Some(prepared);
        Ok(UnitPlan { units, initial })
    }

    async fn build_execution_order(
        &self,
        _run: &RunContext,
        _units: &UnitPlan,
    ) -> Result<Schedule> {
        Ok(self.prepared().schedule.clone())
    }

    async fn execute_unit(&self, run: &RunContext, unit: usize) -> Result<UnitResult> {
        let prepared = self.prepared();
        let mut result = UnitResult {
            succeeded: true,
            attempts: 0,
            error: None,
        };
        // Members of a cycle are generated one after the other; each only needs the others'
        // signatures, which its context already holds.
        for &member in &prepared.units[unit] {
            if prepared.atoms[member].status == AtomStatus::Succeeded {
                // Done before an interruption: a resumed cycle keeps it.
                continue;
            }
            let outcome = atom::execute(run, &prepared, member).await?;
            result.attempts += outcome.attempts;
            if !outcome.succeeded {
                result.succeeded = false;
                result.error = outcome.error;
                break;
            }
        }
        Ok(result)
    }

    async fn validate_unit(&self, run: &RunContext, unit: usize) -> Result<Option<String>> {
        let prepared = self.prepared();
        let codes = atom::current_codes(run, &prepared).await?;
        for &member in &prepared.units[unit] {
            let code = codes.get(&prepared.atoms[member].id).cloned().flatten();
            let Some(code) = code else {
                return Ok(Some(format!(
                    "atom {} has no code yet",
                    prepared.atoms[member].key
                )));
            };
            if let Some(error) = atom::check_in_place(run, &prepared, member, &code)? {
                return Ok(Some(error));
            }
        }
        Ok(None)
    }

    async fn mark_blocked(&self, run: &RunContext, unit: usize, cause: usize) -> Result<()> {
        let prepared = self.prepared();
        let cause_key = prepared.atoms[prepared.units[cause][0]].key.clone();
        for &member in &prepared.units[unit] {
            let atom = &prepared.atoms[member];
            let error = format!("blocked: provider {cause_key} did not succeed");
            run.store
                .set_atom_status(atom.id, AtomStatus::Blocked, Some(&error))
                .await?;
            run.record(
                Some(atom.task_id),
                "unit_blocked",
                serde_json::json!({"unit": atom.key, "kind": "atom", "cause": cause_key}),
            )
            .await?;
        }
        Ok(())
    }

    async fn unit_counts(&self, run: &RunContext) -> Result<Option<[usize; 4]>> {
        let atoms = run.store.load_atoms(run.plan_id()).await?;
        let count = |s: AtomStatus| atoms.iter().filter(|a| a.status == s).count();
        Ok(Some([
            atoms.len(),
            count(AtomStatus::Succeeded),
            count(AtomStatus::Failed),
            count(AtomStatus::Blocked),
        ]))
    }

    async fn assemble(&self, run: &RunContext) -> Result<Vec<(String, String)>> {
        let prepared = self.prepared();
        let codes = atom::current_codes(run, &prepared).await?;
        let mut files: Vec<(String, String)> = Vec::new();
        let mut by_file: HashMap<&str, usize> = HashMap::new();
        for atom in &prepared.atoms {
            let index = *by_file.entry(atom.file.as_str()).or_insert_with(|| {
                files.push((atom.file.clone(), String::new()));
                files.len() - 1
            });
            if let Some(Some(code)) = codes.get(&atom.id) {
                files[index].1.push_str(code);
            }
        }
        files.retain(|(_, code)| !code.is_empty());
        Ok(files)
    }
}
