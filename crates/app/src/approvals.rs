//! Four eyes (issue 16, promise P7): what one person alone must not be able to do is asked by
//! one and approved by another.
//!
//! | Kind                      | Who asks                                   | Who approves (never the asker, never the account concerned) |
//! |---------------------------|--------------------------------------------|-----------------------------------------------------|
//! | `compte.creation`         | operator (CLI), admin, directeur (her structure; conseiller or directeur) | admin, or a directeur of the structure |
//! | `compte.role`             | admin, directeur (her structure's accounts, within it) | admin, or a directeur of the structure |
//! | `compte.reinitialisation` | operator, admin, directeur (her structure) | admin, or a directeur of the structure |
//! | `compte.degel`            | operator, directeur (her structure), DPO   | admin, a directeur of the structure, or the DPO |
//! | `iban`                    | whoever enters an IBAN on a dossier        | a directeur of the structure, or the DPO |
//! | `lot.ibans`               | a directeur (her structure's batch file)   | another directeur of the structure, or the DPO |
//! | `incident.rapport`        | a DPO                                      | an admin or another DPO |
//! | `acces.donnees`           | a DPO (a person's access request, Art. 15) | an admin or another DPO |
//! | `effacement`              | a DPO (a person's erasure, Art. 17)        | an admin or another DPO |
//!
//! A request expires after [`EXPIRY_S`]; it is decided once (a conditional update, safe across
//! instances), and its effect happens in the same transaction as the decision. An account
//! request raises an alert for the structure's direction and the DPO — several in a day by the
//! same requester raise a high one (the December 2025 attack: a compromised manager created two
//! accounts). Approving an account creation or a reset gives the approver a single-use
//! enrolment link (`enrolment`) to hand to the person: no initial password ever exists.

use crate::Rule;
use parcours_domain::{Role, ValidationErrors};
use parcours_store::accounts as acc;
use parcours_store::requests::{self as rq, RequestRow};
use serde::Serialize;

use crate::audit::{Event, OK, REFUSED};
use crate::setup::{NewUser, ValidUser, UNUSABLE_PASSWORD};
use crate::{Actor, App, AppError, Ctx, Result};

/// A pending request expires after 72 hours.
pub const EXPIRY_S: i64 = 72 * 3600;

pub const ACCOUNT_CREATION: &str = "compte.creation";
pub const ROLE_CHANGE: &str = "compte.role";
pub const RESET: &str = "compte.reinitialisation";
pub const UNFREEZE: &str = "compte.degel";
pub const IBAN: &str = "iban";
pub const BATCH_EXPORT: &str = "lot.ibans";
pub const INCIDENT_REPORT: &str = "incident.rapport";
pub const ACCESS_EXPORT: &str = "acces.donnees";
pub const ERASURE: &str = "effacement";

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        ACCOUNT_CREATION => "Création de compte",
        ROLE_CHANGE => "Changement de rôle ou de périmètre",
        RESET => "Réinitialisation du mot de passe et du second facteur",
        UNFREEZE => "Dégel d'un compte",
        IBAN => "IBAN saisi ou modifié",
        BATCH_EXPORT => "Fichier du lot de paiement avec les IBAN",
        INCIDENT_REPORT => "Rapport d'incident (personnes touchées, lettres)",
        ACCESS_EXPORT => "Droit d'accès d'une personne à ses données (article 15)",
        ERASURE => "Effacement d'une personne (article 17)",
        _ => "Demande",
    }
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        rq::PENDING => "en attente",
        rq::APPROVED => "approuvée",
        rq::REFUSED => "refusée",
        rq::EXPIRED => "expirée",
        _ => "inconnu",
    }
}

/// A request as shown to people.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    pub id: String,
    pub kind: String,
    pub label: &'static str,
    pub structure_id: Option<i64>,
    /// A login, a dossier id, or a month and file format (never an identity).
    pub target: String,
    /// What approval does, in words.
    pub details: String,
    pub reason: String,
    pub requested_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub status: String,
    pub status_label: &'static str,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_reason: Option<String>,
    /// The viewer may approve or refuse it now.
    pub can_decide: bool,
}

