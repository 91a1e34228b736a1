//! Four-eyes requests and single-use enrolment links (issue 16, promise P7).
//!
//! A request is written by one person and decided by another; the decision is a conditional
//! update (`status = 'en_attente'` and not expired), so an approval replayed, or two approvers
//! racing on two instances, change it once. This module stores; `parcours_app::approvals`
//! decides who may do what.

use crate::{Conn, Result};
use sqlx::any::AnyRow;
use sqlx::Row;

pub const PENDING: &str = "en_attente";
pub const APPROVED: &str = "approuvee";
pub const REFUSED: &str = "refusee";
pub const EXPIRED: &str = "expiree";

#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: String,
    pub kind: String,
    pub structure_id: Option<i64>,
    pub target: String,
    pub payload: String,
    pub reason: String,
    pub requested_by_account: Option<i64>,
    pub requested_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub status: String,
    pub decided_by_account: Option<i64>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_reason: Option<String>,
    pub used_at: Option<i64>,
}

const COLS: &str = "id, kind, structure_id, target, payload, reason, requested_by_account, \
    requested_by, created_at, expires_at, status, decided_by_account, decided_by, decided_at, \
    decision_reason, used_at";

fn from_row(r: &AnyRow) -> Result<RequestRow> {
    Ok(RequestRow {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        structure_id: r.try_get(2)?,
        target: r.try_get(3)?,
        payload: r.try_get(4)?,
        reason: r.try_get(5)?,
        requested_by_account: r.try_get(6)?,
        requested_by: r.try_get(7)?,
        created_at: r.try_get(8)?,
        expires_at: r.try_get(9)?,
        status: r.try_get(10)?,
        decided_by_account: r.try_get(11)?,
        decided_by: r.try_get(12)?,
        decided_at: r.try_get(13)?,
        decision_reason: r.try_get(14)?,
        used_at: r.try_get(15)?,
    })
}

pub async fn insert(conn: &mut Conn, r: &RequestRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO requests (id, kind, structure_id, target, payload, reason, requested_by_account, \
         requested_by, created_at, expires_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&r.id)
    .bind(&r.kind)
    .bind(r.structure_id)
    .bind(&r.target)
    .bind(&r.payload)
    .bind(&r.reason)
    .bind(r.requested_by_account)
    .bind(&r.requested_by)
    .bind(r.created_at)
    .bind(r.expires_at)
    .bind(&r.status)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<RequestRow>> {
    let q = format!("SELECT {COLS} FROM requests WHERE id = $1");
    match sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

/// Requests of one structure (`Some`) or of all (`None`), newest first, at most `limit`.
pub async fn list(conn: &mut Conn, structure: Option<i64>, limit: i64) -> Result<Vec<RequestRow>> {
    let rows = match structure {
        Some(s) => {
            let q = format!(
                "SELECT {COLS} FROM requests WHERE structure_id = $1 ORDER BY created_at DESC, id LIMIT $2"
            );
            sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(s)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?
        }
        None => {
            let q = format!("SELECT {COLS} FROM requests ORDER BY created_at DESC, id LIMIT $1");
            sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// Pending requests of one kind on one target (a second request for the same thing is refused).
pub async fn pending_on(conn: &mut Conn, kind: &str, target: &str, now: i64) -> Result<i64> {
    let r = sqlx::query(
        "SELECT COUNT(*) FROM requests WHERE kind = $1 AND target = $2 AND status = $3 AND expires_at > $4",
    )
    .bind(kind)
    .bind(target)
    .bind(PENDING)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get(0)?)
}

/// Requests written by one account since `since` (a burst of account requests is alerted).
pub async fn count_by_requester(conn: &mut Conn, requester: &str, since: i64) -> Result<i64> {
    let r = sqlx::query(
        "SELECT COUNT(*) FROM requests WHERE requested_by = $1 AND created_at >= $2 AND kind LIKE 'compte.%'",
    )
    .bind(requester)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get(0)?)
}

/// Decides a pending, unexpired request: true when this call decided it (exactly once).
pub async fn decide(
    conn: &mut Conn,
    id: &str,
    status: &str,
    by_account: Option<i64>,
    by: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE requests SET status = $2, decided_by_account = $3, decided_by = $4, decided_at = $5, \
         decision_reason = $6 WHERE id = $1 AND status = $7 AND expires_at > $5",
    )
    .bind(id)
    .bind(status)
    .bind(by_account)
    .bind(by)
    .bind(now)
    .bind(reason)
    .bind(PENDING)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks the pending requests of one kind and target as refused by the system (a newer
/// request replaces them, e.g. an IBAN changed again).
pub async fn supersede(conn: &mut Conn, kind: &str, target: &str, now: i64) -> Result<u64> {
    let r = sqlx::query(
        "UPDATE requests SET status = $1, decided_by = 'remplacee', decided_at = $4, \
         decision_reason = 'remplacée par une demande plus récente' \
         WHERE kind = $2 AND target = $3 AND status = $5",
    )
    .bind(REFUSED)
    .bind(kind)
    .bind(target)
    .bind(now)
    .bind(PENDING)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected())
}

/// Takes an approved export once: true for the first caller only.
pub async fn take(conn: &mut Conn, id: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE requests SET used_at = $2 WHERE id = $1 AND status = $3 AND used_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .bind(APPROVED)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The approved, untaken export request of one kind and target, if any.
pub async fn approved_untaken(
    conn: &mut Conn,
    kind: &str,
    target: &str,
    structure: i64,
) -> Result<Option<RequestRow>> {
    let q = format!(
        "SELECT {COLS} FROM requests WHERE kind = $1 AND target = $2 AND structure_id = $3 \
         AND status = $4 AND used_at IS NULL ORDER BY decided_at LIMIT 1"
    );
    match sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(kind)
        .bind(target)
        .bind(structure)
        .bind(APPROVED)
        .fetch_optional(&mut *conn)
        .await?
    {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

// ---- enrolment links ----

#[derive(Debug, Clone)]
pub struct LinkRow {
    pub account_id: i64,
    pub purpose: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A new link for an account; the account's earlier unused links stop working.
pub async fn link_insert(
    conn: &mut Conn,
    token_hash: &[u8],
    account_id: i64,
    purpose: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE enrolment_links SET used_at = $2 WHERE account_id = $1 AND used_at IS NULL",
    )
    .bind(account_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO enrolment_links (token_hash, account_id, purpose, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash.to_vec())
    .bind(account_id)
    .bind(purpose)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn link_get(conn: &mut Conn, token_hash: &[u8]) -> Result<Option<LinkRow>> {
    let r = sqlx::query(
        "SELECT account_id, purpose, created_at, expires_at, used_at FROM enrolment_links WHERE token_hash = $1",
    )
    .bind(token_hash.to_vec())
    .fetch_optional(&mut *conn)
    .await?;
    match r {
        None => Ok(None),
        Some(r) => Ok(Some(LinkRow {
            account_id: r.try_get(0)?,
            purpose: r.try_get(1)?,
            created_at: r.try_get(2)?,
            expires_at: r.try_get(3)?,
            used_at: r.try_get(4)?,
        })),
    }
}

/// Uses a link: true for the first caller only, and only before it expires.
pub async fn link_use(conn: &mut Conn, token_hash: &[u8], now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE enrolment_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash.to_vec())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}
