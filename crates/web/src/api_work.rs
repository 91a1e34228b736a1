//! JSON API for the advisor's daily work (mounted under `/api/v1` with [`crate::api`]): the
//! full dossier, situation, legal representatives, transfer, timeline entries, programmes and
//! CEJ weeks, allowances and the payment batch, companies, immersions, workshops, caseload.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Json;
use parcours_app::allowances::DecisionInput;
use parcours_app::companies::{CompanyInput, ContactInput, ImmersionInput, OfferInput};
use parcours_app::programmes::ProgrammeInput;
use parcours_app::workshops::WorkshopInput;
use parcours_domain::situation::{LegalRepInput, SituationInput};
use parcours_domain::timeline::EntryInput;
use serde::Deserialize;
use serde_json::json;

use crate::api::ApiJson;
use crate::error::WebError;
use crate::request::Req;
use crate::AppState;

pub fn routes() -> crate::routes::Routes {
    crate::routes::Routes::new()
        .route("/portefeuille", get(caseload))
        .route("/jeunes/{id}/dossier", get(dossier))
        .route("/jeunes/{id}/situation", put(situation))
        .route("/jeunes/{id}/situation/historique", get(situation_history))
        .route("/jeunes/{id}/representants", post(legal_rep))
        .route("/jeunes/{id}/transfert", post(transfer))
        .route("/jeunes/{id}/entrees", post(add_entry))
        .route("/entrees/{id}/statut", put(entry_status))
        .route("/jeunes/{id}/dispositifs", post(enter_programme))
        .route("/dispositifs/{id}/fin-prevue", put(extend_programme))
        .route("/dispositifs/{id}/semaines", put(record_week))
        .route("/dispositifs/{id}/phases", post(add_phase))
        .route("/dispositifs/{id}/phases/{n}", put(evaluate_phase))
        .route("/jeunes/{id}/allocations/calcul", get(preview_allowance))
        .route("/jeunes/{id}/allocations", post(decide_allowance))
        .route("/jeunes/{id}/iban", put(set_iban))
        .route("/jeunes/{id}/nir", put(set_nir))
        .route("/jeunes/{id}/nir/revelation", post(reveal_nir))
        .route("/allocations", get(month_allowances))
        .route("/allocations/lot", get(batch))
        .route("/entreprises", get(companies).post(create_company))
        .route("/entreprises/{id}", get(company))
        .route("/entreprises/{id}/contacts", post(add_contact))
        .route("/entreprises/{id}/offres", post(add_offer))
        .route("/jeunes/{id}/immersions", post(create_immersion))
        .route("/immersions/{id}/statut", put(immersion_status))
        .route("/ateliers", get(workshops).post(create_workshop))
        .route("/ateliers/{id}/inscriptions", post(register))
}

type ApiResult = Result<Response, WebError>;

fn created(id: String) -> Response {
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

macro_rules! call {
    ($req:expr, $e:expr) => {
        $e.await.map_err(|e| WebError::new(e, &$req))?
    };
}

#[utoipa::path(
    get,
    path = "/api/v1/portefeuille",
    summary = "Mon portefeuille : dossiers dont je suis référent et ce qui est à faire (rendez-vous du jour, heures CEJ manquantes, fins de contrat, allocations à décider)",
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn caseload(State(s): State<AppState>, req: Req) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(call!(req, s.app.caseload(&ctx))).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/jeunes/{id}/dossier",
    summary = "Dossier complet : identité, situation, représentants légaux, dispositifs, chronologie, allocations, immersions, ateliers (consultation journalisée)",
    params(("id" = String, Path)),
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn dossier(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(call!(req, s.app.open_dossier(&ctx, &id))).into_response())
}

