//! Applying and reverting the embedded migrations (`migrations/postgres`, `migrations/sqlite`).
//!
//! sqlx's `Migrator` only runs everything or undoes down to a version; the store also needs
//! "apply up to version N" (tests build a database at version 0001), so the plan of which
//! migrations to apply or revert is made here and executed with sqlx's [`Migrate`] primitives,
//! which keep the same `_sqlx_migrations` bookkeeping as `sqlx migrate`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::migrate::{Migrate, MigrateError, Migration, Migrator};

use crate::{Result, StoreError};

/// One migration and whether it is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationStatus {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

fn migration_error(version: impl std::fmt::Display, source: MigrateError) -> StoreError {
    StoreError::Migration {
        version: version.to_string(),
        source,
    }
}

fn ups(migrator: &Migrator) -> impl Iterator<Item = &Migration> {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
}

/// The newest migration version known to this build.
pub(crate) fn latest_version(migrator: &Migrator) -> i64 {
    ups(migrator).map(|m| m.version).max().unwrap_or(0)
}

/// Applied versions (with checksums checked against the embedded migrations).
async fn applied<C: Migrate + ?Sized>(conn: &mut C, migrator: &Migrator) -> Result<Vec<i64>> {
    conn.ensure_migrations_table()
        .await
        .map_err(|e| migration_error("bookkeeping", e))?;
    if let Some(version) = conn
        .dirty_version()
        .await
        .map_err(|e| migration_error("bookkeeping", e))?
    {
        return Err(migration_error(version, MigrateError::Dirty(version)));
    }
    let known: HashMap<i64, &Migration> = ups(migrator).map(|m| (m.version, m)).collect();
    let mut versions = Vec::new();
    for applied in conn
        .list_applied_migrations()
        .await
        .map_err(|e| migration_error("bookkeeping", e))?
    {
        match known.get(&applied.version) {
            None => {
                return Err(migration_error(
                    applied.version,
                    MigrateError::VersionMissing(applied.version),
                ))
            }
            Some(m) if m.checksum != applied.checksum => {
                return Err(migration_error(
                    applied.version,
                    MigrateError::VersionMismatch(applied.version),
                ))
            }
            Some(_) => versions.push(applied.version),
        }
    }
    versions.sort_unstable();
    Ok(versions)
}

/// Brings the schema to exactly `target`: applies the missing migrations up to it, in order,
/// and reverts the applied ones above it, newest first. Each step runs in its own transaction.
pub(crate) async fn migrate_to<C: Migrate + ?Sized>(
    conn: &mut C,
    migrator: &Migrator,
    target: i64,
) -> Result<()> {
    if target != 0 && !ups(migrator).any(|m| m.version == target) {
        return Err(migration_error(
            target,
            MigrateError::VersionMissing(target),
        ));
    }
    conn.lock().await.map_err(|e| migration_error("lock", e))?;
    let outcome = migrate_locked(conn, migrator, target).await;
    let unlocked = conn
        .unlock()
        .await
        .map_err(|e| migration_error("unlock", e));
    outcome.and(unlocked)
}

async fn migrate_locked<C: Migrate + ?Sized>(
    conn: &mut C,
    migrator: &Migrator,
    target: i64,
) -> Result<()> {
    let applied = applied(conn, migrator).await?;
    for m in ups(migrator) {
        if m.version <= target && !applied.contains(&m.version) {
            tracing::info!(version = m.version, description = %m.description, "applying migration");
            conn.apply(m)
                .await
                .map_err(|e| migration_error(m.version, e))?;
        }
    }
    let mut downs: Vec<&Migration> = migrator
        .iter()
        .filter(|m| m.migration_type.is_down_migration())
        .filter(|m| m.version > target && applied.contains(&m.version))
        .collect();
    downs.sort_by_key(|m| std::cmp::Reverse(m.version));
    for m in downs {
        tracing::info!(version = m.version, description = %m.description, "reverting migration");
        conn.revert(m)
            .await
            .map_err(|e| migration_error(m.version, e))?;
    }
    Ok(())
}

/// Reverts the newest applied migration; returns its version, or `None` when nothing was applied.
pub(crate) async fn migrate_down<C: Migrate + ?Sized>(
    conn: &mut C,
    migrator: &Migrator,
) -> Result<Option<i64>> {
    conn.lock().await.map_err(|e| migration_error("lock", e))?;
    let outcome = async {
        let applied = applied(conn, migrator).await?;
        let Some(&latest) = applied.last() else {
            return Ok(None);
        };
        let previous = applied.iter().rev().nth(1).copied().unwrap_or(0);
        migrate_locked(conn, migrator, previous).await?;
        Ok(Some(latest))
    }
    .await;
    let unlocked = conn
        .unlock()
        .await
        .map_err(|e| migration_error("unlock", e));
    outcome.and_then(|v| unlocked.map(|()| v))
}

pub(crate) async fn status<C: Migrate + ?Sized>(
    conn: &mut C,
    migrator: &Migrator,
) -> Result<Vec<MigrationStatus>> {
    let applied = applied(conn, migrator).await?;
    Ok(ups(migrator)
        .map(|m| MigrationStatus {
            version: m.version,
            description: m.description.to_string(),
            applied: applied.contains(&m.version),
        })
        .collect())
}
