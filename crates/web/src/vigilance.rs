//! Pages and API of issue 15: "Mon quota" (today's counted reads and break-glass), "Alertes"
//! (the directeur's and the DPO's: alerts, break-glass uses to review, unfreeze, quotas), and
//! the référent assignment of a dossier. Every rule is in `parcours_app::vigilance`.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use parcours_app::vigilance::{AlertView, BreakGlassView, QuotaStatus, WEIGHT_OPENED};
use serde::Deserialize;
use serde_json::json;

use crate::api::ApiJson;
use crate::error::{render, WebError};
use crate::request::Req;
use crate::routes::Routes;
use crate::work::form::{posted_ctx, Posted};
use crate::AppState;

/// Pages.
pub fn pages() -> Routes {
    Routes::new()
        .route("/quota", get(quota_page))
        .route("/quota/bris-de-glace", post(break_glass_submit))
        .route("/alertes", get(alerts_page))
        .route("/alertes/degel", post(unfreeze_submit))
        .route("/alertes/quota", post(set_quota_submit))
        .route("/alertes/bris-de-glace/{id}/revu", post(review_submit))
        .route("/jeunes/{id}/referent", post(referent_submit))
}

/// JSON API (under `/api/v1`).
pub fn api() -> Routes {
    Routes::new()
        .route("/quota", get(quota_api))
        .route("/quota/bris-de-glace", post(break_glass_api))
        .route("/quota/reglage", post(set_quota_api))
        .route("/alertes", get(alerts_api))
        .route("/comptes/{login}/degel", post(unfreeze_api))
        .route("/bris-de-glace/{id}/revu", post(review_api))
        .route("/jeunes/{id}/referent", post(referent_api))
        .route(
            "/jeunes/{id}/referent/historique",
            get(referent_history_api),
        )
}

type Res = Result<Response, WebError>;

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

struct QuotaLine {
    used_dossiers: String,
    limit_dossiers: i64,
}

fn quota_line(q: &QuotaStatus) -> QuotaLine {
    // Points shown as dossiers: a candidate is a quarter of a dossier ("1,25").
    let (whole, quarters) = (q.used / WEIGHT_OPENED, q.used % WEIGHT_OPENED);
    let used_dossiers = match quarters * 100 / WEIGHT_OPENED {
        0 => whole.to_string(),
        f => format!("{whole},{}", format!("{f:02}").trim_end_matches('0')),
    };
    QuotaLine {
        used_dossiers,
        limit_dossiers: q.limit / WEIGHT_OPENED,
    }
}

#[derive(Template)]
#[template(path = "quota.html")]
struct QuotaPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    q: QuotaStatus,
    line: QuotaLine,
    message: Option<String>,
    error: Option<String>,
}

async fn quota_page(State(s): State<AppState>, req: Req) -> Res {
    let ctx = req.authenticated()?;
    let q = s
        .app
        .quota_status(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(render(&QuotaPage {
        login: req.login(),
        csrf: req.csrf(),
        line: quota_line(&q),
        q,
        message: None,
        error: None,
    }))
}

async fn break_glass_submit(State(s): State<AppState>, req: Req, Form(p): Form<Posted>) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let reason = p.get("motif").cloned().unwrap_or_default();
    let (message, error) = match s.app.break_glass(&ctx, &reason).await {
        Ok(_) => (
            Some("Bris de glace enregistré : vous disposez de consultations supplémentaires aujourd'hui. Votre directeur en est informé.".to_string()),
            None,
        ),
        Err(parcours_app::AppError::Validation(v)) => (None, Some(v.to_string())),
        Err(e @ parcours_app::AppError::Refused(..)) => (None, Some(crate::error::message(&e))),
        Err(e) => return Err(WebError::new(e, &req)),
    };
    let q = s
        .app
        .quota_status(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(render(&QuotaPage {
        login: req.login(),
        csrf: req.csrf(),
        line: quota_line(&q),
        q,
        message,
        error,
    }))
}

struct AlertLine {
    a: AlertView,
    when: String,
    evidence: String,
    severity: &'static str,
    mail: &'static str,
}

fn severity_label(s: &str) -> &'static str {
    match s {
        "critique" => "critique",
        "elevee" => "élevée",
        "information" => "information",
        _ => "?",
    }
}

