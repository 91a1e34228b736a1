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
    /// Benchmark: p50/p99 of each dashboard table at national scope — cold (queries and
    /// disclosure control of the indicator-year) and warm (a view of the protected families) —
    /// next to the same aggregate as raw DataFusion SQL on the same files.
    Bench {
        #[arg(long, env = "PARCOURS_WAREHOUSE_DIR")]
        warehouse: PathBuf,
        /// Runs per indicator.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Year (default: the latest in the warehouse).
        #[arg(long)]
        annee: Option<String>,
    },
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
        Command::Bench {
            warehouse,
            runs,
            annee,
        } => bench(&warehouse, runs.max(1), annee).await?,
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

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(0.0)
}

async fn bench(dir: &std::path::Path, runs: usize, annee: Option<String>) -> Result<(), String> {
    use std::time::Instant;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let (_, manifest) = parcours_warehouse::files::open_current(dir)
        .map_err(|e| format!("entrepôt illisible : {e}"))?;
    let rows: Vec<String> = manifest
        .tables
        .iter()
        .filter(|t| !t.file.starts_with("facts/"))
        .map(|t| format!("{} {}", t.file, t.rows))
        .chain(std::iter::once(format!(
            "faits {} en {} fichiers mensuels",
            manifest.fact_rows(),
            manifest.fact_months().count()
        )))
        .collect();
    let w0 = Warehouse::open(dir, parcours_insight::sdc::DEFAULT_THRESHOLD)
        .await
        .map_err(|e| err(&e))?;
    let year = annee
        .or_else(|| w0.years.last().cloned())
        .ok_or("entrepôt vide")?;
    println!(
        "entrepôt {} ({}), année {year}, {} unités (nation, régions, structures), {runs} passages",
        w0.version,
        rows.join(", "),
        w0.hierarchy.units.len()
    );
    let t = Instant::now();
    let ready = w0.warm_up().await;
    println!(
        "préparation au chargement (toutes les années de tous les indicateurs, {ready}) : {:.1} s",
        t.elapsed().as_secs_f64()
    );
    println!("indicateur;froid p50 ms;froid p99 ms;vue p50 ms;vue p99 ms;SQL brut p50 ms;SQL brut p99 ms");
    for ind in INDICATORS {
        let (mut cold, mut warm, mut raw) = (Vec::new(), Vec::new(), Vec::new());
        let q = |ventilation: &str| Query {
            indicateur: ind.code.into(),
            annee: year.clone(),
            ventilation: ventilation.into(),
            niveau: "nation".into(),
            code: "nation".into(),
        };
        let first = if ind.measure == parcours_insight::catalogue::Measure::Persons {
            "sexe"
        } else {
            "mois"
        };
        for _ in 0..runs {
            let w = Warehouse::open(dir, parcours_insight::sdc::DEFAULT_THRESHOLD)
                .await
                .map_err(|e| err(&e))?;
            let t = Instant::now();
            w.publish(&Perimeter::Nation, &q(first))
                .await
                .map_err(|e| err(&e))?;
            cold.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            w.publish(&Perimeter::Nation, &q("tranche_age"))
                .await
                .map_err(|e| err(&e))?;
            warm.push(t.elapsed().as_secs_f64() * 1000.0);
            let expr = if first == "mois" { "f.mois" } else { "p.sexe" };
            let measure = ind.measure.sql();
            let sql = format!(
                "SELECT f.structure, {expr}, {measure} FROM facts f JOIN persons p ON p.pseudonyme = f.pseudonyme \
                 WHERE ({}) AND f.mois LIKE '{year}-%' GROUP BY 1, 2",
                ind.filter
            );
            let t = Instant::now();
            w.ctx
                .sql(&sql)
                .await
                .map_err(|e| err(&e))?
                .collect()
                .await
                .map_err(|e| err(&e))?;
            raw.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "{};{:.0};{:.0};{:.1};{:.1};{:.0};{:.0}",
            ind.code,
            pct(&mut cold, 0.5),
            pct(&mut cold, 0.99),
            pct(&mut warm, 0.5),
            pct(&mut warm, 0.99),
            pct(&mut raw, 0.5),
            pct(&mut raw, 0.99)
        );
    }
    Ok(())
}
