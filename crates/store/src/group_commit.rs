//! Group commit of audit entries (issue 20).
//!
//! A read of the advisor's own caseload writes nothing but its audit entry, and that entry must
//! be durable before anything is shown (promise P4). Written in a transaction of its own per
//! request, every such read took the single SQLite writer's turn (acquire a connection, `BEGIN
//! IMMEDIATE`, the insert, `COMMIT`, each a round trip to the connection's thread, then the
//! hand-over): under the mixed load the turn, not the machine, was the ceiling.
//!
//! [`Store::append_audit_durable`] instead queues the entries and waits. The first waiter to get
//! the leader's turn takes **every** entry queued at that moment — its own and those of the
//! requests that arrived while the previous batch was being written — and writes them in one
//! transaction; each waiter returns once the transaction holding its entries has committed, with
//! that commit's result (an error fails every request of the batch: none of them shows
//! anything). Never before: a waiter whose entry was not yet taken waits for the next batch.
//!
//! A search also counts itself against the account's walk threshold
//! ([`Store::append_counted_durable`]): the leader adds each such request's tally row in the
//! batch's transaction, in turn, after counting what is already there — so each request of a
//! burst gets its exact rank, as it did in a transaction of its own — and a request over the
//! limit gets nothing written (neither its tally row nor its entries) and the count that refused
//! it.
//!
//! The batch is written by a spawned task, so a request cancelled while it leads (its client
//! went away) neither rolls back nor strands the others' entries. Entries keep their MAC and get
//! their sequence numbers from the database as any other; the sealer chains them later.

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::audit::{self, AuditRow};
use crate::vigilance::{self, Tally};
use crate::{Result, Store, StoreError};

/// The entries waiting for the next batch, and the leader's turn.
#[derive(Default)]
pub(crate) struct Queue {
    pending: std::sync::Mutex<Vec<Waiting>>,
    leader: tokio::sync::Mutex<()>,
}

struct Waiting {
    rows: Vec<AuditRow>,
    counted: Option<Counted>,
    done: oneshot::Sender<Result<Verdict>>,
}

/// One more event of an account's tally, at most `limit` within the window (see
/// [`Store::append_counted_durable`]).
#[derive(Debug, Clone, Copy)]
pub struct Counted {
    pub tally: Tally,
    pub account_id: i64,
    pub at: i64,
    /// The window's start: events at or after it count.
    pub since: i64,
    pub limit: i64,
}

/// What a counted append found: `Within(n)` — written, the `n`-th event of the window;
/// `Over(n)` — it would have been the `n`-th, past the limit: nothing of it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Within(i64),
    Over(i64),
}

pub(crate) type SharedQueue = Arc<Queue>;

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The number waiting only: entries are not printed.
        let waiting = self.pending.lock().map(|p| p.len()).unwrap_or(0);
        f.debug_struct("Queue").field("waiting", &waiting).finish()
    }
}

impl Store {
    /// Appends `rows` (one request's entries) in a transaction shared with the other requests
    /// waiting now, and returns once it has committed — or with its error.
    pub async fn append_audit_durable(&self, rows: Vec<AuditRow>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.enqueue(rows, None).await.map(|_| ())
    }

    /// Same, for a request that is also one event of a tally with a limit (a search against
    /// the walk threshold): in the batch's transaction, the events of the window are counted;
    /// within the limit, the event and `rows` are written and the answer, once committed, is
    /// `Within(rank)`; past it, nothing is written and the answer is `Over(rank)`.
    pub async fn append_counted_durable(
        &self,
        rows: Vec<AuditRow>,
        counted: Counted,
    ) -> Result<Verdict> {
        self.enqueue(rows, Some(counted)).await
    }

    async fn enqueue(&self, rows: Vec<AuditRow>, counted: Option<Counted>) -> Result<Verdict> {
        let (done, mut answer) = oneshot::channel();
        self.queue
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Waiting {
                rows,
                counted,
                done,
            });
        loop {
            tokio::select! {
                biased;
                r = &mut answer => return r.unwrap_or_else(|_| Err(lost())),
                turn = self.queue.leader.lock() => {
                    // Whoever led before us either took our entries (the answer is there) or
                    // left them queued for us.
                    if let Ok(r) = answer.try_recv() {
                        return r;
                    }
                    let batch: Vec<Waiting> = std::mem::take(
                        &mut *self.queue.pending.lock().unwrap_or_else(|e| e.into_inner()),
                    );
                    let store = self.clone();
                    let written = tokio::spawn(async move { store.write_batch(batch).await });
                    // Our entries were in that batch: the answer arrives with its commit. The
                    // leader's turn passes on once the batch is written, so the next batch
                    // gathers what queued meanwhile.
                    let _ = written.await;
                    drop(turn);
                }
            }
        }
    }

    async fn write_batch(&self, batch: Vec<Waiting>) {
        match self.write_rows(&batch).await {
            Ok(verdicts) => {
                for (w, v) in batch.into_iter().zip(verdicts) {
                    let _ = w.done.send(Ok(v));
                }
            }
            Err(e) => {
                for w in batch {
                    let _ = w.done.send(Err(e.clone()));
                }
            }
        }
    }

    async fn write_rows(&self, batch: &[Waiting]) -> Result<Vec<Verdict>> {
        let mut tx = self.begin().await?;
        let mut verdicts = Vec::with_capacity(batch.len());
        let mut rows: Vec<&AuditRow> = Vec::new();
        for w in batch {
            let verdict = match &w.counted {
                None => Verdict::Within(0),
                Some(c) => {
                    // Counted before adding, in the order the requests queued: the batch's
                    // earlier events of the same account are already in the table.
                    let rank =
                        vigilance::tally_since(&mut tx, c.tally, c.account_id, c.since).await? + 1;
                    if rank > c.limit {
                        Verdict::Over(rank)
                    } else {
                        vigilance::tally_add(&mut tx, c.tally, c.account_id, c.at).await?;
                        Verdict::Within(rank)
                    }
                }
            };
            if let Verdict::Within(_) = verdict {
                rows.extend(w.rows.iter());
            }
            verdicts.push(verdict);
        }
        // Plain entries in multi-row statements; an entry naming several dossiers also fills
        // the index of its subjects, which needs its own sequence number.
        let (listed, plain): (Vec<&AuditRow>, Vec<&AuditRow>) =
            rows.into_iter().partition(|r| r.subjects.is_some());
        audit::append_refs(&mut tx, &plain).await?;
        for r in listed {
            audit::append(&mut tx, r).await?;
        }
        tx.commit().await?;
        Ok(verdicts)
    }
}

fn lost() -> StoreError {
    StoreError::Db("écriture groupée du journal interrompue".into())
}
