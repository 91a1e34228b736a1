//! Pages at the structure's level: the month's allowances and the payment batch (directeur),
//! partner companies, workshops.

use crate::lists::Paged;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::Form;
use parcours_app::allowances::MonthLine;
use parcours_app::companies::CompanyRow;
use parcours_app::companies::{CompanyInput, CompanyView, ContactInput, OfferInput};
use parcours_app::payments::Batch;
use parcours_app::workshops::{WorkshopInput, WorkshopView};
use parcours_domain::vocab::ProgrammeKind;
use parcours_domain::vocab::Theme;
use serde::Deserialize;

use super::form::{input, posted_ctx, Posted};
use super::{safe_id, see_other, PageResult};
use crate::error::{message, render, WebError};
use crate::request::Req;
use crate::AppState;

#[derive(Deserialize, Default)]
pub struct MonthQuery {
    #[serde(default)]
    mois: String,
}

fn month_or_now(req: &Req, m: &str) -> String {
    if m.trim().is_empty() {
        req.now.format("%Y-%m").to_string()
    } else {
        m.chars()
            .filter(|c| c.is_ascii_digit() || *c == '-')
            .take(7)
            .collect()
    }
}

fn euros(c: &Option<i64>) -> String {
    c.map(parcours_domain::situation::format_euros)
        .unwrap_or_default()
}

/// One line of the month's allowances, as shown.
struct MonthRow {
    line: MonthLine,
    kind: &'static str,
    decision: Option<&'static str>,
    computed: String,
    amount: String,
}

#[derive(Template)]
#[template(path = "allocations.html")]
struct MonthPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    month: String,
    month_words: String,
    list: Paged<MonthRow>,
    entitled: usize,
    decided: usize,
    state: String,
    sort: String,
    /// The query of the current view without `page` (for the page links).
    keep: String,
    /// The directeur's « Attribuer au montant calculé »: (count, total in cents, total as
    /// words) of the entitled jeunes without a decision.
    bulk: Option<(usize, i64, String)>,
    /// How many were just attributed (after the redirect).
    done: Option<usize>,
}

/// The month's allowances: filter (`etat`: `a_decider`, `decidees`), sort (`tri`: `nom`,
/// `montant`), page (`page`).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MonthListQuery {
    mois: String,
    etat: String,
    tri: String,
    page: usize,
    attribuees: String,
}

pub async fn month(
    State(s): State<AppState>,
    req: Req,
    Query(q): Query<MonthListQuery>,
) -> PageResult {
    let ctx = req.authenticated()?;
    let month = month_or_now(&req, &q.mois);
    let mut lines = s
        .app
        .month_allowances(&ctx, &month)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let entitled = lines.len();
    let decided = lines.iter().filter(|l| l.decision.is_some()).count();
    let is_directeur = req
        .login()
        .is_some_and(|v| v.role == parcours_domain::Role::Directeur);
    let to_attribute: Vec<i64> = lines
        .iter()
        .filter(|l| l.decision.is_none())
        .filter_map(|l| l.computed_cents)
        .collect();
    let bulk = (is_directeur && !to_attribute.is_empty()).then(|| {
        let total: i64 = to_attribute.iter().sum();
        (
            to_attribute.len(),
            total,
            parcours_domain::situation::format_euros(total),
        )
    });
    match q.etat.as_str() {
        "a_decider" => lines.retain(|l| l.decision.is_none()),
        "decidees" => lines.retain(|l| l.decision.is_some()),
        _ => {}
    }
    match q.tri.as_str() {
        "montant" => lines.sort_by_key(|l| std::cmp::Reverse(l.computed_cents.unwrap_or(0))),
        _ => lines.sort_by(|a, b| (&a.nom, &a.prenom).cmp(&(&b.nom, &b.prenom))),
    }
    let rows = lines
        .into_iter()
        .map(|l| MonthRow {
            kind: ProgrammeKind::parse(&l.kind).map_or("", ProgrammeKind::label),
            decision: l
                .decision
                .as_deref()
                .and_then(parcours_domain::vocab::AllowanceDecision::parse)
                .map(parcours_domain::vocab::AllowanceDecision::label),
            computed: euros(&l.computed_cents),
            amount: euros(&l.amount_cents),
            line: l,
        })
        .collect();
    let state = match q.etat.as_str() {
        "a_decider" | "decidees" => q.etat.clone(),
        _ => String::new(),
    };
    let sort = if q.tri == "montant" {
        "montant".to_string()
    } else {
        String::new()
    };
    Ok(render(&MonthPage {
        login: req.login(),
        csrf: req.csrf(),
        month_words: parcours_domain::rules::parse_month(&month)
            .map(crate::format::month_words)
            .unwrap_or_else(|| month.clone()),
        keep: crate::lists::query(&[("mois", &month), ("etat", &state), ("tri", &sort)]),
        month,
        list: crate::lists::paginate(rows, q.page),
        entitled,
        decided,
        state,
        sort,
        bulk,
        done: q.attribuees.parse().ok(),
    }))
}

