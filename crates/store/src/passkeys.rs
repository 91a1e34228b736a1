//! Passkeys (WebAuthn credentials) of accounts, and the structures that require them
//! (`parcours_app::passkeys` runs the ceremonies).

use crate::{Conn, Result, StoreError};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct PasskeyRow {
    pub id: String,
    pub account_id: i64,
    pub name: String,
    /// The credential as webauthn-rs serialises it (public key, counter): no secret.
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub async fn insert(conn: &mut Conn, p: &PasskeyRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO passkeys (id, account_id, name, credential, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&p.id)
    .bind(p.account_id)
    .bind(&p.name)
    .bind(&p.credential)
    .bind(p.created_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("clé d'accès déjà enregistrée"),
        o => o,
    })?;
    Ok(())
}

pub async fn of_account(conn: &mut Conn, account_id: i64) -> Result<Vec<PasskeyRow>> {
    sqlx::query(
        "SELECT id, account_id, name, credential, created_at, last_used_at FROM passkeys \
         WHERE account_id = $1 ORDER BY created_at",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(PasskeyRow {
            id: r.try_get(0)?,
            account_id: r.try_get(1)?,
            name: r.try_get(2)?,
            credential: r.try_get(3)?,
            created_at: r.try_get(4)?,
            last_used_at: r.try_get(5)?,
        })
    })
    .collect()
}

/// After a login: the credential's new counter, and when it was used.
pub async fn used(conn: &mut Conn, id: &str, credential: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE passkeys SET credential = $2, last_used_at = $3 WHERE id = $1")
        .bind(id)
        .bind(credential)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes one of an account's passkeys; false when it has no such key.
pub async fn delete(conn: &mut Conn, account_id: i64, id: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM passkeys WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn required(conn: &mut Conn, structure_id: i64) -> Result<bool> {
    let r = sqlx::query("SELECT passkeys_required FROM structures WHERE id = $1")
        .bind(structure_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match r {
        Some(r) => r.try_get::<i64, _>(0)? == 1,
        None => false,
    })
}

pub async fn set_required(conn: &mut Conn, structure_id: i64, required: bool) -> Result<()> {
    sqlx::query("UPDATE structures SET passkeys_required = $2 WHERE id = $1")
        .bind(structure_id)
        .bind(i64::from(required))
        .execute(&mut *conn)
        .await?;
    Ok(())
}
