//! Bulk reads packed into few rows, for the warehouse export on SQLite.
//!
//! sqlx's SQLite driver hands rows over from its worker thread one at a time (a bounded
//! channel, a wake-up per row, and the `Any` driver converts every row): reading one
//! structure's 2.76 million events took 32 s in the export against 2.2 s in the `sqlite3`
//! shell, and a larger row buffer only brought a standalone program from 58 s to 40 s. So on
//! SQLite the export asks SQLite itself to pack the rows: `json_group_array(json_array(…))`
//! turns a chunk of rows into one text value (about 100 bytes per event, 0.2 s for 100,000
//! events in the shell), which is parsed here with serde. The columns read this way are
//! categorical codes, dates and numbers — never a ciphertext (JSON cannot hold a BLOB).
//!
//! Chunks keep each value far below SQLite's 1 GB string limit whatever the structure's size:
//! - a whole structure ([`by_structure`]) is read in rowid order through an index on
//!   `structure_id` alone, whose entries are in rowid order too, so every chunk is an index range
//!   seek (`structure_id = ? AND rowid > ?`) without a sort;
//! - an incremental export's dossiers ([`scoped`]) are read a slice of the scope at a time.
//!
//! PostgreSQL streams rows over its socket; the callers read it row by row as before.

use crate::{Conn, Result, StoreError};
use serde::de::DeserializeOwned;

/// How much goes into one packed value.
#[derive(Clone, Copy, Debug)]
pub struct Chunks {
    /// Rows per value when reading a whole structure.
    pub rows: i64,
    /// Dossiers of the scope per value when reading an incremental export's dossiers.
    pub dossiers: i64,
}

impl Default for Chunks {
    /// 100,000 events are about 10 MB of JSON; 2,000 dossiers about 44,000 events, 5 MB.
    fn default() -> Self {
        Self {
            rows: 100_000,
            dossiers: 2_000,
        }
    }
}

/// Whether `conn` is a SQLite connection (the packed reads are SQLite's).
pub fn is_sqlite(conn: &Conn) -> bool {
    conn.backend_name().eq_ignore_ascii_case("sqlite")
}

/// A JSON array SQLite packed, as `T`s.
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<Vec<T>> {
    // The position only: serde's message would quote the value it choked on.
    serde_json::from_str(json).map_err(|e| {
        StoreError::Db(format!(
            "lecture groupée illisible (caractère {})",
            e.column()
        ))
    })
}

/// Runs `q` chunk after chunk, handing each chunk's rows to `sink` as soon as it is parsed (so
/// the caller can turn them into what it keeps and let them go): `q` binds the structure as
/// `$1` and the last key of the previous chunk as `$2` (`first` before the first chunk), and
/// returns the chunk's rows as a JSON array, the chunk's last key and its size; a chunk smaller
/// than `per` is the last.
async fn chunk_by_chunk<T, K, F>(
    conn: &mut Conn,
    q: &str,
    structure_id: i64,
    first: K,
    per: i64,
    mut sink: F,
) -> Result<()>
where
    T: DeserializeOwned,
    K: for<'q> sqlx::Encode<'q, sqlx::Any>
        + for<'r> sqlx::Decode<'r, sqlx::Any>
        + sqlx::Type<sqlx::Any>
        + Send
        + Unpin
        + 'static,
    F: FnMut(Vec<T>) + Send,
{
    let mut after = first;
    loop {
        let (json, last, n): (String, Option<K>, i64) = sqlx::query_as(sqlx::AssertSqlSafe(q))
            .bind(structure_id)
            .bind(after)
            .fetch_one(&mut *conn)
            .await?;
        sink(parse::<T>(&json)?);
        match last {
            Some(last) if n == per => after = last,
            _ => return Ok(()),
        }
    }
}

/// SQLite only: `SELECT {cols} FROM {table} WHERE structure_id = $1`, handed to `sink` a chunk at a
/// time as `T`s (deserialised from a JSON array of the columns, in order). `table` must have an index on `structure_id`
/// alone (see the module doc).
pub async fn by_structure<T: DeserializeOwned, F: FnMut(Vec<T>) + Send>(
    conn: &mut Conn,
    table: &str,
    cols: &[&str],
    structure_id: i64,
    chunks: Chunks,
    sink: F,
) -> Result<()> {
    let (list, rows) = (cols.join(", "), chunks.rows.max(1));
    let q = format!(
        "SELECT json_group_array(json_array({list})), max(r), count(*) FROM \
         (SELECT rowid AS r, {list} FROM {table} WHERE structure_id = $1 AND rowid > $2 \
          ORDER BY rowid LIMIT {rows})"
    );
    chunk_by_chunk(conn, &q, structure_id, i64::MIN, rows, sink).await
}

/// SQLite only: `SELECT {cols} FROM {table} WHERE structure_id = $1` restricted to the
/// structure's dossiers in [`crate::export_scope`] (`jeune_id` names the dossier column), as
/// `T`s. `table` must have an index on `(jeune_id, …)`, by which the dossiers are looked up.
pub async fn scoped<T: DeserializeOwned, F: FnMut(Vec<T>) + Send>(
    conn: &mut Conn,
    table: &str,
    cols: &[&str],
    structure_id: i64,
    chunks: Chunks,
    sink: F,
) -> Result<()> {
    let (list, dossiers) = (cols.join(", "), chunks.dossiers.max(1));
    // `+structure_id`: SQLite then looks the slice's dossiers up by their own index instead of
    // scanning the structure's.
    let q = format!(
        "WITH slice AS (SELECT id FROM export_scope WHERE structure_id = $1 AND id > $2 \
                        ORDER BY id LIMIT {dossiers}) \
         SELECT (SELECT json_group_array(json_array({list})) FROM {table} \
                 WHERE +structure_id = $1 AND jeune_id IN (SELECT id FROM slice)), \
                (SELECT max(id) FROM slice), (SELECT count(*) FROM slice)"
    );
    chunk_by_chunk(conn, &q, structure_id, String::new(), dossiers, sink).await
}
