//! Passkeys in the pages (`parcours_app::passkeys`): the two ceremonies are driven by
//! `/static/cles.js` (no inline script) through these page routes, each carrying the session's
//! CSRF token in its JSON body; a page session never calls the JSON API (issue 15).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use parcours_app::passkeys::{PublicKeyCredential, RegisterPublicKeyCredential};
use parcours_app::AppError;
use serde::Deserialize;
use serde_json::json;

use crate::error::WebError;
use crate::request::{set_cookie, Req};
use crate::routes::Routes;
use crate::work::form::{posted_ctx, Posted};
use crate::AppState;

pub fn pages() -> Routes {
    Routes::new()
        .route("/static/cles.js", get(script))
        .route("/compte/cles/debut", post(register_start))
        .route("/compte/cles/fin", post(register_finish))
        .route("/compte/cles/{id}/suppression", post(revoke))
        .route("/connexion/cle/debut", post(login_start))
        .route("/connexion/cle/fin", post(login_finish))
}

type Res = Result<Response, WebError>;

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/cles.js"),
    )
        .into_response()
}

/// A JSON error the script shows as is (these routes answer JSON, pages or not).
fn json_error(e: AppError, req: &Req) -> WebError {
    let mut w = WebError::new(e, req);
    w.api = true;
    w
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Start {
    csrf: String,
}

async fn register_start(State(s): State<AppState>, req: Req, Json(b): Json<Start>) -> Res {
    let ctx = req.authenticated().map_err(|e| json_error(e.error, &req))?;
    req.check_csrf(&b.csrf)
        .map_err(|e| json_error(e.error, &req))?;
    let session = req
        .session
        .clone()
        .ok_or_else(|| json_error(AppError::Unauthenticated, &req))?;
    let options = s
        .app
        .passkey_register_start(&ctx, &session)
        .await
        .map_err(|e| json_error(e, &req))?;
    Ok(Json(options).into_response())
}

#[derive(Deserialize)]
struct RegisterBody {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nom: String,
    cle: RegisterPublicKeyCredential,
}

async fn register_finish(State(s): State<AppState>, req: Req, Json(b): Json<RegisterBody>) -> Res {
    let ctx = req.authenticated().map_err(|e| json_error(e.error, &req))?;
    req.check_csrf(&b.csrf)
        .map_err(|e| json_error(e.error, &req))?;
    let session = req
        .session
        .clone()
        .ok_or_else(|| json_error(AppError::Unauthenticated, &req))?;
    let key = s
        .app
        .passkey_register_finish(&ctx, &session, &b.nom, &b.cle)
        .await
        .map_err(|e| json_error(e, &req))?;
    Ok(Json(json!({ "cle": key })).into_response())
}

async fn revoke(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    s.app
        .revoke_my_passkey(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    crate::account::view(&s, &req, Some("Clé d'accès supprimée.".into()), Vec::new()).await
}

async fn login_start(State(s): State<AppState>, req: Req, Json(b): Json<Start>) -> Res {
    req.check_csrf(&b.csrf)
        .map_err(|e| json_error(e.error, &req))?;
    let session = req
        .session
        .clone()
        .filter(|x| x.stage == parcours_app::auth::STAGE_CODE)
        .ok_or_else(|| json_error(AppError::Unauthenticated, &req))?;
    let options = s
        .app
        .passkey_login_start(&session)
        .await
        .map_err(|e| json_error(e, &req))?;
    Ok(Json(options).into_response())
}

#[derive(Deserialize)]
struct LoginBody {
    #[serde(default)]
    csrf: String,
    cle: PublicKeyCredential,
}

async fn login_finish(State(s): State<AppState>, req: Req, Json(b): Json<LoginBody>) -> Res {
    req.check_csrf(&b.csrf)
        .map_err(|e| json_error(e.error, &req))?;
    let session = req
        .session
        .clone()
        .filter(|x| x.stage == parcours_app::auth::STAGE_CODE)
        .ok_or_else(|| json_error(AppError::Unauthenticated, &req))?;
    let ns = s
        .app
        .passkey_login_finish(&req.ctx(), &session, &b.cle, true)
        .await
        .map_err(|e| json_error(e, &req))?;
    Ok((
        [(header::SET_COOKIE, set_cookie(&ns))],
        Json(json!({ "redirection": "/" })),
    )
        .into_response())
}
