//! The NIR on a dossier (sensitive tier, `parcours_app::nir`): entered with a reason and a
//! fresh second factor, shown masked, revealed on one page with a reason and a fresh second
//! factor. Never in a URL, never echoed back into a form.

use askama::Template;
use axum::extract::{Path, State};
use axum::Form;

use super::form::{code_error, field, posted_ctx, with_code, ActPage, Posted};
use super::{safe_id, see_other, PageResult};
use crate::error::{render, WebError};
use crate::request::Req;
use crate::AppState;

fn nir_page(req: &Req, id: &str) -> ActPage {
    let mut page = ActPage::new(
        req,
        "Numéro de sécurité sociale (NIR)",
        format!("/jeunes/{}", safe_id(id)),
        format!("/jeunes/{}/nir", safe_id(id)),
        vec![
            field("nir", "NIR", "text")
                .required()
                .autofocus()
                .hint("15 caractères, clé comprise (2A ou 2B pour la Corse) ; chiffré à part, affiché masqué"),
            field("motif", "Motif", "text")
                .required()
                .hint("Échange avec France Travail, ouverture de droits…"),
            field("code", "Code de votre application d'authentification", "text").hint(
                "Opération sensible : votre code, sauf si vous l'avez saisi il y a moins de 5 minutes",
            ),
        ],
    );
    page.submit = "Enregistrer le NIR";
    page
}

pub async fn form(req: Req, Path(id): Path<String>) -> PageResult {
    req.authenticated()?;
    Ok(nir_page(&req, &id).respond())
}

pub async fn submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    let mut p2 = p.clone();
    p2.remove("nir");
    p2.remove("code");
    let ctx = match with_code(&s.app, &req, ctx, &g("code")).await {
        Ok(c) => c,
        Err(e) => return nir_page(&req, &id).failed(&req, &p2, code_error(e)),
    };
    match s.app.set_nir(&ctx, &id, &g("nir"), &g("motif")).await {
        Ok(()) => Ok(see_other(&format!("/jeunes/{}?enregistre=1", safe_id(&id)))),
        Err(e) => nir_page(&req, &id).failed(&req, &p2, code_error(e)),
    }
}

fn reveal_page(req: &Req, id: &str) -> ActPage {
    let mut page = ActPage::new(
        req,
        "Révéler le NIR",
        format!("/jeunes/{}", safe_id(id)),
        format!("/jeunes/{}/nir/revelation", safe_id(id)),
        vec![
            field("motif", "Motif", "text")
                .required()
                .autofocus()
                .hint("Pourquoi vous en avez besoin maintenant : le motif est journalisé"),
            field(
                "code",
                "Code de votre application d'authentification",
                "text",
            )
            .hint("Sauf si vous l'avez saisi il y a moins de 5 minutes"),
        ],
    );
    page.submit = "Révéler";
    page
}

#[derive(Template)]
#[template(path = "nir.html")]
struct Revealed {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    id: String,
    nir: String,
}

pub async fn reveal_form(req: Req, Path(id): Path<String>) -> PageResult {
    req.authenticated()?;
    Ok(reveal_page(&req, &id).respond())
}

pub async fn reveal_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    let mut p2 = p.clone();
    p2.remove("code");
    let ctx = match with_code(&s.app, &req, ctx, &g("code")).await {
        Ok(c) => c,
        Err(e) => return reveal_page(&req, &id).failed(&req, &p2, code_error(e)),
    };
    match s.app.reveal_nir(&ctx, &id, &g("motif")).await {
        Ok(nir) => Ok(render(&Revealed {
            login: req.login(),
            csrf: req.csrf(),
            id: safe_id(&id),
            nir: format!(
                "{} {} {} {} {} {} {}",
                &nir[0..1],
                &nir[1..3],
                &nir[3..5],
                &nir[5..7],
                &nir[7..10],
                &nir[10..13],
                &nir[13..15]
            ),
        })),
        Err(e @ parcours_app::AppError::NotFound) => Err(WebError::new(e, &req)),
        Err(e) => reveal_page(&req, &id).failed(&req, &p2, code_error(e)),
    }
}
