//! Exports of a whole perimeter: every indicator of a year for one node of the hierarchy, as
//! one XLSX workbook. A cold warehouse version may take seconds per indicator, so the workbook
//! is built in the background and its progress shown (`/exports/{id}`, refreshed by the page
//! itself, no script; `GET /api/v1/exports/{id}` for API clients). Every sheet is a table of
//! [`crate::publish`] — the one pipeline of the pages, CSV and single-table XLSX.
//!
//! Jobs live in memory for an hour, visible only to readers of the same perimeter; at most
//! [`MAX_RUNNING`] are built at once.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use parcours_vault::assertion::Perimeter;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

use crate::catalogue::INDICATORS;
use crate::publish::{Published, Query};
use crate::render;
use crate::server::{default_breakdown, download, html, message, now, Failure, Server};

/// Workbooks built at the same time, at most.
pub const MAX_RUNNING: usize = 2;
/// How long a finished workbook stays available.
pub const KEEP_S: i64 = 3600;

struct Job {
    perimeter: Perimeter,
    created: i64,
    label: String,
    annee: String,
    total: usize,
    done: usize,
    /// The workbook, or why it failed; `None` while running.
    result: Option<Result<Vec<u8>, String>>,
    file: String,
}

/// The export jobs of a server.
#[derive(Default)]
pub struct Jobs(Mutex<HashMap<String, Job>>);

/// What a reader asks to export (the page's node by default).
#[derive(Debug, Deserialize, Default)]
pub struct ExportParams {
    pub annee: Option<String>,
    pub niveau: Option<String>,
    pub code: Option<String>,
}

/// Progress of a job, as the API shows it.
#[derive(Debug, Serialize)]
pub struct Progress {
    pub id: String,
    /// `en_cours`, `pret` or `echec`.
    pub etat: &'static str,
    pub fait: usize,
    pub total: usize,
    pub perimetre: String,
    pub annee: String,
    /// Where to download the workbook once ready.
    pub fichier: Option<String>,
    pub message: Option<String>,
}

impl Job {
    fn progress(&self, id: &str) -> Progress {
        let (etat, message) = match &self.result {
            None => ("en_cours", None),
            Some(Ok(_)) => ("pret", None),
            Some(Err(e)) => ("echec", Some(e.clone())),
        };
        Progress {
            id: id.to_string(),
            etat,
            fait: self.done,
            total: self.total,
            perimetre: self.label.clone(),
            annee: self.annee.clone(),
            fichier: (etat == "pret").then(|| format!("/exports/{id}/fichier")),
            message,
        }
    }
}

/// Checks the request, then starts building the workbook. Returns the job id and the reader's
/// perimeter (read once: a bearer assertion serves one check).
async fn start(
    s: &Arc<Server>,
    headers: &HeaderMap,
    p: &ExportParams,
) -> Result<(String, Perimeter), Failure> {
    let (_, perimeter) = s
        .perimeter_of(headers)
        .await
        .ok_or(Failure::Unauthenticated)?;
    let reader = perimeter.clone();
    let w = s.warehouse().await;
    let (annee, niveau, code) = {
        let home = &w.hierarchy.units[w.hierarchy.home(&perimeter).unwrap_or(0)];
        (
            p.annee
                .clone()
                .or_else(|| w.years.last().cloned())
                .unwrap_or_default(),
            p.niveau.clone().unwrap_or_else(|| home.niveau.to_string()),
            p.code.clone().unwrap_or_else(|| home.code.clone()),
        )
    };
    let query = move |ind: &str| Query {
        indicateur: ind.to_string(),
        annee: annee.clone(),
        ventilation: default_breakdown(ind).to_string(),
        niveau: niveau.clone(),
        code: code.clone(),
    };
    // The first table checks year, node and perimeter before anything is queued.
    let first = w
        .publish(&perimeter, &query(INDICATORS[0].code))
        .await
        .map_err(Failure::Publish)?;
    let id: String = parcours_vault::random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    {
        let mut jobs = s.exports.0.lock().await;
        jobs.retain(|_, j| j.result.is_none() || j.created + KEEP_S > now());
        if jobs.values().filter(|j| j.result.is_none()).count() >= MAX_RUNNING {
            return Err(Failure::Busy);
        }
        jobs.insert(
            id.clone(),
            Job {
                perimeter: perimeter.clone(),
                created: now(),
                label: first.perimetre.libelle.clone(),
                annee: first.annee.clone(),
                total: INDICATORS.len(),
                done: 1,
                result: None,
                file: render::safe_file_name(&format!(
                    "pilotage-{}-{}.xlsx",
                    first.perimetre.code, first.annee
                )),
            },
        );
    }
    let (s, id2) = (s.clone(), id.clone());
    tokio::spawn(async move {
        let mut tables: Vec<Published> = vec![first];
        let mut failed = None;
        for ind in &INDICATORS[1..] {
            match w.publish(&perimeter, &query(ind.code)).await {
                Ok(t) => tables.push(t),
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            }
            if let Some(j) = s.exports.0.lock().await.get_mut(&id2) {
                j.done = tables.len();
            }
        }
        let result = match failed {
            Some(e) => Err(e),
            None => render::to_xlsx_book(&tables).map_err(|_| "classeur XLSX impossible".into()),
        };
        if let Some(j) = s.exports.0.lock().await.get_mut(&id2) {
            j.result = Some(result);
        }
    });
    Ok((id, reader))
}

