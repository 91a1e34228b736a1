//! `parcours incident rapport --demande ID --dossier DIR`: the documents of an approved incident
//! report (asked by a DPO, approved by an admin or another DPO: docs/SECURITY.md, "Incident
//! report").

use crate::config::Common;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Write the report of an approved request into a folder: CNIL notification draft, letters
    /// (printable HTML), mailing list and dossiers touched (CSV). The folder holds names and
    /// addresses: readable by its owner only; keep it off shared disks.
    Rapport {
        #[command(flatten)]
        common: Common,
        /// The approved request (its id, shown on the Demandes page).
        #[arg(long)]
        demande: String,
        /// Where to write the documents (created).
        #[arg(long = "dossier", value_name = "DOSSIER")]
        dossier: PathBuf,
    },
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    let Cmd::Rapport {
        common,
        demande,
        dossier,
    } = c;
    let app = super::open(&common).await?;
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    let report = app
        .incident_report(&ctx, &demande)
        .await
        .map_err(super::explain);
    super::seal(&app).await?;
    let report = report?;
    let files = parcours_app::incident::documents::write_folder(&report, &dossier)
        .map_err(super::explain)?;
    println!(
        "Rapport d'incident ({}) : {} personne(s), {} enregistrement(s), {} lettre(s){}.",
        report.scope_label,
        report.persons.len(),
        report.records,
        report.letters.len(),
        if report.must_inform {
            ""
        } else {
            " (information des personnes non requise : données chiffrées, clé non compromise)"
        }
    );
    for f in files {
        println!("  {}", f.display());
    }
    println!(
        "Ce dossier contient des noms et des adresses : ne le copiez pas sur un disque partagé."
    );
    Ok(ExitCode::SUCCESS)
}
