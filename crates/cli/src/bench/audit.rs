//! `parcours banc audit`: concurrent audit appends.

#[allow(unused_imports)]
use super::*;

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Entries appended per writer.
    #[arg(long = "entrees", alias = "entries", default_value_t = 500)]
    pub entries: usize,
    #[arg(long)]
    pub database_url: Option<String>,
}

pub async fn audit(a: AuditArgs) -> anyhow::Result<()> {
    let (app, dir) = scratch(a.database_url.clone()).await?;
    let app = std::sync::Arc::new(app);
    println!(
        "Parcours bench audit — backend {:?}, {} appends per writer, each in its own transaction",
        app.internals().store().backend(),
        a.entries
    );
    for writers in [1usize, 4, 16] {
        let t = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..writers {
            let app = app.clone();
            let n = a.entries;
            handles.push(tokio::spawn(async move {
                for _ in 0..n {
                    let ctx = Ctx::operator(chrono::Utc::now());
                    let mut tx = app.internals().store().begin().await?;
                    app.internals()
                        .audit(
                            &mut tx,
                            &ctx,
                            parcours_app::audit::Event {
                                action: "bench",
                                subject: None,
                                fields: "",
                                outcome: parcours_app::audit::OK,
                                structure_id: None,
                            },
                        )
                        .await?;
                    tx.commit().await?;
                }
                Ok::<(), parcours_app::AppError>(())
            }));
        }
        for h in handles {
            h.await?.map_err(crate::commands::explain)?;
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "{writers:>3} writer(s): {:>9.0} entries/s",
            (writers * a.entries) as f64 / s
        );
    }
    let t = Instant::now();
    let sealed = app
        .seal_audit(chrono::Utc::now())
        .await
        .map_err(crate::commands::explain)?;
    println!(
        "sealing {sealed} entries: {:.0} entries/s",
        sealed as f64 / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    app.verify_audit()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "verifying the chain: {:.0} entries/s",
        sealed as f64 / t.elapsed().as_secs_f64()
    );
    app.close().await;
    if a.database_url.is_none() {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}
