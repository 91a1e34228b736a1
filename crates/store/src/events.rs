//! The timeline of a dossier: dated events, appointments, phases, situations (emploi,
//! formation…), proposals, exit and notes — one table, one row per fact, read in date order.
//! Categorical columns are in clear (the warehouse counts them); free text is in `payload`
//! (a ciphertext).

use crate::{Conn, Result, StoreError};

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct EventRow {
    pub id: String,
    pub jeune_id: String,
    pub structure_id: i64,
    pub kind: String,
    pub on_date: String,
    pub end_date: Option<String>,
    pub at_time: Option<String>,
    pub status: Option<String>,
    pub modalite: Option<String>,
    pub theme: Option<String>,
    pub category: Option<String>,
    pub rome: Option<String>,
    pub company_id: Option<String>,
    pub duration_minutes: Option<i64>,
    pub author: String,
    pub created_at: i64,
    pub version: i64,
    pub payload: Option<Vec<u8>>,
}

const COLS: &str = "id, jeune_id, structure_id, kind, on_date, end_date, at_time, status, modalite, theme, category, rome, company_id, duration_minutes, author, created_at, version, payload";

pub async fn insert(conn: &mut Conn, r: &EventRow) -> Result<()> {
    let q = format!(
        "INSERT INTO events ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    );
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(&r.id)
        .bind(&r.jeune_id)
        .bind(r.structure_id)
        .bind(&r.kind)
        .bind(&r.on_date)
        .bind(&r.end_date)
        .bind(&r.at_time)
        .bind(&r.status)
        .bind(&r.modalite)
        .bind(&r.theme)
        .bind(&r.category)
        .bind(&r.rome)
        .bind(&r.company_id)
        .bind(r.duration_minutes)
        .bind(&r.author)
        .bind(r.created_at)
        .bind(r.version)
        .bind(&r.payload)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Rewrites an event if its stored version is still `r.version - 1`; `now` (unix seconds) is
/// its change time (the incremental warehouse export looks for it).
pub async fn update(conn: &mut Conn, r: &EventRow, now: i64) -> Result<()> {
    let res = sqlx::query(
        "UPDATE events SET on_date = $2, end_date = $3, at_time = $4, status = $5, modalite = $6, \
         theme = $7, category = $8, rome = $9, company_id = $10, duration_minutes = $11, \
         version = $12, payload = $13, updated_at = $14 WHERE id = $1 AND version = $12 - 1",
    )
    .bind(&r.id)
    .bind(&r.on_date)
    .bind(&r.end_date)
    .bind(&r.at_time)
    .bind(&r.status)
    .bind(&r.modalite)
    .bind(&r.theme)
    .bind(&r.category)
    .bind(&r.rome)
    .bind(&r.company_id)
    .bind(r.duration_minutes)
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

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<EventRow>> {
    let q = format!("SELECT {COLS} FROM events WHERE id = $1");
    Ok(sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The whole timeline of a dossier, newest first.
pub async fn for_jeune(conn: &mut Conn, jeune_id: &str) -> Result<Vec<EventRow>> {
    let q = format!(
        "SELECT {COLS} FROM events WHERE jeune_id = $1 ORDER BY on_date DESC, created_at DESC, id"
    );
    Ok(sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(q))
        .bind(jeune_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// Entries naming a company (proposals, situations: hires, alternance…), newest first.
pub async fn for_company(conn: &mut Conn, company_id: &str) -> Result<Vec<EventRow>> {
    let q = format!(
        "SELECT {COLS} FROM events WHERE company_id = $1 ORDER BY on_date DESC, created_at DESC, id"
    );
    Ok(sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(q))
        .bind(company_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// Entries of one kind on one day for the dossiers an account is référent of (caseload).
pub async fn for_referent_on(
    conn: &mut Conn,
    structure_id: i64,
    account_id: i64,
    kind: &str,
    day: &str,
) -> Result<Vec<EventRow>> {
    let cols: Vec<String> = COLS.split(", ").map(|c| format!("e.{c}")).collect();
    let q = format!(
        "SELECT {} FROM jeunes j JOIN events e ON e.jeune_id = j.id \
         WHERE j.structure_id = $1 AND j.referent_id = $2 AND e.kind = $3 AND e.on_date = $4 \
         ORDER BY e.at_time, e.id",
        cols.join(", ")
    );
    Ok(sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .bind(account_id)
        .bind(kind)
        .bind(day)
        .fetch_all(&mut *conn)
        .await?)
}

/// The categorical part of every entry of a structure (no payload): the warehouse's facts.
/// Its fields are in the order of [`FACT_COLUMNS`] (a packed SQLite read deserialises them from
/// a JSON array).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct EventFact {
    pub jeune_id: String,
    pub kind: String,
    pub on_date: String,
    pub status: Option<String>,
    pub modalite: Option<String>,
    pub theme: Option<String>,
    pub category: Option<String>,
    pub duration_minutes: Option<i64>,
}

/// The columns of [`EventFact`], in its fields' order.
const FACT_COLUMNS: [&str; 8] = [
    "jeune_id",
    "kind",
    "on_date",
    "status",
    "modalite",
    "theme",
    "category",
    "duration_minutes",
];

/// With `scoped`, only the dossiers of [`crate::export_scope`]. On SQLite the rows come packed
/// ([`crate::packed`]): the events are most of what the warehouse export reads.
pub async fn facts_of_structure(
    conn: &mut Conn,
    structure_id: i64,
    scoped: bool,
) -> Result<Vec<EventFact>> {
    facts_of_structure_in(conn, structure_id, scoped, crate::packed::Chunks::default()).await
}

/// [`facts_of_structure`] with the given chunks on SQLite (the tests read in tiny chunks).
pub async fn facts_of_structure_in(
    conn: &mut Conn,
    structure_id: i64,
    scoped: bool,
    chunks: crate::packed::Chunks,
) -> Result<Vec<EventFact>> {
    let mut out = Vec::new();
    each_fact_of_structure_in(conn, structure_id, scoped, chunks, |c| out.extend(c)).await?;
    Ok(out)
}

/// [`facts_of_structure`], handed to `sink` a chunk at a time: the warehouse export turns each
/// chunk into facts and lets it go, instead of holding a whole structure's entries (several
/// gigabytes at national scale) beside its facts.
pub async fn each_fact_of_structure<F: FnMut(Vec<EventFact>) + Send>(
    conn: &mut Conn,
    structure_id: i64,
    scoped: bool,
    sink: F,
) -> Result<()> {
    let chunks = crate::packed::Chunks::default();
    each_fact_of_structure_in(conn, structure_id, scoped, chunks, sink).await
}

/// [`each_fact_of_structure`] with the given chunks on SQLite. PostgreSQL hands every row at
/// once.
pub async fn each_fact_of_structure_in<F: FnMut(Vec<EventFact>) + Send>(
    conn: &mut Conn,
    structure_id: i64,
    scoped: bool,
    chunks: crate::packed::Chunks,
    mut sink: F,
) -> Result<()> {
    if crate::packed::is_sqlite(conn) {
        // `events_by_structure` (migration 0005) for a whole structure, `events_jeune` for the
        // scope's dossiers.
        let (t, cols) = ("events", &FACT_COLUMNS);
        return if scoped {
            crate::packed::scoped(conn, t, cols, structure_id, chunks, sink).await
        } else {
            crate::packed::by_structure(conn, t, cols, structure_id, chunks, sink).await
        };
    }
    let q = format!(
        "SELECT {} FROM events WHERE {} = $1{}",
        FACT_COLUMNS.join(", "),
        crate::export_scope::structure(scoped, "structure_id"),
        crate::export_scope::filter(scoped, "jeune_id")
    );
    sink(
        sqlx::query_as::<_, EventFact>(sqlx::AssertSqlSafe(q))
            .bind(structure_id)
            .fetch_all(&mut *conn)
            .await?,
    );
    Ok(())
}
