//! Accounts, server-side sessions and login throttling.

use crate::{Conn, Result, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: i64,
    pub login: String,
    pub password_hash: String,
    pub role: String,
    pub structure_id: Option<i64>,
    pub scope_region: Option<String>,
    /// TOTP secret, encrypted with the accounts key; `None` until enrolled.
    pub totp_secret: Option<Vec<u8>>,
    pub totp_last_step: i64,
    pub failed_logins: i64,
    pub locked_until: i64,
    pub active: bool,
    pub created_at: i64,
    /// When the account was frozen (scraping, quota abuse, canary), `None` when not frozen.
    pub frozen_at: Option<i64>,
    /// Last completed login (`None`: never).
    pub last_login_at: Option<i64>,
}

const COLS: &str = "id, login, password_hash, role, structure_id, scope_region, totp_secret, \
                    totp_last_step, failed_logins, locked_until, active, created_at, frozen_at, last_login_at";

fn from_row(r: &AnyRow) -> Result<AccountRow> {
    from_row_at(r, 0)
}

/// The account whose [`COLS`] start at column `at` of the row.
fn from_row_at(r: &AnyRow, at: usize) -> Result<AccountRow> {
    Ok(AccountRow {
        id: r.try_get(at)?,
        login: r.try_get(at + 1)?,
        password_hash: r.try_get(at + 2)?,
        role: r.try_get(at + 3)?,
        structure_id: r.try_get(at + 4)?,
        scope_region: r.try_get(at + 5)?,
        totp_secret: r.try_get(at + 6)?,
        totp_last_step: r.try_get(at + 7)?,
        failed_logins: r.try_get(at + 8)?,
        locked_until: r.try_get(at + 9)?,
        active: r.try_get::<i64, _>(at + 10)? == 1,
        created_at: r.try_get(at + 11)?,
        frozen_at: r.try_get(at + 12)?,
        last_login_at: r.try_get(at + 13)?,
    })
}

pub struct NewAccount<'a> {
    pub login: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub structure_id: Option<i64>,
    pub scope_region: Option<&'a str>,
    pub now: i64,
}

pub async fn insert(conn: &mut Conn, a: &NewAccount<'_>) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO accounts (login, password_hash, role, structure_id, scope_region, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(a.login)
    .bind(a.password_hash)
    .bind(a.role)
    .bind(a.structure_id)
    .bind(a.scope_region)
    .bind(a.now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("identifiant de connexion"),
        o => o,
    })?;
    Ok(row.try_get(0)?)
}

