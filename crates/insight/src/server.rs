//! `parcours-insight serve`: the dashboards, their JSON API and their exports.
//!
//! It reads a warehouse directory and one public key file, nothing else: no operational
//! database, no master key, no pseudonymisation key, no account. A person arrives with a
//! short-lived assertion signed by the main server (`POST /connexion`, from the main server's
//! "Pilotage" page), which opens a session here; an API client sends an assertion as
//! `Authorization: Bearer …`. Every figure goes through [`crate::publish`].
//!
//! A new warehouse version (`DIR/current` switched by the exporter) is picked up without
//! downtime: a background task opens it, checks its manifest, protects every indicator-year
//! ([`Warehouse::warm_up`]) and swaps it in; requests under way finish on the version they
//! started with.

use askama::Template;
use axum::extract::{Form, Query as Q, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use ed25519_dalek::VerifyingKey;
use parcours_vault::assertion::{self, Claims, Perimeter};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::RwLock;

use crate::catalogue::{family_expr, indicator, BREAKDOWNS, INDICATORS};
use crate::publish::{PublishError, Published, Query, Warehouse};
use crate::render;
use crate::sessions::{Session, Sessions};

pub const COOKIE: &str = "parcours-pilotage";
/// A dashboard session lasts a working day at most.
pub const SESSION_S: i64 = 8 * 3600;

pub struct Config {
    pub warehouse: PathBuf,
    pub public_key: VerifyingKey,
    pub threshold: i64,
    /// Seconds between two checks for a new warehouse version.
    pub reload_every: u64,
    /// Set the cookie's `Secure` flag: on by default (browsers accept it on https and on
    /// localhost); off only for a plain-HTTP host that is not localhost.
    pub secure_cookie: bool,
    /// A directory shared by every instance for sessions and used assertion ids
    /// (`crate::sessions`); None: this process's memory (one instance).
    pub state_dir: Option<PathBuf>,
}

pub struct Server {
    config: Config,
    warehouse: RwLock<Arc<Warehouse>>,
    pub(crate) exports: crate::exports::Jobs,
    /// Sessions and the assertion ids already used, until they expire.
    sessions: Sessions,
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Server {
    pub async fn new(config: Config) -> Result<Arc<Server>, String> {
        let w = Arc::new(open_checked(&config.warehouse, config.threshold).await?);
        // The first version is served at once and protected in the background.
        let warming = w.clone();
        tokio::spawn(async move {
            warming.warm_up().await;
        });
        let sessions = Sessions::new(config.state_dir.as_deref())?;
        Ok(Arc::new(Server {
            config,
            warehouse: RwLock::new(w),
            exports: Default::default(),
            sessions,
        }))
    }

    pub async fn warehouse(&self) -> Arc<Warehouse> {
        self.warehouse.read().await.clone()
    }

    /// Opens the new version if `current` moved. Returns whether it switched.
    pub async fn reload_if_changed(&self) -> Result<bool, String> {
        let link = std::fs::read_link(self.config.warehouse.join("current"))
            .map(|p| p.to_string_lossy().to_string())
            .map_err(|e| e.to_string())?;
        if link == self.warehouse().await.version {
            return Ok(false);
        }
        let w = open_checked(&self.config.warehouse, self.config.threshold).await?;
        // Protected before it is swapped in: readers of the new version get views only.
        w.warm_up().await;
        *self.warehouse.write().await = Arc::new(w);
        Ok(true)
    }

    pub(crate) async fn perimeter_of(&self, headers: &HeaderMap) -> Option<(String, Perimeter)> {
        if let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            // An assertion serves once, as a bearer as at the page login: a copied header
            // replays nothing (API clients ask the main server for one per call).
            let c = self.check(token).ok()?;
            if !self.sessions.first_use(&c.jti, c.exp).await {
                return None;
            }
            return Some((c.role, c.perimetre));
        }
        let id = cookie(headers)?;
        self.sessions.get(&id).await
    }

    /// Verifies an assertion and that its role matches its perimeter.
    fn check(&self, token: &str) -> Result<Claims, String> {
        let c =
            assertion::verify(&self.config.public_key, token, now()).map_err(|e| e.to_string())?;
        let coherent = matches!(
            (&c.role[..], &c.perimetre),
            ("conseiller" | "directeur", Perimeter::Structure(_))
                | ("pilote", Perimeter::Region(_) | Perimeter::Nation)
        );
        if coherent {
            Ok(c)
        } else {
            Err("rôle et périmètre incohérents".into())
        }
    }
}

async fn open_checked(dir: &std::path::Path, threshold: i64) -> Result<Warehouse, String> {
    parcours_warehouse::files::open_current(dir)
        .map_err(|e| format!("entrepôt illisible : {e}"))?;
    Warehouse::open(dir, threshold)
        .await
        .map_err(|e| format!("entrepôt illisible : {e}"))
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; font-src 'self'; img-src 'self' data:; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(
    req: axum::http::Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/connexion", post(login))
        .route("/deconnexion", post(logout))
        .route("/tableau", get(page))
        .route("/tableau.csv", get(csv))
        .route("/tableau.xlsx", get(xlsx))
        .route("/api/v1/tableau", get(api_table))
        .route("/api/v1/indicateurs", get(api_indicators))
        .route("/exports", post(crate::exports::create))
        .route("/exports/{id}", get(crate::exports::page))
        .route("/exports/{id}/fichier", get(crate::exports::file))
        .route("/api/v1/exports", post(crate::exports::api_create))
        .route("/api/v1/exports/{id}", get(crate::exports::api_progress))
        .route("/healthz", get(healthz))
        .route("/static/insight.css", get(css))
        .route("/static/insight.js", get(js))
        .route("/static/dsfr/{*path}", get(dsfr))
        .fallback(|| async { message(StatusCode::NOT_FOUND, "Page introuvable.") })
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(server)
}

/// Serves until `shutdown`, checking for a new warehouse every `reload_every` seconds.
pub async fn serve(
    server: Arc<Server>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let s = server.clone();
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs(s.config.reload_every.max(1));
        loop {
            tokio::time::sleep(every).await;
            match s.reload_if_changed().await {
                Ok(true) => eprintln!(
                    "parcours-insight : nouvel entrepôt chargé ({})",
                    s.warehouse().await.version
                ),
                Ok(false) => {}
                Err(e) => eprintln!("parcours-insight : entrepôt non rechargé : {e}"),
            }
        }
    });
    axum::serve(listener, router(server))
        .with_graceful_shutdown(shutdown)
        .await
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
    connected: bool,
}