#[utoipa::path(
    put,
    path = "/api/v1/jeunes/{id}/situation",
    summary = "Enregistre une nouvelle version de la situation (historisée)",
    params(("id" = String, Path)),
    request_body = SituationInput,
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn situation(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SituationInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    let v = call!(req, s.app.save_situation(&ctx, &id, &b));
    Ok(Json(json!({ "version": v })).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/jeunes/{id}/situation/historique",
    summary = "Historique des versions de la situation (qui, quand, quels champs)",
    params(("id" = String, Path)),
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn situation_history(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(json!({ "versions": call!(req, s.app.situation_history(&ctx, &id)) })).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/jeunes/{id}/representants",
    summary = "Ajoute un représentant légal (chiffré)",
    params(("id" = String, Path)),
    request_body = LegalRepInput,
    responses((status = 201, description = "Créé"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn legal_rep(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<LegalRepInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.add_legal_rep(&ctx, &id, &b))))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TransferBody {
    structure: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/jeunes/{id}/transfert",
    summary = "Transfère le dossier et son historique vers une autre Mission Locale (journalisé des deux côtés)",
    params(("id" = String, Path)),
    request_body = TransferBody,
    responses((status = 204, description = "Transféré"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn transfer(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TransferBody>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    call!(req, s.app.transfer_jeune(&ctx, &id, &b.structure));
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/jeunes/{id}/entrees",
    summary = "Ajoute une entrée à la chronologie : événement, rendez-vous, situation, proposition, phase, sortie ou note",
    params(("id" = String, Path)),
    request_body = EntryInput,
    responses((status = 201, description = "Créé"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn add_entry(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<EntryInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.add_entry(&ctx, &id, &b))))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct StatusBody {
    statut: String,
    version: i64,
}

#[utoipa::path(
    put,
    path = "/api/v1/entrees/{id}/statut",
    summary = "Change le statut d'un rendez-vous, d'une situation ou d'une proposition",
    params(("id" = String, Path)),
    request_body = StatusBody,
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn entry_status(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<StatusBody>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    let v = call!(req, s.app.set_entry_status(&ctx, &id, b.version, &b.statut));
    Ok(Json(json!({ "version": v })).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/jeunes/{id}/dispositifs",
    summary = "Entrée en dispositif (CEJ, PACEA, autres) avec ses règles",
    params(("id" = String, Path)),
    request_body = ProgrammeInput,
    responses((status = 201, description = "Créé"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn enter_programme(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ProgrammeInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.enter_programme(&ctx, &id, &b))))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ExtendBody {
    date_fin: String,
    #[serde(default)]
    motif: String,
    version: i64,
}

#[utoipa::path(
    put,
    path = "/api/v1/dispositifs/{id}/fin-prevue",
    summary = "Prolonge un dispositif (CEJ au-delà de 12 mois sur décision motivée, 18 au plus)",
    params(("id" = String, Path)),
    request_body = ExtendBody,
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn extend_programme(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ExtendBody>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    let v = call!(
        req,
        s.app
            .extend_programme(&ctx, &id, b.version, &b.date_fin, &b.motif)
    );
    Ok(Json(json!({ "version": v })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct WeekBody {
    semaine: String,
    #[serde(default)]
    prevues: String,
    #[serde(default)]
    realisees: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/dispositifs/{id}/semaines",
    summary = "Heures CEJ prévues et réalisées d'une semaine (lundi)",
    params(("id" = String, Path)),
    request_body = WeekBody,
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn record_week(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<WeekBody>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(call!(
        req,
        s.app
            .record_week(&ctx, &id, &b.semaine, &b.prevues, &b.realisees)
    ))
    .into_response())
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct PreviewQuery {
    mois: String,
    #[serde(flatten)]
    ressources: parcours_app::allowances::ResourcesInput,
    montant_demande: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/jeunes/{id}/allocations/calcul",
    summary = "Calcule l'allocation d'un mois avec le détail du calcul, et la décision déjà prise (`current`) s'il y en a une",
    params(("id" = String, Path), PreviewQuery),
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn preview_allowance(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    crate::api::ApiQuery(q): crate::api::ApiQuery<PreviewQuery>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(call!(
        req,
        s.app
            .preview_allowance(&ctx, &id, &q.mois, &q.ressources, &q.montant_demande)
    ))
    .into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/jeunes/{id}/allocations",
    summary = "Décision d'allocation du mois (attribuée, réduite, suspendue)",
    params(("id" = String, Path)),
    request_body = DecisionInput,
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn decide_allowance(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DecisionInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(call!(req, s.app.decide_allowance(&ctx, &id, &b))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct IbanBody {
    iban: String,
    #[serde(default)]
    bic: String,
    /// Why (the sensitive tier: with a second factor confirmed in the last 5 minutes).
    #[serde(default)]
    motif: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/jeunes/{id}/iban",
    summary = "Enregistre l'IBAN (niveau sensible, jamais réaffiché)",
    params(("id" = String, Path)),
    request_body = IbanBody,
    responses((status = 204, description = "Enregistré"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn set_iban(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<IbanBody>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    call!(
        req,
        s.app.set_bank_account(&ctx, &id, &b.iban, &b.bic, &b.motif)
    );
    // Accepted: the IBAN is paid once a second person approves it.
    Ok(StatusCode::ACCEPTED.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NirBody {
    nir: String,
    #[serde(default)]
    motif: String,
}

/// The NIR (sensitive tier: a second factor confirmed in the last 5 minutes and a reason).
#[utoipa::path(
    put,
    path = "/api/v1/jeunes/{id}/nir",
    summary = "Enregistre le NIR (niveau sensible : second facteur des 5 dernières minutes, motif)",
    params(("id" = String, Path)),
    request_body = NirBody,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn set_nir(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<NirBody>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    call!(req, s.app.set_nir(&ctx, &id, &b.nir, &b.motif));
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ReasonOnly {
    #[serde(default)]
    motif: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/jeunes/{id}/nir/revelation",
    summary = "Affiche le NIR en clair (motif, audité)",
    params(("id" = String, Path)),
    request_body = ReasonOnly,
    responses((status = 200, description = "Réponse JSON"), (status = 401, description = "Erreur", body = crate::openapi::ApiError), (status = 403, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn reveal_nir(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReasonOnly>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    let nir = call!(req, s.app.reveal_nir(&ctx, &id, &b.motif));
    Ok(Json(json!({ "nir": nir })).into_response())
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct MonthQuery {
    mois: String,
    format: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/allocations",
    summary = "Allocations du mois pour la structure",
    params(MonthQuery),
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn month_allowances(
    State(s): State<AppState>,
    req: Req,
    crate::api::ApiQuery(q): crate::api::ApiQuery<MonthQuery>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(
        Json(
            json!({ "mois": q.mois, "lignes": call!(req, s.app.month_allowances(&ctx, &q.mois)) }),
        )
        .into_response(),
    )
}

/// The payment batch preview (JSON, lines without IBANs). The files with IBANs are
/// `POST /allocations/lot/fichier` (four eyes, step-up, once).
#[utoipa::path(
    get,
    path = "/api/v1/allocations/lot",
    summary = "Lot de paiement du mois (directeur) : JSON, CSV (format=csv) ou SEPA pain.001 (format=pain001)",
    params(MonthQuery),
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn batch(
    State(s): State<AppState>,
    req: Req,
    crate::api::ApiQuery(q): crate::api::ApiQuery<MonthQuery>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    if !q.format.is_empty() && q.format != "json" {
        return Err(WebError::new(
            parcours_app::AppError::Refused(
                parcours_app::Rule::NotApproved,
                "Les fichiers avec IBAN se demandent (POST /api/v1/allocations/lot/demande) puis se téléchargent une fois approuvés (POST /api/v1/allocations/lot/fichier).".into(),
            ),
            &req,
        ));
    }
    let b = call!(req, s.app.payment_batch(&ctx, &q.mois, None, ""));
    Ok(Json(json!(b)).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/entreprises",
    summary = "Entreprises partenaires de la structure",
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn companies(State(s): State<AppState>, req: Req) -> ApiResult {
    let ctx = req.authenticated()?;
    let rows = call!(req, s.app.list_companies(&ctx));
    let list: Vec<_> = rows
        .into_iter()
        .map(|c| json!({"id": c.id, "siret": c.siret, "nom": c.name, "naf": c.naf, "adresse": c.address}))
        .collect();
    Ok(Json(json!({ "entreprises": list })).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/entreprises",
    summary = "Crée une entreprise (SIRET vérifié)",
    request_body = CompanyInput,
    responses((status = 201, description = "Créé"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn create_company(
    State(s): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<CompanyInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.create_company(&ctx, &b))))
}

#[utoipa::path(
    get,
    path = "/api/v1/entreprises/{id}",
    summary = "Entreprise avec contacts (chiffrés, consultation journalisée), offres et immersions",
    params(("id" = String, Path)),
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn company(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(call!(req, s.app.get_company(&ctx, &id))).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/entreprises/{id}/contacts",
    summary = "Ajoute un contact (chiffré)",
    params(("id" = String, Path)),
    request_body = ContactInput,
    responses((status = 201, description = "Créé"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn add_contact(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ContactInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.add_contact(&ctx, &id, &b))))
}

#[utoipa::path(
    post,
    path = "/api/v1/entreprises/{id}/offres",
    summary = "Ajoute une offre",
    params(("id" = String, Path)),
    request_body = OfferInput,
    responses((status = 201, description = "Créé"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn add_offer(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<OfferInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.add_offer(&ctx, &id, &b))))
}

#[utoipa::path(
    post,
    path = "/api/v1/jeunes/{id}/immersions",
    summary = "Planifie une immersion PMSMP (30 jours au plus)",
    params(("id" = String, Path)),
    request_body = ImmersionInput,
    responses((status = 201, description = "Créé"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn create_immersion(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ImmersionInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.create_immersion(&ctx, &id, &b))))
}

#[utoipa::path(
    put,
    path = "/api/v1/immersions/{id}/statut",
    summary = "Change le statut d'une immersion",
    params(("id" = String, Path)),
    request_body = StatusBody,
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn immersion_status(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<StatusBody>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    let v = call!(
        req,
        s.app.set_immersion_status(&ctx, &id, b.version, &b.statut)
    );
    Ok(Json(json!({ "version": v })).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/ateliers",
    summary = "Ateliers à venir avec places prises",
    responses((status = 200, description = "OK"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn workshops(State(s): State<AppState>, req: Req) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(json!({ "ateliers": call!(req, s.app.upcoming_workshops(&ctx)) })).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/ateliers",
    summary = "Crée un atelier",
    request_body = WorkshopInput,
    responses((status = 201, description = "Créé"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn create_workshop(
    State(s): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<WorkshopInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.create_workshop(&ctx, &b))))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RegisterBody {
    jeune: String,
    #[serde(default)]
    statut: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/ateliers/{id}/inscriptions",
    summary = "Inscrit un jeune ou change le statut de son inscription",
    params(("id" = String, Path)),
    request_body = RegisterBody,
    responses((status = 204, description = "Enregistré"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn register(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RegisterBody>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    call!(req, s.app.register_workshop(&ctx, &id, &b.jeune, &b.statut));
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PhaseBody {
    date_debut: String,
    date_fin: String,
    objectifs: String,
    version: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/dispositifs/{id}/phases",
    summary = "Ajoute une phase au PACEA (dans les dates du dispositif, sans chevauchement) avec ses objectifs (chiffrés)",
    params(("id" = String, Path)),
    request_body = PhaseBody,
    responses((status = 200, description = "Nouvelle version"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 409, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn add_phase(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PhaseBody>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    let v = call!(
        req,
        s.app.add_pacea_phase(
            &ctx,
            &id,
            b.version,
            &b.date_debut,
            &b.date_fin,
            &b.objectifs
        )
    );
    Ok(Json(json!({ "version": v })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct EvaluationBody {
    evaluation: String,
    version: i64,
}

#[utoipa::path(
    put,
    path = "/api/v1/dispositifs/{id}/phases/{n}",
    summary = "Évaluation de fin de la phase n (0 = la première)",
    params(("id" = String, Path), ("n" = usize, Path)),
    request_body = EvaluationBody,
    responses((status = 200, description = "Nouvelle version"), (status = 404, description = "Erreur", body = crate::openapi::ApiError), (status = 409, description = "Erreur", body = crate::openapi::ApiError), (status = 422, description = "Erreur", body = crate::openapi::ApiError)),
)]
async fn evaluate_phase(
    State(s): State<AppState>,
    req: Req,
    crate::api::ApiPath((id, n)): crate::api::ApiPath<(String, usize)>,
    ApiJson(b): ApiJson<EvaluationBody>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    let v = call!(
        req,
        s.app
            .evaluate_pacea_phase(&ctx, &id, b.version, n, &b.evaluation)
    );
    Ok(Json(json!({ "version": v })).into_response())
}