/// « Attribuer au montant calculé »: the month's undecided allowances, all at once, once the
/// count and the total shown are confirmed (the use case refuses them if the month changed).
pub async fn attribute_month(
    State(s): State<AppState>,
    req: Req,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let g = |k: &str| p.get(k).cloned().unwrap_or_default();
    let month = g("mois");
    let back = format!("/allocations?{}", crate::lists::query(&[("mois", &month)]));
    if g("confirmer") != "oui" {
        return Err(WebError::new(
            parcours_app::AppError::Conflict(
                "Cochez la confirmation pour attribuer les allocations au montant calculé.".into(),
            ),
            &req,
        ));
    }
    let (count, total) = (
        g("nombre").parse().unwrap_or(0),
        g("total").parse().unwrap_or(-1),
    );
    let (n, _) = s
        .app
        .attribute_month(&ctx, &month, count, total)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(see_other(&format!("{back}&attribuees={n}")))
}

#[derive(Template)]
#[template(path = "lot.html")]
struct BatchPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    month_words: String,
    b: Batch,
    total: String,
    transfers: String,
    lines: Vec<(String, String, String, String, bool, bool, String)>,
    /// This month's requests for the file with IBANs: (format, status label, approved and
    /// still to take by the viewer).
    files: Vec<(String, String, bool)>,
    message: Option<String>,
    error: Option<String>,
}

/// The batch page, with a message or an error of the last act (file requested or refused).
pub(crate) async fn batch_view(
    s: &AppState,
    req: &Req,
    month: &str,
    message: Option<String>,
    error: Option<String>,
) -> PageResult {
    let ctx = req.authenticated()?;
    let b = s
        .app
        .payment_batch(&ctx, month, None, "")
        .await
        .map_err(|e| WebError::new(e, req))?;
    let lines = b
        .lines
        .iter()
        .map(|l| {
            (
                format!("{} {}", l.nom, l.prenom),
                // Labels, not codes.
                parcours_domain::vocab::ProgrammeKind::parse(&l.kind)
                    .map_or_else(|| l.kind.clone(), |k| k.label().to_string()),
                parcours_domain::vocab::AllowanceDecision::parse(&l.decision)
                    .map_or_else(|| l.decision.clone(), |d| d.label().to_string()),
                parcours_domain::situation::format_euros(l.amount_cents),
                l.has_iban,
                l.iban_waiting,
                crate::work::safe_id(&l.jeune_id),
            )
        })
        .collect();
    let me = req.login_name().unwrap_or_default();
    let files = s
        .app
        .list_requests(&ctx)
        .await
        .map_err(|e| WebError::new(e, req))?
        .into_iter()
        .filter(|r| {
            r.kind == parcours_app::approvals::BATCH_EXPORT
                && r.target.starts_with(&format!("{}:", b.month))
        })
        .map(|r| {
            let fmt = r.target.rsplit(':').next().unwrap_or_default().to_string();
            let ready = r.status == "approuvee" && r.requested_by == me;
            (fmt, r.status_label.to_string(), ready)
        })
        .collect();
    let st = if error.is_some() {
        axum::http::StatusCode::CONFLICT
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        st,
        render(&BatchPage {
            login: req.login(),
            csrf: req.csrf(),
            month_words: parcours_domain::rules::parse_month(&b.month)
                .map(crate::format::month_words)
                .unwrap_or_else(|| b.month.clone()),
            total: parcours_domain::situation::format_euros(b.total_cents),
            transfers: parcours_domain::situation::format_euros(b.transfers_cents),
            lines,
            files,
            message,
            error,
            b,
        }),
    )
        .into_response())
}

