//! A person's right of access (GDPR Art. 15): everything Parcours holds about a young person —
//! the whole dossier, decrypted — and the history of its consultations: when, by which role,
//! for what (the action, and the motive when one was given), never the advisors' names.
//!
//! Four eyes, like the incident report: a DPO asks (with the person's request as the reason),
//! an admin or another DPO approves, the requesting DPO produces it within 24 hours (JSON for
//! a machine, a readable document for the person); each production is audited.

use askama::Template;
use parcours_domain::Role;
use parcours_store::requests as rq;
use serde::Serialize;
use std::collections::BTreeMap;

use crate::approvals::{reason_checked, NewRequest, Requested, ACCESS_EXPORT};
use crate::audit::{Event, OK, REFUSED};
use crate::dossier::DossierView;
use crate::{Actor, App, AppError, Ctx, Result, Rule};

/// One consultation or change of the dossier, as the person may know it.
#[derive(Debug, Clone, Serialize)]
pub struct Consultation {
    pub at: i64,
    /// The role of who did it (`conseiller`, `directeur`…, `operateur` for the console,
    /// `systeme` for automatic tasks), never a name.
    pub role: String,
    pub action: String,
    /// What for: the motive written with the act when there is one (break-glass, NIR…).
    pub purpose: Option<String>,
}

/// The export.
#[derive(Debug, Clone, Serialize)]
pub struct AccessExport {
    pub request_id: String,
    pub generated_at: i64,
    pub dossier: DossierView,
    pub consultations: Vec<Consultation>,
}

#[derive(Template)]
#[template(path = "incident/acces.html")]
struct AccessDocument<'a> {
    e: &'a AccessExport,
    date: String,
    lines: Vec<(String, String, String, String)>,
}

fn date_time(ts: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(ts, 0)
        .map(|t| t.format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_default()
}

impl AccessExport {
    /// The readable document for the person (printable HTML).
    pub fn document(&self) -> Result<String> {
        AccessDocument {
            e: self,
            date: date_time(self.generated_at),
            lines: self
                .consultations
                .iter()
                .map(|c| {
                    (
                        date_time(c.at),
                        c.role.clone(),
                        c.action.clone(),
                        c.purpose.clone().unwrap_or_default(),
                    )
                })
                .collect(),
        }
        .render()
        .map_err(AppError::internal)
    }
}

impl App {
    /// Only a DPO asks for what reaches a person's whole file; anyone else is refused, audited
    /// under `action`.
    pub(crate) async fn require_dpo(&self, ctx: &Ctx, action: &str) -> Result<()> {
        if matches!(&ctx.actor, Actor::Account(p) if p.role == Role::Dpo) {
            return Ok(());
        }
        self.audit_alone(
            ctx,
            Event {
                action,
                subject: None,
                fields: "",
                outcome: REFUSED,
                structure_id: None,
            },
        )
        .await?;
        Err(AppError::Forbidden)
    }

    /// A DPO's four-eyes request about one dossier that still exists (not erased).
    async fn request_about_dossier(
        &self,
        ctx: &Ctx,
        (kind, refused_action): (&str, &str),
        jeune_id: &str,
        reason: &str,
        erased: &str,
    ) -> Result<Requested> {
        self.require_dpo(ctx, refused_action).await?;
        let reason = reason_checked(reason)?;
        let id = jeune_id.trim();
        let mut tx = self.store.begin().await?;
        let row = parcours_store::jeunes::get(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if row.wrapped_key.is_none() {
            return Err(AppError::Refused(Rule::Erased, erased.into()));
        }
        let r = self
            .write_request(
                &mut tx,
                ctx,
                NewRequest {
                    kind,
                    structure_id: Some(row.structure_id),
                    target: id,
                    payload: serde_json::json!({}),
                    reason: &reason,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// A DPO records a person's access request about a dossier.
    pub async fn request_access_export(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        reason: &str,
    ) -> Result<Requested> {
        self.request_about_dossier(
            ctx,
            (ACCESS_EXPORT, "acces.demande"),
            jeune_id,
            reason,
            "Ce dossier a été effacé : il n'y a plus rien à communiquer.",
        )
        .await
    }

    /// A DPO asks for the erasure of a person (Art. 17): approved by an admin or another DPO,
    /// her dossier's key is destroyed at the approval (`approvals`), with her blind-index
    /// entries, IBAN and NIR; backups never held that key (`backup`).
    pub async fn request_erasure(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        reason: &str,
    ) -> Result<Requested> {
        self.request_about_dossier(
            ctx,
            (crate::approvals::ERASURE, "effacement.demande"),
            jeune_id,
            reason,
            "Ce dossier est déjà effacé.",
        )
        .await
    }

    /// The export of an approved access request, for the DPO who asked, within 24 hours.
    pub async fn access_export(&self, ctx: &Ctx, request_id: &str) -> Result<AccessExport> {
        let mut tx = self.store.begin().await?;
        let r = rq::get(&mut tx, request_id.trim())
            .await?
            .filter(|r| r.kind == ACCESS_EXPORT)
            .ok_or(AppError::NotFound)?;
        let mine = matches!(&ctx.actor, Actor::Account(p)
            if p.role == Role::Dpo && r.requested_by_account == Some(p.account_id));
        let approved = r.status == rq::APPROVED
            && ctx.now.timestamp()
                <= r.decided_at.unwrap_or(0) + crate::incident::VALID_AFTER_APPROVAL_S;
        if !mine || !approved {
            drop(tx);
            self.audit_alone(
                ctx,
                Event {
                    action: "acces.export",
                    subject: Some(&r.target),
                    fields: &format!("demande:{}", r.id),
                    outcome: REFUSED,
                    structure_id: r.structure_id,
                },
            )
            .await?;
            return Err(if mine {
                AppError::Refused(
                    Rule::NotApproved,
                    "Cette demande n'est pas approuvée, ou l'approbation date de plus de 24 heures."
                        .into(),
                )
            } else {
                AppError::Forbidden
            });
        }
        let dossier = self.load_dossier_view(&mut tx, &r.target).await?;
        let mut roles: BTreeMap<String, String> = BTreeMap::new();
        let mut consultations = Vec::new();
        for e in parcours_store::audit::about_subject(&mut tx, &r.target).await? {
            if e.outcome != OK.code() {
                continue;
            }
            let role = if e.actor.starts_with("operateur-cli:") {
                "operateur".to_string()
            } else if let Some(role) = roles.get(&e.actor) {
                role.clone()
            } else {
                let role = parcours_store::accounts::by_login(&mut tx, &e.actor)
                    .await?
                    .map(|a| a.role)
                    .unwrap_or_else(|| "systeme".into());
                roles.insert(e.actor.clone(), role.clone());
                role
            };
            let purpose = e
                .fields
                .split(',')
                .find_map(|f| f.strip_prefix("motif:"))
                .map(str::to_string);
            consultations.push(Consultation {
                at: e.ts / 1_000_000,
                role,
                action: e.action,
                purpose,
            });
        }
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "acces.export",
                subject: Some(&r.target),
                fields: &format!("demande:{},{}", r.id, crate::dossier::VIEW_FIELDS),
                outcome: OK,
                structure_id: r.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(AccessExport {
            request_id: r.id,
            generated_at: ctx.now.timestamp(),
            dossier,
            consultations,
        })
    }
}
