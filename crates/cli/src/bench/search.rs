//! `parcours banc recherche`: search and dossier opening at scale, encrypted vs a plaintext table.

#[allow(unused_imports)]
use super::*;

#[derive(clap::Args)]
pub struct SearchArgs {
    /// Dossiers to load.
    #[arg(long, default_value_t = 100_000)]
    pub jeunes: usize,
    /// Queries per measured operation.
    #[arg(long = "requetes", alias = "queries", default_value_t = 2000)]
    pub queries: usize,
    /// Run on this database instead of a temporary SQLite file (e.g. an empty PostgreSQL schema).
    #[arg(long)]
    pub database_url: Option<String>,
}

const PLAIN_COLS: &str = "id, structure_id, nom, prenom, date_naissance, sexe, nationalite, email, telephone, adresse, code_postal, commune, niveau_formation";

pub async fn search(a: SearchArgs) -> anyhow::Result<()> {
    let (app, dir) = scratch(a.database_url.clone()).await?;
    let ctx = Ctx::operator(chrono::Utc::now());
    let t0 = Instant::now();
    crate::seed::seed(&app, &ctx, a.jeunes, 7, 0, true).await?;
    let load = t0.elapsed();
    let pool = app.internals().store().pool().clone();
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
            .internals()
            .store()
            .acquire()
            .await
            .map_err(|e| crate::commands::explain(e.into()))?;
        let rows = parcours_store::jeunes::list_recent(&mut conn, s.id, i64::MAX, 0)
            .await
            .map_err(|e| crate::commands::explain(e.into()))?;
        drop(conn);
        let mut tx = pool.begin().await?;
        for r in &rows {
            let d = app
                .internals()
                .decrypt_row(r)
                .map_err(crate::commands::explain)?;
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
    if app.internals().store().backend() == parcours_store::Backend::Postgres {
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
        .internals()
        .store()
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
            .internals()
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
            app.internals()
                .decrypt_row(&r)
                .map_err(crate::commands::explain)?;
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
            .internals()
            .store()
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
    // As in `parcours serve`, SQLite's WAL is folded into the database in the background each
    // second, not in a request's commit (issue 20).
    let store = app.internals().store().clone();
    let folding = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let _ = store.checkpoint().await;
        }
    });
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
    folding.abort();
    app.set_read_counting(true);
    println!();
    println!(
        "Parcours bench search — {} dossiers over {} structures, backend {:?}",
        a.jeunes,
        structures.len(),
        app.internals().store().backend()
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
    app.close().await;
    if a.database_url.is_none() {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}