pub async fn batch(State(s): State<AppState>, req: Req, Query(q): Query<MonthQuery>) -> PageResult {
    let month = month_or_now(&req, &q.mois);
    batch_view(&s, &req, &month, None, None).await
}

#[derive(Template)]
#[template(path = "entreprises.html")]
struct CompaniesPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    list: Paged<CompanyRow>,
    /// Companies of the structure before the filter.
    all: usize,
    q: CompaniesQuery,
    keep: String,
    error: Option<String>,
    form: Posted,
}

/// The companies list: a filter on the name, the SIRET or the NAF code (`q`), a sort
/// (`tri`: `nom`, `recent`), a page.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct CompaniesQuery {
    q: String,
    tri: String,
    page: usize,
}

fn companies_view(
    mut list: Vec<CompanyRow>,
    q: CompaniesQuery,
) -> (Paged<CompanyRow>, usize, String, CompaniesQuery) {
    let all = list.len();
    let needle = parcours_domain::normalize::fold(q.q.trim());
    let digits: String = q.q.chars().filter(|c| c.is_ascii_digit()).collect();
    if !needle.is_empty() {
        list.retain(|c| {
            parcours_domain::normalize::fold(&c.name).contains(&needle)
                || (!digits.is_empty() && c.siret.contains(&digits))
                || c.naf
                    .as_deref()
                    .is_some_and(|n| parcours_domain::normalize::fold(n).contains(&needle))
        });
    }
    if q.tri == "recent" {
        list.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    } else {
        list.sort_by_key(|c| parcours_domain::normalize::fold(&c.name));
    }
    let keep = crate::lists::query(&[("q", q.q.trim()), ("tri", &q.tri)]);
    (crate::lists::paginate(list, q.page), all, keep, q)
}

impl CompaniesPage {
    fn v(&self, k: &str) -> String {
        self.form.get(k).cloned().unwrap_or_default()
    }
}

