//! "Mon portefeuille" and the dossier page.

use askama::Template;
use axum::extract::{Path, Query, State};
use chrono::{Datelike, Days};
use parcours_app::caseload::{Caseload, CaseloadLine};
use parcours_app::dossier::DossierView;
use parcours_domain::situation::format_euros;
use serde::Deserialize;

use super::PageResult;
use crate::error::{render, WebError};
use crate::request::Req;
use crate::AppState;

#[derive(Template)]
#[template(path = "portefeuille.html")]
struct CaseloadPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    c: Caseload,
    month: String,
    /// « Mes jeunes », filtered, sorted and cut to one page.
    list: crate::lists::Paged<CaseloadLine>,
    mine: usize,
    q: CaseloadQuery,
    keep: String,
}

/// « Mes jeunes »: a name (`nom`, part of the nom or prénom), a programme (`dispositif`:
/// `cej`, `pacea`, `aucun`), a sort (`tri`: `nom`, `age`), a page.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CaseloadQuery {
    nom: String,
    dispositif: String,
    tri: String,
    page: usize,
}

/// Lowercase without accents, for a name filter that forgives « Helene » for « Hélène ».
fn folded(s: &str) -> String {
    parcours_domain::normalize::fold(s)
}

pub async fn caseload(
    State(s): State<AppState>,
    req: Req,
    Query(q): Query<CaseloadQuery>,
) -> PageResult {
    let ctx = req.authenticated()?;
    let mut c = s
        .app
        .caseload(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let mine = c.lines.len();
    let mut lines = std::mem::take(&mut c.lines);
    let name = folded(q.nom.trim());
    if !name.is_empty() {
        lines.retain(|l| folded(&format!("{} {}", l.nom, l.prenom)).contains(&name));
    }
    match q.dispositif.as_str() {
        "cej" => lines.retain(|l| l.programmes.iter().any(|p| p.contains("CEJ"))),
        "pacea" => lines.retain(|l| l.programmes.iter().any(|p| p.contains("PACEA"))),
        "aucun" => lines.retain(|l| l.programmes.is_empty()),
        _ => {}
    }
    if q.tri == "age" {
        lines.sort_by_key(|l| (l.age, l.nom.clone()));
    } else {
        lines.sort_by(|a, b| {
            (folded(&a.nom), folded(&a.prenom)).cmp(&(folded(&b.nom), folded(&b.prenom)))
        });
    }
    let keep = crate::lists::query(&[
        ("nom", q.nom.trim()),
        ("dispositif", &q.dispositif),
        ("tri", &q.tri),
    ]);
    Ok(render(&CaseloadPage {
        login: req.login(),
        csrf: req.csrf(),
        month: req.now.format("%Y-%m").to_string(),
        list: crate::lists::paginate(lines, q.page),
        mine,
        c,
        keep,
        q,
    }))
}

#[derive(Template)]
#[template(path = "dossier.html")]
struct DossierPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    /// Authors as colleagues read them (display names).
    names: parcours_app::staff::Names,
    id: String,
    v: DossierView,
    saved: bool,
    age: i32,
    naissance: String,
    running: Vec<&'static str>,
    identity: Vec<(&'static str, String)>,
    situation: Vec<(&'static str, String)>,
    month: String,
    last_monday: String,
    workshops: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    enregistre: Option<String>,
}

fn yes_no(b: Option<bool>) -> Option<String> {
    b.map(|b| {
        if b {
            "oui".to_string()
        } else {
            "non".to_string()
        }
    })
}

pub async fn show(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    let ctx = req.authenticated()?;
    let v = s
        .app
        .open_dossier(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let today = req.now.date_naive();
    let i = &v.dossier.identity;
    let identity = vec![
        ("Sexe", i.sexe.label().to_string()),
        ("Nationalité", i.nationalite.clone().unwrap_or_default()),
        ("E-mail", i.email.clone().unwrap_or_default()),
        ("Téléphone", i.telephone.clone().unwrap_or_default()),
        ("Adresse", i.adresse.clone().unwrap_or_default()),
        ("Code postal", i.code_postal.clone().unwrap_or_default()),
        ("Commune", i.commune.clone().unwrap_or_default()),
    ];
    let mut situation = Vec::new();
    if let Some(sv) = &v.situation {
        let st = &sv.situation;
        let rows: [(&'static str, Option<String>); 14] = [
            (
                "Situation familiale",
                st.situation_familiale.map(|x| x.label().to_string()),
            ),
            (
                "Enfants à charge",
                st.enfants_a_charge.map(|n| n.to_string()),
            ),
            ("Logement", st.logement.map(|x| x.label().to_string())),
            ("Permis", yes_no(st.permis)),
            ("Véhicule", yes_no(st.vehicule)),
            (
                "Ressources mensuelles",
                st.ressources_cents.map(format_euros),
            ),
            (
                "Minimum social",
                st.minimum_social.map(|x| x.label().to_string()),
            ),
            ("RQTH", yes_no(st.rqth)),
            ("QPV", yes_no(st.qpv)),
            ("ZRR", yes_no(st.zrr)),
            (
                "Niveau de formation",
                st.niveau.map(|n| n.label().to_string()),
            ),
            ("Diplôme", st.diplome.clone()),
            ("Dernière classe", st.derniere_classe.clone()),
            ("Langues", st.langues.clone()),
        ];
        situation = rows
            .into_iter()
            .filter_map(|(l, v)| v.map(|v| (l, v)))
            .collect();
        situation.push((
            "Mise à jour",
            format!("par {} (version {})", sv.author, sv.version),
        ));
    }
    let running = v
        .programmes
        .iter()
        .filter(|p| p.status == "en_cours")
        .map(|p| p.kind_label)
        .collect();
    let workshops = s
        .app
        .upcoming_workshops(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?
        .into_iter()
        .map(|w| {
            (
                w.id,
                format!(
                    "{} · {} ({}/{} places)",
                    w.on_date, w.title, w.taken, w.seats
                ),
            )
        })
        .collect();
    let last_monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()) + 7);
    let names = s
        .app
        .display_names(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(render(&DossierPage {
        login: req.login(),
        csrf: req.csrf(),
        names,
        id: v.dossier.id.clone(),
        age: i.age_on(today),
        naissance: i.date_naissance.format("%d/%m/%Y").to_string(),
        running,
        identity,
        situation,
        month: today.format("%Y-%m").to_string(),
        last_monday: last_monday.format("%Y-%m-%d").to_string(),
        workshops,
        saved: q.enregistre.is_some(),
        v,
    }))
}
