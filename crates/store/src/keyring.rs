//! Wrapped keys: the system keyring, persons' data keys (kept in their `jeunes` row), and
//! instance metadata.

use crate::{Conn, Result};
use sqlx::Row;

pub async fn get(conn: &mut Conn, purpose: &str) -> Result<Option<Vec<u8>>> {
    let row = sqlx::query("SELECT wrapped FROM keyring WHERE purpose = $1")
        .bind(purpose)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    })
}

pub async fn put(conn: &mut Conn, purpose: &str, wrapped: &[u8]) -> Result<()> {
    sqlx::query(
        "INSERT INTO keyring (purpose, wrapped) VALUES ($1, $2) \
         ON CONFLICT (purpose) DO UPDATE SET wrapped = excluded.wrapped",
    )
    .bind(purpose)
    .bind(wrapped.to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn all(conn: &mut Conn) -> Result<Vec<(String, Vec<u8>)>> {
    let rows = sqlx::query("SELECT purpose, wrapped FROM keyring ORDER BY purpose")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub async fn data_key(conn: &mut Conn, jeune_id: &str) -> Result<Option<Vec<u8>>> {
    let row =
        sqlx::query("SELECT wrapped_key FROM jeunes WHERE id = $1 AND wrapped_key IS NOT NULL")
            .bind(jeune_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match row {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    })
}

/// The tables whose rows hold a data key wrapped by the master key. Rotation walks every one of
/// them: a table missing here would keep keys wrapped by a retired master key, and its rows
/// would become unreadable after a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrappedKeys {
    /// A person's data key (`jeunes.wrapped_key`, context `dek:<id>`).
    Jeunes,
    /// A company contact's data key (`company_contacts.wrapped_key`, context `contact:<id>`).
    CompanyContacts,
}

impl WrappedKeys {
    pub const ALL: [WrappedKeys; 2] = [WrappedKeys::Jeunes, WrappedKeys::CompanyContacts];

    fn table(self) -> &'static str {
        match self {
            WrappedKeys::Jeunes => "jeunes",
            WrappedKeys::CompanyContacts => "company_contacts",
        }
    }
}

/// Replaces one row's wrapped data key (rotation).
pub async fn put_wrapped_key(
    conn: &mut Conn,
    kind: WrappedKeys,
    id: &str,
    wrapped: &[u8],
) -> Result<()> {
    // The table name comes from the closed enum above, never from input.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {} SET wrapped_key = $2 WHERE id = $1",
        kind.table()
    )))
    .bind(id)
    .bind(wrapped.to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One page of wrapped data keys of `kind` in id order, for rotation (keyset pagination).
pub async fn wrapped_keys_after(
    conn: &mut Conn,
    kind: WrappedKeys,
    after: &str,
    limit: i64,
) -> Result<Vec<(String, Vec<u8>)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, wrapped_key FROM {} WHERE id > $1 AND wrapped_key IS NOT NULL ORDER BY id LIMIT $2",
        kind.table()
    )))
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub async fn meta_get(conn: &mut Conn, key: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    })
}

pub async fn meta_set(conn: &mut Conn, key: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
