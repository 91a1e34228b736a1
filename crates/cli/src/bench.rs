//! Benchmark commands. They build a throw-away instance, load it, and print percentiles; the
//! figures go to docs/BENCHMARKS.md. No test asserts a duration.

use parcours_app::jeunes::SearchQuery;
use parcours_app::setup::Location;
use parcours_app::{Actor, App, Ctx, Principal};
use parcours_domain::normalize::fold;
use parcours_domain::Role;
use rand::{Rng, SeedableRng};
use sqlx::Row;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct SearchArgs {
    /// Dossiers to load.
    #[arg(long, default_value_t = 100_000)]
    pub jeunes: usize,
    /// Queries per measured operation.
    #[arg(long, default_value_t = 2000)]
    pub queries: usize,
    /// Run on this database instead of a temporary SQLite file (e.g. an empty PostgreSQL schema).
    #[arg(long)]
    pub database_url: Option<String>,
}

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Entries appended per writer.
    #[arg(long, default_value_t = 500)]
    pub entries: usize,
    #[arg(long)]
    pub database_url: Option<String>,
}

async fn scratch(database_url: Option<String>) -> anyhow::Result<(App, std::path::PathBuf)> {
    let dir = std::env::temp_dir().join(format!("parcours-bench-{}", uuid_like()));
    let loc = Location {
        database_url: database_url
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("parcours.db").display())),
        key_file: dir.join("master.key"),
        data_dir: dir.clone(),
    };
    let app = parcours_app::setup::init(&loc)
        .await
        .map_err(crate::commands::explain)?;
    Ok((app, dir))
}

