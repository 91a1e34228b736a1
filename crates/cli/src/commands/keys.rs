use crate::config::{Common, DEFAULT_DATA_DIR};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Move to a new master-key version: re-wraps every key, rewrites no field.
    Rotate {
        #[command(flatten)]
        common: Common,
    },
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    let Cmd::Rotate { common } = c;
    let loc = common.location(DEFAULT_DATA_DIR);
    // Open first: refuses a wrong or too-open key before anything changes.
    let app = parcours_app::setup::open(&loc)
        .await
        .map_err(super::explain)?;
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    let (version, count) = app
        .rotate_master_key(&ctx, &loc.key_file)
        .await
        .map_err(super::explain)?;
    super::seal(&app).await?;
    println!("Clé maîtresse passée en version {version} : {count} clé(s) de personne (dossiers, contacts d'entreprise) et le trousseau ré-enveloppés.");
    println!(
        "Le fichier {} contient la nouvelle clé ; l'ancienne ne déchiffre plus rien.",
        loc.key_file.display()
    );
    Ok(ExitCode::SUCCESS)
}
