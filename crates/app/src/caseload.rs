//! "Mon portefeuille": an advisor's caseload (the dossiers she is référent of) and what is due —
//! today's appointments, CEJ weeks under 15 hours, programmes ending within 30 days, allowances
//! of the month still to decide.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Days, NaiveDate};
use parcours_domain::jeune::age_on;
use parcours_domain::rules::cej;
use parcours_domain::vocab::ProgrammeKind;
use parcours_store::programmes::{self as pq, ProgrammeRow};
use parcours_store::{events, jeunes as q, Conn};
use serde::Serialize;

use crate::audit::{Event, OK};
use crate::records::ymd;
use crate::{Actor, App, AppError, Ctx, Result};

#[derive(Debug, Clone, Serialize)]
pub struct CaseloadLine {
    pub id: String,
    pub nom: String,
    pub prenom: String,
    pub age: i32,
    pub programmes: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DueAppointment {
    pub jeune_id: String,
    pub nom: String,
    pub prenom: String,
    pub event_id: String,
    pub version: i64,
    pub at_time: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DueHours {
    pub jeune_id: String,
    pub nom: String,
    pub prenom: String,
    pub programme_id: String,
    pub week: String,
    pub recorded: bool,
    pub missing_minutes: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DueEnd {
    pub jeune_id: String,
    pub nom: String,
    pub prenom: String,
    pub kind_label: &'static str,
    pub end_date: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DueAllowance {
    pub jeune_id: String,
    pub nom: String,
    pub prenom: String,
    pub kind: String,
    pub month: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Caseload {
    pub today: String,
    pub last_week: String,
    pub lines: Vec<CaseloadLine>,
    pub appointments_today: Vec<DueAppointment>,
    pub cej_hours_missing: Vec<DueHours>,
    pub ending_soon: Vec<DueEnd>,
    pub allowances_to_decide: Vec<DueAllowance>,
}

impl App {
    /// The actor's caseload (audited: one entry naming every dossier shown).
    pub async fn caseload(&self, ctx: &Ctx) -> Result<Caseload> {
        let structure = self.identity_scope(ctx, "jeune.portefeuille").await?;
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Forbidden);
        };
        // Read and decrypt on a snapshot; the write transaction only appends the audit entries.
        let mut rtx = self.store.read().await?;
        let c = self
            .caseload_of(&mut rtx, structure, p.account_id, ctx.now.date_naive())
            .await?;
        drop(rtx);
        let ids: Vec<&str> = c.lines.iter().map(|l| l.id.as_str()).collect();
        self.audit_durable(
            ctx,
            Event {
                action: "jeune.portefeuille",
                subject: None,
                fields: "nom,prenom,date_naissance",
                outcome: OK,
                structure_id: Some(structure),
            },
            &ids,
        )
        .await?;
        Ok(c)
    }

    /// The computation behind [`App::caseload`], without authorisation or audit (benchmark).
    pub(crate) async fn caseload_of(
        &self,
        conn: &mut Conn,
        structure: i64,
        account_id: i64,
        today: NaiveDate,
    ) -> Result<Caseload> {
        // Only the three fields the page shows are decrypted (not the eleven of an identity).
        const COLS: [&str; 3] = ["nom", "prenom", "date_naissance"];
        let rows = q::caseload_partial(conn, structure, account_id, &COLS).await?;
        let mut names: HashMap<String, (String, String)> = HashMap::new();
        let mut lines = Vec::with_capacity(rows.len());
        for r in &rows {
            let c = self.lazy(r, &COLS)?;
            let (nom, prenom) = (c.get("nom")?, c.get("prenom")?);
            names.insert(r.id.clone(), (nom.clone(), prenom.clone()));
            lines.push(CaseloadLine {
                age: age_on(c.date()?, today),
                id: r.id.clone(),
                nom,
                prenom,
                programmes: Vec::new(),
            });
        }
        let name = |id: &str| names.get(id).cloned().unwrap_or_default();
        let t = ymd(today);
        let mut appointments_today = Vec::new();
        // Every query below reaches only the référent's dossiers (through `jeunes.referent_id`).
        for e in events::for_referent_on(conn, structure, account_id, "rdv", &t).await? {
            let (nom, prenom) = name(&e.jeune_id);
            appointments_today.push(DueAppointment {
                jeune_id: e.jeune_id,
                nom,
                prenom,
                event_id: e.id,
                version: e.version,
                at_time: e.at_time,
                status: e.status,
            });
        }
        let running: Vec<ProgrammeRow> =
            pq::running_for_referent(conn, structure, account_id, &t).await?;
        for l in &mut lines {
            l.programmes = running
                .iter()
                .filter(|p| p.jeune_id == l.id)
                .filter_map(|p| ProgrammeKind::parse(&p.kind).map(|k| k.label()))
                .collect();
        }
        let last_monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()) + 7);
        let lw = ymd(last_monday);
        let weeks: HashMap<String, (i64, i64)> =
            pq::weeks_for_referent(conn, structure, account_id, &lw)
                .await?
                .into_iter()
                .map(|w| (w.programme_id, (w.planned_minutes, w.done_minutes)))
                .collect();
        let soon = ymd(today + Days::new(30));
        let month = today.format("%Y-%m").to_string();
        let decided: HashSet<String> =
            pq::decided_for_referent(conn, structure, account_id, &month)
                .await?
                .into_iter()
                .collect();
        let mut cej_hours_missing = Vec::new();
        let mut ending_soon = Vec::new();
        let mut allowances_to_decide = Vec::new();
        let mut asked = HashSet::new();
        for p in &running {
            let (nom, prenom) = name(&p.jeune_id);
            if p.kind == ProgrammeKind::Cej.code() && p.start_date <= lw {
                let (planned, done) = weeks.get(&p.id).copied().unwrap_or((0, 0));
                let gap = cej::week_gap(planned, done);
                if gap.missing_minutes > 0 {
                    cej_hours_missing.push(DueHours {
                        jeune_id: p.jeune_id.clone(),
                        nom: nom.clone(),
                        prenom: prenom.clone(),
                        programme_id: p.id.clone(),
                        week: lw.clone(),
                        recorded: weeks.contains_key(&p.id),
                        missing_minutes: gap.missing_minutes,
                    });
                }
            }
            if p.end_date >= t && p.end_date <= soon {
                ending_soon.push(DueEnd {
                    jeune_id: p.jeune_id.clone(),
                    nom: nom.clone(),
                    prenom: prenom.clone(),
                    kind_label: ProgrammeKind::parse(&p.kind)
                        .map(|k| k.label())
                        .unwrap_or("?"),
                    end_date: p.end_date.clone(),
                });
            }
            if (p.kind == ProgrammeKind::Cej.code() || p.kind == ProgrammeKind::Pacea.code())
                && !decided.contains(&p.jeune_id)
                && asked.insert(p.jeune_id.clone())
            {
                allowances_to_decide.push(DueAllowance {
                    jeune_id: p.jeune_id.clone(),
                    nom,
                    prenom,
                    kind: p.kind.clone(),
                    month: month.clone(),
                });
            }
        }
        lines.sort_by(|a, b| {
            (a.nom.to_lowercase(), a.prenom.to_lowercase())
                .cmp(&(b.nom.to_lowercase(), b.prenom.to_lowercase()))
        });
        appointments_today.sort_by(|a, b| a.at_time.cmp(&b.at_time));
        Ok(Caseload {
            today: t,
            last_week: lw,
            lines,
            appointments_today,
            cej_hours_missing,
            ending_soon,
            allowances_to_decide,
        })
    }
}
