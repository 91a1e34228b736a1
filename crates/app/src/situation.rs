//! The jeune's situation with its history, legal representatives, and the transfer of a dossier
//! to another Mission Locale.

use crate::Rule;
use parcours_domain::situation::{
    changed_fields, validate_legal_rep, validate_situation, LegalRep, LegalRepInput, Situation,
    SituationInput,
};
use parcours_store::situations::{self as s, LegalRepRow, SituationRow};
use parcours_store::{jeunes as q, structures, Conn};
use parcours_vault::DataKey;
use serde::Serialize;

use crate::audit::{Event, OK};
use crate::records::{new_id, open, seal};
use crate::{App, AppError, Ctx, Result};

/// One version of the situation, decrypted.
#[derive(Debug, Clone, Serialize)]
pub struct SituationVersion {
    pub version: i64,
    pub author: String,
    pub changed_at: i64,
    pub changed_fields: Vec<String>,
    pub situation: Situation,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegalRepView {
    pub id: String,
    pub created_at: i64,
    #[serde(flatten)]
    pub rep: LegalRep,
}

impl App {
    pub(crate) fn open_situations(
        &self,
        dek: &DataKey,
        rows: &[SituationRow],
    ) -> Result<Vec<SituationVersion>> {
        rows.iter()
            .map(|r| {
                let id = format!("{}#{}", r.jeune_id, r.version);
                Ok(SituationVersion {
                    version: r.version,
                    author: r.author.clone(),
                    changed_at: r.changed_at,
                    changed_fields: r
                        .changed_fields
                        .split(',')
                        .filter(|f| !f.is_empty())
                        .map(str::to_string)
                        .collect(),
                    situation: open(dek, "situations", "payload", &id, &r.payload)?,
                })
            })
            .collect()
    }

    pub(crate) fn open_legal_reps(
        &self,
        dek: &DataKey,
        rows: &[LegalRepRow],
    ) -> Result<Vec<LegalRepView>> {
        rows.iter()
            .map(|r| {
                Ok(LegalRepView {
                    id: r.id.clone(),
                    created_at: r.created_at,
                    rep: open(dek, "legal_reps", "payload", &r.id, &r.payload)?,
                })
            })
            .collect()
    }

    /// The latest situation of a dossier on the caller's connection (no authorisation: callers
    /// have authorised the dossier).
    pub(crate) async fn current_situation(
        &self,
        conn: &mut Conn,
        jeune_id: &str,
    ) -> Result<Situation> {
        let rows = s::history(conn, jeune_id).await?;
        match rows.first() {
            Some(_) => {
                let dek = self.dossier_key(conn, jeune_id).await?;
                Ok(self
                    .open_situations(&dek, &rows[..1])?
                    .pop()
                    .map(|v| v.situation)
                    .unwrap_or_default())
            }
            None => Ok(Situation::default()),
        }
    }

    /// Records a new version of the situation if anything changed; returns the version number
    /// (unchanged input: the current one). The audit entry names the changed fields.
    pub async fn save_situation(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        input: &SituationInput,
    ) -> Result<i64> {
        let new = validate_situation(input)?;
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "situation.modification")
            .await?;
        let rows = s::history(&mut tx, jeune_id).await?;
        let dek = self.dossier_key(&mut tx, jeune_id).await?;
        let (old, version) = match rows.first() {
            Some(r) => (
                self.open_situations(&dek, &rows[..1])?
                    .pop()
                    .map(|v| v.situation)
                    .unwrap_or_default(),
                r.version,
            ),
            None => (Situation::default(), 0),
        };
        let changed = changed_fields(&old, &new);
        if changed.is_empty() && version > 0 {
            return Ok(version);
        }
        let v = version + 1;
        let row = SituationRow {
            jeune_id: jeune_id.to_string(),
            version: v,
            structure_id: structure,
            author: ctx.actor.audit_name(),
            changed_at: ctx.now.timestamp(),
            changed_fields: changed.join(","),
            payload: seal(
                &dek,
                "situations",
                "payload",
                &format!("{jeune_id}#{v}"),
                &new,
            )?,
        };
        s::insert(&mut tx, &row).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "situation.modification",
                subject: Some(jeune_id),
                fields: &changed.join(","),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(v)
    }

    /// The situation history, newest first (audited read).
    pub async fn situation_history(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
    ) -> Result<Vec<SituationVersion>> {
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "situation.lecture")
            .await?;
        let rows = s::history(&mut tx, jeune_id).await?;
        let dek = self.dossier_key(&mut tx, jeune_id).await?;
        let out = self.open_situations(&dek, &rows)?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "situation.lecture",
                subject: Some(jeune_id),
                fields: "situation",
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Adds a legal representative (a third person: identity and contacts encrypted).
    pub async fn add_legal_rep(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        input: &LegalRepInput,
    ) -> Result<String> {
        let rep = validate_legal_rep(input)?;
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "representant.ajout")
            .await?;
        let dek = self.dossier_key(&mut tx, jeune_id).await?;
        let id = new_id();
        s::insert_legal_rep(
            &mut tx,
            &LegalRepRow {
                id: id.clone(),
                jeune_id: jeune_id.to_string(),
                structure_id: structure,
                created_at: ctx.now.timestamp(),
                payload: seal(&dek, "legal_reps", "payload", &id, &rep)?,
            },
        )
        .await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "representant.ajout",
                subject: Some(jeune_id),
                fields: "lien,nom,prenom,telephone,email,adresse",
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Moves a dossier, with all its history, to another Mission Locale. Audited on both sides:
    /// the leaving structure sees where it went, the receiving one where it came from.
    pub async fn transfer_jeune(&self, ctx: &Ctx, jeune_id: &str, to_code: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let from = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "jeune.transfert")
            .await?;
        let to = structures::by_code(&mut tx, to_code.trim())
            .await?
            .ok_or_else(|| {
                AppError::Refused(
                    Rule::UnknownStructure,
                    format!("Mission Locale « {} » inconnue.", to_code.trim()),
                )
            })?;
        if to.id == from {
            return Err(AppError::Refused(
                Rule::AlreadyDone,
                "Le dossier est déjà dans cette Mission Locale.".into(),
            ));
        }
        let from_code = structures::by_id(&mut tx, from)
            .await?
            .map(|s| s.code)
            .unwrap_or_default();
        q::transfer(&mut tx, jeune_id, to.id, ctx.now.timestamp()).await?;
        let out = format!("vers:{}", to.code);
        let inc = format!("depuis:{from_code}");
        self.audit_many(
            &mut tx,
            ctx,
            &[
                Event {
                    action: "jeune.transfert.sortant",
                    subject: Some(jeune_id),
                    fields: &out,
                    outcome: OK,
                    structure_id: Some(from),
                },
                Event {
                    action: "jeune.transfert.entrant",
                    subject: Some(jeune_id),
                    fields: &inc,
                    outcome: OK,
                    structure_id: Some(to.id),
                },
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
