//! The HTTP layer: French HTML pages for people, a JSON API under `/api/v1` for programs. Both
//! call the same `app` use cases; no business rule lives here.
//!
//! Every response carries strict security headers (CSP without inline script, no framing,
//! nosniff, no referrer, no caching of personal data; HSTS when the request came over TLS through
//! the reverse proxy). Bodies are limited to 1 MiB. Sessions are server-side, in a `__Host-`
//! cookie (Secure, HttpOnly, SameSite=Strict); forms carry a per-session CSRF token; the JSON API
//! requires `Content-Type: application/json` on writes, which browsers cannot send cross-site
//! without a CORS preflight that Parcours never grants.

mod account;
mod api;
mod api_work;
mod approvals;
pub mod client;
mod error;
mod format;
mod incident;
mod lists;
mod nav;
mod openapi;
mod overview;
mod pages;
mod passkeys;
pub mod pilotage;
mod request;
pub mod routes;
mod vigilance;
mod work;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use parcours_app::App;
use std::net::SocketAddr;
use std::sync::Arc;

pub use request::COOKIE_NAME;

pub const BODY_LIMIT: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    /// Reverse proxies whose `X-Forwarded-For` is believed ([`client`]).
    pub trusted_proxies: Arc<Vec<client::Cidr>>,
}

const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; font-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// True when the percent-encoded `s` decodes to a control character (`%00`–`%1F`, `%7F`).
fn encodes_control_character(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3).any(|w| {
        w[0] == b'%'
            && std::str::from_utf8(&w[1..])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .is_some_and(|c| c < 0x20 || c == 0x7f)
    })
}

/// A path with a control character, or a query or body with a NUL, is refused before any
/// handler: no id, login or code contains one, notes refuse control characters anyway, and
/// PostgreSQL refuses NUL in text (it answered 500 to a login `%00` and to a transfer to
/// structure `"\u0000"`, found by the API property test).
async fn refuse_control_characters(req: Request<axum::body::Body>, next: Next) -> Response {
    use axum::response::IntoResponse;
    let uri = req.uri();
    let bad = encodes_control_character(uri.path())
        || uri
            .query()
            .is_some_and(|q| q.contains("%00") || q.contains("%u0000"));
    let api = uri.path().starts_with("/api/");
    if bad {
        return control_character_refused(api);
    }
    // Bodies: a JSON string escaping NUL (`\u0000`) or a form field encoding it (`%00`).
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (json, form) = (
        content_type.starts_with("application/json"),
        content_type.starts_with("application/x-www-form-urlencoded"),
    );
    if !json && !form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({"code": "corps_trop_gros", "message": "Corps de requête trop volumineux (1 Mio au plus)."})
                .to_string(),
        )
            .into_response();
    };
    let lower = bytes.to_ascii_lowercase();
    let nul = if json {
        lower.windows(6).any(|w| w == b"\\u0000")
    } else {
        lower.windows(3).any(|w| w == b"%00")
    };
    if nul {
        return control_character_refused(api);
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

fn control_character_refused(api: bool) -> Response {
    use axum::response::IntoResponse;
    if api {
        api::bad_parameter("caractère de contrôle")
    } else {
        (
            axum::http::StatusCode::BAD_REQUEST,
            "Adresse invalide : caractère de contrôle.",
        )
            .into_response()
    }
}

async fn security_headers(req: Request<axum::body::Body>, next: Next) -> Response {
    let tls = req
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes() == b"https");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A page may set its own (stricter or wider) policy: the "Pilotage" page posts to the
    // insight server.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Nothing personal is kept by a browser or a proxy — unless the handler said otherwise:
    // only the vendored design system's files do (public, a day), which a page would
    // otherwise fetch again each time (2 MB; issue 20).
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    res
}

/// After each request: write the refusals its action stamped while its transaction was open
/// (`App::audit_refusal`), before the answer leaves.
async fn flush_refusals(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let res = next.run(req).await;
    if let Err(e) = s.app.flush_refusals().await {
        // Kept in memory and retried by the sealer every second.
        tracing::warn!(error = %e, "journal des refus différé");
    }
    res
}

