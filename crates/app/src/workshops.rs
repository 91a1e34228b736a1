//! Collective sessions (ateliers, informations collectives): seats, registrations and their
//! statuses (inscrit, présent, absent, refus jeune, refus tiers).

use parcours_domain::jeune::parse_date;
use parcours_domain::validation::clean_text;
use parcours_domain::vocab::{RegistrationStatus, Theme};
use parcours_domain::ValidationErrors;
use parcours_store::workshops::{self as w, RegistrationRow, WorkshopRow};
use serde::{Deserialize, Serialize};

use crate::audit::{Event, OK};
use crate::records::{new_id, ymd};
use crate::{App, AppError, Ctx, Result};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WorkshopInput {
    pub intitule: String,
    pub theme: String,
    pub date: String,
    pub heure: String,
    pub places: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkshopView {
    pub id: String,
    pub title: String,
    pub theme: String,
    pub theme_label: &'static str,
    pub on_date: String,
    pub at_time: Option<String>,
    pub seats: i64,
    pub taken: i64,
}

/// One person registered to a session, as its attendance list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Attendee {
    pub jeune_id: String,
    /// « Prénom NOM » in the actor's caseload; otherwise « Dossier 1a2b3c4d » (open the
    /// dossier: a counted read).
    pub name: String,
    pub masked: bool,
    pub status: String,
    pub status_label: &'static str,
}

impl App {
    /// A session of the actor's structure and its attendance list (each line audited; names
    /// outside the actor's caseload masked, as on every bulk page).
    pub async fn workshop_attendance(
        &self,
        ctx: &Ctx,
        workshop_id: &str,
    ) -> Result<(WorkshopView, Vec<Attendee>)> {
        let structure = self.identity_scope(ctx, "atelier.presences").await?;
        let mut tx = self.store.begin().await?;
        let ws = if uuid::Uuid::parse_str(workshop_id).is_ok() {
            w::get(&mut tx, workshop_id).await?
        } else {
            None
        };
        let ws = ws
            .filter(|r| r.structure_id == structure)
            .ok_or(AppError::NotFound)?;
        let regs = w::registrations(&mut tx, &ws.id).await?;
        let ids: Vec<&str> = regs.iter().map(|r| r.jeune_id.as_str()).collect();
        let mine = self.in_caseload(&mut tx, ctx, &ids).await?;
        let mut people = Vec::new();
        for r in &regs {
            let masked = !mine.contains(&r.jeune_id);
            let name = if masked {
                crate::allowances::masked_name(&r.jeune_id)
            } else {
                match parcours_store::jeunes::get(&mut tx, &r.jeune_id).await? {
                    Some(row) => {
                        let i = self.decrypt_row(&row)?.identity;
                        format!("{} {}", i.prenom, i.nom.to_uppercase())
                    }
                    None => crate::allowances::masked_name(&r.jeune_id),
                }
            };
            people.push(Attendee {
                jeune_id: r.jeune_id.clone(),
                name,
                masked,
                status_label: RegistrationStatus::parse(&r.status)
                    .map(RegistrationStatus::label)
                    .unwrap_or("?"),
                status: r.status.clone(),
            });
        }
        people.sort_by(|a, b| (a.masked, &a.name).cmp(&(b.masked, &b.name)));
        let events: Vec<Event> = people
            .iter()
            .map(|a| Event {
                action: "atelier.presences",
                subject: Some(&a.jeune_id),
                fields: if a.masked {
                    "statut"
                } else {
                    "nom,prenom,statut"
                },
                outcome: OK,
                structure_id: Some(structure),
            })
            .collect();
        self.audit_many(&mut tx, ctx, &events).await?;
        let taken = w::seats_taken(&mut tx, &ws.id).await?;
        tx.commit().await?;
        let view = WorkshopView {
            theme_label: Theme::parse(&ws.theme).map(|t| t.label()).unwrap_or("?"),
            id: ws.id,
            title: ws.title,
            theme: ws.theme,
            on_date: ws.on_date,
            at_time: ws.at_time,
            seats: ws.seats,
            taken,
        };
        Ok((view, people))
    }