/// What an approval produced: for an account creation or reset, the enrolment link's token,
/// shown once to the approver, who hands it to the person.
#[derive(Debug, Clone, Serialize)]
pub struct Approved {
    pub request: RequestView,
    pub enrolment_token: Option<String>,
}

/// A request to write: what, where, about whom (a login, a dossier id, a month), what approval
/// will do, and why.
pub(crate) struct NewRequest<'a> {
    pub kind: &'a str,
    pub structure_id: Option<i64>,
    pub target: &'a str,
    pub payload: serde_json::Value,
    pub reason: &'a str,
}

/// A request just written.
#[derive(Debug, Clone, Serialize)]
pub struct Requested {
    pub id: String,
    pub kind: String,
    pub expires_at: i64,
}

/// A request's reason: 5 to 500 characters, on one line.
pub(crate) fn reason_checked(reason: &str) -> Result<String> {
    let r = reason.trim();
    if r.chars().count() < 5 || r.chars().count() > 500 {
        let mut e = ValidationErrors::default();
        e.push(
            "motif",
            "requis",
            "Indiquez le motif de la demande (5 à 500 caractères).",
        );
        return Err(e.into());
    }
    Ok(r.replace(['\r', '\n'], " "))
}

fn payload_str(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| x.as_str()).map(str::to_string)
}

fn payload_i64(v: &serde_json::Value, k: &str) -> Option<i64> {
    v.get(k).and_then(|x| x.as_i64())
}

fn details_of(r: &RequestRow) -> String {
    let p: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or_default();
    let role = payload_str(&p, "role")
        .and_then(|c| Role::parse(&c))
        .map(|r| r.label())
        .unwrap_or("");
    let perimeter = match (payload_i64(&p, "structure_id"), payload_str(&p, "region")) {
        (Some(_), _) => "sa structure".to_string(),
        (None, Some(reg)) => format!("la région {reg}"),
        (None, None) => "le territoire national".to_string(),
    };
    match r.kind.as_str() {
        ACCOUNT_CREATION => format!("Créer le compte {} ({role}, {perimeter})", r.target),
        ROLE_CHANGE => format!("Donner au compte {} le rôle {role} ({perimeter})", r.target),
        RESET => format!(
            "Réinitialiser le compte {} : nouveau lien d'inscription, sessions fermées",
            r.target
        ),
        UNFREEZE => format!("Dégeler le compte {}", r.target),
        IBAN => format!(
            "Verser les allocations du dossier {} sur le nouvel IBAN ({})",
            r.target,
            payload_str(&p, "saisie").unwrap_or_default()
        ),
        BATCH_EXPORT => format!(
            "Télécharger une fois le fichier {} (noms et IBAN)",
            r.target.replace(':', ", format ")
        ),
        _ => String::new(),
    }
}

/// The operating-system user behind a CLI command (`sudo` keeps the real one).
pub fn os_user() -> String {
    let raw = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "inconnu".into());
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(32)
        .collect()
}

impl App {
    fn requester(ctx: &Ctx) -> Result<(Option<i64>, String)> {
        match &ctx.actor {
            Actor::Account(p) => Ok((Some(p.account_id), p.login.clone())),
            Actor::Operator => Ok((None, ctx.actor.audit_name())),
            Actor::Anonymous => Err(AppError::Unauthenticated),
        }
    }

    /// Audits a request refused for its asker's role or perimeter; returns the error to give.
    async fn refuse_request_kind(&self, ctx: &Ctx, kind: &str, target: &str) -> Result<AppError> {
        self.audit_alone(
            ctx,
            Event {
                action: "demande.creation",
                subject: None,
                fields: &format!(
                    "type:{kind},cible:{}",
                    target.chars().take(64).collect::<String>()
                ),
                outcome: REFUSED,
                structure_id: None,
            },
        )
        .await?;
        Ok(AppError::Forbidden)
    }

