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
    let cols: Vec<String> = columns
        .iter()
        .filter(|c| ENCRYPTED_COLUMNS.contains(c))
        .map(|c| format!("j.{c}"))
        .collect();
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
    rows.iter()
        .map(|r| {
            let mut fields = Vec::with_capacity(cols.len());
            for i in 0..cols.len() {
                fields.push(r.try_get::<Vec<u8>, _>(2 + i)?);
            }
            Ok(PartialRow {
                id: r.try_get(0)?,
                wrapped_key: r.try_get(1)?,
                fields,
            })
        })
        .collect()
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
