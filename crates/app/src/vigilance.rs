//! A stolen session leaks almost nothing (issue 15, promise P3).
//!
//! An advisor's caseload (the dossiers she is référent of) is read without limit. Every other
//! identity of her structure shown to her is a **counted read**: one distinct (account, day,
//! person) row in the database, weighted by how much was shown — a search candidate (nom,
//! initiale du prénom, année de naissance, commune) weighs [`WEIGHT_CANDIDATE`], a dossier
//! opened or acted on weighs [`WEIGHT_OPENED`]. The day's budget is the role's quota in dossiers
//! times [`WEIGHT_OPENED`], so a conseiller with 40 may open 40 dossiers outside her caseload,
//! or see 160 candidates, or a mix. At the budget, further identities are refused (429,
//! `quota_atteint`) and the directeur is alerted; break-glass adds a small allowance at once,
//! with a stated reason, audited and listed for review.
//!
//! The check runs **in the transaction that reveals**, after the account's row is locked, so two
//! requests (or two server instances on one PostgreSQL) cannot both spend the last point.
//!
//! Freezes: reading a canary, opening more than [`Thresholds::window_opened`] dossiers outside the
//! caseload within [`Thresholds::window_s`], or probing more than [`Thresholds::probes`] unknown
//! or foreign dossier ids within [`Thresholds::probes_window_s`] freezes the account: every
//! session ends (sessions live in the database, so on every instance), new logins are refused
//! with a French message saying whom to call, and a critical alert is stored and mailed. The
//! read that triggered it is refused. Because the revealing transaction rolls back, the freeze,
//! the alert and the probe are written just after it ([`App::flush_vigilance`], called with the
//! refusals before the answer leaves).

use crate::Rule;
use parcours_domain::Role;
use parcours_store::vigilance as v;
use parcours_store::Conn;
use serde::Serialize;

use crate::audit::{Event, OK, REFUSED};
use crate::{Actor, App, AppError, Ctx, Principal, Result};

/// A search candidate shown (partial identity).
pub const WEIGHT_CANDIDATE: i64 = 1;
/// A dossier opened, or any act on it (full identity).
pub const WEIGHT_OPENED: i64 = 4;
/// At most this many candidates a search page shows.
pub const SEARCH_PAGE: usize = 10;

/// Default daily quotas in dossiers outside the caseload.
pub const DEFAULT_CONSEILLER: i64 = 40;
pub const DEFAULT_DIRECTEUR: i64 = 150;

/// Instance-wide thresholds (`parcours vigilance seuils`, read at start). A threshold added
/// later takes its default when the stored settings predate it.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Thresholds {
    /// Distinct dossiers opened outside the caseload within `window_s` that freeze.
    pub window_opened: i64,
    pub window_s: i64,
    /// Refused dossier ids (unknown or of another structure) within `probes_window_s` that freeze.
    pub probes: i64,
    pub probes_window_s: i64,
    /// Dossiers a break-glass adds, and how many break-glass uses a day.
    pub break_glass_dossiers: i64,
    pub break_glass_per_day: i64,
    /// New accounts get half their role's quota for this many days.
    pub new_account_days: i64,
    /// Searches within `searches_window_s` that freeze (walking the names of the structure).
    pub searches: i64,
    pub searches_window_s: i64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            window_opened: 20,
            window_s: 300,
            probes: 10,
            probes_window_s: 600,
            break_glass_dossiers: 10,
            break_glass_per_day: 1,
            new_account_days: 7,
            searches: 40,
            searches_window_s: 300,
        }
    }
}

pub const THRESHOLDS_META: &str = "vigilance.seuils";

/// What the transaction that revealed could not write, done right after it.
#[derive(Debug, Clone)]
pub(crate) enum Signal {
    Freeze {
        account_id: i64,
        login: String,
        structure_id: Option<i64>,
        kind: &'static str,
        evidence: String,
        at: i64,
        request_id: String,
    },
    QuotaReached {
        account_id: i64,
        login: String,
        structure_id: i64,
        evidence: String,
        at: i64,
        day_start: i64,
    },
    Probe {
        account_id: i64,
        login: String,
        structure_id: Option<i64>,
        at: i64,
        request_id: String,
    },
}

/// An alert as the Alertes page and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub id: String,
    pub structure_id: Option<i64>,
    pub login: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub severity: String,
    pub evidence: serde_json::Value,
    pub created_at: i64,
    pub mail_status: String,
    pub mail_attempts: i64,
    pub mail_error: Option<String>,
    pub closed_by: Option<String>,
}

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "leurre" => "Lecture d'un dossier leurre",
        "rafale" => "Trop de dossiers ouverts en peu de temps",
        "sondage" => "Identifiants de dossiers essayés au hasard",
        "quota" => "Quota de lecture atteint",
        "balayage" => "Recherches en rafale (noms parcourus un à un)",
        "canal" => "API appelée avec une session ouverte par les pages",
        "iban" => "IBAN saisi ou modifié",
        "iban_partage" => "IBAN déjà donné pour un autre dossier",
        "lot_paiement" => "Second téléchargement du lot de paiement",
        "bris_de_glace" => "Bris de glace",
        "audit_falsifie" => "Entrée du journal d'audit falsifiée (mise en quarantaine)",
        _ => "Alerte",
    }
}

