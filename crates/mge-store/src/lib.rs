//! Persistence for mge: the [`Store`] trait and its two backends, [`SqliteStore`] and
//! [`PgStore`], with the embedded, reversible migrations of `migrations/{postgres,sqlite}`.
//!
//! # Design
//!
//! * [`Store`] is an object-safe async trait (through `async-trait`), so the CLI and the engine
//!   hold a `Box<dyn Store>` from [`open`] and never name a backend.
//! * The SQL is written once (`mvp_sql.rs`, `v2_sql.rs`, `graph_sql.rs`) as macro bodies instantiated per sqlx
//!   database type: both backends accept the same text (`$n` placeholders, `RETURNING`), and the
//!   one typed difference, UUID columns, is absorbed by an internal newtype.
//! * Migration 0001 is the MVP baseline; 0002 adds the V2 tables and columns and never alters or
//!   drops an MVP column. Every MVP operation (`import_plan`, `load_plan`, ...) reads and writes
//!   0001 tables and columns only, so it works on a database that was never migrated past 0001.
//! * Batches (`import_plan`, `insert_atoms`, ...) run in one transaction with multi-row
//!   `INSERT`s sized under the bind-parameter limit (SQLite 32766, Postgres 65535).
//!
//! `open` does not migrate: call [`Store::migrate_up`] (the CLI's `mge migrate up`) first.

mod api_stats;
mod error;
mod graph_sql;
mod inspect;
mod migrate;
mod modes;
mod modes_sql;
mod mvp;
mod mvp_sql;
mod postgres;
mod postgres_attempt;
mod review_sql;
mod sqlite;
mod sqlite_attempt;
mod tokens;
mod v2;
mod v2_sql;
mod value;

use async_trait::async_trait;
use mge_core::{AtomId, AtomStatus, ExecutionMode, PlanId, ReviewStatus, TaskId, TaskStatus};
use mge_plan::Plan;

pub use api_stats::ApiStats;
pub use error::{ConstraintKind, Result, StoreError};
pub use inspect::Backend;
pub use migrate::MigrationStatus;
pub use modes::{
    DecidedMode, FlagAuditEntry, FlagChangeSet, FlagWrite, FlagsVersion, ModeOverride, ModeStore,
    NewRollback, RollbackEvent, RollbackKind, StoredFlag,
};
pub use mvp::{
    HistoryEntry, HistoryEvent, MilestoneId, Outcome, PhaseId, PlanSummary, StoredPhase,
    StoredPlan, StoredSubtask, StoredTask, SubtaskId,
};
pub use postgres::{redact_url, PgStore};
pub use sqlite::SqliteStore;
pub use tokens::TokenOwner;
pub use v2::{
    AtomAttemptFinish, NewAtom, NewAtomDependency, NewAtomRetry, NewDependencyGraph, NewReview,
    NewReviewDecision, NewValidationResult, NewWave, StoredAtom, StoredAtomRetry,
    StoredDependencyGraph, StoredReview, StoredValidationResult, StoredWave, V2Metrics,
};

/// Version of the MVP baseline migration.
pub const MVP_BASELINE_VERSION: i64 = 1;
/// Version of the migration adding the V2 tables and columns.
pub const V2_ADDITIONS_VERSION: i64 = 2;

/// Opens a store by URL scheme: `sqlite://path?mode=rwc` (creates the file on first use),
/// `sqlite::memory:`, or `postgres://` / `postgresql://`.
pub async fn open(url: &str) -> Result<Box<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(SqliteStore::connect(url).await?))
    } else if is_postgres(url) {
        Ok(Box::new(PgStore::connect(url).await?))
    } else {
        Err(unsupported(url))
    }
}

