use crate::config::Common;
use parcours_app::import::ImportOutcome;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Import dossiers jeunes from a CSV file: all lines or none.
    Jeunes {
        #[command(flatten)]
        common: Common,
        /// Code of the structure receiving the dossiers.
        #[arg(long)]
        structure: String,
        file: std::path::PathBuf,
    },
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    let Cmd::Jeunes {
        common,
        structure,
        file,
    } = c;
    let bytes = std::fs::read(&file).map_err(|e| anyhow::anyhow!("{} : {e}", file.display()))?;
    let app = super::open(&common).await?;
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    // Lines are counted by the use case; the bar appears once it knows the total.
    let bar: std::sync::OnceLock<crate::progress::Progress> = std::sync::OnceLock::new();
    let progress = |done: usize, total: usize| {
        if total >= 1000 {
            let p = bar
                .get_or_init(|| crate::progress::Progress::new("Import", "lignes", total as u64));
            p.set(done as u64);
            if done == total {
                p.finish();
            }
        }
    };
    let outcome = app
        .import_jeunes(&ctx, &structure, &bytes, &progress)
        .await
        .map_err(super::explain)?;
    match outcome {
        ImportOutcome::Imported { count, warnings } => {
            super::seal(&app).await?;
            for w in &warnings {
                println!("avertissement ligne {} : {}", w.line, w.message);
            }
            println!(
                "{count} dossier(s) importé(s) dans la structure {}.",
                structure.trim().to_uppercase()
            );
            Ok(ExitCode::SUCCESS)
        }
        ImportOutcome::Rejected { errors } => {
            for e in &errors {
                if e.column.is_empty() {
                    eprintln!("ligne {} : {}", e.line, e.message);
                } else {
                    eprintln!("ligne {}, colonne {} : {}", e.line, e.column, e.message);
                }
            }
            eprintln!(
                "Import refusé : {} erreur(s), aucun dossier enregistré.",
                errors.len()
            );
            Ok(ExitCode::from(2))
        }
    }
}
