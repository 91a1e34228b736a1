//! After a breach (issue 18): the DPO asks for an incident report (`/incidents`), an admin or
//! another DPO approves it (Demandes), and the DPO opens it and downloads its documents — the
//! CNIL notification draft, the letters, the mailing list, the dossiers touched. Every
//! production is audited (`incident.rapport`). The API does the same for scripts.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use parcours_app::incident::{documents, IncidentReport, ScopeInput};
use parcours_app::AppError;
use serde::Deserialize;
use serde_json::json;

use crate::api::ApiJson;
use crate::error::{message, render, WebError};
use crate::request::Req;
use crate::routes::Routes;
use crate::work::form::{posted_ctx, Posted};
use crate::AppState;

type Res = Result<Response, WebError>;

pub fn pages() -> Routes {
    Routes::new()
        .route("/incidents", get(page).post(request_submit))
        .route("/incidents/{id}", get(report_page))
        .route("/incidents/{id}/{document}", get(document))
        .route("/acces", post(access_submit))
        .route("/acces/{id}", get(access_document))
}

pub fn api() -> Routes {
    Routes::new()
        .route("/incidents", post(request_api))
        .route("/incidents/{id}", get(report_api))
        .route("/acces", post(access_request_api))
        .route("/acces/{id}", get(access_api))
        .route("/effacements", post(erasure_api))
}

