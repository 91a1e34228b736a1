//! The dossier's timeline: recording events, appointments, situations, proposals, phases, exit
//! and notes, and changing a status (an appointment held, a proposal accepted…).

use parcours_domain::timeline::{self as t, validate_entry, Entry, EntryInput};
use parcours_domain::vocab::{
    AppointmentStatus, ExitReason, Modalite, Phase, ProgrammeStatus, ProposalKind, ProposalStatus,
    SituationCategory, SituationStatus, Theme,
};
use parcours_domain::ValidationErrors;
use parcours_store::events::{self as ev, EventRow};
use parcours_store::{companies, programmes as pq, Conn};
use parcours_vault::DataKey;
use serde::Serialize;

use crate::audit::{Event, OK};
use crate::records::{new_id, open, seal, ymd};
use crate::{App, AppError, Ctx, Result};

/// One line of the timeline, decrypted, with French labels.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub id: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub on_date: String,
    pub end_date: Option<String>,
    pub at_time: Option<String>,
    pub status: Option<String>,
    pub status_label: Option<&'static str>,
    pub modalite: Option<String>,
    pub modalite_label: Option<&'static str>,
    pub theme: Option<String>,
    pub theme_label: Option<&'static str>,
    pub category: Option<String>,
    pub category_label: Option<&'static str>,
    pub rome: Option<String>,
    pub company_id: Option<String>,
    pub duration_minutes: Option<i64>,
    pub author: String,
    pub version: i64,
    pub note: Option<String>,
}

/// Label of a status for a kind of entry.
pub fn status_label(kind: &str, status: &str) -> Option<&'static str> {
    match kind {
        t::KIND_RDV => AppointmentStatus::parse(status).map(|s| s.label()),
        t::KIND_SITUATION => SituationStatus::parse(status).map(|s| s.label()),
        t::KIND_PROPOSITION => ProposalStatus::parse(status).map(|s| s.label()),
        _ => None,
    }
}

/// Label of a category for a kind of entry.
pub fn category_label(kind: &str, category: &str) -> Option<&'static str> {
    match kind {
        t::KIND_PHASE => Phase::parse(category).map(|s| s.label()),
        t::KIND_SITUATION => SituationCategory::parse(category).map(|s| s.label()),
        t::KIND_PROPOSITION => ProposalKind::parse(category).map(|s| s.label()),
        t::KIND_SORTIE => ExitReason::parse(category).map(|s| s.label()),
        _ => None,
    }
}

impl App {
    pub(crate) fn open_entry(&self, dek: &DataKey, r: &EventRow) -> Result<TimelineEntry> {
        let note: Option<String> = match &r.payload {
            Some(ct) => Some(open(dek, "events", "note", &r.id, ct)?),
            None => None,
        };
        Ok(TimelineEntry {
            id: r.id.clone(),
            kind_label: t::kind_label(&r.kind),
            status_label: r.status.as_deref().and_then(|s| status_label(&r.kind, s)),
            category_label: r
                .category
                .as_deref()
                .and_then(|c| category_label(&r.kind, c)),
            kind: r.kind.clone(),
            on_date: r.on_date.clone(),
            end_date: r.end_date.clone(),
            at_time: r.at_time.clone(),
            status: r.status.clone(),
            modalite_label: r
                .modalite
                .as_deref()
                .and_then(Modalite::parse)
                .map(|m| m.label()),
            modalite: r.modalite.clone(),
            theme_label: r.theme.as_deref().and_then(Theme::parse).map(|t| t.label()),
            theme: r.theme.clone(),
            category: r.category.clone(),
            rome: r.rome.clone(),
            company_id: r.company_id.clone(),
            duration_minutes: r.duration_minutes,
            author: r.author.clone(),
            version: r.version,
            note,
        })
    }

