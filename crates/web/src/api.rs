//! JSON API `/api/v1`: the same use cases as the pages. Errors are
//! `{"code", "message", "request_id", "champs"?}` with stable codes (see the OpenAPI document).
//! Malformed JSON (including invalid UTF-8) gets `json_invalide`, never a 500.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use parcours_app::jeunes::SearchQuery;
use parcours_app::AppError;
use parcours_domain::jeune::JeuneInput;
use serde::Deserialize;
use serde_json::json;

use crate::error::WebError;
use crate::request::{clear_cookie, set_cookie, Req};
use crate::AppState;

pub fn routes() -> crate::routes::Routes {
    crate::routes::Routes::new()
        .route("/openapi.json", get(openapi))
        .route("/session", post(login).delete(logout))
        .route("/session/code", post(code))
        .route("/session/enrolement", get(enrol_start).post(enrol_confirm))
        .route("/structures", get(structures))
        .route("/jeunes", get(list).post(create))
        .route("/jeunes/recherche", get(search))
        .route("/jeunes/{id}", get(show).put(update))
}

type ApiResult = Result<Response, WebError>;

/// A path or query parameter that does not parse (a phase number `-1`, a page `abc`): the API's
/// error shape with `parametre_invalide`, instead of axum's plain-text rejection.
pub(crate) fn bad_parameter(detail: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"code": "parametre_invalide", "message": format!("Paramètre invalide : {detail}")})
            .to_string(),
    )
        .into_response()
}

/// `Path` with our error shape on a parameter that does not parse.
pub struct ApiPath<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S>
    for ApiPath<T>
{
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(_) => Err(bad_parameter("chemin")),
        }
    }
}

/// `Query` with our error shape on a parameter that does not parse.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(_) => Err(bad_parameter("requête")),
        }
    }
}

/// `Json` with our error shape on bad input.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                let (status, code, msg) = match &rej {
                    JsonRejection::MissingJsonContentType(_) => (
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "type_contenu",
                        "Le corps doit être du JSON (Content-Type: application/json).",
                    ),
                    JsonRejection::BytesRejection(_) => (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "corps_trop_gros",
                        "Corps de requête trop volumineux (1 Mio au plus).",
                    ),
                    _ => (
                        StatusCode::BAD_REQUEST,
                        "json_invalide",
                        "Corps JSON illisible ou mal formé.",
                    ),
                };
                let status = if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    status
                };
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "corps_trop_gros"
                } else {
                    code
                };
                Err((
                    status,
                    [(header::CONTENT_TYPE, "application/json")],
                    json!({"code": code, "message": msg}).to_string(),
                )
                    .into_response())
            }
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    summary = "Ce document",
    responses((status = 200, description = "OpenAPI")),
)]
async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document(),
    )
        .into_response()
}

