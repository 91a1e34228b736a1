//! `parcours banc entrepot`: the warehouse export.

#[allow(unused_imports)]
use super::*;

#[derive(clap::Args)]
pub struct WarehouseArgs {
    #[arg(long, default_value_t = 100_000)]
    pub jeunes: usize,
    #[arg(long = "evenements", alias = "events", default_value_t = 20)]
    pub events: usize,
    #[arg(long = "seuil-k", alias = "k", default_value_t = 5)]
    pub k: usize,
    #[arg(long)]
    pub database_url: Option<String>,
    /// Export into this directory and keep it (for `parcours-insight bench`); default: a
    /// scratch directory removed at the end.
    #[arg(long = "sortie", alias = "out")]
    pub out: Option<std::path::PathBuf>,
    /// Keep the seeded instance (SQLite file and master key) in this directory, and reuse it if
    /// it already holds one: seeding 1,000,000 dossiers takes over an hour, the exports minutes.
    #[arg(long = "donnees", alias = "data")]
    pub data: Option<std::path::PathBuf>,
    /// Full exports timed before the incremental ones. With 0, the incremental exports start
    /// from the version already in `--sortie` (the first one is full if there is none).
    #[arg(long, default_value_t = 2)]
    pub complets: usize,
    /// Seed (into `--data`) and stop, without exporting.
    #[arg(long = "jeu-seulement", alias = "seed-only", requires = "data")]
    pub seed_only: bool,
    /// Seed over this many synthetic structures in the 18 régions (about 430 for the national
    /// network) instead of the 4 demo structures.
    #[arg(long, default_value_t = 0)]
    pub structures: usize,
}

/// The benchmark's instance: a kept one under `data` (opened if it exists, else created), or
/// a scratch one. Returns whether it still needs seeding, and the directory to remove after.
async fn bench_instance(
    data: Option<&std::path::Path>,
    database_url: Option<String>,
) -> anyhow::Result<(App, bool, Option<std::path::PathBuf>)> {
    let Some(data) = data else {
        let (app, dir) = scratch(database_url).await?;
        return Ok((app, true, Some(dir)));
    };
    let loc = Location {
        database_url: database_url
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data.join("parcours.db").display())),
        key_file: data.join("master.key"),
        data_dir: data.to_path_buf(),
    };
    if loc.key_file.exists() {
        let app = parcours_app::setup::open(&loc)
            .await
            .map_err(crate::commands::explain)?;
        let n = app
            .list_structures()
            .await
            .map_err(crate::commands::explain)?;
        Ok((app, n.is_empty(), None))
    } else {
        std::fs::create_dir_all(data)?;
        let app = parcours_app::setup::init(&loc)
            .await
            .map_err(crate::commands::explain)?;
        Ok((app, true, None))
    }
}

/// The process's peak resident memory (Linux: `VmHWM`), for the benchmark's report.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| format!("{:.1} Gio", kib / 1024.0 / 1024.0))
        .unwrap_or_else(|| "inconnue".into())
}

/// Full export of the warehouse: extraction (with the decryption generalisation needs),
/// k-anonymisation, Parquet writing and publication.
pub async fn warehouse(a: WarehouseArgs) -> anyhow::Result<()> {
    let explain = crate::commands::explain;
    let (app, fresh, scratch_dir) =
        bench_instance(a.data.as_deref(), a.database_url.clone()).await?;
    let op = Ctx::operator(chrono::Utc::now());
    let t0 = Instant::now();
    if fresh {
        crate::seed::national_structures(&app, &op, a.structures).await?;
        crate::seed::seed(&app, &op, a.jeunes, 13, a.events, true).await?;
    }
    let load = t0.elapsed();
    let (jeunes, events) = {
        let mut conn = app
            .internals()
            .store()
            .acquire()
            .await
            .map_err(|e| explain(e.into()))?;
        let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
        let j = count("SELECT COUNT(*) FROM jeunes")
            .fetch_one(&mut *conn)
            .await?;
        let e = count("SELECT COUNT(*) FROM events")
            .fetch_one(&mut *conn)
            .await?;
        (j, e)
    };
    if fresh {
        println!(
            "backend: {:?}; {jeunes} dossiers et {events} entrées de parcours chargés en {:.1} s",
            app.internals().store().backend(),
            load.as_secs_f64()
        );
    } else {
        println!(
            "backend: {:?}; instance reprise : {jeunes} dossiers, {events} entrées de parcours",
            app.internals().store().backend()
        );
    }
    if a.seed_only {
        app.close().await;
        return Ok(());
    }
    let base = scratch_dir
        .clone()
        .or_else(|| a.data.clone())
        .unwrap_or_default();
    let out = a.out.clone().unwrap_or_else(|| base.join("entrepot"));
    let export = |full: bool| {
        let app = &app;
        let out = &out;
        async move {
            let t = Instant::now();
            let op = Ctx::operator(chrono::Utc::now());
            let x = app
                .warehouse_export(&op, out, a.k, full)
                .await
                .map_err(explain)?;
            anyhow::Ok((x, t.elapsed()))
        }
    };
    let show = |what: &str, x: &parcours_app::warehouse::Exported, d: Duration| {
        let steps: Vec<String> = x
            .steps
            .iter()
            .map(|(n, d)| format!("{n} {:.1} s", d.as_secs_f64()))
            .collect();
        println!(
            "{what} : {:.1} s ({}) — {} dossier(s) relu(s), {} mois écrit(s), {} repris tels \
             quels, {} relu(s) pour comparaison ; {} personnes, {} faits, {} retirée(s) par le \
             k-anonymat (k = {}) ; mémoire maximale du processus jusqu'ici : {}",
            d.as_secs_f64(),
            steps.join(", "),
            x.reread,
            x.months_written,
            x.months_reused,
            x.months_read,
            x.report.persons_out,
            x.facts,
            x.report.suppressed,
            x.report.k,
            peak_memory()
        );
    };
    for i in 1..=a.complets {
        let (x, d) = export(true).await?;
        show(&format!("export complet n° {i}"), &x, d);
    }
    let (x, d) = export(false).await?;
    show("export incrémental sans changement", &x, d);
    for day in 1..=2 {
        let op = Ctx::operator(chrono::Utc::now());
        let t = Instant::now();
        let n = crate::seed::day_of_activity(&app, &op, 40, 100 + day).await?;
        println!(
            "journée d'activité n° {day} : {n} entretiens enregistrés en {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let (x, d) = export(false).await?;
        show(
            &format!("export incrémental après la journée n° {day}"),
            &x,
            d,
        );
    }
    app.close().await;
    if let Some(dir) = scratch_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}
