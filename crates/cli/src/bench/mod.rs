//! Benchmark commands. They build a throw-away instance, load it, and print percentiles; the
//! figures go to docs/BENCHMARKS.md. No test asserts a duration. One module per benchmark:
//! [`search`] (search and opening, encrypted vs plaintext), [`audit`] (concurrent appends),
//! [`parcours`] (the advisor's daily work), [`http`] (the mixed workload over HTTP, driven by wrk), [`warehouse`] (the export); the shared helpers here.

use parcours_app::jeunes::SearchQuery;
use parcours_app::setup::Location;
use parcours_app::{Actor, App, Ctx, Principal};
use parcours_domain::normalize::fold;
use parcours_domain::Role;
use rand::{Rng, SeedableRng};
use sqlx::Row;
use std::time::{Duration, Instant};

mod audit;
mod http;
mod parcours;
mod search;
mod warehouse;

pub use audit::{audit, AuditArgs};
pub use http::{http, HttpArgs};
pub use parcours::{parcours, ParcoursArgs};
pub use search::{search, SearchArgs};
pub use warehouse::{warehouse, WarehouseArgs};

async fn scratch(database_url: Option<String>) -> anyhow::Result<(App, std::path::PathBuf)> {
    let dir = std::env::temp_dir().join(format!("parcours-bench-{}", uuid_like()));
    let loc = Location {
        database_url: database_url
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("parcours.db").display())),
        key_file: dir.join("master.key"),
        data_dir: dir.clone(),
    };
    let app = parcours_app::setup::init(&loc)
        .await
        .map_err(crate::commands::explain)?;
    Ok((app, dir))
}

fn uuid_like() -> String {
    parcours_vault::random_bytes::<6>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

fn line(name: &str, v: &mut [Duration]) -> (f64, f64) {
    let (p50, p99) = (pct(v, 0.5), pct(v, 0.99));
    println!(
        "{name:<44} p50 {p50:>8.3} ms   p99 {p99:>8.3} ms   (n = {})",
        v.len()
    );
    (p50, p99)
}