/// Where an account stands today.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaStatus {
    /// Budget in points (dossiers × WEIGHT_OPENED), break-glass included.
    pub limit: i64,
    pub used: i64,
    pub daily_dossiers: i64,
    pub break_glass_uses: i64,
    pub break_glass_left: i64,
}

/// One change of référent.
#[derive(Debug, Clone, Serialize)]
pub struct ReferentChangeView {
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: String,
    pub at: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreakGlassView {
    pub id: String,
    pub login: String,
    pub day: String,
    pub extra: i64,
    pub reason: String,
    pub created_at: i64,
    pub reviewed_by: Option<String>,
}

pub fn day_of(ctx: &Ctx) -> String {
    ctx.now.format("%Y-%m-%d").to_string()
}

fn day_start(ctx: &Ctx) -> i64 {
    ctx.now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp())
        .unwrap_or(0)
}

impl App {
    pub(crate) fn signal(&self, s: Signal) {
        self.pending_signals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(s);
    }

    /// The keyed tag of a canary dossier (only the tag is stored).
    pub fn canary_tag(&self, jeune_id: &str) -> Vec<u8> {
        self.keys.pseudonym("canary", jeune_id)
    }

    /// The role's quota in dossiers for the account (structure setting or default, halved
    /// during a new account's first days).
    fn daily_dossiers(&self, ctx: &Ctx, p: &Principal, budget: &v::Budget) -> i64 {
        let base = budget.setting.unwrap_or(match p.role {
            Role::Directeur => DEFAULT_DIRECTEUR,
            _ => DEFAULT_CONSEILLER,
        });
        let age_days = (ctx.now.timestamp() - budget.created_at.unwrap_or(0)) / 86_400;
        if age_days < self.thresholds().new_account_days {
            base / 2
        } else {
            base
        }
    }

    /// The day's limit in points (quota and break-glass).
    fn limit(&self, ctx: &Ctx, p: &Principal, budget: &v::Budget) -> i64 {
        (self.daily_dossiers(ctx, p, budget) + budget.break_glass) * WEIGHT_OPENED
    }

    fn window_since(&self, ctx: &Ctx) -> i64 {
        ctx.now.timestamp() - self.thresholds().window_s
    }

    async fn budget_of(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        p: &Principal,
        structure: i64,
    ) -> Result<v::Budget> {
        Ok(v::budget(
            conn,
            structure,
            p.account_id,
            &day_of(ctx),
            p.role.code(),
            self.window_since(ctx),
        )
        .await?)
    }