fn uuid_like() -> String {
    parcours_vault::random_bytes::<6>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

fn line(name: &str, v: &mut [Duration]) -> (f64, f64) {
    let (p50, p99) = (pct(v, 0.5), pct(v, 0.99));
    println!(
        "{name:<44} p50 {p50:>8.3} ms   p99 {p99:>8.3} ms   (n = {})",
        v.len()
    );
    (p50, p99)
}

const PLAIN_COLS: &str = "id, structure_id, nom, prenom, date_naissance, sexe, nationalite, email, telephone, adresse, code_postal, commune, niveau_formation";

pub async fn search(a: SearchArgs) -> anyhow::Result<()> {
    let (app, dir) = scratch(a.database_url.clone()).await?;
    let ctx = Ctx::operator(chrono::Utc::now());
    let t0 = Instant::now();
    crate::seed::seed(&app, &ctx, a.jeunes, 7, 0, true).await?;
    let load = t0.elapsed();
    let pool = app.store.pool().clone();
    sqlx::raw_sql(
        "CREATE TABLE bench_plain (id TEXT PRIMARY KEY, structure_id BIGINT NOT NULL, nom TEXT NOT NULL, nom_norm TEXT NOT NULL, \
         prenom TEXT NOT NULL, date_naissance TEXT NOT NULL, sexe TEXT NOT NULL, nationalite TEXT NOT NULL, email TEXT NOT NULL, \
         telephone TEXT NOT NULL, adresse TEXT NOT NULL, code_postal TEXT NOT NULL, commune TEXT NOT NULL, niveau_formation TEXT NOT NULL); \
         CREATE INDEX bench_plain_nom ON bench_plain(structure_id, nom_norm);",
    )
    .execute(&pool)
    .await?;
    // The plaintext twin: the same people, in clear, as a system without encryption would hold them.
    let structures = app
        .list_structures()
        .await
        .map_err(crate::commands::explain)?;
    let mut sample: Vec<(i64, String, String)> = Vec::new();
    for s in &structures {
        let mut conn = app
            .store
            .acquire()
            .await
            .map_err(|e| crate::commands::explain(e.into()))?;
        let rows = parcours_store::jeunes::list_recent(&mut conn, s.id, i64::MAX, 0)
            .await
            .map_err(|e| crate::commands::explain(e.into()))?;
        drop(conn);
        let mut tx = pool.begin().await?;
        for r in &rows {
            let d = app.decrypt_row(r).map_err(crate::commands::explain)?;
            let i = &d.identity;
            sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO bench_plain ({PLAIN_COLS}, nom_norm) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)")))
                .bind(d.id.clone()).bind(d.structure_id).bind(i.nom.clone()).bind(i.prenom.clone())
                .bind(i.date_naissance.to_string()).bind(i.sexe.code()).bind(i.nationalite.clone().unwrap_or_default())
                .bind(i.email.clone().unwrap_or_default()).bind(i.telephone.clone().unwrap_or_default())
                .bind(i.adresse.clone().unwrap_or_default()).bind(i.code_postal.clone().unwrap_or_default())
                .bind(i.commune.clone().unwrap_or_default()).bind(i.niveau_formation.map(|n| n.to_string()).unwrap_or_default())
                .bind(fold(&i.nom))
                .execute(&mut *tx).await?;
            sample.push((d.structure_id, d.id.clone(), fold(&i.nom)));
        }
        tx.commit().await?;
    }
    if app.store.backend() == parcours_store::Backend::Postgres {
        // Fresh statistics and visibility map for both tables, as after any bulk load.
        // One statement each: VACUUM cannot run inside the implicit transaction of a batch.
        for t in ["jeunes", "blind_index", "bench_plain"] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE {t}")))
                .execute(&pool)
                .await?;
        }
    } else {
        sqlx::raw_sql("ANALYZE;").execute(&pool).await?;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let picks: Vec<&(i64, String, String)> = (0..a.queries)
        .map(|_| &sample[rng.random_range(0..sample.len())])
        .collect();

    let (
        mut enc_search,
        mut plain_search,
        mut enc_open,
        mut plain_open,
        mut full_search,
        mut full_open,
    ) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut found = 0usize;
    let mut conn = app
        .store
        .acquire()
        .await
        .map_err(|e| crate::commands::explain(e.into()))?;
    for (structure, id, nom) in &picks {
        let q = SearchQuery {
            nom: nom.clone(),
            ..Default::default()
        };
        let t = Instant::now();
        found += app
            .search_in(&mut conn, *structure, &q)
            .await
            .map_err(crate::commands::explain)?
            .len();
        enc_search.push(t.elapsed());

        let t = Instant::now();
        let rows = sqlx::query(
            "SELECT id, nom, prenom, date_naissance, commune FROM bench_plain WHERE structure_id = $1 AND nom_norm = $2",
        )
        .bind(*structure)
        .bind(nom.as_str())
        .fetch_all(&mut *conn)
        .await?;
        // Decode what a result line shows, as the encrypted path does.
        let _lines: Vec<[String; 5]> = rows
            .iter()
            .filter_map(|r| {
                Some([
                    r.try_get(0).ok()?,
                    r.try_get(1).ok()?,
                    r.try_get(2).ok()?,
                    r.try_get(3).ok()?,
                    r.try_get(4).ok()?,
                ])
            })
            .collect();
        plain_search.push(t.elapsed());

        let t = Instant::now();
        let row = parcours_store::jeunes::get(&mut conn, id)
            .await
            .map_err(|e| crate::commands::explain(e.into()))?;
        if let Some(r) = row {
            app.decrypt_row(&r).map_err(crate::commands::explain)?;
        }
        enc_open.push(t.elapsed());

        let t = Instant::now();
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PLAIN_COLS} FROM bench_plain WHERE id = $1"
        )))
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        plain_open.push(t.elapsed());
    }
    drop(conn);
    // The complete use case an advisor triggers: authorisation + search/open + audit entries
    // committed; once with the counted reads of issue 15 (quota bookkeeping: référent lookup,
    // account lock, one row per person and day, the day's sum, canary and burst checks) and
    // once without, alternately, on the same dossiers. The bench account's quota is set out of
    // reach so that every read is counted and none refused.
    {
        let mut conn = app
            .store
            .acquire()
            .await
            .map_err(|e| crate::commands::explain(e.into()))?;
        for s in &structures {
            parcours_store::vigilance::set_quota_setting(
                &mut conn,
                s.id,
                "conseiller",
                1_000_000_000,
                "bench",
                0,
            )
            .await
            .map_err(|e| crate::commands::explain(e.into()))?;
        }
        let mut t = app.thresholds();
        t.window_opened = i64::MAX / 2;
        t.searches = i64::MAX / 2;
        app.set_thresholds(t);
    }
    let mut quota_search = Vec::new();
    let mut quota_open = Vec::new();
    for (i, (structure, id, nom)) in picks.iter().take(a.queries / 2).enumerate() {
        // 50 advisors share the queries, so that each account's day holds a realistic number
        // of counted reads (a few hundred at most, as a quota allows), not the whole run's.
        let c = Ctx {
            trace: Default::default(),
            actor: Actor::Account(Principal {
                account_id: 1_000_000 + (i % 50) as i64,
                login: "bench".into(),
                role: Role::Conseiller,
                structure_id: Some(*structure),
                scope_region: None,
                factor_at: None,
            }),
            request_id: parcours_app::new_request_id(),
            now: chrono::Utc::now(),
        };
        for counted in [i.is_multiple_of(2), !i.is_multiple_of(2)] {
            app.set_read_counting(counted);
            let t = Instant::now();
            app.search_jeunes(
                &c,
                &SearchQuery {
                    nom: nom.clone(),
                    ..Default::default()
                },
            )
            .await
            .map_err(crate::commands::explain)?;
            if counted {
                &mut quota_search
            } else {
                &mut full_search
            }
            .push(t.elapsed());
            let t = Instant::now();
            app.get_jeune(&c, id)
                .await
                .map_err(crate::commands::explain)?;
            if counted {
                &mut quota_open
            } else {
                &mut full_open
            }
            .push(t.elapsed());
        }
    }
    app.set_read_counting(true);
    println!();
    println!(
        "Parcours bench search — {} dossiers over {} structures, backend {:?}",
        a.jeunes,
        structures.len(),
        app.store.backend()
    );
    println!(
        "load (seed, encrypted, indexed, audited): {:.1} s",
        load.as_secs_f64()
    );
    println!(
        "mean results per name search: {:.2}",
        found as f64 / picks.len().max(1) as f64
    );
    let (_, es99) = line("search by nom — encrypted (blind index)", &mut enc_search);
    let (_, ps99) = line("search by nom — plaintext table", &mut plain_search);
    let (_, eo99) = line("open dossier — encrypted (unwrap + decrypt)", &mut enc_open);
    let (_, po99) = line("open dossier — plaintext table", &mut plain_open);
    let (fs50, _) = line(
        "search, full use case (+ audit, commit), quota off",
        &mut full_search,
    );
    let (qs50, _) = line(
        "search, full use case, quota on (counted reads)",
        &mut quota_search,
    );
    let (fo50, _) = line(
        "open, full use case (+ audit, commit), quota off",
        &mut full_open,
    );
    let (qo50, _) = line(
        "open, full use case, quota on (counted reads)",
        &mut quota_open,
    );
    println!(
        "quota bookkeeping, p50 on/off: open {:+.1} %, search {:+.1} %",
        (qo50 / fo50.max(1e-9) - 1.0) * 100.0,
        (qs50 / fs50.max(1e-9) - 1.0) * 100.0
    );
    println!(
        "p99 ratio encrypted/plaintext: search {:.2}, open {:.2}",
        es99 / ps99.max(1e-9),
        eo99 / po99.max(1e-9)
    );
    app.store.close().await;
    if a.database_url.is_none() {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}

