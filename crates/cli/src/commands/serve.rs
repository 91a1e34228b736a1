use crate::config::{Common, DEFAULT_DATA_DIR};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Listening address.
    #[arg(long, env = "PARCOURS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let loc = a.common.location(DEFAULT_DATA_DIR);
    let app = parcours_app::setup::open(&loc)
        .await
        .map_err(super::explain)?;
    serve(Arc::new(app), &a.bind).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn serve(app: Arc<parcours_app::App>, bind: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| anyhow::anyhow!("impossible d'écouter sur {bind} : {e}"))?;
    tracing::info!(bind = %bind, "Parcours à l'écoute");
    parcours_web::serve(app, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