pub(crate) fn html(t: impl Template) -> Response {
    match t.render() {
        Ok(s) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], s).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "erreur de rendu").into_response(),
    }
}

pub(crate) fn message(status: StatusCode, text: &str) -> Response {
    let mut r = html(MessagePage {
        title: "Pilotage",
        text,
        connected: false,
    });
    *r.status_mut() = status;
    r
}

async fn home(State(s): State<Arc<Server>>, headers: HeaderMap) -> Response {
    if s.perimeter_of(&headers).await.is_some() {
        return Redirect::to("/tableau").into_response();
    }
    message(
        StatusCode::OK,
        "Ouvrez le pilotage depuis Parcours (menu « Pilotage ») : ce serveur ne connaît aucun compte et ne détient aucune donnée nominative.",
    )
}

#[derive(Deserialize)]
struct LoginForm {
    jeton: String,
}

async fn login(State(s): State<Arc<Server>>, Form(f): Form<LoginForm>) -> Response {
    let claims = match s.check(&f.jeton) {
        Ok(c) => c,
        Err(e) => {
            return message(
                StatusCode::UNAUTHORIZED,
                &format!("Connexion refusée : {e}. Rouvrez le pilotage depuis Parcours."),
            )
        }
    };
    if !s.sessions.first_use(&claims.jti, claims.exp).await {
        return message(
            StatusCode::UNAUTHORIZED,
            "Connexion refusée : ce jeton a déjà servi. Rouvrez le pilotage depuis Parcours.",
        );
    }
    let id: String = parcours_vault::random_bytes::<32>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    s.sessions
        .open(
            &id,
            Session {
                role: claims.role,
                perimeter: claims.perimetre,
                expires: now() + SESSION_S,
            },
        )
        .await;
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_S}{}",
        if s.config.secure_cookie {
            "; Secure"
        } else {
            ""
        }
    );
    let mut r = Redirect::to("/tableau").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(State(s): State<Arc<Server>>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers) {
        s.sessions.close(&id).await;
    }
    let mut r = message(StatusCode::OK, "Vous êtes déconnecté·e du pilotage.");
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("parcours-pilotage=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    r
}

/// The query string of a table.
#[derive(Deserialize, Default, Clone)]
struct TableParams {
    indicateur: Option<String>,
    annee: Option<String>,
    ventilation: Option<String>,
    niveau: Option<String>,
    code: Option<String>,
}

pub(crate) enum Failure {
    Unauthenticated,
    Publish(PublishError),
    /// Too many exports under way.
    Busy,
    /// No such export for this reader.
    NotFound,
}

