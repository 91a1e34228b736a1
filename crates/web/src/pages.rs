//! HTML pages (French). Forms post back to the same URL; errors re-render the form with a
//! message per field. Every form carries the session's CSRF token.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Form;
use parcours_app::jeunes::{SearchQuery, Summary, PAGE_SIZE};
use parcours_app::setup::Structure;
use parcours_app::AppError;
use parcours_domain::jeune::{self, JeuneInput, FIELDS};
use parcours_domain::{FieldError, Warning};
use serde::Deserialize;

use crate::error::{render, WebError};
use crate::request::{clear_cookie, set_cookie, Req};
use crate::AppState;

pub fn routes() -> crate::routes::Routes {
    crate::routes::Routes::new()
        .route("/", get(home))
        .route("/connexion", get(login_page).post(login_submit))
        .route("/connexion/code", get(code_page).post(code_submit))
        .route("/connexion/enrolement", get(enrol_page).post(enrol_submit))
        .route("/deconnexion", post(logout))
        .route("/recherche", get(search))
        .route("/jeunes", get(list))
        .route("/jeunes/nouveau", get(new_form).post(create))
        .route("/jeunes/{id}/modifier", get(edit_form).post(update))
        .route("/structures", get(structures))
}

type PageResult = Result<Response, WebError>;

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// ---------- login ----------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    error: Option<String>,
    identifiant: String,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    identifiant: String,
    #[serde(default)]
    mot_de_passe: String,
    #[serde(default)]
    csrf: String,
}

/// Each role's home (crate::nav::home): the page made for its daily work.
async fn home(req: Req) -> Response {
    match (req.session.as_ref().map(|s| s.stage), req.role()) {
        (Some(parcours_app::auth::STAGE_AUTH), Some(role)) => see_other(crate::nav::home(role)),
        _ => see_other("/connexion"),
    }
}

async fn login_page(State(s): State<AppState>, req: Req) -> PageResult {
    if req.session.as_ref().is_some_and(|x| x.principal.is_some()) {
        return Ok(see_other("/"));
    }
    // An anonymous session carries the CSRF token of the login form.
    let (csrf, cookie) = match &req.session {
        Some(sess) => (sess.csrf.clone(), None),
        None => {
            let ns = s
                .app
                .start_anonymous_session(&req.ctx())
                .await
                .map_err(|e| WebError::new(e, &req))?;
            (ns.info.csrf.clone(), Some(set_cookie(&ns)))
        }
    };
    let page = render(&LoginPage {
        login: None,
        csrf,
        error: None,
        identifiant: String::new(),
    });
    Ok(match cookie {
        Some(c) => ([(header::SET_COOKIE, c)], page).into_response(),
        None => page,
    })
}

