//! Column value conventions shared by both backends.
//!
//! Postgres stores ids as `UUID`; SQLite stores them as hyphenated `TEXT`. [`DbUuid`] encodes
//! and decodes either way, so the SQL text and the row code are the same for both backends.
//! Timestamps are `chrono::DateTime<Utc>` (`TIMESTAMPTZ` / RFC3339 `TEXT`), truncated to whole
//! microseconds so a value reads back identically from both.

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};
use uuid::Uuid;

/// A UUID column value: native `UUID` on Postgres, hyphenated `TEXT` on SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct DbUuid(pub Uuid);

impl Type<Postgres> for DbUuid {
    fn type_info() -> PgTypeInfo {
        <Uuid as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <Uuid as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for DbUuid {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <Uuid as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for DbUuid {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <Uuid as Decode<Postgres>>::decode(value).map(DbUuid)
    }
}

impl Type<Sqlite> for DbUuid {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for DbUuid {
    fn encode_by_ref(
        &self,
        args: &mut Vec<SqliteArgumentValue<'q>>,
    ) -> Result<IsNull, BoxDynError> {
        <uuid::fmt::Hyphenated as Encode<Sqlite>>::encode_by_ref(&self.0.hyphenated(), args)
    }
}

impl<'r> Decode<'r, Sqlite> for DbUuid {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        <uuid::fmt::Hyphenated as Decode<Sqlite>>::decode(value).map(|h| DbUuid(h.into_uuid()))
    }
}

/// The current time, truncated to microseconds (the precision of `TIMESTAMPTZ`).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Largest number of bind parameters in one SQLite statement.
pub(crate) const SQLITE_MAX_BINDS: usize = 32_766;
/// Largest number of bind parameters in one Postgres statement.
pub(crate) const POSTGRES_MAX_BINDS: usize = 65_535;

/// How many rows of `columns` bind parameters fit in one statement.
pub(crate) fn rows_per_statement(max_binds: usize, columns: usize) -> usize {
    (max_binds / columns).max(1)
}

/// Converts a count or number to the `INTEGER` columns' `i32`, naming the field when it does not fit.
pub(crate) fn to_i32(
    value: usize,
    entity: &'static str,
    id: impl std::fmt::Display,
    field: &'static str,
) -> crate::Result<i32> {
    i32::try_from(value).map_err(|_| {
        crate::StoreError::invalid(entity, id, field, format!("{value} exceeds 2^31-1"))
    })
}

/// Parses a stored enum text column, naming the field when the text is unknown.
pub(crate) fn parse_text<T: std::str::FromStr>(
    text: &str,
    entity: &'static str,
    id: impl std::fmt::Display,
    field: &'static str,
) -> crate::Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map_err(|e| crate::StoreError::corrupt(entity, id, field, e))
}
