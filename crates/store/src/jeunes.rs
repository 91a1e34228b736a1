//! Dossiers jeunes: ciphertext columns, their wrapped data keys, and blind-index rows.

use crate::{Conn, Result, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Encrypted columns, in this order everywhere (same names as the domain's input fields).
pub const ENCRYPTED_COLUMNS: [&str; 11] = [
    "nom",
    "prenom",
    "date_naissance",
    "sexe",
    "nationalite",
    "email",
    "telephone",
    "adresse",
    "code_postal",
    "commune",
    "niveau_formation",
];

#[derive(Debug, Clone)]
pub struct JeuneRow {
    pub id: String,
    pub structure_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    /// Ciphertexts in [`ENCRYPTED_COLUMNS`] order.
    pub fields: Vec<Vec<u8>>,
    /// The person's wrapped data key; `None` once erased (crypto-shredded).
    pub wrapped_key: Option<Vec<u8>>,
}

fn select_cols() -> String {
    let enc: Vec<String> = ENCRYPTED_COLUMNS.iter().map(|c| format!("j.{c}")).collect();
    format!(
        "j.id, j.structure_id, j.created_at, j.updated_at, j.version, {}, j.wrapped_key",
        enc.join(", ")
    )
}

fn from_row(r: &AnyRow) -> Result<JeuneRow> {
    let mut fields = Vec::with_capacity(ENCRYPTED_COLUMNS.len());
    for i in 0..ENCRYPTED_COLUMNS.len() {
        fields.push(r.try_get::<Vec<u8>, _>(5 + i)?);
    }
    Ok(JeuneRow {
        id: r.try_get(0)?,
        structure_id: r.try_get(1)?,
        created_at: r.try_get(2)?,
        updated_at: r.try_get(3)?,
        version: r.try_get(4)?,
        fields,
        wrapped_key: r.try_get(5 + ENCRYPTED_COLUMNS.len())?,
    })
}

pub async fn insert(conn: &mut Conn, row: &JeuneRow) -> Result<()> {
    let placeholders: Vec<String> = (7..7 + ENCRYPTED_COLUMNS.len())
        .map(|i| format!("${i}"))
        .collect();
    let q = format!(
        "INSERT INTO jeunes (id, structure_id, created_at, updated_at, version, wrapped_key, {}) VALUES ($1, $2, $3, $4, $5, $6, {})",
        ENCRYPTED_COLUMNS.join(", "),
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(row.id.as_str())
        .bind(row.structure_id)
        .bind(row.created_at)
        .bind(row.updated_at)
        .bind(row.version)
        .bind(row.wrapped_key.clone());
    for f in &row.fields {
        query = query.bind(f.clone());
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Updates the encrypted fields if the stored version is still `row.version - 1`.
pub async fn update(conn: &mut Conn, row: &JeuneRow) -> Result<()> {
    let sets: Vec<String> = ENCRYPTED_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 4))
        .collect();
    let q = format!(
        "UPDATE jeunes SET updated_at = $2, version = $3, {} WHERE id = $1 AND version = $3 - 1",
        sets.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(row.id.as_str())
        .bind(row.updated_at)
        .bind(row.version);
    for f in &row.fields {
        query = query.bind(f.clone());
    }
    let r = query.execute(&mut *conn).await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<JeuneRow>> {
    let q = format!("SELECT {} FROM jeunes j WHERE j.id = $1", select_cols());
    match sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

/// The structure a dossier belongs to, without reading it (for authorisation).
pub async fn structure_of(conn: &mut Conn, id: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT structure_id FROM jeunes WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(Some(r.try_get(0)?)),
        None => Ok(None),
    }
}

/// Most recent dossiers of a structure.
pub async fn list_recent(
    conn: &mut Conn,
    structure_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<JeuneRow>> {
    let q = format!(
        "SELECT {} FROM jeunes j \
         WHERE j.structure_id = $1 ORDER BY j.created_at DESC, j.id LIMIT $2 OFFSET $3",
        select_cols()
    );
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn count_in_structure(conn: &mut Conn, structure_id: i64) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM jeunes WHERE structure_id = $1")
        .bind(structure_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get(0)?)
}

/// Some encrypted columns of a dossier, with its wrapped key (search results need only a few).
#[derive(Debug, Clone)]
pub struct PartialRow {
    pub id: String,
    pub wrapped_key: Option<Vec<u8>>,
    /// Ciphertexts in the order of the `columns` asked for.
    pub fields: Vec<Vec<u8>>,
}

/// The `j.<column>` list of the asked columns that exist (others are ignored).
fn known_columns(columns: &[&str]) -> Vec<String> {
    columns
        .iter()
        .filter(|c| ENCRYPTED_COLUMNS.contains(c))
        .map(|c| format!("j.{c}"))
        .collect()
}

/// A partial row from `id, wrapped_key, <extra…>, <n ciphertexts from column `first`>`.
fn partial_row(r: &AnyRow, first: usize, n: usize) -> Result<PartialRow> {
    let mut fields = Vec::with_capacity(n);
    for i in 0..n {
        fields.push(r.try_get::<Vec<u8>, _>(first + i)?);
    }
    Ok(PartialRow {
        id: r.try_get(0)?,
        wrapped_key: r.try_get(1)?,
        fields,
    })
}

/// Candidate dossiers whose blind index `idx` equals `value` in a structure (false positives
/// included by design; the caller decrypts and filters), with only `columns` (names from
/// [`ENCRYPTED_COLUMNS`]; others are ignored). No duplicates: a dossier's index entries are
/// distinct (idx, value) pairs.
pub async fn candidates(
    conn: &mut Conn,
    structure_id: i64,
    idx: i64,
    value: i64,
    columns: &[&str],
) -> Result<Vec<PartialRow>> {
    let cols = known_columns(columns);
    let q = format!(
        "SELECT j.id, j.wrapped_key, {} FROM blind_index b JOIN jeunes j ON j.id = b.jeune_id \
         WHERE b.structure_id = $1 AND b.idx = $2 AND b.value = $3",
        cols.join(", ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .bind(idx)
        .bind(value)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| partial_row(r, 2, cols.len())).collect()
}

/// Replaces all blind-index rows of one dossier.
pub async fn set_blind_indexes(
    conn: &mut Conn,
    jeune_id: &str,
    structure_id: i64,
    entries: &[(i64, i64)],
) -> Result<()> {
    sqlx::query("DELETE FROM blind_index WHERE jeune_id = $1")
        .bind(jeune_id)
        .execute(&mut *conn)
        .await?;
    for (idx, value) in entries {
        sqlx::query(
            "INSERT INTO blind_index (idx, value, structure_id, jeune_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(*idx)
        .bind(*value)
        .bind(structure_id)
        .bind(jeune_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The wrapped data key of a dossier (`None` once erased), without reading any field.
pub async fn wrapped_key(conn: &mut Conn, id: &str) -> Result<Option<Vec<u8>>> {
    let row = sqlx::query("SELECT wrapped_key FROM jeunes WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(r.try_get(0)?),
        None => Err(StoreError::NotFound),
    }
}

/// Names an account as the référent of a dossier (`None`: nobody).
pub async fn set_referent(conn: &mut Conn, id: &str, account_id: Option<i64>) -> Result<()> {
    sqlx::query("UPDATE jeunes SET referent_id = $2 WHERE id = $1")
        .bind(id)
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The référent of a dossier.
pub async fn referent_of(conn: &mut Conn, id: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT referent_id FROM jeunes WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(r.try_get(0)?),
        None => Ok(None),
    }
}

/// An advisor's caseload (portefeuille): the dossiers of a structure she is référent of.
pub async fn caseload(
    conn: &mut Conn,
    structure_id: i64,
    account_id: i64,
) -> Result<Vec<JeuneRow>> {
    let q = format!(
        "SELECT {} FROM jeunes j WHERE j.structure_id = $1 AND j.referent_id = $2 ORDER BY j.id",
        select_cols()
    );
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// [`caseload`] with only `columns` decrypted later (the caseload page needs three of the
/// eleven: nom, prénom, date de naissance — issue 20).
pub async fn caseload_partial(
    conn: &mut Conn,
    structure_id: i64,
    account_id: i64,
    columns: &[&str],
) -> Result<Vec<PartialRow>> {
    referent_partial(conn, structure_id, account_id, columns, "j.id", None).await
}

/// The référent's dossiers with only `columns`, in `order`, optionally one page
/// (`(limit, offset)`): what [`caseload_partial`] and [`list_caseload`] share.
async fn referent_partial(
    conn: &mut Conn,
    structure_id: i64,
    account_id: i64,
    columns: &[&str],
    order: &str,
    page: Option<(i64, i64)>,
) -> Result<Vec<PartialRow>> {
    let cols = known_columns(columns);
    let q = format!(
        "SELECT j.id, j.wrapped_key, {} FROM jeunes j WHERE j.structure_id = $1 AND j.referent_id = $2 ORDER BY {order}{}",
        cols.join(", "),
        if page.is_some() { " LIMIT $3 OFFSET $4" } else { "" }
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .bind(account_id);
    if let Some((limit, offset)) = page {
        query = query.bind(limit).bind(offset);
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| partial_row(r, 2, cols.len()))
        .collect()
}

/// Tables that carry a dossier's structure, moved with it on a transfer.
const FOLLOWING_TABLES: [&str; 12] = [
    "blind_index",
    "situations",
    "legal_reps",
    "events",
    "programmes",
    "cej_weeks",
    "allowances",
    "allowance_history",
    "bank_accounts",
    "nirs",
    "immersions",
    "workshop_registrations",
];

/// Moves a dossier and everything attached to it to another structure; the référent is reset.
/// `now` (unix seconds) becomes the dossier's change time.
pub async fn transfer(conn: &mut Conn, id: &str, to_structure: i64, now: i64) -> Result<()> {
    let r = sqlx::query(
        "UPDATE jeunes SET structure_id = $2, referent_id = NULL, updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(to_structure)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    for t in FOLLOWING_TABLES {
        let q = format!("UPDATE {t} SET structure_id = $2 WHERE jeune_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(id)
            .bind(to_structure)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Makes an account the référent of up to `limit` dossiers of a structure that have none (the
/// most recent first). Returns how many were assigned. For the demo and benchmarks.
pub async fn assign_unreferenced(
    conn: &mut Conn,
    structure_id: i64,
    account_id: i64,
    limit: i64,
) -> Result<u64> {
    let r = sqlx::query(
        "UPDATE jeunes SET referent_id = $2 WHERE id IN (SELECT id FROM jeunes WHERE structure_id = $1 \
         AND referent_id IS NULL ORDER BY created_at DESC, id LIMIT $3)",
    )
    .bind(structure_id)
    .bind(account_id)
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected())
}

/// Some encrypted columns of every dossier of a structure, with the creation time (warehouse
/// export: only what generalisation needs is read and decrypted).
/// With `scoped`, only the dossiers of [`crate::export_scope`].
pub async fn columns_of_structure(
    conn: &mut Conn,
    structure_id: i64,
    columns: &[&str],
    scoped: bool,
) -> Result<Vec<(PartialRow, i64)>> {
    let cols = known_columns(columns);
    let q = format!(
        "SELECT j.id, j.wrapped_key, j.created_at, {} FROM jeunes j WHERE {} = $1{} ORDER BY j.id",
        cols.join(", "),
        crate::export_scope::structure(scoped, "j.structure_id"),
        crate::export_scope::filter(scoped, "j.id")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((partial_row(r, 3, cols.len())?, r.try_get(2)?)))
        .collect()
}

/// Every dossier id, in no particular order (the incremental warehouse export compares them
/// with the previous version). Unordered on purpose: on SQLite `jeunes` is `WITHOUT ROWID`, so
/// `ORDER BY id` walks the primary-key B-tree that holds every ciphertext (about 1 GB at 500,000
/// dossiers), whereas without it SQLite scans the small `jeunes_structure` index, which holds
/// the id too. On SQLite the ids come as one JSON array ([`crate::packed`]; 37 bytes an id,
/// SQLite's 1 GB string limit is 27 million dossiers).
pub async fn all_ids(conn: &mut Conn) -> Result<Vec<String>> {
    if crate::packed::is_sqlite(conn) {
        let json: String = sqlx::query_scalar("SELECT json_group_array(id) FROM jeunes")
            .fetch_one(&mut *conn)
            .await?;
        return crate::packed::parse(&json);
    }
    Ok(sqlx::query_scalar("SELECT id FROM jeunes")
        .fetch_all(&mut *conn)
        .await?)
}

/// The dossiers of which anything a warehouse fact comes from changed at or after `since` (unix
/// seconds): identity or situation, events, programmes, CEJ weeks, allowances, workshop
/// registrations (the incremental warehouse export re-reads only these).
pub async fn changed_since(conn: &mut Conn, since: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM jeunes WHERE updated_at >= $1 \
         UNION SELECT id FROM jeunes WHERE created_at >= $1 \
         UNION SELECT jeune_id FROM situations WHERE changed_at >= $1 \
         UNION SELECT jeune_id FROM events WHERE created_at >= $1 \
         UNION SELECT jeune_id FROM events WHERE updated_at >= $1 \
         UNION SELECT jeune_id FROM programmes WHERE created_at >= $1 \
         UNION SELECT jeune_id FROM programmes WHERE updated_at >= $1 \
         UNION SELECT jeune_id FROM cej_weeks WHERE updated_at >= $1 \
         UNION SELECT jeune_id FROM allowances WHERE decided_at >= $1 \
         UNION SELECT jeune_id FROM workshop_registrations WHERE updated_at >= $1",
    )
    .bind(since)
    .fetch_all(&mut *conn)
    .await?)
}

/// Every dossier id of a structure (canary recognition, a few thousand ids).
pub async fn ids_in_structure(conn: &mut Conn, structure_id: i64) -> Result<Vec<String>> {
    sqlx::query("SELECT id FROM jeunes WHERE structure_id = $1 ORDER BY id")
        .bind(structure_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// One page of an advisor's caseload, most recent first ("Mes dossiers").
pub async fn list_caseload(
    conn: &mut Conn,
    structure_id: i64,
    account_id: i64,
    limit: i64,
    offset: i64,
    columns: &[&str],
) -> Result<Vec<PartialRow>> {
    referent_partial(
        conn,
        structure_id,
        account_id,
        columns,
        "j.created_at DESC, j.id",
        Some((limit, offset)),
    )
    .await
}

pub async fn count_caseload(conn: &mut Conn, structure_id: i64, account_id: i64) -> Result<i64> {
    let row =
        sqlx::query("SELECT COUNT(*) FROM jeunes WHERE structure_id = $1 AND referent_id = $2")
            .bind(structure_id)
            .bind(account_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(row.try_get(0)?)
}

/// Dossiers that existed at `at` (created before it, not erased since): what a dump of the
/// database taken then holds (incident report). `(id, structure)`, in id order.
pub async fn existing_at(conn: &mut Conn, at: i64) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT id, structure_id FROM jeunes WHERE created_at < $1 AND wrapped_key IS NOT NULL ORDER BY id",
    )
    .bind(at)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// How many records of each kind a dossier holds (incident report: categories of a dump).
/// `(table, count)` for the tables keyed by the dossier.
pub async fn record_counts(conn: &mut Conn, jeune_id: &str) -> Result<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for table in [
        "situations",
        "legal_reps",
        "events",
        "programmes",
        "allowances",
        "allowance_history",
        "bank_accounts",
        "nirs",
    ] {
        let q = format!("SELECT COUNT(*) FROM {table} WHERE jeune_id = $1");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(q))
            .bind(jeune_id)
            .fetch_one(&mut *conn)
            .await?;
        out.push((table, n));
    }
    Ok(out)
}

/// Crypto-shredding of a dossier (erasure): its wrapped data key is destroyed — every field
/// sealed with it is unreadable for good, here and in every backup (backups never carry these
/// keys: `parcours_app::backup`) —, and what it held under shared keys or in clear goes: its
/// blind-index entries, its IBAN, its NIR. Returns false when it was already erased.
pub async fn erase(conn: &mut Conn, id: &str) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE jeunes SET wrapped_key = NULL WHERE id = $1 AND wrapped_key IS NOT NULL",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    for q in [
        "DELETE FROM blind_index WHERE jeune_id = $1",
        "DELETE FROM bank_accounts WHERE jeune_id = $1",
        "DELETE FROM nirs WHERE jeune_id = $1",
    ] {
        sqlx::query(q).bind(id).execute(&mut *conn).await?;
    }
    Ok(true)
}
