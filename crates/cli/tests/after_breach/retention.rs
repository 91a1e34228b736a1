//! Retention on a seeded instance whose clock is moved forward: the dry run lists exactly the
//! dossiers an independent reading of the rules finds due, and erases nothing; the real run
//! erases them (and only them), audited.

use chrono::{Months, NaiveDate};

/// The rules of décret n° 2015-59 written here plainly, as an oracle: due when 28 years old
/// and no programme running, and, after a CEJ, ten years after its end.
async fn expected_due(app: &parcours_app::App, today: NaiveDate) -> Vec<String> {
    let mut conn = app.internals().store().acquire().await.unwrap();
    let mut due = Vec::new();
    let mut ids = parcours_store::jeunes::all_ids(&mut conn).await.unwrap();
    ids.sort();
    for id in ids {
        let row = parcours_store::jeunes::get(&mut conn, &id)
            .await
            .unwrap()
            .unwrap();
        if row.wrapped_key.is_none() {
            continue;
        }
        let birth = app
            .internals()
            .decrypt_row(&row)
            .unwrap()
            .identity
            .date_naissance;
        let progs = parcours_store::programmes::for_jeune(&mut conn, &id)
            .await
            .unwrap();
        let ends: Vec<(String, NaiveDate)> = progs
            .iter()
            .map(|p| {
                let e = p.ended_on.clone().unwrap_or_else(|| p.end_date.clone());
                (
                    p.kind.clone(),
                    NaiveDate::parse_from_str(&e, "%Y-%m-%d").unwrap(),
                )
            })
            .collect();
        if ends.iter().any(|(_, e)| *e >= today) {
            continue;
        }
        let mut limit = birth.checked_add_months(Months::new(12 * 28)).unwrap();
        for (k, e) in &ends {
            if k == "cej" {
                limit = limit.max(e.checked_add_months(Months::new(120)).unwrap());
            }
        }
        if today >= limit {
            due.push(id);
        }
    }
    due
}

fn listed(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out
        .lines()
        .filter_map(|l| l.trim().split(" — ").next())
        .filter(|l| l.len() == 36 && l.chars().filter(|c| *c == '-').count() == 4)
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

per_backend! {
#[tokio::test]
async fn retention_dry_run_then_real_run_with_the_clock_moved_forward(inst) {
    let b = inst.backend;
    inst.standard();
    inst.ok(&["seed", "--jeunes", "40", "--seed", "11", "--events", "6"]);
    inst.add_user("conseiller.partie", "conseiller", Some("ML-A"));
    let app = inst.app().await;
    // A conseillère leaves: her account is disabled today (the end of her access).
    let mut admin = inst.admin_client(app.clone());
    let r = admin
        .json(
            axum::http::Method::POST,
            "/api/v1/comptes/conseiller.partie/desactivation",
            serde_json::json!({"motif": "départ de la Mission Locale"}),
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{b}: {}", r.body);
    let today = chrono::Utc::now().date_naive();
    // Today: the seeded young people are 16 to 25, nothing is due.
    let out = inst.ok(&["retention", "run", "--essai"]);
    assert!(listed(&out).is_empty(), "{b}: {out}");
    let later = today.checked_add_months(Months::new(12 * 6)).unwrap();
    let expected = expected_due(&app, later).await;
    assert!(
        !expected.is_empty() && expected.len() < 40,
        "{b}: some, not all, due in 6 years: {}",
        expected.len()
    );
    let date = later.format("%Y-%m-%d").to_string();
    let out = inst.ok(&["retention", "run", "--essai", "--date", &date]);
    assert_eq!(
        listed(&out),
        expected,
        "{b}: the dry run lists exactly the dossiers due: {out}"
    );
    assert!(out.contains("rien n'est effacé"), "{b}");
    assert!(
        out.contains("compte conseiller.partie"),
        "{b}: her account is due too: {out}"
    );
    assert_eq!(
        expected_due(&app, later).await,
        expected,
        "{b}: the dry run erased nothing"
    );
    // The real run, the same day: those, and only those, are erased.
    let out = inst.ok(&["retention", "run", "--date", &date]);
    assert!(
        out.contains(&format!("{} effacé(s)", expected.len())),
        "{b}: {out}"
    );
    assert!(out.contains("1 supprimé(s)"), "{b}: {out}");
    {
        let mut conn = app.internals().store().acquire().await.unwrap();
        assert!(
            parcours_store::accounts::by_login(&mut conn, "conseiller.partie")
                .await
                .unwrap()
                .is_none(),
            "{b}: her login is gone"
        );
        assert!(
            parcours_store::accounts::by_login(&mut conn, "conseiller.a")
                .await
                .unwrap()
                .is_some(),
            "{b}: an active account stays"
        );
    }
    let mut conn = app.internals().store().acquire().await.unwrap();
    let mut readable = 0;
    for id in parcours_store::jeunes::all_ids(&mut conn).await.unwrap() {
        let row = parcours_store::jeunes::get(&mut conn, &id)
            .await
            .unwrap()
            .unwrap();
        let erased = row.wrapped_key.is_none();
        assert_eq!(erased, expected.contains(&id), "{b}: {id}");
        readable += usize::from(!erased);
    }
    assert_eq!(readable, 40 - expected.len(), "{b}");
    let entries = parcours_store::audit::search(&mut conn, None, 0, i64::MAX, 100_000)
        .await
        .unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "jeune.effacement" && e.fields.starts_with("conservation"))
            .count(),
        expected.len(),
        "{b}: each erasure audited with its rule"
    );
    drop(conn);
    assert!(
        listed(&inst.ok(&["retention", "run", "--essai", "--date", &date])).is_empty(),
        "{b}"
    );
    // Rules are settings, within bounds.
    let o = inst.run(&["retention", "regles", "--age", "20"]);
    assert!(
        !o.status.success(),
        "{b}: a dossier is kept at least to the 26th birthday"
    );
    assert!(
        inst.ok(&["retention", "regles", "--age", "30"])
            .contains("jusqu'à ses 30 ans"),
        "{b}"
    );
}
}
