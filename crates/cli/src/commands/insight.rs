//! `parcours insight`: what the separate insight server needs from this one.

use crate::config::Common;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Print (or write) the public key with which the insight server checks the assertions
    /// this server signs. The insight server needs nothing else from here but the warehouse.
    #[command(name = "cle-publique", alias = "public-key")]
    PublicKey {
        #[command(flatten)]
        common: Common,
        /// Write the key to this file instead of printing it.
        #[arg(long = "sortie", alias = "out")]
        out: Option<PathBuf>,
    },
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    match c {
        Cmd::PublicKey { common, out } => {
            let app = super::open(&common).await?;
            let key = app.insight_public_key();
            match out {
                Some(path) => {
                    std::fs::write(&path, format!("{key}\n"))?;
                    println!("Clé publique écrite dans {}.", path.display());
                }
                None => println!("{key}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
