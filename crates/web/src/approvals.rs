//! Four eyes, enrolment links and step-up (issue 16): Administration → Demandes, the request
//! of a new account, the page an enrolment link opens, the confirmation of one's second factor,
//! the payment file asked for and downloaded once. Pages and API over
//! `parcours_app::approvals` and `parcours_app::enrolment`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use parcours_app::approvals::RequestView;
use parcours_app::{Actor, AppError, Ctx};
use parcours_domain::Role;
use serde::Deserialize;
use serde_json::json;

use crate::api::ApiJson;
use crate::error::{message, render, WebError};
use crate::request::{set_cookie, Req};
use crate::routes::Routes;
use crate::vigilance::when;
use crate::work::form::{field, posted_ctx, ActPage, Posted};
use crate::AppState;

pub fn pages() -> Routes {
    Routes::new()
        .route("/administration/demandes", get(requests_page))
        .route(
            "/administration/demandes/{id}/approbation",
            post(approve_submit),
        )
        .route("/administration/demandes/{id}/refus", post(refuse_submit))
        .route(
            "/administration/comptes/nouveau",
            get(account_form).post(account_submit),
        )
        .route("/inscription/{jeton}", get(link_page).post(link_submit))
        .route("/compte/confirmation", post(confirm_submit))
        .route("/allocations/lot/demande", post(batch_request_submit))
        .route("/allocations/lot/fichier", post(batch_file_submit))
}

pub fn api() -> Routes {
    Routes::new()
        .route("/demandes", get(requests_api))
        .route("/demandes/{id}/approbation", post(approve_api))
        .route("/demandes/{id}/refus", post(refuse_api))
        .route("/comptes", post(account_api))
        .route("/comptes/{login}/role", post(role_api))
        .route("/comptes/{login}/reinitialisation", post(reset_api))
        .route("/inscription", post(link_api))
        .route("/session/confirmation", post(confirm_api))
        .route("/allocations/lot/demande", post(batch_request_api))
        .route("/allocations/lot/fichier", post(batch_file_api))
}

type Res = Result<Response, WebError>;

/// The path of an enrolment link (the service's address goes before it).
pub fn link_path(token: &str) -> String {
    format!("{}{token}", parcours_app::enrolment::LINK_PATH)
}

// ---------- Administration → Demandes ----------

struct Line {
    r: RequestView,
    created: String,
    expires: String,
    decided: String,
}

#[derive(Template)]
#[template(path = "demandes.html")]
struct RequestsPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    pending: Vec<Line>,
    done: Vec<Line>,
    message: Option<String>,
    link: Option<String>,
    error: Option<String>,
    may_request_accounts: bool,
}

async fn requests_view(
    s: &AppState,
    req: &Req,
    message: Option<String>,
    link: Option<String>,
    error: Option<String>,
) -> Res {
    let ctx = req.authenticated()?;
    let all = s
        .app
        .list_requests(&ctx)
        .await
        .map_err(|e| WebError::new(e, req))?;
    let line = |r: RequestView| Line {
        created: when(r.created_at),
        expires: when(r.expires_at),
        decided: r.decided_at.map(when).unwrap_or_default(),
        r,
    };
    let (pending, done): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.status == "en_attente");
    let may_request_accounts =
        matches!(&ctx.actor, Actor::Account(p) if matches!(p.role, Role::Admin | Role::Directeur));
    let st = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok((
        st,
        render(&RequestsPage {
            login: req.login(),
            csrf: req.csrf(),
            pending: pending.into_iter().map(line).collect(),
            done: done.into_iter().take(100).map(line).collect(),
            message,
            link,
            error,
            may_request_accounts,
        }),
    )
        .into_response())
}

async fn requests_page(State(s): State<AppState>, req: Req) -> Res {
    requests_view(&s, &req, None, None, None).await
}

fn decision_failed(e: AppError) -> Result<String, AppError> {
    match e {
        e @ (AppError::Conflict(_)
        | AppError::Refused(..)
        | AppError::Validation(_)
        | AppError::NotFound) => Ok(message(&e)),
        other => Err(other),
    }
}