/// The evidence of an alert as "clé : valeur ; …" (counts and dossier ids only).
fn evidence_text(v: &serde_json::Value) -> String {
    match v.as_object() {
        Some(o) => o
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Array(a) => format!("{} élément(s)", a.len()),
                    other => other.to_string(),
                };
                format!("{} : {v}", k.replace('_', " "))
            })
            .collect::<Vec<_>>()
            .join(" ; "),
        None => v.to_string(),
    }
}

struct BreakGlassLine {
    b: BreakGlassView,
    when: String,
}

#[derive(Template)]
#[template(path = "alertes.html")]
struct AlertsPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    alerts: Vec<AlertLine>,
    break_glass: Vec<BreakGlassLine>,
    message: Option<String>,
    error: Option<String>,
    directeur: bool,
}

/// A Unix time as a French date and time (UTC).
pub(crate) fn when(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%d/%m/%Y %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn mail_label(status: &str) -> &'static str {
    match status {
        "envoye" => "envoyé",
        "a_envoyer" => "en attente d'envoi",
        "echec" => "échec d'envoi",
        _ => "?",
    }
}

async fn alerts_view(
    s: &AppState,
    req: &Req,
    message: Option<String>,
    error: Option<String>,
) -> Res {
    let ctx = req.authenticated()?;
    let alerts = s
        .app
        .list_alerts(&ctx)
        .await
        .map_err(|e| WebError::new(e, req))?;
    let break_glass = s
        .app
        .list_break_glass(&ctx)
        .await
        .map_err(|e| WebError::new(e, req))?;
    let directeur = matches!(&ctx.actor, parcours_app::Actor::Account(p) if p.role == parcours_domain::Role::Directeur);
    Ok(render(&AlertsPage {
        login: req.login(),
        csrf: req.csrf(),
        alerts: alerts
            .into_iter()
            .map(|a| AlertLine {
                when: when(a.created_at),
                evidence: evidence_text(&a.evidence),
                severity: severity_label(&a.severity),
                mail: mail_label(&a.mail_status),
                a,
            })
            .collect(),
        break_glass: break_glass
            .into_iter()
            .map(|b| BreakGlassLine {
                when: when(b.created_at),
                b,
            })
            .collect(),
        message,
        error,
        directeur,
    }))
}

async fn alerts_page(State(s): State<AppState>, req: Req) -> Res {
    alerts_view(&s, &req, None, None).await
}