pub async fn audit(a: AuditArgs) -> anyhow::Result<()> {
    let (app, dir) = scratch(a.database_url.clone()).await?;
    let app = std::sync::Arc::new(app);
    println!(
        "Parcours bench audit — backend {:?}, {} appends per writer, each in its own transaction",
        app.store.backend(),
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
                    let mut tx = app.store.begin().await?;
                    app.audit(
                        &mut tx,
                        &ctx,
                        parcours_app::audit::Event {
                            action: "bench",
                            subject: None,
                            fields: "",
                            outcome: "ok",
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
    app.store.close().await;
    if a.database_url.is_none() {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct ParcoursArgs {
    /// Dossiers to load, each with a synthetic parcours.
    #[arg(long, default_value_t = 100_000)]
    pub jeunes: usize,
    /// Average parcours entries per dossier.
    #[arg(long, default_value_t = 20)]
    pub events: usize,
    /// Measured openings of a 200-event dossier.
    #[arg(long, default_value_t = 1000)]
    pub queries: usize,
    /// Jeunes of the structure whose monthly allowances are computed.
    #[arg(long, default_value_t = 3000)]
    pub allocataires: usize,
    #[arg(long)]
    pub database_url: Option<String>,
}

/// The advisor's daily work at scale: opening a dossier with 200 events, the caseload page of
/// an advisor with 150 jeunes, and the month's allowances of a structure — each through the
/// real use case (authorisation, decryption, audit entries included).
pub async fn parcours(a: ParcoursArgs) -> anyhow::Result<()> {
    use parcours_app::bulk::BulkProgramme;
    use parcours_domain::vocab::{ProgrammeKind, TaxSituation};
    let explain = crate::commands::explain;
    let db = |e: parcours_store::StoreError| explain(e.into());
    let (app, dir) = scratch(a.database_url.clone()).await?;
    let op = Ctx::operator(chrono::Utc::now());
    let today = op.now.date_naive();
    let t0 = Instant::now();
    crate::seed::seed(&app, &op, a.jeunes, 11, a.events, true).await?;
    let load = t0.elapsed();
    let structures = app.list_structures().await.map_err(explain)?;
    let s = structures
        .first()
        .ok_or_else(|| anyhow::anyhow!("aucune structure"))?;
    let mut conn = app.store.acquire().await.map_err(db)?;
    let (events, ids): (i64, Vec<String>) = {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM events")
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        let rows = parcours_store::jeunes::list_recent(&mut conn, s.id, 20, 0)
            .await
            .map_err(db)?;
        (n, rows.into_iter().map(|r| r.id).collect())
    };
    // 20 dossiers brought to exactly 200 entries.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut tx = app.store.begin().await.map_err(db)?;
    for id in &ids {
        let have: i64 = sqlx::query("SELECT COUNT(*) FROM events WHERE jeune_id = $1")
            .bind(id.as_str())
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
        let birth = app
            .decrypt_row(
                &parcours_store::jeunes::get(&mut tx, id)
                    .await
                    .map_err(db)?
                    .ok_or_else(|| anyhow::anyhow!("dossier"))?,
            )
            .map_err(explain)?
            .identity
            .date_naissance;
        let mut extra = Vec::new();
        while (have as usize) + extra.len() < 200 {
            let (mut e, _) = crate::parcours_seed::parcours(&mut rng, birth, today, 20);
            extra.append(&mut e);
        }
        extra.truncate(200 - have as usize);
        app.bulk_entries(&mut tx, &op, id, s.id, &extra)
            .await
            .map_err(explain)?;
    }
    tx.commit().await.map_err(|e| explain(e.into()))?;
    // An advisor with 150 jeunes (a throwaway instance: a demo account, known password).
    app.mark_demo().await.map_err(explain)?;
    let account_id = app
        .create_demo_account(
            &op,
            parcours_app::setup::NewUser {
                login: "bench.conseiller",
                role: Role::Conseiller,
                structure_code: Some(&s.code),
                region: None,
                password: Some("bench-mot-de-passe-123".into()),
            },
        )
        .await
        .map_err(explain)?;
    parcours_store::jeunes::assign_unreferenced(&mut conn, s.id, account_id, 150)
        .await
        .map_err(db)?;
    // A structure with `allocataires` jeunes in CEJ this month.
    app.create_structure(
        &op,
        "BENCH-ALLOC",
        "Mission Locale du banc d'essai",
        "75",
        "Île-de-France",
    )
    .await
    .map_err(explain)?;
    let alloc = app
        .structure_by_code("BENCH-ALLOC")
        .await
        .map_err(explain)?
        .ok_or_else(|| anyhow::anyhow!("structure"))?;
    let mut done = 0;
    while done < a.allocataires {
        let mut tx = app.store.begin().await.map_err(db)?;
        for _ in 0..(a.allocataires - done).min(500) {
            let input = crate::seed::person(&mut rng, "75", today);
            let (mut identity, _) = parcours_domain::jeune::validate(&input, today)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            identity.date_naissance =
                today - chrono::Days::new(rng.random_range(17 * 365..25 * 365));
            let id = app
                .insert_identity(&mut tx, &op, alloc.id, &identity)
                .await
                .map_err(explain)?;
            let start = today - chrono::Days::new(rng.random_range(30..300));
            let p = BulkProgramme {
                kind: ProgrammeKind::Cej,
                start,
                end: start + chrono::Days::new(364),
                ended_on: None,
                tax: Some(TaxSituation::NonImposable),
                weeks: vec![],
            };
            app.bulk_programme(&mut tx, &op, &id, alloc.id, &p)
                .await
                .map_err(explain)?;
        }
        tx.commit().await.map_err(|e| explain(e.into()))?;
        done += (a.allocataires - done).min(500);
    }
    let analyse = if app.store.backend() == parcours_store::Backend::Postgres {
        "ANALYZE"
    } else {
        "ANALYZE;"
    };
    sqlx::raw_sql(analyse).execute(&mut *conn).await?;
    drop(conn);
    let principal = |structure: i64| Ctx {
        trace: Default::default(),
        actor: Actor::Account(Principal {
            account_id,
            login: "bench.conseiller".into(),
            role: Role::Conseiller,
            structure_id: Some(structure),
            scope_region: None,
            factor_at: None,
        }),
        request_id: "bench".into(),
        now: chrono::Utc::now(),
    };
    let ctx = principal(s.id);
    let mut open = Vec::new();
    for i in 0..a.queries {
        let t = Instant::now();
        let v = app
            .open_dossier(&ctx, &ids[i % ids.len()])
            .await
            .map_err(explain)?;
        open.push(t.elapsed());
        if v.timeline.len() < 200 {
            anyhow::bail!("dossier de {} entrées au lieu de 200", v.timeline.len());
        }
    }
    let mut caseload = Vec::new();
    let mut lines = 0;
    for _ in 0..(a.queries / 5).max(20) {
        let t = Instant::now();
        lines = app.caseload(&ctx).await.map_err(explain)?.lines.len();
        caseload.push(t.elapsed());
    }
    let actx = principal(alloc.id);
    let month = today.format("%Y-%m").to_string();
    let mut allowances = Vec::new();
    let mut computed = 0;
    for _ in 0..20 {
        let t = Instant::now();
        computed = app
            .month_allowances(&actx, &month)
            .await
            .map_err(explain)?
            .len();
        allowances.push(t.elapsed());
    }
    app.seal_audit(chrono::Utc::now()).await.map_err(explain)?;
    println!(
        "backend: {:?}; {} dossiers, {events} entrées de parcours, chargés en {:.1} s",
        app.store.backend(),
        a.jeunes,
        load.as_secs_f64()
    );
    line("ouverture d'un dossier de 200 entrées", &mut open);
    line(
        &format!("page « Mon portefeuille » ({lines} jeunes)"),
        &mut caseload,
    );
    line(
        &format!("allocations du mois ({computed} jeunes en CEJ)"),
        &mut allowances,
    );
    app.store.close().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[derive(clap::Args)]
pub struct WarehouseArgs {
    #[arg(long, default_value_t = 100_000)]
    pub jeunes: usize,
    #[arg(long, default_value_t = 20)]
    pub events: usize,
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    #[arg(long)]
    pub database_url: Option<String>,
    /// Export into this directory and keep it (for `parcours-insight bench`); default: a
    /// scratch directory removed at the end.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// Keep the seeded instance (SQLite file and master key) in this directory, and reuse it if
    /// it already holds one: seeding 1,000,000 dossiers takes over an hour, the exports minutes.
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// Full exports timed before the incremental ones. With 0, the incremental exports start
    /// from the version already in `--out` (the first one is full if there is none).
    #[arg(long, default_value_t = 2)]
    pub complets: usize,
    /// Seed (into `--data`) and stop, without exporting.
    #[arg(long, requires = "data")]
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
        let mut conn = app.store.acquire().await.map_err(|e| explain(e.into()))?;
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
            app.store.backend(),
            load.as_secs_f64()
        );
    } else {
        println!(
            "backend: {:?}; instance reprise : {jeunes} dossiers, {events} entrées de parcours",
            app.store.backend()
        );
    }
    if a.seed_only {
        app.store.close().await;
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
    app.store.close().await;
    if let Some(dir) = scratch_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}
