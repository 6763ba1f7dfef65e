//! Store-wide figures for the API's `/metrics`, each from one grouped query (no per-plan reads).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::{Pool, Postgres, Row, Sqlite};

use crate::error::db_err;
use crate::Result;

/// Counts over every plan of the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiStats {
    pub plans_by_mode: BTreeMap<String, u64>,
    pub tasks_by_status: BTreeMap<String, u64>,
    pub atoms_by_status: BTreeMap<String, u64>,
    /// Attempts beyond the first, over all atoms.
    pub atom_retries: u64,
    /// Entries of the review queue.
    pub review_queue: u64,
    /// Generator tokens and cost summed over `attempt_finished` history rows.
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
}

const PLANS_BY_MODE: &str = "SELECT COALESCE(execution_mode, 'mvp') AS k, COUNT(*) AS n \
     FROM masterplans GROUP BY COALESCE(execution_mode, 'mvp')";
const TASKS_BY_STATUS: &str =
    "SELECT status AS k, COUNT(*) AS n FROM masterplan_tasks GROUP BY status";
const ATOMS_BY_STATUS: &str = "SELECT status AS k, COUNT(*) AS n, \
     CAST(COALESCE(SUM(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END), 0) AS BIGINT) AS r \
     FROM atomic_units GROUP BY status";
const REVIEW_QUEUE: &str = "SELECT COUNT(*) AS n FROM human_review_queue";
const SQLITE_USAGE: &str = "SELECT \
     CAST(COALESCE(SUM(json_extract(details, '$.tokens_in')), 0) AS INTEGER) AS ti, \
     CAST(COALESCE(SUM(json_extract(details, '$.tokens_out')), 0) AS INTEGER) AS tout, \
     CAST(COALESCE(SUM(json_extract(details, '$.cost_usd')), 0) AS REAL) AS c \
     FROM masterplan_history WHERE event = 'attempt_finished'";
const POSTGRES_USAGE: &str = "SELECT \
     CAST(COALESCE(SUM((details->>'tokens_in')::numeric), 0) AS BIGINT) AS ti, \
     CAST(COALESCE(SUM((details->>'tokens_out')::numeric), 0) AS BIGINT) AS tout, \
     CAST(COALESCE(SUM((details->>'cost_usd')::float8), 0) AS DOUBLE PRECISION) AS c \
     FROM masterplan_history WHERE event = 'attempt_finished'";

/// The aggregate queries of one backend's pool.
#[async_trait]
pub(crate) trait StatsOps {
    async fn api_stats(&self) -> Result<ApiStats>;
}

macro_rules! stats_ops {
    ($db:ty, $usage:expr) => {
        #[async_trait]
        impl StatsOps for Pool<$db> {
            async fn api_stats(&self) -> Result<ApiStats> {
                let err = || db_err("aggregating", "metrics of", "the store");
                let mut stats = ApiStats::default();
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                for row in sqlx::query(PLANS_BY_MODE)
                    .fetch_all(self)
                    .await
                    .map_err(err())?
                {
                    let k: String = row.try_get("k").map_err(err())?;
                    stats
                        .plans_by_mode
                        .insert(k, count(row.try_get("n").map_err(err())?));
                }
                for row in sqlx::query(TASKS_BY_STATUS)
                    .fetch_all(self)
                    .await
                    .map_err(err())?
                {
                    let k: String = row.try_get("k").map_err(err())?;
                    stats
                        .tasks_by_status
                        .insert(k, count(row.try_get("n").map_err(err())?));
                }
                for row in sqlx::query(ATOMS_BY_STATUS)
                    .fetch_all(self)
                    .await
                    .map_err(err())?
                {
                    let k: String = row.try_get("k").map_err(err())?;
                    stats
                        .atoms_by_status
                        .insert(k, count(row.try_get("n").map_err(err())?));
                    stats.atom_retries += count(row.try_get("r").map_err(err())?);
                }
                let row = sqlx::query(REVIEW_QUEUE)
                    .fetch_one(self)
                    .await
                    .map_err(err())?;
                stats.review_queue = count(row.try_get("n").map_err(err())?);
                let row = sqlx::query($usage).fetch_one(self).await.map_err(err())?;
                stats.tokens_in = count(row.try_get("ti").map_err(err())?);
                stats.tokens_out = count(row.try_get("tout").map_err(err())?);
                stats.cost_usd = row.try_get("c").map_err(err())?;
                Ok(stats)
            }
        }
    };
}

stats_ops!(Sqlite, SQLITE_USAGE);
stats_ops!(Postgres, POSTGRES_USAGE);