/// Every route of the application, pages and API, with their paths ([`routes::Routes`]).
fn table() -> routes::Routes {
    routes::Routes::new()
        .merge(pages::routes())
        .merge(work::routes())
        .merge(vigilance::pages())
        .merge(account::pages())
        .merge(approvals::pages())
        .merge(passkeys::pages())
        .merge(incident::pages())
        .nest(
            "/api/v1",
            api::routes()
                .merge(api_work::routes())
                .merge(vigilance::api())
                .merge(account::api())
                .merge(approvals::api())
                .merge(incident::api()),
        )
        .route("/pilotage", get(pilotage::page))
        .route("/direction", get(overview::page))
        .route(
            "/api/v1/pilotage/jeton",
            axum::routing::post(pilotage::api_token),
        )
        .route("/healthz", get(healthz))
        .route("/audit/points-de-controle", get(checkpoints))
        .route("/static/parcours.css", get(css))
        .route("/static/parcours.js", get(js))
        .route("/static/dsfr/{*path}", get(dsfr))
}

/// The path of every route of the router, as axum matches it (`/jeunes/{id}`), read from the
/// same table the router is built from.
pub fn route_paths() -> Vec<String> {
    table().paths
}

/// Every route that reveals the identity of a young person, and how it is counted (issue 15).
/// `docs/SECURITY.md` shows the same table; the tests enumerate [`route_paths`] and fail if a
/// route shows an identity of the structure outside the caseload without being listed here.
pub const IDENTITY_ROUTES: &[(&str, &str)] = &[
    ("/portefeuille", "own caseload only: free"),
    ("/api/v1/portefeuille", "own caseload only: free"),
    ("/jeunes", "own caseload only (Mes dossiers): free"),
    ("/api/v1/jeunes", "own caseload only: free"),
    (
        "/recherche",
        "candidates outside the caseload: weight 1 each, every page",
    ),
    (
        "/api/v1/jeunes/recherche",
        "candidates outside the caseload: weight 1 each, every page",
    ),
    ("/jeunes/{id}", "dossier outside the caseload: weight 4"),
    (
        "/api/v1/jeunes/{id}",
        "dossier outside the caseload: weight 4",
    ),
    (
        "/api/v1/jeunes/{id}/dossier",
        "dossier outside the caseload: weight 4",
    ),
    (
        "/jeunes/{id}/*",
        "every act on a dossier outside the caseload: weight 4 (authorise_dossier)",
    ),
    (
        "/api/v1/jeunes/{id}/*",
        "every act on a dossier outside the caseload: weight 4 (authorise_dossier)",
    ),
    (
        "/dispositifs/{id}/*",
        "acts on a programme: weight 4 for its dossier (authorise_dossier)",
    ),
    (
        "/api/v1/dispositifs/{id}/*",
        "acts on a programme: weight 4 for its dossier (authorise_dossier)",
    ),
    (
        "/entrees/{id}/statut",
        "acts on an entry: weight 4 for its dossier (authorise_dossier)",
    ),
    (
        "/api/v1/entrees/{id}/statut",
        "acts on an entry: weight 4 for its dossier (authorise_dossier)",
    ),
    (
        "/immersions/{id}/statut",
        "acts on an immersion: weight 4 for its dossier (authorise_dossier)",
    ),
    (
        "/api/v1/immersions/{id}/statut",
        "acts on an immersion: weight 4 for its dossier (authorise_dossier)",
    ),
    (
        "/allocations",
        "names only for the caseload; other lines masked (Dossier xxxxxxxx)",
    ),
    (
        "/api/v1/allocations",
        "names only for the caseload; other lines masked",
    ),
    (
        "/allocations/lot",
        "preview: names only for the caseload; other lines masked",
    ),
    (
        "/allocations/lot/fichier",
        "file with names and IBANs: four-eyes request, fresh second factor and reason, once",
    ),
    ("/api/v1/allocations/lot", "preview masked (JSON only)"),
    (
        "/incidents/{id}",
        "incident report: the DPO who asked, approved by a second person, 24 h, audited",
    ),
    (
        "/incidents/{id}/*",
        "incident documents (letters, mailing list): same as the report, each download audited",
    ),
    (
        "/acces/{id}",
        "a person's access export: the DPO who asked, approved by a second person, 24 h, audited",
    ),
    (
        "/api/v1/acces/{id}",
        "a person's access export: the DPO who asked, approved by a second person, 24 h, audited",
    ),
    (
        "/api/v1/incidents/{id}",
        "incident report: the DPO who asked, approved by a second person, 24 h, audited",
    ),
    (
        "/api/v1/allocations/lot/fichier",
        "file with names and IBANs: four-eyes request, fresh second factor and reason, once",
    ),
];

