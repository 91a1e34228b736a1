use crate::config::Common;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Number of synthetic dossiers to add.
    #[arg(long, default_value_t = 1000)]
    pub jeunes: usize,
    /// Random seed: the same seed gives the same population.
    #[arg(long = "graine", alias = "seed", default_value_t = 2024)]
    pub seed: u64,
    /// Average number of parcours entries (interviews, contacts, appointments…) per dossier;
    /// 0 for identities only.
    #[arg(long = "evenements", alias = "events", default_value_t = 20)]
    pub events: usize,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let app = super::open(&a.common).await?;
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    let n = crate::seed::seed(&app, &ctx, a.jeunes, a.seed, a.events, true).await?;
    super::seal(&app).await?;
    println!("{n} dossier(s) synthétique(s) ajouté(s).");
    Ok(ExitCode::SUCCESS)
}
