//! What bounds a stolen session (issue 15, promise P3): counted reads per (account, day,
//! person), quota settings, break-glass, refused-id probes, freezes, alerts and their e-mail
//! delivery, canary tags, référent history, payment-batch downloads.
//!
//! Everything lives in the database, so that every server instance shares it. This module stores
//! and counts; `parcours_app::vigilance` decides.

use crate::{Conn, Result};
use sqlx::Row;

/// Serialises the counted reads of one account across connections and instances: the row lock
/// is held until the transaction ends (PostgreSQL; SQLite already serialises writers).
pub async fn lock_account(conn: &mut Conn, account_id: i64) -> Result<()> {
    sqlx::query("UPDATE accounts SET frozen_reason = frozen_reason WHERE id = $1")
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What the quota decision needs of an account's day, read in the same statement as the
/// dossier (see [`gate`]) or on its own ([`budget`]).
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// Points already counted today.
    pub used: i64,
    /// The structure's setting for the role, in dossiers (`None`: the default).
    pub setting: Option<i64>,
    /// When the account was created (`None`: no such account, e.g. a benchmark's).
    pub created_at: Option<i64>,
    /// Dossiers added by break-glass today.
    pub break_glass: i64,
    /// Distinct dossiers outside the caseload opened since the burst window's start.
    pub opened_in_window: i64,
}

/// One dossier as the gate of a per-dossier use case sees it.
#[derive(Debug, Clone)]
pub struct GateRow {
    pub structure_id: i64,
    pub referent_id: Option<i64>,
    /// The weight already counted today for this account and dossier (0: none).
    pub prior_weight: i64,
    pub canary: bool,
    pub budget: Budget,
}

/// Parameters shared by the gate queries: $2 account, $3 day, $4 role, $5 window start.
const BUDGET_COLUMNS: &str = "\
    (SELECT CAST(COALESCE(SUM(q.weight), 0) AS BIGINT) FROM quota_reads q WHERE q.account_id = $2 AND q.day = $3), \
    (SELECT s.daily FROM quota_settings s WHERE s.structure_id = {structure} AND s.role = $4), \
    (SELECT a.created_at FROM accounts a WHERE a.id = $2), \
    (SELECT CAST(COALESCE(SUM(b.extra), 0) AS BIGINT) FROM break_glass b WHERE b.account_id = $2 AND b.day = $3), \
    (SELECT COUNT(*) FROM quota_reads q WHERE q.account_id = $2 AND q.opened_at >= $5)";

fn budget_of(r: &sqlx::any::AnyRow, first: usize) -> Result<Budget> {
    Ok(Budget {
        used: r.try_get(first)?,
        setting: r.try_get(first + 1)?,
        created_at: r.try_get(first + 2)?,
        break_glass: r.try_get(first + 3)?,
        opened_in_window: r.try_get(first + 4)?,
    })
}

/// The dossier `id` with everything the quota decision needs, in **one statement** (it
/// replaces the structure lookup every per-dossier use case did anyway): its structure and
/// référent, what `account_id` was already counted for it today, whether `canary_tag` is a
/// canary's, and the account's day. `None`: no such dossier.
#[allow(clippy::too_many_arguments)]
pub async fn gate(
    conn: &mut Conn,
    id: &str,
    account_id: i64,
    day: &str,
    role: &str,
    window_since: i64,
    canary_tag: &[u8],
) -> Result<Option<GateRow>> {
    let q = format!(
        "SELECT j.structure_id, j.referent_id, \
           COALESCE((SELECT q.weight FROM quota_reads q WHERE q.account_id = $2 AND q.day = $3 AND q.jeune_id = j.id), 0), \
           (SELECT COUNT(*) FROM canary_tags c WHERE c.tag = $6), {} \
         FROM jeunes j WHERE j.id = $1",
        BUDGET_COLUMNS.replace("{structure}", "j.structure_id")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(id)
        .bind(account_id)
        .bind(day)
        .bind(role)
        .bind(window_since)
        .bind(canary_tag.to_vec())
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(Some(GateRow {
            structure_id: r.try_get(0)?,
            referent_id: r.try_get(1)?,
            prior_weight: r.try_get(2)?,
            canary: r.try_get::<i64, _>(3)? > 0,
            budget: budget_of(&r, 4)?,
        })),
        None => Ok(None),
    }
}

