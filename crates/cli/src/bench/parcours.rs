//! `parcours banc parcours`: the advisor's daily work at scale.

#[allow(unused_imports)]
use super::*;

#[derive(clap::Args)]
pub struct ParcoursArgs {
    /// Dossiers to load, each with a synthetic parcours.
    #[arg(long, default_value_t = 100_000)]
    pub jeunes: usize,
    /// Average parcours entries per dossier.
    #[arg(long = "evenements", alias = "events", default_value_t = 20)]
    pub events: usize,
    /// Measured openings of a 200-event dossier.
    #[arg(long = "requetes", alias = "queries", default_value_t = 1000)]
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
    use parcours_app::bulk::{BulkDossier, BulkProgramme};
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
    let store = app.internals().store();
    let mut conn = store.acquire().await.map_err(db)?;
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
    let mut batch = Vec::new();
    for id in &ids {
        let have: i64 = sqlx::query("SELECT COUNT(*) FROM events WHERE jeune_id = $1")
            .bind(id.as_str())
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        let birth = app
            .internals()
            .decrypt_row(
                &parcours_store::jeunes::get(&mut conn, id)
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
        batch.push((id.clone(), extra));
    }
    app.bulk_add_entries(&op, &batch).await.map_err(explain)?;
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
    app.bulk_assign_caseload(&op, s.id, account_id, 150)
        .await
        .map_err(explain)?;
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
        let mut dossiers = Vec::new();
        for _ in 0..(a.allocataires - done).min(500) {
            let input = crate::seed::person(&mut rng, "75", today);
            let (mut identity, _) = parcours_domain::jeune::validate(&input, today)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            identity.date_naissance =
                today - chrono::Days::new(rng.random_range(17 * 365..25 * 365));
            let start = today - chrono::Days::new(rng.random_range(30..300));
            dossiers.push(BulkDossier {
                structure: alloc.id,
                identity,
                entries: vec![],
                programmes: vec![BulkProgramme {
                    kind: ProgrammeKind::Cej,
                    start,
                    end: start + chrono::Days::new(364),
                    ended_on: None,
                    tax: Some(TaxSituation::NonImposable),
                    weeks: vec![],
                }],
            });
        }
        app.bulk_dossiers(&op, &dossiers).await.map_err(explain)?;
        done += (a.allocataires - done).min(500);
    }
    let analyse = if store.backend() == parcours_store::Backend::Postgres {
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
        store.backend(),
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
    app.close().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
