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
    /// Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR blocks, comma-separated).
    #[arg(long, env = "PARCOURS_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// The address people type to reach the service (https://parcours.example.fr): the
    /// passkeys' relying party. Default: http://localhost:<port of --bind>.
    #[arg(long, env = "PARCOURS_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub export: ExportSchedule,
}

/// The service's public address: the one given, or `http://localhost:<port>` (browsers refuse
/// an IP address as a passkey's relying party, and treat localhost as a secure context).
pub fn public_url(given: Option<&str>, bind: &str) -> String {
    match given.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let port = bind.rsplit(':').next().unwrap_or("8080");
            format!("http://localhost:{port}")
        }
    }
}

/// The decision module's warehouse, exported by the server on a schedule (nightly by default).
#[derive(clap::Args, Clone)]
pub struct ExportSchedule {
    /// Warehouse directory (default: <data dir>/entrepot).
    #[arg(long = "entrepot", alias = "warehouse", env = "PARCOURS_WAREHOUSE_DIR")]
    pub dir: Option<std::path::PathBuf>,
    /// Time of the nightly export, UTC (HH:MM).
    #[arg(
        long = "export-heure",
        alias = "export-at",
        env = "PARCOURS_WAREHOUSE_AT",
        default_value = "02:00"
    )]
    pub export_at: String,
    /// Export every N seconds instead of nightly (tests, demonstrations).
    #[arg(
        long = "export-intervalle",
        alias = "export-every",
        env = "PARCOURS_WAREHOUSE_EVERY"
    )]
    pub export_every: Option<u64>,
    /// k of the k-anonymity guard.
    #[arg(long = "seuil-k", alias = "warehouse-k", default_value_t = 5)]
    pub k: usize,
    /// Do not export the warehouse from this server.
    #[arg(long = "sans-export", alias = "no-warehouse-export")]
    pub no_warehouse_export: bool,
}

impl ExportSchedule {
    /// Seconds until the next export after `now`.
    fn wait(&self, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<u64> {
        if let Some(n) = self.export_every {
            return Ok(n.max(1));
        }
        let t = chrono::NaiveTime::parse_from_str(&self.export_at, "%H:%M").map_err(|_| {
            anyhow::anyhow!(
                "heure d'export invalide « {} » : attendu HH:MM",
                self.export_at
            )
        })?;
        let today = now.date_naive().and_time(t).and_utc();
        let next = if today > now {
            today
        } else {
            today + chrono::Duration::days(1)
        };
        Ok((next - now).num_seconds().max(1) as u64)
    }

    /// Starts the export loop in the background (unless disabled).
    pub fn spawn(
        &self,
        app: Arc<parcours_app::App>,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<()> {
        if self.no_warehouse_export {
            return Ok(());
        }
        self.wait(chrono::Utc::now())?;
        let me = self.clone();
        let out = me.dir.clone().unwrap_or_else(|| data_dir.join("entrepot"));
        tokio::spawn(async move {
            loop {
                let Ok(secs) = me.wait(chrono::Utc::now()) else {
                    return;
                };
                tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                // One export at a time across the instances on this database.
                let _job = match app
                    .exclusive_job(parcours_store::JOB_WAREHOUSE_EXPORT)
                    .await
                {
                    Ok(Some(job)) => job,
                    Ok(None) => {
                        tracing::info!("export de l'entrepôt déjà en cours sur une autre instance");
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "export de l'entrepôt : verrou indisponible");
                        continue;
                    }
                };
                let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
                match app.warehouse_export(&ctx, &out, me.k, false).await {
                    Ok(x) => tracing::info!(
                        version = %x.dir.display(),
                        mode = x.mode,
                        reread = x.reread,
                        months_written = x.months_written,
                        months_reused = x.months_reused,
                        months_read = x.months_read,
                        persons = x.report.persons_out,
                        facts = x.facts,
                        "entrepôt exporté"
                    ),
                    Err(e) => tracing::error!(error = %e, "export de l'entrepôt en échec"),
                }
            }
        });
        Ok(())
    }
}

/// The daily retention run, at 03:00 UTC (after the warehouse export): erases the dossiers
/// whose retention ended (`parcours conservation appliquer` does it by hand).
fn spawn_retention(app: Arc<parcours_app::App>) {
    tokio::spawn(async move {
        loop {
            let now = chrono::Utc::now();
            let three = now.date_naive().and_hms_opt(3, 0, 0).map(|t| t.and_utc());
            let next = match three {
                Some(t) if t > now => t,
                Some(t) => t + chrono::Duration::days(1),
                None => now + chrono::Duration::days(1),
            };
            let secs = (next - now).num_seconds().max(1) as u64;
            tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
            let _job = match app.exclusive_job(parcours_store::JOB_RETENTION).await {
                Ok(Some(job)) => job,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "conservation : verrou indisponible");
                    continue;
                }
            };
            let now = chrono::Utc::now();
            let ctx = parcours_app::Ctx::operator(now);
            match app.run_retention(&ctx, now.date_naive(), false).await {
                Ok(r) => tracing::info!(
                    examined = r.examined,
                    due = r.due.len(),
                    erased = r.erased,
                    "conservation appliquée"
                ),
                Err(e) => tracing::error!(error = %e, "conservation en échec"),
            }
        }
    });
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let loc = a.common.location(DEFAULT_DATA_DIR);
    let app = parcours_app::setup::open(&loc)
        .await
        .map_err(super::explain)?;
    let proxies = parcours_web::client::parse_proxies(&a.trusted_proxies)
        .map_err(|e| anyhow::anyhow!("PARCOURS_TRUSTED_PROXIES : {e}"))?;
    app.configure_passkeys(&public_url(a.public_url.as_deref(), &a.bind))
        .map_err(super::explain)?;
    let app = Arc::new(app);
    a.export.spawn(app.clone(), &loc.data_dir)?;
    spawn_retention(app.clone());
    serve(app, &a.bind, proxies).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn serve(
    app: Arc<parcours_app::App>,
    bind: &str,
    trusted_proxies: Vec<parcours_web::client::Cidr>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| anyhow::anyhow!("impossible d'écouter sur {bind} : {e}"))?;
    tracing::info!(bind = %bind, "Parcours à l'écoute");
    parcours_web::serve(app, listener, trusted_proxies, shutdown_signal()).await?;
    Ok(())
}

/// Resolves at SIGINT (Ctrl-C) or SIGTERM (what a service manager sends): the server stops
/// cleanly, and `demo` then stops the dashboards server it started.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "SIGTERM non écouté ; Ctrl-C seulement");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
