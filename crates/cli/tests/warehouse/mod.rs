//! Issue #4 (first slice) — the warehouse export, on both backends: no identity, free text,
//! exact birth date or operational id in any file; k-anonymity computed independently; atomic
//! switch of `current`; pseudonyms keyed per instance.

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::acceptance::{find_any, fixture_people, needles};
use crate::support::*;

const NOTE: &str = "Hébergée chez sa tante Wilhelmine Krasucki-Dupeyron";

per_backend! {
#[tokio::test]
async fn warehouse_export_holds_no_identity_and_is_k_anonymous(inst) {
    let b = inst.backend;
    inst.standard();
    inst.ok(&[
        "import",
        "jeunes",
        "--structure",
        "ML-A",
        &format!("{FIXTURES}/valid.csv"),
    ]);
    inst.ok(&["seed", "--jeunes", "300", "--events", "8"]);
    let app = inst.app().await;
    let mut c = Client::new(app.clone());
    c.login("conseiller.a", None, 0).await;
    let mut ids = Vec::new();
    let mut conn = app.internals().store().acquire().await.unwrap();
    let s = app.structure_by_code("ML-A").await.unwrap().unwrap();
    for r in parcours_store::jeunes::list_recent(&mut conn, s.id, i64::MAX, 0)
        .await
        .unwrap()
    {
        ids.push(r.id);
    }
    drop(conn);
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/jeunes/{}/entrees", ids[0]),
            json!({"kind": "entretien_individuel", "date": today, "note": NOTE}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let out = inst
        .dir
        .parent()
        .unwrap()
        .join(parcours_store::testing::unique_name("entrepot"));
    let printed = inst.ok(&[
        "warehouse",
        "export",
        "--out",
        out.to_str().unwrap(),
        "--k",
        "5",
    ]);
    assert!(printed.contains("k-anonymat (k = 5)"), "{printed}");
    let (dir, manifest) = parcours_warehouse::files::open_current(&out).unwrap();
    assert_eq!(manifest.schema_version, parcours_warehouse::SCHEMA_VERSION);
    let persons = manifest
        .tables
        .iter()
        .find(|t| t.file == "persons.parquet")
        .unwrap()
        .rows;
    assert!(persons >= 250, "{b}: most persons published ({persons})");

    // Every byte of every file, and every decoded value of every column.
    let mut hay = Vec::new();
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.extend(parcours_warehouse::files::fact_files(&dir).unwrap());
    for e in std::fs::read_dir(dir.join(parcours_warehouse::digests::DIR)).unwrap() {
        files.push(e.unwrap().path());
    }
    assert!(
        files.len() >= 5,
        "{b}: manifest, persons, structures, months"
    );
    for p in files {
        hay.extend(std::fs::read(&p).unwrap());
        if p.extension().is_some_and(|x| x == "parquet") {
            for v in parcours_warehouse::files::read_all_values(&p).unwrap() {
                hay.extend(v.into_bytes());
                hay.push(b'\n');
            }
        }
    }
    for p in fixture_people() {
        let found = find_any(&hay, &needles(&p));
        assert!(
            found.is_empty(),
            "{b}: identity in the warehouse: {found:?}"
        );
    }
    let mut others: Vec<String> = vec![NOTE.into(), "Krasucki".into(), "Wilhelmine".into()];
    others.extend(ids.iter().cloned());
    others.extend(ids.iter().map(|i| i.replace('-', "")));
    let found = find_any(&hay, &others);
    assert!(
        found.is_empty(),
        "{b}: free text or operational id in the warehouse: {:?}",
        &found[..found.len().min(3)]
    );
    // The scan can fail: the keyed pseudonym of a published dossier is found (a dossier
    // the k-anonymity guard suppressed is absent, so look for the first published one).
    let pseudo = ids
        .iter()
        .map(|i| app.warehouse_pseudonym(i))
        .find(|p| !find_any(&hay, std::slice::from_ref(p)).is_empty())
        .unwrap_or_else(|| panic!("{b}: no dossier's pseudonym found in the warehouse"));

    // k-anonymity, computed here from the file: structure, sexe, tranche d'âge,
    // nationalité, département, région, QPV, ZRR, niveau.
    let rows = parcours_warehouse::files::read_rows(&dir.join("persons.parquet")).unwrap();
    let mut groups: HashMap<Vec<String>, usize> = HashMap::new();
    for r in &rows {
        *groups.entry(r[1..10].to_vec()).or_default() += 1;
    }
    let smallest = groups.values().min().copied().unwrap_or(0);
    assert!(
        smallest >= 5,
        "{b}: a quasi-identifier combination shared by {smallest} < 5 persons"
    );
    assert_eq!(rows.len(), persons);
    // Months only: no exact date in the facts.
    let facts = parcours_warehouse::files::read_fact_rows(&dir).unwrap();
    assert!(!facts.is_empty());
    assert!(
        facts.iter().all(|f| f[1].len() == 7 && &f[1][4..5] == "-"),
        "{b}: facts dated by month"
    );

    // A second export switches `current` atomically and keeps the previous version only.
    let first = std::fs::read_link(out.join("current")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    inst.ok(&["warehouse", "export", "--out", out.to_str().unwrap()]);
    let second = std::fs::read_link(out.join("current")).unwrap();
    assert_ne!(first, second);
    assert!(out.join(&first).exists(), "the previous version is kept");
    // Same key, same pseudonyms; another instance's key gives other pseudonyms for the same id.
    let other = Instance::new("sqlite").await;
    other.standard();
    let app2 = other.app().await;
    assert_ne!(
        app2.warehouse_pseudonym(&ids[0]),
        app.warehouse_pseudonym(&ids[0]),
        "two instances share no pseudonym"
    );
    let (dir2, _) = parcours_warehouse::files::open_current(&out).unwrap();
    let again = parcours_warehouse::files::read_rows(&dir2.join("persons.parquet")).unwrap();
    assert!(
        again.iter().any(|r| r[0] == pseudo),
        "{b}: same key, same pseudonym in the next export"
    );
}
}

per_backend! {
/// Before any suppression, indicators computed by the insight engine (DataFusion on the
/// warehouse files) equal references computed directly from the operational store, on three
/// breakdowns (month, structure, age band at the date of the fact), for the persons the
/// k-anonymity guard published; then the protected table hides its small cells.
#[tokio::test]
async fn indicators_equal_the_operational_reference(inst) {
    use parcours_insight::indicators::{compute, indicator, open};
    let b = inst.backend;
    inst.ok(&["init"]);
    inst.ok(&["seed", "--jeunes", "400", "--events", "10"]);
    let out = inst
        .dir
        .parent()
        .unwrap()
        .join(parcours_store::testing::unique_name("entrepot"));
    inst.ok(&[
        "warehouse",
        "export",
        "--out",
        out.to_str().unwrap(),
        "--k",
        "5",
    ]);
    let app = inst.app().await;
    let ctx = open(&out).await.unwrap();
    let (dir, _) = parcours_warehouse::files::open_current(&out).unwrap();
    let published: std::collections::HashSet<String> =
        parcours_warehouse::files::read_rows(&dir.join("persons.parquet"))
            .unwrap()
            .into_iter()
            .map(|r| r[0].clone())
            .collect();

    // The reference: the operational rows, read here with their structure and birth date.
    let mut conn = app.internals().store().acquire().await.unwrap();
    let mut reference: Vec<(String, String, String, String, String)> = Vec::new(); // (kind, type, month, structure, band)
    for s in parcours_store::structures::list(&mut conn).await.unwrap() {
        let mut births = HashMap::new();
        for r in parcours_store::jeunes::list_recent(&mut conn, s.id, i64::MAX, 0)
            .await
            .unwrap()
        {
            if published.contains(&app.warehouse_pseudonym(&r.id)) {
                births.insert(
                    r.id.clone(),
                    app.internals().decrypt_row(&r).unwrap().identity.date_naissance,
                );
            }
        }
        let band = |j: &str, ymd: &str| {
            let d = chrono::NaiveDate::parse_from_str(ymd, "%Y-%m-%d").unwrap();
            parcours_domain::generalise::age_band(births[j], d).to_string()
        };
        for e in parcours_store::events::facts_of_structure(&mut conn, s.id, false)
            .await
            .unwrap()
        {
            if births.contains_key(&e.jeune_id) {
                reference.push((
                    "evenement".into(),
                    e.kind.clone(),
                    e.on_date[..7].into(),
                    s.code.clone(),
                    band(&e.jeune_id, &e.on_date),
                ));
            }
        }
        for p in parcours_store::programmes::of_structure(&mut conn, s.id, false)
            .await
            .unwrap()
        {
            if births.contains_key(&p.jeune_id) {
                reference.push((
                    "entree_dispositif".into(),
                    p.kind.clone(),
                    p.start_date[..7].into(),
                    s.code.clone(),
                    band(&p.jeune_id, &p.start_date),
                ));
            }
            // In CEJ at the end of each month already over, from its start to its end.
            if births.contains_key(&p.jeune_id) && p.kind == "cej" {
                use chrono::{Datelike, Days, Months, NaiveDate};
                let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
                let (start, today) = (d(&p.start_date), chrono::Utc::now().date_naive());
                let mut month = start.with_day(1).unwrap();
                loop {
                    let last = month + Months::new(1) - Days::new(1);
                    let running = p.ended_on.as_deref().is_none_or(|e| d(e) > last);
                    if last >= today || !running {
                        break;
                    }
                    let ymd = last.format("%Y-%m-%d").to_string();
                    reference.push((
                        "cej_fin_de_mois".into(),
                        "cej".into(),
                        ymd[..7].into(),
                        s.code.clone(),
                        band(&p.jeune_id, &ymd),
                    ));
                    month = month + Months::new(1);
                }
            }
        }
    }
    drop(conn);
    let count =
        |fact: &str,
         kind: &str,
         key: fn(&(String, String, String, String, String)) -> String| {
            let mut m: HashMap<String, i64> = HashMap::new();
            for r in reference.iter().filter(|r| r.0 == fact && r.1 == kind) {
                *m.entry(key(r)).or_default() += 1;
            }
            let mut v: Vec<(Vec<String>, i64)> =
                m.into_iter().map(|(k, n)| (vec![k], n)).collect();
            v.sort();
            v
        };
    for (code, fact, kind) in [
        (
            "entretiens_individuels",
            "evenement",
            "entretien_individuel",
        ),
        ("entrees_cej", "entree_dispositif", "cej"),
        ("jeunes_en_cej_fin_de_mois", "cej_fin_de_mois", "cej"),
    ] {
        let ind = indicator(code).unwrap();
        let by_month = compute(&ctx, ind, &["mois"]).await.unwrap();
        assert_eq!(
            by_month,
            count(fact, kind, |r| r.2.clone()),
            "{b}: {code} by month"
        );
        assert!(!by_month.is_empty(), "{b}: {code} has data");
        let by_structure = compute(&ctx, ind, &["structure"]).await.unwrap();
        assert_eq!(
            by_structure,
            count(fact, kind, |r| r.3.clone()),
            "{b}: {code} by structure"
        );
        let by_band = compute(&ctx, ind, &["tranche_age"]).await.unwrap();
        assert_eq!(
            by_band,
            count(fact, kind, |r| r.4.clone()),
            "{b}: {code} by age band"
        );
    }
    // Published through the dashboards' pipeline: small cells read "s", never a number
    // under 11; what is published equals the reference.
    let w = parcours_insight::publish::Warehouse::open(&out, 11)
        .await
        .unwrap();
    let by_month: HashMap<String, i64> =
        count("evenement", "entretien_individuel", |r| r.2.clone())
            .into_iter()
            .map(|(k, n)| (k[0].clone(), n))
            .collect();
    let mut compared = 0;
    for year in w.years.clone() {
        let t = w
            .publish(
                &parcours_vault::assertion::Perimeter::Nation,
                &parcours_insight::publish::Query {
                    indicateur: "entretiens_individuels".into(),
                    annee: year.clone(),
                    ventilation: "mois".into(),
                    niveau: "nation".into(),
                    code: "nation".into(),
                },
            )
            .await
            .unwrap();
        let mut rows = t.lignes.clone();
        rows.push(t.ensemble.clone());
        for r in &rows {
            for c in r.cellules.iter().chain([&r.total]) {
                match c.valeur {
                    Some(n) => assert!(n == 0 || n >= 11, "{b}: small count {n} published"),
                    None => assert_eq!(c.affiche, "s", "{b}"),
                }
            }
        }
        assert!(
            t.lignes.iter().all(|r| r.niveau == "region"),
            "{b}: régions under the nation"
        );
        for (col, c) in t.colonnes.iter().zip(&t.ensemble.cellules) {
            if let Some(n) = c.valeur {
                assert_eq!(
                    n,
                    by_month.get(&col.code).copied().unwrap_or(0),
                    "{b}: {}",
                    col.code
                );
                compared += 1;
            }
        }
    }
    assert!(
        compared > 0,
        "{b}: published months compared with the reference"
    );
}
}

/// The main server's side of the insight login: the assertion follows the role (structure for
/// conseiller and directeur, région or nation for a pilote, nothing for the DPO), names nobody,
/// verifies with the public key `parcours insight public-key` prints — and with nothing else;
/// the "Pilotage" page posts it to the insight server, which its policy alone allows.
#[tokio::test]
async fn insight_assertions_follow_the_role_and_name_nobody() {
    use parcours_vault::assertion::{parse_public_key, verify, Perimeter};
    let inst = Instance::new("sqlite").await;
    inst.standard();
    inst.add_user_with("pilote.nation", "pilote", &["--region", "national"]);
    inst.add_user_with(
        "pilote.ara",
        "pilote",
        &["--region", "Auvergne-Rhône-Alpes"],
    );
    inst.add_user("dpo.a", "dpo", None);
    let key_file = inst.dir.join("insight.pub");
    inst.ok(&["insight", "public-key", "--out", key_file.to_str().unwrap()]);
    let key = parse_public_key(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    let other_key = parse_public_key(&inst.ok(&["insight", "public-key"])).unwrap();
    assert_eq!(key, other_key, "the file and the printed key are the same");
    let app = inst.app().await;
    let now = chrono::Utc::now().timestamp();
    for (login, expected) in [
        ("conseiller.a", Some(Perimeter::Structure("ML-A".into()))),
        ("pilote.nation", Some(Perimeter::Nation)),
        (
            "pilote.ara",
            Some(Perimeter::Region("Auvergne-Rhône-Alpes".into())),
        ),
        ("dpo.a", None),
    ] {
        let mut c = Client::new(app.clone());
        c.login(login, None, 0).await;
        let r = c
            .json(Method::POST, "/api/v1/pilotage/jeton", json!({}))
            .await;
        match expected {
            None => assert_eq!(r.status, StatusCode::FORBIDDEN, "{login}: {}", r.body),
            Some(p) => {
                assert_eq!(r.status, StatusCode::OK, "{login}: {}", r.body);
                let token = r.json()["jeton"].as_str().unwrap().to_string();
                let claims = verify(&key, &token, now).unwrap();
                assert_eq!(claims.perimetre, p, "{login}");
                assert!(claims.exp - claims.iat <= 300, "short-lived");
                let body =
                    String::from_utf8(base64_decode(token.split('.').next().unwrap())).unwrap();
                assert!(
                    !body.contains(login),
                    "{login}: the assertion names nobody: {body}"
                );
                assert!(
                    verify(&key, &token, now + 3600).is_err(),
                    "{login}: expired an hour later"
                );
                let page = c.get("/pilotage").await;
                assert_eq!(page.status, StatusCode::OK);
                assert!(
                    page.body
                        .contains("action=\"http://127.0.0.1:8081/connexion\""),
                    "{}",
                    page.body
                );
                let csp = page.headers["content-security-policy"].to_str().unwrap();
                assert!(
                    csp.contains("form-action 'self' http://127.0.0.1:8081"),
                    "{csp}"
                );
                let other = c.get("/portefeuille").await;
                if let Some(v) = other.headers.get("content-security-policy") {
                    assert!(
                        !v.to_str().unwrap().contains("8081"),
                        "other pages keep form-action 'self'"
                    );
                }
            }
        }
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = A.iter().position(|&x| x == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// `parcours serve` exports the warehouse on its schedule (here every second instead of
/// nightly) into the warehouse directory, switching `current` to a complete version.
#[test]
fn the_server_exports_the_warehouse_on_its_schedule() {
    let inst = futures_block(Instance::new("sqlite"));
    inst.ok(&["init"]);
    inst.ok(&["seed", "--jeunes", "60", "--events", "3"]);
    let out = inst.dir.join("entrepot-planifie");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_parcours"))
        .args([
            "serve",
            "--bind",
            &bind,
            "--warehouse",
            out.to_str().unwrap(),
            "--export-every",
            "1",
        ])
        .env("PARCOURS_DATA_DIR", &inst.dir)
        .env_remove("PARCOURS_DATABASE_URL")
        .env_remove("PARCOURS_MASTER_KEY_FILE")
        .env("PARCOURS_LOG", "warn")
        .spawn()
        .unwrap();
    let mut versions = std::collections::BTreeSet::new();
    for _ in 0..150 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Ok((dir, m)) = parcours_warehouse::files::open_current(&out) {
            assert!(m.fact_rows() > 0, "every scheduled version holds the facts");
            versions.insert(dir);
            if versions.len() >= 2 {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        versions.len() >= 2,
        "two scheduled exports, each complete: {versions:?}"
    );
}

per_backend! {
/// The incremental export re-reads only the dossiers changed since the previous version — new
/// interviews, a situation, a transfer, an edited entry — and publishes exactly what a full
/// export of the same store publishes, reusing the months nothing touched (hard links).
/// Multi-threaded: full exports read structures in parallel there (the path a server takes),
/// and the incremental one sequentially; both must give the same warehouse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_export_equals_a_full_export(inst) {
    use parcours_warehouse::files::{current_manifest, fact_files, read_facts, read_persons};
    let b = inst.backend;
    inst.ok(&["init"]);
    inst.ok(&["seed", "--jeunes", "300", "--events", "8"]);
    let app = inst.app().await;
    let base = inst
        .dir
        .parent()
        .unwrap()
        .join(parcours_store::testing::unique_name("entrepot"));
    let (inc, full) = (base.join("inc"), base.join("full"));
    // The seed was written now; the exports and the day's work happen "later", in steps of
    // 11 minutes (the next export re-reads what changed from 10 minutes before the previous
    // one started). Steps of an hour crossed midnight — and at the end of a month, the
    // month, which changes the facts — whenever the test ran after 15:00 UTC.
    // The steps span 99 minutes: run near the end of a month, they would cross into the
    // next one and the last export would rightly rewrite its new month. Then the whole
    // scenario is played at 01:00 on the 1st of the next month instead.
    let now = chrono::Utc::now();
    let start = if (now + chrono::Duration::minutes(120))
        .format("%Y-%m")
        .to_string()
        != now.format("%Y-%m").to_string()
    {
        use chrono::Datelike;
        (now + chrono::Duration::hours(3))
            .date_naive()
            .with_day(1)
            .and_then(|d| d.and_hms_opt(1, 0, 0))
            .map(|t| t.and_utc())
            .unwrap()
    } else {
        now
    };
    let at = move |step: i64| start + chrono::Duration::minutes(11 * step);
    let first = app
        .warehouse_export(&parcours_app::Ctx::operator(at(2)), &inc, 5, false)
        .await
        .unwrap();
    assert_eq!(first.mode, "complet", "{b}: nothing to build on yet");

    // The day's work, as a conseiller of the first structure, a step later.
    let mut conn = app.internals().store().acquire().await.unwrap();
    let s = parcours_store::structures::list(&mut conn).await.unwrap();
    let ids: Vec<String> = parcours_store::jeunes::list_recent(&mut conn, s[0].id, i64::MAX, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    // An appointment of an older month (not the month the day's work happens in), of a
    // dossier not otherwise touched, to edit its status. (Picking any appointment made the
    // test fail whenever the first one found fell in the current month.)
    let this_month = at(3).format("%Y-%m").to_string();
    let mut rdv = None;
    for id in &ids[5..] {
        let events = parcours_store::events::for_jeune(&mut conn, id)
            .await
            .unwrap();
        rdv = events
            .into_iter()
            .find(|e| e.kind == "rdv" && !e.on_date.starts_with(&this_month));
        if rdv.is_some() {
            break;
        }
    }
    let rdv = rdv.unwrap_or_else(|| panic!("{b}: a seeded dossier has an appointment"));
    drop(conn);
    let ctx = parcours_app::Ctx {
        trace: Default::default(),
        actor: parcours_app::Actor::Account(parcours_app::Principal {
            account_id: 0,
            login: "t".into(),
            role: parcours_domain::Role::Conseiller,
            structure_id: Some(s[0].id),
            scope_region: None,
            factor_at: None,
        }),
        request_id: "r".into(),
        now: at(3),
    };
    let day = ctx.now.date_naive().format("%Y-%m-%d").to_string();
    for id in &ids[..3] {
        let input = parcours_domain::timeline::EntryInput {
            kind: "entretien_individuel".into(),
            date: day.clone(),
            modalite: "sur_place".into(),
            ..Default::default()
        };
        app.add_entry(&ctx, id, &input).await.unwrap();
    }
    let situation = parcours_domain::situation::SituationInput {
        qpv: "oui".into(),
        zrr: "non".into(),
        niveau: "3".into(),
        ..Default::default()
    };
    app.save_situation(&ctx, &ids[3], &situation).await.unwrap();
    app.transfer_jeune(&ctx, &ids[4], &s[1].code).await.unwrap();
    // An entry of an older month edited (its status): that month changes too.
    let status = if rdv.status.as_deref() == Some("absent") {
        "present"
    } else {
        "absent"
    };
    app.set_entry_status(&ctx, &rdv.id, rdv.version, status)
        .await
        .unwrap();

    let later = parcours_app::Ctx::operator(at(4));
    let x = app.warehouse_export(&later, &inc, 5, false).await.unwrap();
    let y = app.warehouse_export(&later, &full, 5, true).await.unwrap();
    assert_eq!((x.mode, y.mode), ("incremental", "complet"));
    assert!(
        x.reread >= 5 && x.reread < y.reread / 4,
        "{b}: only the changed dossiers are re-read ({} of {})",
        x.reread,
        y.reread
    );
    assert!(x.months_reused > 0 && x.months_written >= 2, "{b}: {x:?}");
    // The digests tell which months changed: a month read back is one that then changed
    // (the re-read persons appear in many more months than the day touched).
    assert!(x.months_read <= x.months_written, "{b}: {x:?}");
    assert_eq!(x.report, y.report, "{b}: same k-anonymity outcome");

    // Row for row, the same warehouse.
    let (dx, mx) = current_manifest(&inc).unwrap();
    let (dy, my) = current_manifest(&full).unwrap();
    assert_eq!(
        (mx.mode.as_str(), my.mode.as_str()),
        ("incremental", "complet")
    );
    assert_eq!(mx.reused_months, x.months_reused);
    let px = read_persons(&dx.join("persons.parquet")).unwrap();
    assert_eq!(
        px,
        read_persons(&dy.join("persons.parquet")).unwrap(),
        "{b}: persons"
    );
    let names = |d: &std::path::Path| -> Vec<String> {
        fact_files(d)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
            .collect()
    };
    assert_eq!(names(&dx), names(&dy), "{b}: same months");
    let mut rows = 0;
    for (fx, fy) in fact_files(&dx)
        .unwrap()
        .iter()
        .zip(fact_files(&dy).unwrap())
    {
        let (a, c) = (read_facts(fx).unwrap(), read_facts(&fy).unwrap());
        assert_eq!(a, c, "{b}: facts of {}", fx.display());
        rows += a.len();
    }
    assert_eq!(rows, mx.fact_rows());
    // The day's interviews are there; the transferred dossier is counted in its new
    // structure; reused months are the previous version's files (same inode).
    let month = ctx.now.format("%Y-%m").to_string();
    let interviews = |d: &std::path::Path| {
        read_facts(&d.join(format!("facts/{month}.parquet")))
            .unwrap_or_default()
            .iter()
            .filter(|f| &*f.kind == "entretien_individuel")
            .count()
    };
    assert!(
        interviews(&dx) >= 3,
        "{b}: the day's interviews are published"
    );
    let moved = app.warehouse_pseudonym(&ids[4]);
    if let Some(p) = px.iter().find(|p| p.pseudonym == moved) {
        assert_eq!(p.structure, s[1].code, "{b}: the transfer is exported");
    }
    let prev = first.dir;
    let mut linked = 0;
    for f in fact_files(&dx).unwrap() {
        use std::os::unix::fs::MetadataExt;
        let old = prev.join("facts").join(f.file_name().unwrap());
        if old.exists()
            && std::fs::metadata(&old).unwrap().ino() == std::fs::metadata(&f).unwrap().ino()
        {
            linked += 1;
        }
    }
    assert_eq!(linked, x.months_reused, "{b}: reused months are hard links");
    // The true rows of generalised persons travel sealed: no pseudonym readable there.
    let state = std::fs::read(dx.join(parcours_warehouse::files::STATE_FILE)).unwrap();
    assert!(
        !px.iter()
            .any(|p| !find_any(&state, std::slice::from_ref(&p.pseudonym)).is_empty()),
        "{b}: the exporter's state is sealed"
    );

    // Nothing changed since: the next incremental export re-reads only the dossiers the
    // guard generalised or suppressed, and rewrites no month.
    let z = app
        .warehouse_export(&parcours_app::Ctx::operator(at(6)), &inc, 5, false)
        .await
        .unwrap();
    assert_eq!(z.months_written, 0, "{b}: {z:?}");
    assert_eq!(z.facts, x.facts);
    // Nobody's rows changed (only the persons the guard suppresses are re-read each time).
    assert_eq!(z.months_read, 0, "{b}: {z:?}");

    // Digests that no longer match their month file are ignored, not trusted. A dossier
    // with rows in an older month gets an interview today; that older month's digests are
    // damaged: it is read back and found unchanged (its digests written anew), today's
    // month is read back and rewritten, no other month is read.
    let (dz, _) = current_manifest(&inc).unwrap();
    let month = ctx.now.format("%Y-%m").to_string();
    let older: Vec<std::path::PathBuf> = fact_files(&dz)
        .unwrap()
        .into_iter()
        .filter(|f| !f.ends_with(format!("{month}.parquet")))
        .collect();
    let (id, month_file) = ids[6..]
        .iter()
        .find_map(|id| {
            let p = app.warehouse_pseudonym(id);
            let f = older
                .iter()
                .find(|f| read_facts(f).unwrap().iter().any(|r| *r.pseudonym == *p))?;
            Some((id.clone(), f.clone()))
        })
        .unwrap_or_else(|| panic!("{b}: a dossier with rows in an older month"));
    let sidecar = parcours_warehouse::digests::sidecar_of(&month_file).unwrap();
    let mut bytes = std::fs::read(&sidecar).unwrap();
    bytes[20] ^= 1; // inside the recorded SHA-256 of the month file
    std::fs::remove_file(&sidecar).unwrap(); // the previous version shares the inode
    std::fs::write(&sidecar, &bytes).unwrap();
    let input = parcours_domain::timeline::EntryInput {
        kind: "entretien_individuel".into(),
        date: day.clone(),
        modalite: "telephone".into(),
        ..Default::default()
    };
    let later = parcours_app::Ctx { now: at(7), ..ctx };
    app.add_entry(&later, &id, &input).await.unwrap();
    let w = app
        .warehouse_export(&parcours_app::Ctx::operator(at(8)), &inc, 5, false)
        .await
        .unwrap();
    assert_eq!((w.months_read, w.months_written), (2, 1), "{b}: {w:?}");
    let v = app
        .warehouse_export(&parcours_app::Ctx::operator(at(9)), &inc, 5, false)
        .await
        .unwrap();
    assert_eq!((v.months_read, v.months_written), (0, 0), "{b}: {v:?}");
    // Still, file for file, what a full export writes.
    let again = base.join("full-again");
    app.warehouse_export(&parcours_app::Ctx::operator(at(9)), &again, 5, true)
        .await
        .unwrap();
    let (dv, _) = current_manifest(&inc).unwrap();
    let (da, _) = current_manifest(&again).unwrap();
    assert_eq!(names(&dv), names(&da), "{b}: same months");
    for f in fact_files(&dv).unwrap() {
        let name = f.file_name().unwrap();
        assert_eq!(
            read_facts(&f).unwrap(),
            read_facts(&da.join("facts").join(name)).unwrap(),
            "{b}: {}",
            f.display()
        );
    }
}
}

fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The dashboards journey in headless Chromium: main server → Pilotage → insight server
/// (started with only the demo's warehouse and public key), filters, exports, drill-down.
#[test]
fn dashboards_journey_in_headless_chromium() {
    run_browser_journey("pilotage.mjs", "pilotage journey passed");
}
