//! The dossier as one page: identity, situation, legal representatives, programmes with their
//! weeks, the timeline, allowances, immersions, workshops — read in one transaction, with one
//! audit entry naming everything that was decrypted.

use parcours_domain::vocab::{Phase, RegistrationStatus};
use parcours_store::{companies, events, jeunes as q, programmes as pq, situations, workshops};
use serde::Serialize;

use crate::allowances::AllowanceView;
use crate::audit::{Event, OK};
use crate::companies::ImmersionView;
use crate::jeunes::Dossier;
use crate::payments::BankStatus;
use crate::programmes::ProgrammeView;
use crate::situation::{LegalRepView, SituationVersion};
use crate::timeline::TimelineEntry;
use crate::{App, AppError, Ctx, Result};

#[derive(Debug, Clone, Serialize)]
pub struct WorkshopLine {
    pub workshop_id: String,
    pub title: String,
    pub on_date: String,
    pub status: String,
    pub status_label: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct DossierView {
    #[serde(flatten)]
    pub dossier: Dossier,
    pub phase: String,
    pub phase_label: &'static str,
    pub situation: Option<SituationVersion>,
    pub situation_versions: usize,
    pub legal_reps: Vec<LegalRepView>,
    pub programmes: Vec<ProgrammeView>,
    pub timeline: Vec<TimelineEntry>,
    pub allowances: Vec<AllowanceView>,
    pub immersions: Vec<ImmersionView>,
    pub workshops: Vec<WorkshopLine>,
    pub bank: BankStatus,
    pub nir: crate::nir::NirStatus,
}

/// Everything the full view decrypts, as named in its audit entry.
pub const VIEW_FIELDS: &str =
    "identite,situation,representants_legaux,dispositifs,notes,allocations,tuteurs";

fn view_event(id: &str, structure: i64) -> Event<'_> {
    Event {
        action: "jeune.lecture",
        subject: Some(id),
        fields: VIEW_FIELDS,
        outcome: OK,
        structure_id: Some(structure),
    }
}

impl App {
    /// Opens the whole dossier (audited read).
    pub async fn open_dossier(&self, ctx: &Ctx, id: &str) -> Result<DossierView> {
        // As `App::get_jeune`: a caseload dossier is read on the gate's snapshot and shown once
        // its entry is durable; any other authorises, counts and audits in a short write
        // transaction, then is read on a snapshot once the entry is committed (issue 20).
        if let Some((structure, mut rtx)) = self.free_read(ctx, id, "jeune.lecture").await? {
            let view = self.load_dossier_view(&mut rtx, id).await?;
            drop(rtx);
            self.audit_durable(ctx, view_event(id, structure), &[])
                .await?;
            return Ok(view);
        }
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, id, "jeune.lecture")
            .await?;
        self.audit(&mut tx, ctx, view_event(id, structure)).await?;
        tx.commit().await?;
        let mut rtx = self.store.read().await?;
        self.load_dossier_view(&mut rtx, id).await
    }

    /// Decrypts the whole dossier on the caller's transaction: no authorisation, no audit —
    /// the callers do both ([`App::open_dossier`], the access request of `crate::access`).
    pub(crate) async fn load_dossier_view(
        &self,
        tx: &mut parcours_store::Conn,
        id: &str,
    ) -> Result<DossierView> {
        let row = q::get(tx, id).await?.ok_or(AppError::NotFound)?;
        let dossier = self.decrypt_row(&row)?;
        let dek = self.data_key(id, row.wrapped_key.as_deref())?;
        let sit_rows = situations::history(tx, id).await?;
        let situation = self
            .open_situations(&dek, &sit_rows[..sit_rows.len().min(1)])?
            .pop();
        let legal_reps = self.open_legal_reps(&dek, &situations::legal_reps(tx, id).await?)?;
        let prog_rows = pq::for_jeune(tx, id).await?;
        let mut weeks = Vec::new();
        for p in prog_rows.iter().filter(|p| p.kind == "cej") {
            weeks.extend(pq::weeks(tx, &p.id).await?);
        }
        let programmes = prog_rows
            .iter()
            .map(|p| self.open_programme(&dek, p, &weeks))
            .collect::<Result<Vec<_>>>()?;
        let timeline = events::for_jeune(tx, id)
            .await?
            .iter()
            .map(|r| self.open_entry(&dek, r))
            .collect::<Result<Vec<_>>>()?;
        let allowances = pq::allowances_for_jeune(tx, id)
            .await?
            .iter()
            .map(|a| self.open_allowance(&dek, a))
            .collect::<Result<Vec<_>>>()?;
        let mut immersions = Vec::new();
        for i in companies::immersions_for_jeune(tx, id).await? {
            let name = companies::get(tx, &i.company_id)
                .await?
                .map(|c| c.name)
                .unwrap_or_default();
            immersions.push(self.open_immersion(&dek, &i, name)?);
        }
        let mut ws = Vec::new();
        for r in workshops::registrations_of_jeune(tx, id).await? {
            if let Some(w) = workshops::get(tx, &r.workshop_id).await? {
                ws.push(WorkshopLine {
                    workshop_id: w.id,
                    title: w.title,
                    on_date: w.on_date,
                    status_label: RegistrationStatus::parse(&r.status)
                        .map(|s| s.label())
                        .unwrap_or("?"),
                    status: r.status,
                });
            }
        }
        let bank = self.bank_status(tx, id).await?;
        let nir = self.nir_status(tx, id).await?;
        let phase = timeline
            .iter()
            .find_map(|e| match e.kind.as_str() {
                "phase" => e.category.as_deref().and_then(Phase::parse),
                "sortie" => Some(Phase::Sortie),
                _ => None,
            })
            .unwrap_or(Phase::PremierAccueil);
        Ok(DossierView {
            dossier,
            phase: phase.code().into(),
            phase_label: phase.label(),
            situation,
            situation_versions: sit_rows.len(),
            legal_reps,
            programmes,
            timeline,
            allowances,
            immersions,
            workshops: ws,
            bank,
            nir,
        })
    }
}

impl DossierView {
    /// How many allowance decisions the dossier holds (the access document).
    pub fn allocations_len(&self) -> usize {
        self.allowances.len()
    }
}
