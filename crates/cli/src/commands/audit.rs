use crate::config::Common;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Verify the whole audit chain. Exit status: 0 intact; 3 altered (naming the first bad
    /// entry); 1 when it could not be checked (database or key file unreadable, bad arguments).
    #[command(name = "verifier", alias = "verify")]
    Verify {
        #[command(flatten)]
        common: Common,
        /// Checkpoints kept elsewhere to check the chain against: a file (a copy of the
        /// checkpoint log on another disk) or an http(s) address serving the same lines (a
        /// second host that polls `GET /audit/points-de-controle`). Detects a log rolled back
        /// or re-sealed together with its local checkpoints.
        #[arg(long = "temoin", visible_alias = "witness", value_name = "FICHIER|URL")]
        temoin: Option<String>,
    },
    /// Seal pending entries now (the server does it every second).
    #[command(name = "sceller", alias = "seal")]
    Seal {
        #[command(flatten)]
        common: Common,
    },
}

/// Exit status of `audit verifier` when the log is altered (1 stays for "could not check").
pub const TAMPERED: u8 = 3;

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    match c {
        Cmd::Verify { common, temoin } => {
            let witness = match &temoin {
                Some(w) => match read_witness(w) {
                    Ok(text) => Some(text),
                    Err(e) => {
                        eprintln!("Vérification impossible : témoin « {w} » illisible : {e}");
                        return Ok(ExitCode::FAILURE);
                    }
                },
                None => None,
            };
            let app = super::open(&common).await?;
            match app.verify_audit_with(witness.as_deref()).await {
                Ok(r) => {
                    println!(
                        "Journal d'audit intact : {} entrées chaînées, {} points de contrôle signés ({} aussi hors base), {} entrée(s) en attente de scellement.",
                        r.sealed, r.checkpoints, r.external_checkpoints, r.unsealed
                    );
                    if r.external_behind > 0 {
                        println!(
                            "Le dernier point de contrôle n'est pas encore dans le journal externe (arrêt brutal pendant un scellement ?) : le prochain scellement l'y recopie."
                        );
                    }
                    if temoin.is_some() {
                        println!(
                            "Témoin : {} point(s) de contrôle retrouvé(s) dans la chaîne, aucun retour en arrière.",
                            r.witnessed
                        );
                    }
                    if !r.gaps.is_empty() {
                        println!(
                            "Numéros de séquence sautés : {} (PostgreSQL saute les numéros des transactions annulées ; à rapprocher des journaux du serveur).",
                            r.gaps.len()
                        );
                    }
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

/// The witness's checkpoint lines: from a file, or fetched over HTTP(S).
fn read_witness(w: &str) -> anyhow::Result<String> {
    if w.starts_with("http://") || w.starts_with("https://") {
        let mut resp = ureq::get(w).call()?;
        Ok(resp.body_mut().read_to_string()?)
    } else {
        Ok(std::fs::read_to_string(w)?)
    }
}
