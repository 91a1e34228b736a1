//! Money: the allowance of a month (computed, then decided) and the IBAN (sensitive tier).

use super::{back, saved};
use crate::error::WebError;
use crate::request::Req;
use crate::work::form::Table;
use crate::work::form::{code_error, field, input, opts, posted_ctx, ActPage, Field, Posted};
use crate::work::{safe_id, PageResult};
use crate::AppState;
use axum::extract::Path;
use axum::extract::Query;
use axum::extract::State;
use axum::Form;
use parcours_app::allowances::{
    AllowanceView, DecisionInput, ResourcesInput, ACTIVITY_FIELDS, OTHER_FIELDS,
};
use parcours_domain::rules::allowance;
use parcours_domain::situation::format_euros;
use parcours_domain::vocab::{AllowanceDecision, ProgrammeKind};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MonthQuery {
    mois: String,
    #[serde(flatten)]
    ressources: ResourcesInput,
    montant_demande: String,
}

/// The legend of the CEJ's resources.
const RESOURCES: &str = "Ressources des trois mois avant le mois versé";

/// The legend of the decision's fields.
const DECISION: &str = "Décision du mois";

/// The field that confirms the replacement of the month's decision in force.
const REPLACE: &str = "remplacer";

use crate::format::month_words;

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
                .group(RESOURCES)
                .value(work.clone())
                .hint("Salaire, apprentissage, activité non salariée, activité partielle, indemnités journalières : 300 € par mois non pris en compte"),
        );
        fields.push(
            field(
                OTHER_FIELDS[back - 1],
                format!("Autres ressources de {words} (€)"),
                "text",
            )
            .group(RESOURCES)
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
        .group(RESOURCES)
        .options([("non", "Non"), ("oui", "Oui : allocation non due")])
        .value(if r.rsa_prime_activite.is_empty() {
            "non".to_string()
        } else {
            r.rsa_prime_activite.clone()
        }),
    );
    fields
}

use crate::format::day;

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
    let in_words = parcours_domain::rules::parse_month(&month).map(month_words);
    let mut page = ActPage::new(
        req,
        match &in_words {
            Some(w) => format!("Allocation de {w}"),
            None => "Allocation du mois".to_string(),
        },
        back(id),
        format!("/jeunes/{}/allocation", safe_id(id)),
        vec![],
    );
    page.hidden.push((
        "mois".into(),
        month
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '-')
            .collect(),
    ));
    page.submit = "Vérifier la décision";
    page.secondary = Some(("recalculer", "Recalculer le montant"));
    page.info_title = "Calcul selon les règles".into();
    let ent = match s
        .app
        .preview_allowance(&ctx, id, &month, &q.ressources, &q.montant_demande)
        .await
    {
        Ok(ent) => ent,
        Err(parcours_app::AppError::Refused(_, m)) => {
            // No CEJ or PACEA this month: an explanation and the way to fix it, not a form.
            page.general_error = Some(m);
            page.show_form = false;
            page.next_steps = vec![(
                back(id),
                "Ouvrir un CEJ ou un PACEA depuis le dossier (« Dispositif »)".into(),
            )];
            return Ok(page);
        }
        Err(parcours_app::AppError::Validation(v)) => {
            // A typed amount the rules cannot read: the form again, the error on its field.
            let errors = v.0;
            let mut fields = resource_fields(&month, &q.ressources);
            fields.extend(pacea_fields(q));
            fields.extend(decision_fields());
            page.fields = fields;
            let p: Posted = Posted::new();
            return Ok(page.refill(&p, &errors));
        }
        Err(e) => return Err(WebError::new(e, req)),
    };
    page.person = ent.holder.clone();
    let names = s
        .app
        .display_names(&ctx)
        .await
        .map_err(|e| WebError::new(e, req))?;
    // Only the fields of the jeune's programme.
    let mut fields = if ent.kind == ProgrammeKind::Cej.code() {
        resource_fields(&month, &q.ressources)
    } else {
        pacea_fields(q)
    };
    fields.extend(decision_fields());
    if let Some(f) = fields.first_mut() {
        f.autofocus = true;
    }
    page.fields = fields;
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
                .hint("La décision en vigueur est rappelée ci-dessus ; remplacée, elle reste dans l'historique du mois")
                .required(),
        );
        page.info.push((
            "Décision en vigueur".into(),
            format!(
                "{} : {} (le {}, par {})",
                a.decision_label,
                format_euros(a.amount_cents),
                day(a.decided_at),
                names.of(&a.author)
            ),
        ));
    }
    if !ent.history.is_empty() {
        page.table = Some(Table {
            caption: "Décisions remplacées pour ce mois".into(),
            headers: vec![
                "Décision".into(),
                "Montant".into(),
                "Prise le".into(),
                "Par".into(),
                "Remplacée le".into(),
                "Par".into(),
            ],
            numeric: vec![1],
            rows: ent
                .history
                .iter()
                .map(|h| {
                    vec![
                        h.decision_label.to_string(),
                        format_euros(h.amount_cents),
                        day(h.decided_at),
                        names.of(&h.author),
                        day(h.replaced_at),
                        names.of(&h.replaced_by),
                    ]
                })
                .collect(),
        });
    }
    Ok(page)
}

