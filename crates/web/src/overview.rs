//! « Ma structure »: the directeur's home (issue 19). What needs her today, in figures, each
//! with the page where she acts: the month's allowances still to decide, the payment batch and
//! its file requests, the open alerts, the requests waiting for her approval. Counts only: the
//! page reads no identity (opening it costs no quota and writes no per-person audit row).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use parcours_app::allowances::MonthCounts;
use parcours_app::approvals::BATCH_EXPORT;
use parcours_domain::situation::format_euros;

use crate::error::{render, WebError};
use crate::format::{date, month_words, number};
use crate::request::Req;
use crate::AppState;

#[derive(Template)]
#[template(path = "direction.html")]
struct Overview {
    login: Option<crate::nav::Viewer>,
    csrf: String,
    today: String,
    month_words: String,
    month: String,
    counts: MonthCounts,
    to_pay: String,
    entitled: String,
    undecided: String,
    open_alerts: usize,
    to_approve: usize,
    batch_requests: usize,
}

pub async fn page(State(s): State<AppState>, req: Req) -> Result<Response, WebError> {
    let ctx = req.authenticated()?;
    let today = req.now.date_naive();
    let month = today.format("%Y-%m").to_string();
    let counts = s
        .app
        .month_counts(&ctx, &month)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let alerts = s
        .app
        .list_alerts(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let requests = s
        .app
        .list_requests(&ctx)
        .await
        .map_err(|e| WebError::new(e, &req))?;
    let pending = |r: &&parcours_app::approvals::RequestView| r.status == "en_attente";
    Ok(render(&Overview {
        login: req.login(),
        csrf: req.csrf(),
        today: date(today),
        month_words: month_words(today),
        month,
        to_pay: format_euros(counts.to_pay_cents),
        entitled: number(counts.entitled as i64),
        undecided: number(counts.undecided as i64),
        counts,
        open_alerts: alerts.iter().filter(|a| a.closed_by.is_none()).count(),
        to_approve: requests
            .iter()
            .filter(pending)
            .filter(|r| r.can_decide)
            .count(),
        batch_requests: requests
            .iter()
            .filter(pending)
            .filter(|r| r.kind == BATCH_EXPORT)
            .count(),
    }))
}