/// Creates the database named by `url` (a Postgres database, or a SQLite file); succeeds
/// without change when it already exists.
pub async fn create_database(url: &str) -> Result<()> {
    use sqlx::migrate::MigrateDatabase;
    let created = if url.starts_with("sqlite:") {
        match sqlx::Sqlite::database_exists(url).await {
            Ok(true) => Ok(()),
            _ => sqlx::Sqlite::create_database(url).await,
        }
    } else if is_postgres(url) {
        match sqlx::Postgres::database_exists(url).await {
            Ok(true) => Ok(()),
            _ => sqlx::Postgres::create_database(url).await,
        }
    } else {
        return Err(unsupported(url));
    };
    created.map_err(error::db_err("creating", "database", redact_url(url)))
}

/// Drops the database named by `url` (closing other sessions on Postgres 13+, deleting the
/// file on SQLite); succeeds when it does not exist.
pub async fn drop_database(url: &str) -> Result<()> {
    use sqlx::migrate::MigrateDatabase;
    let dropped = if url.starts_with("sqlite:") {
        match sqlx::Sqlite::database_exists(url).await {
            Ok(false) => Ok(()),
            _ => sqlx::Sqlite::drop_database(url).await,
        }
    } else if is_postgres(url) {
        sqlx::Postgres::force_drop_database(url).await
    } else {
        return Err(unsupported(url));
    };
    dropped.map_err(error::db_err("dropping", "database", redact_url(url)))
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn unsupported(url: &str) -> StoreError {
    StoreError::InvalidUrl {
        url: redact_url(url),
        reason: "expected a sqlite: or postgres:// URL".to_string(),
    }
}

/// Everything mge persists. All methods are cancellation-safe in the sense that a batch either
/// commits whole or not at all.
#[async_trait]
pub trait Store: Send + Sync {
    fn backend(&self) -> Backend;

    /// Closes the connection pool; later calls fail.
    async fn close(&self);

    // ---- migrations -----------------------------------------------------------------------

    /// Applies every pending migration.
    async fn migrate_up(&self) -> Result<()>;
    /// Brings the schema to exactly `version` (applying or reverting); 0 means empty.
    async fn migrate_to(&self, version: i64) -> Result<()>;
    /// Reverts the newest applied migration and returns its version (`None`: nothing applied).
    async fn migrate_down(&self) -> Result<Option<i64>>;
    /// Every known migration, oldest first, and whether it is applied.
    async fn migration_status(&self) -> Result<Vec<MigrationStatus>>;

    // ---- MVP (tables of migration 0001 only) ------------------------------------------------

    /// Stores a whole plan (plan, phases, milestones, tasks, subtasks, version 1 and a
    /// `plan_imported` history row) in one transaction.
    async fn import_plan(&self, plan: &Plan, owner: &str) -> Result<PlanId>;
    /// Loads a plan with its ids and statuses, rebuilding the [`Plan`] from the MVP tables.
    async fn load_plan(&self, plan: PlanId) -> Result<StoredPlan>;
    /// Every plan, oldest first.
    async fn list_plans(&self) -> Result<Vec<PlanSummary>>;
    async fn set_plan_status(&self, plan: PlanId, status: TaskStatus) -> Result<()>;
    /// Sets a task's status. Entering `running` starts a new attempt; returns the attempt count.
    async fn set_task_status(
        &self,
        task: TaskId,
        status: TaskStatus,
        outcome: &Outcome,
    ) -> Result<i32>;
    /// Sets a subtask's status and result. Entering `running` starts a new attempt; returns the
    /// attempt count and, when `event` is given, the id of the history row appended in the same
    /// transaction (so the change and its report are never separated by a crash).
    async fn set_subtask_result(
        &self,
        subtask: SubtaskId,
        status: TaskStatus,
        outcome: &Outcome,
        event: Option<&HistoryEvent>,
    ) -> Result<(i32, Option<i64>)>;
    /// Appends an audit row; returns its id (increasing).
    async fn append_history(
        &self,
        plan: PlanId,
        task: Option<TaskId>,
        event: &str,
        details: &serde_json::Value,
    ) -> Result<i64>;
    /// The plan's audit trail in the order it was written.
    async fn load_history(&self, plan: PlanId) -> Result<Vec<HistoryEntry>>;

    // ---- V2 (tables and columns of migration 0002) -----------------------------------------

    /// Inserts atoms in one transaction and refreshes the plan's `v2_total_atoms` and
    /// `v2_avg_atom_loc`.
    async fn insert_atoms(&self, plan: PlanId, atoms: &[NewAtom]) -> Result<()>;
    /// Inserts dependency edges in one transaction; an edge naming a missing atom writes
    /// nothing and fails with a foreign key [`StoreError::Constraint`] naming the edge.
    async fn insert_atom_dependencies(
        &self,
        plan: PlanId,
        deps: &[NewAtomDependency],
    ) -> Result<()>;
    /// The plan's atoms ordered by task (plan order), then atom number.
    async fn load_atoms(&self, plan: PlanId) -> Result<Vec<StoredAtom>>;
    /// The plan's edges ordered by (from, to).
    async fn load_atom_dependencies(&self, plan: PlanId) -> Result<Vec<NewAtomDependency>>;
    /// Replaces the plan's graph row, edges and waves (and the atoms' wave numbers) in one
    /// transaction: rebuilding twice leaves the same state.
    async fn replace_dependency_graph(
        &self,
        plan: PlanId,
        graph: &NewDependencyGraph,
        deps: &[NewAtomDependency],
        waves: &[NewWave],
    ) -> Result<()>;
    async fn load_dependency_graph(&self, plan: PlanId) -> Result<Option<StoredDependencyGraph>>;
    async fn load_waves(&self, plan: PlanId) -> Result<Vec<StoredWave>>;
    /// Persists the plan's mode and appends an `execution_mode_set` history row carrying the
    /// mode (also in its `execution_mode` column) and the reason; returns the history id.
    async fn set_execution_mode(
        &self,
        plan: PlanId,
        mode: ExecutionMode,
        reason: &str,
    ) -> Result<i64>;
    async fn execution_mode(&self, plan: PlanId) -> Result<ExecutionMode>;
    /// Records how long atomizing the plan took.
    async fn record_atomization_time(&self, plan: PlanId, seconds: f64) -> Result<()>;
    /// The plan's V2 metrics: atom count and mean lines (maintained by `insert_atoms`),
    /// atomization and graph build times.
    async fn load_v2_metrics(&self, plan: PlanId) -> Result<V2Metrics>;
    async fn insert_validation_results(
        &self,
        plan: PlanId,
        results: &[NewValidationResult],
    ) -> Result<()>;
    async fn load_validation_results(&self, plan: PlanId) -> Result<Vec<StoredValidationResult>>;
    /// Records a failed attempt; reusing an attempt number is a unique-constraint error.
    async fn record_atom_retry(&self, retry: &NewAtomRetry) -> Result<uuid::Uuid>;
    async fn load_atom_retries(&self, atom: AtomId) -> Result<Vec<StoredAtomRetry>>;
    /// Starts an attempt: inserts its retry row (the attempt number must be new for the atom,
    /// else a unique-constraint error) and marks the atom `running` with
    /// `attempts = attempt_number`, in one transaction.
    /// The history rows `events` (e.g. `unit_started`) are appended in the same transaction;
    /// returns the attempt row's id and the history ids.
    async fn start_atom_attempt(
        &self,
        attempt: &NewAtomRetry,
        events: &[HistoryEvent],
    ) -> Result<(uuid::Uuid, Vec<i64>)>;
    /// Completes an attempt started with [`Store::start_atom_attempt`] and records its result
    /// on the atom, with the history row `event` when given, in one transaction; returns that
    /// row's id.
    async fn finish_atom_attempt(
        &self,
        finish: &AtomAttemptFinish,
        validation: Option<&NewValidationResult>,
        events: &[HistoryEvent],
    ) -> Result<Vec<i64>>;
    /// Sets an atom's status and last error (`None` clears it).
    async fn set_atom_status(
        &self,
        atom: AtomId,
        status: AtomStatus,
        error: Option<&str>,
    ) -> Result<()>;
    /// Queues an atom for review and flags it (`needs_human_review`, `confidence_score`).
    async fn enqueue_review(&self, plan: PlanId, review: &NewReview) -> Result<uuid::Uuid>;
    /// The plan's review queue, lowest confidence first.
    async fn load_review_queue(&self, plan: PlanId) -> Result<Vec<StoredReview>>;
    /// Records one post-generation validation round: its `validation_results` rows, the atoms
    /// it restores to an earlier version (`(atom, code)`), and the history rows that report it,
    /// in one transaction.
    async fn record_validation_round(
        &self,
        plan: PlanId,
        results: &[NewValidationResult],
        restores: &[(AtomId, String)],
        events: &[HistoryEvent],
    ) -> Result<Vec<i64>>;
    /// Stores the atoms' confidence scores and queues `reviews` (an atom already queued keeps
    /// its entry), with the history rows that report it, in one transaction.
    async fn record_confidence(
        &self,
        plan: PlanId,
        scores: &[(AtomId, f64)],
        reviews: &[NewReview],
        events: &[HistoryEvent],
    ) -> Result<Vec<i64>>;
    /// The review entry of an atom, if it was ever queued.
    async fn load_review(&self, atom: AtomId) -> Result<Option<StoredReview>>;
    /// Review entries, lowest confidence first, of one plan or of all, optionally of one status.
    async fn list_reviews(
        &self,
        plan: Option<PlanId>,
        status: Option<ReviewStatus>,
    ) -> Result<Vec<StoredReview>>;
    /// Moves a pending review to `in_review`, assigned to `reviewer` (again by the same or
    /// another reviewer while in review). Fails when the review is already decided.
    async fn claim_review(&self, atom: AtomId, reviewer: &str) -> Result<StoredReview>;
    /// Records a decision on an open (pending or in-review) review: the review's status, who,
    /// when and why, the atom's reviewed flags, the edited code and the atom status when given,
    /// and the history rows, in one transaction. Returns the review as decided.
    async fn decide_review(
        &self,
        decision: &NewReviewDecision,
        events: &[HistoryEvent],
    ) -> Result<(StoredReview, Vec<i64>)>;

    // ---- inspection -------------------------------------------------------------------------

    /// User tables, sorted (the migrations bookkeeping table excluded).
    async fn tables(&self) -> Result<Vec<String>>;
    /// Index names, sorted (including those backing primary keys and unique constraints).
    async fn indexes(&self) -> Result<Vec<String>>;
    /// Columns of `table` in declaration order; empty when the table does not exist.
    async fn table_columns(&self, table: &str) -> Result<Vec<String>>;
    /// One hex SHA-256 per row of `table` ordered by `order_by`, over `columns` in the given
    /// order, each value rendered as text by the database.
    async fn table_row_digests(
        &self,
        table: &str,
        columns: &[String],
        order_by: &[String],
    ) -> Result<Vec<String>>;

    // ---- API (table of migration 0003) -------------------------------------------------------

    /// Stores a bearer token's SHA-256 (64 hex digits) for a user.
    async fn insert_api_token(&self, token_hash: &str, owner: &TokenOwner) -> Result<()>;
    /// The user of the token with this SHA-256, if any.
    async fn find_api_token(&self, token_hash: &str) -> Result<Option<TokenOwner>>;
    /// The plan a task belongs to (`None`: no such task).
    async fn plan_of_task(&self, task: TaskId) -> Result<Option<PlanId>>;
    /// The plan an atom belongs to (`None`: no such atom).
    async fn plan_of_atom(&self, atom: AtomId) -> Result<Option<PlanId>>;
    /// Store-wide counts for metrics, from grouped queries.
    async fn api_stats(&self) -> Result<ApiStats>;

    // ---- dual-mode control (tables of migration 0004) ---------------------------------------

    /// Flags, their audit trail, mode overrides and rollback events.
    fn modes(&self) -> &dyn ModeStore;
}

/// Implements [`Store`] for a backend struct with a `pool` field, forwarding to the
/// backend's `mvp`, `v2` modules and its inherent catalog methods.
macro_rules! forward_store {
    ($store:ty, $backend:expr, $migrator:expr) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> $crate::Backend {
                $backend
            }
            async fn close(&self) {
                self.pool.close().await;
            }
            async fn migrate_up(&self) -> $crate::Result<()> {
                let target = $crate::migrate::latest_version(&$migrator);
                self.migrate_to(target).await
            }
            async fn migrate_to(&self, version: i64) -> $crate::Result<()> {
                let mut conn = self.acquire("migrating").await?;
                $crate::migrate::migrate_to(&mut *conn, &$migrator, version).await
            }
            async fn migrate_down(&self) -> $crate::Result<Option<i64>> {
                let mut conn = self.acquire("migrating").await?;
                $crate::migrate::migrate_down(&mut *conn, &$migrator).await
            }
            async fn migration_status(&self) -> $crate::Result<Vec<$crate::MigrationStatus>> {
                let mut conn = self.acquire("reading migration status").await?;
                $crate::migrate::status(&mut *conn, &$migrator).await
            }
            async fn import_plan(
                &self,
                plan: &mge_plan::Plan,
                owner: &str,
            ) -> $crate::Result<mge_core::PlanId> {
                mvp::import_plan(&self.pool, plan, owner).await
            }
            async fn load_plan(
                &self,
                plan: mge_core::PlanId,
            ) -> $crate::Result<$crate::StoredPlan> {
                mvp::load_plan(&self.pool, plan).await
            }
            async fn list_plans(&self) -> $crate::Result<Vec<$crate::PlanSummary>> {
                mvp::list_plans(&self.pool).await
            }
            async fn set_plan_status(
                &self,
                plan: mge_core::PlanId,
                status: mge_core::TaskStatus,
            ) -> $crate::Result<()> {
                mvp::set_plan_status(&self.pool, plan, status).await
            }
            async fn set_task_status(
                &self,
                task: mge_core::TaskId,
                status: mge_core::TaskStatus,
                outcome: &$crate::Outcome,
            ) -> $crate::Result<i32> {
                mvp::set_task_status(&self.pool, task, status, outcome).await
            }
            async fn set_subtask_result(
                &self,
                subtask: $crate::SubtaskId,
                status: mge_core::TaskStatus,
                outcome: &$crate::Outcome,
                event: Option<&$crate::HistoryEvent>,
            ) -> $crate::Result<(i32, Option<i64>)> {
                mvp::set_subtask_result(&self.pool, subtask, status, outcome, event).await
            }
            async fn append_history(
                &self,
                plan: mge_core::PlanId,
                task: Option<mge_core::TaskId>,
                event: &str,
                details: &serde_json::Value,
            ) -> $crate::Result<i64> {
                mvp::append_history(&self.pool, plan, task, event, details).await
            }
            async fn load_history(
                &self,
                plan: mge_core::PlanId,
            ) -> $crate::Result<Vec<$crate::HistoryEntry>> {
                mvp::load_history(&self.pool, plan).await
            }
            async fn insert_atoms(
                &self,
                plan: mge_core::PlanId,
                atoms: &[$crate::NewAtom],
            ) -> $crate::Result<()> {
                v2::insert_atoms(&self.pool, plan, atoms).await
            }
            async fn insert_atom_dependencies(
                &self,
                plan: mge_core::PlanId,
                deps: &[$crate::NewAtomDependency],
            ) -> $crate::Result<()> {
                graph::insert_atom_dependencies(&self.pool, plan, deps).await
            }
            async fn load_atoms(
                &self,
                plan: mge_core::PlanId,
            ) -> $crate::Result<Vec<$crate::StoredAtom>> {
                v2::load_atoms(&self.pool, plan).await
            }
            async fn load_atom_dependencies(
                &self,
                plan: mge_core::PlanId,
            ) -> $crate::Result<Vec<$crate::NewAtomDependency>> {
                graph::load_atom_dependencies(&self.pool, plan).await
            }
            async fn replace_dependency_graph(
                &self,
                plan: mge_core::PlanId,
                graph: &$crate::NewDependencyGraph,
                deps: &[$crate::NewAtomDependency],
                waves: &[$crate::NewWave],
            ) -> $crate::Result<()> {
                graph::replace_dependency_graph(&self.pool, plan, graph, deps, waves).await
            }
            async fn load_dependency_graph(
                &self,
                plan: mge_core::PlanId,
            ) -> $crate::Result<Option<$crate::StoredDependencyGraph>> {
                graph::load_dependency_graph(&self.pool, plan).await
            }
            async fn load_waves(
                &self,
                plan: mge_core::PlanId,
            ) -> $crate::Result<Vec<$crate::StoredWave>> {
                graph::load_waves(&self.pool, plan).await
            }
            async fn set_execution_mode(
                &self,
                plan: mge_core::PlanId,
                mode: mge_core::ExecutionMode,
                reason: &str,
            ) -> $crate::Result<i64> {
                v2::set_execution_mode(&self.pool, plan, mode, reason).await
            }
            async fn execution_mode(
                &self,
                plan: mge_core::PlanId,
            ) -> $crate::Result<mge_core::ExecutionMode> {
                v2::execution_mode(&self.pool, plan).await
            }
            async fn record_atomization_time(
                &self,
                plan: mge_core::PlanId,
                seconds: f64,
            ) -> $crate::Result<()> {
                v2::record_atomization_time(&self.pool, plan, seconds).await
            }
            async fn load_v2_metrics(
                &self,
                plan: mge_core::PlanId,
            ) -> $crate::Result<$crate::V2Metrics> {
                v2::load_v2_metrics(&self.pool, plan).await
            }
            async fn insert_validation_results(
                &self,
                plan: mge_core::PlanId,
                results: &[$crate::NewValidationResult],
            ) -> $crate::Result<()> {
                v2::insert_validation_results(&self.pool, plan, results).await
            }
            async fn load_validation_results(
                &self,
                plan: mge_core::PlanId,
            ) -> $crate::Result<Vec<$crate::StoredValidationResult>> {
                v2::load_validation_results(&self.pool, plan).await
            }
            async fn record_atom_retry(
                &self,
                retry: &$crate::NewAtomRetry,
            ) -> $crate::Result<uuid::Uuid> {
                v2::record_atom_retry(&self.pool, retry).await
            }
            async fn load_atom_retries(
                &self,
                atom: mge_core::AtomId,
            ) -> $crate::Result<Vec<$crate::StoredAtomRetry>> {
                v2::load_atom_retries(&self.pool, atom).await
            }
            async fn start_atom_attempt(
                &self,
                attempt: &$crate::NewAtomRetry,
                events: &[$crate::HistoryEvent],
            ) -> $crate::Result<(uuid::Uuid, Vec<i64>)> {
                v2::start_atom_attempt(&self.pool, attempt, events).await
            }
            async fn finish_atom_attempt(
                &self,
                finish: &$crate::AtomAttemptFinish,
                validation: Option<&$crate::NewValidationResult>,
                events: &[$crate::HistoryEvent],
            ) -> $crate::Result<Vec<i64>> {
                v2::finish_atom_attempt(&self.pool, finish, validation, events).await
            }
            async fn set_atom_status(
                &self,
                atom: mge_core::AtomId,
                status: mge_core::AtomStatus,
                error: Option<&str>,
            ) -> $crate::Result<()> {
                v2::set_atom_status(&self.pool, atom, status, error).await
            }
            async fn enqueue_review(
                &self,
                plan: mge_core::PlanId,
                review: &$crate::NewReview,
            ) -> $crate::Result<uuid::Uuid> {
                v2::enqueue_review(&self.pool, plan, review).await
            }
            async fn load_review_queue(
                &self,
                plan: mge_core::PlanId,
            ) -> $crate::Result<Vec<$crate::StoredReview>> {
                v2::load_review_queue(&self.pool, plan).await
            }
            async fn record_validation_round(
                &self,
                plan: mge_core::PlanId,
                results: &[$crate::NewValidationResult],
                restores: &[(mge_core::AtomId, String)],
                events: &[$crate::HistoryEvent],
            ) -> $crate::Result<Vec<i64>> {
                $crate::review_sql::ReviewOps::record_validation_round(
                    &self.pool, plan, results, restores, events,
                )
                .await
            }
            async fn record_confidence(
                &self,
                plan: mge_core::PlanId,
                scores: &[(mge_core::AtomId, f64)],
                reviews: &[$crate::NewReview],
                events: &[$crate::HistoryEvent],
            ) -> $crate::Result<Vec<i64>> {
                $crate::review_sql::ReviewOps::record_confidence(
                    &self.pool, plan, scores, reviews, events,
                )
                .await
            }
            async fn load_review(
                &self,
                atom: mge_core::AtomId,
            ) -> $crate::Result<Option<$crate::StoredReview>> {
                $crate::review_sql::ReviewOps::load_review(&self.pool, atom).await
            }
            async fn list_reviews(
                &self,
                plan: Option<mge_core::PlanId>,
                status: Option<mge_core::ReviewStatus>,
            ) -> $crate::Result<Vec<$crate::StoredReview>> {
                $crate::review_sql::ReviewOps::list_reviews(&self.pool, plan, status).await
            }
            async fn claim_review(
                &self,
                atom: mge_core::AtomId,
                reviewer: &str,
            ) -> $crate::Result<$crate::StoredReview> {
                $crate::review_sql::ReviewOps::claim_review(&self.pool, atom, reviewer).await
            }
            async fn decide_review(
                &self,
                decision: &$crate::NewReviewDecision,
                events: &[$crate::HistoryEvent],
            ) -> $crate::Result<($crate::StoredReview, Vec<i64>)> {
                $crate::review_sql::ReviewOps::decide_review(&self.pool, decision, events).await
            }
            async fn tables(&self) -> $crate::Result<Vec<String>> {
                self.catalog_tables().await
            }
            async fn indexes(&self) -> $crate::Result<Vec<String>> {
                self.catalog_indexes().await
            }
            async fn table_columns(&self, table: &str) -> $crate::Result<Vec<String>> {
                self.catalog_columns(table).await
            }
            async fn table_row_digests(
                &self,
                table: &str,
                columns: &[String],
                order_by: &[String],
            ) -> $crate::Result<Vec<String>> {
                let sql = $crate::inspect::digest_query(table, columns, order_by)?;
                let rows = sqlx::query(&sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::error::db_err("digesting rows of", "table", table))?;
                rows.iter()
                    .map(|r| {
                        let values = (0..columns.len())
                            .map(|i| {
                                sqlx::Row::try_get::<Option<String>, _>(r, i).map_err(|e| {
                                    $crate::StoreError::corrupt("table", table, "row digest", e)
                                })
                            })
                            .collect::<$crate::Result<Vec<_>>>()?;
                        Ok($crate::inspect::digest_row(&values))
                    })
                    .collect()
            }
            async fn insert_api_token(
                &self,
                token_hash: &str,
                owner: &$crate::TokenOwner,
            ) -> $crate::Result<()> {
                $crate::tokens::ApiOps::insert_api_token(&self.pool, token_hash, owner).await
            }
            async fn find_api_token(
                &self,
                token_hash: &str,
            ) -> $crate::Result<Option<$crate::TokenOwner>> {
                $crate::tokens::ApiOps::find_api_token(&self.pool, token_hash).await
            }
            async fn plan_of_task(
                &self,
                task: mge_core::TaskId,
            ) -> $crate::Result<Option<mge_core::PlanId>> {
                $crate::tokens::ApiOps::plan_of_task(&self.pool, task).await
            }
            async fn plan_of_atom(
                &self,
                atom: mge_core::AtomId,
            ) -> $crate::Result<Option<mge_core::PlanId>> {
                $crate::tokens::ApiOps::plan_of_atom(&self.pool, atom).await
            }
            async fn api_stats(&self) -> $crate::Result<$crate::ApiStats> {
                $crate::api_stats::StatsOps::api_stats(&self.pool).await
            }
            fn modes(&self) -> &dyn $crate::ModeStore {
                &self.pool
            }
        }
    };
}

pub(crate) use forward_store;
