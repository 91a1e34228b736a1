//! The tamper-evident audit log (promise P4).
//!
//! Three layers, each catching what the previous cannot:
//! 1. **Append** (in the transaction of the action): the row gets its sequence number from the
//!    database and an HMAC over its content with a key that is not in the database. No lock is
//!    shared by appenders. An entry edited or inserted by someone holding only the database fails
//!    its MAC, even before it is sealed.
//! 2. **Seal** (a background task, and at the end of each CLI command): under a lock on the one
//!    `audit_head` row, which only sealers take, unsealed entries get consecutive chain positions
//!    and `hash = SHA-256(previous hash ‖ position ‖ seq ‖ content ‖ MAC)`. Deleting, inserting or
//!    reordering sealed entries breaks the chain.
//! 3. **Checkpoints**: each seal run signs (position, hash) with Ed25519 and also appends the
//!    checkpoint to a file outside the database, so truncating the tail of the log (entries and
//!    checkpoints together) is detected against that file.
//!
//! Subjects are dossier ids (random UUIDs), never names.

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};
use parcours_store::audit::{self as q, AuditRow, Checkpoint};
use parcours_store::Conn;
use std::io::Write;

use crate::{App, AppError, Ctx, Result};

/// What happened, before it is stamped with actor, time and request id.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: &'a str,
    pub subject: Option<&'a str>,
    pub fields: &'a str,
    pub outcome: Outcome,
    pub structure_id: Option<i64>,
}

/// How an audited action ended: a closed list (its code is what the log stores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Refused,
    Failed,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refus",
            Outcome::Failed => "echec",
        }
    }
}

pub const OK: Outcome = Outcome::Ok;
pub const REFUSED: Outcome = Outcome::Refused;
pub const FAILED: Outcome = Outcome::Failed;

fn canonical(r: &AuditRow) -> Vec<u8> {
    // A JSON array: deterministic, unambiguous, readable when debugging. Built as a value and
    // printed (infallible), byte for byte what serialising the tuple gave: existing chains
    // still verify (the unit test below pins the form). The session and client pseudonyms
    // (issue 18) follow only when present, so entries written before them keep their form.
    let mut v = serde_json::json!([
        r.ts,
        r.actor,
        r.action,
        r.subject,
        r.fields,
        r.request_id,
        r.outcome,
        r.structure_id,
    ]);
    // The dossiers of a several-dossier entry (issue 20) follow them, only when present.
    if r.session_ref.is_some() || r.client_ref.is_some() || r.subjects.is_some() {
        if let Some(a) = v.as_array_mut() {
            a.push(serde_json::json!(r.session_ref));
            a.push(serde_json::json!(r.client_ref));
            if r.subjects.is_some() {
                a.push(serde_json::json!(r.subjects));
            }
        }
    }
    v.to_string().into_bytes()
}

fn link(prev: &[u8], r: &AuditRow, pos: i64) -> Vec<u8> {
    let mut data = prev.to_vec();
    data.extend_from_slice(&pos.to_be_bytes());
    data.extend_from_slice(&r.seq.to_be_bytes());
    data.extend(canonical(r));
    data.extend_from_slice(&r.mac);
    parcours_vault::sha256(&data).to_vec()
}