#[utoipa::path(
    post,
    path = "/api/v1/effacements",
    summary = "Demande l'effacement d'une personne (article 17 ; DPO, approuvé par une seconde personne : la clé du dossier est détruite)",
    request_body = AccessBody,
    responses((status = 202, description = "Demande enregistrée"), (status = 400, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn erasure_api(State(s): State<AppState>, req: Req, ApiJson(b): ApiJson<AccessBody>) -> Res {
    let ctx = req.authenticated()?;
    let r = s
        .app
        .request_erasure(&ctx, &b.dossier, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "demande": r }))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AccessBody {
    #[serde(default)]
    dossier: String,
    #[serde(default)]
    motif: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/acces",
    summary = "Demande d'accès d'une personne à ses données (article 15 ; DPO, approuvée par une seconde personne)",
    request_body = AccessBody,
    responses((status = 202, description = "Demande enregistrée"), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn access_request_api(
    State(s): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<AccessBody>,
) -> Res {
    let ctx = req.authenticated()?;
    let r = s
        .app
        .request_access_export(&ctx, &b.dossier, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "demande": r }))).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/acces/{id}",
    summary = "Toutes les données du dossier et l'historique de ses consultations (sans noms)",
    params(("id" = String, Path)),
    responses((status = 200, description = "Export"), (status = 400, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 404, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn access_api(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> Res {
    let ctx = req.authenticated()?;
    let r = s
        .app
        .access_export(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(r).into_response())
}

async fn access_submit(State(s): State<AppState>, req: Req, Form(p): Form<Posted>) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    match s.app.request_access_export(&ctx, &g("dossier"), &g("motif")).await {
        Ok(_) => view(&s, &req, Some("Demande d'accès enregistrée : une seconde personne doit l'approuver (page Demandes).".into()), None).await,
        Err(e @ (AppError::Validation(_) | AppError::Refused(..) | AppError::Conflict(_) | AppError::NotFound)) => {
            view(&s, &req, None, Some(message(&e))).await
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

async fn access_document(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> Res {
    let ctx = req.authenticated()?;
    let e = s
        .app
        .access_export(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let body = e.document().map_err(|e| WebError::new(e, &req))?;
    Ok(standalone(
        "text/html; charset=utf-8",
        "vos-donnees.html",
        body,
    ))
}

/// A standalone document (the same bytes a file would hold, printable offline): its style is
/// inline; no script, image, form or frame may run in it.
fn standalone(kind: &str, name: &str, body: String) -> Response {
    let csp = "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
    let disposition = if kind.starts_with("text/csv") {
        format!("attachment; filename=\"{name}\"")
    } else {
        format!("inline; filename=\"{name}\"")
    };
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::CONTENT_SECURITY_POLICY, csp.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RequestBody {
    #[serde(flatten)]
    scope: ScopeInput,
    #[serde(default)]
    motif: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents",
    summary = "Demande un rapport d'incident (DPO ; approuvé par un administrateur ou un autre DPO)",
    request_body = RequestBody,
    responses((status = 202, description = "Demande enregistrée"), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn request_api(State(s): State<AppState>, req: Req, ApiJson(b): ApiJson<RequestBody>) -> Res {
    let ctx = req.authenticated()?;
    let r = s
        .app
        .request_incident_report(&ctx, &b.scope, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "demande": r }))).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}",
    summary = "Le rapport d'une demande approuvée : personnes, catégories, lettres (le DPO qui l'a demandé, 24 h)",
    params(("id" = String, Path)),
    responses((status = 200, description = "Rapport"), (status = 400, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 404, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn report_api(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> Res {
    let ctx = req.authenticated()?;
    let r = s
        .app
        .incident_report(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(r).into_response())
}

struct Line {
    href: String,
    kind: &'static str,
    scope: String,
    reason: String,
    status: &'static str,
    ready: bool,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    lines: Vec<Line>,
    message: Option<String>,
    error: Option<String>,
}

async fn view(s: &AppState, req: &Req, message: Option<String>, error: Option<String>) -> Res {
    let ctx = req.authenticated()?;
    let lines = s
        .app
        .list_requests(&ctx)
        .await
        .map_err(|e| WebError::new(e, req))?
        .into_iter()
        .filter(|r| {
            r.kind == parcours_app::approvals::INCIDENT_REPORT
                || r.kind == parcours_app::approvals::ACCESS_EXPORT
        })
        .map(|r| Line {
            ready: r.status == "approuvee"
                && Some(r.requested_by.as_str()) == req.login_name().as_deref(),
            href: if r.kind == parcours_app::approvals::ACCESS_EXPORT {
                format!("/acces/{}", r.id)
            } else {
                format!("/incidents/{}", r.id)
            },
            kind: r.label,
            scope: r.target,
            reason: r.reason,
            status: r.status_label,
        })
        .collect();
    Ok(render(&IncidentsPage {
        login: req.login(),
        csrf: req.csrf(),
        lines,
        message,
        error,
    }))
}

async fn page(State(s): State<AppState>, req: Req) -> Res {
    view(&s, &req, None, None).await
}

async fn request_submit(State(s): State<AppState>, req: Req, Form(p): Form<Posted>) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    let scope = ScopeInput {
        portee: g("portee"),
        comptes: g("comptes"),
        structures: g("structures"),
        du: g("du"),
        au: g("au"),
        date: g("date"),
        cle_compromise: g("cle_compromise"),
        entrepot: g("entrepot"),
        version: g("version"),
    };
    match s.app.request_incident_report(&ctx, &scope, &g("motif")).await {
        Ok(_) => view(&s, &req, Some("Demande enregistrée : un administrateur ou un autre délégué à la protection des données doit l'approuver (page Demandes).".into()), None).await,
        Err(e @ (AppError::Validation(_) | AppError::Refused(..) | AppError::Conflict(_))) => {
            view(&s, &req, None, Some(message(&e))).await
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

#[derive(Template)]
#[template(path = "incident.html")]
struct ReportPage<'a> {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    r: &'a IncidentReport,
    minors: usize,
}

async fn report_page(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> Res {
    let ctx = req.authenticated()?;
    let r = s
        .app
        .incident_report(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(render(&ReportPage {
        login: req.login(),
        csrf: req.csrf(),
        minors: r
            .letters
            .iter()
            .filter(|l| l.quality == "jeune" && l.minor)
            .count(),
        r: &r,
    }))
}

async fn document(
    State(s): State<AppState>,
    req: Req,
    Path((id, doc)): Path<(String, String)>,
) -> Res {
    let ctx = req.authenticated()?;
    let kind = match doc.as_str() {
        "notification-cnil.html" | "lettres.html" => "text/html; charset=utf-8",
        "publipostage.csv" | "personnes.csv" => "text/csv; charset=utf-8",
        _ => return Err(WebError::new(AppError::NotFound, &req)),
    };
    let r = s
        .app
        .incident_report(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let d = documents::render(&r).map_err(|e| WebError::new(e, &req))?;
    let body = match doc.as_str() {
        "notification-cnil.html" => d.cnil_html,
        "lettres.html" => d.letters_html,
        "publipostage.csv" => d.mailing_csv,
        _ => d.persons_csv,
    };
    Ok(standalone(kind, &doc, body))
}
