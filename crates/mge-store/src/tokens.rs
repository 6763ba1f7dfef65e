//! API support: bearer tokens (table `api_tokens` of migration 0003, SHA-256 hashes only) and
//! the owner lookups the API needs to scope a task or an atom to its plan.

use async_trait::async_trait;
use mge_core::{AtomId, PlanId, TaskId};
use sqlx::{Pool, Postgres, Row, Sqlite};

use crate::error::db_err;
use crate::value::DbUuid;
use crate::{Result, StoreError};

/// The user a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenOwner {
    pub user_id: String,
    pub is_admin: bool,
}

/// API operations for one backend's pool.
#[async_trait]
pub(crate) trait ApiOps {
    async fn insert_api_token(&self, token_hash: &str, owner: &TokenOwner) -> Result<()>;
    async fn find_api_token(&self, token_hash: &str) -> Result<Option<TokenOwner>>;
    async fn plan_of_task(&self, task: TaskId) -> Result<Option<PlanId>>;
    async fn plan_of_atom(&self, atom: AtomId) -> Result<Option<PlanId>>;
}

fn check_hash(token_hash: &str) -> Result<()> {
    if token_hash.len() == 64 && token_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(StoreError::InvalidInput {
            entity: "api token",
            id: "(hash)".to_string(),
            field: "token_hash",
            reason: "expected 64 hex digits (a SHA-256)".to_string(),
        })
    }
}

macro_rules! api_ops {
    ($db:ty) => {
        #[async_trait]
        impl ApiOps for Pool<$db> {
            async fn insert_api_token(&self, token_hash: &str, owner: &TokenOwner) -> Result<()> {
                check_hash(token_hash)?;
                sqlx::query(
                    "INSERT INTO api_tokens (token_hash, user_id, is_admin) VALUES ($1, $2, $3)",
                )
                .bind(token_hash)
                .bind(&owner.user_id)
                .bind(owner.is_admin)
                .execute(self)
                .await
                .map_err(db_err("inserting", "api token of user", &owner.user_id))?;
                Ok(())
            }

            async fn find_api_token(&self, token_hash: &str) -> Result<Option<TokenOwner>> {
                let row =
                    sqlx::query("SELECT user_id, is_admin FROM api_tokens WHERE token_hash = $1")
                        .bind(token_hash)
                        .fetch_optional(self)
                        .await
                        .map_err(db_err("looking up", "api token", "(hash)"))?;
                row.map(|r| {
                    Ok(TokenOwner {
                        user_id: r.try_get("user_id").map_err(|e| {
                            StoreError::corrupt("api token", "(hash)", "user_id", e)
                        })?,
                        is_admin: r.try_get("is_admin").map_err(|e| {
                            StoreError::corrupt("api token", "(hash)", "is_admin", e)
                        })?,
                    })
                })
                .transpose()
            }

            async fn plan_of_task(&self, task: TaskId) -> Result<Option<PlanId>> {
                let row =
                    sqlx::query("SELECT masterplan_id FROM masterplan_tasks WHERE task_id = $1")
                        .bind(DbUuid(task))
                        .fetch_optional(self)
                        .await
                        .map_err(db_err("looking up the plan of", "task", task))?;
                row.map(|r| {
                    r.try_get::<DbUuid, _>("masterplan_id")
                        .map(|id| id.0)
                        .map_err(|e| StoreError::corrupt("task", task, "masterplan_id", e))
                })
                .transpose()
            }

            async fn plan_of_atom(&self, atom: AtomId) -> Result<Option<PlanId>> {
                let row = sqlx::query("SELECT masterplan_id FROM atomic_units WHERE id = $1")
                    .bind(DbUuid(atom))
                    .fetch_optional(self)
                    .await
                    .map_err(db_err("looking up the plan of", "atom", atom))?;
                row.map(|r| {
                    r.try_get::<DbUuid, _>("masterplan_id")
                        .map(|id| id.0)
                        .map_err(|e| StoreError::corrupt("atom", atom, "masterplan_id", e))
                })
                .transpose()
            }
        }
    };
}

api_ops!(Sqlite);
api_ops!(Postgres);
