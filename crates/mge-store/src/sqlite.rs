//! The SQLite backend: TEXT uuids, TEXT json, RFC3339 TEXT timestamps; foreign keys on, WAL.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool};

use crate::error::db_err;
use crate::{Backend, Result, StoreError};

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// A store in one SQLite file (or in memory).
///
/// The pool holds a single connection: SQLite serializes writers anyway, and one connection
/// rules out `SQLITE_BUSY` between a reader upgrading to a writer and another writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

pub(crate) mod mvp {
    crate::mvp_sql::mvp_ops!(sqlx::Sqlite, crate::value::SQLITE_MAX_BINDS);
}

pub(crate) mod v2 {
    crate::v2_sql::v2_ops!(sqlx::Sqlite, crate::value::SQLITE_MAX_BINDS);
    // The attempt writes run on the connection's handle (see `sqlite_attempt`).
    pub(crate) use crate::sqlite_attempt::{finish_atom_attempt, start_atom_attempt};
}

pub(crate) mod graph {
    crate::graph_sql::graph_ops!(sqlx::Sqlite, crate::value::SQLITE_MAX_BINDS);
}

/// Edges go in as multi-row `INSERT`s under the bind-parameter limit.
pub(crate) async fn bulk_insert_dependencies(
    conn: &mut sqlx::SqliteConnection,
    plan: mge_core::PlanId,
    deps: &[crate::NewAtomDependency],
) -> Result<()> {
    graph::insert_dependency_rows(conn, plan, deps).await
}

impl SqliteStore {
    /// Connects to `sqlite://path?mode=rwc` (the file is created on first use with
    /// `mode=rwc`) or `sqlite::memory:`.
    pub async fn connect(url: &str) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl {
                url: url.to_string(),
                reason: e.to_string(),
            })?
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(db_err("connecting to", "database", url))?;
        Ok(SqliteStore { pool })
    }

    pub(crate) async fn acquire(&self, action: &'static str) -> Result<PoolConnection<Sqlite>> {
        self.pool
            .acquire()
            .await
            .map_err(db_err(action, "database", "sqlite"))
    }

    pub(crate) async fn catalog_tables(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("listing", "tables", "sqlite_master"))?;
        rows.iter()
            .map(|r| {
                r.try_get::<String, _>(0)
                    .map_err(db_err("reading", "table name", "sqlite_master"))
            })
            .collect()
    }

    pub(crate) async fn catalog_indexes(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err("listing", "indexes", "sqlite_master"))?;
        rows.iter()
            .map(|r| {
                r.try_get::<String, _>(0)
                    .map_err(db_err("reading", "index name", "sqlite_master"))
            })
            .collect()
    }

    pub(crate) async fn catalog_columns(&self, table: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT name FROM pragma_table_info($1) ORDER BY cid")
            .bind(table)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err("listing columns of", "table", table))?;
        rows.iter()
            .map(|r| {
                r.try_get::<String, _>(0)
                    .map_err(db_err("reading column of", "table", table))
            })
            .collect()
    }
}

crate::forward_store!(SqliteStore, Backend::Sqlite, MIGRATOR);
