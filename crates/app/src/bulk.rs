//! Bulk insertion for `parcours peupler`, the demo and the benchmarks: the rows a year of daily
//! work would have written, without one authorisation check and audit entry per row. Only the
//! operator at the console may call it (any account is refused: a handler cannot reach it by
//! mistake), and each dossier written is one audit entry (`parcours.lot`, with what it wrote).
//! Free text is encrypted exactly as the use cases do it. Each call is one transaction that
//! this module opens and commits: the caller never holds a connection of the store.

use chrono::NaiveDate;
use parcours_domain::jeune::Identity;
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

/// A dossier to create with its history, as the seeder generates it.
#[derive(Debug, Clone)]
pub struct BulkDossier {
    pub structure: i64,
    pub identity: Identity,
    pub entries: Vec<Entry>,
    pub programmes: Vec<BulkProgramme>,
}

impl App {
    /// Creates dossiers with their history, all in one transaction (nothing lands if one
    /// fails). Returns their ids, in order.
    pub async fn bulk_dossiers(&self, ctx: &Ctx, dossiers: &[BulkDossier]) -> Result<Vec<String>> {
        operator_only(ctx)?;
        let mut tx = self.store.begin().await?;
        let mut ids = Vec::with_capacity(dossiers.len());
        for d in dossiers {
            let id = self
                .insert_identity(&mut tx, ctx, d.structure, &d.identity)
                .await?;
            self.bulk_entries(&mut tx, ctx, &id, d.structure, &d.entries)
                .await?;
            for p in &d.programmes {
                self.bulk_programme(&mut tx, ctx, &id, d.structure, p)
                    .await?;
            }
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Appends entries to existing dossiers, in one transaction.
    pub async fn bulk_add_entries(&self, ctx: &Ctx, batch: &[(String, Vec<Entry>)]) -> Result<()> {
        operator_only(ctx)?;
        let mut tx = self.store.begin().await?;
        for (id, entries) in batch {
            let structure = parcours_store::jeunes::structure_of(&mut tx, id)
                .await?
                .ok_or(AppError::NotFound)?;
            self.bulk_entries(&mut tx, ctx, id, structure, entries)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every dossier id of the instance (pseudonymous ids, nothing else), for the seeder's
    /// day of activity.
    pub async fn bulk_dossier_ids(&self, ctx: &Ctx) -> Result<Vec<String>> {
        operator_only(ctx)?;
        let mut conn = self.store.acquire().await?;
        Ok(parcours_store::jeunes::all_ids(&mut conn).await?)
    }

    /// Makes `account_id` the référent of up to `n` dossiers of `structure` that have none
    /// (the demo's and the benchmarks' caseloads). Audited; returns how many were assigned.
    pub async fn bulk_assign_caseload(
        &self,
        ctx: &Ctx,
        structure: i64,
        account_id: i64,
        n: i64,
    ) -> Result<u64> {
        operator_only(ctx)?;
        let mut tx = self.store.begin().await?;
        let done =
            parcours_store::jeunes::assign_unreferenced(&mut tx, structure, account_id, n).await?;
        let fields = format!("compte:{account_id},dossiers:{done}");
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "portefeuille.lot",
                subject: None,
                fields: &fields,
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Inserts timeline entries of one dossier (one key unwrap for all).
    pub(crate) async fn bulk_entries(
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
    pub(crate) async fn bulk_programme(
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
