//! Money: the allowance of a month (computed, then decided) and the IBAN (sensitive tier).

use super::{back, saved};
use crate::error::WebError;
use crate::request::Req;
use crate::work::form::{code_error, field, input, opts, posted_ctx, ActPage, Field, Posted};
use crate::work::{safe_id, PageResult};
use crate::AppState;
use axum::extract::Path;
use axum::extract::Query;
use axum::extract::State;
use axum::Form;
use chrono::Datelike;
use parcours_app::allowances::{DecisionInput, ResourcesInput, ACTIVITY_FIELDS, OTHER_FIELDS};
use parcours_domain::rules::allowance;
use parcours_domain::situation::format_euros;
use parcours_domain::vocab::AllowanceDecision;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MonthQuery {
    mois: String,
    #[serde(flatten)]
    ressources: ResourcesInput,
    montant_demande: String,
}

/// The field that confirms the replacement of the month's decision in force.
const REPLACE: &str = "remplacer";

/// `2026-08-01` → « août 2026 ».
fn month_words(m: chrono::NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let name = MONTHS.get(m.month0() as usize).copied().unwrap_or("");
    format!("{name} {}", m.year())
}

/// The CEJ resources of the reference period: income from work and other resources of each
/// of the three months before, then the household's RSA or prime d'activité.
fn resource_fields(month: &str, r: &ResourcesInput) -> Vec<Field> {
    let Some(m) = parcours_domain::rules::parse_month(month) else {
        return vec![];
    };
    let period = allowance::reference_period(m);
    let values = [
        (&r.activite_1, &r.autres_1),
        (&r.activite_2, &r.autres_2),
        (&r.activite_3, &r.autres_3),
    ];
    let mut fields = Vec::new();
    for back in (1..=3usize).rev() {
        let Some(month) = period.len().checked_sub(back).and_then(|i| period.get(i)) else {
            continue;
        };
        let (work, other) = values[back - 1];
        let words = month_words(*month);
        fields.push(
            field(ACTIVITY_FIELDS[back - 1], format!("Revenus d'activité de {words} (€)"), "text")
                .value(work.clone())
                .hint("Salaire, apprentissage, activité non salariée, activité partielle, indemnités journalières : 300 € par mois non pris en compte"),
        );
        fields.push(
            field(
                OTHER_FIELDS[back - 1],
                format!("Autres ressources de {words} (€)"),
                "text",
            )
            .value(other.clone())
            .hint("Allocation chômage, rémunération de formation… : déduites en totalité"),
        );
    }
    fields.push(
        field(
            "rsa_prime_activite",
            "Le foyer perçoit le RSA ou la prime d'activité",
            "select",
        )
        .options([("non", "Non"), ("oui", "Oui : allocation non due")])
        .value(if r.rsa_prime_activite.is_empty() {
            "non".to_string()
        } else {
            r.rsa_prime_activite.clone()
        }),
    );
    fields
}

async fn allowance_page(
    s: &AppState,
    req: &Req,
    id: &str,
    q: &MonthQuery,
) -> Result<ActPage, WebError> {
    let ctx = req.authenticated()?;
    let month = if q.mois.is_empty() {
        req.now.format("%Y-%m").to_string()
    } else {
        q.mois.clone()
    };
    let heading = match parcours_domain::rules::parse_month(&month) {
        Some(m) => format!("Allocation de {}", month_words(m)),
        None => "Allocation du mois".to_string(),
    };
    let mut page = ActPage::new(
        req,
        heading,
        back(id),
        format!("/jeunes/{}/allocation", safe_id(id)),
        vec![],
    );
    let mut fields = resource_fields(&month, &q.ressources);
    fields.extend([
        field("revenus", "PACEA : ressources du mois (€)", "text")
            .value(q.ressources.revenus.clone())
            .hint("Pour un CEJ, laissez vide et remplissez les trois mois ci-dessus"),
        field("montant_demande", "Montant demandé (PACEA, €)", "text")
            .value(q.montant_demande.clone()),
        field("decision", "Décision", "text")
            .options(opts(
                AllowanceDecision::ALL,
                AllowanceDecision::code,
                AllowanceDecision::label,
            ))
            .value("attribuee")
            .required(),
        field("montant_reduit", "Montant réduit (€)", "text").hint("Seulement pour une réduction"),
        field("motif", "Motif", "textarea")
            .hint("Obligatoire pour une réduction ou une suspension (engagements non respectés…)"),
    ]);
    if let Some(f) = fields.first_mut() {
        f.autofocus = true;
    }
    page.fields = fields;
    page.hidden.push((
        "mois".into(),
        month
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '-')
            .collect(),
    ));
    page.submit = "Enregistrer la décision";
    page.info_title = "Calcul selon les règles".into();
    match s
        .app
        .preview_allowance(&ctx, id, &month, &q.ressources, &q.montant_demande)
        .await
    {
        Ok(ent) => {
            page.info = ent
                .steps
                .into_iter()
                .map(|st| (st.label, st.value))
                .collect();
            page.info
                .push(("Montant calculé".into(), format_euros(ent.computed_cents)));
            page.info.extend(
                ent.sources
                    .iter()
                    .map(|src| ("Source".to_string(), src.to_string())),
            );
            if let Some(a) = &ent.current {
                page.hidden.push(("version".into(), a.version.to_string()));
                // A decision is already taken for the month: replacing it is said, not silent.
                page.fields.push(
                    field(REPLACE, "Remplacer la décision en vigueur", "select")
                        .options([
                            ("", "— Choisir —"),
                            ("oui", "Oui, remplacer la décision en vigueur"),
                        ])
                        .hint("La décision en vigueur est rappelée dans le calcul ; elle sera remplacée, et le remplacement inscrit au journal")
                        .required(),
                );
                page.info.push((
                    "Décision en vigueur".into(),
                    format!(
                        "{} : {} (par {})",
                        a.decision_label,
                        format_euros(a.amount_cents),
                        a.author
                    ),
                ));
            }
        }
        Err(parcours_app::AppError::Refused(_, m)) => page.general_error = Some(m),
        Err(parcours_app::AppError::Validation(v)) => page.general_error = Some(v.to_string()),
        Err(e) => return Err(WebError::new(e, req)),
    }
    Ok(page)
}

