//! The Postgres backend: UUID, JSONB, TIMESTAMPTZ, DOUBLE PRECISION.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Row};

use crate::error::db_err;
use crate::{Backend, Result, StoreError};

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// A store in one Postgres database (tables in the connection's current schema).
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

pub(crate) mod mvp {
    crate::mvp_sql::mvp_ops!(sqlx::Postgres, crate::value::POSTGRES_MAX_BINDS);
}

pub(crate) mod v2 {
    crate::v2_sql::v2_ops!(sqlx::Postgres, crate::value::POSTGRES_MAX_BINDS);
    // The attempt writes are one statement each (see `postgres_attempt`).
    pub(crate) use crate::postgres_attempt::{finish_atom_attempt, start_atom_attempt};
}

pub(crate) mod graph {
    crate::graph_sql::graph_ops!(sqlx::Postgres, crate::value::POSTGRES_MAX_BINDS);
}

/// Edges go in as one `INSERT ... SELECT FROM UNNEST(arrays)` per 50,000 edges: one small
/// prepared statement instead of a 65,535-parameter one.
pub(crate) async fn bulk_insert_dependencies(
    conn: &mut sqlx::PgConnection,
    plan: mge_core::PlanId,
    deps: &[crate::NewAtomDependency],
) -> Result<()> {
    let at = crate::value::now();
    for chunk in deps.chunks(50_000) {
        let ids: Vec<uuid::Uuid> = chunk.iter().map(|_| uuid::Uuid::new_v4()).collect();
        let from: Vec<uuid::Uuid> = chunk.iter().map(|d| d.from_atom).collect();
        let to: Vec<uuid::Uuid> = chunk.iter().map(|d| d.to_atom).collect();
        let kinds: Vec<&str> = chunk.iter().map(|d| d.kind.as_str()).collect();
        let weights: Vec<f64> = chunk.iter().map(|d| d.weight).collect();
        sqlx::query(
            "INSERT INTO atom_dependencies (id, masterplan_id, from_atom_id, to_atom_id, \
             dependency_type, weight, created_at) \
             SELECT u.id, $1, u.from_atom, u.to_atom, u.kind, u.weight, $2 \
             FROM UNNEST($3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::float8[]) \
                  AS u(id, from_atom, to_atom, kind, weight)",
        )
        .bind(plan)
        .bind(at)
        .bind(&ids)
        .bind(&from)
        .bind(&to)
        .bind(&kinds)
        .bind(&weights)
        .execute(&mut *conn)
        .await
        .map_err(db_err("inserting", "atom dependencies of plan", plan))?;
    }
    Ok(())
}

impl PgStore {
    /// Connects to a `postgres://` URL.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let options = url
            .parse::<sqlx::postgres::PgConnectOptions>()
            .map_err(|e| StoreError::InvalidUrl {
                url: redact_url(url),
                reason: e.to_string(),
            })?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(db_err("connecting to", "database", redact_url(url)))?;
        Ok(PgStore { pool })
    }

    pub(crate) async fn acquire(&self, action: &'static str) -> Result<PoolConnection<Postgres>> {
        self.pool
            .acquire()
            .await
            .map_err(db_err(action, "database", "postgres"))
    }

    async fn names(&self, sql: &'static str, what: &'static str) -> Result<Vec<String>> {
        let rows = sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err("listing", what, "current schema"))?;
        rows.iter()
            .map(|r| {
                r.try_get::<String, _>(0)
                    .map_err(db_err("reading", what, "current schema"))
            })
            .collect()
    }

    pub(crate) async fn catalog_tables(&self) -> Result<Vec<String>> {
        self.names(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' ORDER BY table_name",
            "tables",
        )
        .await
    }

    pub(crate) async fn catalog_indexes(&self) -> Result<Vec<String>> {
        self.names(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() \
             ORDER BY indexname",
            "indexes",
        )
        .await
    }

    pub(crate) async fn catalog_columns(&self, table: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
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

/// The URL with its password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

crate::forward_store!(PgStore, Backend::Postgres, MIGRATOR);
