//! Pages of the advisor's daily work: "Mon portefeuille", the dossier as one timeline, and one
//! page per common act (interview, appointment, proposal, situation, programme entry, CEJ week,
//! allowance, IBAN, immersion, legal representative, transfer, exit), the month's allowances
//! with the payment batch, partner companies and workshops. Forms post back and redirect to the
//! dossier; a refused form is shown again with a message under each field.

mod acts;
mod dossier;
pub(crate) mod form;
mod nir;
pub(crate) mod structure;

use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::error::WebError;

pub fn routes() -> crate::routes::Routes {
    crate::routes::Routes::new()
        .route("/portefeuille", get(dossier::caseload))
        .route("/jeunes/{id}", get(dossier::show))
        .route(
            "/jeunes/{id}/entree",
            get(acts::entry_form).post(acts::entry_submit),
        )
        .route("/entrees/{id}/statut", post(acts::entry_status))
        .route(
            "/jeunes/{id}/situation",
            get(acts::situation_form).post(acts::situation_submit),
        )
        .route(
            "/jeunes/{id}/representant",
            get(acts::legal_rep_form).post(acts::legal_rep_submit),
        )
        .route(
            "/jeunes/{id}/transfert",
            get(acts::transfer_form).post(acts::transfer_submit),
        )
        .route(
            "/jeunes/{id}/dispositif",
            get(acts::programme_form).post(acts::programme_submit),
        )
        .route(
            "/dispositifs/{id}/prolongation",
            get(acts::extend_form).post(acts::extend_submit),
        )
        .route("/dispositifs/{id}/semaine", post(acts::week_submit))
        .route("/dispositifs/{id}/phase", post(acts::phase_submit))
        .route(
            "/dispositifs/{id}/phase/{n}/evaluation",
            post(acts::evaluation_submit),
        )
        .route(
            "/jeunes/{id}/allocation",
            get(acts::allowance_form).post(acts::allowance_submit),
        )
        .route(
            "/jeunes/{id}/iban",
            get(acts::iban_form).post(acts::iban_submit),
        )
        .route("/jeunes/{id}/nir", get(nir::form).post(nir::submit))
        .route(
            "/jeunes/{id}/nir/revelation",
            get(nir::reveal_form).post(nir::reveal_submit),
        )
        .route(
            "/jeunes/{id}/immersion",
            get(acts::immersion_form).post(acts::immersion_submit),
        )
        .route("/immersions/{id}/statut", post(acts::immersion_status))
        .route("/jeunes/{id}/atelier", post(acts::workshop_register))
        .route("/allocations", get(structure::month))
        .route("/allocations/attribution", post(structure::attribute_month))
        .route("/allocations/lot", get(structure::batch))
        .route(
            "/entreprises",
            get(structure::companies).post(structure::company_create),
        )
        .route("/entreprises/{id}", get(structure::company))
        .route("/entreprises/{id}/contacts", post(structure::contact_add))
        .route("/entreprises/{id}/offres", post(structure::offer_add))
        .route(
            "/ateliers",
            get(structure::workshops).post(structure::workshop_create),
        )
        .route("/ateliers/{id}", get(structure::workshop))
}

type PageResult = Result<Response, WebError>;

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A dossier id as it may appear in a redirect: a UUID, or nothing.
pub(crate) fn safe_id(id: &str) -> String {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .unwrap_or_default()
}
