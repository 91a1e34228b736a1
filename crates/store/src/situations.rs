//! Situation versions (the history of a jeune's situation) and legal representatives. Payloads
//! are ciphertexts; this module never sees a clear value.

use crate::{Conn, Result};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SituationRow {
    pub jeune_id: String,
    pub version: i64,
    pub structure_id: i64,
    pub author: String,
    pub changed_at: i64,
    pub changed_fields: String,
    pub payload: Vec<u8>,
}

pub async fn insert(conn: &mut Conn, r: &SituationRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO situations (jeune_id, version, structure_id, author, changed_at, changed_fields, payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.jeune_id)
    .bind(r.version)
    .bind(r.structure_id)
    .bind(&r.author)
    .bind(r.changed_at)
    .bind(&r.changed_fields)
    .bind(&r.payload)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// All versions of a jeune's situation, newest first.
pub async fn history(conn: &mut Conn, jeune_id: &str) -> Result<Vec<SituationRow>> {
    Ok(sqlx::query_as::<_, SituationRow>(
        "SELECT jeune_id, version, structure_id, author, changed_at, changed_fields, payload \
         FROM situations WHERE jeune_id = $1 ORDER BY version DESC",
    )
    .bind(jeune_id)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LegalRepRow {
    pub id: String,
    pub jeune_id: String,
    pub structure_id: i64,
    pub created_at: i64,
    pub payload: Vec<u8>,
}

pub async fn insert_legal_rep(conn: &mut Conn, r: &LegalRepRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO legal_reps (id, jeune_id, structure_id, created_at, payload) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&r.id)
    .bind(&r.jeune_id)
    .bind(r.structure_id)
    .bind(r.created_at)
    .bind(&r.payload)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn legal_reps(conn: &mut Conn, jeune_id: &str) -> Result<Vec<LegalRepRow>> {
    Ok(sqlx::query_as::<_, LegalRepRow>(
        "SELECT id, jeune_id, structure_id, created_at, payload FROM legal_reps \
         WHERE jeune_id = $1 ORDER BY created_at, id",
    )
    .bind(jeune_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// The latest situation version of every dossier of a structure that has one.
/// With `scoped`, only the dossiers of [`crate::export_scope`].
pub async fn latest_of_structure(
    conn: &mut Conn,
    structure_id: i64,
    scoped: bool,
) -> Result<Vec<SituationRow>> {
    let q = format!(
        "SELECT s.jeune_id, s.version, s.structure_id, s.author, s.changed_at, s.changed_fields, s.payload \
         FROM situations s JOIN (SELECT jeune_id, MAX(version) AS v FROM situations WHERE {} = $1{} \
         GROUP BY jeune_id) m ON m.jeune_id = s.jeune_id AND m.v = s.version",
        crate::export_scope::structure(scoped, "structure_id"),
        crate::export_scope::filter(scoped, "jeune_id")
    );
    Ok(sqlx::query_as::<_, SituationRow>(sqlx::AssertSqlSafe(q))
        .bind(structure_id)
        .fetch_all(&mut *conn)
        .await?)
}
