//! Operational storage: embedded SQLite by default, PostgreSQL in production.
//!
//! Both backends go through sqlx's `Any` driver with one SQL text (`$1` placeholders work on
//! both), so every query exists once and the conformance suite (`tests/conformance.rs`) proves
//! it on both. What differs lives here: connection set-up (WAL and pragmas for SQLite, an
//! advisory lock around migrations for PostgreSQL) and the migrations, one folder per backend.
//!
//! Query functions take a `&mut Conn`, so the application layer composes a write and its audit
//! entry in one transaction. This crate stores ciphertexts and integers; it never decides who
//! may see what. Error messages never carry values (they may be personal data).

pub mod accounts;
pub mod audit;
pub mod companies;
pub mod dump;
pub mod events;
pub mod export_scope;
mod group_commit;
pub use group_commit::{Counted, Verdict};
pub mod jeunes;
pub mod keyring;
pub mod nirs;
pub mod packed;
pub mod passkeys;
pub mod programmes;
pub mod rekey;
pub mod requests;
pub mod situations;
pub mod structures;
pub mod testing;
pub mod vigilance;
pub mod workshops;

/// Re-exported so callers can name transaction errors without their own sqlx dependency.
pub use sqlx::Error as SqlxError;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row};

pub type Conn = sqlx::AnyConnection;

/// A read-only snapshot ([`Store::read`]); dropped, it rolls back.
pub type ReadTx = sqlx::Transaction<'static, Any>;

/// A transaction of a request or command. It holds a shared guard of the store's write gate,
/// so that the background sealer (which takes the gate exclusively, and only when it is free)
/// never commits between a request's read and its write: on SQLite such an interleaving makes
/// the request's write fail (`SQLITE_BUSY`, stale snapshot). Requests share the gate, so a
/// transaction opened while another is open in the same task (an audited refusal) never waits.
///
/// On SQLite it also holds the process's writer turn (see [`Store::begin_raw`]); the fields drop
/// in order, so the transaction ends before the turn passes to the next writer.
pub struct Tx {
    inner: sqlx::Transaction<'static, Any>,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
    _gate: Option<tokio::sync::OwnedRwLockReadGuard<()>>,
}

impl std::ops::Deref for Tx {
    type Target = sqlx::Transaction<'static, Any>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

impl Tx {
    pub async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        self.inner.commit().await
    }
    pub async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        self.inner.rollback().await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("conflit : la valeur existe déjà ({0})")]
    Conflict(&'static str),
    #[error("enregistrement introuvable")]
    NotFound,
    #[error("modification concurrente : rechargez la page")]
    Stale,
    /// The database did not answer in time (locked by a long writer, PostgreSQL down or
    /// restarting): the request may be retried; nothing was written.
    #[error("base de données momentanément indisponible : réessayez dans un instant")]
    Busy,
    /// The disk holding the database is full (SQLite's FULL, PostgreSQL's 53100): the
    /// transaction rolled back, nothing was written; an operator must free space.
    #[error("espace disque de la base de données plein : rien n'a été enregistré")]
    Full,
    #[error("erreur de base de données : {0}")]
    Db(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            // Unavailable rather than broken: the pool found no connection in time, the server
            // is unreachable or restarting, SQLite stayed locked past busy_timeout.
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                StoreError::Busy
            }
            sqlx::Error::Database(d) if is_full(d.code().as_deref()) => StoreError::Full,
            sqlx::Error::Database(d) if is_unavailable(d.code().as_deref()) => StoreError::Busy,
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict("unicité"),
            // Database messages name constraints, never the offending values (those are in
            // PostgreSQL's DETAIL, which Display does not print).
            sqlx::Error::Database(d) => StoreError::Db(d.message().to_string()),
            other => StoreError::Db(other.to_string()),
        }
    }
}

/// SQLite's FULL (13, and its extended codes) and PostgreSQL's disk_full (53100).
fn is_full(code: Option<&str>) -> bool {
    code.is_some_and(|c| c == "53100" || c.parse::<i64>().is_ok_and(|n| n & 0xff == 13))
}

