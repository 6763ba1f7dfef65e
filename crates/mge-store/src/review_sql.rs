//! Post-generation validation rounds, confidence scores and human review decisions (tables of
//! migration 0002: `validation_results`, `atomic_units`, `human_review_queue`). Every operation
//! is one transaction, and the history rows that report it commit with it.

use async_trait::async_trait;
use mge_core::{AtomId, PlanId, ReviewStatus};
use sqlx::types::Json;
use sqlx::{Pool, Postgres, Row, Sqlite};

use crate::error::db_err;
use crate::value::{now, parse_text, DbUuid};
use crate::{HistoryEvent, NewReview, NewReviewDecision, NewValidationResult, StoredReview};
use crate::{Result, StoreError};

/// Review and validation-round operations for one backend's pool.
#[async_trait]
pub(crate) trait ReviewOps {
    async fn record_validation_round(
        &self,
        plan: PlanId,
        results: &[NewValidationResult],
        restores: &[(AtomId, String)],
        events: &[HistoryEvent],
    ) -> Result<Vec<i64>>;
    async fn record_confidence(
        &self,
        plan: PlanId,
        scores: &[(AtomId, f64)],
        reviews: &[NewReview],
        events: &[HistoryEvent],
    ) -> Result<Vec<i64>>;
    async fn load_review(&self, atom: AtomId) -> Result<Option<StoredReview>>;
    async fn list_reviews(
        &self,
        plan: Option<PlanId>,
        status: Option<ReviewStatus>,
    ) -> Result<Vec<StoredReview>>;
    async fn claim_review(&self, atom: AtomId, reviewer: &str) -> Result<StoredReview>;
    async fn decide_review(
        &self,
        decision: &NewReviewDecision,
        events: &[HistoryEvent],
    ) -> Result<(StoredReview, Vec<i64>)>;
}

const REVIEW_COLUMNS: &str = "id, masterplan_id, atom_id, confidence_score, reasons, status, \
     assigned_to, human_decision, human_edits, human_comments, queued_at, reviewed_at";

/// Whether a review in `status` still waits for a decision.
fn open(status: ReviewStatus) -> bool {
    matches!(status, ReviewStatus::Pending | ReviewStatus::InReview)
}

fn check_decision(d: &NewReviewDecision) -> Result<()> {
    if open(d.status) {
        return Err(StoreError::invalid(
            "review of atom",
            d.atom_id,
            "status",
            format!(
                "a decision ends a review as approved, rejected or regenerated, not {}",
                d.status
            ),
        ));
    }
    if d.reviewer.trim().is_empty() {
        return Err(StoreError::invalid(
            "review of atom",
            d.atom_id,
            "reviewer",
            "must name who decided",
        ));
    }
    Ok(())
}

/// Picks an atom's latest review (an atom queued again has several rows).
const LATEST_REVIEW_ORDER: &str = "ORDER BY queued_at DESC, id LIMIT 1";

