//! The social-security number (NIR) of a jeune: one encrypted value per dossier (sensitive
//! tier; `parcours_app::nir` encrypts, decides and audits).

use crate::{Conn, Result};
use sqlx::Row;

pub async fn upsert(
    conn: &mut Conn,
    jeune_id: &str,
    structure_id: i64,
    nir: &[u8],
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO nirs (jeune_id, structure_id, nir, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (jeune_id) DO UPDATE SET nir = excluded.nir, structure_id = excluded.structure_id, \
         updated_at = excluded.updated_at",
    )
    .bind(jeune_id)
    .bind(structure_id)
    .bind(nir.to_vec())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The encrypted NIR and when it was set.
pub async fn get(conn: &mut Conn, jeune_id: &str) -> Result<Option<(Vec<u8>, i64)>> {
    let r = sqlx::query("SELECT nir, updated_at FROM nirs WHERE jeune_id = $1")
        .bind(jeune_id)
        .fetch_optional(&mut *conn)
        .await?;
    match r {
        Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
        None => Ok(None),
    }
}
