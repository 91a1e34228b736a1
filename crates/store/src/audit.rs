//! The audit log: appended rows, the sealer's chain fields, and signed checkpoints.
//!
//! Appends only insert a row (the sequence number comes from the database, no shared counter to
//! lock). The sealer later gives each entry its chain position and hash, under a lock on the one
//! `audit_head` row that only sealers take.

use crate::{Conn, Result};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub ts: i64,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub fields: String,
    pub request_id: String,
    pub outcome: String,
    pub structure_id: Option<i64>,
    pub mac: Vec<u8>,
    pub chain_pos: Option<i64>,
    pub hash: Option<Vec<u8>>,
    /// Keyed pseudonym of the session (`None` for the console and older entries).
    pub session_ref: Option<String>,
    /// Keyed pseudonym of the client address (`None` for the console and older entries).
    pub client_ref: Option<String>,
    /// Set by the sealer on a row whose MAC fails: never chained, reported.
    pub quarantined: bool,
    /// The dossiers of an entry about several (a caseload or list page, a search), comma-
    /// separated, `subject` being then empty; indexed in `audit_subjects` through the set the
    /// entry points to (`subjects_set`, issue 20).
    pub subjects: Option<String>,
}

impl AuditRow {
    /// One row per dossier named: the row itself, or copies of a several-dossier entry each
    /// with one `subject` (what the incident report and the access request count).
    pub fn per_subject(self) -> Vec<AuditRow> {
        match self.subjects.clone() {
            Some(list) if self.subject.is_none() => list
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| AuditRow {
                    subject: Some(s.to_string()),
                    ..self.clone()
                })
                .collect(),
            _ => vec![self],
        }
    }
}

const COLS: &str = "seq, ts, actor, action, subject, fields, request_id, outcome, structure_id, mac, chain_pos, hash, session_ref, client_ref, quarantined, subjects";

fn from_row(r: &AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: r.try_get(0)?,
        ts: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        subject: r.try_get(4)?,
        fields: r.try_get(5)?,
        request_id: r.try_get(6)?,
        outcome: r.try_get(7)?,
        structure_id: r.try_get(8)?,
        mac: r.try_get(9)?,
        chain_pos: r.try_get(10)?,
        hash: r.try_get(11)?,
        session_ref: r.try_get(12)?,
        client_ref: r.try_get(13)?,
        quarantined: r.try_get::<i64, _>(14)? != 0,
        subjects: r.try_get(15)?,
    })
}

/// The key of a list of dossiers in `audit_subject_sets`: SHA-256 of the list as the entry
/// holds it, in hex.
fn subjects_digest(list: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(list.as_bytes()))
}

/// Appends an entry (seq, chain_pos and hash are ignored) and returns its sequence number.
///
/// An entry naming several dossiers points to their set (`subjects_set`): an existing one when
/// the same list was named before (a caseload page shown again: one statement more, no index
/// row), otherwise a new set indexed under this entry's seq (issue 20).
pub async fn append(conn: &mut Conn, e: &AuditRow) -> Result<i64> {
    let digest = e.subjects.as_deref().map(subjects_digest);
    let known: Option<i64> = match &digest {
        Some(d) => sqlx::query("SELECT first_seq FROM audit_subject_sets WHERE digest = $1")
            .bind(d.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?,
        None => None,
    };
    let row = sqlx::query(
        "INSERT INTO audit (ts, actor, action, subject, fields, request_id, outcome, structure_id, mac, session_ref, client_ref, subjects, subjects_set) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq",
    )
    .bind(e.ts)
    .bind(e.actor.as_str())
    .bind(e.action.as_str())
    .bind(e.subject.clone())
    .bind(e.fields.as_str())
    .bind(e.request_id.as_str())
    .bind(e.outcome.as_str())
    .bind(e.structure_id)
    .bind(e.mac.clone())
    .bind(e.session_ref.clone())
    .bind(e.client_ref.clone())
    .bind(e.subjects.clone())
    .bind(known)
    .fetch_one(&mut *conn)
    .await?;
    let seq: i64 = row.try_get(0)?;
    if let (Some(list), Some(d), None) = (&e.subjects, &digest, known) {
        // A new set: claimed under this entry's seq. On PostgreSQL another transaction may
        // claim the same list at the same moment; the insert then waits for it and the set
        // that won is used.
        sqlx::query(
            "INSERT INTO audit_subject_sets (digest, first_seq) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(d.as_str())
        .bind(seq)
        .execute(&mut *conn)
        .await?;
        let set: i64 = sqlx::query("SELECT first_seq FROM audit_subject_sets WHERE digest = $1")
            .bind(d.as_str())
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        if set == seq {
            let ids: Vec<&str> = list.split(',').filter(|s| !s.is_empty()).collect();
            for chunk in ids.chunks(100) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|i| format!("(${}, $1)", i + 2))
                    .collect();
                let q = format!(
                    "INSERT INTO audit_subjects (subject, seq) VALUES {}",
                    values.join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(q)).bind(seq);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(&mut *conn).await?;
            }
        }
        sqlx::query("UPDATE audit SET subjects_set = $1 WHERE seq = $2")
            .bind(set)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
    }
    Ok(seq)
}

