//! Issue 17 — the defects found by the review of the landed main, each with the test that
//! failed before its fix.

use crate::support::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

mod api_properties;

per_backend! {
/// `?page=` × the page size used to overflow i64 (a panic in debug, a wrapped offset in
/// release): refused with 422 now, on both backends, for the list and the search.
#[tokio::test]
async fn huge_pages_are_refused_not_wrapped(inst) {
    let b = inst.backend;
    inst.standard();
    let app = inst.app().await;
    let mut c = Client::new(app.clone());
    c.login("conseiller.a", None, 0).await;
    for uri in [
        "/api/v1/jeunes?page=9223372036854775807",
        "/api/v1/jeunes/recherche?nom=martin&page=9223372036854775807",
    ] {
        let r = c.get(uri).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{b}: {uri}: {}",
            r.body
        );
        assert_eq!(r.json()["champs"][0]["field"], "page", "{b}: {}", r.body);
    }
    let page = c.get("/jeunes?page=9223372036854775807").await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{b}: the page too"
    );
    assert_eq!(
        c.get("/api/v1/jeunes?page=1").await.status,
        StatusCode::OK,
        "{b}"
    );
}
}

per_backend! {
/// A company's page showed the immersions of dossiers transferred to another structure.
#[tokio::test]
async fn a_company_shows_only_its_structures_immersions(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_ml_b();
    let app = inst.app().await;
    let mut c = Client::new(app.clone());
    c.login("conseiller.a", None, 0).await;
    let jeune = new_jeune(&mut c, "Ravenel", "Ilan", "M").await;
    let r = c
        .json(
            Method::POST,
            "/api/v1/entreprises",
            json!({"siret": "120 027 016 00019", "nom": "Boulangerie du Vieux-Lyon"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.body);
    let co = r.json()["id"].as_str().unwrap().to_string();
    let start = chrono::Utc::now().date_naive() + chrono::Days::new(7);
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/jeunes/{jeune}/immersions"),
            json!({"entreprise": co, "date_debut": start.format("%Y-%m-%d").to_string(),
                   "date_fin": (start + chrono::Days::new(9)).format("%Y-%m-%d").to_string(),
                   "tuteur": "Tuteur Test"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.body);
    let before = c.get(&format!("/api/v1/entreprises/{co}")).await.json();
    assert_eq!(before["immersions"].as_array().unwrap().len(), 1, "{b}");
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/jeunes/{jeune}/transfert"),
            json!({"structure": "ML-B"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}: {}", r.body);
    let after = c.get(&format!("/api/v1/entreprises/{co}")).await;
    assert_eq!(after.status, StatusCode::OK, "{b}: {}", after.body);
    assert!(
        after.json()["immersions"].as_array().unwrap().is_empty(),
        "{b}: the transferred dossier's immersion left with it: {}",
        after.body
    );
    assert!(!after.body.contains(&jeune), "{b}: not even its id");
}
}

/// A pilote created without a région used to get the national perimeter by default.
#[tokio::test]
async fn a_pilote_needs_a_perimeter() {
    let inst = Instance::new("sqlite").await;
    inst.standard();
    let o = inst.run(&[
        "user",
        "add",
        "--login",
        "pilote.x",
        "--role",
        "pilote",
        "--motif",
        "pilotage régional",
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("--region national"),
        "{}",
        stderr(&o)
    );
    inst.add_user_with("pilote.nat", "pilote", &["--region", "national"]);
    inst.add_user_with(
        "pilote.ara",
        "pilote",
        &["--region", "Auvergne-Rhône-Alpes"],
    );
    let app = inst.app().await;
    let accounts = app.list_accounts().await.unwrap();
    let region = |l: &str| {
        accounts
            .iter()
            .find(|a| a.login == l)
            .map(|a| a.scope_region.clone())
            .unwrap()
    };
    assert_eq!(region("pilote.nat"), None, "national, said explicitly");
    assert_eq!(
        region("pilote.ara").as_deref(),
        Some("Auvergne-Rhône-Alpes")
    );
}

/// `audit verify` told "altered" and "could not check" apart by message only (both exit 1).
#[tokio::test]
async fn audit_verify_tells_tampering_from_an_unreadable_log() {
    let inst = Instance::new("sqlite").await;
    inst.standard();
    assert_eq!(inst.run(&["audit", "verify"]).status.code(), Some(0));
    let o = inst.run_env(
        &["audit", "verify"],
        &[(
            "PARCOURS_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
        )],
    );
    assert_eq!(o.status.code(), Some(1), "unreadable: {}", stderr(&o));
    let app = inst.app().await;
    inst.sql(&app, "UPDATE audit SET fields = 'falsifie' WHERE seq = 2")
        .await;
    let o = inst.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(3), "altered: {}", stderr(&o));
    assert!(stderr(&o).contains("ALTÉRÉ"));
}

/// `parcours demo` left its dashboards server running after a SIGTERM (a service manager's
/// stop): the child stops with it now.
#[tokio::test]
async fn the_demo_stops_its_dashboards_server_on_sigterm() {
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_parcours"));
    let insight = bin.with_file_name("parcours-insight");
    assert!(
        insight.exists(),
        "{} absent : cargo build --workspace (or cargo test --workspace)",
        insight.display()
    );
    let dir = std::env::temp_dir().join(parcours_store::testing::unique_name("parcours-demo"));
    let port = |base: u16| base + (std::process::id() % 1000) as u16;
    let (main, dash) = (port(23000), port(24000));
    let mut demo = std::process::Command::new(&bin)
        .args([
            "demo",
            "--data-dir",
            dir.to_str().unwrap(),
            "--jeunes",
            "20",
            "--bind",
            &format!("127.0.0.1:{main}"),
            "--insight-bind",
            &format!("127.0.0.1:{dash}"),
        ])
        .env("PARCOURS_LOG", "warn")
        .env_remove("PARCOURS_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let up = |p: u16| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok();
    let mut ready = false;
    for _ in 0..600 {
        if up(main) && up(dash) {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if !ready {
        let _ = demo.kill();
        panic!("the demo and its dashboards did not start");
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &demo.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut exited = None;
    for _ in 0..200 {
        if let Some(st) = demo.try_wait().unwrap() {
            exited = Some(st);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if exited.is_none() {
        let _ = demo.kill();
        panic!("the demo did not stop on SIGTERM");
    }
    let mut gone = false;
    for _ in 0..100 {
        if !up(dash) {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(gone, "the dashboards server outlived the demo");
}

/// `bulk_*` wrote without an actor check or an audit entry: now the operator's only, and each
/// call is audited for its dossier.
#[tokio::test]
async fn bulk_writes_are_the_operators_and_audited() {
    let inst = Instance::new("sqlite").await;
    inst.standard();
    inst.ok(&["seed", "--jeunes", "3", "--events", "4", "--seed", "5"]);
    let app = inst.app().await;
    let mut conn = app.internals().store().acquire().await.unwrap();
    let log = parcours_store::audit::search(&mut conn, None, 0, i64::MAX, 100_000)
        .await
        .unwrap();
    let lots: Vec<_> = log
        .iter()
        .filter(|e| e.action == "parcours.lot" && e.actor.starts_with("operateur-cli:"))
        .collect();
    assert!(
        lots.len() >= 3,
        "one entry per dossier written in bulk: {}",
        lots.len()
    );
    let jeune = lots[0].subject.clone().unwrap();
    drop(conn);
    // An account cannot reach it.
    let ctx = parcours_app::Ctx {
        trace: Default::default(),
        actor: parcours_app::Actor::Account(parcours_app::Principal {
            account_id: 1,
            login: "conseiller.a".into(),
            role: parcours_domain::Role::Conseiller,
            structure_id: Some(1),
            scope_region: None,
            factor_at: None,
        }),
        request_id: "r".into(),
        now: chrono::Utc::now(),
    };
    let r = app.bulk_add_entries(&ctx, &[(jeune.clone(), vec![])]).await;
    assert!(matches!(r, Err(parcours_app::AppError::Forbidden)), "{r:?}");
    let r = app.bulk_dossier_ids(&ctx).await;
    assert!(matches!(r, Err(parcours_app::AppError::Forbidden)), "{r:?}");
    let r = app.bulk_assign_caseload(&ctx, 1, 1, 10).await;
    assert!(matches!(r, Err(parcours_app::AppError::Forbidden)), "{r:?}");
    let r = app.bulk_dossiers(&ctx, &[]).await;
    assert!(matches!(r, Err(parcours_app::AppError::Forbidden)), "{r:?}");
    // The operator's caseload assignment is audited too.
    let op = parcours_app::Ctx::operator(chrono::Utc::now());
    app.bulk_assign_caseload(&op, 1, 1, 2).await.unwrap();
    let mut conn = app.internals().store().acquire().await.unwrap();
    let log = parcours_store::audit::search(&mut conn, None, 0, i64::MAX, 100_000)
        .await
        .unwrap();
    assert!(
        log.iter().any(|e| e.action == "portefeuille.lot"),
        "the caseload assignment wrote no audit entry"
    );
}
