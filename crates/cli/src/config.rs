//! Typed configuration, loaded once from flags and environment, then passed down.
//!
//! Contract with operators' scripts (do not rename):
//! - `PARCOURS_DATA_DIR` (or `--data-dir`): key files, checkpoint log, and the SQLite database
//!   unless `PARCOURS_DATABASE_URL` is set;
//! - `PARCOURS_DATABASE_URL` (or `--database-url`): `postgres://…` or `sqlite://…`;
//! - `PARCOURS_MASTER_KEY_FILE`: the master key file (default `<data dir>/master.key`);
//! - `PARCOURS_BIND` (or `--bind`): listening address of `serve` (default 127.0.0.1:8080).

use clap::Args;
use parcours_app::setup::Location;
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct Common {
    /// Data directory (key files; SQLite database unless PARCOURS_DATABASE_URL is set).
    #[arg(long, env = "PARCOURS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: postgres://… (production) or sqlite://… (default: a file in the data dir).
    #[arg(long, env = "PARCOURS_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Master key file (default: <data dir>/master.key).
    #[arg(long, env = "PARCOURS_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

impl std::fmt::Debug for Common {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Common")
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self
                    .database_url
                    .as_deref()
                    .map(parcours_app::setup::redact_url),
            )
            .field("master_key_file", &self.master_key_file)
            .finish()
    }
}

impl Common {
    /// Resolves the instance location, with `default_dir` when no data dir is given.
    pub fn location(&self, default_dir: &str) -> Location {
        let data_dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(default_dir));
        let database_url = self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("parcours.db").display()
            )
        });
        let key_file = self
            .master_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join("master.key"));
        Location {
            data_dir,
            database_url,
            key_file,
        }
    }
}

pub const DEFAULT_DATA_DIR: &str = "parcours-data";
pub const DEMO_DATA_DIR: &str = "demo-data";
