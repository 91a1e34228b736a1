use crate::config::{Common, DEFAULT_DATA_DIR};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let loc = a.common.location(DEFAULT_DATA_DIR);
    let app = parcours_app::setup::init(&loc)
        .await
        .map_err(super::explain)?;
    println!("Instance initialisée.");
    println!("  données          : {}", loc.data_dir.display());
    println!(
        "  base             : {}",
        parcours_app::setup::redact_url(&loc.database_url)
    );
    println!(
        "  clé maîtresse    : {} (mode 0600 ; à sauvegarder À PART de la base)",
        loc.key_file.display()
    );
    println!("  clé publique d'audit : {}", app.audit_public_hex());
    app.close().await;
    Ok(ExitCode::SUCCESS)
}
