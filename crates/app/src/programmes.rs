//! Programmes (dispositifs): entry into CEJ, PACEA or another programme, CEJ extension to 18
//! months, end, and the CEJ weekly hours (planned and done).

use crate::Rule;
use chrono::{Datelike, NaiveDate, Weekday};
use parcours_domain::jeune::parse_date;
use parcours_domain::rules::{cej, pacea};
use parcours_domain::situation::parse_bool;
use parcours_domain::timeline::{clean_note, parse_duration};
use parcours_domain::vocab::{ProgrammeKind, ProgrammeStatus, TaxSituation};
use parcours_domain::ValidationErrors;
use parcours_store::programmes::{self as pq, ProgrammeRow, WeekRow};
use parcours_store::{jeunes as q, Conn};
use parcours_vault::DataKey;
use serde::{Deserialize, Serialize};

use crate::audit::{Event, OK};
use crate::records::{date_of, new_id, open, seal, ymd};
use crate::{App, AppError, Ctx, Result};

/// Entry into a programme, as typed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ProgrammeInput {
    pub kind: String,
    pub date_debut: String,
    pub date_fin: String,
    /// CEJ: household tax situation (allowance).
    pub situation_fiscale: String,
    /// CEJ: the jeune is a student (not eligible).
    pub etudiant: String,
    /// Motivation of an extension beyond 12 months (CEJ), or objectives (PACEA phases).
    pub motif: String,
}

/// Free text of a programme (encrypted): the motivation of an extension or the objectives, and
/// the PACEA phases with their objectives and end evaluations.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgrammeText {
    pub motif: Option<String>,
    #[serde(default)]
    pub phases: Vec<PaceaPhase>,
}

