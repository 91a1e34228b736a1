//! The dossiers an incremental warehouse export re-reads, as a temporary table of the
//! connection (`export_scope`), so that the export's reads (`…_of_structure(…, scoped)`) fetch
//! those dossiers' rows only instead of a whole structure's. Temporary tables live and die with
//! their connection and are seen by no other: [`select`] fills it, [`release`] drops it before
//! the connection goes back to the pool.
//!
//! The scope is keyed by the dossier's structure, `(structure_id, id)`: a structure's read
//! looks up its own dossiers only. (Keyed by id alone, every structure's read went through the
//! whole scope: at national scale, ~430 structures each probing every re-read dossier.) A
//! structure's export holds the dossiers it follows now (`jeunes.structure_id`), so that is the
//! structure a dossier is scoped under.

use crate::{Conn, Result};

/// The structure column of a query's `WHERE`: when scoped, written `+column` so that SQLite
/// does not scan the structure's index but looks the scope's dossiers up by their own index
/// (the unary plus is a no-op for PostgreSQL's planner too).
pub fn structure(scoped: bool, column: &str) -> String {
    if scoped {
        format!("+{column}")
    } else {
        column.to_string()
    }
}

/// The SQL condition restricting `column` (a dossier id) to the scope of the structure bound
/// as `$1`, or nothing.
pub fn filter(scoped: bool, column: &str) -> String {
    if scoped {
        format!(" AND {column} IN (SELECT id FROM export_scope WHERE structure_id = $1)")
    } else {
        String::new()
    }
}

/// Makes `ids` the scope of this connection.
pub async fn select(conn: &mut Conn, ids: &[&str]) -> Result<()> {
    sqlx::query(
        "CREATE TEMPORARY TABLE IF NOT EXISTS export_scope \
         (structure_id BIGINT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (structure_id, id))",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM export_scope")
        .execute(&mut *conn)
        .await?;
    // 100 per statement: binding n SQLite parameters costs O(n²) (see audit::ROWS_PER_STATEMENT).
    for chunk in ids.chunks(100) {
        let values: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let q = format!(
            "INSERT INTO export_scope (structure_id, id) \
             SELECT structure_id, id FROM jeunes WHERE id IN ({})",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Drops the scope of this connection.
pub async fn release(conn: &mut Conn) -> Result<()> {
    sqlx::query("DROP TABLE IF EXISTS export_scope")
        .execute(&mut *conn)
        .await?;
    Ok(())
}
