//! `parcours-insight`: the decision module's own binary. It reads only a warehouse directory
//! (docs/WAREHOUSE.md): no operational database, no master key, no pseudonymisation key.
//! For now it prints protected tables; the server with dashboards comes next (issue #4).

use clap::{Parser, Subcommand};
use parcours_insight::indicators::{indicator, open, table, INDICATORS};
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
    /// List the indicators and their definitions.
    Indicateurs,
    /// Print an indicator as a protected two-way table (semicolon CSV, suppressed cells "s").
    Tableau {
        #[arg(long, env = "PARCOURS_WAREHOUSE_DIR")]
        warehouse: PathBuf,
        #[arg(long)]
        indicateur: String,
        #[arg(long, default_value = "mois")]
        lignes: String,
        #[arg(long, default_value = "structure")]
        colonnes: String,
        /// Smallest publishable count of persons.
        #[arg(long, default_value_t = parcours_insight::sdc::DEFAULT_THRESHOLD)]
        seuil: i64,
    },
}

#[tokio::main(flavor = "current_thread")]
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
        Command::Indicateurs => {
            for i in INDICATORS {
                println!("{}\t{}\t{}", i.code, i.label, i.definition);
            }
        }
        Command::Tableau {
            warehouse,
            indicateur,
            lignes,
            colonnes,
            seuil,
        } => {
            let ind = indicator(&indicateur)
                .ok_or_else(|| format!("indicateur inconnu « {indicateur} »"))?;
            for d in [&lignes, &colonnes] {
                parcours_insight::indicators::dimension(d)
                    .ok_or_else(|| format!("ventilation inconnue « {d} »"))?;
            }
            if ind.persons {
                return Err(
                    "un tableau croisé additionne des faits : choisissez un indicateur de comptage"
                        .into(),
                );
            }
            let ctx = open(&warehouse)
                .await
                .map_err(|e| format!("entrepôt illisible : {e}"))?;
            let t = table(&ctx, &ind, &lignes, &colonnes, seuil)
                .await
                .map_err(|e| e.to_string())?;
            print!("{}", t.to_csv(&lignes));
        }
    }
    Ok(())
}
