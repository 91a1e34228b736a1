use crate::config::Common;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Set the paying agency's account, debtor of the SEPA transfers of the payment batches.
    #[command(name = "definir", alias = "set")]
    Set {
        #[command(flatten)]
        common: Common,
        /// Name of the paying agency (e.g. "Agence de services et de paiement").
        #[arg(long = "nom", alias = "name")]
        name: String,
        #[arg(long)]
        iban: String,
        #[arg(long, default_value = "")]
        bic: String,
    },
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    match c {
        Cmd::Set {
            common,
            name,
            iban,
            bic,
        } => {
            let app = super::open(&common).await?;
            let p = app
                .set_payer(&name, &iban, &bic)
                .await
                .map_err(super::explain)?;
            println!("Compte payeur enregistré : {} ({}…).", p.name, &p.iban[..4]);
        }
    }
    Ok(ExitCode::SUCCESS)
}