    /// Writes a request (in the caller's transaction), audits it, and alerts on account kinds.
    pub(crate) async fn write_request(
        &self,
        tx: &mut parcours_store::Conn,
        ctx: &Ctx,
        new: NewRequest<'_>,
    ) -> Result<Requested> {
        let NewRequest {
            kind,
            structure_id,
            target,
            payload,
            reason,
        } = new;
        let now = ctx.now.timestamp();
        if rq::pending_on(tx, kind, target, now).await? > 0 {
            return Err(AppError::Conflict(
                "Une demande identique attend déjà une approbation.".into(),
            ));
        }
        let (account, by) = Self::requester(ctx)?;
        let row = RequestRow {
            id: uuid::Uuid::new_v4().to_string(),
            kind: kind.into(),
            structure_id,
            target: target.into(),
            payload: payload.to_string(),
            reason: reason.into(),
            requested_by_account: account,
            requested_by: by.clone(),
            created_at: now,
            expires_at: now + EXPIRY_S,
            status: rq::PENDING.into(),
            decided_by_account: None,
            decided_by: None,
            decided_at: None,
            decision_reason: None,
            used_at: None,
        };
        rq::insert(tx, &row).await?;
        if kind.starts_with("compte.") {
            let recent = rq::count_by_requester(tx, &by, now - 24 * 3600).await?;
            let severity = if recent >= 2 { "elevee" } else { "information" };
            self.raise_alert(
                tx,
                structure_id,
                account,
                &by,
                "demande_compte",
                severity,
                &serde_json::json!({ "demande": row.id, "type": kind, "compte": target, "demandes_du_jour": recent })
                    .to_string(),
                now,
            )
            .await?;
        }
        self.audit(
            tx,
            ctx,
            Event {
                action: "demande.creation",
                subject: None,
                fields: &format!("demande:{},type:{kind},cible:{target}", row.id),
                outcome: OK,
                structure_id,
            },
        )
        .await?;
        Ok(Requested {
            id: row.id,
            kind: kind.into(),
            expires_at: row.expires_at,
        })
    }