async fn login_submit(State(s): State<AppState>, req: Req, Form(f): Form<LoginForm>) -> PageResult {
    req.check_csrf(&f.csrf)?;
    let ctx = req.ctx();
    match s
        .app
        .login_password(
            &ctx,
            req.session.as_ref(),
            &f.identifiant,
            &f.mot_de_passe,
            &req.client,
        )
        .await
    {
        Ok(ns) => {
            let to = if ns.info.stage == parcours_app::auth::STAGE_ENROL {
                "/connexion/enrolement"
            } else {
                "/connexion/code"
            };
            Ok(([(header::SET_COOKIE, set_cookie(&ns))], Redirect::to(to)).into_response())
        }
        Err(
            e @ (AppError::InvalidCredentials
            | AppError::Throttled
            | AppError::Frozen
            | AppError::Busy
            | AppError::StorageFull),
        ) => {
            let msg = crate::error::message(&e);
            let st = crate::error::status(&e);
            Ok((
                st,
                render(&LoginPage {
                    login: None,
                    csrf: req.csrf(),
                    error: Some(msg),
                    identifiant: f.identifiant,
                }),
            )
                .into_response())
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

fn stage_is(req: &Req, stage: parcours_app::auth::Stage) -> bool {
    req.session.as_ref().is_some_and(|s| s.stage == stage)
}

async fn code_page(req: Req) -> PageResult {
    if !stage_is(&req, parcours_app::auth::STAGE_CODE) {
        return Ok(see_other("/connexion"));
    }
    Ok(render(&CodePage {
        login: None,
        csrf: req.csrf(),
        error: None,
    }))
}

async fn code_submit(State(s): State<AppState>, req: Req, Form(f): Form<CodeForm>) -> PageResult {
    req.check_csrf(&f.csrf)?;
    let Some(session) = req
        .session
        .clone()
        .filter(|x| x.stage == parcours_app::auth::STAGE_CODE)
    else {
        return Ok(see_other("/connexion"));
    };
    match s.app.login_code(&req.ctx(), &session, &f.code, true).await {
        Ok(ns) => Ok(([(header::SET_COOKIE, set_cookie(&ns))], Redirect::to("/")).into_response()),
        Err(AppError::Throttled) => Ok((
            [(header::SET_COOKIE, clear_cookie())],
            Redirect::to("/connexion"),
        )
            .into_response()),
        Err(e @ AppError::InvalidCode) => Ok((
            crate::error::status(&e),
            render(&CodePage {
                login: None,
                csrf: req.csrf(),
                error: Some(crate::error::message(&e)),
            }),
        )
            .into_response()),
        Err(e) => Err(WebError::new(e, &req)),
    }
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    error: Option<String>,
    secret: String,
    qr_svg: String,
}

fn qr_svg(data: &str) -> String {
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build(),
        Err(_) => String::new(),
    }
}

async fn enrol_render(s: &AppState, req: &Req, error: Option<String>) -> PageResult {
    let Some(session) = req
        .session
        .clone()
        .filter(|x| x.stage == parcours_app::auth::STAGE_ENROL)
    else {
        return Ok(see_other("/connexion"));
    };
    let e = s
        .app
        .enrolment_start(&session)
        .await
        .map_err(|e| WebError::new(e, req))?;
    let st = if error.is_some() {
        axum::http::StatusCode::UNAUTHORIZED
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        st,
        render(&EnrolPage {
            login: None,
            csrf: req.csrf(),
            error,
            secret: e.secret_base32,
            qr_svg: qr_svg(&e.otpauth_url),
        }),
    )
        .into_response())
}

async fn enrol_page(State(s): State<AppState>, req: Req) -> PageResult {
    enrol_render(&s, &req, None).await
}

async fn enrol_submit(State(s): State<AppState>, req: Req, Form(f): Form<CodeForm>) -> PageResult {
    req.check_csrf(&f.csrf)?;
    let Some(session) = req
        .session
        .clone()
        .filter(|x| x.stage == parcours_app::auth::STAGE_ENROL)
    else {
        return Ok(see_other("/connexion"));
    };
    match s
        .app
        .enrolment_confirm(&req.ctx(), &session, &f.code, true)
        .await
    {
        Ok(ns) => Ok(([(header::SET_COOKIE, set_cookie(&ns))], Redirect::to("/")).into_response()),
        Err(AppError::Throttled) => Ok((
            [(header::SET_COOKIE, clear_cookie())],
            Redirect::to("/connexion"),
        )
            .into_response()),
        Err(e @ AppError::InvalidCode) => {
            enrol_render(&s, &req, Some(crate::error::message(&e))).await
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(s): State<AppState>, req: Req, Form(f): Form<CsrfForm>) -> PageResult {
    req.check_csrf(&f.csrf)?;
    if let Some(session) = &req.session {
        s.app
            .logout(&req.ctx(), session)
            .await
            .map_err(|e| WebError::new(e, &req))?;
    }
    Ok((
        [(header::SET_COOKIE, clear_cookie())],
        Redirect::to("/connexion"),
    )
        .into_response())
}

// ---------- dossiers ----------

/// A dossier line for lists and results.
struct Line {
    id: String,
    nom: String,
    prenom: String,
    naissance: String,
    commune: String,
}

fn line(d: &Summary) -> Line {
    Line {
        id: d.id.clone(),
        nom: d.nom.clone(),
        prenom: d.prenom.clone(),
        naissance: d.date_naissance.format("%d/%m/%Y").to_string(),
        commune: d.commune.clone().unwrap_or_default(),
    }
}

/// A search candidate line: only what recognises the person.
struct CandidateLine {
    id: String,
    nom: String,
    initiale: String,
    annee: i32,
    commune: String,
    portefeuille: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    q: SearchQuery,
    searched: bool,
    errors: Vec<FieldError>,
    results: Vec<CandidateLine>,
    total: usize,
    page: i64,
    pages: i64,
    /// The query string without its page, for the pagination links.
    query: String,
}

fn query_without_page(q: &SearchQuery) -> String {
    let mut out = String::new();
    for (k, v) in [
        ("nom", &q.nom),
        ("prenom", &q.prenom),
        ("date_naissance", &q.date_naissance),
        ("email", &q.email),
        ("telephone", &q.telephone),
    ] {
        if !v.trim().is_empty() {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(k);
            out.push('=');
            for b in v.trim().bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

async fn search(State(s): State<AppState>, req: Req, Query(q): Query<SearchQuery>) -> PageResult {
    let ctx = req.offered("/recherche")?;
    let searched = !q.is_empty();
    let (results, errors, total, pages) = if searched {
        match s.app.search_jeunes(&ctx, &q).await {
            Ok(r) => (
                r.candidates
                    .into_iter()
                    .map(|c| CandidateLine {
                        id: c.id,
                        nom: c.nom,
                        initiale: c.initiale,
                        annee: c.annee_naissance,
                        commune: c.commune.unwrap_or_default(),
                        portefeuille: c.portefeuille,
                    })
                    .collect(),
                Vec::new(),
                r.total,
                r.pages,
            ),
            Err(AppError::Validation(v)) => (Vec::new(), v.0, 0, 0),
            Err(e) => return Err(WebError::new(e, &req)),
        }
    } else {
        (Vec::new(), Vec::new(), 0, 0)
    };
    Ok(render(&SearchPage {
        login: req.login(),
        csrf: req.csrf(),
        query: query_without_page(&q),
        page: q.page.max(0),
        q,
        searched,
        errors,
        results,
        total,
        pages,
    }))
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: i64,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    lines: Vec<Line>,
    total: i64,
    page: i64,
    pages: i64,
}

async fn list(State(s): State<AppState>, req: Req, Query(p): Query<PageQuery>) -> PageResult {
    let ctx = req.authenticated()?;
    let (rows, total) = s
        .app
        .list_jeunes(&ctx, p.page)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(render(&ListPage {
        login: req.login(),
        csrf: req.csrf(),
        lines: rows.iter().map(line).collect(),
        total,
        page: p.page.max(0),
        pages: (total + PAGE_SIZE - 1) / PAGE_SIZE,
    }))
}

/// One input of the dossier form.
struct FormField {
    name: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
    kind: &'static str,
    hint: &'static str,
    required: bool,
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    title: String,
    action: String,
    fields: Vec<FormField>,
    warnings: Vec<Warning>,
    duplicate: bool,
    version: i64,
    general_error: Option<String>,
}

fn form_fields(input: &JeuneInput, errors: &[FieldError]) -> Vec<FormField> {
    FIELDS
        .iter()
        .map(|&name| FormField {
            name,
            label: jeune::label(name),
            value: input.get(name).to_string(),
            error: errors
                .iter()
                .find(|e| e.field == name)
                .map(|e| e.message.clone()),
            kind: match name {
                "email" => "email",
                "telephone" => "tel",
                _ => "text",
            },
            hint: match name {
                "date_naissance" => "JJ/MM/AAAA",
                "sexe" => "F ou M",
                "telephone" => "ex. 06 12 34 56 78",
                "niveau_formation" => "1 à 8 (nomenclature 2019)",
                _ => "",
            },
            required: matches!(name, "nom" | "prenom" | "date_naissance" | "sexe"),
        })
        .collect()
}

#[derive(Deserialize)]
struct DossierForm {
    #[serde(flatten)]
    input: JeuneInput,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirmer_doublon: Option<String>,
    /// Text because url-encoded forms with a flattened struct only carry strings.
    #[serde(default)]
    version: String,
}

impl DossierForm {
    fn version(&self) -> i64 {
        self.version.trim().parse().unwrap_or(0)
    }
}

async fn new_form(req: Req) -> PageResult {
    req.offered("/jeunes/nouveau")?;
    Ok(render(&FormPage {
        login: req.login(),
        csrf: req.csrf(),
        title: "Nouveau dossier".into(),
        action: "/jeunes/nouveau".into(),
        fields: form_fields(&JeuneInput::default(), &[]),
        warnings: vec![],
        duplicate: false,
        version: 0,
        general_error: None,
    }))
}

fn form_error(req: &Req, title: &str, action: String, f: &DossierForm, e: AppError) -> PageResult {
    let (errors, warnings, duplicate, general) = match e {
        AppError::Validation(v) => (v.0, vec![], false, Some("Le dossier n'a pas été enregistré : corrigez les champs signalés.".to_string())),
        AppError::DuplicateSuspected { warnings, .. } => (vec![], warnings, true, Some("Un dossier avec les mêmes nom, prénom et date de naissance existe déjà dans votre structure. Vérifiez avec la recherche, ou confirmez la création.".to_string())),
        AppError::Stale => (vec![], vec![], false, Some(crate::error::message(&AppError::Stale))),
        other => return Err(WebError::new(other, req)),
    };
    let st = if duplicate {
        axum::http::StatusCode::CONFLICT
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        st,
        render(&FormPage {
            login: req.login(),
            csrf: req.csrf(),
            title: title.into(),
            action,
            fields: form_fields(&f.input, &errors),
            warnings,
            duplicate,
            version: f.version(),
            general_error: general,
        }),
    )
        .into_response())
}

async fn create(State(s): State<AppState>, req: Req, Form(f): Form<DossierForm>) -> PageResult {
    let ctx = req.authenticated()?;
    req.check_csrf(&f.csrf)?;
    match s
        .app
        .create_jeune(&ctx, &f.input, f.confirmer_doublon.is_some())
        .await
    {
        Ok(saved) => Ok(see_other(&format!("/jeunes/{}?enregistre=1", saved.id))),
        Err(e) => form_error(&req, "Nouveau dossier", "/jeunes/nouveau".into(), &f, e),
    }
}

async fn edit_form(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> PageResult {
    let ctx = req.authenticated()?;
    let d = s
        .app
        .get_jeune(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(render(&FormPage {
        login: req.login(),
        csrf: req.csrf(),
        title: "Modifier le dossier".into(),
        action: format!("/jeunes/{}/modifier", d.id),
        fields: form_fields(&d.identity.to_input(), &[]),
        warnings: vec![],
        duplicate: false,
        version: d.version,
        general_error: None,
    }))
}

async fn update(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(f): Form<DossierForm>,
) -> PageResult {
    let ctx = req.authenticated()?;
    req.check_csrf(&f.csrf)?;
    match s.app.update_jeune(&ctx, &id, f.version(), &f.input).await {
        Ok(saved) => Ok(see_other(&format!("/jeunes/{}?enregistre=1", saved.id))),
        Err(e) => form_error(
            &req,
            "Modifier le dossier",
            format!("/jeunes/{id}/modifier"),
            &f,
            e,
        ),
    }
}

#[derive(Template)]
#[template(path = "structures.html")]
struct StructuresPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    structures: Vec<Structure>,
}

async fn structures(State(s): State<AppState>, req: Req) -> PageResult {
    req.authenticated()?;
    let structures = s
        .app
        .list_structures()
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(render(&StructuresPage {
        login: req.login(),
        csrf: req.csrf(),
        structures,
    }))
}