/// The account's day on its own (search, status pages).
pub async fn budget(
    conn: &mut Conn,
    structure_id: i64,
    account_id: i64,
    day: &str,
    role: &str,
    window_since: i64,
) -> Result<Budget> {
    let q = format!(
        "SELECT {} WHERE $1 = $1",
        BUDGET_COLUMNS.replace("{structure}", "$1")
    );
    let r = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .bind(account_id)
        .bind(day)
        .bind(role)
        .bind(window_since)
        .fetch_one(&mut *conn)
        .await?;
    budget_of(&r, 0)
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// For each of `ids` (a page of search candidates): its référent and the weight already
/// counted today for the account, in one statement.
pub async fn seen_today(
    conn: &mut Conn,
    ids: &[&str],
    account_id: i64,
    day: &str,
) -> Result<Vec<(String, Option<i64>, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = format!(
        "SELECT j.id, j.referent_id, \
           COALESCE((SELECT q.weight FROM quota_reads q WHERE q.account_id = $1 AND q.day = $2 AND q.jeune_id = j.id), 0) \
         FROM jeunes j WHERE j.id IN ({})",
        placeholders(3, ids.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(account_id)
        .bind(day);
    for id in ids {
        query = query.bind(*id);
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

/// How many of `tags` are canaries' tags.
pub async fn canary_hits(conn: &mut Conn, tags: &[Vec<u8>]) -> Result<i64> {
    if tags.is_empty() {
        return Ok(0);
    }
    let q = format!(
        "SELECT COUNT(*) FROM canary_tags WHERE tag IN ({})",
        placeholders(1, tags.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
    for t in tags {
        query = query.bind(t.clone());
    }
    Ok(query.fetch_one(&mut *conn).await?.try_get(0)?)
}

/// The référent of each dossier asked for (absent: unknown dossier).
pub async fn referents(conn: &mut Conn, ids: &[&str]) -> Result<Vec<(String, Option<i64>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = format!(
        "SELECT id, referent_id FROM jeunes WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
    for id in ids {
        query = query.bind(*id);
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Records that `account` was shown these dossiers today, each with its weight, in one
/// statement; keeps the heaviest weight of the day and the first time a dossier was opened
/// (weight ≥ `opened_weight`). The caller has checked the limit in this transaction, and
/// nothing else can write meanwhile (SQLite: the transaction holds the write lock).
pub async fn record_reads(
    conn: &mut Conn,
    account_id: i64,
    day: &str,
    reads: &[(&str, i64)],
    now: i64,
    opened_weight: i64,
) -> Result<()> {
    if reads.is_empty() {
        return Ok(());
    }
    let values = (0..reads.len())
        .map(|i| {
            let b = 4 + i * 3;
            format!("($1, $2, ${b}, ${}, $3, ${})", b + 1, b + 2)
        })
        .collect::<Vec<_>>()
        .join(", ");
    let q = format!(
        "INSERT INTO quota_reads (account_id, day, jeune_id, weight, first_at, opened_at) VALUES {values} \
         ON CONFLICT (account_id, day, jeune_id) DO UPDATE SET \
           weight = CASE WHEN excluded.weight > quota_reads.weight THEN excluded.weight ELSE quota_reads.weight END, \
           opened_at = COALESCE(quota_reads.opened_at, excluded.opened_at)"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(account_id)
        .bind(day)
        .bind(now);
    for (id, w) in reads {
        query = query
            .bind(*id)
            .bind(*w)
            .bind(if *w >= opened_weight { Some(now) } else { None });
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Records that `account` was shown these dossiers today, each with its weight, **if** the
/// day's points plus `delta` stay within `limit` — the check and the write are one statement,
/// so on PostgreSQL, under the account's row lock ([`lock_account`]), two transactions never
/// both spend the last point. Keeps the heaviest weight of the day and the first time a
/// dossier was opened (weight ≥ `opened_weight`). Returns false (nothing written) when the
/// limit would be passed.
#[allow(clippy::too_many_arguments)]
pub async fn record_reads_within(
    conn: &mut Conn,
    account_id: i64,
    day: &str,
    reads: &[(&str, i64)],
    now: i64,
    opened_weight: i64,
    delta: i64,
    limit: i64,
) -> Result<bool> {
    if reads.is_empty() {
        return Ok(true);
    }
    let rows = (0..reads.len())
        .map(|i| {
            let b = 6 + i * 3;
            format!(
                "SELECT CAST($1 AS BIGINT) AS a, CAST($2 AS TEXT) AS d, CAST(${b} AS TEXT) AS j, \
                 CAST(${} AS BIGINT) AS w, CAST($3 AS BIGINT) AS f, CAST(${} AS BIGINT) AS o",
                b + 1,
                b + 2
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let q = format!(
        "INSERT INTO quota_reads (account_id, day, jeune_id, weight, first_at, opened_at) \
         SELECT a, d, j, w, f, o FROM ({rows}) AS v \
         WHERE (SELECT CAST(COALESCE(SUM(q.weight), 0) AS BIGINT) FROM quota_reads q \
                WHERE q.account_id = $1 AND q.day = $2) + CAST($4 AS BIGINT) <= CAST($5 AS BIGINT) \
         ON CONFLICT (account_id, day, jeune_id) DO UPDATE SET \
           weight = CASE WHEN excluded.weight > quota_reads.weight THEN excluded.weight ELSE quota_reads.weight END, \
           opened_at = COALESCE(quota_reads.opened_at, excluded.opened_at)"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(account_id)
        .bind(day)
        .bind(now)
        .bind(delta)
        .bind(limit);
    for (id, w) in reads {
        query = query
            .bind(*id)
            .bind(*w)
            .bind(if *w >= opened_weight { Some(now) } else { None });
    }
    Ok(query.execute(&mut *conn).await?.rows_affected() > 0)
}

/// Points used by an account on a day (sum of the weights of its counted reads).
pub async fn used(conn: &mut Conn, account_id: i64, day: &str) -> Result<i64> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(weight), 0) AS BIGINT), COUNT(*) FROM quota_reads WHERE account_id = $1 AND day = $2",
    )
    .bind(account_id)
    .bind(day)
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get(0)?)
}

/// The dossier ids an account was shown outside its caseload on a day (evidence of alerts).
pub async fn read_ids(
    conn: &mut Conn,
    account_id: i64,
    day: &str,
    limit: i64,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT jeune_id FROM quota_reads WHERE account_id = $1 AND day = $2 ORDER BY first_at DESC, jeune_id LIMIT $3",
    )
    .bind(account_id)
    .bind(day)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

pub async fn set_quota_setting(
    conn: &mut Conn,
    structure_id: i64,
    role: &str,
    daily: i64,
    by: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO quota_settings (structure_id, role, daily, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (structure_id, role) DO UPDATE SET daily = excluded.daily, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(structure_id)
    .bind(role)
    .bind(daily)
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct BreakGlassRow {
    pub id: String,
    pub account_id: i64,
    pub login: String,
    pub structure_id: i64,
    pub day: String,
    pub extra: i64,
    pub reason: String,
    pub created_at: i64,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
}

pub async fn insert_break_glass(conn: &mut Conn, b: &BreakGlassRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO break_glass (id, account_id, login, structure_id, day, extra, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&b.id)
    .bind(b.account_id)
    .bind(&b.login)
    .bind(b.structure_id)
    .bind(&b.day)
    .bind(b.extra)
    .bind(&b.reason)
    .bind(b.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// (uses, extra points) of an account's break-glass on a day.
pub async fn break_glass_on(conn: &mut Conn, account_id: i64, day: &str) -> Result<(i64, i64)> {
    let r = sqlx::query(
        "SELECT COUNT(*), CAST(COALESCE(SUM(extra), 0) AS BIGINT) FROM break_glass WHERE account_id = $1 AND day = $2",
    )
    .bind(account_id)
    .bind(day)
    .fetch_one(&mut *conn)
    .await?;
    Ok((r.try_get(0)?, r.try_get(1)?))
}

fn break_glass_of(r: &sqlx::any::AnyRow) -> Result<BreakGlassRow> {
    Ok(BreakGlassRow {
        id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        login: r.try_get(2)?,
        structure_id: r.try_get(3)?,
        day: r.try_get(4)?,
        extra: r.try_get(5)?,
        reason: r.try_get(6)?,
        created_at: r.try_get(7)?,
        reviewed_by: r.try_get(8)?,
        reviewed_at: r.try_get(9)?,
    })
}

/// A structure's break-glass uses, most recent first.
pub async fn break_glass_list(
    conn: &mut Conn,
    structure_id: i64,
    limit: i64,
) -> Result<Vec<BreakGlassRow>> {
    sqlx::query(
        "SELECT id, account_id, login, structure_id, day, extra, reason, created_at, reviewed_by, reviewed_at \
         FROM break_glass WHERE structure_id = $1 ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(structure_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(break_glass_of)
    .collect()
}

/// The structure of a break-glass use.
pub async fn break_glass_structure(conn: &mut Conn, id: &str) -> Result<Option<i64>> {
    match sqlx::query("SELECT structure_id FROM break_glass WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    {
        Some(r) => Ok(Some(r.try_get(0)?)),
        None => Ok(None),
    }
}

/// Marks a break-glass use as reviewed; false if it was already reviewed.
pub async fn review_break_glass(conn: &mut Conn, id: &str, by: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE break_glass SET reviewed_by = $2, reviewed_at = $3 WHERE id = $1 AND reviewed_by IS NULL",
    )
    .bind(id)
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The per-account event logs counted over a sliding window by the scraping rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// Refused dossier ids (unknown, or of another structure): id probing.
    Probes,
    /// Searches (walking the names).
    Searches,
}

impl Tally {
    fn table(self) -> &'static str {
        match self {
            Tally::Probes => "probes",
            Tally::Searches => "searches",
        }
    }
}

/// Records one event of `tally` for an account.
pub async fn tally_add(conn: &mut Conn, tally: Tally, account_id: i64, at: i64) -> Result<()> {
    // The table name comes from the closed enum above, never from input.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {} (account_id, at) VALUES ($1, $2)",
        tally.table()
    )))
    .bind(account_id)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An account's events of `tally` since `since`.
pub async fn tally_since(
    conn: &mut Conn,
    tally: Tally,
    account_id: i64,
    since: i64,
) -> Result<i64> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {} WHERE account_id = $1 AND at >= $2",
        tally.table()
    )))
    .bind(account_id)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get(0)?)
}

/// Freezes an account and ends every session it has, on every instance (sessions live here).
/// Returns false when it was already frozen.
pub async fn freeze(conn: &mut Conn, account_id: i64, now: i64, reason: &str) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE accounts SET frozen_at = $2, frozen_reason = $3 WHERE id = $1 AND frozen_at IS NULL",
    )
    .bind(account_id)
    .bind(now)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Lifts a freeze; the account's owner logs in again with both factors (no session survived).
pub async fn unfreeze(conn: &mut Conn, account_id: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE accounts SET frozen_at = NULL, frozen_reason = NULL WHERE id = $1 AND frozen_at IS NOT NULL",
    )
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone)]
pub struct AlertRow {
    pub id: String,
    pub structure_id: Option<i64>,
    pub account_id: Option<i64>,
    pub login: String,
    pub kind: String,
    pub severity: String,
    /// JSON: counts and dossier ids, never an identity.
    pub evidence: String,
    pub created_at: i64,
    pub mail_status: String,
    pub mail_attempts: i64,
    pub mail_error: Option<String>,
    pub mail_next_at: Option<i64>,
    pub closed_by: Option<String>,
    pub closed_at: Option<i64>,
}

const ALERT_COLS: &str = "id, structure_id, account_id, login, kind, severity, evidence, created_at, \
                          mail_status, mail_attempts, mail_error, mail_next_at, closed_by, closed_at";

fn alert_of(r: &sqlx::any::AnyRow) -> Result<AlertRow> {
    Ok(AlertRow {
        id: r.try_get(0)?,
        structure_id: r.try_get(1)?,
        account_id: r.try_get(2)?,
        login: r.try_get(3)?,
        kind: r.try_get(4)?,
        severity: r.try_get(5)?,
        evidence: r.try_get(6)?,
        created_at: r.try_get(7)?,
        mail_status: r.try_get(8)?,
        mail_attempts: r.try_get(9)?,
        mail_error: r.try_get(10)?,
        mail_next_at: r.try_get(11)?,
        closed_by: r.try_get(12)?,
        closed_at: r.try_get(13)?,
    })
}

pub async fn insert_alert(conn: &mut Conn, a: &AlertRow) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO alerts ({ALERT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    )))
    .bind(&a.id)
    .bind(a.structure_id)
    .bind(a.account_id)
    .bind(&a.login)
    .bind(&a.kind)
    .bind(&a.severity)
    .bind(&a.evidence)
    .bind(a.created_at)
    .bind(&a.mail_status)
    .bind(a.mail_attempts)
    .bind(&a.mail_error)
    .bind(a.mail_next_at)
    .bind(&a.closed_by)
    .bind(a.closed_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether an alert of this kind was raised for the account since `since` (one a day is enough).
pub async fn alert_since(conn: &mut Conn, account_id: i64, kind: &str, since: i64) -> Result<bool> {
    let r = sqlx::query(
        "SELECT COUNT(*) FROM alerts WHERE account_id = $1 AND kind = $2 AND created_at >= $3",
    )
    .bind(account_id)
    .bind(kind)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get::<i64, _>(0)? > 0)
}

/// Alerts of a structure (or of every structure with `None`), most recent first.
pub async fn alerts(
    conn: &mut Conn,
    structure_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AlertRow>> {
    let q = match structure_id {
        Some(_) => format!("SELECT {ALERT_COLS} FROM alerts WHERE structure_id = $1 ORDER BY created_at DESC, id LIMIT $2"),
        None => format!("SELECT {ALERT_COLS} FROM alerts WHERE $1 = $1 ORDER BY created_at DESC, id LIMIT $2"),
    };
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(structure_id.unwrap_or(0))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(alert_of)
        .collect()
}

/// Alerts whose e-mail is due (never sent, or a retry whose time has come).
pub async fn alerts_to_mail(conn: &mut Conn, now: i64, limit: i64) -> Result<Vec<AlertRow>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ALERT_COLS} FROM alerts WHERE mail_status = 'a_envoyer' AND (mail_next_at IS NULL OR mail_next_at <= $1) \
         ORDER BY created_at, id LIMIT $2"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(alert_of)
    .collect()
}

/// Claims an alert's delivery for this instance until `until` (atomic: of several instances
/// polling the same due alert, one sends it). False: another instance has it.
pub async fn claim_alert_mail(conn: &mut Conn, id: &str, now: i64, until: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE alerts SET mail_next_at = $3 WHERE id = $1 AND mail_status = 'a_envoyer' \
         AND (mail_next_at IS NULL OR mail_next_at <= $2)",
    )
    .bind(id)
    .bind(now)
    .bind(until)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Records the outcome of one delivery attempt.
pub async fn alert_mail_outcome(
    conn: &mut Conn,
    id: &str,
    status: &str,
    error: Option<&str>,
    next_at: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE alerts SET mail_status = $2, mail_attempts = mail_attempts + 1, mail_error = $3, mail_next_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(error)
    .bind(next_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn add_canary_tag(conn: &mut Conn, tag: &[u8], structure_id: i64) -> Result<()> {
    sqlx::query("INSERT INTO canary_tags (tag, structure_id) VALUES ($1, $2)")
        .bind(tag.to_vec())
        .bind(structure_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every canary tag with its structure (a few per structure).
pub async fn canary_tags(conn: &mut Conn) -> Result<Vec<(Vec<u8>, i64)>> {
    sqlx::query("SELECT tag, structure_id FROM canary_tags")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

#[derive(Debug, Clone)]
pub struct ReferentChange {
    pub id: String,
    pub jeune_id: String,
    pub structure_id: i64,
    pub from_account: Option<i64>,
    pub to_account: Option<i64>,
    pub by_login: String,
    /// Microseconds since the epoch (orders changes made in the same second).
    pub at: i64,
    pub reason: String,
}

pub async fn insert_referent_change(conn: &mut Conn, c: &ReferentChange) -> Result<()> {
    sqlx::query(
        "INSERT INTO referent_history (id, jeune_id, structure_id, from_account, to_account, by_login, at, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&c.id)
    .bind(&c.jeune_id)
    .bind(c.structure_id)
    .bind(c.from_account)
    .bind(c.to_account)
    .bind(&c.by_login)
    .bind(c.at)
    .bind(&c.reason)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn referent_history(conn: &mut Conn, jeune_id: &str) -> Result<Vec<ReferentChange>> {
    sqlx::query(
        "SELECT id, jeune_id, structure_id, from_account, to_account, by_login, at, reason \
         FROM referent_history WHERE jeune_id = $1 ORDER BY at, id",
    )
    .bind(jeune_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(ReferentChange {
            id: r.try_get(0)?,
            jeune_id: r.try_get(1)?,
            structure_id: r.try_get(2)?,
            from_account: r.try_get(3)?,
            to_account: r.try_get(4)?,
            by_login: r.try_get(5)?,
            at: r.try_get(6)?,
            reason: r.try_get(7)?,
        })
    })
    .collect()
}

/// The first download of a month's payment batch with IBANs: (login, at).
pub async fn batch_download(
    conn: &mut Conn,
    structure_id: i64,
    month: &str,
) -> Result<Option<(String, i64)>> {
    match sqlx::query(
        "SELECT login, at FROM batch_downloads WHERE structure_id = $1 AND month = $2",
    )
    .bind(structure_id)
    .bind(month)
    .fetch_optional(&mut *conn)
    .await?
    {
        Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
        None => Ok(None),
    }
}

pub async fn record_batch_download(
    conn: &mut Conn,
    structure_id: i64,
    month: &str,
    account_id: i64,
    login: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO batch_downloads (structure_id, month, account_id, login, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(structure_id)
    .bind(month)
    .bind(account_id)
    .bind(login)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets the keyed tag of a dossier's IBAN.
pub async fn set_iban_tag(conn: &mut Conn, jeune_id: &str, tag: &[u8]) -> Result<()> {
    sqlx::query("UPDATE bank_accounts SET iban_tag = $2 WHERE jeune_id = $1")
        .bind(jeune_id)
        .bind(tag.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The other dossiers whose IBAN has this tag.
pub async fn iban_shared_with(conn: &mut Conn, tag: &[u8], except: &str) -> Result<Vec<String>> {
    sqlx::query("SELECT jeune_id FROM bank_accounts WHERE iban_tag = $1 AND jeune_id <> $2 ORDER BY jeune_id")
        .bind(tag.to_vec())
        .bind(except)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}