fn err(req: &Req) -> impl Fn(AppError) -> WebError + '_ {
    move |e| WebError::new(e, req)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginBody {
    identifiant: String,
    mot_de_passe: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/session",
    summary = "Premier facteur (identifiant, mot de passe)",
    request_body = LoginBody,
    responses((status = 200, description = "Étape suivante : code ou enrolement"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 429, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn login(State(s): State<AppState>, req: Req, ApiJson(b): ApiJson<LoginBody>) -> ApiResult {
    let ns = s
        .app
        .login_password(
            &req.ctx(),
            req.session.as_ref(),
            &b.identifiant,
            &b.mot_de_passe,
            &req.client,
        )
        .await
        .map_err(err(&req))?;
    Ok((
        [(header::SET_COOKIE, set_cookie(&ns))],
        Json(json!({"etape": ns.info.stage})),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CodeBody {
    code: String,
}

fn session_at(
    req: &Req,
    stage: parcours_app::auth::Stage,
) -> Result<parcours_app::auth::SessionInfo, WebError> {
    req.session
        .clone()
        .filter(|s| s.stage == stage)
        .ok_or_else(|| WebError::new(AppError::Unauthenticated, req))
}

#[utoipa::path(
    post,
    path = "/api/v1/session/code",
    summary = "Second facteur (code TOTP à usage unique)",
    request_body = CodeBody,
    responses((status = 200, description = "Authentifié"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 429, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn code(State(s): State<AppState>, req: Req, ApiJson(b): ApiJson<CodeBody>) -> ApiResult {
    let session = session_at(&req, parcours_app::auth::STAGE_CODE)?;
    let ns = s
        .app
        .login_code(&req.ctx(), &session, &b.code, false)
        .await
        .map_err(err(&req))?;
    Ok((
        [(header::SET_COOKIE, set_cookie(&ns))],
        Json(json!({"etape": ns.info.stage})),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/session/enrolement",
    summary = "Secret TOTP à enrôler (première connexion)",
    responses((status = 200, description = "secret (base32) et URL otpauth"), (status = 401, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn enrol_start(State(s): State<AppState>, req: Req) -> ApiResult {
    let session = session_at(&req, parcours_app::auth::STAGE_ENROL)?;
    let e = s.app.enrolment_start(&session).await.map_err(err(&req))?;
    Ok(Json(json!({"secret": e.secret_base32, "otpauth": e.otpauth_url})).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/session/enrolement",
    summary = "Confirme l'enrôlement par un premier code",
    request_body = CodeBody,
    responses((status = 200, description = "Authentifié"), (status = 401, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn enrol_confirm(
    State(s): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<CodeBody>,
) -> ApiResult {
    let session = session_at(&req, parcours_app::auth::STAGE_ENROL)?;
    let ns = s
        .app
        .enrolment_confirm(&req.ctx(), &session, &b.code, false)
        .await
        .map_err(err(&req))?;
    Ok((
        [(header::SET_COOKIE, set_cookie(&ns))],
        Json(json!({"etape": ns.info.stage})),
    )
        .into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/session",
    summary = "Déconnexion",
    responses((status = 204, description = "Session détruite")),
)]
async fn logout(State(s): State<AppState>, req: Req) -> ApiResult {
    if let Some(session) = &req.session {
        s.app.logout(&req.ctx(), session).await.map_err(err(&req))?;
    }
    Ok((
        [(header::SET_COOKIE, clear_cookie())],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/structures",
    summary = "Liste des structures",
    responses((status = 200, description = "Structures"), (status = 401, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn structures(State(s): State<AppState>, req: Req) -> ApiResult {
    req.authenticated()?;
    Ok(Json(s.app.list_structures().await.map_err(err(&req))?).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    #[serde(default)]
    page: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/jeunes",
    summary = "Dossiers récents de la structure (50 par page)",
    params(PageQuery),
    responses((status = 200, description = "Page de dossiers"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn list(State(s): State<AppState>, req: Req, ApiQuery(p): ApiQuery<PageQuery>) -> ApiResult {
    let ctx = req.authenticated()?;
    let (rows, total) = s.app.list_jeunes(&ctx, p.page).await.map_err(err(&req))?;
    Ok(Json(json!({"total": total, "page": p.page.max(0), "dossiers": rows})).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/jeunes/recherche",
    summary = "Recherche (accents et casse ignorés)",
    params(SearchQuery),
    responses((status = 200, description = "Dossiers trouvés"), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn search(
    State(s): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    let r = s.app.search_jeunes(&ctx, &q).await.map_err(err(&req))?;
    Ok(
        Json(json!({"dossiers": r.candidates, "total": r.total, "page": r.page, "pages": r.pages}))
            .into_response(),
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CreateBody {
    #[serde(flatten)]
    input: JeuneInput,
    #[serde(default)]
    confirmer_doublon: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/jeunes",
    summary = "Crée un dossier",
    request_body = CreateBody,
    responses((status = 201, description = "Créé (id, version, avertissements)"), (status = 409, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn create(State(s): State<AppState>, req: Req, ApiJson(b): ApiJson<CreateBody>) -> ApiResult {
    let ctx = req.authenticated()?;
    let saved = s
        .app
        .create_jeune(&ctx, &b.input, b.confirmer_doublon)
        .await
        .map_err(err(&req))?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/jeunes/{id}",
    summary = "Ouvre un dossier (consultation journalisée)",
    params(("id" = String, Path)),
    responses((status = 200, description = "Dossier"), (status = 404, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn show(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(s.app.get_jeune(&ctx, &id).await.map_err(err(&req))?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct UpdateBody {
    #[serde(flatten)]
    input: JeuneInput,
    version: i64,
}

#[utoipa::path(
    put,
    path = "/api/v1/jeunes/{id}",
    summary = "Modifie un dossier (version attendue)",
    params(("id" = String, Path)),
    request_body = UpdateBody,
    responses((status = 200, description = "Modifié"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 409, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn update(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UpdateBody>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(
        s.app
            .update_jeune(&ctx, &id, b.version, &b.input)
            .await
            .map_err(err(&req))?,
    )
    .into_response())
}
