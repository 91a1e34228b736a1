//! One page per common act, with sensible defaults (today's date, the usual modality), the
//! keyboard first (the first field has the focus), and a redirect to the dossier once saved.

use axum::extract::{Path, Query, State};
use axum::Form;
use parcours_app::allowances::DecisionInput;
use parcours_app::companies::ImmersionInput;
use parcours_app::programmes::ProgrammeInput;
use parcours_domain::situation::{format_euros, LegalRepInput, SituationInput};
use parcours_domain::timeline::{self as t, kind_label, EntryInput};
use parcours_domain::vocab::{
    AllowanceDecision, AppointmentStatus, EventKind, ExitReason, Logement, MinimumIncome, Modalite,
    Phase, ProgrammeKind, ProposalKind, ProposalStatus, SituationCategory, SituationFamiliale,
    SituationStatus, TaxSituation, Theme,
};
use serde::Deserialize;

use super::form::{code_error, field, input, opts, posted_ctx, ActPage, Field, Posted};
use super::{safe_id, see_other, PageResult};
use crate::error::WebError;
use crate::request::Req;
use crate::AppState;

fn saved(id: &str) -> axum::response::Response {
    see_other(&format!("/jeunes/{}?enregistre=1", safe_id(id)))
}

fn back(id: &str) -> String {
    format!("/jeunes/{}", safe_id(id))
}

fn yes_no() -> Vec<(String, String)> {
    vec![("oui".into(), "Oui".into()), ("non".into(), "Non".into())]
}

// ---------- timeline entries ----------

#[derive(Deserialize, Default)]
pub struct KindQuery {
    #[serde(default)]
    kind: String,
}

async fn entry_fields(s: &AppState, req: &Req, kind: &str) -> Result<Vec<Field>, WebError> {
    let today = req.now.date_naive().format("%Y-%m-%d").to_string();
    let mut f = vec![field("date", "Date", "date").required().value(today)];
    let companies = || async {
        let ctx = req.authenticated()?;
        Ok::<_, WebError>(
            s.app
                .list_companies(&ctx)
                .await
                .map_err(|e| WebError::new(e, req))?
                .into_iter()
                .map(|c| (c.id, format!("{} ({})", c.name, c.siret)))
                .collect::<Vec<_>>(),
        )
    };
    let theme =
        || field("theme", "Thème", "text").options(opts(Theme::ALL, Theme::code, Theme::label));
    match kind {
        t::KIND_RDV => {
            f.push(field("heure", "Heure", "time").autofocus());
            f.push(
                field("modalite", "Modalité", "text")
                    .options(opts(Modalite::ALL, Modalite::code, Modalite::label))
                    .value("sur_place"),
            );
            f.push(
                field("statut", "Statut", "text")
                    .options(opts(
                        AppointmentStatus::ALL,
                        AppointmentStatus::code,
                        AppointmentStatus::label,
                    ))
                    .value("planifie")
                    .required(),
            );
        }
        t::KIND_PHASE => f.push(
            field("categorie", "Phase", "text")
                .options(opts(Phase::ALL, Phase::code, Phase::label))
                .required()
                .autofocus(),
        ),
        t::KIND_SITUATION => {
            f.push(
                field("categorie", "Catégorie", "text")
                    .options(opts(
                        SituationCategory::ALL,
                        SituationCategory::code,
                        SituationCategory::label,
                    ))
                    .required()
                    .autofocus(),
            );
            f.push(
                field("statut", "Statut", "text")
                    .options(opts(
                        SituationStatus::ALL,
                        SituationStatus::code,
                        SituationStatus::label,
                    ))
                    .value("en_cours")
                    .required(),
            );
            f.push(field("date_fin", "Date de fin", "date"));
            f.push(
                field("rome", "Code ROME", "text").hint("Une lettre et quatre chiffres, ex. M1607"),
            );
            f.push(field("entreprise", "Entreprise", "text").options(companies().await?));
        }
        t::KIND_PROPOSITION => {
            f.push(
                field("categorie", "Type de proposition", "text")
                    .options(opts(
                        ProposalKind::ALL,
                        ProposalKind::code,
                        ProposalKind::label,
                    ))
                    .required()
                    .autofocus(),
            );
            f.push(
                field("statut", "Statut", "text")
                    .options(opts(
                        ProposalStatus::ALL,
                        ProposalStatus::code,
                        ProposalStatus::label,
                    ))
                    .value("proposee")
                    .required(),
            );
            f.push(field("rome", "Code ROME", "text"));
            f.push(field("entreprise", "Entreprise", "text").options(companies().await?));
        }
        t::KIND_SORTIE => f.push(
            field("categorie", "Motif de sortie", "text")
                .options(opts(ExitReason::ALL, ExitReason::code, ExitReason::label))
                .required()
                .autofocus(),
        ),
        t::KIND_NOTE => {}
        k if EventKind::parse(k) == Some(EventKind::EntretienIndividuel) => {
            f.push(
                field("modalite", "Modalité", "text")
                    .options(opts(Modalite::ALL, Modalite::code, Modalite::label))
                    .value("sur_place")
                    .required(),
            );
            f.push(theme());
            f.push(field("duree", "Durée", "text").hint("En minutes (45) ou en heures (1h30)"));
        }
        _ => {
            f.push(theme());
            f.push(field("duree", "Durée", "text").hint("En minutes (45) ou en heures (1h30)"));
        }
    }
    let mut note = field("note", "Note", "textarea")
        .hint("4 000 caractères au plus ; chiffrée, lue seulement dans la Mission Locale");
    if kind == t::KIND_NOTE {
        note = note.required().autofocus();
    }
    f.push(note);
    if !f.iter().any(|x| x.autofocus) {
        if let Some(x) = f.get_mut(1) {
            x.autofocus = true;
        }
    }
    Ok(f)
}