    /// Asks for a new account. Only the very first account of an empty instance, an admin, is
    /// created alone: see [`App::bootstrap_admin`].
    pub async fn request_account(
        &self,
        ctx: &Ctx,
        u: NewUser<'_>,
        reason: &str,
    ) -> Result<Requested> {
        let v = self.validate_new_user(&u).await?;
        let reason = reason_checked(reason)?;
        let allowed = match &ctx.actor {
            Actor::Operator => true,
            Actor::Account(p) if p.role == Role::Admin => true,
            Actor::Account(p) if p.role == Role::Directeur => {
                p.structure_id.is_some()
                    && v.structure_id == p.structure_id
                    && matches!(v.role, Role::Conseiller | Role::Directeur)
            }
            _ => false,
        };
        if !allowed {
            return Err(self
                .refuse_request_kind(ctx, ACCOUNT_CREATION, &v.login)
                .await?);
        }
        let mut tx = self.store.begin().await?;
        if acc::by_login(&mut tx, &v.login).await?.is_some() {
            return Err(AppError::Conflict(format!(
                "L'identifiant {} est déjà pris.",
                v.login
            )));
        }
        let r = self
            .write_request(
                &mut tx,
                ctx,
                crate::approvals::NewRequest {
                    kind: ACCOUNT_CREATION,
                    structure_id: v.structure_id,
                    target: &v.login,
                    payload: serde_json::json!({ "role": v.role.code(), "structure_id": v.structure_id, "region": v.region }),
                    reason: &reason,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Asks for a change of an account's role or perimeter.
    pub async fn request_role_change(
        &self,
        ctx: &Ctx,
        login: &str,
        role: Role,
        structure_code: Option<&str>,
        region: Option<&str>,
        reason: &str,
    ) -> Result<Requested> {
        let target = self.managed_account(ctx, login, ROLE_CHANGE).await?;
        let v = self
            .validate_new_user(&NewUser {
                login: &target.login,
                role,
                structure_code,
                region,
                password: None,
            })
            .await?;
        let reason = reason_checked(reason)?;
        if let Actor::Account(p) = &ctx.actor {
            if p.role == Role::Directeur
                && (v.structure_id != p.structure_id
                    || !matches!(v.role, Role::Conseiller | Role::Directeur))
            {
                return Err(self.refuse_request_kind(ctx, ROLE_CHANGE, &v.login).await?);
            }
        }
        let mut tx = self.store.begin().await?;
        // A move between structures is the new structure's business (and the old one sees the
        // account leave in its audit).
        let r = self
            .write_request(
                &mut tx,
                ctx,
                crate::approvals::NewRequest {
                    kind: ROLE_CHANGE,
                    structure_id: v.structure_id.or(target.structure_id),
                    target: &v.login,
                    payload: serde_json::json!({ "role": v.role.code(), "structure_id": v.structure_id, "region": v.region, "ancienne_structure": target.structure_id }),
                    reason: &reason,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Asks for a reset of an account's password and second factor (a new enrolment link).
    pub async fn request_reset(&self, ctx: &Ctx, login: &str, reason: &str) -> Result<Requested> {
        let target = self.managed_account(ctx, login, RESET).await?;
        let reason = reason_checked(reason)?;
        let mut tx = self.store.begin().await?;
        let r = self
            .write_request(
                &mut tx,
                ctx,
                crate::approvals::NewRequest {
                    kind: RESET,
                    structure_id: target.structure_id,
                    target: &target.login,
                    payload: serde_json::json!({}),
                    reason: &reason,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Asks for an account's freeze to be lifted (a directeur for her structure, the DPO, an
    /// operator).
    pub async fn request_unfreeze(
        &self,
        ctx: &Ctx,
        login: &str,
        reason: &str,
    ) -> Result<Requested> {
        let scope = self.oversight(ctx, UNFREEZE).await?;
        let reason = reason_checked(reason)?;
        let mut tx = self.store.begin().await?;
        let account = acc::by_login(&mut tx, login.trim())
            .await?
            .filter(|a| scope.is_none() || a.structure_id == scope)
            .ok_or(AppError::NotFound)?;
        if account.frozen_at.is_none() {
            return Err(AppError::Refused(
                Rule::AlreadyDone,
                "Ce compte n'est pas gelé.".into(),
            ));
        }
        if matches!(&ctx.actor, Actor::Account(p) if p.account_id == account.id) {
            return Err(AppError::Forbidden);
        }
        let r = self
            .write_request(
                &mut tx,
                ctx,
                crate::approvals::NewRequest {
                    kind: UNFREEZE,
                    structure_id: account.structure_id,
                    target: &account.login,
                    payload: serde_json::json!({}),
                    reason: &reason,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Requests the actor may see: all for an admin or the DPO (or an operator), her
    /// structure's for a directeur. A pending request past its expiry reads "expirée".
    pub async fn list_requests(&self, ctx: &Ctx) -> Result<Vec<RequestView>> {
        let scope = match &ctx.actor {
            Actor::Operator => None,
            Actor::Account(p) if matches!(p.role, Role::Admin | Role::Dpo) => None,
            Actor::Account(p) if p.role == Role::Directeur && p.structure_id.is_some() => {
                p.structure_id
            }
            _ => return Err(AppError::Forbidden),
        };
        let mut conn = self.store.acquire().await?;
        let now = ctx.now.timestamp();
        let rows = rq::list(&mut conn, scope, 300).await?;
        let mut out = Vec::with_capacity(rows.len());
        for mut r in rows {
            // Expiry is derived from the time, never written: a pending request past its
            // expiry reads "expirée" (and `decide` refuses it by the same test).
            if r.status == rq::PENDING && r.expires_at <= now {
                r.status = rq::EXPIRED.into();
            }
            let can = r.status == rq::PENDING && Self::may_decide(ctx, &r);
            out.push(view(r, can));
        }
        Ok(out)
    }

    /// Whether the actor may decide this request: an eligible role and perimeter, never the
    /// requester, never the account the request is about.
    fn may_decide(ctx: &Ctx, r: &RequestRow) -> bool {
        let Actor::Account(p) = &ctx.actor else {
            return false;
        };
        if r.requested_by_account == Some(p.account_id) {
            return false;
        }
        if r.kind.starts_with("compte.") && r.target == p.login {
            return false;
        }
        let same_structure = p.structure_id.is_some() && r.structure_id == p.structure_id;
        let payload: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or_default();
        match r.kind.as_str() {
            ACCOUNT_CREATION | RESET => {
                p.role == Role::Admin || (p.role == Role::Directeur && same_structure)
            }
            ROLE_CHANGE => {
                // A directeur decides only a change that stays within her structure.
                let old = payload_i64(&payload, "ancienne_structure");
                let new = payload_i64(&payload, "structure_id");
                p.role == Role::Admin
                    || (p.role == Role::Directeur
                        && same_structure
                        && old == p.structure_id
                        && new == p.structure_id
                        && payload_str(&payload, "role")
                            .and_then(|c| Role::parse(&c))
                            .is_some_and(|r| matches!(r, Role::Conseiller | Role::Directeur)))
            }
            UNFREEZE => {
                p.role == Role::Admin
                    || p.role == Role::Dpo
                    || (p.role == Role::Directeur && same_structure)
            }
            IBAN | BATCH_EXPORT => {
                p.role == Role::Dpo || (p.role == Role::Directeur && same_structure)
            }
            INCIDENT_REPORT | ACCESS_EXPORT | ERASURE => matches!(p.role, Role::Admin | Role::Dpo),
            _ => false,
        }
    }

    /// Approves a request: its effect happens now, once. Refused for the requester, for an
    /// account outside the request's perimeter, after expiry, and when already decided.
    pub async fn approve_request(&self, ctx: &Ctx, id: &str, note: &str) -> Result<Approved> {
        self.decide_request(ctx, id, true, note).await
    }

    /// Refuses a request, with a reason.
    pub async fn refuse_request(&self, ctx: &Ctx, id: &str, reason: &str) -> Result<RequestView> {
        let reason = reason_checked(reason)?;
        Ok(self.decide_request(ctx, id, false, &reason).await?.request)
    }

    async fn decide_request(
        &self,
        ctx: &Ctx,
        id: &str,
        approve: bool,
        note: &str,
    ) -> Result<Approved> {
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Forbidden);
        };
        let now = ctx.now.timestamp();
        let action = if approve {
            "demande.approbation"
        } else {
            "demande.refus"
        };
        let mut tx = self.store.begin().await?;
        let Some(r) = rq::get(&mut tx, id.trim()).await? else {
            return Err(AppError::NotFound);
        };
        if !Self::may_decide(ctx, &r) {
            drop(tx);
            self.audit_alone(
                ctx,
                Event {
                    action,
                    subject: None,
                    fields: &format!("demande:{},type:{}", r.id, r.kind),
                    outcome: REFUSED,
                    structure_id: r.structure_id,
                },
            )
            .await?;
            return Err(if r.requested_by_account == Some(p.account_id) {
                AppError::Refused(
                    Rule::SamePerson,
                    "Vous avez fait cette demande : une autre personne doit l'approuver.".into(),
                )
            } else {
                AppError::Forbidden
            });
        }
        if r.status != rq::PENDING || r.expires_at <= now {
            let why = if r.status == rq::PENDING || r.status == rq::EXPIRED {
                "Cette demande a expiré (72 heures) : faites-en une nouvelle.".to_string()
            } else {
                format!("Cette demande est déjà {}.", status_label(&r.status))
            };
            return Err(AppError::Conflict(why));
        }
        let status = if approve { rq::APPROVED } else { rq::REFUSED };
        let note = note.trim();
        if !rq::decide(
            &mut tx,
            &r.id,
            status,
            Some(p.account_id),
            &p.login,
            Some(note).filter(|n| !n.is_empty()),
            now,
        )
        .await?
        {
            return Err(AppError::Conflict(
                "Cette demande vient d'être traitée par quelqu'un d'autre.".into(),
            ));
        }
        let token = if approve {
            self.apply_request(&mut tx, ctx, &r).await?
        } else {
            None
        };
        self.audit(
            &mut tx,
            ctx,
            Event {
                action,
                subject: None,
                fields: &format!(
                    "demande:{},type:{},cible:{},demandeur:{}",
                    r.id, r.kind, r.target, r.requested_by
                ),
                outcome: OK,
                structure_id: r.structure_id,
            },
        )
        .await?;
        let decided = rq::get(&mut tx, &r.id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(Approved {
            request: view(decided, false),
            enrolment_token: token,
        })
    }

    /// The effect of an approved request, in the decision's transaction.
    async fn apply_request(
        &self,
        tx: &mut parcours_store::Conn,
        ctx: &Ctx,
        r: &RequestRow,
    ) -> Result<Option<String>> {
        // A payload that does not parse is an integrity problem, not an empty request.
        let payload: serde_json::Value =
            serde_json::from_str(&r.payload).map_err(AppError::internal)?;
        match r.kind.as_str() {
            ACCOUNT_CREATION => {
                let role = payload_str(&payload, "role")
                    .and_then(|c| Role::parse(&c))
                    .ok_or_else(|| AppError::internal("demande sans rôle"))?;
                let v = ValidUser {
                    login: r.target.clone(),
                    role,
                    structure_id: payload_i64(&payload, "structure_id"),
                    region: payload_str(&payload, "region"),
                };
                let id = self
                    .insert_account(tx, ctx, &v, UNUSABLE_PASSWORD, "compte.creation")
                    .await
                    .map_err(|e| match e {
                        AppError::Conflict(_) => AppError::Conflict(format!(
                            "L'identifiant {} a été pris entre-temps.",
                            v.login
                        )),
                        o => o,
                    })?;
                Ok(Some(self.issue_link(tx, id, "inscription", ctx).await?))
            }
            ROLE_CHANGE => {
                let a = acc::by_login(tx, &r.target)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let role = payload_str(&payload, "role")
                    .and_then(|c| Role::parse(&c))
                    .ok_or_else(|| AppError::internal("demande sans rôle"))?;
                acc::set_role(
                    tx,
                    a.id,
                    role.code(),
                    payload_i64(&payload, "structure_id"),
                    payload_str(&payload, "region").as_deref(),
                )
                .await?;
                // Its sessions carried the old rights.
                acc::sessions_end_all(tx, a.id, None).await?;
                Ok(None)
            }
            RESET => {
                let a = acc::by_login(tx, &r.target)
                    .await?
                    .ok_or(AppError::NotFound)?;
                acc::set_credentials(tx, a.id, UNUSABLE_PASSWORD, true).await?;
                acc::sessions_end_all(tx, a.id, None).await?;
                Ok(Some(
                    self.issue_link(tx, a.id, "reinitialisation", ctx).await?,
                ))
            }
            UNFREEZE => {
                let a = acc::by_login(tx, &r.target)
                    .await?
                    .ok_or(AppError::NotFound)?;
                if !parcours_store::vigilance::unfreeze(tx, a.id).await? {
                    return Err(AppError::Refused(
                        Rule::AlreadyDone,
                        "Ce compte n'est plus gelé.".into(),
                    ));
                }
                Ok(None)
            }
            IBAN => {
                let tag = payload_str(&payload, "etiquette")
                    .and_then(|h| hex::decode(h).ok())
                    .ok_or_else(|| AppError::internal("demande IBAN sans étiquette"))?;
                if !parcours_store::programmes::approve_bank(
                    tx,
                    &r.target,
                    &tag,
                    ctx.now.timestamp(),
                )
                .await?
                {
                    return Err(AppError::Conflict(
                        "L'IBAN de ce dossier a changé depuis cette demande : c'est la demande la plus récente qu'il faut examiner.".into(),
                    ));
                }
                Ok(None)
            }
            // Taken once by the requester (`payments`); produced by the requester (`incident`).
            BATCH_EXPORT | INCIDENT_REPORT | ACCESS_EXPORT => Ok(None),
            ERASURE => {
                if !parcours_store::jeunes::erase(tx, &r.target).await? {
                    return Err(AppError::Refused(
                        Rule::Erased,
                        "Ce dossier est déjà effacé.".into(),
                    ));
                }
                self.audit(
                    tx,
                    ctx,
                    Event {
                        action: "jeune.effacement",
                        subject: Some(&r.target),
                        fields: &format!("demande:{},cle,index,iban,nir", r.id),
                        outcome: OK,
                        structure_id: r.structure_id,
                    },
                )
                .await?;
                Ok(None)
            }
            _ => Err(AppError::internal("type de demande inconnu")),
        }
    }
}

fn view(r: RequestRow, can_decide: bool) -> RequestView {
    RequestView {
        details: details_of(&r),
        label: kind_label(&r.kind),
        status_label: status_label(&r.status),
        id: r.id,
        kind: r.kind,
        structure_id: r.structure_id,
        target: r.target,
        reason: r.reason,
        requested_by: r.requested_by,
        created_at: r.created_at,
        expires_at: r.expires_at,
        status: r.status,
        decided_by: r.decided_by,
        decided_at: r.decided_at,
        decision_reason: r.decision_reason,
        can_decide,
    }
}
