//! Immersions (PMSMP) and workshop registrations.

use super::{back, saved, version_of};
use crate::error::WebError;
use crate::request::Req;
use crate::work::form::{field, input, posted_ctx, ActPage, Posted};
use crate::work::{safe_id, PageResult};
use crate::AppState;
use axum::extract::Path;
use axum::extract::State;
use axum::Form;
use parcours_app::companies::ImmersionInput;

async fn immersion_page(s: &AppState, req: &Req, id: &str) -> Result<ActPage, WebError> {
    let ctx = req.authenticated()?;
    let companies: Vec<(String, String)> = s
        .app
        .list_companies(&ctx)
        .await
        .map_err(|e| WebError::new(e, req))?
        .into_iter()
        .map(|c| (c.id, format!("{} ({})", c.name, c.siret)))
        .collect();
    Ok(ActPage::new(
        req,
        "Immersion en entreprise (PMSMP)",
        back(id),
        format!("/jeunes/{}/immersion", safe_id(id)),
        vec![
            field("entreprise", "Entreprise", "text")
                .options(companies)
                .required()
                .autofocus()
                .hint("Absente de la liste ? Créez-la dans « Entreprises »"),
            field("date_debut", "Début", "date").required(),
            field("date_fin", "Fin", "date")
                .required()
                .hint("30 jours calendaires au plus par convention"),
            field("rome", "Code ROME du métier", "text"),
            field("tuteur", "Tuteur", "text"),
            field("tuteur_telephone", "Téléphone du tuteur", "tel"),
        ],
    ))
}

pub async fn immersion_form(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
) -> PageResult {
    Ok(immersion_page(&s, &req, &id).await?.respond())
}

pub async fn immersion_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let i: ImmersionInput = input(&p, &req)?;
    match s.app.create_immersion(&ctx, &id, &i).await {
        Ok(_) => Ok(saved(&id)),
        Err(e) => immersion_page(&s, &req, &id).await?.failed(&req, &p, e),
    }
}

pub async fn immersion_status(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let statut = p.get("statut").cloned().unwrap_or_default();
    s.app
        .set_immersion_status(&ctx, &id, version_of(&p), &statut)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(saved(p.get("jeune").map(String::as_str).unwrap_or("")))
}

pub async fn workshop_register(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    s.app
        .register_workshop(&ctx, &g("atelier"), &id, &g("statut"))
        .await
        .map_err(|e| WebError::new(e, &req))?;
    // Marked from the session's attendance list: back to it.
    if g("retour") == "atelier" {
        return Ok(super::super::see_other(&format!(
            "/ateliers/{}",
            crate::work::safe_id(&g("atelier"))
        )));
    }
    Ok(saved(&id))
}
