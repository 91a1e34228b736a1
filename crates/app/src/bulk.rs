//! Bulk insertion for `parcours seed`, the demo and the benchmarks: the rows a year of daily
//! work would have written, without one authorisation check and audit entry per row. Only the
//! operator at the console may call it (any account is refused: a handler cannot reach it by
//! mistake), and each call is one audit entry for its dossier (`parcours.lot`, with what it
//! wrote). Free text is encrypted exactly as the use cases do it.

use chrono::NaiveDate;
use parcours_domain::timeline::Entry;
use parcours_domain::vocab::{ProgrammeKind, ProgrammeStatus, TaxSituation};
use parcours_store::programmes::{self as pq, ProgrammeRow, WeekRow};
use parcours_store::Conn;

use crate::audit::{Event, OK};
use crate::records::{new_id, ymd};
use crate::{Actor, App, AppError, Ctx, Result};

/// Bulk writes are the operator's only.
fn operator_only(ctx: &Ctx) -> Result<()> {
    match ctx.actor {
        Actor::Operator => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// A programme to record as it stands today.
#[derive(Debug, Clone)]
pub struct BulkProgramme {
    pub kind: ProgrammeKind,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub tax: Option<TaxSituation>,
    /// CEJ weeks: (Monday, planned minutes, done minutes).
    pub weeks: Vec<(NaiveDate, i64, i64)>,
}

impl App {
    /// Inserts timeline entries of one dossier (one key unwrap for all).
    pub async fn bulk_entries(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        jeune_id: &str,
        structure: i64,
        entries: &[Entry],
    ) -> Result<()> {
        operator_only(ctx)?;
        if entries.is_empty() {
            return Ok(());
        }
        let dek = self.dossier_key(conn, jeune_id).await?;
        for e in entries {
            self.insert_entry(conn, ctx, &dek, jeune_id, structure, e)
                .await?;
        }
        self.audit(
            conn,
            ctx,
            Event {
                action: "parcours.lot",
                subject: Some(jeune_id),
                fields: &format!("entrees:{}", entries.len()),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        Ok(())
    }

    /// Inserts a programme with its CEJ weeks.
    pub async fn bulk_programme(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        jeune_id: &str,
        structure: i64,
        p: &BulkProgramme,
    ) -> Result<String> {
        operator_only(ctx)?;
        let id = new_id();
        pq::insert(
            conn,
            &ProgrammeRow {
                id: id.clone(),
                jeune_id: jeune_id.into(),
                structure_id: structure,
                kind: p.kind.code().into(),
                status: if p.ended_on.is_some() {
                    ProgrammeStatus::Termine
                } else {
                    ProgrammeStatus::EnCours
                }
                .code()
                .into(),
                referent: ctx.actor.audit_name(),
                start_date: ymd(p.start),
                end_date: ymd(p.end),
                ended_on: p.ended_on.map(ymd),
                tax_situation: p.tax.map(|t| t.code().to_string()),
                created_at: ctx.now.timestamp(),
                version: 1,
                payload: None,
            },
        )
        .await?;
        for (monday, planned, done) in &p.weeks {
            pq::upsert_week(
                conn,
                &WeekRow {
                    programme_id: id.clone(),
                    week: ymd(*monday),
                    jeune_id: jeune_id.into(),
                    structure_id: structure,
                    planned_minutes: *planned,
                    done_minutes: *done,
                    updated_at: ctx.now.timestamp(),
                },
            )
            .await?;
        }
        self.audit(
            conn,
            ctx,
            Event {
                action: "parcours.lot",
                subject: Some(jeune_id),
                fields: &format!("dispositif:{},semaines:{}", p.kind.code(), p.weeks.len()),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        Ok(id)
    }
}
