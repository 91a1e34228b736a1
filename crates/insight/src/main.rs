//! `parcours-insight`: the decision module's own binary. It reads only a warehouse directory
//! (docs/WAREHOUSE.md) and the main server's public key: no operational database, no master
//! key, no pseudonymisation key.

use clap::{Parser, Subcommand};
use parcours_insight::catalogue::INDICATORS;
use parcours_insight::publish::{Query, Warehouse};
use parcours_insight::server::{self, Config, Server};
use parcours_vault::assertion::Perimeter;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "parcours-insight",
    version,
    about = "Module de pilotage de Parcours (sans identités)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the dashboards, their JSON API and exports.
    Serve {
        /// The warehouse directory (its `current` version is served, and followed).
        #[arg(long, env = "PARCOURS_WAREHOUSE_DIR")]
        warehouse: PathBuf,
        /// The main server's public key file (`parcours insight public-key`).
        #[arg(long, env = "PARCOURS_INSIGHT_PUBLIC_KEY")]
        cle_publique: PathBuf,
        #[arg(long, env = "PARCOURS_INSIGHT_BIND", default_value = "127.0.0.1:8081")]
        bind: String,
        /// Smallest publishable count of persons.
        #[arg(long, default_value_t = parcours_insight::sdc::DEFAULT_THRESHOLD)]
        seuil: i64,
        /// Seconds between two checks for a new warehouse version.
        #[arg(long, default_value_t = 10)]
        rechargement: u64,
        /// Mark the session cookie `Secure` (when served behind HTTPS).
        #[arg(long)]
        cookie_securise: bool,
    },
    /// List the indicators and their definitions.
    Indicateurs,
    /// Print a published table (the dashboards' pipeline), as CSV or JSON, at national scope.
    Tableau {
        #[arg(long, env = "PARCOURS_WAREHOUSE_DIR")]
        warehouse: PathBuf,
        #[arg(long)]
        indicateur: String,
        #[arg(long)]
        annee: String,
        #[arg(long, default_value = "mois")]
        ventilation: String,
        /// nation, region or structure.
        #[arg(long, default_value = "nation")]
        niveau: String,
        /// Région name or structure code (ignored for the nation).
        #[arg(long, default_value = "")]
        code: String,
        #[arg(long, default_value_t = parcours_insight::sdc::DEFAULT_THRESHOLD)]
        seuil: i64,
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parcours-insight : {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            warehouse,
            cle_publique,
            bind,
            seuil,
            rechargement,
            cookie_securise,
        } => {
            if seuil < 2 {
                return Err("le seuil de diffusion doit valoir au moins 2".into());
            }
            let text = std::fs::read_to_string(&cle_publique).map_err(|e| {
                format!("clé publique illisible ({}) : {e}", cle_publique.display())
            })?;
            let public_key = parcours_vault::assertion::parse_public_key(&text)
                .map_err(|e| format!("{} : {e}", cle_publique.display()))?;
            let s = Server::new(Config {
                warehouse,
                public_key,
                threshold: seuil,
                reload_every: rechargement,
                secure_cookie: cookie_securise,
            })
            .await?;
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .map_err(|e| format!("écoute impossible sur {bind} : {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            println!(
                "parcours-insight : pilotage sur http://{addr}/ (entrepôt {})",
                s.warehouse().await.version
            );
            server::serve(s, listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| e.to_string())?;
        }
        Command::Indicateurs => {
            for i in INDICATORS {
                println!("{}\t{}\t{}", i.code, i.label, i.definition);
            }
        }
        Command::Tableau {
            warehouse,
            indicateur,
            annee,
            ventilation,
            niveau,
            code,
            seuil,
            json,
        } => {
            parcours_warehouse::files::open_current(&warehouse)
                .map_err(|e| format!("entrepôt illisible : {e}"))?;
            let w = Warehouse::open(&warehouse, seuil)
                .await
                .map_err(|e| format!("entrepôt illisible : {e}"))?;
            let t = w
                .publish(
                    &Perimeter::Nation,
                    &Query {
                        indicateur,
                        annee,
                        ventilation,
                        niveau,
                        code,
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&t).map_err(|e| e.to_string())?
                );
            } else {
                print!(
                    "{}",
                    parcours_insight::render::to_csv(&t).trim_start_matches('\u{feff}')
                );
            }
        }
    }
    Ok(())
}