    pub async fn create_workshop(&self, ctx: &Ctx, input: &WorkshopInput) -> Result<String> {
        let mut e = ValidationErrors::default();
        let title = clean_text(&mut e, "intitule", "Intitulé", &input.intitule, 200);
        if title.is_none() && e.for_field("intitule").is_none() {
            e.push("intitule", "obligatoire", "Intitulé : obligatoire.");
        }
        let theme = Theme::parse(input.theme.trim());
        if theme.is_none() {
            e.push("theme", "invalide", "Thème : choisissez dans la liste.");
        }
        let date = parse_date(input.date.trim())
            .map_err(|(c, m)| e.push("date", c, m))
            .ok();
        let at_time = match input.heure.trim() {
            "" => None,
            h => chrono::NaiveTime::parse_from_str(h, "%H:%M")
                .map(|t| t.format("%H:%M").to_string())
                .map_err(|_| e.push("heure", "invalide", "Heure : au format HH:MM."))
                .ok(),
        };
        let seats = match input.places.trim().parse::<i64>() {
            Ok(n) if (1..=500).contains(&n) => Some(n),
            _ => {
                e.push("places", "invalide", "Places : un nombre entre 1 et 500.");
                None
            }
        };
        let (Some(title), Some(theme), Some(date), Some(seats), true) =
            (title, theme, date, seats, e.is_empty())
        else {
            return Err(e.into());
        };
        let structure = self.identity_scope(ctx, "atelier.creation").await?;
        let mut tx = self.store.begin().await?;
        let id = new_id();
        w::insert(
            &mut tx,
            &WorkshopRow {
                id: id.clone(),
                structure_id: structure,
                title,
                theme: theme.code().into(),
                on_date: ymd(date),
                at_time,
                seats,
                created_at: ctx.now.timestamp(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Sessions of the actor's structure from today on, with seats taken.
    pub async fn upcoming_workshops(&self, ctx: &Ctx) -> Result<Vec<WorkshopView>> {
        let structure = self.identity_scope(ctx, "atelier.liste").await?;
        let mut conn = self.store.acquire().await?;
        let today = ymd(ctx.now.date_naive());
        let mut out = Vec::new();
        for r in w::upcoming(&mut conn, structure, &today).await? {
            let taken = w::seats_taken(&mut conn, &r.id).await?;
            out.push(WorkshopView {
                theme_label: Theme::parse(&r.theme).map(|t| t.label()).unwrap_or("?"),
                id: r.id,
                title: r.title,
                theme: r.theme,
                on_date: r.on_date,
                at_time: r.at_time,
                seats: r.seats,
                taken,
            });
        }
        Ok(out)
    }

    /// Registers a jeune to a session or changes the registration's status. A registration that
    /// holds a seat is refused when the session is full.
    pub async fn register_workshop(
        &self,
        ctx: &Ctx,
        workshop_id: &str,
        jeune_id: &str,
        status: &str,
    ) -> Result<()> {
        let st = RegistrationStatus::parse(if status.trim().is_empty() {
            "inscrit"
        } else {
            status.trim()
        })
        .ok_or_else(|| {
            let mut e = ValidationErrors::default();
            e.push("statut", "invalide", "Statut d'inscription inconnu.");
            AppError::Validation(e)
        })?;
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "atelier.inscription")
            .await?;
        let ws = if uuid::Uuid::parse_str(workshop_id).is_ok() {
            w::get(&mut tx, workshop_id).await?
        } else {
            None
        };
        let ws = ws
            .filter(|x| x.structure_id == structure)
            .ok_or(AppError::NotFound)?;
        let holds_seat = matches!(
            st,
            RegistrationStatus::Inscrit | RegistrationStatus::Present | RegistrationStatus::Absent
        );
        let already = w::registrations(&mut tx, &ws.id)
            .await?
            .into_iter()
            .any(|r| {
                r.jeune_id == jeune_id
                    && matches!(r.status.as_str(), "inscrit" | "present" | "absent")
            });
        if holds_seat && !already && w::seats_taken(&mut tx, &ws.id).await? >= ws.seats {
            return Err(AppError::Conflict(format!(
                "Atelier complet : {} place(s), toutes prises.",
                ws.seats
            )));
        }
        w::upsert_registration(
            &mut tx,
            &RegistrationRow {
                workshop_id: ws.id.clone(),
                jeune_id: jeune_id.into(),
                structure_id: structure,
                status: st.code().into(),
                updated_at: ctx.now.timestamp(),
            },
        )
        .await?;
        let fields = format!("atelier:{},statut:{}", ws.id, st.code());
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "atelier.inscription",
                subject: Some(jeune_id),
                fields: &fields,
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