pub async fn by_login(conn: &mut Conn, login: &str) -> Result<Option<AccountRow>> {
    let q = format!("SELECT {COLS} FROM accounts WHERE login = $1");
    match sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(login)
        .fetch_optional(&mut *conn)
        .await?
    {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

pub async fn by_id(conn: &mut Conn, id: i64) -> Result<Option<AccountRow>> {
    let q = format!("SELECT {COLS} FROM accounts WHERE id = $1");
    match sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

pub async fn list(conn: &mut Conn) -> Result<Vec<AccountRow>> {
    let q = format!("SELECT {COLS} FROM accounts ORDER BY login");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn record_failure(conn: &mut Conn, id: i64, locked_until: Option<i64>) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET failed_logins = failed_logins + 1, \
         locked_until = COALESCE($2, locked_until) WHERE id = $1",
    )
    .bind(id)
    .bind(locked_until)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn reset_failures(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = 0 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_totp(conn: &mut Conn, id: i64, secret: &[u8], step: i64) -> Result<()> {
    sqlx::query("UPDATE accounts SET totp_secret = $2, totp_last_step = $3 WHERE id = $1")
        .bind(id)
        .bind(secret.to_vec())
        .bind(step)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a used TOTP time step, only if it is later than the last one used: returns false on
/// a replay. The conditional update makes this safe across server instances.
pub async fn consume_totp_step(conn: &mut Conn, id: i64, step: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE accounts SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
    )
    .bind(id)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_password(conn: &mut Conn, id: i64, hash: &str) -> Result<()> {
    sqlx::query("UPDATE accounts SET password_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a completed login (or restarts the inactivity clock, at re-enabling).
pub async fn set_last_login(conn: &mut Conn, id: i64, at: i64) -> Result<()> {
    sqlx::query("UPDATE accounts SET last_login_at = $2 WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Disables (at `at`, the end of its access) or re-enables an account (a disabled account's
/// sessions are refused at load).
pub async fn set_active(conn: &mut Conn, id: i64, active: bool, at: i64) -> Result<bool> {
    let r = if active {
        sqlx::query(
            "UPDATE accounts SET active = 1, disabled_at = NULL WHERE id = $1 AND active <> 1",
        )
        .bind(id)
        .execute(&mut *conn)
        .await?
    } else {
        sqlx::query(
            "UPDATE accounts SET active = 0, disabled_at = $2 WHERE id = $1 AND active <> 0",
        )
        .bind(id)
        .bind(at)
        .execute(&mut *conn)
        .await?
    };
    Ok(r.rows_affected() == 1)
}

/// Sets (or clears) the name colleagues read beside an account's acts.
pub async fn set_display_name(conn: &mut Conn, login: &str, name: Option<&str>) -> Result<bool> {
    let r = sqlx::query("UPDATE accounts SET display_name = $2 WHERE login = $1")
        .bind(login)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Every account's display name that is set: (login, name).
pub async fn display_names(conn: &mut Conn) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT login, display_name FROM accounts WHERE display_name IS NOT NULL ORDER BY login",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Accounts whose access ended before `before` and that still hold personal data: (id, login).
pub async fn retired_before(conn: &mut Conn, before: i64) -> Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, login FROM accounts WHERE active = 0 AND disabled_at IS NOT NULL \
         AND disabled_at < $1 AND login NOT LIKE 'ancien-compte-%' ORDER BY id",
    )
    .bind(before)
    .fetch_all(&mut *conn)
    .await?)
}

/// Removes an ended account's personal data (retention): its login becomes
/// `ancien-compte-<id>`, its password, second factor, passkeys, sessions and enrolment links
/// go. The audit log keeps the login it recorded (evidence, with its own retention).
pub async fn retire(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET login = $2, password_hash = '!', totp_secret = NULL, \
         scope_region = NULL, display_name = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(format!("ancien-compte-{id}"))
    .execute(&mut *conn)
    .await?;
    for q in [
        "DELETE FROM sessions WHERE account_id = $1",
        "DELETE FROM passkeys WHERE account_id = $1",
        "DELETE FROM enrolment_links WHERE account_id = $1",
    ] {
        sqlx::query(q).bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Sets a password hash (enrolment link, reset) and, with `clear_factor`, forgets the second
/// factor, so that the next step is its enrolment.
pub async fn set_credentials(
    conn: &mut Conn,
    account_id: i64,
    password_hash: &str,
    clear_factor: bool,
) -> Result<()> {
    let q = if clear_factor {
        "UPDATE accounts SET password_hash = $2, totp_secret = NULL WHERE id = $1"
    } else {
        "UPDATE accounts SET password_hash = $2 WHERE id = $1"
    };
    sqlx::query(q)
        .bind(account_id)
        .bind(password_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Changes an account's role and perimeter (an approved request).
pub async fn set_role(
    conn: &mut Conn,
    account_id: i64,
    role: &str,
    structure_id: Option<i64>,
    region: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET role = $2, structure_id = $3, scope_region = $4 WHERE id = $1",
    )
    .bind(account_id)
    .bind(role)
    .bind(structure_id)
    .bind(region)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Accounts in the instance (0: the first admin may be bootstrapped alone).
pub async fn account_count(conn: &mut Conn) -> Result<i64> {
    let r = sqlx::query("SELECT COUNT(*) FROM accounts")
        .fetch_one(&mut *conn)
        .await?;
    Ok(r.try_get(0)?)
}

// ---- sessions ----

const SESSION_COLS: &str =
    "token_hash, account_id, stage, csrf, created_at, last_seen, pending_secret, via_pages, factor_at";

fn session_from_row(r: &AnyRow) -> Result<SessionRow> {
    Ok(SessionRow {
        token_hash: r.try_get(0)?,
        account_id: r.try_get(1)?,
        stage: r.try_get(2)?,
        csrf: r.try_get(3)?,
        created_at: r.try_get(4)?,
        last_seen: r.try_get(5)?,
        pending_secret: r.try_get(6)?,
        via_pages: r.try_get::<i64, _>(7)? == 1,
        factor_at: r.try_get(8)?,
    })
}

/// An account's sessions, most recent first.
pub async fn sessions_of(conn: &mut Conn, account_id: i64) -> Result<Vec<SessionRow>> {
    let q = format!(
        "SELECT {SESSION_COLS} FROM sessions WHERE account_id = $1 ORDER BY created_at DESC"
    );
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(session_from_row)
        .collect()
}

/// Ends every session of an account but `keep` (its own, when changing its password).
pub async fn sessions_end_all(
    conn: &mut Conn,
    account_id: i64,
    keep: Option<&[u8]>,
) -> Result<u64> {
    let r = match keep {
        Some(k) => {
            sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2")
                .bind(account_id)
                .bind(k.to_vec())
                .execute(&mut *conn)
                .await?
        }
        None => {
            sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *conn)
                .await?
        }
    };
    Ok(r.rows_affected())
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub token_hash: Vec<u8>,
    pub account_id: Option<i64>,
    pub stage: String,
    pub csrf: String,
    pub created_at: i64,
    pub last_seen: i64,
    pub pending_secret: Option<Vec<u8>>,
    /// Opened through the pages (its use of the JSON API is a scraping sign, issue 15).
    pub via_pages: bool,
    /// When the owner last entered her second factor in this session (step-up, issue 16).
    pub factor_at: Option<i64>,
}

pub async fn session_insert(conn: &mut Conn, s: &SessionRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, stage, csrf, created_at, last_seen, pending_secret, via_pages, factor_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(s.token_hash.clone())
    .bind(s.account_id)
    .bind(s.stage.as_str())
    .bind(s.csrf.as_str())
    .bind(s.created_at)
    .bind(s.last_seen)
    .bind(s.pending_secret.clone())
    .bind(i64::from(s.via_pages))
    .bind(s.factor_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn session_get(conn: &mut Conn, token_hash: &[u8]) -> Result<Option<SessionRow>> {
    let q = format!("SELECT {SESSION_COLS} FROM sessions WHERE token_hash = $1");
    match sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(token_hash.to_vec())
        .fetch_optional(&mut *conn)
        .await?
    {
        None => Ok(None),
        Some(r) => Ok(Some(session_from_row(&r)?)),
    }
}

/// A session and its account (if it has one yet) in one statement: every authenticated request
/// starts here, and on SQLite each statement is a round trip to the connection's thread
/// (issue 20: one of the ~7 of opening a dossier).
pub async fn session_with_account(
    conn: &mut Conn,
    token_hash: &[u8],
) -> Result<Option<(SessionRow, Option<AccountRow>)>> {
    let prefixed = |cols: &str, p: &str| {
        cols.split(", ")
            .map(|c| format!("{p}.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let q = format!(
        "SELECT {}, {} FROM sessions s LEFT JOIN accounts a ON a.id = s.account_id \
         WHERE s.token_hash = $1",
        prefixed(SESSION_COLS, "s"),
        prefixed(COLS, "a")
    );
    let Some(r) = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(token_hash.to_vec())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let session = session_from_row(&r)?;
    let at = SESSION_COLS.split(", ").count();
    let account = match r.try_get::<Option<i64>, _>(at)? {
        Some(_) => Some(from_row_at(&r, at)?),
        None => None,
    };
    Ok(Some((session, account)))
}

pub async fn session_touch(conn: &mut Conn, token_hash: &[u8], now: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen = $2 WHERE token_hash = $1")
        .bind(token_hash.to_vec())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a second factor entered in the session now (step-up).
pub async fn session_set_factor(conn: &mut Conn, token_hash: &[u8], now: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET factor_at = $2 WHERE token_hash = $1")
        .bind(token_hash.to_vec())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn session_set_pending(
    conn: &mut Conn,
    token_hash: &[u8],
    pending: Option<Vec<u8>>,
) -> Result<()> {
    sqlx::query("UPDATE sessions SET pending_secret = $2 WHERE token_hash = $1")
        .bind(token_hash.to_vec())
        .bind(pending)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn session_delete(conn: &mut Conn, token_hash: &[u8]) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn sessions_purge(conn: &mut Conn, idle_before: i64, created_before: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2")
        .bind(idle_before)
        .bind(created_before)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected())
}

// ---- throttling (per keyed hash of a login or a client address) ----

/// Adds one failure to a throttle key in the current window and returns the failures counted.
pub async fn throttle_hit(conn: &mut Conn, key: &[u8], now: i64, window: i64) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO login_throttle (key, window_start, failures) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_start < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
           window_start = CASE WHEN login_throttle.window_start < $3 THEN $2 ELSE login_throttle.window_start END \
         RETURNING failures",
    )
    .bind(key.to_vec())
    .bind(now)
    .bind(now - window)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

pub async fn throttle_count(conn: &mut Conn, key: &[u8], now: i64, window: i64) -> Result<i64> {
    let row =
        sqlx::query("SELECT failures FROM login_throttle WHERE key = $1 AND window_start >= $2")
            .bind(key.to_vec())
            .bind(now - window)
            .fetch_optional(&mut *conn)
            .await?;
    match row {
        Some(r) => Ok(r.try_get(0)?),
        None => Ok(0),
    }
}

/// Gives back one counted attempt (a right password is not a failure).
pub async fn throttle_undo(conn: &mut Conn, key: &[u8]) -> Result<()> {
    sqlx::query(
        "UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0",
    )
    .bind(key.to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes the counters whose window ended before `before`.
pub async fn throttle_purge(conn: &mut Conn, before: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM login_throttle WHERE window_start < $1")
            .bind(before)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

pub async fn throttle_clear(conn: &mut Conn, key: &[u8]) -> Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
