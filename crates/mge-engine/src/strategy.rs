//! The one interface both execution modes implement.

use async_trait::async_trait;
use mge_core::ExecutionMode;

use crate::run::RunContext;
use crate::scheduler::Schedule;
use crate::Result;

/// The units of a plan and the constraints between them, as a strategy breaks it down.
#[derive(Debug, Clone, Default)]
pub struct UnitPlan {
    /// Stable unit ids (task keys for MVP, atom keys for V2), in plan order.
    pub units: Vec<String>,
    /// Units already ended by an earlier, interrupted run (`None`: still to run).
    pub initial: Vec<Option<crate::scheduler::UnitEnd>>,
}

/// What executing one unit produced.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitResult {
    pub succeeded: bool,
    /// Attempts made by this execution.
    pub attempts: u32,
    pub error: Option<String>,
}

/// How a mode turns a plan into generated code. The orchestrator ([`crate::Engine`]) calls the
/// four operations in order: break the plan into units, order them, then execute each unit (the
/// strategy validates inside `execute_unit`, as its retry loop needs the verdict) and finally
/// lets the strategy assemble the files.
#[async_trait]
pub trait ExecutionStrategy: Send + Sync {
    fn mode(&self) -> ExecutionMode;

    /// Breaks the plan into execution units and persists them (idempotent: a resumed run gets the
    /// units it already has).
    async fn atomize_plan(&self, run: &RunContext) -> Result<UnitPlan>;

    /// Orders the units: providers per unit and waves.
    async fn build_execution_order(&self, run: &RunContext, units: &UnitPlan) -> Result<Schedule>;

    /// Generates one unit (with the strategy's retry policy) and records the outcome.
    async fn execute_unit(&self, run: &RunContext, unit: usize) -> Result<UnitResult>;

    /// Validates the current code of one unit; `Ok(None)` when it passes, the errors otherwise.
    async fn validate_unit(&self, run: &RunContext, unit: usize) -> Result<Option<String>>;

    /// Records that `unit` will not run because `cause` failed or was blocked.
    async fn mark_blocked(&self, run: &RunContext, unit: usize, cause: usize) -> Result<()>;

    /// Final counts `(units, succeeded, failed, blocked)` when the strategy's units are finer
    /// than its scheduling units (V2 counts atoms; a cycle is scheduled as one unit).
    async fn unit_counts(&self, _run: &RunContext) -> Result<Option<[usize; 4]>> {
        Ok(None)
    }

    /// The generated files of the plan, by target path (files of units that never produced code
    /// are absent).
    async fn assemble(&self, run: &RunContext) -> Result<Vec<(String, String)>>;
}
