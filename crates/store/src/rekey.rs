//! What replacing a dossier's data key rewrites (`parcours cles renouveler --nouvelles-cles`): every cell
//! sealed with it, found by the same associated-data id the use cases seal it with.

use crate::{Conn, Result, StoreError};
use sqlx::Row;

/// Cells sealed with a dossier's data key, besides `jeunes` itself: (table, column as sealed —
/// the name in the associated data —, the SQL expression of the id in the associated data).
/// A table that starts sealing with the dossier's key must be added here (the rekey test
/// reads every kind back).
pub const DOSSIER_SEALED: &[(&str, &str, &str)] = &[
    (
        "situations",
        "payload",
        "jeune_id || '#' || CAST(version AS TEXT)",
    ),
    ("legal_reps", "payload", "id"),
    ("events", "note", "id"),
    ("programmes", "payload", "id"),
    ("allowances", "payload", "jeune_id || '#' || month"),
    ("immersions", "payload", "id"),
];

/// The database column holding a sealed column (`events.note` is stored in `payload`), and the
/// associated-data id expression.
fn spec(table: &str, column: &str) -> Result<(&'static str, &'static str)> {
    DOSSIER_SEALED
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(t, c, e)| {
            (
                if *t == "events" && *c == "note" {
                    "payload"
                } else {
                    *c
                },
                *e,
            )
        })
        .ok_or_else(|| StoreError::Db(format!("colonne scellée inconnue : {table}.{column}")))
}

/// The sealed cells of one dossier in `table.column`: (associated-data id, ciphertext).
pub async fn cells(
    conn: &mut Conn,
    table: &str,
    column: &str,
    jeune_id: &str,
) -> Result<Vec<(String, Vec<u8>)>> {
    let (db, ad) = spec(table, column)?;
    let q = format!("SELECT {ad}, {db} FROM {table} WHERE jeune_id = $1 AND {db} IS NOT NULL");
    let rows = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(jeune_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Replaces one sealed cell.
pub async fn put_cell(
    conn: &mut Conn,
    table: &str,
    column: &str,
    jeune_id: &str,
    ad_id: &str,
    ciphertext: &[u8],
) -> Result<()> {
    let (db, ad) = spec(table, column)?;
    let q = format!("UPDATE {table} SET {db} = $1 WHERE jeune_id = $2 AND {ad} = $3");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(ciphertext.to_vec())
        .bind(jeune_id)
        .bind(ad_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A dossier's identity ciphertexts and wrapped key replaced together; its version moves on, so
/// an edit prepared with the old key is refused as stale.
pub async fn put_identity(
    conn: &mut Conn,
    id: &str,
    fields: &[Vec<u8>],
    wrapped: &[u8],
) -> Result<()> {
    let sets: Vec<String> = crate::jeunes::ENCRYPTED_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let n = crate::jeunes::ENCRYPTED_COLUMNS.len();
    let q = format!(
        "UPDATE jeunes SET {}, wrapped_key = ${}, version = version + 1 WHERE id = ${}",
        sets.join(", "),
        n + 1,
        n + 2
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
    for f in fields {
        query = query.bind(f.clone());
    }
    query
        .bind(wrapped.to_vec())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Company contacts: (id, wrapped key, payload).
pub async fn contacts(conn: &mut Conn) -> Result<Vec<(String, Option<Vec<u8>>, Vec<u8>)>> {
    Ok(
        sqlx::query_as("SELECT id, wrapped_key, payload FROM company_contacts")
            .fetch_all(&mut *conn)
            .await?,
    )
}

pub async fn put_contact(conn: &mut Conn, id: &str, wrapped: &[u8], payload: &[u8]) -> Result<()> {
    sqlx::query("UPDATE company_contacts SET wrapped_key = $1, payload = $2 WHERE id = $3")
        .bind(wrapped.to_vec())
        .bind(payload.to_vec())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
