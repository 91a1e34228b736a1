//! One page per common act, with sensible defaults (today's date, the usual modality), the
//! keyboard first (the first field has the focus), and a redirect to the dossier once saved.
//! One module per family of acts.

mod allowance;
mod entries;
mod placements;
mod programmes;
mod situation;

pub use allowance::*;
pub use entries::*;
pub use placements::*;
pub use programmes::*;
pub use situation::*;

use super::form::Posted;
use super::{safe_id, see_other};

fn saved(id: &str) -> axum::response::Response {
    see_other(&format!("/jeunes/{}?enregistre=1", safe_id(id)))
}

fn back(id: &str) -> String {
    format!("/jeunes/{}", safe_id(id))
}

fn yes_no() -> Vec<(String, String)> {
    vec![("oui".into(), "Oui".into()), ("non".into(), "Non".into())]
}

fn version_of(p: &Posted) -> i64 {
    p.get("version").and_then(|v| v.parse().ok()).unwrap_or(0)
}