impl Failure {
    fn status(&self) -> StatusCode {
        match self {
            Failure::Unauthenticated => StatusCode::UNAUTHORIZED,
            Failure::Busy => StatusCode::TOO_MANY_REQUESTS,
            Failure::NotFound => StatusCode::NOT_FOUND,
            Failure::Publish(PublishError::BadRequest(_)) => StatusCode::BAD_REQUEST,
            Failure::Publish(PublishError::OutOfScope) => StatusCode::FORBIDDEN,
            Failure::Publish(PublishError::Engine(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn text(&self) -> String {
        match self {
            Failure::Unauthenticated => {
                "Session absente ou expirée : rouvrez le pilotage depuis Parcours.".into()
            }
            Failure::Busy => {
                "Trop d'exports sont en préparation : réessayez dans une minute.".into()
            }
            Failure::NotFound => "Cet export n'existe pas ou n'est plus disponible.".into(),
            Failure::Publish(PublishError::Engine(e)) => {
                eprintln!("parcours-insight : erreur du moteur : {e}");
                "Erreur interne du moteur de calcul.".into()
            }
            Failure::Publish(e) => e.to_string(),
        }
    }
    pub(crate) fn page(self) -> Response {
        message(self.status(), &self.text())
    }
    pub(crate) fn json(self) -> Response {
        (
            self.status(),
            axum::Json(serde_json::json!({"code": self.status().as_u16(), "message": self.text()})),
        )
            .into_response()
    }
}

/// The one way to a published table, for every format.
async fn published(
    s: &Server,
    headers: &HeaderMap,
    p: &TableParams,
) -> Result<(Published, Perimeter, Arc<Warehouse>), Failure> {
    let (_, perimeter) = s
        .perimeter_of(headers)
        .await
        .ok_or(Failure::Unauthenticated)?;
    let w = s.warehouse().await;
    let home = w.hierarchy.home(&perimeter).unwrap_or(0);
    let home_unit = &w.hierarchy.units[home];
    let ind = p
        .indicateur
        .clone()
        .unwrap_or_else(|| "entretiens_individuels".into());
    // A ventilation that does not apply to the indicator (kept in the form after the indicator
    // changed) opens the indicator's default one instead of a refusal: the filters stay.
    // (An unknown code or indicator is still refused, by `publish`.)
    let keep = |v: &String| match (crate::catalogue::breakdown(v), indicator(&ind)) {
        (Some(b), Some(i)) => family_expr(b.family, i.measure).is_some(),
        _ => true,
    };
    let q = Query {
        ventilation: p
            .ventilation
            .clone()
            .filter(keep)
            .unwrap_or_else(|| default_breakdown(&ind).into()),
        indicateur: ind,
        annee: p
            .annee
            .clone()
            .or_else(|| w.years.last().cloned())
            .unwrap_or_default(),
        niveau: p
            .niveau
            .clone()
            .unwrap_or_else(|| home_unit.niveau.to_string()),
        code: p.code.clone().unwrap_or_else(|| home_unit.code.clone()),
    };
    let t = w.publish(&perimeter, &q).await.map_err(Failure::Publish)?;
    Ok((t, perimeter, w))
}

/// The breakdown a table opens on: months, or sex for counts of persons (which are not
/// published by month: a person counts once in the year).
pub(crate) fn default_breakdown(ind: &str) -> &'static str {
    let persons = indicator(ind).is_some_and(|i| family_expr("mois", i.measure).is_none());
    if persons {
        "sexe"
    } else {
        "mois"
    }
}

#[derive(Template)]
#[template(path = "tableau.html")]
struct TablePage<'a> {
    t: &'a Published,
    rows: Vec<(&'a crate::publish::Row, &'static str)>,
    header: Vec<String>,
    indicators: Vec<(&'static str, &'static str, bool)>,
    breakdowns: Vec<(&'static str, &'static str, bool)>,
    years: Vec<(String, bool)>,
    bars: Vec<render::Bar>,
    chart_height: u32,
    bar_max: u32,
    query: String,
    parent: Option<(String, String, String)>,
    note: &'static str,
    connected: bool,
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The query string that reproduces a table (for the export links and drill-down).
fn query_of(t: &Published, niveau: &str, code: &str) -> String {
    format!(
        "indicateur={}&annee={}&ventilation={}&niveau={}&code={}",
        enc(t.indicateur),
        enc(&t.annee),
        enc(t.ventilation),
        enc(niveau),
        enc(code)
    )
}

async fn page(State(s): State<Arc<Server>>, headers: HeaderMap, Q(p): Q<TableParams>) -> Response {
    let (t, perimeter, w) = match published(&s, &headers, &p).await {
        Ok(x) => x,
        Err(f) => return f.page(),
    };
    let bars = render::bars(&t);
    let ind = indicator(t.indicateur);
    let parent = w
        .hierarchy
        .find(t.perimetre.niveau, &t.perimetre.code)
        .and_then(|u| w.hierarchy.units[u].parent)
        .filter(|&pu| w.hierarchy.allowed(&perimeter, pu))
        .map(|pu| {
            let u = &w.hierarchy.units[pu];
            (
                query_of(&t, u.niveau, &u.code),
                u.libelle.clone(),
                u.niveau.to_string(),
            )
        });
    html(TablePage {
        rows: render::all_rows(&t),
        header: render::header(&t),
        indicators: INDICATORS
            .iter()
            .map(|i| (i.code, i.label, i.code == t.indicateur))
            .collect(),
        breakdowns: BREAKDOWNS
            .iter()
            .filter(|b| ind.is_some_and(|i| family_expr(b.family, i.measure).is_some()))
            .map(|b| (b.code, b.label, b.code == t.ventilation))
            .collect(),
        years: w
            .years
            .iter()
            .rev()
            .map(|y| (y.clone(), *y == t.annee))
            .collect(),
        chart_height: bars.len() as u32 * render::BAR_STEP + 10,
        bar_max: render::BAR_MAX,
        bars,
        query: query_of(&t, t.perimetre.niveau, &t.perimetre.code),
        parent,
        note: render::NOTE,
        connected: true,
        t: &t,
    })
}

pub(crate) fn download(body: Vec<u8>, mime: &'static str, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

fn file_name(t: &Published, ext: &str) -> String {
    let safe = render::safe_file_name(&format!(
        "{}-{}-{}-{}",
        t.indicateur, t.annee, t.ventilation, t.perimetre.code
    ));
    format!("{safe}.{ext}")
}

async fn csv(State(s): State<Arc<Server>>, headers: HeaderMap, Q(p): Q<TableParams>) -> Response {
    match published(&s, &headers, &p).await {
        Ok((t, _, _)) => download(
            render::to_csv(&t).into_bytes(),
            "text/csv; charset=utf-8",
            &file_name(&t, "csv"),
        ),
        Err(f) => f.page(),
    }
}

async fn xlsx(State(s): State<Arc<Server>>, headers: HeaderMap, Q(p): Q<TableParams>) -> Response {
    match published(&s, &headers, &p).await {
        Ok((t, _, _)) => match render::to_xlsx(&t) {
            Ok(b) => download(
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &file_name(&t, "xlsx"),
            ),
            Err(_) => message(StatusCode::INTERNAL_SERVER_ERROR, "Export XLSX impossible."),
        },
        Err(f) => f.page(),
    }
}

async fn api_table(
    State(s): State<Arc<Server>>,
    headers: HeaderMap,
    Q(p): Q<TableParams>,
) -> Response {
    match published(&s, &headers, &p).await {
        Ok((t, _, _)) => axum::Json(t).into_response(),
        Err(f) => f.json(),
    }
}

async fn api_indicators(State(s): State<Arc<Server>>, headers: HeaderMap) -> Response {
    if s.perimeter_of(&headers).await.is_none() {
        return Failure::Unauthenticated.json();
    }
    let w = s.warehouse().await;
    axum::Json(serde_json::json!({
        "indicateurs": INDICATORS.iter().map(|i| serde_json::json!({
            "code": i.code, "libelle": i.label, "definition": i.definition, "unite": i.unit,
            "ventilations": BREAKDOWNS.iter()
                .filter(|b| family_expr(b.family, i.measure).is_some())
                .map(|b| b.code).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "annees": w.years,
        "entrepot": w.version,
        "seuil": w.threshold,
    }))
    .into_response()
}

async fn healthz(State(s): State<Arc<Server>>) -> Response {
    let w = s.warehouse().await;
    (StatusCode::OK, format!("ok {}", w.version)).into_response()
}

/// The main application's address, for the header's « Retour à Parcours »: set once at start
/// ([`set_app_url`]), else `PARCOURS_APP_URL`, else `http://127.0.0.1:8080`.
pub fn app_url() -> &'static str {
    APP_URL.get_or_init(|| {
        std::env::var("PARCOURS_APP_URL")
            .ok()
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
            .trim_end_matches('/')
            .to_string()
    })
}

static APP_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets the main application's address (before the first request).
pub fn set_app_url(url: &str) {
    let _ = APP_URL.set(url.trim_end_matches('/').to_string());
}

/// The State design system's files (`PARCOURS_THEME=etat` only; 404 otherwise).
async fn dsfr(axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    match parcours_design::asset(&path) {
        Some((body, kind)) => ([(header::CONTENT_TYPE, kind)], body).into_response(),
        None => message(StatusCode::NOT_FOUND, "Page introuvable."),
    }
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/insight.js"),
    )
        .into_response()
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/insight.css"),
    )
        .into_response()
}
