//! The way to the dashboards (decision module, P2): the insight server runs apart and knows no
//! account; this page hands it a short-lived assertion of the reader's role and perimeter
//! (`App::insight_assertion`), posted by the reader's own click — no script, no token in a URL.
//! API clients get the same assertion from `POST /api/v1/pilotage/jeton`.

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::OnceLock;

use crate::error::{render, WebError};
use crate::request::Req;
use crate::AppState;

static INSIGHT_URL: OnceLock<String> = OnceLock::new();

/// The body of `POST /api/v1/pilotage/jeton`: a JSON object, `{}` (required — another site's
/// form cannot send JSON — and carrying nothing; the schemathesis run found it undocumented).
/// An object, never an array (a struct without fields would take `[]` too).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct EmptyBody(#[allow(dead_code)] serde_json::Map<String, serde_json::Value>);

/// The insight server's address, as readers' browsers reach it: set once at start
/// ([`set_insight_url`]), else `PARCOURS_INSIGHT_URL`, else `http://127.0.0.1:8081`.
pub fn insight_url() -> &'static str {
    INSIGHT_URL.get_or_init(|| {
        std::env::var("PARCOURS_INSIGHT_URL")
            .ok()
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .unwrap_or_else(|| "http://127.0.0.1:8081".into())
            .trim_end_matches('/')
            .to_string()
    })
}

/// Sets the insight server's address (before the first request).
pub fn set_insight_url(url: &str) {
    let _ = INSIGHT_URL.set(url.trim_end_matches('/').to_string());
}

/// `scheme://host[:port]` of a URL, for the page's form-action policy.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    format!("{scheme}://{}", rest.split('/').next().unwrap_or_default())
}

#[derive(Template)]
#[template(path = "pilotage.html")]
struct PilotagePage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    action: String,
    jeton: String,
}

pub async fn page(State(s): State<AppState>, req: Req) -> Result<Response, WebError> {
    let ctx = req.authenticated()?;
    let jeton = s
        .app
        .insight_assertion(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let mut res = render(&PilotagePage {
        login: req.login(),
        csrf: req.csrf(),
        action: format!("{}/connexion", insight_url()),
        jeton,
    });
    // This page alone may post to the insight server.
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; img-src 'self' data:; \
         form-action 'self' {}; frame-ancestors 'none'; base-uri 'none'",
        origin(insight_url())
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(res)
}

/// Body `{}` (JSON, like every API write: a cross-site form cannot send it).
#[utoipa::path(
    post,
    path = "/api/v1/pilotage/jeton",
    summary = "Assertion à usage unique pour ouvrir les tableaux de bord (pilote)",
    request_body = EmptyBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
pub async fn api_token(
    State(s): State<AppState>,
    req: Req,
    crate::api::ApiJson(_): crate::api::ApiJson<EmptyBody>,
) -> Result<Response, WebError> {
    let ctx = req.authenticated()?;
    let jeton = s
        .app
        .insight_assertion(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({
        "jeton": jeton,
        "expire_dans": parcours_app::insight::ASSERTION_LIFETIME_S,
        "serveur": insight_url(),
    }))
    .into_response())
}
