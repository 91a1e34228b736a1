//! `parcours`: the server and the operator commands. Each subcommand lives in its own file
//! under `commands/` and only parses, calls the `app` use cases and prints.

mod bench;
mod commands;
mod config;
mod parcours_seed;
mod progress;
mod seed;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

// mimalloc rather than glibc's malloc: the warehouse export builds and frees tens of millions of
// small strings, and glibc spent a fifth of a full export consolidating and unlinking free
// chunks (perf, docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "parcours",
    version,
    about = "Parcours : système d'information des Missions Locales, sécurisé dès la conception"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a demonstration instance (fresh data dir, synthetic data, one account per role).
    Demo(commands::demo::Args),
    /// Print the current second-factor code of a demo account (demo instances only).
    DemoCode(commands::demo::CodeArgs),
    /// Create a new instance: database, master key file, keyring.
    Init(commands::init::Args),
    /// Run the web server (pages and JSON API).
    #[command(name = "serveur", alias = "serve")]
    Serve(commands::serve::Args),
    /// Add a deterministic synthetic French population.
    #[command(name = "peupler", alias = "seed")]
    Seed(commands::seed::Args),
    /// Manage structures.
    #[command(subcommand)]
    Structure(commands::structure::Cmd),
    /// Manage user accounts.
    #[command(subcommand)]
    #[command(name = "compte", alias = "user")]
    User(commands::user::Cmd),
    /// Import data files.
    #[command(subcommand)]
    Import(commands::import::Cmd),
    /// Audit log: seal, verify.
    #[command(subcommand)]
    Audit(commands::audit::Cmd),
    /// Backup of the instance, without the dossiers' keys (kept apart, short-lived).
    #[command(name = "sauvegarde", alias = "backup")]
    Backup(commands::backup::BackupArgs),
    /// Restore a backup into an empty instance, or a restore drill (--essai).
    #[command(name = "restauration", alias = "restore")]
    Restore(commands::backup::RestoreArgs),
    /// Retention: rules and their daily run (décret n° 2015-59 by default).
    #[command(subcommand)]
    #[command(name = "conservation", alias = "retention")]
    Retention(commands::retention::Cmd),
    /// After a breach: the incident report of an approved request.
    #[command(subcommand)]
    Incident(commands::incident::Cmd),
    /// Master key management.
    #[command(subcommand)]
    #[command(name = "cles", alias = "keys")]
    Keys(commands::keys::Cmd),
    /// The paying agency's account (payment batches).
    #[command(subcommand)]
    #[command(name = "payeur", alias = "payer")]
    Payer(commands::payer::Cmd),
    /// The decision module's warehouse: pseudonymised, k-anonymous export.
    #[command(subcommand)]
    #[command(name = "entrepot", alias = "warehouse")]
    Warehouse(commands::warehouse::Cmd),
    /// What the separate insight server (dashboards) needs from this one.
    #[command(subcommand)]
    #[command(name = "pilotage", alias = "insight")]
    Insight(commands::insight::Cmd),
    /// Benchmarks (print their figures).
    #[command(subcommand)]
    #[command(name = "banc", alias = "bench")]
    Bench(commands::bench::Cmd),
    /// Decoy dossiers that freeze whoever reads them outside a caseload.
    #[command(subcommand)]
    #[command(name = "canaris", alias = "canaries")]
    Canaries(commands::vigilance::Canaries),
    /// Security alerts: SMTP relay, recipients, list, send.
    #[command(subcommand)]
    Alertes(commands::vigilance::Alertes),
    /// Scraping thresholds of the instance.
    #[command(subcommand)]
    Vigilance(commands::vigilance::Vigilance),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = matches!(cli.command, Command::Serve(_));
    let filter = tracing_subscriber::EnvFilter::try_from_env("PARCOURS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.compact().without_time().init();
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("erreur : démarrage impossible : {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Demo(a) => commands::demo::run(a).await,
            Command::DemoCode(a) => commands::demo::code(a).await,
            Command::Init(a) => commands::init::run(a).await,
            Command::Serve(a) => commands::serve::run(a).await,
            Command::Seed(a) => commands::seed::run(a).await,
            Command::Structure(c) => commands::structure::run(c).await,
            Command::User(c) => commands::user::run(c).await,
            Command::Import(c) => commands::import::run(c).await,
            Command::Audit(c) => commands::audit::run(c).await,
            Command::Keys(c) => commands::keys::run(c).await,
            Command::Incident(c) => commands::incident::run(c).await,
            Command::Backup(a) => commands::backup::backup(a).await,
            Command::Retention(c) => commands::retention::run(c).await,
            Command::Restore(a) => commands::backup::restore(a).await,
            Command::Payer(c) => commands::payer::run(c).await,
            Command::Warehouse(c) => commands::warehouse::run(c).await,
            Command::Insight(c) => commands::insight::run(c).await,
            Command::Bench(c) => commands::bench::run(c).await,
            Command::Canaries(c) => commands::vigilance::canaries(c).await,
            Command::Alertes(c) => commands::vigilance::alertes(c).await,
            Command::Vigilance(c) => commands::vigilance::vigilance(c).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("erreur : {e:#}");
            ExitCode::FAILURE
        }
    }
}
