use crate::config::{Common, DEFAULT_DATA_DIR};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Move to a new master-key version: re-wraps every key, rewrites no field. With
    /// --nouvelles-cles, then replaces every data key too (dossiers, company contacts) and re-encrypts
    /// what they sealed: an old dump with an old master key opens nothing current. Run it with
    /// `serve` stopped.
    #[command(name = "renouveler", alias = "rotate")]
    Rotate {
        #[command(flatten)]
        common: Common,
        #[arg(long = "nouvelles-cles", alias = "rekey")]
        rekey: bool,
    },
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    let Cmd::Rotate { common, rekey } = c;
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
    let rekeyed = if rekey {
        // The instance as the new key file opens it.
        let app = super::open(&common).await?;
        let bar: std::sync::OnceLock<crate::progress::Progress> = std::sync::OnceLock::new();
        let progress = |done: u64, total: u64| {
            let p = bar
                .get_or_init(|| crate::progress::Progress::new("Rechiffrement", "dossiers", total));
            p.set(done);
            if done == total {
                p.finish();
            }
        };
        let r = app
            .rekey_data(&ctx, &progress)
            .await
            .map_err(super::explain);
        super::seal(&app).await?;
        Some(r?)
    } else {
        None
    };
    super::seal(&app).await?;
    if let Some((d, c)) = rekeyed {
        println!("Clés de données renouvelées : {d} dossier(s) et {c} contact(s) d'entreprise rechiffrés avec des clés neuves.");
    }
    println!("Clé maîtresse passée en version {version} : {count} clé(s) de personne (dossiers, contacts d'entreprise) et le trousseau ré-enveloppés.");
    println!(
        "Le fichier {} contient la nouvelle clé ; l'ancienne ne déchiffre plus rien.",
        loc.key_file.display()
    );
    Ok(ExitCode::SUCCESS)
}