/// One phase of a PACEA.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PaceaPhase {
    pub debut: String,
    pub fin: String,
    pub objectifs: String,
    pub evaluation: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProgrammeView {
    pub id: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub status: String,
    pub status_label: &'static str,
    pub referent: String,
    pub start_date: String,
    pub end_date: String,
    pub ended_on: Option<String>,
    pub tax_situation: Option<String>,
    pub version: i64,
    pub motif: Option<String>,
    /// PACEA: the phases, in date order.
    pub phases: Vec<PaceaPhase>,
    /// CEJ: the weekly view (newest first).
    pub weeks: Vec<WeekView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WeekView {
    pub week: String,
    pub gap: cej::WeekGap,
}

fn required_date(e: &mut ValidationErrors, field: &str, raw: &str) -> Option<NaiveDate> {
    match raw.trim() {
        "" => {
            e.push(field, "obligatoire", "Date : obligatoire.");
            None
        }
        s => match parse_date(s) {
            Ok(d) => Some(d),
            Err((c, m)) => {
                e.push(field, c, m);
                None
            }
        },
    }
}

fn programme_text(dek: &DataKey, r: &ProgrammeRow) -> Result<ProgrammeText> {
    match &r.payload {
        Some(ct) => open(dek, "programmes", "payload", &r.id, ct),
        None => Ok(ProgrammeText::default()),
    }
}

impl App {
    pub(crate) fn open_programme(
        &self,
        dek: &DataKey,
        r: &ProgrammeRow,
        weeks: &[WeekRow],
    ) -> Result<ProgrammeView> {
        let text = programme_text(dek, r)?;
        let kind = ProgrammeKind::parse(&r.kind);
        let status = ProgrammeStatus::parse(&r.status);
        Ok(ProgrammeView {
            id: r.id.clone(),
            kind: r.kind.clone(),
            kind_label: kind.map(|k| k.label()).unwrap_or("?"),
            status: r.status.clone(),
            status_label: status.map(|s| s.label()).unwrap_or("?"),
            referent: r.referent.clone(),
            start_date: r.start_date.clone(),
            end_date: r.end_date.clone(),
            ended_on: r.ended_on.clone(),
            tax_situation: r.tax_situation.clone(),
            version: r.version,
            motif: text.motif,
            phases: text.phases,
            weeks: weeks
                .iter()
                .filter(|w| w.programme_id == r.id)
                .map(|w| WeekView {
                    week: w.week.clone(),
                    gap: cej::week_gap(w.planned_minutes, w.done_minutes),
                })
                .collect(),
        })
    }

    /// Enters a jeune into a programme, applying its rules (CEJ: age, not a student, 12 months
    /// or 18 with a motivated decision, tax situation for the allowance; PACEA: 24 months).
    pub async fn enter_programme(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        input: &ProgrammeInput,
    ) -> Result<String> {
        let mut e = ValidationErrors::default();
        let kind = ProgrammeKind::parse(input.kind.trim());
        if kind.is_none() {
            e.push("kind", "invalide", "Dispositif inconnu.");
        }
        let start = required_date(&mut e, "date_debut", &input.date_debut);
        let end = match input.date_fin.trim() {
            "" => start.map(|s| cej::last_day(s, 12)),
            raw => match parse_date(raw) {
                Ok(d) => Some(d),
                Err((c, m)) => {
                    e.push("date_fin", c, m);
                    None
                }
            },
        };
        let motif = clean_note(&mut e, &input.motif);
        let student = parse_bool(&mut e, "etudiant", "Étudiant", &input.etudiant).unwrap_or(false);
        let tax = match (kind, input.situation_fiscale.trim()) {
            (Some(ProgrammeKind::Cej), "") => {
                e.push(
                    "situation_fiscale",
                    "obligatoire",
                    "Situation fiscale du foyer : obligatoire pour l'allocation CEJ.",
                );
                None
            }
            (_, "") => None,
            (_, raw) => match TaxSituation::parse(raw) {
                Some(t) => Some(t),
                None => {
                    e.push(
                        "situation_fiscale",
                        "invalide",
                        "Situation fiscale : valeur inconnue.",
                    );
                    None
                }
            },
        };
        if let (Some(k), Some(s), Some(en)) = (kind, start, end) {
            let r = match k {
                ProgrammeKind::Cej => cej::check_end(s, en, motif.as_deref()),
                ProgrammeKind::Pacea => pacea::check_end(s, en),
                _ if en < s => Err(parcours_domain::rules::end_before_start()),
                _ => Ok(()),
            };
            if let Err(v) = r {
                e.push("date_fin", v.code, v.message);
            }
        }
        let (Some(kind), Some(start), Some(end), true) = (kind, start, end, e.is_empty()) else {
            return Err(e.into());
        };
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "dispositif.entree")
            .await?;
        let existing = pq::for_jeune(&mut tx, jeune_id).await?;
        if existing.iter().any(|p| {
            p.kind == kind.code()
                && p.status == ProgrammeStatus::EnCours.code()
                && p.start_date.as_str() <= ymd(end).as_str()
                && p.end_date.as_str() >= ymd(start).as_str()
        }) {
            return Err(AppError::Conflict(format!(
                "Un {} est déjà en cours sur cette période.",
                kind.label()
            )));
        }
        if kind == ProgrammeKind::Cej {
            let birth = self.birth_date(&mut tx, jeune_id).await?;
            let rqth = self
                .current_situation(&mut tx, jeune_id)
                .await?
                .rqth
                .unwrap_or(false);
            if let Err(why) = cej::eligibility(birth, rqth, student, start) {
                let mut e = ValidationErrors::default();
                for w in why {
                    e.push("date_debut", "non_eligible", w);
                }
                return Err(e.into());
            }
        }
        let dek = self.dossier_key(&mut tx, jeune_id).await?;
        let id = new_id();
        let payload = match &motif {
            Some(_) => Some(seal(
                &dek,
                "programmes",
                "payload",
                &id,
                &ProgrammeText {
                    motif: motif.clone(),
                    phases: vec![],
                },
            )?),
            None => None,
        };
        pq::insert(
            &mut tx,
            &ProgrammeRow {
                id: id.clone(),
                jeune_id: jeune_id.to_string(),
                structure_id: structure,
                kind: kind.code().into(),
                status: ProgrammeStatus::EnCours.code().into(),
                referent: ctx.actor.audit_name(),
                start_date: ymd(start),
                end_date: ymd(end),
                ended_on: None,
                tax_situation: tax.map(|t| t.code().to_string()),
                created_at: ctx.now.timestamp(),
                version: 1,
                payload,
            },
        )
        .await?;
        if let crate::Actor::Account(p) = &ctx.actor {
            if q::referent_of(&mut tx, jeune_id).await?.is_none() {
                q::set_referent(&mut tx, jeune_id, Some(p.account_id)).await?;
            }
        }
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "dispositif.entree",
                subject: Some(jeune_id),
                fields: kind.code(),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The birth date of a dossier (one field decrypted; for rules).
    pub(crate) async fn birth_date(&self, conn: &mut Conn, jeune_id: &str) -> Result<NaiveDate> {
        let row = q::get(conn, jeune_id).await?.ok_or(AppError::NotFound)?;
        Ok(self.decrypt_row(&row)?.identity.date_naissance)
    }

    async fn programme_for_change(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        id: &str,
        action: &str,
    ) -> Result<(i64, ProgrammeRow)> {
        let row = if uuid::Uuid::parse_str(id).is_ok() {
            pq::get(conn, id).await?
        } else {
            None
        };
        let structure = self
            .authorise_record(conn, ctx, action, row.as_ref().map(|r| r.jeune_id.as_str()))
            .await?;
        row.map(|r| (structure, r)).ok_or(AppError::NotFound)
    }

    /// Changes the planned end (CEJ: beyond 12 months with a motivated decision, at most 18).
    pub async fn extend_programme(
        &self,
        ctx: &Ctx,
        id: &str,
        version: i64,
        new_end: &str,
        motif: &str,
    ) -> Result<i64> {
        let mut e = ValidationErrors::default();
        let end = required_date(&mut e, "date_fin", new_end);
        let motif = clean_note(&mut e, motif);
        let Some(end) = end.filter(|_| e.is_empty()) else {
            return Err(e.into());
        };
        let mut tx = self.store.begin().await?;
        let (structure, mut row) = self
            .programme_for_change(&mut tx, ctx, id, "dispositif.prolongation")
            .await?;
        if row.version != version {
            return Err(AppError::Stale);
        }
        let start = date_of(&row.start_date)?;
        let check = match ProgrammeKind::parse(&row.kind) {
            Some(ProgrammeKind::Cej) => cej::check_end(start, end, motif.as_deref()),
            Some(ProgrammeKind::Pacea) => pacea::check_end(start, end),
            _ => Ok(()),
        };
        if let Err(v) = check {
            let mut e = ValidationErrors::default();
            e.push("date_fin", v.code, v.message);
            return Err(e.into());
        }
        let dek = self.dossier_key(&mut tx, &row.jeune_id).await?;
        row.end_date = ymd(end);
        row.version += 1;
        if motif.is_some() {
            let text = ProgrammeText {
                motif,
                ..programme_text(&dek, &row)?
            };
            row.payload = Some(seal(&dek, "programmes", "payload", &row.id, &text)?);
        }
        pq::update(&mut tx, &row, ctx.now.timestamp()).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "dispositif.prolongation",
                subject: Some(&row.jeune_id),
                fields: "date_fin,motif",
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(row.version)
    }

    /// Records planned and done hours of a CEJ week (the Monday of the week; hours typed as
    /// `15`, `15h30` or minutes).
    pub async fn record_week(
        &self,
        ctx: &Ctx,
        programme_id: &str,
        week: &str,
        planned: &str,
        done: &str,
    ) -> Result<cej::WeekGap> {
        let mut e = ValidationErrors::default();
        let monday = match parse_date(week.trim()) {
            Ok(d) if d.weekday() == Weekday::Mon => Some(d),
            Ok(_) => {
                e.push(
                    "semaine",
                    "pas_un_lundi",
                    "La semaine se désigne par son lundi.",
                );
                None
            }
            Err((c, m)) => {
                e.push("semaine", c, m);
                None
            }
        };
        let hours = |e: &mut ValidationErrors, f: &str, raw: &str| -> Option<i64> {
            let raw = raw.trim();
            if raw.is_empty() {
                return Some(0);
            }
            // A bare number here means hours (advisors type "15"), not minutes.
            let v = if raw.chars().all(|c| c.is_ascii_digit()) {
                raw.parse::<i64>().ok().filter(|h| *h <= 80).map(|h| h * 60)
            } else {
                parse_duration(raw).filter(|m| *m <= 80 * 60)
            };
            if v.is_none() {
                e.push(
                    f,
                    "invalide",
                    "Heures : un nombre d'heures (15, 15h30), au plus 80.",
                );
            }
            v
        };
        let p = hours(&mut e, "prevues", planned);
        let d = hours(&mut e, "realisees", done);
        let (Some(monday), Some(p), Some(d), true) = (monday, p, d, e.is_empty()) else {
            return Err(e.into());
        };
        let mut tx = self.store.begin().await?;
        let (structure, row) = self
            .programme_for_change(&mut tx, ctx, programme_id, "cej.heures")
            .await?;
        if row.kind != ProgrammeKind::Cej.code() {
            return Err(AppError::Refused(
                Rule::WrongProgramme,
                "Les heures hebdomadaires concernent le CEJ.".into(),
            ));
        }
        let sunday = monday + chrono::Days::new(6);
        if ymd(sunday) < row.start_date || ymd(monday) > row.end_date {
            let mut e = ValidationErrors::default();
            e.push(
                "semaine",
                "hors_contrat",
                "Cette semaine est en dehors du contrat.",
            );
            return Err(e.into());
        }
        pq::upsert_week(
            &mut tx,
            &WeekRow {
                programme_id: row.id.clone(),
                week: ymd(monday),
                jeune_id: row.jeune_id.clone(),
                structure_id: structure,
                planned_minutes: p,
                done_minutes: d,
                updated_at: ctx.now.timestamp(),
            },
        )
        .await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "cej.heures",
                subject: Some(&row.jeune_id),
                fields: "heures_prevues,heures_realisees",
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(cej::week_gap(p, d))
    }
}

impl App {
    /// Adds a phase to a PACEA: inside the programme, overlapping no other phase, with its
    /// objectives (encrypted with the programme's free text).
    pub async fn add_pacea_phase(
        &self,
        ctx: &Ctx,
        programme_id: &str,
        version: i64,
        start: &str,
        end: &str,
        objectives: &str,
    ) -> Result<i64> {
        let mut e = ValidationErrors::default();
        let s = required_date(&mut e, "date_debut", start);
        let en = required_date(&mut e, "date_fin", end);
        let objectives = clean_note(&mut e, objectives);
        if objectives.is_none() && e.for_field("note").is_none() {
            e.push(
                "objectifs",
                "obligatoire",
                "Objectifs de la phase : obligatoires.",
            );
        }
        let (Some(s), Some(en), Some(objectives), true) = (s, en, objectives, e.is_empty()) else {
            return Err(e.into());
        };
        let mut tx = self.store.begin().await?;
        let (structure, mut row) = self
            .programme_for_change(&mut tx, ctx, programme_id, "pacea.phase")
            .await?;
        if row.kind != ProgrammeKind::Pacea.code() {
            return Err(AppError::Refused(
                Rule::WrongProgramme,
                "Les phases concernent le PACEA.".into(),
            ));
        }
        if row.version != version {
            return Err(AppError::Stale);
        }
        let dek = self.dossier_key(&mut tx, &row.jeune_id).await?;
        let mut text = programme_text(&dek, &row)?;
        let existing = text
            .phases
            .iter()
            .map(|p| Ok((date_of(&p.debut)?, date_of(&p.fin)?)))
            .collect::<Result<Vec<_>>>()?;
        let end_of_programme = date_of(row.ended_on.as_deref().unwrap_or(&row.end_date))?;
        if let Err(v) = pacea::check_phase(
            (date_of(&row.start_date)?, end_of_programme),
            &existing,
            s,
            en,
        ) {
            let mut e = ValidationErrors::default();
            e.push("date_debut", v.code, v.message);
            return Err(e.into());
        }
        text.phases.push(PaceaPhase {
            debut: ymd(s),
            fin: ymd(en),
            objectifs: objectives,
            evaluation: None,
        });
        text.phases.sort_by(|a, b| a.debut.cmp(&b.debut));
        row.payload = Some(seal(&dek, "programmes", "payload", &row.id, &text)?);
        row.version += 1;
        pq::update(&mut tx, &row, ctx.now.timestamp()).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "pacea.phase",
                subject: Some(&row.jeune_id),
                fields: "dates,objectifs",
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(row.version)
    }

    /// Records the end evaluation of a PACEA phase (`index` in date order, from 0).
    pub async fn evaluate_pacea_phase(
        &self,
        ctx: &Ctx,
        programme_id: &str,
        version: i64,
        index: usize,
        evaluation: &str,
    ) -> Result<i64> {
        let mut e = ValidationErrors::default();
        let Some(evaluation) = clean_note(&mut e, evaluation) else {
            if e.is_empty() {
                e.push("evaluation", "obligatoire", "Évaluation : obligatoire.");
            }
            return Err(e.into());
        };
        let mut tx = self.store.begin().await?;
        let (structure, mut row) = self
            .programme_for_change(&mut tx, ctx, programme_id, "pacea.evaluation")
            .await?;
        if row.version != version {
            return Err(AppError::Stale);
        }
        let dek = self.dossier_key(&mut tx, &row.jeune_id).await?;
        let mut text = programme_text(&dek, &row)?;
        let phase = text.phases.get_mut(index).ok_or(AppError::NotFound)?;
        phase.evaluation = Some(evaluation);
        row.payload = Some(seal(&dek, "programmes", "payload", &row.id, &text)?);
        row.version += 1;
        pq::update(&mut tx, &row, ctx.now.timestamp()).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "pacea.evaluation",
                subject: Some(&row.jeune_id),
                fields: "evaluation",
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(row.version)
    }
}