async fn entry_page(s: &AppState, req: &Req, id: &str, kind: &str) -> Result<ActPage, WebError> {
    let fields = entry_fields(s, req, kind).await?;
    let mut page = ActPage::new(
        req,
        kind_label(kind),
        back(id),
        format!("/jeunes/{}/entree", safe_id(id)),
        fields,
    );
    page.hidden.push(("kind".into(), kind.to_string()));
    Ok(page)
}

pub async fn entry_form(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Query(q): Query<KindQuery>,
) -> PageResult {
    req.authenticated()?;
    let kind = if q.kind.is_empty() {
        "entretien_individuel"
    } else {
        q.kind.as_str()
    };
    Ok(entry_page(&s, &req, &id, kind).await?.respond())
}

pub async fn entry_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let e: EntryInput = input(&p, &req)?;
    match s.app.add_entry(&ctx, &id, &e).await {
        Ok(_) => Ok(saved(&id)),
        Err(err) => entry_page(&s, &req, &id, &e.kind)
            .await?
            .failed(&req, &p, err),
    }
}

fn version_of(p: &Posted) -> i64 {
    p.get("version").and_then(|v| v.parse().ok()).unwrap_or(0)
}

pub async fn entry_status(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let statut = p.get("statut").cloned().unwrap_or_default();
    s.app
        .set_entry_status(&ctx, &id, version_of(&p), &statut)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(saved(p.get("jeune").map(String::as_str).unwrap_or("")))
}

// ---------- situation, legal representative, transfer ----------

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
        Ok(()) => Ok(see_other("/portefeuille")),
        Err(e) => transfer_page(&s, &req, &id).await?.failed(&req, &p, e),
    }
}

// ---------- programmes and CEJ weeks ----------

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

// ---------- allowance of a month ----------