    /// Turns the counted reads off or on. Only `parcours banc recherche` turns them off, to
    /// measure their cost against the same use case without them; no configuration reaches it.
    pub fn set_read_counting(&self, on: bool) {
        self.counting
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn thresholds(&self) -> Thresholds {
        *self.thresholds.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_thresholds(&self, t: Thresholds) {
        *self.thresholds.write().unwrap_or_else(|p| p.into_inner()) = t;
    }

    /// Reads the instance's thresholds (at start; defaults when never set).
    pub async fn load_thresholds(&self) -> Result<Thresholds> {
        let mut conn = self.store.acquire().await?;
        let t = match parcours_store::keyring::meta_get(&mut conn, THRESHOLDS_META).await? {
            Some(j) => serde_json::from_str(&j)
                .map_err(|_| AppError::internal("seuils de vigilance illisibles"))?,
            None => Thresholds::default(),
        };
        self.set_thresholds(t);
        Ok(t)
    }

    /// Stores the instance's thresholds (operator command; servers read them at start).
    pub async fn save_thresholds(&self, t: Thresholds) -> Result<()> {
        let values = [
            t.window_opened,
            t.window_s,
            t.probes,
            t.probes_window_s,
            t.break_glass_dossiers,
            t.break_glass_per_day,
            t.new_account_days,
            t.searches,
            t.searches_window_s,
        ];
        if values.iter().any(|v| *v < 0) || t.window_opened < 1 || t.probes < 1 || t.searches < 1 {
            return Err(AppError::Refused(
                Rule::InvalidSetting,
                "les seuils sont des nombres positifs (au moins 1 pour les déclencheurs)".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        parcours_store::keyring::meta_set(
            &mut tx,
            THRESHOLDS_META,
            &serde_json::to_string(&t).map_err(AppError::internal)?,
        )
        .await?;
        tx.commit().await?;
        self.set_thresholds(t);
        Ok(())
    }

    /// Today's budget of an account.
    pub async fn quota_status(&self, ctx: &Ctx) -> Result<QuotaStatus> {
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Forbidden);
        };
        let structure = p.structure_id.ok_or(AppError::Forbidden)?;
        let mut conn = self.store.acquire().await?;
        self.status_on(&mut conn, ctx, p, structure).await
    }

    async fn status_on(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        p: &Principal,
        structure: i64,
    ) -> Result<QuotaStatus> {
        let budget = self.budget_of(conn, ctx, p, structure).await?;
        let (uses, _) = v::break_glass_on(conn, p.account_id, &day_of(ctx)).await?;
        Ok(QuotaStatus {
            limit: self.limit(ctx, p, &budget),
            used: budget.used,
            daily_dossiers: self.daily_dossiers(ctx, p, &budget),
            break_glass_uses: uses,
            break_glass_left: (self.thresholds().break_glass_per_day - uses).max(0),
        })
    }

    pub(crate) fn counting(&self) -> bool {
        self.counting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The gate of every per-dossier use case, in one statement: the dossier's structure (the
    /// scope check) and what its quota decision needs. `None`: no such dossier.
    pub(crate) async fn gate(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        id: &str,
    ) -> Result<Option<v::GateRow>> {
        let (account, role) = match &ctx.actor {
            Actor::Account(p) => (p.account_id, p.role.code()),
            _ => (0, ""),
        };
        Ok(v::gate(
            conn,
            id,
            account,
            &day_of(ctx),
            role,
            self.window_since(ctx),
            &self.canary_tag(id),
        )
        .await?)
    }

    /// Counts a dossier opened (or acted on) by the actor, from its gate row, inside the
    /// revealing transaction. Free in the actor's caseload, and when already counted at this
    /// weight today. Refuses — the caller's transaction then rolls back — on a canary, when
    /// the budget is spent, or when the burst threshold is crossed.
    pub(crate) async fn count_open(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        id: &str,
        gate: &v::GateRow,
    ) -> Result<()> {
        let Actor::Account(p) = &ctx.actor else {
            return Ok(());
        };
        if gate.referent_id == Some(p.account_id) || !self.counting() {
            return Ok(());
        }
        let now = ctx.now.timestamp();
        if gate.canary {
            self.signal(Signal::Freeze {
                account_id: p.account_id,
                login: p.login.clone(),
                structure_id: Some(gate.structure_id),
                kind: "leurre",
                evidence: serde_json::json!({ "dossier": id }).to_string(),
                at: now,
                request_id: ctx.request_id.clone(),
            });
            return Err(AppError::Frozen);
        }
        let delta = (WEIGHT_OPENED - gate.prior_weight).max(0);
        if delta == 0 {
            return Ok(());
        }
        // The gate's figures decide in the common case; the write re-checks the limit in the
        // same statement, against the day as it is now.
        self.decide(conn, ctx, p, gate.structure_id, &gate.budget, delta, 1)
            .await?;
        self.record_within(
            conn,
            ctx,
            p,
            gate.structure_id,
            &gate.budget,
            &[(id, WEIGHT_OPENED)],
            delta,
        )
        .await
    }

    /// Writes counted reads. SQLite's transaction holds the database's write lock since its
    /// start, so the decision made on its reads stands. On PostgreSQL the account's row is
    /// locked, then the write re-checks the limit in the same statement
    /// ([`v::record_reads_within`]): transactions on other connections or instances wait for
    /// the lock and count against the day as it is after the previous one committed.
    #[allow(clippy::too_many_arguments)]
    async fn record_within(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        p: &Principal,
        structure: i64,
        budget: &v::Budget,
        reads: &[(&str, i64)],
        delta: i64,
    ) -> Result<()> {
        let now = ctx.now.timestamp();
        if self.store.backend() == parcours_store::Backend::Sqlite {
            // The decision was made on this transaction's own view, and no other writer can
            // commit before it ends: write without re-checking.
            v::record_reads(conn, p.account_id, &day_of(ctx), reads, now, WEIGHT_OPENED).await?;
            return Ok(());
        }
        v::lock_account(conn, p.account_id).await?;
        let limit = self.limit(ctx, p, budget);
        if v::record_reads_within(
            conn,
            p.account_id,
            &day_of(ctx),
            reads,
            now,
            WEIGHT_OPENED,
            delta,
            limit,
        )
        .await?
        {
            return Ok(());
        }
        // Another transaction spent the points meanwhile: refuse as the decision would have.
        let fresh = self.budget_of(conn, ctx, p, structure).await?;
        self.decide(conn, ctx, p, structure, &fresh, delta, 0)
            .await?;
        Err(AppError::QuotaExceeded {
            break_glass_left: 0,
        })
    }

    /// The quota and burst decision for `delta` more points, `newly_opened` more dossiers.
    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        p: &Principal,
        structure: i64,
        budget: &v::Budget,
        delta: i64,
        newly_opened: i64,
    ) -> Result<()> {
        let now = ctx.now.timestamp();
        let limit = self.limit(ctx, p, budget);
        if budget.used + delta > limit {
            let day = day_of(ctx);
            let ids = v::read_ids(conn, p.account_id, &day, 50).await?;
            let (uses, _) = v::break_glass_on(conn, p.account_id, &day).await?;
            self.signal(Signal::QuotaReached {
                account_id: p.account_id,
                login: p.login.clone(),
                structure_id: structure,
                evidence: serde_json::json!({
                    "points_utilises": budget.used,
                    "limite": limit,
                    "dossiers_du_jour": ids,
                })
                .to_string(),
                at: now,
                day_start: day_start(ctx),
            });
            return Err(AppError::QuotaExceeded {
                break_glass_left: (self.thresholds().break_glass_per_day - uses).max(0),
            });
        }
        let t = self.thresholds();
        let burst = budget.opened_in_window + newly_opened;
        if newly_opened > 0 && burst > t.window_opened {
            let ids = v::read_ids(conn, p.account_id, &day_of(ctx), 50).await?;
            self.signal(Signal::Freeze {
                account_id: p.account_id,
                login: p.login.clone(),
                structure_id: Some(structure),
                kind: "rafale",
                evidence: serde_json::json!({
                    "dossiers_ouverts": burst,
                    "fenetre_secondes": t.window_s,
                    "seuil": t.window_opened,
                    "dossiers": ids,
                })
                .to_string(),
                at: now,
                request_id: ctx.request_id.clone(),
            });
            return Err(AppError::Frozen);
        }
        Ok(())
    }

    /// Counts a page of search candidates shown to the actor (weight [`WEIGHT_CANDIDATE`]
    /// each), inside the search's transaction, in a few statements whatever the page size.
    /// Returns the ids of the page that are in the actor's caseload.
    pub(crate) async fn count_candidates(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        structure: i64,
        ids: &[&str],
    ) -> Result<std::collections::HashSet<String>> {
        let Actor::Account(p) = &ctx.actor else {
            return Ok(Default::default());
        };
        let day = day_of(ctx);
        let seen = v::seen_today(conn, ids, p.account_id, &day).await?;
        let mine = seen
            .iter()
            .filter(|(_, r, _)| *r == Some(p.account_id))
            .map(|(id, _, _)| id.clone())
            .collect();
        if !self.counting() {
            return Ok(mine);
        }
        let counted: Vec<&(String, Option<i64>, i64)> = seen
            .iter()
            .filter(|(_, r, _)| *r != Some(p.account_id))
            .collect();
        if counted.is_empty() {
            return Ok(mine);
        }
        let now = ctx.now.timestamp();
        let tags: Vec<Vec<u8>> = counted
            .iter()
            .map(|(id, _, _)| self.canary_tag(id))
            .collect();
        if v::canary_hits(conn, &tags).await? > 0 {
            let which: Vec<&str> = counted.iter().map(|(id, _, _)| id.as_str()).collect();
            self.signal(Signal::Freeze {
                account_id: p.account_id,
                login: p.login.clone(),
                structure_id: Some(structure),
                kind: "leurre",
                evidence: serde_json::json!({ "resultats_de_recherche": which }).to_string(),
                at: now,
                request_id: ctx.request_id.clone(),
            });
            return Err(AppError::Frozen);
        }
        let delta: i64 = counted
            .iter()
            .map(|(_, _, prior)| (WEIGHT_CANDIDATE - prior).max(0))
            .sum();
        if delta == 0 {
            return Ok(mine);
        }
        let budget = self.budget_of(conn, ctx, p, structure).await?;
        self.decide(conn, ctx, p, structure, &budget, delta, 0)
            .await?;
        let reads: Vec<(&str, i64)> = counted
            .iter()
            .filter(|(_, _, prior)| *prior < WEIGHT_CANDIDATE)
            .map(|(id, _, _)| (id.as_str(), WEIGHT_CANDIDATE))
            .collect();
        self.record_within(conn, ctx, p, structure, &budget, &reads, delta)
            .await?;
        Ok(mine)
    }

    /// Which of `ids` are in the actor's caseload (the others are shown masked in bulk pages).
    pub(crate) async fn in_caseload(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        ids: &[&str],
    ) -> Result<std::collections::HashSet<String>> {
        let Actor::Account(p) = &ctx.actor else {
            return Ok(Default::default());
        };
        Ok(v::referents(conn, ids)
            .await?
            .into_iter()
            .filter(|(_, r)| *r == Some(p.account_id))
            .map(|(id, _)| id)
            .collect())
    }

    /// Counts a search (inside its transaction); more than [`Thresholds::searches`] within
    /// [`Thresholds::searches_window_s`] is a walk through the structure's names: freeze.
    pub(crate) async fn count_search(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        structure: i64,
    ) -> Result<()> {
        let Actor::Account(p) = &ctx.actor else {
            return Ok(());
        };
        if !self.counting.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let now = ctx.now.timestamp();
        let t = self.thresholds();
        v::tally_add(conn, v::Tally::Searches, p.account_id, now).await?;
        let n = v::tally_since(
            conn,
            v::Tally::Searches,
            p.account_id,
            now - t.searches_window_s,
        )
        .await?;
        if n > t.searches {
            return Err(self.walk_freeze(ctx, p, structure, n));
        }
        Ok(())
    }

    /// The `n`-th search of the window, past the threshold: a walk through the structure's
    /// names. Signals the freeze (written after the request) and returns the refusal.
    fn walk_freeze(&self, ctx: &Ctx, p: &Principal, structure: i64, n: i64) -> AppError {
        let t = self.thresholds();
        self.signal(Signal::Freeze {
            account_id: p.account_id,
            login: p.login.clone(),
            structure_id: Some(structure),
            kind: "balayage",
            evidence: serde_json::json!({
                "recherches": n,
                "fenetre_secondes": t.searches_window_s,
                "seuil": t.searches,
            })
            .to_string(),
            at: ctx.now.timestamp(),
            request_id: ctx.request_id.clone(),
        });
        AppError::Frozen
    }

    /// The write part of a search whose candidates shown are all in the actor's caseload:
    /// nothing to count but the search itself. Its tally (against the walk threshold, counted
    /// in turn with the other searches of the batch) and its entry go through the store's
    /// group commit instead of a transaction of its own ([`App::count_search`] and the entry
    /// in one, as [`parcours_store::Store::append_counted_durable`] documents); returns once
    /// both are durable, or refuses and freezes past the threshold with nothing written.
    pub(crate) async fn search_durable(
        &self,
        ctx: &Ctx,
        structure: i64,
        entry: parcours_store::audit::AuditRow,
    ) -> Result<()> {
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Forbidden);
        };
        if !self.counting() {
            return Ok(self.store.append_audit_durable(vec![entry]).await?);
        }
        let t = self.thresholds();
        let now = ctx.now.timestamp();
        let counted = parcours_store::Counted {
            tally: v::Tally::Searches,
            account_id: p.account_id,
            at: now,
            since: now - t.searches_window_s,
            limit: t.searches,
        };
        match self
            .store
            .append_counted_durable(vec![entry], counted)
            .await?
        {
            parcours_store::Verdict::Within(_) => Ok(()),
            parcours_store::Verdict::Over(n) => Err(self.walk_freeze(ctx, p, structure, n)),
        }
    }

    /// Marks a break-glass use as reviewed (its directeur, or the DPO); audited.
    pub async fn review_break_glass(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let scope = self.oversight(ctx, "quota.bris_de_glace.revue").await?;
        let mut tx = self.store.begin().await?;
        let structure = v::break_glass_structure(&mut tx, id)
            .await?
            .filter(|s| scope.is_none_or(|x| x == *s))
            .ok_or(AppError::NotFound)?;
        if !v::review_break_glass(&mut tx, id, &ctx.actor.audit_name(), ctx.now.timestamp()).await?
        {
            return Err(AppError::Refused(
                Rule::AlreadyDone,
                "Ce bris de glace est déjà revu.".into(),
            ));
        }
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "quota.bris_de_glace.revue",
                subject: None,
                fields: &format!("bris_de_glace:{id}"),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The JSON API called with a session opened through the pages: the pages never call it,
    /// so a script holds the session (a stolen cookie). Freezes; the caller refuses the request.
    pub fn api_from_page_session(&self, ctx: &Ctx, path: &str) -> AppError {
        if let Actor::Account(p) = &ctx.actor {
            self.signal(Signal::Freeze {
                account_id: p.account_id,
                login: p.login.clone(),
                structure_id: p.structure_id,
                kind: "canal",
                evidence: serde_json::json!({ "route": path }).to_string(),
                at: ctx.now.timestamp(),
                request_id: ctx.request_id.clone(),
            });
        }
        AppError::Frozen
    }

    /// A refused dossier id (unknown, or of another structure): a probe.
    pub(crate) fn note_probe(&self, ctx: &Ctx, structure: Option<i64>) {
        if let Actor::Account(p) = &ctx.actor {
            self.signal(Signal::Probe {
                account_id: p.account_id,
                login: p.login.clone(),
                structure_id: structure.or(p.structure_id),
                at: ctx.now.timestamp(),
                request_id: ctx.request_id.clone(),
            });
        }
    }

    /// Writes the freezes, alerts and probes signalled by transactions that rolled back. Call
    /// it where no transaction of the current task is open (the web layer: after each request).
    pub async fn flush_vigilance(&self) -> Result<()> {
        let signals = std::mem::take(
            &mut *self
                .pending_signals
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        let mut it = signals.into_iter();
        while let Some(s) = it.next() {
            if let Err(e) = self.apply_signal(&s).await {
                // Kept, with every signal after it, for the next flush (the sealer's, each second).
                let mut pending = self
                    .pending_signals
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                pending.push(s);
                pending.extend(it);
                return Err(e);
            }
        }
        Ok(())
    }

    async fn apply_signal(&self, s: &Signal) -> Result<()> {
        let mut tx = self.store.begin_ungated().await?;
        match s {
            Signal::Freeze {
                account_id,
                login,
                structure_id,
                kind,
                evidence,
                at,
                request_id,
            } => {
                self.freeze_on(
                    &mut tx,
                    *account_id,
                    login,
                    *structure_id,
                    kind,
                    evidence,
                    *at,
                    request_id,
                )
                .await?;
            }
            Signal::QuotaReached {
                account_id,
                login,
                structure_id,
                evidence,
                at,
                day_start,
            } => {
                if !v::alert_since(&mut tx, *account_id, "quota", *day_start).await? {
                    self.raise_alert(
                        &mut tx,
                        Some(*structure_id),
                        Some(*account_id),
                        login,
                        "quota",
                        "elevee",
                        evidence,
                        *at,
                    )
                    .await?;
                }
            }
            Signal::Probe {
                account_id,
                login,
                structure_id,
                at,
                request_id,
            } => {
                v::tally_add(&mut tx, v::Tally::Probes, *account_id, *at).await?;
                let t = self.thresholds();
                let n = v::tally_since(
                    &mut tx,
                    v::Tally::Probes,
                    *account_id,
                    at - t.probes_window_s,
                )
                .await?;
                if n >= t.probes {
                    let evidence = serde_json::json!({
                        "identifiants_refuses": n,
                        "fenetre_secondes": t.probes_window_s,
                        "seuil": t.probes,
                    })
                    .to_string();
                    self.freeze_on(
                        &mut tx,
                        *account_id,
                        login,
                        *structure_id,
                        "sondage",
                        &evidence,
                        *at,
                        request_id,
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn freeze_on(
        &self,
        conn: &mut Conn,
        account_id: i64,
        login: &str,
        structure_id: Option<i64>,
        kind: &'static str,
        evidence: &str,
        at: i64,
        request_id: &str,
    ) -> Result<()> {
        if !v::freeze(conn, account_id, at, kind).await? {
            return Ok(());
        }
        self.raise_alert(
            conn,
            structure_id,
            Some(account_id),
            login,
            kind,
            "critique",
            evidence,
            at,
        )
        .await?;
        let ctx = Ctx {
            actor: Actor::Operator,
            request_id: request_id.to_string(),
            now: chrono::DateTime::from_timestamp(at, 0).unwrap_or_default(),
            trace: crate::Trace::default(),
        };
        self.audit_as(
            conn,
            &ctx,
            "vigilance",
            Event {
                action: "compte.gel",
                subject: None,
                fields: &format!("compte:{login},motif:{kind}"),
                outcome: OK,
                structure_id,
            },
        )
        .await?;
        tracing::warn!(account = %login, reason = kind, "compte gelé");
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn raise_alert(
        &self,
        conn: &mut Conn,
        structure_id: Option<i64>,
        account_id: Option<i64>,
        login: &str,
        kind: &str,
        severity: &str,
        evidence: &str,
        at: i64,
    ) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        v::insert_alert(
            conn,
            &v::AlertRow {
                id: id.clone(),
                structure_id,
                account_id,
                login: login.to_string(),
                kind: kind.to_string(),
                severity: severity.to_string(),
                evidence: evidence.to_string(),
                created_at: at,
                mail_status: "a_envoyer".into(),
                mail_attempts: 0,
                mail_error: None,
                mail_next_at: None,
                closed_by: None,
                closed_at: None,
            },
        )
        .await?;
        Ok(id)
    }

    /// The structure whose alerts, break-glass and freezes the actor oversees: a directeur her
    /// structure (`Some`), the DPO every structure (`None`); anyone else is refused (audited).
    pub(crate) async fn oversight(&self, ctx: &Ctx, action: &str) -> Result<Option<i64>> {
        match &ctx.actor {
            Actor::Account(p) if p.role == Role::Directeur && p.structure_id.is_some() => {
                Ok(p.structure_id)
            }
            Actor::Account(p) if p.role == Role::Dpo => Ok(None),
            Actor::Operator => Ok(None),
            _ => {
                self.audit_refusal(
                    ctx,
                    Event {
                        action,
                        subject: None,
                        fields: "",
                        outcome: REFUSED,
                        structure_id: None,
                    },
                );
                Err(AppError::Forbidden)
            }
        }
    }

    /// Alerts the actor oversees, most recent first.
    pub async fn list_alerts(&self, ctx: &Ctx) -> Result<Vec<AlertView>> {
        let scope = self.oversight(ctx, "alertes.liste").await?;
        let mut conn = self.store.acquire().await?;
        Ok(v::alerts(&mut conn, scope, 200)
            .await?
            .into_iter()
            .map(|a| AlertView {
                kind_label: kind_label(&a.kind),
                evidence: serde_json::from_str(&a.evidence).unwrap_or(serde_json::Value::Null),
                id: a.id,
                structure_id: a.structure_id,
                login: a.login,
                kind: a.kind,
                severity: a.severity,
                created_at: a.created_at,
                mail_status: a.mail_status,
                mail_attempts: a.mail_attempts,
                mail_error: a.mail_error,
                closed_by: a.closed_by,
            })
            .collect())
    }

    /// Break-glass: the advisor states why she needs more today and gets
    /// [`Thresholds::break_glass_dossiers`] more at once; audited, alerted for review.
    pub async fn break_glass(&self, ctx: &Ctx, reason: &str) -> Result<QuotaStatus> {
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Forbidden);
        };
        let structure = self.identity_scope(ctx, "quota.bris_de_glace").await?;
        let reason = reason.trim();
        if reason.chars().count() < 10 || reason.chars().count() > 500 {
            let mut e = parcours_domain::ValidationErrors::default();
            e.push(
                "motif",
                "requis",
                "Expliquez en une phrase pourquoi vous avez besoin de consulter d'autres dossiers (10 à 500 caractères).",
            );
            return Err(e.into());
        }
        let t = self.thresholds();
        let day = day_of(ctx);
        let mut tx = self.store.begin().await?;
        v::lock_account(&mut tx, p.account_id).await?;
        let (uses, _) = v::break_glass_on(&mut tx, p.account_id, &day).await?;
        if uses >= t.break_glass_per_day {
            return Err(AppError::Refused(
                Rule::BreakGlassSpent,
                "Vous avez déjà utilisé le bris de glace aujourd'hui : demandez à votre directeur."
                    .into(),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        v::insert_break_glass(
            &mut tx,
            &v::BreakGlassRow {
                id: id.clone(),
                account_id: p.account_id,
                login: p.login.clone(),
                structure_id: structure,
                day: day.clone(),
                extra: t.break_glass_dossiers,
                reason: reason.to_string(),
                created_at: ctx.now.timestamp(),
                reviewed_by: None,
                reviewed_at: None,
            },
        )
        .await?;
        self.raise_alert(
            &mut tx,
            Some(structure),
            Some(p.account_id),
            &p.login,
            "bris_de_glace",
            "information",
            &serde_json::json!({ "dossiers_supplementaires": t.break_glass_dossiers, "bris_de_glace": id })
                .to_string(),
            ctx.now.timestamp(),
        )
        .await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "quota.bris_de_glace",
                subject: None,
                fields: &format!("supplement:{}", t.break_glass_dossiers),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        let st = self.status_on(&mut tx, ctx, p, structure).await?;
        tx.commit().await?;
        Ok(st)
    }

    /// The structure's break-glass uses, for the directeur (or every structure's for the DPO).
    pub async fn list_break_glass(&self, ctx: &Ctx) -> Result<Vec<BreakGlassView>> {
        let scope = self.oversight(ctx, "quota.bris_de_glace.liste").await?;
        let mut conn = self.store.acquire().await?;
        let structures = match scope {
            Some(s) => vec![s],
            None => parcours_store::structures::list(&mut conn)
                .await?
                .into_iter()
                .map(|s| s.id)
                .collect(),
        };
        let mut out = Vec::new();
        for s in structures {
            for b in v::break_glass_list(&mut conn, s, 200).await? {
                out.push(BreakGlassView {
                    id: b.id,
                    login: b.login,
                    day: b.day,
                    extra: b.extra,
                    reason: b.reason,
                    created_at: b.created_at,
                    reviewed_by: b.reviewed_by,
                });
            }
        }
        Ok(out)
    }

    /// Sets a structure's daily quota for a role (its directeur), in dossiers.
    pub async fn set_quota(&self, ctx: &Ctx, role: &str, daily: i64) -> Result<()> {
        let Some(structure) = self.oversight(ctx, "quota.reglage").await? else {
            return Err(AppError::Refused(
                Rule::DirectionOnly,
                "Le quota se règle par le directeur de la structure.".into(),
            ));
        };
        let role = Role::parse(role)
            .filter(|r| r.reads_identities())
            .ok_or_else(|| {
                let mut e = parcours_domain::ValidationErrors::default();
                e.push("role", "invalide", "Rôle : conseiller ou directeur.");
                AppError::Validation(e)
            })?;
        if !(0..=2000).contains(&daily) {
            let mut e = parcours_domain::ValidationErrors::default();
            e.push(
                "quota",
                "invalide",
                "Le quota est un nombre de dossiers entre 0 et 2 000 par jour.",
            );
            return Err(e.into());
        }
        let mut tx = self.store.begin().await?;
        v::set_quota_setting(
            &mut tx,
            structure,
            role.code(),
            daily,
            &ctx.actor.audit_name(),
            ctx.now.timestamp(),
        )
        .await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "quota.reglage",
                subject: None,
                fields: &format!("role:{},quota:{daily}", role.code()),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Assigns a dossier of the structure to an advisor of the same structure (transfer between
    /// advisors), with history and audit. A conseiller may hand over a dossier of her caseload; a
    /// directeur may assign any dossier of her structure.
    pub async fn assign_referent(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        to_login: &str,
        reason: &str,
    ) -> Result<()> {
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Forbidden);
        };
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "jeune.referent")
            .await?;
        let current = parcours_store::jeunes::referent_of(&mut tx, jeune_id).await?;
        if p.role != Role::Directeur && current != Some(p.account_id) {
            return Err(AppError::Refused(Rule::ReferentOnly,
                "Seul le référent du dossier ou la direction peut le confier à un autre conseiller."
                    .into(),
            ));
        }
        let to = parcours_store::accounts::by_login(&mut tx, to_login.trim())
            .await?
            .filter(|a| {
                a.structure_id == Some(structure)
                    && Role::parse(&a.role).is_some_and(|r| r.reads_identities())
                    && a.active
            })
            .ok_or_else(|| {
                let mut e = parcours_domain::ValidationErrors::default();
                e.push(
                    "conseiller",
                    "inconnu",
                    "Aucun conseiller actif de la structure n'a cet identifiant.",
                );
                AppError::Validation(e)
            })?;
        if current == Some(to.id) {
            return Err(AppError::Refused(
                Rule::AlreadyDone,
                "Ce conseiller est déjà le référent du dossier.".into(),
            ));
        }
        parcours_store::jeunes::set_referent(&mut tx, jeune_id, Some(to.id)).await?;
        v::insert_referent_change(
            &mut tx,
            &v::ReferentChange {
                id: uuid::Uuid::new_v4().to_string(),
                jeune_id: jeune_id.to_string(),
                structure_id: structure,
                from_account: current,
                to_account: Some(to.id),
                by_login: p.login.clone(),
                // Microseconds: two changes in the same second keep their order.
                at: crate::audit::micros(ctx.now),
                reason: reason.trim().chars().take(500).collect(),
            },
        )
        .await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "jeune.referent",
                subject: Some(jeune_id),
                fields: &format!("vers:{}", to.login),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The référent changes of a dossier (a read of the dossier, counted like one).
    pub async fn referent_history(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
    ) -> Result<Vec<ReferentChangeView>> {
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "jeune.referent.historique")
            .await?;
        let accounts = parcours_store::accounts::list(&mut tx).await?;
        let login = |id: Option<i64>| {
            id.and_then(|i| accounts.iter().find(|a| a.id == i))
                .map(|a| a.login.clone())
        };
        let out = v::referent_history(&mut tx, jeune_id)
            .await?
            .into_iter()
            .map(|c| ReferentChangeView {
                from: login(c.from_account),
                to: login(c.to_account),
                by: c.by_login,
                at: c.at / 1_000_000,
                reason: c.reason,
            })
            .collect();
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "jeune.referent.historique",
                subject: Some(jeune_id),
                fields: "referent",
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Creates canary dossiers in a structure through the normal creation path (same tables,
    /// same encryption, same audit shape, no référent like an imported dossier), known
    /// afterwards only by a keyed tag of their id.
    pub async fn add_canaries(
        &self,
        ctx: &Ctx,
        structure_code: &str,
        people: &[parcours_domain::jeune::JeuneInput],
    ) -> Result<usize> {
        let mut tx = self.store.begin().await?;
        let s = parcours_store::structures::by_code(&mut tx, structure_code.trim())
            .await?
            .ok_or_else(|| {
                AppError::Refused(
                    Rule::UnknownStructure,
                    format!("Mission Locale « {} » inconnue.", structure_code.trim()),
                )
            })?;
        for input in people {
            let (identity, _) = parcours_domain::jeune::validate(input, ctx.now.date_naive())?;
            let id = self.insert_identity(&mut tx, ctx, s.id, &identity).await?;
            v::add_canary_tag(&mut tx, &self.canary_tag(&id), s.id).await?;
        }
        tx.commit().await?;
        Ok(people.len())
    }

    /// The canary dossier ids of a structure, recognised by their tags (never stored in clear).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub(crate) async fn canary_ids(
        &self,
        conn: &mut Conn,
        structure_id: i64,
    ) -> Result<Vec<String>> {
        let tags = v::canary_tags(conn).await?;
        if tags.is_empty() {
            return Ok(Vec::new());
        }
        let ids = parcours_store::jeunes::ids_in_structure(conn, structure_id).await?;
        Ok(ids
            .into_iter()
            .filter(|id| {
                let t = self.canary_tag(id);
                tags.iter().any(|(x, _)| *x == t)
            })
            .collect())
    }
}
