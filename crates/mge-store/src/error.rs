use std::fmt;

/// Every failure of the store. Each variant names the entity (table-level noun such as
/// `task` or `atom dependency`) and the id or field concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL handed to [`crate::open`] is not a supported database URL.
    #[error("invalid database URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },

    /// A row that had to exist does not.
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },

    /// The database refused a write because of a constraint (unique key, foreign key, ...).
    #[error("{entity} {id}: {kind} constraint{} violated: {message}", constraint_suffix(.constraint))]
    Constraint {
        entity: &'static str,
        id: String,
        kind: ConstraintKind,
        constraint: Option<String>,
        message: String,
    },

    /// A value handed to the store cannot be stored as it is.
    #[error("{entity} {id}: field '{field}': {reason}")]
    InvalidInput {
        entity: &'static str,
        id: String,
        field: &'static str,
        reason: String,
    },

    /// A stored value cannot be turned back into the domain model.
    #[error("{entity} {id}: stored field '{field}' is invalid: {reason}")]
    Corrupt {
        entity: &'static str,
        id: String,
        field: &'static str,
        reason: String,
    },

    /// A migration could not be applied or reverted.
    #[error("migration {version}: {source}")]
    Migration {
        version: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// Any other database failure, with what the store was doing at the time.
    #[error("database error while {action} {entity} {id}: {source}")]
    Database {
        action: &'static str,
        entity: &'static str,
        id: String,
        #[source]
        source: sqlx::Error,
    },

    /// A failure of the SQLite statements the store runs on the connection's handle directly
    /// (the V2 attempt writes), with what the store was doing at the time.
    #[error("database error while {action} {entity} {id}: {source}")]
    Sqlite {
        action: &'static str,
        entity: &'static str,
        id: String,
        #[source]
        source: rusqlite::Error,
    },
}

fn constraint_suffix(constraint: &Option<String>) -> String {
    match constraint {
        Some(name) => format!(" '{name}'"),
        None => String::new(),
    }
}

/// Which kind of constraint a write violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    Unique,
    ForeignKey,
    NotNull,
    Check,
    Other,
}

impl fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConstraintKind::Unique => "unique",
            ConstraintKind::ForeignKey => "foreign key",
            ConstraintKind::NotNull => "not-null",
            ConstraintKind::Check => "check",
            ConstraintKind::Other => "integrity",
        })
    }
}

impl StoreError {
    /// True when the error is a missing row.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }

    /// The constraint kind when the error is a constraint violation.
    pub fn constraint_kind(&self) -> Option<ConstraintKind> {
        match self {
            StoreError::Constraint { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    pub(crate) fn not_found(entity: &'static str, id: impl fmt::Display) -> StoreError {
        StoreError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub(crate) fn corrupt(
        entity: &'static str,
        id: impl fmt::Display,
        field: &'static str,
        reason: impl fmt::Display,
    ) -> StoreError {
        StoreError::Corrupt {
            entity,
            id: id.to_string(),
            field,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn invalid(
        entity: &'static str,
        id: impl fmt::Display,
        field: &'static str,
        reason: impl fmt::Display,
    ) -> StoreError {
        StoreError::InvalidInput {
            entity,
            id: id.to_string(),
            field,
            reason: reason.to_string(),
        }
    }

    /// Classifies a sqlx error: constraint violations become [`StoreError::Constraint`],
    /// `RowNotFound` becomes [`StoreError::NotFound`], the rest [`StoreError::Database`].
    pub(crate) fn db(
        action: &'static str,
        entity: &'static str,
        id: impl fmt::Display,
        source: sqlx::Error,
    ) -> StoreError {
        let id = id.to_string();
        match &source {
            sqlx::Error::RowNotFound => StoreError::NotFound { entity, id },
            sqlx::Error::Database(db) => {
                let kind = match db.kind() {
                    sqlx::error::ErrorKind::UniqueViolation => Some(ConstraintKind::Unique),
                    sqlx::error::ErrorKind::ForeignKeyViolation => Some(ConstraintKind::ForeignKey),
                    sqlx::error::ErrorKind::NotNullViolation => Some(ConstraintKind::NotNull),
                    sqlx::error::ErrorKind::CheckViolation => Some(ConstraintKind::Check),
                    _ => None,
                };
                match kind {
                    Some(kind) => StoreError::Constraint {
                        entity,
                        id,
                        kind,
                        constraint: db.constraint().map(str::to_string),
                        message: db.message().to_string(),
                    },
                    None => StoreError::Database {
                        action,
                        entity,
                        id,
                        source,
                    },
                }
            }
            _ => StoreError::Database {
                action,
                entity,
                id,
                source,
            },
        }
    }
}

/// Result of every store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// `map_err` helper: `.map_err(db_err("inserting", "task", id))`.
pub(crate) fn db_err(
    action: &'static str,
    entity: &'static str,
    id: impl fmt::Display,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::db(action, entity, id, source)
}
