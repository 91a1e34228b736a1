//! Timeline entries: interviews, contacts, workshops attended, proposals, and their status.

use super::{back, saved, version_of};
use crate::error::WebError;
use crate::request::Req;
use crate::work::form::{field, input, opts, posted_ctx, ActPage, Field, Posted};
use crate::work::{safe_id, PageResult};
use crate::AppState;
use axum::extract::Path;
use axum::extract::Query;
use axum::extract::State;
use axum::Form;
use parcours_domain::timeline as t;
use parcours_domain::timeline::kind_label;
use parcours_domain::timeline::EntryInput;
use parcours_domain::vocab::{
    AppointmentStatus, EventKind, ExitReason, Modalite, Phase, ProposalKind, ProposalStatus,
    SituationCategory, SituationStatus, Theme,
};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct KindQuery {
    #[serde(default)]
    kind: String,
}

async fn entry_fields(s: &AppState, req: &Req, kind: &str) -> Result<Vec<Field>, WebError> {
    let today = req.now.date_naive().format("%Y-%m-%d").to_string();
    let mut f = vec![field("date", "Date", "date").required().value(today)];
    let companies = || async {
        let ctx = req.authenticated()?;
        Ok::<_, WebError>(
            s.app
                .list_companies(&ctx)
                .await
                .map_err(|e| WebError::new(e, req))?
                .into_iter()
                .map(|c| (c.id, format!("{} ({})", c.name, c.siret)))
                .collect::<Vec<_>>(),
        )
    };
    let theme =
        || field("theme", "Thème", "text").options(opts(Theme::ALL, Theme::code, Theme::label));
    match kind {
        t::KIND_RDV => {
            f.push(field("heure", "Heure", "time").autofocus());
            f.push(
                field("modalite", "Modalité", "text")
                    .options(opts(Modalite::ALL, Modalite::code, Modalite::label))
                    .value("sur_place"),
            );
            f.push(
                field("statut", "Statut", "text")
                    .options(opts(
                        AppointmentStatus::ALL,
                        AppointmentStatus::code,
                        AppointmentStatus::label,
                    ))
                    .value("planifie")
                    .required(),
            );
        }
        t::KIND_PHASE => f.push(
            field("categorie", "Phase", "text")
                .options(opts(Phase::ALL, Phase::code, Phase::label))
                .required()
                .autofocus(),
        ),
        t::KIND_SITUATION => {
            f.push(
                field("categorie", "Catégorie", "text")
                    .options(opts(
                        SituationCategory::ALL,
                        SituationCategory::code,
                        SituationCategory::label,
                    ))
                    .required()
                    .autofocus(),
            );
            f.push(
                field("statut", "Statut", "text")
                    .options(opts(
                        SituationStatus::ALL,
                        SituationStatus::code,
                        SituationStatus::label,
                    ))
                    .value("en_cours")
                    .required(),
            );
            f.push(field("date_fin", "Date de fin", "date"));
            f.push(
                field("rome", "Code ROME", "text").hint("Une lettre et quatre chiffres, ex. M1607"),
            );
            f.push(field("entreprise", "Entreprise", "text").options(companies().await?));
        }
        t::KIND_PROPOSITION => {
            f.push(
                field("categorie", "Type de proposition", "text")
                    .options(opts(
                        ProposalKind::ALL,
                        ProposalKind::code,
                        ProposalKind::label,
                    ))
                    .required()
                    .autofocus(),
            );
            f.push(
                field("statut", "Statut", "text")
                    .options(opts(
                        ProposalStatus::ALL,
                        ProposalStatus::code,
                        ProposalStatus::label,
                    ))
                    .value("proposee")
                    .required(),
            );
            f.push(field("rome", "Code ROME", "text"));
            f.push(field("entreprise", "Entreprise", "text").options(companies().await?));
        }
        t::KIND_SORTIE => f.push(
            field("categorie", "Motif de sortie", "text")
                .options(opts(ExitReason::ALL, ExitReason::code, ExitReason::label))
                .required()
                .autofocus(),
        ),
        t::KIND_NOTE => {}
        k if EventKind::parse(k) == Some(EventKind::EntretienIndividuel) => {
            f.push(
                field("modalite", "Modalité", "text")
                    .options(opts(Modalite::ALL, Modalite::code, Modalite::label))
                    .value("sur_place")
                    .required(),
            );
            f.push(theme());
            f.push(field("duree", "Durée", "text").hint("En minutes (45) ou en heures (1h30)"));
        }
        _ => {
            f.push(theme());
            f.push(field("duree", "Durée", "text").hint("En minutes (45) ou en heures (1h30)"));
        }
    }
    let mut note = field("note", "Note", "textarea")
        .hint("4 000 caractères au plus ; chiffrée, lue seulement dans la Mission Locale");
    if kind == t::KIND_NOTE {
        note = note.required().autofocus();
    }
    f.push(note);
    if !f.iter().any(|x| x.autofocus) {
        if let Some(x) = f.get_mut(1) {
            x.autofocus = true;
        }
    }
    Ok(f)
}

async fn entry_page(s: &AppState, req: &Req, id: &str, kind: &str) -> Result<ActPage, WebError> {
    let fields = entry_fields(s, req, kind).await?;
    let mut page = ActPage::new(
        req,
        kind_label(kind),
        back(id),
        format!("/jeunes/{}/entree", safe_id(id)),
        fields,
    );
    page.hidden.push(("kind".into(), kind.to_string()));
    Ok(page)
}

pub async fn entry_form(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Query(q): Query<KindQuery>,
) -> PageResult {
    req.authenticated()?;
    let kind = if q.kind.is_empty() {
        "entretien_individuel"
    } else {
        q.kind.as_str()
    };
    Ok(entry_page(&s, &req, &id, kind).await?.respond())
}

pub async fn entry_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let e: EntryInput = input(&p, &req)?;
    match s.app.add_entry(&ctx, &id, &e).await {
        Ok(_) => Ok(saved(&id)),
        Err(err) => entry_page(&s, &req, &id, &e.kind)
            .await?
            .failed(&req, &p, err),
    }
}

pub async fn entry_status(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let statut = p.get("statut").cloned().unwrap_or_default();
    s.app
        .set_entry_status(&ctx, &id, version_of(&p), &statut)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(saved(p.get("jeune").map(String::as_str).unwrap_or("")))
}
