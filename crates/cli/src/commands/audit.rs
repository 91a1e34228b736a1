use crate::config::Common;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Verify the whole audit chain. Exit status: 0 intact; 3 altered (naming the first bad
    /// entry); 1 when it could not be checked (database or key file unreadable, bad arguments).
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

/// Exit status of `audit verify` when the log is altered (1 stays for "could not check").
pub const TAMPERED: u8 = 3;

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
                Err(e) if e.tampered => {
                    eprintln!(
                        "JOURNAL D'AUDIT ALTÉRÉ — première entrée en cause : n° {}",
                        e.seq
                    );
                    eprintln!("{}", e.message);
                    Ok(ExitCode::from(TAMPERED))
                }
                Err(e) => {
                    eprintln!("Vérification impossible : {}", e.message);
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