fn checkpoint_message(pos: i64, hash: &[u8], ts: i64) -> Vec<u8> {
    let mut m = b"parcours/audit-checkpoint/v1".to_vec();
    m.extend_from_slice(&pos.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(&ts.to_be_bytes());
    m
}

/// Entries chained per transaction: each batch is one short turn at the writer, so requests
/// queued behind the sealer wait milliseconds, not the whole backlog.
const SEAL_BATCH: i64 = 1000;

pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

impl App {
    fn entry_mac(&self, r: &AuditRow) -> Vec<u8> {
        parcours_vault::hmac_sha256(self.keys.audit_mac.expose(), &canonical(r)).to_vec()
    }

    /// The row of an event: stamped with actor, time and request id, and MACed.
    fn stamped(&self, ctx: &Ctx, actor: &str, ev: &Event<'_>) -> AuditRow {
        let mut row = AuditRow {
            seq: 0,
            ts: micros(ctx.now),
            actor: actor.to_string(),
            action: ev.action.to_string(),
            subject: ev.subject.map(str::to_string),
            fields: ev.fields.to_string(),
            request_id: ctx.request_id.clone(),
            outcome: ev.outcome.code().to_string(),
            structure_id: ev.structure_id,
            mac: Vec::new(),
            chain_pos: None,
            hash: None,
            session_ref: ctx.trace.session.clone(),
            client_ref: ctx.trace.client.clone(),
            quarantined: false,
            subjects: None,
        };
        row.mac = self.entry_mac(&row);
        row
    }

    /// One entry for a request that shows several dossiers (a caseload or list page, a search
    /// result): their ids in `subjects`, covered by the MAC and the chain, and indexed for
    /// "who read person X". One row and one MAC instead of one per dossier: the caseload page
    /// wrote 150 rows (issue 20). `ev.subject` is ignored; one id or none is an ordinary entry.
    pub(crate) async fn audit_subjects(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        ev: Event<'_>,
        ids: &[&str],
    ) -> Result<()> {
        q::append(conn, &self.subjects_row(ctx, ev, ids)).await?;
        Ok(())
    }

    pub(crate) fn subjects_row(&self, ctx: &Ctx, ev: Event<'_>, ids: &[&str]) -> AuditRow {
        let actor = ctx.actor.audit_name();
        let single = Event {
            subject: ids.first().copied().filter(|_| ids.len() == 1),
            ..ev
        };
        let mut row = self.stamped(ctx, &actor, &single);
        if ids.len() > 1 {
            row.subjects = Some(ids.join(","));
            row.mac = self.entry_mac(&row);
        }
        row
    }

    /// The entry of a read whose only write is that entry (a dossier of the actor's own
    /// caseload, a caseload or list page), written by the store's group commit with those of
    /// the other requests waiting now: returns once it is durable, or with the error that
    /// prevented it — then nothing may be shown (issue 20). `ids` as in
    /// [`App::audit_subjects`]; `ev.subject` is used when `ids` is empty.
    pub(crate) async fn audit_durable(&self, ctx: &Ctx, ev: Event<'_>, ids: &[&str]) -> Result<()> {
        let row = if ids.is_empty() {
            self.stamped(ctx, &ctx.actor.audit_name(), &ev)
        } else {
            self.subjects_row(ctx, ev, ids)
        };
        Ok(self.store.append_audit_durable(vec![row]).await?)
    }

    /// Appends an audit entry on `conn` (inside the caller's transaction).
    pub(crate) async fn audit(&self, conn: &mut Conn, ctx: &Ctx, ev: Event<'_>) -> Result<i64> {
        self.audit_as(conn, ctx, &ctx.actor.audit_name(), ev).await
    }

    /// Same, naming the actor explicitly (e.g. the account a failed login targeted).
    pub(crate) async fn audit_as(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        actor: &str,
        ev: Event<'_>,
    ) -> Result<i64> {
        Ok(q::append(conn, &self.stamped(ctx, actor, &ev)).await?)
    }

    /// Appends the entries of one request in one statement (e.g. one per search result).
    pub(crate) async fn audit_many(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        events: &[Event<'_>],
    ) -> Result<()> {
        let actor = ctx.actor.audit_name();
        let rows: Vec<AuditRow> = events
            .iter()
            .map(|ev| self.stamped(ctx, &actor, ev))
            .collect();
        Ok(q::append_many(conn, &rows).await?)
    }

    /// Records a refusal noticed inside the caller's transaction. The entry is stamped and
    /// MACed now and written by [`App::flush_refusals`] after the transaction has ended (the
    /// web layer flushes after every request, the sealer every second, commands at their end),
    /// so the refusal survives the rollback of the action it refused.
    pub(crate) fn audit_refusal(&self, ctx: &Ctx, ev: Event<'_>) {
        let row = self.stamped(ctx, &ctx.actor.audit_name(), &ev);
        self.pending_refusals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(row);
    }

    /// Writes the refusals recorded by `App::audit_refusal`. Call it only where no
    /// transaction of the current task is open. On failure they are kept for the next flush.
    pub async fn flush_refusals(&self) -> Result<()> {
        let rows = std::mem::take(
            &mut *self
                .pending_refusals
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        if rows.is_empty() {
            return self.flush_vigilance().await;
        }
        let res = async {
            let mut tx = self.store.begin_ungated().await?;
            q::append_many(&mut tx, &rows).await?;
            tx.commit().await?;
            Ok::<(), AppError>(())
        }
        .await;
        if res.is_err() {
            self.pending_refusals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(rows);
        }
        res?;
        self.flush_vigilance().await
    }

    /// Appends an entry in its own transaction (refusals and failures whose action rolled back).
    pub async fn audit_alone(&self, ctx: &Ctx, ev: Event<'_>) -> Result<()> {
        let mut tx = self.store.begin().await?;
        self.audit(&mut tx, ctx, ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The background sealer's step: seals only while no request transaction is open (the
    /// store's gate taken exclusively, if free) — sealing between a request's read and its
    /// write would make that write fail on SQLite. `None`: busy, try again later.
    /// Folds SQLite's WAL into the database file in the background (every seal ends with it;
    /// the server calls it each second it does not seal).
    pub async fn checkpoint(&self) -> Result<()> {
        Ok(self.store.checkpoint().await?)
    }

    pub async fn seal_when_idle(&self, now: DateTime<Utc>) -> Result<Option<u64>> {
        let Some(_gate) = self.store.try_exclusive() else {
            return Ok(None);
        };
        self.seal_audit(now).await.map(Some)
    }

    /// Chains every unsealed entry and signs a checkpoint. Returns how many were sealed.
    pub async fn seal_audit(&self, now: DateTime<Utc>) -> Result<u64> {
        self.flush_refusals().await?;
        let _guard = self.sealer.lock().await;
        self.complete_checkpoint_log().await?;
        let mut total = 0u64;
        loop {
            // Ungated: the background sealer holds the store's gate exclusively around this
            // call (web::serve); commands and tests run it alone.
            let mut tx = self.store.begin_ungated().await?;
            let (mut pos, mut hash) = q::lock_head(&mut tx).await?;
            let batch = q::unsealed(&mut tx, SEAL_BATCH).await?;
            if batch.is_empty() {
                break;
            }
            let n = batch.len();
            let mut forged = Vec::new();
            let mut sealed = Vec::with_capacity(n);
            for r in &batch {
                if self.entry_mac(r) != r.mac {
                    // Never chain a forged entry, and never stop for one: it is quarantined
                    // (kept as evidence, out of the chain), alerted and named by `audit verifier`.
                    q::quarantine(&mut tx, r.seq).await?;
                    forged.push(r.seq);
                    continue;
                }
                pos += 1;
                hash = link(&hash, r, pos);
                sealed.push((r.seq, pos, hash.clone()));
            }
            q::seal_many(&mut tx, &sealed).await?;
            if !forged.is_empty() {
                self.report_forged(&mut tx, &forged, now).await?;
            }
            q::set_head(&mut tx, pos, &hash).await?;
            let ts = micros(now);
            let sig = self
                .keys
                .audit_signing
                .sign(&checkpoint_message(pos, &hash, ts));
            let cp = Checkpoint {
                chain_pos: pos,
                hash: hash.clone(),
                ts,
                signature: sig.to_bytes().to_vec(),
            };
            q::add_checkpoint(&mut tx, &cp).await?;
            tx.commit().await?;
            self.log_checkpoint(&cp);
            total += n as u64;
            if (n as i64) < SEAL_BATCH {
                break;
            }
        }
        // The WAL folded into the database here, not in some request's commit (issue 20).
        self.store.checkpoint().await?;
        Ok(total)
    }

    /// A forged entry found while sealing: a critical alert to the DPO and an audit entry
    /// naming it (sealed in the next batch, so the quarantine itself is in the chain).
    async fn report_forged(&self, conn: &mut Conn, seqs: &[i64], now: DateTime<Utc>) -> Result<()> {
        let list: Vec<String> = seqs.iter().map(|s| s.to_string()).collect();
        let evidence = serde_json::json!({ "entrees": seqs }).to_string();
        self.raise_alert(
            conn,
            None,
            None,
            "journal d'audit",
            "audit_falsifie",
            "critique",
            &evidence,
            now.timestamp(),
        )
        .await?;
        let ctx = Ctx::operator(now);
        self.audit_as(
            conn,
            &ctx,
            "scellement",
            Event {
                action: "audit.quarantaine",
                subject: None,
                fields: &format!("entrees:{}", list.join(";")),
                outcome: FAILED,
                structure_id: None,
            },
        )
        .await?;
        tracing::error!(entries = %list.join(","), "entrée(s) d'audit falsifiée(s) mise(s) en quarantaine");
        Ok(())
    }

    /// Every signed checkpoint as lines (`position hash ts signature`): what a witness keeps.
    pub async fn checkpoint_lines(&self) -> Result<String> {
        let mut conn = self.store.acquire().await?;
        let cps = q::checkpoints(&mut conn).await?;
        Ok(cps.iter().map(checkpoint_line).collect())
    }

    /// Appends to the external log the database's last checkpoint when it is the only one
    /// missing: the line a crash between a seal's commit and its append did not write (signed,
    /// copied from the database). A log further behind, or whose last line does not read, is
    /// left as it is, for `audit verifier` to report. Once per process (the crash window is
    /// followed by a restart), and cheap: the log's last line and at most two checkpoints.
    async fn complete_checkpoint_log(&self) -> Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        use std::sync::atomic::Ordering;
        let Some(path) = &self.checkpoint_log else {
            return Ok(());
        };
        if self.checkpoint_log_checked.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        // The last line: a checkpoint line is ~200 bytes, the last 4 KiB hold it whole.
        let tail = match std::fs::File::open(path) {
            Ok(mut f) => {
                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                let mut buf = Vec::new();
                if f.seek(SeekFrom::Start(len.saturating_sub(4096))).is_err()
                    || f.read_to_end(&mut buf).is_err()
                {
                    return Ok(());
                }
                String::from_utf8_lossy(&buf).into_owned()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(_) => return Ok(()),
        };
        let last = match tail.lines().rev().find(|l| !l.trim().is_empty()) {
            None => 0,
            Some(line) => {
                let public = self.keys.audit_signing.verifying_key();
                match parse_checkpoint_lines(&format!("{line}\n"), &public) {
                    Ok(lines) => lines.keys().next_back().copied().unwrap_or(0),
                    Err(_) => return Ok(()),
                }
            }
        };
        let mut conn = self.store.acquire().await?;
        let missing = q::checkpoints_after(&mut conn, last, 2).await?;
        drop(conn);
        if let [cp] = missing.as_slice() {
            tracing::warn!(
                position = cp.chain_pos,
                "point de contrôle recopié dans le journal externe (coupure pendant un scellement)"
            );
            self.log_checkpoint(cp);
        }
        // Two or more: more than a crash can lose — evidence, left for `audit verifier`.
        Ok(())
    }

    fn log_checkpoint(&self, cp: &Checkpoint) {
        tracing::info!(position = cp.chain_pos, hash = %hex::encode(&cp.hash), "point de contrôle d'audit signé");
        if let Some(path) = &self.checkpoint_log {
            let line = checkpoint_line(cp);
            let res = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(line.as_bytes()));
            if let Err(e) = res {
                tracing::error!(error = %e, "écriture du journal des points de contrôle impossible");
            }
        }
    }

    /// Recomputes the whole chain. `Ok(report)` when intact; `Err` names the first bad entry.
    pub async fn verify_audit(&self) -> std::result::Result<VerifyReport, VerifyError> {
        self.verify_audit_with(None).await
    }

    /// [`App::verify_audit`], also against a witness: checkpoint lines kept elsewhere (another
    /// disk, another host), in the external log's format. Every witness checkpoint must carry
    /// a valid signature and be reached by the chain with the same hash: a log rolled back
    /// (tail deleted) or re-sealed (entries rewritten, chain recomputed) is detected even when
    /// the database's own checkpoints and the local external log were rewritten with it.
    pub async fn verify_audit_with(
        &self,
        witness: Option<&str>,
    ) -> std::result::Result<VerifyReport, VerifyError> {
        let public = self.keys.audit_signing.verifying_key();
        let witness = match witness {
            Some(text) => Some(
                parse_checkpoint_lines(text, &public).map_err(|m| VerifyError {
                    seq: 0,
                    message: format!("témoin illisible : {m}"),
                    tampered: false,
                })?,
            ),
            None => None,
        };
        let mut witnessed = 0usize;
        let mut conn = self
            .store
            .acquire()
            .await
            .map_err(|e| VerifyError::from_app(e.into()))?;
        let checkpoints = q::checkpoints(&mut conn)
            .await
            .map_err(|e| VerifyError::from_app(e.into()))?;
        let (head_pos, head_hash) = q::head(&mut conn)
            .await
            .map_err(|e| VerifyError::from_app(e.into()))?;
        let mut cps = checkpoints.iter().peekable();
        let mut prev = vec![0u8; 32];
        let mut expected = 1i64;
        let mut last_seq = None;
        loop {
            let page = q::sealed_after(&mut conn, expected - 1, 5000)
                .await
                .map_err(|e| VerifyError::from_app(e.into()))?;
            if page.is_empty() {
                break;
            }
            for r in &page {
                let pos = r.chain_pos.unwrap_or_default();
                if pos != expected {
                    return Err(VerifyError::bad(
                        r.seq,
                        format!(
                            "l'entrée de position {expected} manque dans la chaîne (supprimée) avant l'entrée n° {}",
                            r.seq
                        ),
                    ));
                }
                if self.entry_mac(r) != r.mac {
                    return Err(VerifyError::bad(
                        r.seq,
                        format!(
                            "l'entrée n° {} a été modifiée ou insérée (code d'intégrité invalide)",
                            r.seq
                        ),
                    ));
                }
                let h = link(&prev, r, pos);
                if Some(&h) != r.hash.as_ref() {
                    return Err(VerifyError::bad(
                        r.seq,
                        format!(
                            "chaînage rompu à l'entrée n° {} (position {pos}) : entrée déplacée, insérée ou précédente supprimée",
                            r.seq
                        ),
                    ));
                }
                if let Some(wh) = witness.as_ref().and_then(|w| w.get(&pos)) {
                    if wh != &h {
                        return Err(VerifyError::bad(
                            r.seq,
                            format!(
                                "le témoin atteste à la position {pos} une autre empreinte que la chaîne : journal réécrit puis rescellé"
                            ),
                        ));
                    }
                    witnessed += 1;
                }
                while let Some(cp) = cps.peek() {
                    if cp.chain_pos > pos {
                        break;
                    }
                    if cp.chain_pos == pos {
                        check_checkpoint(&public, cp, &h)
                            .map_err(|m| VerifyError::bad(r.seq, m))?;
                    }
                    cps.next();
                }
                prev = h;
                expected += 1;
                last_seq = Some(r.seq);
            }
            // The index of several-dossier entries must name exactly their dossiers: a row
            // deleted from it would hide a read from "who read person X" (issue 20).
            let mut listed: Vec<(i64, String)> = Vec::new();
            let mut seqs = Vec::new();
            for r in page.iter().filter(|r| r.subject.is_none()) {
                if let Some(list) = &r.subjects {
                    seqs.push(r.seq);
                    listed.extend(
                        list.split(',')
                            .filter(|s| !s.is_empty())
                            .map(|s| (r.seq, s.to_string())),
                    );
                }
            }
            if !seqs.is_empty() {
                listed.sort();
                let indexed = q::indexed_subjects(&mut conn, &seqs)
                    .await
                    .map_err(|e| VerifyError::from_app(e.into()))?;
                if indexed != listed {
                    let seq = listed
                        .iter()
                        .zip(indexed.iter())
                        .find(|(a, b)| a != b)
                        .map(|(a, _)| a.0)
                        .or_else(|| listed.get(indexed.len()).map(|a| a.0))
                        .unwrap_or(seqs[0]);
                    return Err(VerifyError::bad(
                        seq,
                        format!(
                            "l'index des dossiers lus ne correspond plus à l'entrée n° {seq} : ligne d'index supprimée ou ajoutée"
                        ),
                    ));
                }
            }
        }
        let sealed = expected - 1;
        let seq_named = last_seq.unwrap_or(0);
        if let Some((&pos, _)) = witness.as_ref().and_then(|w| w.range(sealed + 1..).next()) {
            return Err(VerifyError::bad(
                seq_named,
                format!(
                    "le témoin atteste la position {pos} mais la chaîne s'arrête à {sealed} : entrées supprimées en fin de journal (retour en arrière)"
                ),
            ));
        }
        if let Some(cp) = cps.next() {
            return Err(VerifyError::bad(
                seq_named,
                format!(
                    "un point de contrôle signé atteste la position {} mais la chaîne s'arrête à {sealed} : entrées supprimées en fin de journal",
                    cp.chain_pos
                ),
            ));
        }
        if head_pos != sealed || (sealed > 0 && head_hash != prev) {
            return Err(VerifyError::bad(
                seq_named,
                format!("la tête de chaîne (position {head_pos}) ne correspond pas aux entrées (position {sealed})"),
            ));
        }
        if let Some(last) = checkpoints.last() {
            if last.chain_pos != sealed {
                return Err(VerifyError::bad(
                    seq_named,
                    format!(
                        "entrées scellées après le dernier point de contrôle signé ({})",
                        last.chain_pos
                    ),
                ));
            }
        }
        // Checkpoints kept outside the database: the log must be there (when the database has
        // checkpoints), whole, and the chain must still reach each of its checkpoints.
        let mut external = 0;
        let mut external_behind = 0;
        if let Some(path) = &self.checkpoint_log {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                // No file yet and at most one checkpoint: the first seal's crash window.
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound && checkpoints.len() <= 1 =>
                {
                    String::new()
                }
                Err(e) => {
                    return Err(VerifyError::bad(
                        seq_named,
                        format!(
                            "journal externe des points de contrôle absent ou illisible ({}) : {e} — supprimé ou déplacé ?",
                            path.display()
                        ),
                    ))
                }
            };
            let lines = parse_checkpoint_lines(&text, &public).map_err(|m| {
                VerifyError::bad(
                    seq_named,
                    format!("journal externe des points de contrôle altéré : {m}"),
                )
            })?;
            for (pos, hash) in &lines {
                external += 1;
                let same = checkpoints
                    .iter()
                    .any(|c| c.chain_pos == *pos && &c.hash == hash);
                if !same {
                    return Err(VerifyError::bad(
                        seq_named,
                        format!(
                            "le point de contrôle externe de position {pos} est absent ou différent dans la base : journal tronqué ou réécrit"
                        ),
                    ));
                }
            }
            let last_external = lines.keys().next_back().copied().unwrap_or(0);
            if let Some(last) = checkpoints.last() {
                // Only the database's last checkpoint missing from the file is what a crash
                // between a seal's commit and its line leaves (the next seal copies it back):
                // reported, not an alteration. Anything more is.
                let before_last = checkpoints
                    .len()
                    .checked_sub(2)
                    .map_or(0, |i| checkpoints[i].chain_pos);
                if last.chain_pos > last_external && before_last == last_external {
                    external_behind = 1;
                } else if last.chain_pos > last_external {
                    return Err(VerifyError::bad(
                        seq_named,
                        format!(
                            "le journal externe s'arrête à la position {last_external}, la base atteste {} : journal externe tronqué",
                            last.chain_pos
                        ),
                    ));
                }
            }
        }
        // Entries the sealer took out of the chain (their code did not verify).
        let quarantined = q::quarantined(&mut conn)
            .await
            .map_err(|e| VerifyError::from_app(e.into()))?;
        if let Some(first) = quarantined.first() {
            let list: Vec<String> = quarantined.iter().map(|r| r.seq.to_string()).collect();
            return Err(VerifyError::bad(
                first.seq,
                format!(
                    "entrée(s) falsifiée(s) mise(s) en quarantaine par le scellement (hors chaîne) : n° {}",
                    list.join(", ")
                ),
            ));
        }
        // Gaps in the sequence: on SQLite a rolled-back insert leaves none, so a gap is an
        // entry deleted before it was sealed; PostgreSQL's sequences skip the numbers of
        // rolled-back transactions, so there a gap is only reported.
        let seqs = q::all_seqs(&mut conn)
            .await
            .map_err(|e| VerifyError::from_app(e.into()))?;
        let gaps = seq_gaps(&seqs);
        if !gaps.is_empty() && self.store.backend() == parcours_store::Backend::Sqlite {
            return Err(VerifyError::bad(
                gaps[0].1 + 1,
                format!(
                    "numéros d'entrée manquants ({}) : entrées supprimées avant leur scellement",
                    describe_gaps(&gaps)
                ),
            ));
        }
        let unsealed = q::unsealed(&mut conn, i64::MAX)
            .await
            .map_err(|e| VerifyError::from_app(e.into()))?;
        for r in &unsealed {
            if self.entry_mac(r) != r.mac {
                return Err(VerifyError::bad(
                    r.seq,
                    format!("l'entrée non scellée n° {} a été modifiée ou insérée (code d'intégrité invalide)", r.seq),
                ));
            }
        }
        Ok(VerifyReport {
            sealed,
            unsealed: unsealed.len() as i64,
            checkpoints: checkpoints.len(),
            external_checkpoints: external,
            external_behind,
            witnessed,
            gaps,
        })
    }
}

fn checkpoint_line(cp: &Checkpoint) -> String {
    format!(
        "{} {} {} {}\n",
        cp.chain_pos,
        hex::encode(&cp.hash),
        cp.ts,
        hex::encode(&cp.signature)
    )
}

/// Ranges `(first, last)` of sequence numbers missing between the lowest and the highest.
fn seq_gaps(seqs: &[i64]) -> Vec<(i64, i64)> {
    seqs.windows(2)
        .filter(|w| w[1] > w[0] + 1)
        .map(|w| (w[0] + 1, w[1] - 1))
        .collect()
}

fn describe_gaps(gaps: &[(i64, i64)]) -> String {
    let mut parts: Vec<String> = gaps
        .iter()
        .take(5)
        .map(|&(a, b)| {
            if a == b {
                format!("n° {a}")
            } else {
                format!("n° {a} à {b}")
            }
        })
        .collect();
    if gaps.len() > 5 {
        parts.push(format!("et {} autre(s) trou(s)", gaps.len() - 5));
    }
    parts.join(", ")
}

/// Parses checkpoint lines (`position hash ts signature`, hex), checking each signature:
/// position → hash. A malformed line (a log cut in the middle of a write) or a bad signature
/// is an error.
pub fn parse_checkpoint_lines(
    text: &str,
    public: &VerifyingKey,
) -> std::result::Result<std::collections::BTreeMap<i64, Vec<u8>>, String> {
    let mut out = std::collections::BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let n = i + 1;
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [pos, hash, ts, sig] = parts[..] else {
            return Err(format!("ligne {n} incomplète ou mal formée"));
        };
        let cp = Checkpoint {
            chain_pos: pos
                .parse()
                .map_err(|_| format!("ligne {n} : position illisible"))?,
            hash: hex::decode(hash).map_err(|_| format!("ligne {n} : empreinte illisible"))?,
            ts: ts
                .parse()
                .map_err(|_| format!("ligne {n} : date illisible"))?,
            signature: hex::decode(sig).map_err(|_| format!("ligne {n} : signature illisible"))?,
        };
        check_checkpoint(public, &cp, &cp.hash).map_err(|m| format!("ligne {n} : {m}"))?;
        out.insert(cp.chain_pos, cp.hash);
    }
    Ok(out)
}

fn check_checkpoint(
    public: &VerifyingKey,
    cp: &Checkpoint,
    hash: &[u8],
) -> std::result::Result<(), String> {
    if cp.hash != hash {
        return Err(format!(
            "le point de contrôle de la position {} ne correspond pas à la chaîne",
            cp.chain_pos
        ));
    }
    let sig = Signature::from_slice(&cp.signature)
        .map_err(|_| format!("signature illisible au point de contrôle {}", cp.chain_pos))?;
    public
        .verify(&checkpoint_message(cp.chain_pos, &cp.hash, cp.ts), &sig)
        .map_err(|_| format!("signature invalide au point de contrôle {}", cp.chain_pos))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub sealed: i64,
    pub unsealed: i64,
    pub checkpoints: usize,
    pub external_checkpoints: usize,
    /// The database's last checkpoint not yet in the external log (0 or 1): a crash between a
    /// seal's commit and its line; the next seal writes it.
    pub external_behind: usize,
    /// Checkpoints of the witness found in the chain.
    pub witnessed: usize,
    /// Missing sequence numbers (reported; an error on SQLite, where they cannot be rollbacks).
    pub gaps: Vec<(i64, i64)>,
}

#[derive(Debug, Clone)]
pub struct VerifyError {
    /// Sequence number of the first bad entry (0 when the log could not be read).
    pub seq: i64,
    pub message: String,
    /// True when the log was read and found altered; false when it could not be read at all
    /// (the command exits differently: docs/SECURITY.md, "Audit chain").
    pub tampered: bool,
}

impl VerifyError {
    fn bad(seq: i64, message: String) -> VerifyError {
        VerifyError {
            seq,
            message,
            tampered: true,
        }
    }
    fn from_app(e: AppError) -> VerifyError {
        VerifyError {
            seq: 0,
            message: format!("lecture du journal impossible : {e}"),
            tampered: false,
        }
    }
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use parcours_store::audit::AuditRow;

    #[test]
    fn the_canonical_form_is_the_serialised_tuple() {
        let r = AuditRow {
            seq: 7,
            ts: 1_700_000_000_123_456,
            actor: "conseillère \"a\"".into(),
            action: "jeune.lecture".into(),
            subject: None,
            fields: "identite,motif:é\u{1}".into(),
            request_id: "abc".into(),
            outcome: "ok".into(),
            structure_id: Some(3),
            mac: vec![],
            chain_pos: None,
            hash: None,
            session_ref: None,
            client_ref: None,
            quarantined: false,
            subjects: None,
        };
        let tuple = serde_json::to_vec(&(
            r.ts,
            &r.actor,
            &r.action,
            &r.subject,
            &r.fields,
            &r.request_id,
            &r.outcome,
            r.structure_id,
        ))
        .unwrap();
        assert_eq!(super::canonical(&r), tuple);
        // With the pseudonyms (issue 18): appended, so they are covered by the MAC.
        let with = AuditRow {
            session_ref: Some("s1".into()),
            client_ref: None,
            ..r.clone()
        };
        let mut longer = tuple[..tuple.len() - 1].to_vec();
        longer.extend_from_slice(br#","s1",null]"#);
        assert_eq!(super::canonical(&with), longer);
        // With several dossiers (issue 20): after the pseudonyms, so they are covered too.
        let many = AuditRow {
            subjects: Some("a,b".into()),
            ..r.clone()
        };
        let mut listed = tuple[..tuple.len() - 1].to_vec();
        listed.extend_from_slice(br#",null,null,"a,b"]"#);
        assert_eq!(super::canonical(&many), listed);
        // One row per dossier for the reports, each naming it.
        let rows = many.per_subject();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].subject.as_deref(), Some("b"));
    }
}