/// A job of the reader's perimeter (another perimeter's job does not exist for them).
async fn progress_of(s: &Server, headers: &HeaderMap, id: &str) -> Result<Progress, Failure> {
    let (_, perimeter) = s
        .perimeter_of(headers)
        .await
        .ok_or(Failure::Unauthenticated)?;
    progress_for(s, &perimeter, id).await
}

async fn progress_for(s: &Server, perimeter: &Perimeter, id: &str) -> Result<Progress, Failure> {
    let jobs = s.exports.0.lock().await;
    jobs.get(id)
        .filter(|j| &j.perimeter == perimeter)
        .map(|j| j.progress(id))
        .ok_or(Failure::NotFound)
}

/// `POST /exports` (the page's button): starts, then shows the progress page.
pub async fn create(
    State(s): State<Arc<Server>>,
    headers: HeaderMap,
    Form(p): Form<ExportParams>,
) -> Response {
    match start(&s, &headers, &p).await {
        Ok((id, _)) => Redirect::to(&format!("/exports/{id}")).into_response(),
        Err(f) => f.page(),
    }
}

#[derive(Template)]
#[template(path = "export.html")]
struct ExportPage<'a> {
    p: &'a Progress,
    connected: bool,
}

/// `GET /exports/{id}`: progress (the page refreshes itself while running), then the link.
pub async fn page(
    State(s): State<Arc<Server>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match progress_of(&s, &headers, &id).await {
        Ok(p) => html(ExportPage {
            p: &p,
            connected: true,
        }),
        Err(f) => f.page(),
    }
}

/// `GET /exports/{id}/fichier`: the workbook, once ready.
pub async fn file(
    State(s): State<Arc<Server>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(f) = progress_of(&s, &headers, &id).await {
        return f.page();
    }
    let jobs = s.exports.0.lock().await;
    match jobs.get(&id).map(|j| (&j.result, &j.file)) {
        Some((Some(Ok(bytes)), name)) => download(
            bytes.clone(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            name,
        ),
        _ => message(
            StatusCode::CONFLICT,
            "Le classeur n'est pas prêt : revenez à la page de l'export.",
        ),
    }
}

/// `POST /api/v1/exports` (JSON `{annee, niveau, code}`, all optional): 202 and the progress.
pub async fn api_create(
    State(s): State<Arc<Server>>,
    headers: HeaderMap,
    axum::Json(p): axum::Json<ExportParams>,
) -> Response {
    let started = match start(&s, &headers, &p).await {
        Ok((id, perimeter)) => progress_for(&s, &perimeter, &id).await,
        Err(f) => Err(f),
    };
    match started {
        Ok(p) => (StatusCode::ACCEPTED, axum::Json(p)).into_response(),
        Err(f) => f.json(),
    }
}

/// `GET /api/v1/exports/{id}`: the progress.
pub async fn api_progress(
    State(s): State<Arc<Server>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match progress_of(&s, &headers, &id).await {
        Ok(p) => axum::Json(p).into_response(),
        Err(f) => f.json(),
    }
}
