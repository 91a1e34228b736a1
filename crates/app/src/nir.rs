//! The social-security number (NIR), needed for the exchanges with France Travail and the paying
//! agency, in the sensitive tier (issue 16).
//!
//! Encrypted with the `sensitive` key (AD `nirs‖nir‖dossier id`), as the IBAN: no person's data
//! key opens it, and reading a dossier does not decrypt it. Pages show it masked; entering it or
//! revealing it needs a second factor entered in the last 5 minutes and a stated reason, both in
//! the audit entry (`nir.modification`, `nir.lecture`), and counts as opening the dossier for
//! the read quota (`authorise_dossier`).

use crate::Rule;
use parcours_domain::{ids, ValidationErrors};
use parcours_store::nirs;
use serde::Serialize;

use crate::audit::{Event, OK};
use crate::{App, AppError, Ctx, Result};

/// What a page shows of a NIR without revealing it.
pub const MASKED: &str = "• •• •• •• ••• ••• ••";

/// Whether a NIR is on file (never the NIR).
#[derive(Debug, Clone, Serialize)]
pub struct NirStatus {
    pub on_file: bool,
    pub masked: Option<&'static str>,
    pub updated_at: Option<i64>,
}

impl App {
    /// Records (or replaces) a jeune's NIR: validated (key, Corsica), sensitive tier.
    pub async fn set_nir(&self, ctx: &Ctx, jeune_id: &str, nir: &str, reason: &str) -> Result<()> {
        let reason = self.sensitive(ctx, "nir.modification", reason)?;
        let nir = ids::nir(nir).map_err(|m| {
            let mut e = ValidationErrors::default();
            e.push("nir", "invalide", m);
            AppError::from(e)
        })?;
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "nir.modification")
            .await?;
        let ct = self
            .keys
            .sensitive
            .encrypt_field("nirs", "nir", jeune_id, &nir);
        nirs::upsert(&mut tx, jeune_id, structure, &ct, ctx.now.timestamp()).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "nir.modification",
                subject: Some(jeune_id),
                fields: &format!("nir,motif:{reason}"),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reveals a jeune's NIR: sensitive tier, audited with the reason.
    pub async fn reveal_nir(&self, ctx: &Ctx, jeune_id: &str, reason: &str) -> Result<String> {
        let reason = self.sensitive(ctx, "nir.lecture", reason)?;
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "nir.lecture")
            .await?;
        let (ct, _) = nirs::get(&mut tx, jeune_id).await?.ok_or_else(|| {
            AppError::Refused(
                Rule::NoNir,
                "Aucun NIR n'est enregistré pour ce dossier.".into(),
            )
        })?;
        let nir = self
            .keys
            .sensitive
            .decrypt_field("nirs", "nir", jeune_id, &ct)
            .map_err(|e| AppError::Internal(format!("{e} (nir {jeune_id})")))?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "nir.lecture",
                subject: Some(jeune_id),
                fields: &format!("nir,motif:{reason}"),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(nir)
    }

    /// Whether a NIR is on file for a dossier (no decryption).
    pub(crate) async fn nir_status(
        &self,
        conn: &mut parcours_store::Conn,
        jeune_id: &str,
    ) -> Result<NirStatus> {
        let n = nirs::get(conn, jeune_id).await?;
        Ok(NirStatus {
            on_file: n.is_some(),
            masked: n.as_ref().map(|_| MASKED),
            updated_at: n.map(|(_, t)| t),
        })
    }
}