async fn approve_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let note = p.get("motif").cloned().unwrap_or_default();
    match s.app.approve_request(&ctx, &id, &note).await {
        Ok(a) => {
            let link = a.enrolment_token.as_deref().map(link_path);
            let msg = format!(
                "Demande approuvée : {}.{}",
                a.request.details,
                if link.is_some() {
                    " Remettez ce lien d'inscription à la personne (il n'est affiché qu'une fois, vaut 24 heures et ne sert qu'une fois) :"
                } else {
                    ""
                }
            );
            requests_view(&s, &req, Some(msg), link, None).await
        }
        Err(e) => {
            let m = decision_failed(e).map_err(|e| WebError::new(e, &req))?;
            requests_view(&s, &req, None, None, Some(m)).await
        }
    }
}

async fn refuse_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let reason = p.get("motif").cloned().unwrap_or_default();
    match s.app.refuse_request(&ctx, &id, &reason).await {
        Ok(r) => {
            requests_view(
                &s,
                &req,
                Some(format!("Demande refusée : {}.", r.details)),
                None,
                None,
            )
            .await
        }
        Err(e) => {
            let m = decision_failed(e).map_err(|e| WebError::new(e, &req))?;
            requests_view(&s, &req, None, None, Some(m)).await
        }
    }
}

// ---------- asking for an account ----------

fn account_page(req: &Req) -> ActPage {
    let roles = [
        Role::Conseiller,
        Role::Directeur,
        Role::Pilote,
        Role::Dpo,
        Role::Admin,
    ]
    .into_iter()
    .map(|r| (r.code(), r.label()));
    let mut page = ActPage::new(
        req,
        "Demander la création d'un compte",
        "/administration/demandes",
        "/administration/comptes/nouveau",
        vec![
            field("identifiant", "Identifiant de connexion", "text")
                .required()
                .autofocus()
                .hint("prenom.nom : minuscules, chiffres, point, tiret"),
            field("role", "Rôle", "select").options(roles).required(),
            field("structure", "Code de la structure", "text")
                .hint("Pour un conseiller ou un directeur (par exemple ML-PARIS)"),
            field("region", "Région", "text").hint("Pour un pilote régional"),
            field("motif", "Motif de la demande", "text")
                .required()
                .hint("Arrivée, remplacement… : la personne qui approuve le lira"),
        ],
    );
    page.submit = "Envoyer la demande";
    page
}

async fn account_form(req: Req) -> Res {
    req.authenticated()?;
    Ok(account_page(&req).respond())
}

async fn account_submit(State(s): State<AppState>, req: Req, Form(p): Form<Posted>) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    let Some(role) = Role::parse(&g("role")) else {
        let mut e = parcours_domain::ValidationErrors::default();
        e.push("role", "requis", "Choisissez un rôle.");
        return account_page(&req).failed(&req, &p, e.into());
    };
    let structure = g("structure");
    let region = g("region");
    let r = s
        .app
        .request_account(
            &ctx,
            parcours_app::setup::NewUser {
                login: &g("identifiant"),
                role,
                structure_code: Some(structure.as_str()).filter(|x| !x.trim().is_empty()),
                region: Some(region.as_str()).filter(|x| !x.trim().is_empty()),
                password: None,
            },
            &g("motif"),
        )
        .await;
    match r {
        Ok(_) => {
            requests_view(
                &s,
                &req,
                Some("Demande enregistrée : une seconde personne doit l'approuver (72 heures au plus) ; le lien d'inscription lui sera alors remis.".into()),
                None,
                None,
            )
            .await
        }
        Err(e) => account_page(&req).failed(&req, &p, e),
    }
}

// ---------- the enrolment link ----------

#[derive(Template)]
#[template(path = "inscription.html")]
struct LinkPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    action: String,
    person: String,
    reset: bool,
    error: Option<String>,
}

