use crate::config::Common;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Verify the whole audit chain; exit 0 if intact, 1 naming the first bad entry.
    Verify {
        #[command(flatten)]
        common: Common,
    },
    /// Seal pending entries now (the server does it every second).
    Seal {
        #[command(flatten)]
        common: Common,
    },
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    match c {
        Cmd::Verify { common } => {
            let app = super::open(&common).await?;
            match app.verify_audit().await {
                Ok(r) => {
                    println!(
                        "Journal d'audit intact : {} entrées chaînées, {} points de contrôle signés ({} aussi hors base), {} entrée(s) en attente de scellement.",
                        r.sealed, r.checkpoints, r.external_checkpoints, r.unsealed
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!(
                        "JOURNAL D'AUDIT ALTÉRÉ — première entrée en cause : n° {}",
                        e.seq
                    );
                    eprintln!("{}", e.message);
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Cmd::Seal { common } => {
            let app = super::open(&common).await?;
            let n = app
                .seal_audit(chrono::Utc::now())
                .await
                .map_err(super::explain)?;
            println!("{n} entrée(s) scellée(s).");
            Ok(ExitCode::SUCCESS)
        }
    }
}
