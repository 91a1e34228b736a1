//! "Mon compte" (one's sessions and password) and the management of others' accounts
//! (disable, re-enable, end all sessions): pages and API over `parcours_app::lifecycle`.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json};
use parcours_app::lifecycle::SessionView;
use parcours_app::AppError;
use serde::Deserialize;
use serde_json::json;

use crate::api::ApiJson;
use crate::error::{render, WebError};
use crate::request::Req;
use crate::routes::Routes;
use crate::vigilance::{when, ReasonBody};
use crate::work::form::{posted_ctx, Posted};
use crate::AppState;

pub fn pages() -> Routes {
    Routes::new()
        .route("/compte", get(page))
        .route("/compte/mot-de-passe", post(password_submit))
        .route("/compte/nom", post(name_submit))
        .route("/compte/sessions/{id}/fin", post(end_submit))
}

pub fn api() -> Routes {
    Routes::new()
        .route("/compte/sessions", get(sessions_api))
        .route("/compte/sessions/{id}", delete(end_api))
        .route("/compte/mot-de-passe", post(password_api))
        .route("/comptes/{login}/desactivation", post(disable_api))
        .route("/comptes/{login}/reactivation", post(enable_api))
        .route("/comptes/{login}/sessions/revocation", post(revoke_api))
        .route("/comptes/{login}/activite", get(activity_api))
}

type Res = Result<Response, WebError>;

struct Line {
    s: SessionView,
    created: String,
    seen: String,
}

#[derive(Template)]
#[template(path = "compte.html")]
struct AccountPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    sessions: Vec<Line>,
    /// (id, name, created, last used)
    passkeys: Vec<(String, String, String, String)>,
    message: Option<String>,
    errors: Vec<String>,
}

pub(crate) async fn view(
    s: &AppState,
    req: &Req,
    message: Option<String>,
    errors: Vec<String>,
) -> Res {
    let ctx = req.authenticated()?;
    let session = req
        .session
        .as_ref()
        .ok_or_else(|| WebError::new(AppError::Unauthenticated, req))?;
    let sessions = s
        .app
        .my_sessions(&ctx, session)
        .await
        .map_err(|e| WebError::new(e, req))?
        .into_iter()
        .map(|s| Line {
            created: when(s.created_at),
            seen: when(s.last_seen),
            s,
        })
        .collect();
    let passkeys = s
        .app
        .my_passkeys(&ctx)
        .await
        .map_err(|e| WebError::new(e, req))?
        .into_iter()
        .map(|k| {
            (
                k.id,
                k.name,
                when(k.created_at),
                k.last_used_at.map(when).unwrap_or_else(|| "jamais".into()),
            )
        })
        .collect();
    Ok(render(&AccountPage {
        login: req.login(),
        csrf: req.csrf(),
        sessions,
        passkeys,
        message,
        errors,
    }))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    cle: String,
}

async fn page(
    State(s): State<AppState>,
    req: Req,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> Res {
    let message = (q.cle == "1").then(|| "Clé d'accès enregistrée.".to_string());
    view(&s, &req, message, Vec::new()).await
}

/// « Nom affiché »: the name colleagues read beside her acts.
async fn name_submit(State(s): State<AppState>, req: Req, Form(p): Form<Posted>) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let name = p.get("nom_affiche").cloned().unwrap_or_default();
    match s.app.set_display_name(&ctx, None, &name).await {
        Ok(()) => {
            view(
                &s,
                &req,
                Some(format!(
                    "Nom affiché enregistré : vos collègues liront « {} » à côté de vos actes.",
                    name.trim()
                )),
                Vec::new(),
            )
            .await
        }
        Err(AppError::Validation(v)) => {
            view(&s, &req, None, v.0.into_iter().map(|f| f.message).collect()).await
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

async fn password_submit(State(s): State<AppState>, req: Req, Form(p): Form<Posted>) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let session = req
        .session
        .clone()
        .ok_or_else(|| WebError::new(AppError::Unauthenticated, &req))?;
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    match s
        .app
        .change_my_password(&ctx, &session, &get("actuel"), &get("nouveau"))
        .await
    {
        Ok(()) => {
            view(
                &s,
                &req,
                Some("Mot de passe changé ; vos autres sessions sont fermées.".into()),
                Vec::new(),
            )
            .await
        }
        Err(AppError::Validation(v)) => {
            view(&s, &req, None, v.0.into_iter().map(|f| f.message).collect()).await
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

async fn end_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    s.app
        .end_my_session(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    view(&s, &req, Some("Session fermée.".into()), Vec::new()).await
}

#[utoipa::path(
    get,
    path = "/api/v1/compte/sessions",
    summary = "Ses sessions ouvertes",
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn sessions_api(State(s): State<AppState>, req: Req) -> Res {
    let ctx = req.authenticated()?;
    let session = req
        .session
        .as_ref()
        .ok_or_else(|| WebError::new(AppError::Unauthenticated, &req))?;
    let list = s
        .app
        .my_sessions(&ctx, session)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({ "sessions": list })).into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/compte/sessions/{id}",
    summary = "Termine une de ses sessions",
    params(("id" = String, Path)),
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn end_api(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> Res {
    let ctx = req.authenticated()?;
    s.app
        .end_my_session(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PasswordBody {
    actuel: String,
    nouveau: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/compte/mot-de-passe",
    summary = "Change son mot de passe",
    request_body = PasswordBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn password_api(
    State(s): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<PasswordBody>,
) -> Res {
    let ctx = req.authenticated()?;
    let session = req
        .session
        .clone()
        .ok_or_else(|| WebError::new(AppError::Unauthenticated, &req))?;
    s.app
        .change_my_password(&ctx, &session, &b.actuel, &b.nouveau)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/comptes/{login}/desactivation",
    summary = "Désactive un compte et termine ses sessions",
    params(("login" = String, Path)),
    request_body = ReasonBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn disable_api(
    State(s): State<AppState>,
    req: Req,
    Path(login): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Res {
    let ctx = req.authenticated()?;
    s.app
        .set_account_active(&ctx, &login, false, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({"compte": login, "actif": false})).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/comptes/{login}/reactivation",
    summary = "Réactive un compte",
    params(("login" = String, Path)),
    request_body = ReasonBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn enable_api(
    State(s): State<AppState>,
    req: Req,
    Path(login): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Res {
    let ctx = req.authenticated()?;
    s.app
        .set_account_active(&ctx, &login, true, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({"compte": login, "actif": true})).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/comptes/{login}/sessions/revocation",
    summary = "Termine toutes les sessions d'un compte",
    params(("login" = String, Path)),
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn revoke_api(State(s): State<AppState>, req: Req, Path(login): Path<String>) -> Res {
    let ctx = req.authenticated()?;
    let n = s
        .app
        .revoke_sessions(&ctx, &login)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({"compte": login, "sessions_fermees": n})).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/comptes/{login}/activite",
    summary = "Activité récente d'un compte de la structure (directeur)",
    params(("login" = String, Path)),
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn activity_api(State(s): State<AppState>, req: Req, Path(login): Path<String>) -> Res {
    let ctx = req.authenticated()?;
    let lines = s
        .app
        .account_activity(&ctx, &login)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({"compte": login, "activite": lines})).into_response())
}