async fn link_render(s: &AppState, req: &Req, token: &str, error: Option<String>) -> Res {
    let info = s
        .app
        .link_info(&req.ctx(), token)
        .await
        .map_err(|e| WebError::new(e, req))?;
    // An anonymous session carries the form's CSRF token (as the login form's).
    let (csrf, cookie) = match &req.session {
        Some(sess) if sess.principal.is_none() => (sess.csrf.clone(), None),
        _ => {
            let ns = s
                .app
                .start_anonymous_session(&req.ctx())
                .await
                .map_err(|e| WebError::new(e, req))?;
            (ns.info.csrf.clone(), Some(set_cookie(&ns)))
        }
    };
    let st = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = render(&LinkPage {
        login: None,
        csrf,
        action: link_path(token),
        person: info.login,
        reset: info.purpose != "inscription",
        error,
    });
    Ok(match cookie {
        Some(c) => (st, [(header::SET_COOKIE, c)], page).into_response(),
        None => (st, page).into_response(),
    })
}

async fn link_page(State(s): State<AppState>, req: Req, Path(token): Path<String>) -> Res {
    link_render(&s, &req, &token, None).await
}

async fn link_submit(
    State(s): State<AppState>,
    req: Req,
    Path(token): Path<String>,
    Form(p): Form<Posted>,
) -> Res {
    req.check_csrf(p.get("csrf").map(String::as_str).unwrap_or(""))?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    if g("mot_de_passe") != g("confirmation") {
        return link_render(
            &s,
            &req,
            &token,
            Some("Les deux mots de passe saisis diffèrent.".into()),
        )
        .await;
    }
    match s
        .app
        .enrol_with_link(&req.ctx(), &token, &g("mot_de_passe"), true)
        .await
    {
        Ok(ns) => Ok((
            [(header::SET_COOKIE, set_cookie(&ns))],
            Redirect::to("/connexion/enrolement"),
        )
            .into_response()),
        Err(AppError::Validation(v)) => {
            let m =
                v.0.into_iter()
                    .map(|f| f.message)
                    .collect::<Vec<_>>()
                    .join(" ");
            link_render(&s, &req, &token, Some(m)).await
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LinkBody {
    jeton: String,
    mot_de_passe: String,
}

/// Uses an enrolment link; the session it opens enrols the second factor
/// (`/api/v1/session/enrolement`).
#[utoipa::path(
    post,
    path = "/api/v1/inscription",
    summary = "Utilise un lien d'inscription : choisit le mot de passe ; la session ouverte enrôle le second facteur",
    request_body = LinkBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn link_api(State(s): State<AppState>, req: Req, ApiJson(b): ApiJson<LinkBody>) -> Res {
    let ns = s
        .app
        .enrol_with_link(&req.ctx(), &b.jeton, &b.mot_de_passe, false)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok((
        [(header::SET_COOKIE, set_cookie(&ns))],
        Json(json!({"etape": ns.info.stage})),
    )
        .into_response())
}

// ---------- step-up ----------

async fn confirm_submit(State(s): State<AppState>, req: Req, Form(p): Form<Posted>) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let session = req
        .session
        .clone()
        .ok_or_else(|| WebError::new(AppError::Unauthenticated, &req))?;
    let code = p.get("code").cloned().unwrap_or_default();
    match s.app.confirm_factor(&ctx, &session, &code).await {
        Ok(()) => {
            crate::account::view(
                &s,
                &req,
                Some("Identité confirmée : les opérations sensibles vous sont ouvertes pendant 5 minutes.".into()),
                Vec::new(),
            )
            .await
        }
        Err(e @ (AppError::InvalidCode | AppError::Throttled)) => {
            crate::account::view(&s, &req, None, vec![message(&e)]).await
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CodeBody {
    code: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/session/confirmation",
    summary = "Confirme le second facteur (niveau sensible, 5 minutes)",
    request_body = CodeBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn confirm_api(State(s): State<AppState>, req: Req, ApiJson(b): ApiJson<CodeBody>) -> Res {
    let ctx = req.authenticated()?;
    let session = req
        .session
        .clone()
        .ok_or_else(|| WebError::new(AppError::Unauthenticated, &req))?;
    s.app
        .confirm_factor(&ctx, &session, &b.code)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({"valable_secondes": parcours_app::auth::STEP_UP_S})).into_response())
}

// ---------- API: requests ----------

#[utoipa::path(
    get,
    path = "/api/v1/demandes",
    summary = "Demandes à approuver (quatre yeux) visibles par le rôle",
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn requests_api(State(s): State<AppState>, req: Req) -> Res {
    let ctx = req.authenticated()?;
    let list = s
        .app
        .list_requests(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({ "demandes": list })).into_response())
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
struct NoteBody {
    motif: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/demandes/{id}/approbation",
    summary = "Approuve une demande (jamais par son auteur)",
    params(("id" = String, Path)),
    request_body = NoteBody,
    responses((status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError), (status = 200, description = "Réponse JSON")),
)]
async fn approve_api(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<NoteBody>,
) -> Res {
    let ctx = req.authenticated()?;
    let a = s
        .app
        .approve_request(&ctx, &id, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({
        "demande": a.request,
        "lien_inscription": a.enrolment_token.as_deref().map(link_path),
        "jeton_inscription": a.enrolment_token,
    }))
    .into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/demandes/{id}/refus",
    summary = "Refuse une demande",
    params(("id" = String, Path)),
    request_body = NoteBody,
    responses((status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError), (status = 200, description = "Réponse JSON")),
)]
async fn refuse_api(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<NoteBody>,
) -> Res {
    let ctx = req.authenticated()?;
    let r = s
        .app
        .refuse_request(&ctx, &id, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(Json(json!({ "demande": r })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AccountBody {
    identifiant: String,
    role: String,
    #[serde(default)]
    structure: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    motif: String,
}

fn role_of(code: &str, req: &Req) -> Result<Role, WebError> {
    Role::parse(code).ok_or_else(|| {
        let mut e = parcours_domain::ValidationErrors::default();
        e.push(
            "role",
            "invalide",
            "Rôle : conseiller, directeur, pilote, dpo ou admin.",
        );
        WebError::new(e.into(), req)
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/comptes",
    summary = "Demande la création d'un compte (quatre yeux)",
    request_body = AccountBody,
    responses((status = 202, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn account_api(State(s): State<AppState>, req: Req, ApiJson(b): ApiJson<AccountBody>) -> Res {
    let ctx = req.authenticated()?;
    let role = role_of(&b.role, &req)?;
    let r = s
        .app
        .request_account(
            &ctx,
            parcours_app::setup::NewUser {
                login: &b.identifiant,
                role,
                structure_code: b.structure.as_deref(),
                region: b.region.as_deref(),
                password: None,
            },
            &b.motif,
        )
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "demande": r }))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RoleBody {
    role: String,
    #[serde(default)]
    structure: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    motif: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/comptes/{login}/role",
    summary = "Demande un changement de rôle ou de périmètre (quatre yeux)",
    params(("login" = String, Path)),
    request_body = RoleBody,
    responses((status = 202, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn role_api(
    State(s): State<AppState>,
    req: Req,
    Path(login): Path<String>,
    ApiJson(b): ApiJson<RoleBody>,
) -> Res {
    let ctx = req.authenticated()?;
    let role = role_of(&b.role, &req)?;
    let r = s
        .app
        .request_role_change(
            &ctx,
            &login,
            role,
            b.structure.as_deref(),
            b.region.as_deref(),
            &b.motif,
        )
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "demande": r }))).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/comptes/{login}/reinitialisation",
    summary = "Demande la réinitialisation du mot de passe et du second facteur (quatre yeux)",
    params(("login" = String, Path)),
    request_body = NoteBody,
    responses((status = 202, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn reset_api(
    State(s): State<AppState>,
    req: Req,
    Path(login): Path<String>,
    ApiJson(b): ApiJson<NoteBody>,
) -> Res {
    let ctx = req.authenticated()?;
    let r = s
        .app
        .request_reset(&ctx, &login, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "demande": r }))).into_response())
}

// ---------- the payment file ----------

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
struct BatchBody {
    mois: String,
    format: String,
    motif: String,
    /// Optional: a second-factor code entered with the request (step-up in one go).
    code: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/allocations/lot/demande",
    summary = "Demande le fichier du lot de paiement d'un mois (quatre yeux, second facteur récent)",
    request_body = BatchBody,
    responses((status = 202, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn batch_request_api(
    State(s): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<BatchBody>,
) -> Res {
    let ctx = req.authenticated()?;
    let r = s
        .app
        .request_batch_export(&ctx, &b.mois, &b.format, &b.motif)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "demande": r }))).into_response())
}

/// The file, once its request is approved, with a fresh second factor (entered before through
/// `/session/confirmation`, or here as `code`).
async fn batch_file(s: &AppState, req: &Req, ctx: Ctx, b: &BatchBody) -> Res {
    let ctx = crate::work::form::with_code(&s.app, req, ctx, &b.code)
        .await
        .map_err(|e| WebError::new(e, req))?;
    let file = match b.format.as_str() {
        "csv" => "csv",
        "pain001" => "pain001",
        _ => {
            let mut e = parcours_domain::ValidationErrors::default();
            e.push("format", "invalide", "Format : csv ou pain001.");
            return Err(WebError::new(e.into(), req));
        }
    };
    let batch = s
        .app
        .payment_batch(&ctx, &b.mois, Some(file), &b.motif)
        .await
        .map_err(|e| WebError::new(e, req))?;
    let (ct, name, body) = if file == "csv" {
        (
            "text/csv; charset=utf-8",
            format!("allocations-{}.csv", batch.month),
            batch.csv,
        )
    } else {
        match batch.pain001 {
            Some(x) => (
                "application/xml",
                format!("virements-sepa-{}.xml", batch.month),
                x,
            ),
            None => return Err(WebError::new(
                AppError::Refused(parcours_app::Rule::NothingToPay, "Pas de fichier SEPA : aucun virement avec IBAN approuvé ce mois-ci, ou compte payeur non configuré (parcours payeur definir).".into()),
                req,
            )),
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, ct.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/allocations/lot/fichier",
    summary = "Télécharge le fichier du lot approuvé (une seule fois)",
    request_body = BatchBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn batch_file_api(
    State(s): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<BatchBody>,
) -> Res {
    let ctx = req.authenticated()?;
    batch_file(&s, &req, ctx, &b).await
}

fn batch_body(p: &Posted) -> BatchBody {
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    BatchBody {
        mois: g("mois"),
        format: g("format"),
        motif: g("motif"),
        code: g("code"),
    }
}

async fn batch_request_submit(State(s): State<AppState>, req: Req, Form(p): Form<Posted>) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let b = batch_body(&p);
    let (msg, err) = match s
        .app
        .request_batch_export(&ctx, &b.mois, &b.format, &b.motif)
        .await
    {
        Ok(_) => (
            Some("Demande enregistrée : un autre directeur de la structure ou le DPO l'approuve ; vous pourrez ensuite télécharger le fichier une fois.".to_string()),
            None,
        ),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => (None, Some(message(&e))),
        Err(e) => return Err(WebError::new(e, &req)),
    };
    crate::work::structure::batch_view(&s, &req, &b.mois, msg, err).await
}

async fn batch_file_submit(State(s): State<AppState>, req: Req, Form(p): Form<Posted>) -> Res {
    let ctx = posted_ctx(&req, &p)?;
    let b = batch_body(&p);
    // The file names people and carries their IBANs: it is produced only once its contents are
    // confirmed in words (the page's box), on top of the approval and the second factor.
    if p.get("confirmer").map(String::as_str) != Some("oui") {
        return crate::work::structure::batch_view(
            &s,
            &req,
            &b.mois,
            None,
            Some("Cochez la confirmation : le fichier contient les noms et les IBAN des jeunes du lot, et ne se télécharge qu'une fois.".into()),
        )
        .await;
    }
    match batch_file(&s, &req, ctx, &b).await {
        Ok(r) => Ok(r),
        Err(e)
            if matches!(
                e.error,
                AppError::Validation(_)
                    | AppError::Conflict(_)
                    | AppError::Refused(..)
                    | AppError::InvalidCode
                    | AppError::StepUpRequired
            ) =>
        {
            crate::work::structure::batch_view(&s, &req, &b.mois, None, Some(message(&e.error)))
                .await
        }
        Err(e) => Err(e),
    }
}