pub async fn allowance_form(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Query(q): Query<MonthQuery>,
) -> PageResult {
    Ok(allowance_page(&s, &req, &id, &q).await?.respond())
}

pub async fn allowance_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(mut p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let version: Option<i64> = p.remove("version").and_then(|v| v.parse().ok());
    let replace = p.get(REPLACE).is_some_and(|v| v == "oui");
    let mut i: DecisionInput = input(&p, &req)?;
    i.version = version;
    // Replacing the month's decision needs its explicit confirmation (the form carries the
    // version of the decision in force; the JSON API asks for it as `version`).
    let decided = if version.is_some_and(|v| v > 0) && !replace {
        let mut e = parcours_domain::ValidationErrors::default();
        e.push(
            REPLACE,
            "confirmation_requise",
            "Une décision est déjà enregistrée pour ce mois : confirmez son remplacement.",
        );
        Err(parcours_app::AppError::Validation(e))
    } else {
        s.app.decide_allowance(&ctx, &id, &i).await
    };
    match decided {
        Ok(_) => Ok(saved(&id)),
        Err(e) => {
            let q = MonthQuery {
                mois: i.mois.clone(),
                ressources: i.ressources.clone(),
                montant_demande: i.montant_demande.clone(),
            };
            allowance_page(&s, &req, &id, &q).await?.failed(&req, &p, e)
        }
    }
}

fn iban_page(req: &Req, id: &str) -> ActPage {
    ActPage::new(
        req,
        "IBAN pour le versement de l'allocation",
        back(id),
        format!("/jeunes/{}/iban", safe_id(id)),
        vec![
            field("iban", "IBAN", "text").required().autofocus().hint("Chiffré à part ; il ne sera plus jamais affiché, seulement transmis dans le lot de paiement, une fois approuvé par la direction"),
            field("bic", "BIC", "text"),
            field("motif", "Motif", "text").required().hint("Premier versement, changement de banque signalé par le jeune…"),
            field("code", "Code de votre application d'authentification", "text").hint("Opération sensible : votre code, sauf si vous l'avez saisi il y a moins de 5 minutes"),
        ],
    )
}

pub async fn iban_form(req: Req, Path(id): Path<String>) -> PageResult {
    req.authenticated()?;
    Ok(iban_page(&req, &id).respond())
}

pub async fn iban_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    let mut p2 = p.clone();
    // Never echo an IBAN or a code back into a page.
    p2.remove("iban");
    p2.remove("code");
    let ctx = match crate::work::form::with_code(&s.app, &req, ctx, &g("code")).await {
        Ok(c) => c,
        Err(e) => return iban_page(&req, &id).failed(&req, &p2, code_error(e)),
    };
    match s
        .app
        .set_bank_account(&ctx, &id, &g("iban"), &g("bic"), &g("motif"))
        .await
    {
        Ok(()) => Ok(saved(&id)),
        Err(e) => iban_page(&req, &id).failed(&req, &p2, code_error(e)),
    }
}
