//! Benchmarks, as commands that print their figures (see docs/BENCHMARKS.md).
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Search and dossier opening at scale, encrypted vs a plaintext table of the same shape.
    #[command(name = "recherche", alias = "search")]
    Search(crate::bench::SearchArgs),
    /// Concurrent audit appends: throughput with 1 and N writers.
    Audit(crate::bench::AuditArgs),
    /// Daily work at scale: a 200-entry dossier, the caseload page, the month's allowances.
    Parcours(crate::bench::ParcoursArgs),
    /// The advisor's mixed workload over HTTP (wrk), with /healthz as the reference.
    Http(crate::bench::HttpArgs),
    /// Full warehouse export: extraction, k-anonymity, Parquet, publication.
    #[command(name = "entrepot", alias = "warehouse")]
    Warehouse(crate::bench::WarehouseArgs),
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    match c {
        Cmd::Search(a) => crate::bench::search(a).await?,
        Cmd::Audit(a) => crate::bench::audit(a).await?,
        Cmd::Parcours(a) => crate::bench::parcours(a).await?,
        Cmd::Http(a) => crate::bench::http(a).await?,
        Cmd::Warehouse(a) => crate::bench::warehouse(a).await?,
    }
    Ok(ExitCode::SUCCESS)
}
