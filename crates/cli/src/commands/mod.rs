//! One file per subcommand.

pub mod audit;
pub mod backup;
pub mod bench;
pub mod demo;
pub mod import;
pub mod incident;
pub mod init;
pub mod insight;
pub mod keys;
pub mod payer;
pub mod retention;
pub mod seed;
pub mod serve;
pub mod structure;
pub mod user;
pub mod vigilance;
pub mod warehouse;

use parcours_app::{App, AppError};

/// Turns an application error into an operator-facing message (French, no personal data).
pub fn explain(e: AppError) -> anyhow::Error {
    match e {
        AppError::Validation(v) => anyhow::anyhow!("{v}"),
        AppError::Internal(d) => anyhow::anyhow!("erreur interne : {d}"),
        other => anyhow::anyhow!("{other}"),
    }
}

/// Opens the instance a command works on (every key and permission check included).
pub async fn open(common: &crate::config::Common) -> anyhow::Result<App> {
    parcours_app::setup::open(&common.location(crate::config::DEFAULT_DATA_DIR))
        .await
        .map_err(explain)
}

/// Seals pending audit entries at the end of a command, so the chain is complete on exit.
pub async fn seal(app: &App) -> anyhow::Result<()> {
    app.seal_audit(chrono::Utc::now()).await.map_err(explain)?;
    Ok(())
}