/// The whole application as a router (used by `serve` and by the tests), trusting no proxy.
pub fn router(app: Arc<App>) -> Router {
    router_with(app, Vec::new())
}

/// The whole application, believing `X-Forwarded-For` from `trusted_proxies` only.
pub fn router_with(app: Arc<App>, trusted_proxies: Vec<client::Cidr>) -> Router {
    let state = AppState {
        app,
        trusted_proxies: Arc::new(trusted_proxies),
    };
    table()
        .router
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            flush_refusals,
        ))
        .layer(middleware::from_fn(refuse_control_characters))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn healthz(axum::extract::State(s): axum::extract::State<AppState>) -> Response {
    use axum::response::IntoResponse;
    match s.app.healthy().await {
        true => (axum::http::StatusCode::OK, "ok").into_response(),
        false => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "base indisponible",
        )
            .into_response(),
    }
}

/// The signed audit checkpoints, one per line (`position hash ts signature`), for a witness
/// host to keep (docs/SECURITY.md, "Audit chain"). Public: positions, hashes and signatures
/// tell nothing of anyone; they only let another machine notice a rolled-back log.
async fn checkpoints(axum::extract::State(s): axum::extract::State<AppState>) -> Response {
    use axum::response::IntoResponse;
    match s.app.checkpoint_lines().await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "points de contrôle illisibles");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "points de contrôle indisponibles",
            )
                .into_response()
        }
    }
}

async fn css() -> Response {
    use axum::response::IntoResponse;
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/parcours.css"),
    )
        .into_response()
}

/// The State design system's files (`PARCOURS_THEME=etat` only; 404 in the neutral theme).
async fn dsfr(axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    use axum::response::IntoResponse;
    match parcours_design::asset(&path) {
        Some((body, kind)) => (
            [
                (header::CONTENT_TYPE, kind),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            body,
        )
            .into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

async fn js() -> Response {
    use axum::response::IntoResponse;
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/parcours.js"),
    )
        .into_response()
}

/// Serves until `shutdown` resolves. Seals the audit log every second, purges expired
/// sessions every ten minutes and sends alert e-mails in the background.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    trusted_proxies: Vec<client::Cidr>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sealer = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut n: u64 = 0;
        let mut busy: u32 = 0;
        loop {
            tick.tick().await;
            // Preferably while no request transaction is open. Under sustained load there is
            // never such a moment: after five busy seconds it seals in its turn at the writer
            // (every transaction begins IMMEDIATE on SQLite, so a seal can no longer land
            // between a request's read and its write; each batch is short — issue 20).
            let now = chrono::Utc::now();
            let res = if busy >= 5 {
                sealer.seal_audit(now).await.map(Some)
            } else {
                sealer.seal_when_idle(now).await
            };
            match res {
                Ok(None) => {
                    busy += 1;
                    // No seal this second, but the WAL is still folded in the background
                    // (SQLite; see `Store::checkpoint`).
                    if let Err(e) = sealer.checkpoint().await {
                        tracing::warn!(error = %e, "point de reprise du journal SQLite en échec");
                    }
                    continue;
                }
                Ok(Some(_)) => busy = 0,
                Err(e) => tracing::error!(error = %e, "scellement du journal d'audit en échec"),
            }
            n += 1;
            if n.is_multiple_of(600) {
                let _ = sealer.purge_sessions(chrono::Utc::now()).await;
            }
        }
    });
    // Alert e-mails, apart from the sealer (a slow relay must not hold the write gate): due
    // ones every two seconds, failed ones at their retry time.
    let mailer = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        loop {
            tick.tick().await;
            if let Err(e) = mailer
                .deliver_alert_mails(chrono::Utc::now().timestamp())
                .await
            {
                tracing::error!(error = %e, "envoi des courriels d'alerte en échec");
            }
        }
    });
    let svc = router_with(app, trusted_proxies).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, svc)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::encodes_control_character as ctl;

    #[test]
    fn control_characters_are_found_in_percent_encoding_only() {
        assert!(ctl("/api/v1/comptes/%00/role"));
        assert!(ctl("/jeunes/a%0Ab"));
        assert!(ctl("/x%7f"));
        assert!(!ctl("/api/v1/comptes/marie.dupont/role"));
        assert!(!ctl("/jeunes/%C3%A9l%C3%A9onore"));
        assert!(!ctl("/x%2"));
        assert!(!ctl("/x%zz"));
    }
}
