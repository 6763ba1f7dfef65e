//! The dependency-graph queries (`atom_dependencies`, `dependency_graphs`, `execution_waves`),
//! written once and instantiated for each backend by [`graph_ops!`] next to the V2 ones.

/// Expands to the graph operations for one sqlx database type, as free functions taking a pool.
macro_rules! graph_ops {
    ($db:ty, $max_binds:expr) => {
        use std::collections::HashSet;

        use mge_core::{AtomId, PlanId};
        use sqlx::types::Json;
        use sqlx::{Pool, QueryBuilder};

        use super::mvp::{col, insert_rows};
        use $crate::error::db_err;
        use $crate::v2::{
            NewAtomDependency, NewDependencyGraph, NewWave, StoredDependencyGraph, StoredWave,
        };
        use $crate::value::{now, parse_text, rows_per_statement, DbUuid};
        use $crate::{ConstraintKind, Result, StoreError};

        type DbConn = <$db as sqlx::Database>::Connection;
        /// Inserts edges through the backend's bulk path (`super::bulk_insert_dependencies`).
        async fn insert_dependencies(
            conn: &mut DbConn,
            plan: PlanId,
            deps: &[NewAtomDependency],
        ) -> Result<()> {
            super::bulk_insert_dependencies(conn, plan, deps).await
        }

        /// Inserts edges with multi-row `INSERT`s.
        #[allow(dead_code)] // Postgres has a faster bulk path.
        pub(crate) async fn insert_dependency_rows(
            conn: &mut DbConn,
            plan: PlanId,
            deps: &[NewAtomDependency],
        ) -> Result<()> {
            let at = now();
            insert_rows(
                conn,
                "INSERT INTO atom_dependencies (id, masterplan_id, from_atom_id, to_atom_id, \
                 dependency_type, weight, created_at) ",
                7,
                deps,
                "atom dependencies of plan",
                &plan,
                |b, d| {
                    b.push_bind(DbUuid(uuid::Uuid::new_v4()))
                        .push_bind(DbUuid(plan))
                        .push_bind(DbUuid(d.from_atom))
                        .push_bind(DbUuid(d.to_atom))
                        .push_bind(d.kind.as_str())
                        .push_bind(d.weight)
                        .push_bind(at);
                },
            )
            .await
        }

        /// Turns a foreign key failure of an edge batch (reported after the transaction is
        /// rolled back) into one naming the first edge whose atom does not exist.
        async fn explain_dependency_error(
            pool: &Pool<$db>,
            plan: PlanId,
            deps: &[NewAtomDependency],
            error: StoreError,
        ) -> StoreError {
            match error {
                StoreError::Constraint {
                    kind: ConstraintKind::ForeignKey,
                    ..
                } => match pool.acquire().await {
                    Ok(mut conn) => explain_missing_atoms(&mut conn, plan, deps).await,
                    Err(e) => StoreError::db("checking atoms of", "plan", plan, e),
                },
                other => other,
            }
        }

        /// After a foreign key failure, names the first edge whose atom does not exist.
        async fn explain_missing_atoms(
            conn: &mut DbConn,
            plan: PlanId,
            deps: &[NewAtomDependency],
        ) -> StoreError {
            let mut wanted: Vec<AtomId> = deps
                .iter()
                .flat_map(|d| [d.from_atom, d.to_atom])
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            wanted.sort();
            let mut found = HashSet::new();
            for chunk in wanted.chunks(rows_per_statement($max_binds, 1)) {
                let mut qb = QueryBuilder::<$db>::new("SELECT id FROM atomic_units WHERE id IN (");
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(DbUuid(*id));
                }
                qb.push(")");
                let rows = match qb.build().fetch_all(&mut *conn).await {
                    Ok(rows) => rows,
                    Err(e) => return StoreError::db("checking atoms of", "plan", plan, e),
                };
                for r in &rows {
                    match col::<DbUuid>(r, "id", "atom", &"?") {
                        Ok(id) => found.insert(id.0),
                        Err(e) => return e,
                    };
                }
            }
            let missing = deps.iter().find_map(|d| {
                [d.from_atom, d.to_atom]
                    .into_iter()
                    .find(|a| !found.contains(a))
                    .map(|a| (d, a))
            });
            match missing {
                Some((d, atom)) => StoreError::Constraint {
                    entity: "atom dependency",
                    id: format!("{} -> {}", d.from_atom, d.to_atom),
                    kind: ConstraintKind::ForeignKey,
                    constraint: None,
                    message: format!("atom {atom} does not exist"),
                },
                None => StoreError::Constraint {
                    entity: "atom dependencies of plan",
                    id: plan.to_string(),
                    kind: ConstraintKind::ForeignKey,
                    constraint: None,
                    message: "a referenced atom does not exist".to_string(),
                },
            }
        }

        pub(crate) async fn insert_atom_dependencies(
            pool: &Pool<$db>,
            plan: PlanId,
            deps: &[NewAtomDependency],
        ) -> Result<()> {
            let mut tx = pool
                .begin()
                .await
                .map_err(db_err("starting dependency insert of", "plan", plan))?;
            if let Err(e) = insert_dependencies(&mut tx, plan, deps).await {
                // The original error matters more than a failed rollback.
                let _ = tx.rollback().await;
                return Err(explain_dependency_error(pool, plan, deps, e).await);
            }
            tx.commit()
                .await
                .map_err(db_err("committing dependencies of", "plan", plan))
        }

        pub(crate) async fn load_atom_dependencies(
            pool: &Pool<$db>,
            plan: PlanId,
        ) -> Result<Vec<NewAtomDependency>> {
            let rows = sqlx::query(
                "SELECT id, from_atom_id, to_atom_id, dependency_type, weight \
                 FROM atom_dependencies WHERE masterplan_id = $1 \
                 ORDER BY from_atom_id, to_atom_id",
            )
            .bind(DbUuid(plan))
            .fetch_all(pool)
            .await
            .map_err(db_err("loading atom dependencies of", "plan", plan))?;
            rows.iter()
                .map(|r| {
                    let id = col::<DbUuid>(r, "id", "atom dependency of plan", &plan)?.0;
                    let e = "atom dependency";
                    let kind: String = col(r, "dependency_type", e, &id)?;
                    Ok(NewAtomDependency {
                        from_atom: col::<DbUuid>(r, "from_atom_id", e, &id)?.0,
                        to_atom: col::<DbUuid>(r, "to_atom_id", e, &id)?.0,
                        kind: parse_text(&kind, e, id, "dependency_type")?,
                        weight: col::<Option<f64>>(r, "weight", e, &id)?.unwrap_or(1.0),
                    })
                })
                .collect()
        }

        pub(crate) async fn replace_dependency_graph(
            pool: &Pool<$db>,
            plan: PlanId,
            graph: &NewDependencyGraph,
            deps: &[NewAtomDependency],
            waves: &[NewWave],
        ) -> Result<()> {
            let at = now();
            let mut tx = pool
                .begin()
                .await
                .map_err(db_err("starting graph rebuild of", "plan", plan))?;
            for (table, entity) in [
                ("atom_dependencies", "atom dependencies of plan"),
                ("execution_waves", "execution waves of plan"),
                ("dependency_graphs", "dependency graph of plan"),
            ] {
                sqlx::query(&format!("DELETE FROM {table} WHERE masterplan_id = $1"))
                    .bind(DbUuid(plan))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("deleting", entity, plan))?;
            }
            sqlx::query("UPDATE atomic_units SET wave_number = NULL WHERE masterplan_id = $1")
                .bind(DbUuid(plan))
                .execute(&mut *tx)
                .await
                .map_err(db_err("clearing waves of", "atoms of plan", plan))?;

            let parallel_waves: Vec<&Vec<AtomId>> = waves.iter().map(|w| &w.atom_ids).collect();
            sqlx::query(
                "INSERT INTO dependency_graphs (id, masterplan_id, total_atoms, total_edges, \
                 max_depth, parallelizable_atoms, execution_order, parallel_waves, boundaries, \
                 graph_json, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(DbUuid(uuid::Uuid::new_v4()))
            .bind(DbUuid(plan))
            .bind(graph.total_atoms)
            .bind(graph.total_edges)
            .bind(graph.max_depth)
            .bind(graph.parallelizable_atoms)
            .bind(Json(&graph.execution_order))
            .bind(Json(&parallel_waves))
            .bind(graph.boundaries.as_ref().map(Json))
            .bind(graph.graph_json.as_ref().map(Json))
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db_err("inserting", "dependency graph of plan", plan))?;

            if let Err(e) = insert_dependencies(&mut tx, plan, deps).await {
                // The original error matters more than a failed rollback.
                let _ = tx.rollback().await;
                return Err(explain_dependency_error(pool, plan, deps, e).await);
            }

            insert_rows(
                &mut tx,
                "INSERT INTO execution_waves (id, masterplan_id, wave_number, atom_ids, status, \
                 total_atoms, completed_atoms, failed_atoms) ",
                8,
                waves,
                "execution waves of plan",
                &plan,
                |b, w| {
                    b.push_bind(DbUuid(uuid::Uuid::new_v4()))
                        .push_bind(DbUuid(plan))
                        .push_bind(w.wave_number)
                        .push_bind(Json(&w.atom_ids))
                        .push_bind("pending")
                        .push_bind(w.atom_ids.len() as i32)
                        .push_bind(0_i32)
                        .push_bind(0_i32);
                },
            )
            .await?;

            for wave in waves {
                let mut updated = 0;
                for chunk in wave.atom_ids.chunks(rows_per_statement($max_binds, 1) - 2) {
                    let mut qb = QueryBuilder::<$db>::new("UPDATE atomic_units SET wave_number = ");
                    qb.push_bind(wave.wave_number);
                    qb.push(" WHERE masterplan_id = ");
                    qb.push_bind(DbUuid(plan));
                    qb.push(" AND id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(DbUuid(*id));
                    }
                    qb.push(")");
                    updated += qb
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err("setting wave of", "atoms of plan", plan))?
                        .rows_affected();
                }
                if updated != wave.atom_ids.len() as u64 {
                    return Err(StoreError::NotFound {
                        entity: "atom of wave",
                        id: format!(
                            "{} (wave {} names {} atoms, {} exist in plan {plan})",
                            wave.atom_ids.first().map(|a| a.to_string()).unwrap_or_default(),
                            wave.wave_number,
                            wave.atom_ids.len(),
                            updated
                        ),
                    });
                }
            }
            if let Some(seconds) = graph.build_time_seconds {
                sqlx::query(
                    "UPDATE masterplans SET v2_graph_build_time_seconds = $2 \
                     WHERE masterplan_id = $1",
                )
                .bind(DbUuid(plan))
                .bind(seconds)
                .execute(&mut *tx)
                .await
                .map_err(db_err("recording graph build time of", "plan", plan))?;
            }
            tx.commit()
                .await
                .map_err(db_err("committing graph of", "plan", plan))
        }

        pub(crate) async fn load_dependency_graph(
            pool: &Pool<$db>,
            plan: PlanId,
        ) -> Result<Option<StoredDependencyGraph>> {
            let row = sqlx::query(
                "SELECT id, total_atoms, total_edges, max_depth, parallelizable_atoms, \
                 execution_order, parallel_waves, boundaries, graph_json, created_at \
                 FROM dependency_graphs WHERE masterplan_id = $1",
            )
            .bind(DbUuid(plan))
            .fetch_optional(pool)
            .await
            .map_err(db_err("loading", "dependency graph of plan", plan))?;
            let Some(r) = row else { return Ok(None) };
            let e = "dependency graph of plan";
            Ok(Some(StoredDependencyGraph {
                id: col::<DbUuid>(&r, "id", e, &plan)?.0,
                plan_id: plan,
                total_atoms: col(&r, "total_atoms", e, &plan)?,
                total_edges: col(&r, "total_edges", e, &plan)?,
                max_depth: col(&r, "max_depth", e, &plan)?,
                parallelizable_atoms: col(&r, "parallelizable_atoms", e, &plan)?,
                execution_order: col::<Json<Vec<AtomId>>>(&r, "execution_order", e, &plan)?.0,
                parallel_waves: col::<Json<Vec<Vec<AtomId>>>>(&r, "parallel_waves", e, &plan)?.0,
                boundaries: col::<Option<Json<serde_json::Value>>>(&r, "boundaries", e, &plan)?
                    .map(|j| j.0),
                graph_json: col::<Option<Json<serde_json::Value>>>(&r, "graph_json", e, &plan)?
                    .map(|j| j.0),
                created_at: col(&r, "created_at", e, &plan)?,
            }))
        }

        pub(crate) async fn load_waves(pool: &Pool<$db>, plan: PlanId) -> Result<Vec<StoredWave>> {
            let rows = sqlx::query(
                "SELECT id, wave_number, atom_ids, status, total_atoms, completed_atoms, \
                 failed_atoms FROM execution_waves WHERE masterplan_id = $1 ORDER BY wave_number",
            )
            .bind(DbUuid(plan))
            .fetch_all(pool)
            .await
            .map_err(db_err("loading", "execution waves of plan", plan))?;
            rows.iter()
                .map(|r| {
                    let id = col::<DbUuid>(r, "id", "execution wave of plan", &plan)?.0;
                    let e = "execution wave";
                    Ok(StoredWave {
                        id,
                        wave_number: col(r, "wave_number", e, &id)?,
                        atom_ids: col::<Json<Vec<AtomId>>>(r, "atom_ids", e, &id)?.0,
                        status: col::<Option<String>>(r, "status", e, &id)?
                            .unwrap_or_else(|| "pending".to_string()),
                        total_atoms: col(r, "total_atoms", e, &id)?,
                        completed_atoms: col::<Option<i32>>(r, "completed_atoms", e, &id)?
                            .unwrap_or(0),
                        failed_atoms: col::<Option<i32>>(r, "failed_atoms", e, &id)?.unwrap_or(0),
                    })
                })
                .collect()
        }

    };
}

pub(crate) use graph_ops;
