use crate::config::Common;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Export the pseudonymised, generalised, k-anonymous warehouse (Parquet) to a directory,
    /// switched atomically (`DIR/current`). Incremental when DIR already holds a version
    /// (only the dossiers changed since are re-read).
    #[command(name = "exporter", alias = "export")]
    Export {
        #[command(flatten)]
        common: Common,
        #[arg(long = "sortie", alias = "out", env = "PARCOURS_WAREHOUSE_DIR")]
        out: PathBuf,
        /// Every combination of quasi-identifiers is shared by at least k persons.
        #[arg(long = "seuil-k", alias = "k", default_value_t = 5)]
        k: usize,
        /// Re-read every dossier even when a previous version is there.
        #[arg(long)]
        complet: bool,
    },
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    match c {
        Cmd::Export {
            common,
            out,
            k,
            complet,
        } => {
            let app = super::open(&common).await?;
            let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
            let t0 = std::time::Instant::now();
            let x = app
                .warehouse_export(&ctx, &out, k, complet)
                .await
                .map_err(super::explain)?;
            let (dir, report) = (x.dir, x.report);
            super::seal(&app).await?;
            println!(
                "Entrepôt exporté dans {} ({} personnes, {} faits, {:.1} s).",
                dir.display(),
                report.persons_out,
                x.facts,
                t0.elapsed().as_secs_f64()
            );
            println!(
                "Export {} : {} dossier(s) relu(s) ; {} mois écrit(s), {} repris de la version précédente ({} relu(s) pour comparaison).",
                x.mode, x.reread, x.months_written, x.months_reused, x.months_read
            );
            let steps: Vec<String> = x
                .steps
                .iter()
                .map(|(n, d)| format!("{n} {:.1} s", d.as_secs_f64()))
                .collect();
            println!("Étapes : {}.", steps.join(", "));
            println!(
                "k-anonymat (k = {}) : département généralisé pour {}, niveau pour {}, nationalité pour {}, QPV/ZRR pour {}, tranche d'âge pour {} ; {} personne(s) retirée(s) ; plus petit groupe : {}.",
                report.k,
                report.generalised_departement,
                report.generalised_niveau,
                report.generalised_nationality,
                report.generalised_qpv_zrr,
                report.generalised_age_band,
                report.suppressed,
                report.smallest_group
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