macro_rules! review_ops {
    ($db:ty, $row:ty, $mvp:path) => {
        // An anonymous scope, so the helper below exists once per backend.
        const _: () = {
        /// The latest review of `atom`, on the pool or inside a transaction.
        async fn latest_review<'e, E>(executor: E, atom: AtomId) -> Result<Option<StoredReview>>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!(
                "SELECT {REVIEW_COLUMNS} FROM human_review_queue WHERE atom_id = $1 {LATEST_REVIEW_ORDER}"
            );
            let row = sqlx::query(&sql)
                .bind(DbUuid(atom))
                .fetch_optional(executor)
                .await
                .map_err(db_err("loading", "review of atom", atom))?;
            row.as_ref().map(review_row).transpose()
        }

        #[async_trait]
        impl ReviewOps for Pool<$db> {
            async fn record_validation_round(
                &self,
                plan: PlanId,
                results: &[NewValidationResult],
                restores: &[(AtomId, String)],
                events: &[HistoryEvent],
            ) -> Result<Vec<i64>> {
                use $mvp as mvp;
                let at = now();
                let mut tx = self.begin().await.map_err(db_err(
                    "starting validation round of",
                    "plan",
                    plan,
                ))?;
                for v in results {
                    sqlx::query(
                        "INSERT INTO validation_results (id, masterplan_id, atom_id, \
                         validation_level, passed, score, violations, warnings, validated_at, \
                         duration_seconds, validator_version) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(DbUuid(uuid::Uuid::new_v4()))
                    .bind(DbUuid(plan))
                    .bind(v.atom_id.map(DbUuid))
                    .bind(v.level.as_str())
                    .bind(v.passed)
                    .bind(v.score)
                    .bind(Json(&v.violations))
                    .bind(Json(&v.warnings))
                    .bind(at)
                    .bind(v.duration_seconds)
                    .bind(v.validator_version.as_deref())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err(
                        "recording validation results of",
                        "plan",
                        plan,
                    ))?;
                }
                for (atom, code) in restores {
                    let done = sqlx::query(
                        "UPDATE atomic_units SET code = $2 WHERE id = $1 AND masterplan_id = $3",
                    )
                    .bind(DbUuid(*atom))
                    .bind(code.as_str())
                    .bind(DbUuid(plan))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("restoring the code of", "atom", atom))?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::not_found("atom", atom));
                    }
                }
                let mut seqs = Vec::with_capacity(events.len());
                for e in events {
                    seqs.push(
                        mvp::insert_history(&mut tx, e.plan, e.task, &e.event, &e.details, at)
                            .await?,
                    );
                }
                tx.commit().await.map_err(db_err(
                    "committing validation round of",
                    "plan",
                    plan,
                ))?;
                Ok(seqs)
            }

            async fn record_confidence(
                &self,
                plan: PlanId,
                scores: &[(AtomId, f64)],
                reviews: &[NewReview],
                events: &[HistoryEvent],
            ) -> Result<Vec<i64>> {
                use $mvp as mvp;
                let at = now();
                let mut tx = self.begin().await.map_err(db_err(
                    "starting confidence scores of",
                    "plan",
                    plan,
                ))?;
                for (atom, score) in scores {
                    if !(0.0..=1.0).contains(score) {
                        return Err(StoreError::invalid(
                            "atom",
                            atom,
                            "confidence_score",
                            format!("{score} is outside [0, 1]"),
                        ));
                    }
                    let done = sqlx::query(
                        "UPDATE atomic_units SET confidence_score = $2 \
                         WHERE id = $1 AND masterplan_id = $3",
                    )
                    .bind(DbUuid(*atom))
                    .bind(*score)
                    .bind(DbUuid(plan))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("scoring", "atom", atom))?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::not_found("atom", atom));
                    }
                }
                for r in reviews {
                    // At most one entry per atom: an atom already queued keeps its entry.
                    sqlx::query(
                        "INSERT INTO human_review_queue (id, atom_id, masterplan_id, \
                         confidence_score, reasons, status, queued_at) \
                         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS \
                         (SELECT 1 FROM human_review_queue WHERE atom_id = $2)",
                    )
                    .bind(DbUuid(uuid::Uuid::new_v4()))
                    .bind(DbUuid(r.atom_id))
                    .bind(DbUuid(plan))
                    .bind(r.confidence_score)
                    .bind(Json(&r.reasons))
                    .bind(ReviewStatus::Pending.as_str())
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("queueing review of", "atom", r.atom_id))?;
                    sqlx::query(
                        "UPDATE atomic_units SET needs_human_review = $2, confidence_score = $3 \
                         WHERE id = $1",
                    )
                    .bind(DbUuid(r.atom_id))
                    .bind(true)
                    .bind(r.confidence_score)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("flagging for review", "atom", r.atom_id))?;
                }
                let mut seqs = Vec::with_capacity(events.len());
                for e in events {
                    seqs.push(
                        mvp::insert_history(&mut tx, e.plan, e.task, &e.event, &e.details, at)
                            .await?,
                    );
                }
                tx.commit().await.map_err(db_err(
                    "committing confidence scores of",
                    "plan",
                    plan,
                ))?;
                Ok(seqs)
            }

            async fn load_review(&self, atom: AtomId) -> Result<Option<StoredReview>> {
                latest_review(self, atom).await
            }

            async fn list_reviews(
                &self,
                plan: Option<PlanId>,
                status: Option<ReviewStatus>,
            ) -> Result<Vec<StoredReview>> {
                let sql = format!(
                    "SELECT {REVIEW_COLUMNS} FROM human_review_queue \
                     WHERE ($1 IS NULL OR masterplan_id = $1) AND ($2 IS NULL OR status = $2) \
                     ORDER BY confidence_score, queued_at, id"
                );
                let rows = sqlx::query(&sql)
                    .bind(plan.map(DbUuid))
                    .bind(status.map(|s| s.as_str()))
                    .fetch_all(self)
                    .await
                    .map_err(db_err(
                        "listing",
                        "reviews of plan",
                        plan.map_or("(all)".to_string(), |p| p.to_string()),
                    ))?;
                rows.iter().map(review_row).collect()
            }

            async fn claim_review(&self, atom: AtomId, reviewer: &str) -> Result<StoredReview> {
                if reviewer.trim().is_empty() {
                    return Err(StoreError::invalid(
                        "review of atom",
                        atom,
                        "reviewer",
                        "must name who reviews",
                    ));
                }
                let mut tx = self.begin().await.map_err(db_err(
                    "starting claim of",
                    "review of atom",
                    atom,
                ))?;
                let done = sqlx::query(
                    "UPDATE human_review_queue SET status = $2, assigned_to = $3, \
                     assigned_at = $4 WHERE atom_id = $1 AND status IN ($5, $2)",
                )
                .bind(DbUuid(atom))
                .bind(ReviewStatus::InReview.as_str())
                .bind(reviewer)
                .bind(now())
                .bind(ReviewStatus::Pending.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err("claiming", "review of atom", atom))?;
                let review = latest_review(&mut *tx, atom)
                    .await?
                    .ok_or_else(|| StoreError::not_found("review of atom", atom))?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::invalid(
                        "review of atom",
                        atom,
                        "status",
                        format!("the review is already {}", review.status),
                    ));
                }
                tx.commit()
                    .await
                    .map_err(db_err("committing claim of", "review of atom", atom))?;
                Ok(review)
            }

            async fn decide_review(
                &self,
                d: &NewReviewDecision,
                events: &[HistoryEvent],
            ) -> Result<(StoredReview, Vec<i64>)> {
                use $mvp as mvp;
                check_decision(d)?;
                let atom = d.atom_id;
                let at = now();
                let mut tx = self.begin().await.map_err(db_err(
                    "starting decision on",
                    "review of atom",
                    atom,
                ))?;
                let done = sqlx::query(
                    "UPDATE human_review_queue SET status = $2, assigned_to = $3, \
                     human_decision = $4, human_edits = $5, human_comments = $6, \
                     reviewed_at = $7, assigned_at = COALESCE(assigned_at, $7) \
                     WHERE atom_id = $1 AND status IN ($8, $9)",
                )
                .bind(DbUuid(atom))
                .bind(d.status.as_str())
                .bind(d.reviewer.as_str())
                .bind(d.decision.as_str())
                .bind(d.edited_code.as_deref())
                .bind(d.comment.as_deref())
                .bind(at)
                .bind(ReviewStatus::Pending.as_str())
                .bind(ReviewStatus::InReview.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err("deciding", "review of atom", atom))?;
                let review = latest_review(&mut *tx, atom)
                    .await?
                    .ok_or_else(|| StoreError::not_found("review of atom", atom))?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::invalid(
                        "review of atom",
                        atom,
                        "status",
                        format!(
                            "the review was already decided ({}{})",
                            review.status,
                            review
                                .assigned_to
                                .as_deref()
                                .map_or(String::new(), |w| format!(" by {w}"))
                        ),
                    ));
                }
                sqlx::query(
                    "UPDATE atomic_units SET human_reviewed = $2, needs_human_review = $3, \
                     code = COALESCE($4, code), status = COALESCE($5, status), \
                     last_error = CASE WHEN $5 IS NULL THEN last_error ELSE $6 END \
                     WHERE id = $1",
                )
                .bind(DbUuid(atom))
                .bind(true)
                .bind(false)
                .bind(d.edited_code.as_deref())
                .bind(d.atom_status.map(|s| s.as_str()))
                .bind(d.atom_error.as_deref())
                .execute(&mut *tx)
                .await
                .map_err(db_err("recording review decision on", "atom", atom))?;
                let mut seqs = Vec::with_capacity(events.len());
                for e in events {
                    seqs.push(
                        mvp::insert_history(&mut tx, e.plan, e.task, &e.event, &e.details, at)
                            .await?,
                    );
                }
                tx.commit().await.map_err(db_err(
                    "committing decision on",
                    "review of atom",
                    atom,
                ))?;
                Ok((review, seqs))
            }
        }

        impl ReviewRow for $row {
            fn review(&self) -> Result<StoredReview> {
                let r = self;
                let e = "review";
                let id: DbUuid = r
                    .try_get("id")
                    .map_err(|err| StoreError::corrupt(e, "(unknown)", "id", err))?;
                let id = id.0;
                let get = |name: &'static str| {
                    move |err: sqlx::Error| StoreError::corrupt(e, id, name, err)
                };
                let status: Option<String> = r.try_get("status").map_err(get("status"))?;
                Ok(StoredReview {
                    id,
                    plan_id: r
                        .try_get::<DbUuid, _>("masterplan_id")
                        .map_err(get("masterplan_id"))?
                        .0,
                    atom_id: r.try_get::<DbUuid, _>("atom_id").map_err(get("atom_id"))?.0,
                    confidence_score: r
                        .try_get("confidence_score")
                        .map_err(get("confidence_score"))?,
                    reasons: r
                        .try_get::<Option<Json<serde_json::Value>>, _>("reasons")
                        .map_err(get("reasons"))?
                        .map(|j| j.0)
                        .unwrap_or(serde_json::Value::Null),
                    status: parse_text(status.as_deref().unwrap_or("pending"), e, id, "status")?,
                    assigned_to: r.try_get("assigned_to").map_err(get("assigned_to"))?,
                    human_decision: r.try_get("human_decision").map_err(get("human_decision"))?,
                    human_edits: r.try_get("human_edits").map_err(get("human_edits"))?,
                    human_comments: r.try_get("human_comments").map_err(get("human_comments"))?,
                    queued_at: r.try_get("queued_at").map_err(get("queued_at"))?,
                    reviewed_at: r.try_get("reviewed_at").map_err(get("reviewed_at"))?,
                })
            }
        }
        };
    };
}

/// Reads a `human_review_queue` row.
trait ReviewRow {
    fn review(&self) -> Result<StoredReview>;
}

fn review_row<R: ReviewRow>(row: &R) -> Result<StoredReview> {
    row.review()
}

review_ops!(Sqlite, sqlx::sqlite::SqliteRow, crate::sqlite::mvp);
review_ops!(Postgres, sqlx::postgres::PgRow, crate::postgres::mvp);