pub async fn companies(
    State(s): State<AppState>,
    req: Req,
    Query(q): Query<CompaniesQuery>,
) -> PageResult {
    let ctx = req.authenticated()?;
    let list = s
        .app
        .list_companies(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let (list, all, keep, q) = companies_view(list, q);
    Ok(render(&CompaniesPage {
        login: req.login(),
        csrf: req.csrf(),
        list,
        all,
        q,
        keep,
        error: None,
        form: Posted::new(),
    }))
}

pub async fn company_create(
    State(s): State<AppState>,
    req: Req,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let i: CompanyInput = input(&p, &req)?;
    match s.app.create_company(&ctx, &i).await {
        Ok(id) => Ok(see_other(&format!("/entreprises/{id}"))),
        Err(e @ (parcours_app::AppError::Validation(_) | parcours_app::AppError::Conflict(_))) => {
            let list = s
                .app
                .list_companies(&ctx)
                .await
                .map_err(|e| WebError::new(e, &req))?;
            let error = Some(match &e {
                parcours_app::AppError::Validation(v) => {
                    v.0.iter()
                        .map(|f| f.message.clone())
                        .collect::<Vec<_>>()
                        .join(" ")
                }
                other => message(other),
            });
            let (list, all, keep, q) = companies_view(list, CompaniesQuery::default());
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                render(&CompaniesPage {
                    login: req.login(),
                    csrf: req.csrf(),
                    list,
                    all,
                    q,
                    keep,
                    error,
                    form: p,
                }),
            )
                .into_response())
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

#[derive(Template)]
#[template(path = "entreprise.html")]
struct CompanyPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    c: CompanyView,
}

pub async fn company(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> PageResult {
    let ctx = req.authenticated()?;
    let c = s
        .app
        .get_company(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(render(&CompanyPage {
        login: req.login(),
        csrf: req.csrf(),
        c,
    }))
}

pub async fn contact_add(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let i: ContactInput = input(&p, &req)?;
    s.app
        .add_contact(&ctx, &id, &i)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(see_other(&format!("/entreprises/{}", safe_id(&id))))
}

pub async fn offer_add(
    State(s): State<AppState>,
    req: Req,
    Path(id): Path<String>,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let i: OfferInput = input(&p, &req)?;
    s.app
        .add_offer(&ctx, &id, &i)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(see_other(&format!("/entreprises/{}", safe_id(&id))))
}

#[derive(Template)]
#[template(path = "ateliers.html")]
struct WorkshopsPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    list: Paged<WorkshopView>,
    /// Upcoming sessions before the filter.
    all: usize,
    q: WorkshopsQuery,
    keep: String,
    themes: Vec<(&'static str, &'static str)>,
    error: Option<String>,
}

/// The upcoming sessions: a theme (`theme`), words of the title (`q`), places left
/// (`places=libres`), a page; by date.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct WorkshopsQuery {
    q: String,
    theme: String,
    places: String,
    page: usize,
}

async fn workshops_page(
    s: &AppState,
    req: &Req,
    q: WorkshopsQuery,
    error: Option<String>,
) -> PageResult {
    let ctx = req.authenticated()?;
    let mut list = s
        .app
        .upcoming_workshops(&ctx)
        .await
        .map_err(|e| WebError::new(e, req))?;
    let all = list.len();
    let words = parcours_domain::normalize::fold(q.q.trim());
    list.retain(|w| {
        (q.theme.is_empty() || w.theme == q.theme)
            && (words.is_empty() || parcours_domain::normalize::fold(&w.title).contains(&words))
            && (q.places != "libres" || w.taken < w.seats)
    });
    list.sort_by(|a, b| (&a.on_date, &a.at_time).cmp(&(&b.on_date, &b.at_time)));
    let keep = crate::lists::query(&[
        ("q", q.q.trim()),
        ("theme", &q.theme),
        ("places", &q.places),
    ]);
    let list = crate::lists::paginate(list, q.page);
    let themes = Theme::ALL.iter().map(|t| (t.code(), t.label())).collect();
    let st = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        st,
        render(&WorkshopsPage {
            login: req.login(),
            csrf: req.csrf(),
            list,
            all,
            q,
            keep,
            themes,
            error,
        }),
    )
        .into_response())
}

pub async fn workshops(
    State(s): State<AppState>,
    req: Req,
    Query(q): Query<WorkshopsQuery>,
) -> PageResult {
    workshops_page(&s, &req, q, None).await
}

pub async fn workshop_create(
    State(s): State<AppState>,
    req: Req,
    Form(p): Form<Posted>,
) -> PageResult {
    let ctx = posted_ctx(&req, &p)?;
    let i: WorkshopInput = input(&p, &req)?;
    match s.app.create_workshop(&ctx, &i).await {
        Ok(_) => Ok(see_other("/ateliers")),
        Err(parcours_app::AppError::Validation(v)) => {
            workshops_page(
                &s,
                &req,
                WorkshopsQuery::default(),
                Some(
                    v.0.iter()
                        .map(|f| f.message.clone())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
            )
            .await
        }
        Err(e) => Err(WebError::new(e, &req)),
    }
}

#[derive(Template)]
#[template(path = "atelier.html")]
struct WorkshopPage {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    w: WorkshopView,
    date: String,
    people: Vec<parcours_app::workshops::Attendee>,
}

/// A session and its attendance list: who is registered, each marked present or absent in
/// one click (the act is the dossier's, and returns here).
pub async fn workshop(State(s): State<AppState>, req: Req, Path(id): Path<String>) -> PageResult {
    let ctx = req.authenticated()?;
    let (w, people) = s
        .app
        .workshop_attendance(&ctx, &id)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    Ok(render(&WorkshopPage {
        login: req.login(),
        csrf: req.csrf(),
        date: crate::format::iso_date(&w.on_date),
        w,
        people,
    }))
}
