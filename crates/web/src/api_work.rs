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

async fn caseload(State(s): State<AppState>, req: Req) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(call!(req, s.app.caseload(&ctx))).into_response())
}

async fn dossier(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(call!(req, s.app.open_dossier(&ctx, &id))).into_response())
}

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

async fn situation_history(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(json!({ "versions": call!(req, s.app.situation_history(&ctx, &id)) })).into_response())
}

async fn legal_rep(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<LegalRepInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.add_legal_rep(&ctx, &id, &b))))
}

#[derive(Deserialize)]
struct TransferBody {
    structure: String,
}

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

async fn add_entry(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<EntryInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.add_entry(&ctx, &id, &b))))
}

#[derive(Deserialize)]
struct StatusBody {
    statut: String,
    version: i64,
}

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

async fn enter_programme(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ProgrammeInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.enter_programme(&ctx, &id, &b))))
}

#[derive(Deserialize)]
struct ExtendBody {
    date_fin: String,
    #[serde(default)]
    motif: String,
    version: i64,
}

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

#[derive(Deserialize)]
struct WeekBody {
    semaine: String,
    #[serde(default)]
    prevues: String,
    #[serde(default)]
    realisees: String,
}

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

#[derive(Deserialize, Default)]
#[serde(default)]
struct PreviewQuery {
    mois: String,
    #[serde(flatten)]
    ressources: parcours_app::allowances::ResourcesInput,
    montant_demande: String,
}

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

async fn decide_allowance(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DecisionInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(call!(req, s.app.decide_allowance(&ctx, &id, &b))).into_response())
}

#[derive(Deserialize)]
struct IbanBody {
    iban: String,
    #[serde(default)]
    bic: String,
    /// Why (the sensitive tier: with a second factor confirmed in the last 5 minutes).
    #[serde(default)]
    motif: String,
}

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

#[derive(Deserialize)]
struct NirBody {
    nir: String,
    #[serde(default)]
    motif: String,
}

/// The NIR (sensitive tier: a second factor confirmed in the last 5 minutes and a reason).
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

#[derive(Deserialize)]
struct ReasonOnly {
    #[serde(default)]
    motif: String,
}

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

#[derive(Deserialize, Default)]
#[serde(default)]
struct MonthQuery {
    mois: String,
    format: String,
}

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

async fn companies(State(s): State<AppState>, req: Req) -> ApiResult {
    let ctx = req.authenticated()?;
    let rows = call!(req, s.app.list_companies(&ctx));
    let list: Vec<_> = rows
        .into_iter()
        .map(|c| json!({"id": c.id, "siret": c.siret, "nom": c.name, "naf": c.naf, "adresse": c.address}))
        .collect();
    Ok(Json(json!({ "entreprises": list })).into_response())
}

async fn create_company(
    State(s): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<CompanyInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.create_company(&ctx, &b))))
}

async fn company(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(call!(req, s.app.get_company(&ctx, &id))).into_response())
}

async fn add_contact(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ContactInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.add_contact(&ctx, &id, &b))))
}

async fn add_offer(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<OfferInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.add_offer(&ctx, &id, &b))))
}

async fn create_immersion(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ImmersionInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.create_immersion(&ctx, &id, &b))))
}

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

async fn workshops(State(s): State<AppState>, req: Req) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(Json(json!({ "ateliers": call!(req, s.app.upcoming_workshops(&ctx)) })).into_response())
}

async fn create_workshop(
    State(s): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<WorkshopInput>,
) -> ApiResult {
    let ctx = req.authenticated()?;
    Ok(created(call!(req, s.app.create_workshop(&ctx, &b))))
}

#[derive(Deserialize)]
struct RegisterBody {
    jeune: String,
    #[serde(default)]
    statut: String,
}

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

#[derive(Deserialize)]
struct PhaseBody {
    date_debut: String,
    date_fin: String,
    objectifs: String,
    version: i64,
}

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

#[derive(Deserialize)]
struct EvaluationBody {
    evaluation: String,
    version: i64,
}

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
