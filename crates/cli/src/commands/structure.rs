use crate::config::Common;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Add a structure (Mission Locale).
    #[command(name = "ajouter", alias = "add")]
    Add {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        code: String,
        #[arg(long = "nom", alias = "name")]
        name: String,
        #[arg(long)]
        departement: String,
        #[arg(long)]
        region: String,
    },
    /// List structures.
    #[command(name = "lister", alias = "list")]
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Require passkeys (WebAuthn) for a structure's accounts: those that hold one can no
    /// longer log in with a 6-digit code.
    Cles {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        code: String,
        /// oui or non.
        #[arg(long)]
        obligatoires: String,
    },
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    match c {
        Cmd::Add {
            common,
            code,
            name,
            departement,
            region,
        } => {
            let app = super::open(&common).await?;
            let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
            app.create_structure(&ctx, &code, &name, &departement, &region)
                .await
                .map_err(super::explain)?;
            super::seal(&app).await?;
            println!("Structure {} créée.", code.trim().to_uppercase());
        }
        Cmd::Cles {
            common,
            code,
            obligatoires,
        } => {
            let required = match obligatoires.trim() {
                "oui" => true,
                "non" => false,
                other => anyhow::bail!("--obligatoires : oui ou non (pas « {other} »)"),
            };
            let app = super::open(&common).await?;
            let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
            app.require_passkeys(&ctx, &code, required)
                .await
                .map_err(super::explain)?;
            super::seal(&app).await?;
            println!(
                "Structure {} : clés d'accès {}.",
                code.trim().to_uppercase(),
                if required {
                    "obligatoires (le code à 6 chiffres ne suffit plus aux comptes qui en ont une)"
                } else {
                    "facultatives"
                }
            );
        }
        Cmd::List { common } => {
            let app = super::open(&common).await?;
            for s in app.list_structures().await.map_err(super::explain)? {
                println!(
                    "{}\t{}\t{}\t{}\t{} dossiers",
                    s.code, s.nom, s.departement, s.region, s.dossiers
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
