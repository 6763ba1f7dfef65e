//! Catalog inspection and row digests, used to verify that migrations are additive and
//! reversible (the additive-schema test, `mge migrate status`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Result, StoreError};

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Refuses anything but a plain lower-case SQL identifier, so names can be spliced into SQL.
fn identifier<'a>(name: &'a str, field: &'static str) -> Result<&'a str> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(name)
    } else {
        Err(StoreError::invalid(
            "identifier",
            name,
            field,
            "expected [a-z_][a-z0-9_]* of at most 63 bytes",
        ))
    }
}

/// `SELECT CAST(c AS TEXT), ... FROM table ORDER BY ...`: every value rendered as text by the
/// database itself, columns in the given order.
pub(crate) fn digest_query(table: &str, columns: &[String], order_by: &[String]) -> Result<String> {
    let table = identifier(table, "table")?;
    if columns.is_empty() || order_by.is_empty() {
        return Err(StoreError::invalid(
            "table",
            table,
            "columns",
            "at least one column and one ORDER BY column are needed",
        ));
    }
    let select = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(format!(
                "CAST({} AS TEXT) AS v{i}",
                identifier(c, "column")?
            ))
        })
        .collect::<Result<Vec<_>>>()?
        .join(", ");
    let order = order_by
        .iter()
        .map(|c| identifier(c, "order_by"))
        .collect::<Result<Vec<_>>>()?
        .join(", ");
    Ok(format!("SELECT {select} FROM {table} ORDER BY {order}"))
}

/// Hex SHA-256 of one row: each value followed by a unit separator, NULL spelled out-of-band.
pub(crate) fn digest_row(values: &[Option<String>]) -> String {
    let mut hasher = Sha256::new();
    for value in values {
        match value {
            Some(text) => {
                hasher.update([1u8]);
                hasher.update(text.as_bytes());
            }
            None => hasher.update([0u8]),
        }
        hasher.update([0x1f]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
