//! Per-request context: request id, client address, session (from the cookie), time.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use parcours_app::auth::{NewSession, SessionInfo};
use parcours_app::{App, Ctx};
use std::net::SocketAddr;

use crate::error::WebError;
use crate::AppState;

pub const COOKIE_NAME: &str = "__Host-parcours";

/// The API routes a page session may call: the dashboards' login token (posted by the
/// "Pilotage" page), the session itself, the OpenAPI document.
const PAGE_SESSION_API: [&str; 3] = [
    "/api/v1/pilotage/jeton",
    "/api/v1/session",
    "/api/v1/openapi.json",
];

pub struct Req {
    pub request_id: String,
    pub client: String,
    pub session: Option<SessionInfo>,
    pub now: chrono::DateTime<chrono::Utc>,
    pub api: bool,
    /// Pseudonyms of the session and the client address for the audit entries.
    pub trace: parcours_app::Trace,
    /// The page's path (as the browser asked for it), for the menu's current entry.
    pub path: String,
}

impl Req {
    pub fn ctx(&self) -> Ctx {
        let mut ctx = App::ctx_for(
            self.session.as_ref().and_then(|s| s.principal.clone()),
            self.request_id.clone(),
            self.now,
        );
        ctx.trace = self.trace.clone();
        ctx
    }
    pub fn authenticated(&self) -> Result<Ctx, WebError> {
        if self
            .session
            .as_ref()
            .and_then(|s| s.principal.as_ref())
            .is_none()
        {
            return Err(WebError::new(parcours_app::AppError::Unauthenticated, self));
        }
        Ok(self.ctx())
    }
    /// The logged-in person's login.
    pub fn login_name(&self) -> Option<String> {
        self.session
            .as_ref()
            .and_then(|s| s.principal.as_ref())
            .map(|p| p.login.clone())
    }

    /// The logged-in person as the page header shows her (login, role's menu, current page).
    pub fn login(&self) -> Option<crate::nav::Viewer> {
        self.session
            .as_ref()
            .and_then(|s| s.principal.as_ref())
            .map(|p| crate::nav::Viewer {
                login: p.login.clone(),
                role: p.role,
                path: self.path.clone(),
            })
    }

    /// For a page whose form or search the person's role can never use (crate::nav): refuse
    /// before showing it, instead of letting her fill a form the use case would refuse.
    pub fn offered(&self, href: &str) -> Result<Ctx, WebError> {
        let ctx = self.authenticated()?;
        match self.role() {
            Some(role) if crate::nav::offers(role, href) => Ok(ctx),
            _ => Err(WebError::new(parcours_app::AppError::Forbidden, self)),
        }
    }

    /// The role of the logged-in person, if any.
    pub fn role(&self) -> Option<parcours_domain::Role> {
        self.session
            .as_ref()
            .and_then(|s| s.principal.as_ref())
            .map(|p| p.role)
    }
    pub fn csrf(&self) -> String {
        self.session
            .as_ref()
            .map(|s| s.csrf.clone())
            .unwrap_or_default()
    }
    /// Checks a form's CSRF token against the session's (constant time).
    pub fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        let expected = self.csrf();
        let ok = !expected.is_empty()
            && expected.len() == token.len()
            && expected
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |a, (x, y)| a | (x ^ y))
                == 0;
        if ok {
            Ok(())
        } else {
            Err(WebError::new(
                parcours_app::AppError::Refused(
                    parcours_app::Rule::FormExpired,
                    "Formulaire expiré ou invalide : rechargez la page et recommencez.".into(),
                ),
                self,
            ))
        }
    }
}

fn cookie_token(parts: &Parts) -> Option<String> {
    let header = parts
        .headers
        .get(axum::http::header::COOKIE)?
        .to_str()
        .ok()?;
    header.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == COOKIE_NAME && !v.is_empty() && v.len() <= 64).then(|| v.to_string())
    })
}

impl FromRequestParts<AppState> for Req {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let now = chrono::Utc::now();
        let request_id = parcours_app::new_request_id();
        let client = crate::client::client_key(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
            parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok()),
            &state.trusted_proxies,
        );
        // Nested routers see their URI without the prefix: the original one tells the API apart.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map(|u| u.0.path().to_string())
            .unwrap_or_else(|| parts.uri.path().to_string());
        let api = path.starts_with("/api/");
        let token = cookie_token(parts);
        let trace = state.app.trace(None, &client);
        let mut req = Req {
            request_id,
            client,
            session: None,
            now,
            api,
            trace,
            path,
        };
        if let Some(t) = token {
            req.session = state
                .app
                .load_session(&t, &req.ctx())
                .await
                .map_err(|e| WebError::new(e, &req))?;
            if let Some(s) = &req.session {
                req.trace = state.app.trace(Some(&s.token_hash), &req.client);
            }
        }
        // A session opened through the pages has no business on the JSON API (the pages never
        // call it; the dashboards' token and logging out excepted): a script holds it.
        if api
            && req
                .session
                .as_ref()
                .is_some_and(|s| s.via_pages && s.principal.is_some())
            && !PAGE_SESSION_API.iter().any(|p| req.path == *p)
        {
            let e = state.app.api_from_page_session(&req.ctx(), &req.path);
            return Err(WebError::new(e, &req));
        }
        Ok(req)
    }
}

/// The Set-Cookie value for a new session token.
pub fn set_cookie(s: &NewSession) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={}; Path=/; Secure; HttpOnly; SameSite=Strict",
        s.token
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "__Host-parcours=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
    )
}