/// Database error codes that mean "not now" rather than "wrong": SQLite's BUSY and LOCKED (and
/// their extended codes), PostgreSQL's connection exceptions (08…), operator intervention
/// (57P01 shutting down, 57P03 starting up) and insufficient resources (53…).
fn is_unavailable(code: Option<&str>) -> bool {
    match code {
        Some(c) => {
            let sqlite_busy = c.parse::<i64>().is_ok_and(|n| matches!(n & 0xff, 5 | 6));
            sqlite_busy
                || c.starts_with("08")
                || c.starts_with("53")
                || c == "57P01"
                || c == "57P02"
                || c == "57P03"
        }
        None => false,
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "parcours",
        include_str!("../migrations/sqlite/0002_parcours.sql"),
    ),
    (
        3,
        "entrepot",
        include_str!("../migrations/sqlite/0003_entrepot.sql"),
    ),
    (
        4,
        "entrepot_index",
        include_str!("../migrations/sqlite/0004_entrepot_index.sql"),
    ),
    (
        5,
        "entrepot_lecture",
        include_str!("../migrations/sqlite/0005_entrepot_lecture.sql"),
    ),
    (
        6,
        "vigilance",
        include_str!("../migrations/sqlite/0006_vigilance.sql"),
    ),
    (
        7,
        "quatre_yeux",
        include_str!("../migrations/sqlite/0007_quatre_yeux.sql"),
    ),
    (
        8,
        "apres_incident",
        include_str!("../migrations/sqlite/0008_apres_incident.sql"),
    ),
    (
        9,
        "conservation",
        include_str!("../migrations/sqlite/0009_conservation.sql"),
    ),
    (
        10,
        "historique_allocations",
        include_str!("../migrations/sqlite/0010_historique_allocations.sql"),
    ),
    (
        11,
        "noms_affiches",
        include_str!("../migrations/sqlite/0011_noms_affiches.sql"),
    ),
    (
        12,
        "audit_sujets",
        include_str!("../migrations/sqlite/0012_audit_sujets.sql"),
    ),
    (
        13,
        "audit_ensembles",
        include_str!("../migrations/sqlite/0013_audit_ensembles.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "parcours",
        include_str!("../migrations/postgres/0002_parcours.sql"),
    ),
    (
        3,
        "entrepot",
        include_str!("../migrations/postgres/0003_entrepot.sql"),
    ),
    (
        4,
        "entrepot_index",
        include_str!("../migrations/postgres/0004_entrepot_index.sql"),
    ),
    (
        5,
        "entrepot_lecture",
        include_str!("../migrations/postgres/0005_entrepot_lecture.sql"),
    ),
    (
        6,
        "vigilance",
        include_str!("../migrations/postgres/0006_vigilance.sql"),
    ),
    (
        7,
        "quatre_yeux",
        include_str!("../migrations/postgres/0007_quatre_yeux.sql"),
    ),
    (
        8,
        "apres_incident",
        include_str!("../migrations/postgres/0008_apres_incident.sql"),
    ),
    (
        9,
        "conservation",
        include_str!("../migrations/postgres/0009_conservation.sql"),
    ),
    (
        10,
        "historique_allocations",
        include_str!("../migrations/postgres/0010_historique_allocations.sql"),
    ),
    (
        11,
        "noms_affiches",
        include_str!("../migrations/postgres/0011_noms_affiches.sql"),
    ),
    (
        12,
        "audit_sujets",
        include_str!("../migrations/postgres/0012_audit_sujets.sql"),
    ),
    (
        13,
        "audit_ensembles",
        include_str!("../migrations/postgres/0013_audit_ensembles.sql"),
    ),
];

/// Held while a scheduled job runs (see [`Store::try_job_lock`]).
pub struct JobLock(#[allow(dead_code)] Option<sqlx::AnyConnection>);

/// Job keys of [`Store::try_job_lock`].
pub const JOB_WAREHOUSE_EXPORT: i64 = 1;
pub const JOB_RETENTION: i64 = 2;

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    gate: std::sync::Arc<tokio::sync::RwLock<()>>,
    /// SQLite has one writer: the process's write transactions take their turn here, in the
    /// order they asked (see [`Store::begin_raw`]).
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Audit entries waiting for their group commit ([`Store::append_audit_durable`]).
    queue: group_commit::SharedQueue,
}

/// How long a write transaction waits for its turn before the request fails with a clear
/// « service occupé » (503) instead of hanging.
pub const WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Store {
    /// Connects to `sqlite://path` (the file is created) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Db(
                "URL de base non reconnue : sqlite://… ou postgres://…".into(),
            ));
        };
        // Connections per process: 3 on SQLite, 16 on PostgreSQL, or PARCOURS_DB_CONNECTIONS
        // (with several instances, their sum must stay under PostgreSQL's max_connections).
        // SQLite has one writer and two cores to read with here; each connection keeps a
        // 32 MiB page cache, so at 100,000 dossiers under the mixed load 8 connections peaked
        // at 320 MiB of RSS, 4 at 201 MiB, 3 at 162 MiB, for the same throughput (issue 20,
        // docs/BENCHMARKS.md).
        let connections = match std::env::var("PARCOURS_DB_CONNECTIONS") {
            Err(_) => {
                if backend == Backend::Sqlite {
                    3
                } else {
                    16
                }
            }
            Ok(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or_else(|| {
                    StoreError::Db(format!(
                        "PARCOURS_DB_CONNECTIONS « {} » : un nombre de 1 à 256 attendu",
                        v.chars().take(16).collect::<String>()
                    ))
                })?,
        };
        let opts = AnyPoolOptions::new()
            .max_connections(connections)
            // A request waits at most this long for a connection: PostgreSQL down means a 503
            // within seconds, not a request hanging for sqlx's default 30 s.
            .acquire_timeout(std::time::Duration::from_secs(5))
            // A connection is pinged when released (sqlx always does); pinging it again when
            // handed out is one more round trip to SQLite's connection thread per acquire, and a
            // local file's connection does not go stale in between. PostgreSQL's may (a
            // restarted server): there the ping stays, and a dead connection is replaced
            // before a request meets it (issue 20's outage test).
            .test_before_acquire(backend == Backend::Postgres)
            // Never hand out a connection that still counts an open transaction. When a disk
            // fills, SQLite rolls the transaction back by itself; sqlx's own ROLLBACK then
            // fails and its depth counter stays at 1, and every later `BEGIN` on that
            // connection failed with "non-zero transaction depth" — a 500 for good, after the
            // space was freed (issue 20's full-disk test). Such a connection is closed here and
            // the pool opens a fresh one. (A released connection is pinged first, which
            // flushes any pending rollback, so a healthy one always passes.)
            .before_acquire(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            // A 32 MiB page cache: ciphertext rows are ~3x larger than clear
                            // ones, so page reads weigh on search latency. No mmap: under
                            // writes the file grows and every connection remaps it; the
                            // munmaps' TLB shootdowns took ~10 % of the server's time under
                            // load, and opening a dossier went from 1,040 to 1,380 req/s
                            // without it (issue 20, docs/BENCHMARKS.md).
                            //
                            // WAL checkpoints off the requests' path: SQLite's default runs one
                            // (copying the WAL into the file, with its fsyncs) inside the commit
                            // that grows the WAL past 1,000 pages — some request's commit, the
                            // p99 of the search use case (issue 20). Here a request's commit
                            // checkpoints only past 10,000 pages (40 MiB, a long command's
                            // bound); the server's background sealer checkpoints every second
                            // (`Store::checkpoint`), and the WAL file is truncated back to
                            // 64 MiB at most afterwards.
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                             PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; \
                             PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=10000; \
                             PRAGMA journal_size_limit=67108864;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            });
        let pool = opts.connect(url).await?;
        Ok(Store {
            pool,
            backend,
            gate: std::sync::Arc::new(tokio::sync::RwLock::new(())),
            writer: std::sync::Arc::new(tokio::sync::Mutex::new(())),
            queue: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction sharing the write gate (requests, commands).
    pub async fn begin(&self) -> Result<Tx> {
        let gate = self.gate.clone().read_owned().await;
        let (inner, writer) = self.begin_raw().await?;
        Ok(Tx {
            inner,
            _writer: writer,
            _gate: Some(gate),
        })
    }

    /// On SQLite, `BEGIN IMMEDIATE`: the transaction takes the write lock at its start. A
    /// deferred transaction that reads first and writes later fails at once with "database is
    /// locked" (SQLITE_BUSY_SNAPSHOT, no busy wait) when another connection committed in
    /// between — a session refresh, say. PostgreSQL needs nothing.
    ///
    /// Before it, the transaction waits for the process's writer turn (a FIFO async mutex):
    /// without it, the writers of the process all compete for SQLite's lock through its busy
    /// handler, which sleeps 1, 2, 5, 10… 100 ms between tries — under load the tail of the
    /// latency was those sleeps (issue 20: p99 1.2 s). With it, the next writer starts the
    /// moment the previous one commits. Other processes (a command beside the server) still
    /// meet `busy_timeout`. Waiting longer than [`WRITER_WAIT`] is an error, never a hang.
    async fn begin_raw(
        &self,
    ) -> Result<(
        sqlx::Transaction<'static, Any>,
        Option<tokio::sync::OwnedMutexGuard<()>>,
    )> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let turn = tokio::time::timeout(WRITER_WAIT, self.writer.clone().lock_owned())
                    .await
                    .map_err(|_| StoreError::Busy)?;
                (self.pool.begin_with("BEGIN IMMEDIATE").await?, Some(turn))
            }
            Backend::Postgres => (self.pool.begin().await?, None),
        })
    }

    /// A read-only transaction: one consistent snapshot for the reads of a request, outside the
    /// writer's turn (SQLite: a deferred transaction, which in WAL mode never blocks nor waits
    /// for the writer; PostgreSQL: `READ ONLY`, so a write slipped into it fails loudly). Use
    /// cases read and decrypt here and keep their write transaction for what must be atomic —
    /// the counted read and its audit entry — so the single SQLite writer is held for
    /// microseconds, not for the decryption of a caseload (issue 20). Dropped, it rolls back.
    pub async fn read(&self) -> Result<ReadTx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin().await?,
            Backend::Postgres => self.pool.begin_with("BEGIN READ ONLY").await?,
        })
    }

    /// A transaction outside the gate, for a caller that holds it exclusively
    /// ([`Store::try_exclusive`]) or runs alone (the sealer).
    pub async fn begin_ungated(&self) -> Result<Tx> {
        let (inner, writer) = self.begin_raw().await?;
        Ok(Tx {
            inner,
            _writer: writer,
            _gate: None,
        })
    }

    /// The write gate, exclusively, if no transaction holds it now (never waits, so it never
    /// blocks requests behind it).
    pub fn try_exclusive(&self) -> Option<tokio::sync::OwnedRwLockWriteGuard<()>> {
        self.gate.clone().try_write_owned().ok()
    }

    /// One run at a time across every instance on this database, for scheduled jobs (the
    /// nightly warehouse export, retention): on PostgreSQL a session advisory lock on a
    /// connection of its own, taken without waiting — `None` when another instance runs the
    /// job now. Dropping the guard closes that connection, which releases the lock (also if the
    /// process dies). SQLite is one host's file: the guard is always given.
    pub async fn try_job_lock(&self, job: i64) -> Result<Option<JobLock>> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(JobLock(None)));
        }
        let mut conn = self.pool.acquire().await?;
        // Keyed by schema too: instances of different schemas of one database (tests, a
        // shared server) do not exclude each other.
        let got: bool = sqlx::query(
            "SELECT pg_try_advisory_lock(hashtext(current_schema()), CAST($1 AS INTEGER))",
        )
        .bind(job)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
        Ok(got.then(|| JobLock(Some(conn.detach()))))
    }

    /// SQLite: copies what it can of the WAL into the database file now, without waiting for
    /// nor blocking readers and writers (`wal_checkpoint(PASSIVE)`), so that requests' commits
    /// do not (see the pragmas in [`Store::connect`]). The background sealer calls it every
    /// second, and every seal ends with it. PostgreSQL checkpoints by itself: nothing to do.
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            let mut conn = self.pool.acquire().await?;
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").await?;
        }
        Ok(())
    }

    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Applies the embedded migrations of this backend that are not applied yet.
    pub async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            // Several instances may start together: one migrates, the others wait.
            conn.execute("SELECT pg_advisory_lock(727100001)").await?;
        }
        let res = self.migrate_locked(&mut conn).await;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_unlock(727100001)").await?;
        }
        res
    }

    async fn migrate_locked(&self, conn: &mut Conn) -> Result<()> {
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let applied: Vec<i64> = sqlx::query("SELECT version FROM _migrations")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r: &AnyRow| r.try_get::<i64, _>(0))
            .collect::<std::result::Result<_, _>>()?;
        let list = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        for (version, name, sql) in list {
            if applied.contains(version) {
                continue;
            }
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            sqlx::raw_sql(*sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO _migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(*version)
                .bind(*name)
                .bind(0i64)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version, name, "migration appliquée");
        }
        Ok(())
    }

    /// Whether the schema exists (an initialised instance).
    pub async fn is_initialised(&self) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        let q = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'keyring'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'keyring'"
            }
        };
        let n: i64 = sqlx::query(q).fetch_one(&mut *conn).await?.try_get(0)?;
        if n == 0 {
            return Ok(false);
        }
        Ok(keyring::get(&mut conn, "check").await?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::{is_full, is_unavailable, StoreError};

    #[test]
    fn not_now_is_told_apart_from_wrong() {
        // SQLite BUSY, BUSY_SNAPSHOT (517), LOCKED; PostgreSQL connection failure, shutting
        // down, starting up, too many connections.
        for code in ["5", "517", "6", "08006", "57P01", "57P03", "53300"] {
            assert!(is_unavailable(Some(code)), "{code}");
        }
        // Constraint violations, syntax errors, SQLite CONSTRAINT are errors.
        for code in ["23505", "42601", "19", "2067"] {
            assert!(!is_unavailable(Some(code)), "{code}");
            assert!(!is_full(Some(code)), "{code}");
        }
        // A full disk is its own answer.
        for code in ["13", "53100"] {
            assert!(is_full(Some(code)), "{code}");
        }
        assert!(!is_full(Some("53300")) && !is_full(None));
        assert!(!is_unavailable(None));
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Busy
        ));
    }
}