async fn unfreeze_submit(State(s): State<AppState>, req: Req, Form(p): Form<Posted>) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let login = p.get("compte").cloned().unwrap_or_default();
    let reason = p.get("motif").cloned().unwrap_or_default();
    match s.app.request_unfreeze(&ctx, &login, &reason).await {
        Ok(_) => {
            alerts_view(
                &s,
                &req,
                Some(format!(
                    "Demande de dégel du compte {login} enregistrée : une seconde personne l'approuve dans Administration → Demandes ; la personne se reconnecte ensuite avec son mot de passe et son code."
                )),
                None,
            )
            .await
        }
        Err(e @ (parcours_app::AppError::Validation(_)
        | parcours_app::AppError::Refused(..)
        | parcours_app::AppError::Conflict(_)
        | parcours_app::AppError::NotFound)) => {
            alerts_view(&s, &req, None, Some(crate::error::message(&e))).await
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

async fn set_quota_submit(State(s): State<AppState>, req: Req, Form(p): Form<Posted>) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let role = p.get("role").cloned().unwrap_or_default();
    let daily = p
        .get("quota")
        .and_then(|q| q.trim().parse::<i64>().ok())
        .unwrap_or(-1);
    match s.app.set_quota(&ctx, &role, daily).await {
        Ok(()) => {
            alerts_view(
                &s,
                &req,
                Some(format!("Quota des {role}s : {daily} dossiers par jour.")),
                None,
            )
            .await
        }
        Err(e @ (parcours_app::AppError::Validation(_) | parcours_app::AppError::Refused(..))) => {
            alerts_view(&s, &req, None, Some(crate::error::message(&e))).await
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

async fn review_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    match s.app.review_break_glass(&ctx, &id).await {
        Ok(()) => {
            alerts_view(
                &s,
                &req,
                Some("Bris de glace marqué comme revu.".into()),
                None,
            )
            .await
        }
        Err(e @ (parcours_app::AppError::Refused(..) | parcours_app::AppError::NotFound)) => {
            alerts_view(&s, &req, None, Some(crate::error::message(&e))).await
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

async fn referent_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let to = p.get("conseiller").cloned().unwrap_or_default();
    let reason = p.get("motif").cloned().unwrap_or_default();
    s.app
        .assign_referent(&ctx, &id, &to, &reason)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(see_other(&format!(
        "/jeunes/{}?enregistre=1",
        crate::work::safe_id(&id)
    )))
}

// ---------- API ----------

#[utoipa::path(
    get,
    path = "/api/v1/quota",
    summary = "Son quota de dossiers hors portefeuille",
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn quota_api(State(s): State<AppState>, req: Req) -> Res {
    let ctx = req.authenticated()?;
    let q = s
        .app
        .quota_status(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(q).into_response())
}

/// A body carrying only a reason (break-glass, unfreeze, disabling an account…).
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ReasonBody {
    pub(crate) motif: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/quota/bris-de-glace",
    summary = "Bris de glace : dépasse le quota une fois, avec motif (alerte le directeur)",
    request_body = ReasonBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn break_glass_api(
    State(s): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Res {
    let ctx = req.authenticated()?;
    let q = s
        .app
        .break_glass(&ctx, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(q).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct QuotaBody {
    role: String,
    quota: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/quota/reglage",
    summary = "Règle le quota d'un rôle dans la structure (directeur)",
    request_body = QuotaBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn set_quota_api(State(s): State<AppState>, req: Req, ApiJson(b): ApiJson<QuotaBody>) -> Res {
    let ctx = req.authenticated()?;
    s.app
        .set_quota(&ctx, &b.role, b.quota)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({"role": b.role, "quota": b.quota})).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/alertes",
    summary = "Alertes de vigilance visibles par le rôle (directeur : sa structure ; DPO, admin : toutes)",
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn alerts_api(State(s): State<AppState>, req: Req) -> Res {
    let ctx = req.authenticated()?;
    let alerts = s
        .app
        .list_alerts(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let break_glass = s
        .app
        .list_break_glass(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({"alertes": alerts, "bris_de_glace": break_glass})).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/comptes/{login}/degel",
    summary = "Dégèle un compte gelé par la vigilance",
    params(("login" = String, Path)),
    request_body = ReasonBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn unfreeze_api(
    State(s): State<AppState>,
    req: Req,
    Path(login): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Res {
    let ctx = req.authenticated()?;
    let r = s
        .app
        .request_unfreeze(&ctx, &login, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(json!({"compte": login, "demande": r})),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ReferentBody {
    conseiller: String,
    #[serde(default)]
    motif: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/jeunes/{id}/referent",
    summary = "Change le conseiller référent d'un dossier (directeur)",
    params(("id" = String, Path)),
    request_body = ReferentBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn referent_api(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReferentBody>,
) -> Res {
    let ctx = req.authenticated()?;
    s.app
        .assign_referent(&ctx, &id, &b.conseiller, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({"id": id, "referent": b.conseiller})).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/jeunes/{id}/referent/historique",
    summary = "Historique des référents d'un dossier",
    params(("id" = String, Path)),
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn referent_history_api(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> Res {
    let ctx = req.authenticated()?;
    let h = s
        .app
        .referent_history(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({ "changements": h })).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/bris-de-glace/{id}/revu",
    summary = "Marque un bris de glace comme revu (directeur)",
    params(("id" = String, Path)),
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn review_api(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> Res {
    let ctx = req.authenticated()?;
    s.app
        .review_break_glass(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({"id": id, "revu": true})).into_response())
}