#[derive(Deserialize, Default)]
pub struct MonthQuery {
    #[serde(default)]
    mois: String,
    #[serde(default)]
    revenus: String,
    #[serde(default)]
    montant_demande: String,
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
    let mut page = ActPage::new(
        req,
        format!("Allocation de {month}"),
        back(id),
        format!("/jeunes/{}/allocation", safe_id(id)),
        vec![
            field("revenus", "Revenus du mois (€)", "text").value(q.revenus.clone()).hint("CEJ : revenus d'activité (300 € non pris en compte) ; PACEA : autres ressources").autofocus(),
            field("montant_demande", "Montant demandé (PACEA, €)", "text").value(q.montant_demande.clone()),
            field("decision", "Décision", "text").options(opts(AllowanceDecision::ALL, AllowanceDecision::code, AllowanceDecision::label)).value("attribuee").required(),
            field("montant_reduit", "Montant réduit (€)", "text").hint("Seulement pour une réduction"),
            field("motif", "Motif", "textarea").hint("Obligatoire pour une réduction ou une suspension (engagements non respectés…)"),
        ],
    );
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
        .preview_allowance(&ctx, id, &month, &q.revenus, &q.montant_demande)
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
        Err(parcours_app::AppError::Refused(m)) => page.general_error = Some(m),
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
    let version = p.remove("version").and_then(|v| v.parse().ok());
    let mut i: DecisionInput = input(&p, &req)?;
    i.version = version;
    match s.app.decide_allowance(&ctx, &id, &i).await {
        Ok(_) => Ok(saved(&id)),
        Err(e) => {
            let q = MonthQuery {
                mois: i.mois.clone(),
                revenus: i.revenus.clone(),
                montant_demande: i.montant_demande.clone(),
            };
            allowance_page(&s, &req, &id, &q).await?.failed(&req, &p, e)
        }
    }
}

// ---------- IBAN, immersion, workshop ----------

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
    let ctx = match super::form::with_code(&s.app, &req, ctx, &g("code")).await {
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

async fn immersion_page(s: &AppState, req: &Req, id: &str) -> Result<ActPage, WebError> {
    let ctx = req.authenticated()?;
    let companies: Vec<(String, String)> = s
        .app
        .list_companies(&ctx)
        .await
        .map_err(|e| WebError::new(e, req))?
        .into_iter()
        .map(|c| (c.id, format!("{} ({})", c.name, c.siret)))
        .collect();
    Ok(ActPage::new(
        req,
        "Immersion en entreprise (PMSMP)",
        back(id),
        format!("/jeunes/{}/immersion", safe_id(id)),
        vec![
            field("entreprise", "Entreprise", "text")
                .options(companies)
                .required()
                .autofocus()
                .hint("Absente de la liste ? Créez-la dans « Entreprises »"),
            field("date_debut", "Début", "date").required(),
            field("date_fin", "Fin", "date")
                .required()
                .hint("30 jours calendaires au plus par convention"),
            field("rome", "Code ROME du métier", "text"),
            field("tuteur", "Tuteur", "text"),
            field("tuteur_telephone", "Téléphone du tuteur", "tel"),
        ],
    ))
}

pub async fn immersion_form(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
) -> PageResult {
    Ok(immersion_page(&s, &req, &id).await?.respond())
}

pub async fn immersion_submit(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let i: ImmersionInput = input(&p, &req)?;
    match s.app.create_immersion(&ctx, &id, &i).await {
        Ok(_) => Ok(saved(&id)),
        Err(e) => immersion_page(&s, &req, &id).await?.failed(&req, &p, e),
    }
}

pub async fn immersion_status(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let statut = p.get("statut").cloned().unwrap_or_default();
    s.app
        .set_immersion_status(&ctx, &id, version_of(&p), &statut)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(saved(p.get("jeune").map(String::as_str).unwrap_or("")))
}

pub async fn workshop_register(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    s.app
        .register_workshop(&ctx, &g("atelier"), &id, &g("statut"))
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(saved(&id))
}
