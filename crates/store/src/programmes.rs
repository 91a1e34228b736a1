//! Programmes (CEJ, PACEA, others), CEJ weekly hours, monthly allowances and bank accounts.

use crate::{Conn, Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProgrammeRow {
    pub id: String,
    pub jeune_id: String,
    pub structure_id: i64,
    pub kind: String,
    pub status: String,
    pub referent: String,
    pub start_date: String,
    pub end_date: String,
    pub ended_on: Option<String>,
    pub tax_situation: Option<String>,
    pub created_at: i64,
    pub version: i64,
    pub payload: Option<Vec<u8>>,
}

const COLS: &str = "id, jeune_id, structure_id, kind, status, referent, start_date, end_date, ended_on, tax_situation, created_at, version, payload";

pub async fn insert(conn: &mut Conn, r: &ProgrammeRow) -> Result<()> {
    let q = format!(
        "INSERT INTO programmes ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    );
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(&r.id)
        .bind(&r.jeune_id)
        .bind(r.structure_id)
        .bind(&r.kind)
        .bind(&r.status)
        .bind(&r.referent)
        .bind(&r.start_date)
        .bind(&r.end_date)
        .bind(&r.ended_on)
        .bind(&r.tax_situation)
        .bind(r.created_at)
        .bind(r.version)
        .bind(&r.payload)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Rewrites the mutable columns if the stored version is still `r.version - 1`; `now` (unix
/// seconds) is the change time (the incremental warehouse export looks for it).
pub async fn update(conn: &mut Conn, r: &ProgrammeRow, now: i64) -> Result<()> {
    let res = sqlx::query(
        "UPDATE programmes SET status = $2, end_date = $3, ended_on = $4, tax_situation = $5, \
         version = $6, payload = $7, updated_at = $8 WHERE id = $1 AND version = $6 - 1",
    )
    .bind(&r.id)
    .bind(&r.status)
    .bind(&r.end_date)
    .bind(&r.ended_on)
    .bind(&r.tax_situation)
    .bind(r.version)
    .bind(&r.payload)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if res.rows_affected() != 1 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<ProgrammeRow>> {
    let q = format!("SELECT {COLS} FROM programmes WHERE id = $1");
    Ok(sqlx::query_as::<_, ProgrammeRow>(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn for_jeune(conn: &mut Conn, jeune_id: &str) -> Result<Vec<ProgrammeRow>> {
    let q =
        format!("SELECT {COLS} FROM programmes WHERE jeune_id = $1 ORDER BY start_date DESC, id");
    Ok(sqlx::query_as::<_, ProgrammeRow>(sqlx::AssertSqlSafe(q))
        .bind(jeune_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// Programmes of a structure of `kind` running at some point of [from, to].
pub async fn running_in_structure(
    conn: &mut Conn,
    structure_id: i64,
    kind: &str,
    from: &str,
    to: &str,
) -> Result<Vec<ProgrammeRow>> {
    let q = format!(
        "SELECT {COLS} FROM programmes WHERE structure_id = $1 AND kind = $2 AND start_date <= $4 \
         AND COALESCE(ended_on, end_date) >= $3 ORDER BY id"
    );
    Ok(sqlx::query_as::<_, ProgrammeRow>(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .bind(kind)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?)
}

/// Programmes still running on `day` of the dossiers an account is référent of (caseload):
/// reached through `jeunes(referent_id)`, so the cost follows the caseload, not the structure.
pub async fn running_for_referent(
    conn: &mut Conn,
    structure_id: i64,
    account_id: i64,
    day: &str,
) -> Result<Vec<ProgrammeRow>> {
    let cols: Vec<String> = COLS.split(", ").map(|c| format!("p.{c}")).collect();
    let q = format!(
        "SELECT {} FROM jeunes j JOIN programmes p ON p.jeune_id = j.id \
         WHERE j.structure_id = $1 AND j.referent_id = $2 AND p.status = 'en_cours' \
         AND p.start_date <= $3 AND COALESCE(p.ended_on, p.end_date) >= $3 ORDER BY p.id",
        cols.join(", ")
    );
    Ok(sqlx::query_as::<_, ProgrammeRow>(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .bind(account_id)
        .bind(day)
        .fetch_all(&mut *conn)
        .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WeekRow {
    pub programme_id: String,
    pub week: String,
    pub jeune_id: String,
    pub structure_id: i64,
    pub planned_minutes: i64,
    pub done_minutes: i64,
    pub updated_at: i64,
}

pub async fn upsert_week(conn: &mut Conn, r: &WeekRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO cej_weeks (programme_id, week, jeune_id, structure_id, planned_minutes, done_minutes, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (programme_id, week) DO UPDATE SET \
         planned_minutes = excluded.planned_minutes, done_minutes = excluded.done_minutes, updated_at = excluded.updated_at",
    )
    .bind(&r.programme_id)
    .bind(&r.week)
    .bind(&r.jeune_id)
    .bind(r.structure_id)
    .bind(r.planned_minutes)
    .bind(r.done_minutes)
    .bind(r.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn weeks(conn: &mut Conn, programme_id: &str) -> Result<Vec<WeekRow>> {
    Ok(sqlx::query_as::<_, WeekRow>(
        "SELECT programme_id, week, jeune_id, structure_id, planned_minutes, done_minutes, updated_at \
         FROM cej_weeks WHERE programme_id = $1 ORDER BY week DESC",
    )
    .bind(programme_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// CEJ weeks starting on `week` of the dossiers an account is référent of (caseload).
pub async fn weeks_for_referent(
    conn: &mut Conn,
    structure_id: i64,
    account_id: i64,
    week: &str,
) -> Result<Vec<WeekRow>> {
    Ok(sqlx::query_as::<_, WeekRow>(
        "SELECT w.programme_id, w.week, w.jeune_id, w.structure_id, w.planned_minutes, w.done_minutes, w.updated_at \
         FROM jeunes j JOIN cej_weeks w ON w.jeune_id = j.id \
         WHERE j.structure_id = $1 AND j.referent_id = $2 AND w.week = $3",
    )
    .bind(structure_id)
    .bind(account_id)
    .bind(week)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AllowanceRow {
    pub jeune_id: String,
    pub month: String,
    pub programme_id: String,
    pub structure_id: i64,
    pub kind: String,
    pub computed_cents: i64,
    pub amount_cents: i64,
    pub decision: String,
    pub author: String,
    pub decided_at: i64,
    pub version: i64,
    pub payload: Vec<u8>,
}

const ACOLS: &str = "jeune_id, month, programme_id, structure_id, kind, computed_cents, amount_cents, decision, author, decided_at, version, payload";

/// Records a new decision (version 1), or revises one if its version is still `r.version - 1`.
/// A second programme's allowance for the same month is a conflict (no cumulation).
pub async fn save_allowance(conn: &mut Conn, r: &AllowanceRow) -> Result<()> {
    if r.version == 1 {
        let q = format!(
            "INSERT INTO allowances ({ACOLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(&r.jeune_id)
            .bind(&r.month)
            .bind(&r.programme_id)
            .bind(r.structure_id)
            .bind(&r.kind)
            .bind(r.computed_cents)
            .bind(r.amount_cents)
            .bind(&r.decision)
            .bind(&r.author)
            .bind(r.decided_at)
            .bind(r.version)
            .bind(&r.payload)
            .execute(&mut *conn)
            .await?;
        return Ok(());
    }
    // The decision replaced goes to the month's history first (same transaction: a stale
    // version below rolls both back).
    sqlx::query(
        "INSERT INTO allowance_history (jeune_id, month, version, structure_id, kind, computed_cents, \
         amount_cents, decision, author, decided_at, replaced_at, replaced_by) \
         SELECT jeune_id, month, version, structure_id, kind, computed_cents, amount_cents, decision, \
         author, decided_at, $3, $4 FROM allowances WHERE jeune_id = $1 AND month = $2 AND version = $5 - 1",
    )
    .bind(&r.jeune_id)
    .bind(&r.month)
    .bind(r.decided_at)
    .bind(&r.author)
    .bind(r.version)
    .execute(&mut *conn)
    .await?;
    let res = sqlx::query(
        "UPDATE allowances SET computed_cents = $4, amount_cents = $5, decision = $6, author = $7, \
         decided_at = $8, version = $9, payload = $10 \
         WHERE jeune_id = $1 AND month = $2 AND programme_id = $3 AND version = $9 - 1",
    )
    .bind(&r.jeune_id)
    .bind(&r.month)
    .bind(&r.programme_id)
    .bind(r.computed_cents)
    .bind(r.amount_cents)
    .bind(&r.decision)
    .bind(&r.author)
    .bind(r.decided_at)
    .bind(r.version)
    .bind(&r.payload)
    .execute(&mut *conn)
    .await?;
    if res.rows_affected() != 1 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// A decision replaced by a later one for the same month.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReplacedAllowance {
    pub version: i64,
    pub kind: String,
    pub computed_cents: i64,
    pub amount_cents: i64,
    pub decision: String,
    pub author: String,
    pub decided_at: i64,
    pub replaced_at: i64,
    pub replaced_by: String,
}

/// The decisions a jeune's allowance of `month` had before the one in force, latest first.
pub async fn allowance_history(
    conn: &mut Conn,
    jeune_id: &str,
    month: &str,
) -> Result<Vec<ReplacedAllowance>> {
    Ok(sqlx::query_as::<_, ReplacedAllowance>(
        "SELECT version, kind, computed_cents, amount_cents, decision, author, decided_at, replaced_at, \
         replaced_by FROM allowance_history WHERE jeune_id = $1 AND month = $2 ORDER BY version DESC",
    )
    .bind(jeune_id)
    .bind(month)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn allowance(
    conn: &mut Conn,
    jeune_id: &str,
    month: &str,
) -> Result<Option<AllowanceRow>> {
    let q = format!("SELECT {ACOLS} FROM allowances WHERE jeune_id = $1 AND month = $2");
    Ok(sqlx::query_as::<_, AllowanceRow>(sqlx::AssertSqlSafe(q))
        .bind(jeune_id)
        .bind(month)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn allowances_for_jeune(conn: &mut Conn, jeune_id: &str) -> Result<Vec<AllowanceRow>> {
    let q = format!("SELECT {ACOLS} FROM allowances WHERE jeune_id = $1 ORDER BY month DESC");
    Ok(sqlx::query_as::<_, AllowanceRow>(sqlx::AssertSqlSafe(q))
        .bind(jeune_id)
        .fetch_all(&mut *conn)
        .await?)
}

pub async fn allowances_in_month(
    conn: &mut Conn,
    structure_id: i64,
    month: &str,
) -> Result<Vec<AllowanceRow>> {
    let q = format!(
        "SELECT {ACOLS} FROM allowances WHERE structure_id = $1 AND month = $2 ORDER BY jeune_id"
    );
    Ok(sqlx::query_as::<_, AllowanceRow>(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .bind(month)
        .fetch_all(&mut *conn)
        .await?)
}

/// The dossiers of one référent's caseload with an allowance decided for `month` (the
/// caseload's to-do list): one primary-key probe per dossier of the caseload, not the whole
/// structure's month — at 25,000 dossiers a structure's month is thousands of rows, read on
/// every caseload page (issue 20).
pub async fn decided_for_referent(
    conn: &mut Conn,
    structure_id: i64,
    referent_id: i64,
    month: &str,
) -> Result<Vec<String>> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT a.jeune_id FROM jeunes j JOIN allowances a ON a.jeune_id = j.id AND a.month = $3 \
         WHERE j.structure_id = $1 AND j.referent_id = $2 ORDER BY a.jeune_id",
    )
    .bind(structure_id)
    .bind(referent_id)
    .bind(month)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Sum of `kind` allowances decided for a jeune in months [from, to) other than `except`.
pub async fn paid_between(
    conn: &mut Conn,
    jeune_id: &str,
    kind: &str,
    from: &str,
    to: &str,
    except: &str,
) -> Result<i64> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM allowances WHERE jeune_id = $1 AND kind = $2 \
         AND month >= $3 AND month < $4 AND month <> $5",
    )
    .bind(jeune_id)
    .bind(kind)
    .bind(from)
    .bind(to)
    .bind(except)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get::<i64, _>(0)?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BankRow {
    pub jeune_id: String,
    pub structure_id: i64,
    pub iban: Vec<u8>,
    pub bic: Option<String>,
    pub updated_at: i64,
    /// When the IBAN was approved by a second person (`None`: waiting; not paid until then).
    pub approved_at: Option<i64>,
}

pub async fn upsert_bank(conn: &mut Conn, r: &BankRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO bank_accounts (jeune_id, structure_id, iban, bic, updated_at, approved_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (jeune_id) DO UPDATE SET iban = excluded.iban, bic = excluded.bic, updated_at = excluded.updated_at, \
         approved_at = excluded.approved_at",
    )
    .bind(&r.jeune_id)
    .bind(r.structure_id)
    .bind(&r.iban)
    .bind(&r.bic)
    .bind(r.updated_at)
    .bind(r.approved_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn bank(conn: &mut Conn, jeune_id: &str) -> Result<Option<BankRow>> {
    Ok(sqlx::query_as::<_, BankRow>(
        "SELECT jeune_id, structure_id, iban, bic, updated_at, approved_at FROM bank_accounts WHERE jeune_id = $1",
    )
    .bind(jeune_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Approves a waiting IBAN, only if it is still the one the request named (by its keyed tag):
/// an IBAN changed again after the request stays waiting. Returns false when nothing matched.
pub async fn approve_bank(conn: &mut Conn, jeune_id: &str, tag: &[u8], now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE bank_accounts SET approved_at = $3 WHERE jeune_id = $1 AND iban_tag = $2 AND approved_at IS NULL",
    )
    .bind(jeune_id)
    .bind(tag.to_vec())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Every programme of a structure (warehouse export).
/// With `scoped`, only the dossiers of [`crate::export_scope`].
pub async fn of_structure(
    conn: &mut Conn,
    structure_id: i64,
    scoped: bool,
) -> Result<Vec<ProgrammeRow>> {
    let q = format!(
        "SELECT {COLS} FROM programmes WHERE {} = $1{} ORDER BY jeune_id, start_date",
        crate::export_scope::structure(scoped, "structure_id"),
        crate::export_scope::filter(scoped, "jeune_id")
    );
    Ok(sqlx::query_as::<_, ProgrammeRow>(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// Every CEJ week of a structure (warehouse export).
/// With `scoped`, only the dossiers of [`crate::export_scope`].
pub async fn weeks_of_structure(
    conn: &mut Conn,
    structure_id: i64,
    scoped: bool,
) -> Result<Vec<WeekRow>> {
    let q = format!(
        "SELECT programme_id, week, jeune_id, structure_id, planned_minutes, done_minutes, updated_at \
         FROM cej_weeks WHERE {} = $1{} ORDER BY jeune_id, week",
        crate::export_scope::structure(scoped, "structure_id"),
        crate::export_scope::filter(scoped, "jeune_id")
    );
    Ok(sqlx::query_as::<_, WeekRow>(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// Every allowance decision of a structure (warehouse export).
/// With `scoped`, only the dossiers of [`crate::export_scope`].
pub async fn allowances_of_structure(
    conn: &mut Conn,
    structure_id: i64,
    scoped: bool,
) -> Result<Vec<AllowanceRow>> {
    let q = format!(
        "SELECT {ACOLS} FROM allowances WHERE {} = $1{} ORDER BY jeune_id, month",
        crate::export_scope::structure(scoped, "structure_id"),
        crate::export_scope::filter(scoped, "jeune_id")
    );
    Ok(sqlx::query_as::<_, AllowanceRow>(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// The dossiers with a CEJ running at some time between two dates (`AAAA-MM-JJ`, inclusive):
/// their "in CEJ at month end" warehouse facts grow when a month ends, without any write.
pub async fn cej_running_between(conn: &mut Conn, from: &str, to: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT jeune_id FROM programmes WHERE kind = 'cej' AND start_date <= $2 \
         AND (ended_on IS NULL OR ended_on >= $1)",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?)
}
