//! `parcours conservation`: the retention rules (décret n° 2015-59 by default) and their run.

use crate::config::Common;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Erase the dossiers whose retention has ended (or only list them with --essai).
    #[command(name = "appliquer", alias = "run")]
    Run {
        #[command(flatten)]
        common: Common,
        /// List what is due, erase nothing.
        #[arg(long = "essai", visible_alias = "dry-run")]
        dry_run: bool,
        /// The day to run for (AAAA-MM-JJ; default today, UTC).
        #[arg(long)]
        date: Option<String>,
    },
    /// Show or set the rules: age at which a young person's dossier ends, years after a CEJ,
    /// years after a staff account's access ended.
    Regles {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        age: Option<u32>,
        #[arg(long)]
        cej: Option<u32>,
        #[arg(long)]
        comptes: Option<u32>,
    },
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    match c {
        Cmd::Run {
            common,
            dry_run,
            date,
        } => {
            let today = match date.as_deref() {
                Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| anyhow::anyhow!("--date : AAAA-MM-JJ"))?,
                None => chrono::Utc::now().date_naive(),
            };
            let app = super::open(&common).await?;
            let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
            let r = app
                .run_retention(&ctx, today, dry_run)
                .await
                .map_err(super::explain);
            super::seal(&app).await?;
            let r = r?;
            println!(
                "Conservation au {} (jeune : jusqu'à {} ans ; CEJ : {} ans après la fin) : {} dossier(s) examiné(s), {} à effacer{}.",
                r.today.format("%d/%m/%Y"),
                r.rules.jeune_age,
                r.rules.cej_years,
                r.examined,
                r.due.len(),
                if r.applied {
                    format!(", {} effacé(s)", r.erased)
                } else {
                    " (essai : rien n'est effacé)".into()
                }
            );
            for d in &r.due {
                println!("  {} — {}", d.jeune_id, d.reason);
            }
            println!(
                "Comptes fermés depuis plus de {} an(s) : {}{}.",
                r.rules.account_years,
                r.accounts_due.len(),
                if r.applied {
                    format!(", {} supprimé(s)", r.accounts_retired)
                } else {
                    String::new()
                }
            );
            for l in &r.accounts_due {
                println!("  compte {l}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Regles {
            common,
            age,
            cej,
            comptes,
        } => {
            let app = super::open(&common).await?;
            let mut rules = app.retention_rules().await.map_err(super::explain)?;
            if age.is_some() || cej.is_some() || comptes.is_some() {
                rules.jeune_age = age.unwrap_or(rules.jeune_age);
                rules.cej_years = cej.unwrap_or(rules.cej_years);
                rules.account_years = comptes.unwrap_or(rules.account_years);
                let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
                rules = app
                    .set_retention_rules(&ctx, rules)
                    .await
                    .map_err(super::explain)?;
                super::seal(&app).await?;
            }
            println!(
                "Dossier d'un jeune : jusqu'à ses {} ans (hors dispositif en cours) ; CEJ : {} ans après la fin du contrat ; comptes : {} an(s) après la fin de l'accès.",
                rules.jeune_age, rules.cej_years, rules.account_years
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