    /// A company named in an entry must belong to the same structure.
    pub(crate) async fn check_company(
        &self,
        conn: &mut Conn,
        structure: i64,
        company: Option<&str>,
    ) -> Result<()> {
        if let Some(c) = company {
            match companies::get(conn, c).await? {
                Some(row) if row.structure_id == structure => {}
                _ => {
                    let mut e = ValidationErrors::default();
                    e.push(
                        "entreprise",
                        "invalide",
                        "Entreprise inconnue dans votre Mission Locale.",
                    );
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// Inserts a validated entry on the caller's transaction (shared with imports and seeding).
    pub(crate) async fn insert_entry(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        dek: &DataKey,
        jeune_id: &str,
        structure: i64,
        e: &Entry,
    ) -> Result<String> {
        let id = new_id();
        let payload = match &e.note {
            Some(n) => Some(seal(dek, "events", "note", &id, n)?),
            None => None,
        };
        ev::insert(
            conn,
            &EventRow {
                id: id.clone(),
                jeune_id: jeune_id.to_string(),
                structure_id: structure,
                kind: e.kind.code().to_string(),
                on_date: ymd(e.on_date),
                end_date: e.end_date.map(ymd),
                at_time: e.at_time.clone(),
                status: e.status.clone(),
                modalite: e.modalite.clone(),
                theme: e.theme.clone(),
                category: e.category.clone(),
                rome: e.rome.clone(),
                company_id: e.company_id.clone(),
                duration_minutes: e.duration_minutes,
                author: ctx.actor.audit_name(),
                created_at: ctx.now.timestamp(),
                version: 1,
                payload,
            },
        )
        .await?;
        Ok(id)
    }

    /// Records an entry in a dossier. An exit (`sortie`) also ends the programmes still running.
    pub async fn add_entry(&self, ctx: &Ctx, jeune_id: &str, input: &EntryInput) -> Result<String> {
        let entry = validate_entry(input, ctx.now.date_naive())?;
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "parcours.ajout")
            .await?;
        self.check_company(&mut tx, structure, entry.company_id.as_deref())
            .await?;
        let dek = self.dossier_key(&mut tx, jeune_id).await?;
        let id = self
            .insert_entry(&mut tx, ctx, &dek, jeune_id, structure, &entry)
            .await?;
        if entry.kind == t::EntryKind::Exit {
            let day = ymd(entry.on_date);
            for mut p in pq::for_jeune(&mut tx, jeune_id).await? {
                if p.status == ProgrammeStatus::EnCours.code() {
                    p.status = ProgrammeStatus::Termine.code().into();
                    p.ended_on = Some(day.clone());
                    p.version += 1;
                    pq::update(&mut tx, &p, ctx.now.timestamp()).await?;
                }
            }
        }
        let fields = format!(
            "{}{}",
            entry.kind.code(),
            if entry.note.is_some() { ",note" } else { "" }
        );
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "parcours.ajout",
                subject: Some(jeune_id),
                fields: &fields,
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes the status of an appointment, a situation or a proposal (optimistic: `version`
    /// must be current). The status must belong to the entry's kind.
    pub async fn set_entry_status(
        &self,
        ctx: &Ctx,
        entry_id: &str,
        version: i64,
        status: &str,
    ) -> Result<i64> {
        let mut tx = self.store.begin().await?;
        let row = if uuid::Uuid::parse_str(entry_id).is_ok() {
            ev::get(&mut tx, entry_id).await?
        } else {
            None
        };
        let structure = self
            .authorise_record(
                &mut tx,
                ctx,
                "parcours.statut",
                row.as_ref().map(|r| r.jeune_id.as_str()),
            )
            .await?;
        let Some(mut row) = row else {
            return Err(AppError::NotFound);
        };
        if status_label(&row.kind, status.trim()).is_none() {
            let mut e = ValidationErrors::default();
            e.push(
                "statut",
                "invalide",
                "Statut inconnu pour ce type d'entrée.",
            );
            return Err(e.into());
        }
        if row.version != version {
            return Err(AppError::Stale);
        }
        row.status = Some(status.trim().to_string());
        row.version += 1;
        ev::update(&mut tx, &row, ctx.now.timestamp()).await?;
        let fields = format!("statut:{}", status.trim());
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "parcours.statut",
                subject: Some(&row.jeune_id),
                fields: &fields,
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(row.version)
    }
}
