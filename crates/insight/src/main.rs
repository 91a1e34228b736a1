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
        #[arg(long = "entrepot", alias = "warehouse", env = "PARCOURS_WAREHOUSE_DIR")]
        warehouse: PathBuf,
        /// The main server's public key file (`parcours pilotage cle-publique`).
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
        /// Do not mark the session cookie `Secure` (it is by default; only for a plain-HTTP
        /// host other than localhost, which browsers would refuse it on).
        #[arg(long)]
        cookie_non_securise: bool,
        /// A directory shared by every instance (same host or a network file system): sessions
        /// and used assertions live there, so several instances behind one proxy serve the
        /// same sessions and survive a restart. Default: in memory (one instance).
        #[arg(long = "etat", alias = "state-dir", env = "PARCOURS_INSIGHT_STATE_DIR")]
        etat: Option<PathBuf>,
        /// Former flag (the cookie is `Secure` by default now); accepted for one release.
        #[arg(long, hide = true)]
        cookie_securise: bool,
    },
    /// List the indicators and their definitions.
    Indicateurs,
    /// Benchmark: p50/p99 of each dashboard table at national scope — cold (queries and
    /// disclosure control of the indicator-year) and warm (a view of the protected families) —
    /// next to the same aggregate as raw DataFusion SQL on the same files.
    Bench {
        #[arg(long = "entrepot", alias = "warehouse", env = "PARCOURS_WAREHOUSE_DIR")]
        warehouse: PathBuf,
        /// Runs per indicator.
        #[arg(long = "passes", alias = "runs", default_value_t = 5)]
        runs: usize,
        /// Year (default: the latest in the warehouse).
        #[arg(long)]
        annee: Option<String>,
    },
    /// Benchmark: disclosure control of one family (structures × months, with quarters, the
    /// year and every unit of the hierarchy) as the hierarchy grows — synthetic counts, the
    /// same protection the pipeline calls (by sub-table), or the whole table as one system.
    BenchProtection {
        /// Numbers of structures to try (spread over 13 régions).
        #[arg(long, value_delimiter = ',', default_value = "4,10,20,40")]
        structures: Vec<usize>,
        #[arg(long, default_value_t = parcours_insight::sdc::DEFAULT_THRESHOLD)]
        seuil: i64,
        /// `modulaire` (by sub-table, as the pipeline) or `globale` (one linear system).
        #[arg(long, default_value = "modulaire")]
        methode: String,
        /// Attack jointly this many suppressed cells (spread over the table): their feasible
        /// interval from every published cell of the whole table, by linear programming.
        #[arg(long, default_value_t = 0)]
        attaque: usize,
    },
    /// Print a published table (the dashboards' pipeline), as CSV or JSON, at national scope.
    Tableau {
        #[arg(long = "entrepot", alias = "warehouse", env = "PARCOURS_WAREHOUSE_DIR")]
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
            cookie_non_securise,
            cookie_securise: _,
            etat,
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
                secure_cookie: !cookie_non_securise,
                state_dir: etat,
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
        Command::BenchProtection {
            structures,
            seuil,
            methode,
            attaque,
        } => {
            use parcours_insight::sdc::Status;
            if methode != "modulaire" && methode != "globale" {
                return Err("méthode inconnue : modulaire ou globale".into());
            }
            print!("structures;cellules internes;cellules publiées;supprimées (A);supprimées (D);durée s");
            if attaque > 0 {
                print!(";cellules attaquées;intervalle le plus étroit;sous le seuil;durée de l'attaque s");
            }
            println!();
            for n in structures {
                let table = synthetic_family(n.max(1));
                let (inner, cells, keys) = table.whole();
                let t = std::time::Instant::now();
                let st: Vec<Status> = if methode == "globale" {
                    parcours_insight::sdc::protect(&inner, &cells, seuil)
                } else {
                    let (p, _) = parcours_insight::modular::protect_table(
                        &table,
                        seuil,
                        &[],
                        &Default::default(),
                    );
                    keys.iter()
                        .map(|k| p.get(k).map(|c| c.1).unwrap_or(Status::V))
                        .collect()
                };
                let took = t.elapsed().as_secs_f64();
                let count = |x| st.iter().filter(|s| **s == x).count();
                print!(
                    "{n};{};{};{};{};{took:.2}",
                    inner.len(),
                    cells.len(),
                    count(Status::A),
                    count(Status::D),
                );
                if attaque > 0 {
                    let t = std::time::Instant::now();
                    let suppressed: Vec<usize> =
                        (0..cells.len()).filter(|&c| st[c].suppressed()).collect();
                    let step = suppressed.len().checked_div(attaque).unwrap_or(1).max(1);
                    let (mut attacked, mut narrowest, mut narrow) = (0, f64::INFINITY, 0);
                    for &c in suppressed.iter().step_by(step).take(attaque) {
                        let (lo, hi) = parcours_insight::sdc::feasible_interval(
                            &inner, &cells, &st, &cells[c],
                        );
                        attacked += 1;
                        narrowest = narrowest.min(hi - lo);
                        narrow += usize::from(hi - lo < seuil as f64 - 1e-6);
                    }
                    print!(
                        ";{attacked};{narrowest:.1};{narrow};{:.1}",
                        t.elapsed().as_secs_f64()
                    );
                }
                println!();
            }
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

/// A month family of `n` structures in 13 régions, as the pipeline builds it: inner cells
/// `structure × month`; published cells `unit × month`, `unit × quarter` and each unit's total,
/// for the nation, the régions and the structures. Counts are deterministic pseudo-random:
/// mostly tens to hundreds, with some small ones to suppress.
fn synthetic_family(n: usize) -> parcours_insight::modular::Table {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        // splitmix64: benchmark data, not secrets.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let regions = n.min(13);
    let size: Vec<u64> = (0..n).map(|_| 5 + next() % 300).collect();
    // Units: the nation, the régions, then the structures (structure s in région s mod 13).
    let mut parent = vec![None];
    parent.extend((0..regions).map(|_| Some(0)));
    parent.extend((0..n).map(|s| Some(1 + s % regions)));
    let rows = (0..n * 12)
        .map(|i| {
            let s = size[i / 12];
            let count = if next() % 10 == 0 {
                (next() % 8) as i64
            } else {
                (s / 2 + next() % s) as i64
            };
            (1 + regions + i / 12, i % 12, count)
        })
        .filter(|r| r.2 > 0)
        .collect();
    let mut groups: Vec<Vec<usize>> = (0..12).map(|m| vec![m]).collect();
    groups.extend((0..4).map(|q| (q * 3..q * 3 + 3).collect()));
    parcours_insight::modular::Table {
        parent,
        rows,
        groups,
    }
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
