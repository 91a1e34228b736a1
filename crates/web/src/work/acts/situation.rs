//! The situation (housing, resources, health…), a legal representative, a transfer.

use super::{back, saved, yes_no};
use crate::error::WebError;
use crate::request::Req;
use crate::work::form::{field, input, opts, posted_ctx, ActPage, Field, Posted};
use crate::work::{safe_id, see_other, PageResult};
use crate::AppState;
use axum::extract::Path;
use axum::extract::State;
use axum::Form;
use parcours_domain::situation::LegalRepInput;
use parcours_domain::situation::SituationInput;
use parcours_domain::vocab::{Logement, MinimumIncome, SituationFamiliale};

fn situation_fields() -> Vec<Field> {
    vec![
        field("situation_familiale", "Situation familiale", "text")
            .options(opts(
                SituationFamiliale::ALL,
                SituationFamiliale::code,
                SituationFamiliale::label,
            ))
            .autofocus(),
        field("enfants_a_charge", "Enfants à charge", "text"),
        field("logement", "Logement", "text").options(opts(
            Logement::ALL,
            Logement::code,
            Logement::label,
        )),
        field("permis", "Permis de conduire", "text").options(yes_no()),
        field("vehicule", "Véhicule", "text").options(yes_no()),
        field("ressources", "Ressources mensuelles (€)", "text"),
        field("minimum_social", "Minimum social", "text").options(opts(
            MinimumIncome::ALL,
            MinimumIncome::code,
            MinimumIncome::label,
        )),
        field("rqth", "RQTH", "text").options(yes_no()),
        field("qpv", "Réside en QPV", "text").options(yes_no()),
        field("zrr", "Réside en ZRR", "text").options(yes_no()),
        field("niveau", "Niveau de formation", "text")
            .hint("1 à 8 (nomenclature 2019) ou ancien code : VI, V bis, V, IV, III, II, I"),
        field("diplome", "Diplôme le plus élevé", "text"),
        field("derniere_classe", "Dernière classe suivie", "text"),
        field("langues", "Langues parlées", "text"),
    ]
}

pub async fn situation_form(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
) -> PageResult {
    let ctx = req.authenticated()?;
    let cur = s
        .app
        .situation_history(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let mut fields = situation_fields();
    if let Some(v) = cur.first() {
        let st = &v.situation;
        let yn = |b: Option<bool>| {
            b.map(|b| if b { "oui" } else { "non" })
                .unwrap_or("")
                .to_string()
        };
        for f in &mut fields {
            f.value = match f.name {
                "situation_familiale" => st
                    .situation_familiale
                    .map(|x| x.code().to_string())
                    .unwrap_or_default(),
                "enfants_a_charge" => st
                    .enfants_a_charge
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                "logement" => st
                    .logement
                    .map(|x| x.code().to_string())
                    .unwrap_or_default(),
                "permis" => yn(st.permis),
                "vehicule" => yn(st.vehicule),
                "ressources" => st
                    .ressources_cents
                    .map(|c| format!("{},{:02}", c / 100, c % 100))
                    .unwrap_or_default(),
                "minimum_social" => st
                    .minimum_social
                    .map(|x| x.code().to_string())
                    .unwrap_or_default(),
                "rqth" => yn(st.rqth),
                "qpv" => yn(st.qpv),
                "zrr" => yn(st.zrr),
                "niveau" => st.niveau.map(|n| n.0.to_string()).unwrap_or_default(),
                "diplome" => st.diplome.clone().unwrap_or_default(),
                "derniere_classe" => st.derniere_classe.clone().unwrap_or_default(),
                _ => st.langues.clone().unwrap_or_default(),
            };
        }
    }
    let mut page = ActPage::new(
        &req,
        "Situation du jeune",
        back(&id),
        format!("/jeunes/{}/situation", safe_id(&id)),
        fields,
    );
    page.info_title = "Historique".into();
    page.info = cur
        .iter()
        .map(|v| {
            let when = chrono::DateTime::from_timestamp(v.changed_at, 0)
                .map(|d| d.format("%d/%m/%Y %H:%M").to_string())
                .unwrap_or_default();
            (
                format!("Version {} — {when}, {}", v.version, v.author),
                v.changed_fields.join(", "),
            )
        })
        .collect();
    Ok(page.respond())
}

pub async fn situation_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let i: SituationInput = input(&p, &req)?;
    match s.app.save_situation(&ctx, &id, &i).await {
        Ok(_) => Ok(saved(&id)),
        Err(e) => ActPage::new(
            &req,
            "Situation du jeune",
            back(&id),
            format!("/jeunes/{}/situation", safe_id(&id)),
            situation_fields(),
        )
        .failed(&req, &p, e),
    }
}

fn legal_rep_page(req: &Req, id: &str) -> ActPage {
    ActPage::new(
        req,
        "Représentant légal",
        back(id),
        format!("/jeunes/{}/representant", safe_id(id)),
        vec![
            field("lien", "Lien", "text")
                .required()
                .hint("mère, père, tuteur…")
                .autofocus(),
            field("nom", "Nom", "text").required(),
            field("prenom", "Prénom", "text").required(),
            field("telephone", "Téléphone", "tel"),
            field("email", "E-mail", "email"),
            field("adresse", "Adresse", "text"),
        ],
    )
}

pub async fn legal_rep_form(req: Req, Path(id): Path<String>) -> PageResult {
    req.authenticated()?;
    Ok(legal_rep_page(&req, &id).respond())
}

pub async fn legal_rep_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let i: LegalRepInput = input(&p, &req)?;
    match s.app.add_legal_rep(&ctx, &id, &i).await {
        Ok(_) => Ok(saved(&id)),
        Err(e) => legal_rep_page(&req, &id).failed(&req, &p, e),
    }
}

async fn transfer_page(s: &AppState, req: &Req, id: &str) -> Result<ActPage, WebError> {
    let structures = s
        .app
        .list_structures()
        .await
        .map_err(|e| WebError::new(e, req))?;
    let mut page = ActPage::new(
        req,
        "Transférer le dossier vers une autre Mission Locale",
        back(id),
        format!("/jeunes/{}/transfert", safe_id(id)),
        vec![field("structure", "Mission Locale d'arrivée", "text")
            .options(
                structures
                    .into_iter()
                    .map(|s| (s.code.clone(), format!("{} ({})", s.nom, s.code))),
            )
            .required()
            .autofocus()],
    );
    page.submit = "Transférer le dossier et son historique";
    Ok(page)
}

pub async fn transfer_form(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
) -> PageResult {
    req.authenticated()?;
    Ok(transfer_page(&s, &req, &id).await?.respond())
}

pub async fn transfer_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let to = p.get("structure").cloned().unwrap_or_default();
    match s.app.transfer_jeune(&ctx, &id, &to).await {
        Ok(()) => Ok(see_other("/")),
        Err(e) => transfer_page(&s, &req, &id).await?.failed(&req, &p, e),
    }
}