/// Rows per multi-row statement. Kept small on purpose: sqlx binds each SQLite parameter after
/// looking its name up with `sqlite3_bind_parameter_name`, a linear scan, so a statement of n
/// parameters costs O(n²) to bind. At 500 rows (5,500 parameters) binding was 22 % of the
/// server's time on the caseload page (perf, issue 20); at 25 rows it is negligible and a
/// caseload of 150 lines is still only six statements.
pub const ROWS_PER_STATEMENT: usize = 25;

/// Appends several entries in few statements (the entries one request produces).
/// Entries naming one dossier or none: `subjects` is not written here (an entry naming
/// several goes through [`append`], which also indexes them).
pub async fn append_many(conn: &mut Conn, entries: &[AuditRow]) -> Result<()> {
    let refs: Vec<&AuditRow> = entries.iter().collect();
    append_refs(conn, &refs).await
}

/// [`append_many`] of borrowed entries (a group commit gathers those of several requests).
pub async fn append_refs(conn: &mut Conn, entries: &[&AuditRow]) -> Result<()> {
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 11;
                let params: Vec<String> = (1..=11).map(|k| format!("${}", b + k)).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let q = format!(
            "INSERT INTO audit (ts, actor, action, subject, fields, request_id, outcome, structure_id, mac, session_ref, client_ref) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
        for e in chunk {
            query = query
                .bind(e.ts)
                .bind(e.actor.clone())
                .bind(e.action.clone())
                .bind(e.subject.clone())
                .bind(e.fields.clone())
                .bind(e.request_id.clone())
                .bind(e.outcome.clone())
                .bind(e.structure_id)
                .bind(e.mac.clone())
                .bind(e.session_ref.clone())
                .bind(e.client_ref.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Takes the sealer lock (a write on the head row) and returns the head: (position, hash).
pub async fn lock_head(conn: &mut Conn) -> Result<(i64, Vec<u8>)> {
    sqlx::query("UPDATE audit_head SET chain_pos = chain_pos WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    head(conn).await
}

pub async fn head(conn: &mut Conn) -> Result<(i64, Vec<u8>)> {
    let r = sqlx::query("SELECT chain_pos, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok((r.try_get(0)?, r.try_get(1)?))
}

pub async fn set_head(conn: &mut Conn, pos: i64, hash: &[u8]) -> Result<()> {
    sqlx::query("UPDATE audit_head SET chain_pos = $1, hash = $2 WHERE id = 1")
        .bind(pos)
        .bind(hash.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn unsealed(conn: &mut Conn, limit: i64) -> Result<Vec<AuditRow>> {
    let q = format!(
        "SELECT {COLS} FROM audit WHERE chain_pos IS NULL AND quarantined = 0 ORDER BY seq LIMIT $1"
    );
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn seal(conn: &mut Conn, seq: i64, pos: i64, hash: &[u8]) -> Result<()> {
    sqlx::query("UPDATE audit SET chain_pos = $2, hash = $3 WHERE seq = $1")
        .bind(seq)
        .bind(pos)
        .bind(hash.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Seals many entries, 100 per statement (see [`ROWS_PER_STATEMENT`]): `(seq, chain position, hash)`. One `UPDATE …
/// FROM (VALUES …)` instead of one statement per entry keeps the sealer's turn at the writer
/// short (issue 20). VALUES columns are `column1…` on both backends.
pub async fn seal_many(conn: &mut Conn, entries: &[(i64, i64, Vec<u8>)]) -> Result<()> {
    for chunk in entries.chunks(100) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let q = format!(
            "UPDATE audit SET chain_pos = v.column2, hash = v.column3 FROM (VALUES {}) AS v \
             WHERE audit.seq = v.column1",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
        for (seq, pos, hash) in chunk {
            query = query.bind(*seq).bind(*pos).bind(hash.clone());
        }
        let done = query.execute(&mut *conn).await?.rows_affected();
        if done != chunk.len() as u64 {
            return Err(crate::StoreError::Db(format!(
                "scellement : {done} entrée(s) mise(s) à jour sur {}",
                chunk.len()
            )));
        }
    }
    Ok(())
}

/// Sealed entries after a chain position, in chain order (keyset pagination for verification).
pub async fn sealed_after(conn: &mut Conn, pos: i64, limit: i64) -> Result<Vec<AuditRow>> {
    let q = format!("SELECT {COLS} FROM audit WHERE chain_pos > $1 ORDER BY chain_pos LIMIT $2");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(pos)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The `(seq, subject)` pairs indexed for these entries — the dossiers of the set each points
/// to — sorted (verification).
pub async fn indexed_subjects(conn: &mut Conn, seqs: &[i64]) -> Result<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for chunk in seqs.chunks(100) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let q = format!(
            "SELECT a.seq, s.subject FROM audit a JOIN audit_subjects s ON s.seq = a.subjects_set \
             WHERE a.seq IN ({})",
            list.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
        for s in chunk {
            query = query.bind(*s);
        }
        for r in query.fetch_all(&mut *conn).await? {
            out.push((r.try_get(0)?, r.try_get(1)?));
        }
    }
    out.sort();
    Ok(out)
}

/// Takes a row out of the chain for good: its MAC failed (a forged or edited entry).
pub async fn quarantine(conn: &mut Conn, seq: i64) -> Result<()> {
    sqlx::query("UPDATE audit SET quarantined = 1 WHERE seq = $1 AND chain_pos IS NULL")
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Rows taken out of the chain, in order.
pub async fn quarantined(conn: &mut Conn) -> Result<Vec<AuditRow>> {
    let q = format!("SELECT {COLS} FROM audit WHERE quarantined <> 0 ORDER BY seq");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Every sequence number, in order (to find gaps).
pub async fn all_seqs(conn: &mut Conn) -> Result<Vec<i64>> {
    sqlx::query("SELECT seq FROM audit ORDER BY seq")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

pub async fn count_unsealed(conn: &mut Conn) -> Result<i64> {
    let r = sqlx::query("SELECT COUNT(*) FROM audit WHERE chain_pos IS NULL AND quarantined = 0")
        .fetch_one(&mut *conn)
        .await?;
    Ok(r.try_get(0)?)
}

/// Entries of a time window, optionally for one actor (incident answer, DPO views).
pub async fn search(
    conn: &mut Conn,
    actor: Option<&str>,
    from_ts: i64,
    to_ts: i64,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    let q = format!(
        "SELECT {COLS} FROM audit WHERE ts >= $1 AND ts < $2 AND ($3 IS NULL OR actor = $3) ORDER BY seq LIMIT $4"
    );
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(from_ts)
        .bind(to_ts)
        .bind(actor)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Entries of a window that revealed or changed a dossier (a subject, outcome `ok`, not
/// quarantined), for one actor or one structure (incident report).
pub async fn touching(
    conn: &mut Conn,
    actor: Option<&str>,
    structure_id: Option<i64>,
    from_ts: i64,
    to_ts: i64,
) -> Result<Vec<AuditRow>> {
    let q = format!(
        "SELECT {COLS} FROM audit WHERE ts >= $1 AND ts < $2 \
         AND (subject IS NOT NULL OR subjects IS NOT NULL) \
         AND outcome = 'ok' AND quarantined = 0 \
         AND ($3 IS NULL OR actor = $3) AND ($4 IS NULL OR structure_id = $4) ORDER BY seq"
    );
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(from_ts)
        .bind(to_ts)
        .bind(actor)
        .bind(structure_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(from_row(r)?.per_subject()))
        .collect::<Result<Vec<_>>>()
        .map(|v| v.into_iter().flatten().collect())
}

/// Every entry about one dossier, in order (an access request's history of consultations):
/// those naming it alone, and those naming it among others (through the set they point to in
/// `audit_subjects`), each
/// returned with `subject` set to it.
pub async fn about_subject(conn: &mut Conn, subject: &str) -> Result<Vec<AuditRow>> {
    let q = format!(
        "SELECT {COLS} FROM audit WHERE (subject = $1 OR subjects_set IN (SELECT seq FROM audit_subjects WHERE subject = $1)) \
         AND quarantined = 0 ORDER BY ts, seq"
    );
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(subject)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            let mut row = from_row(r)?;
            if row.subject.is_none() {
                row.subject = Some(subject.to_string());
            }
            Ok(row)
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub chain_pos: i64,
    pub hash: Vec<u8>,
    pub ts: i64,
    pub signature: Vec<u8>,
}

pub async fn add_checkpoint(conn: &mut Conn, c: &Checkpoint) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_checkpoints (chain_pos, hash, ts, signature) VALUES ($1, $2, $3, $4)",
    )
    .bind(c.chain_pos)
    .bind(c.hash.clone())
    .bind(c.ts)
    .bind(c.signature.clone())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn checkpoint_of(r: &AnyRow) -> Result<Checkpoint> {
    Ok(Checkpoint {
        chain_pos: r.try_get(0)?,
        hash: r.try_get(1)?,
        ts: r.try_get(2)?,
        signature: r.try_get(3)?,
    })
}

/// At most `limit` checkpoints after position `pos`, in order.
pub async fn checkpoints_after(conn: &mut Conn, pos: i64, limit: i64) -> Result<Vec<Checkpoint>> {
    let rows = sqlx::query(
        "SELECT chain_pos, hash, ts, signature FROM audit_checkpoints WHERE chain_pos > $1 \
         ORDER BY chain_pos LIMIT $2",
    )
    .bind(pos)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(checkpoint_of).collect()
}

pub async fn checkpoints(conn: &mut Conn) -> Result<Vec<Checkpoint>> {
    let rows = sqlx::query(
        "SELECT chain_pos, hash, ts, signature FROM audit_checkpoints ORDER BY chain_pos",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(checkpoint_of).collect()
}