/// PACEA: the month's income and the amount asked for.
fn pacea_fields(q: &MonthQuery) -> Vec<Field> {
    vec![
        field("revenus", "Ressources du mois (€)", "text")
            .value(q.ressources.revenus.clone())
            .hint("Toutes les ressources du jeune ce mois-ci ; vide : aucune"),
        field("montant_demande", "Montant demandé (€)", "text")
            .value(q.montant_demande.clone())
            .hint("Le barème plafonne le montant ; vide : le plafond"),
    ]
}

fn decision_fields() -> Vec<Field> {
    vec![
        field("decision", "Décision", "text")
            .options(opts(
                AllowanceDecision::ALL,
                AllowanceDecision::code,
                AllowanceDecision::label,
            ))
            .value("attribuee")
            .group(DECISION)
            .required(),
        field("montant_reduit", "Montant réduit (€)", "text")
            .group(DECISION)
            .hint("Seulement pour une réduction"),
        field("motif", "Motif", "textarea")
            .group(DECISION)
            .hint("Obligatoire pour une réduction ou une suspension (engagements non respectés…)"),
    ]
}

/// The step before deciding: what will be recorded, at the amount that will be recorded
/// (checked again when confirmed: the use case refuses another amount).
fn confirmation_page(req: &Req, id: &str, p: &Posted, v: &AllowanceView, holder: &str) -> ActPage {
    let words = parcours_domain::rules::parse_month(&v.month)
        .map(month_words)
        .unwrap_or_else(|| v.month.clone());
    let mut page = ActPage::new(
        req,
        format!("Confirmer l'allocation de {words}"),
        back(id),
        format!("/jeunes/{}/allocation", safe_id(id)),
        vec![],
    );
    page.person = holder.to_string();
    page.info_title = "Décision à enregistrer".into();
    page.info = vec![
        ("Décision".into(), v.decision_label.to_string()),
        ("Montant calculé".into(), format_euros(v.computed_cents)),
        ("Montant versé".into(), format_euros(v.amount_cents)),
    ];
    if let Some(m) = &v.motif {
        page.info.push(("Motif".into(), m.clone()));
    }
    if p.get(REPLACE).is_some_and(|r| r == "oui") {
        page.info.push((
            "Remplacement".into(),
            "La décision en vigueur sera remplacée et gardée dans l'historique du mois".into(),
        ));
    }
    let mut hidden: Vec<(String, String)> = p
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "etape" | "montant_confirme"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    hidden.sort();
    hidden.push(("montant_confirme".into(), format_euros(v.amount_cents)));
    page.hidden = hidden;
    page.submit = "Confirmer la décision";
    page.secondary = Some(("modifier", "Modifier"));
    page
}

pub async fn allowance_form(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Query(q): Query<MonthQuery>,
) -> PageResult {
    Ok(allowance_page(&s, &req, &id, &q).await?.respond())
}

/// Three steps on one address: « Recalculer » (or « Modifier ») shows the form again with the
/// amounts of what is typed; « Vérifier la décision » shows what would be recorded; « Confirmer
/// la décision » records it, at the amount shown.
pub async fn allowance_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(mut p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let step = p.remove("etape").unwrap_or_default();
    // The version travels as text in the form; the input reads it as a number.
    let version_raw = p.remove("version");
    let version: Option<i64> = version_raw.as_deref().and_then(|v| v.parse().ok());
    let replace = p.get(REPLACE).is_some_and(|v| v == "oui");
    let mut i: DecisionInput = input(&p, &req)?;
    i.version = version;
    if let Some(v) = version_raw {
        p.insert("version".into(), v);
    }
    let q = MonthQuery {
        mois: i.mois.clone(),
        ressources: i.ressources.clone(),
        montant_demande: i.montant_demande.clone(),
    };
    if matches!(step.as_str(), "recalculer" | "modifier") {
        let mut page = allowance_page(&s, &req, &id, &q).await?;
        for f in &mut page.fields {
            if let Some(v) = p.get(f.name) {
                f.value = v.clone();
            }
        }
        return Ok(page.respond());
    }
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
    } else if i.montant_confirme.trim().is_empty() {
        match s.app.check_allowance_decision(&ctx, &id, &i).await {
            Ok((v, holder)) => {
                return Ok(confirmation_page(&req, &id, &p, &v, &holder).respond());
            }
            Err(e) => Err(e),
        }
    } else {
        s.app.decide_allowance(&ctx, &id, &i).await.map(|_| ())
    };
    match decided {
        Ok(()) => Ok(saved(&id)),
        Err(e) => {
            p.remove("montant_confirme");
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
