//! Programmes (CEJ, PACEA): entry, extension, the CEJ weeks, phases and their evaluation.

use super::{back, saved, version_of, yes_no};
use crate::error::WebError;
use crate::request::Req;
use crate::work::form::{field, input, opts, posted_ctx, ActPage, Posted};
use crate::work::{safe_id, PageResult};
use crate::AppState;
use axum::extract::Path;
use axum::extract::Query;
use axum::extract::State;
use axum::Form;
use parcours_app::programmes::ProgrammeInput;
use parcours_domain::vocab::{ProgrammeKind, TaxSituation};
use serde::Deserialize;

fn programme_page(req: &Req, id: &str) -> ActPage {
    let today = req.now.date_naive().format("%Y-%m-%d").to_string();
    ActPage::new(
        req,
        "Entrée en dispositif",
        back(id),
        format!("/jeunes/{}/dispositif", safe_id(id)),
        vec![
            field("kind", "Dispositif", "text")
                .options(opts(
                    ProgrammeKind::ALL,
                    ProgrammeKind::code,
                    ProgrammeKind::label,
                ))
                .value("cej")
                .required()
                .autofocus(),
            field("date_debut", "Date de signature / début", "date")
                .value(today)
                .required(),
            field("date_fin", "Fin prévue", "date").hint(
                "Vide : 12 mois. CEJ : 12 mois, 18 sur décision motivée ; PACEA : 24 mois au plus",
            ),
            field(
                "situation_fiscale",
                "Situation fiscale du foyer (CEJ)",
                "text",
            )
            .options(opts(
                TaxSituation::ALL,
                TaxSituation::code,
                TaxSituation::label,
            )),
            field("etudiant", "Étudiant", "text")
                .options(yes_no())
                .value("non"),
            field(
                "motif",
                "Motif (prolongation) ou objectifs (PACEA)",
                "textarea",
            ),
        ],
    )
}

pub async fn programme_form(req: Req, Path(id): Path<String>) -> PageResult {
    req.authenticated()?;
    Ok(programme_page(&req, &id).respond())
}

pub async fn programme_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let i: ProgrammeInput = input(&p, &req)?;
    match s.app.enter_programme(&ctx, &id, &i).await {
        Ok(_) => Ok(saved(&id)),
        Err(e) => programme_page(&req, &id).failed(&req, &p, e),
    }
}

#[derive(Deserialize, Default)]
pub struct ExtendQuery {
    #[serde(default)]
    jeune: String,
    #[serde(default)]
    version: String,
}

fn extend_page(req: &Req, programme: &str, jeune: &str, version: &str) -> ActPage {
    let mut page = ActPage::new(
        req,
        "Prolonger le dispositif",
        back(jeune),
        format!("/dispositifs/{}/prolongation", safe_id(programme)),
        vec![
            field("date_fin", "Nouvelle fin prévue", "date")
                .required()
                .autofocus(),
            field("motif", "Décision motivée", "textarea")
                .hint("Obligatoire au-delà de 12 mois pour le CEJ (18 mois au plus)"),
        ],
    );
    page.hidden = vec![
        ("jeune".into(), safe_id(jeune)),
        (
            "version".into(),
            version.chars().filter(char::is_ascii_digit).collect(),
        ),
    ];
    page
}

pub async fn extend_form(
    req: Req,
    Path(id): Path<String>,
    Query(q): Query<ExtendQuery>,
) -> PageResult {
    req.authenticated()?;
    Ok(extend_page(&req, &id, &q.jeune, &q.version).respond())
}

pub async fn extend_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    match s
        .app
        .extend_programme(&ctx, &id, version_of(&p), &g("date_fin"), &g("motif"))
        .await
    {
        Ok(_) => Ok(saved(&g("jeune"))),
        Err(e) => extend_page(&req, &id, &g("jeune"), &g("version")).failed(&req, &p, e),
    }
}

pub async fn week_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    match s
        .app
        .record_week(&ctx, &id, &g("semaine"), &g("prevues"), &g("realisees"))
        .await
    {
        Ok(_) => Ok(saved(&g("jeune"))),
        Err(e) => {
            let mut page = ActPage::new(
                &req,
                "Heures CEJ de la semaine",
                back(&g("jeune")),
                format!("/dispositifs/{}/semaine", safe_id(&id)),
                vec![
                    field("semaine", "Semaine du (lundi)", "date").required(),
                    field("prevues", "Heures prévues", "text"),
                    field("realisees", "Heures réalisées", "text"),
                ],
            );
            page.hidden.push(("jeune".into(), safe_id(&g("jeune"))));
            page.failed(&req, &p, e)
        }
    }
}

/// Posted from the PACEA card of the dossier; a refusal is shown on the dossier's error page.
pub async fn phase_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    match s
        .app
        .add_pacea_phase(
            &ctx,
            &id,
            version_of(&p),
            &g("date_debut"),
            &g("date_fin"),
            &g("objectifs"),
        )
        .await
    {
        Ok(_) => Ok(saved(&g("jeune"))),
        Err(e) => {
            let mut page = ActPage::new(
                &req,
                "Nouvelle phase du PACEA",
                back(&g("jeune")),
                format!("/dispositifs/{}/phase", safe_id(&id)),
                vec![
                    field("date_debut", "Début", "date").required(),
                    field("date_fin", "Fin", "date").required(),
                    field("objectifs", "Objectifs", "textarea").required(),
                ],
            );
            page.hidden = vec![
                ("jeune".into(), safe_id(&g("jeune"))),
                ("version".into(), version_of(&p).to_string()),
            ];
            page.failed(&req, &p, e)
        }
    }
}

pub async fn evaluation_submit(
    State(s): State<AppState>,
    req: Req,
    Path((id, n)): Path<(String, usize)>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    s.app
        .evaluate_pacea_phase(&ctx, &id, version_of(&p), n, &g("evaluation"))
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(saved(&g("jeune")))
}
