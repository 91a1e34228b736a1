use crate::config::Common;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Add a structure (Mission Locale).
    Add {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        departement: String,
        #[arg(long)]
        region: String,
    },
    /// List structures.
    List {
        #[command(flatten)]
        common: Common,
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
