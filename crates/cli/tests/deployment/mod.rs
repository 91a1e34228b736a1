//! Issue 20 — several instances for real: two `parcours serve` processes on one PostgreSQL,
//! behind HAProxy terminating TLS with the repository's own `deploy/haproxy.cfg` (the file the
//! README documents), reached over HTTPS by a client that trusts only the test's certificate.
//!
//! What must hold with several instances: a session opened through one instance works on the
//! other; the daily quota is one quota, even under concurrent reads spread over both; a freeze
//! decided by one instance stops the session on the other; the audit chain written by both
//! verifies; the scheduled warehouse export runs on both schedules without ever failing (one
//! export at a time, by a database lock).

use crate::support::*;
use parcours_store::testing;
use std::collections::HashSet;
use std::process::{Command, Stdio};

const PROXY_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/haproxy.cfg");

/// Dossier ids of ML-A outside `login`'s caseload and not canaries (ground truth, read by the
/// test itself).
async fn outside_ids(app: &parcours_app::App, login: &str) -> Vec<String> {
    let s = app.structure_by_code("ML-A").await.unwrap().unwrap();
    let mut conn = app.internals().store().acquire().await.unwrap();
    let canaries: HashSet<String> = app
        .internals()
        .canary_ids(&mut conn, s.id)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let account = parcours_store::accounts::by_login(&mut conn, login)
        .await
        .unwrap()
        .unwrap()
        .id;
    let caseload: HashSet<String> = parcours_store::jeunes::caseload(&mut conn, s.id, account)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    parcours_store::jeunes::list_recent(&mut conn, s.id, i64::MAX, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .filter(|id| !canaries.contains(id) && !caseload.contains(id))
        .collect()
}

#[tokio::test]
async fn two_instances_behind_a_tls_proxy_share_sessions_quotas_freezes_and_the_chain() {
    let Some(inst) = Instance::postgres().await else {
        return;
    };
    if !installed(&["haproxy", "openssl"]) {
        testing::skip(
            "haproxy",
            "the multi-instance deployment test (apt-get install haproxy openssl)",
        );
        return;
    }
    inst.standard();
    inst.add_user("conseiller.b", "conseiller", Some("ML-A"));
    inst.ok(&["seed", "--jeunes", "60", "--events", "0", "--seed", "20"]);
    inst.ok(&[
        "canaries",
        "add",
        "--structure",
        "ML-A",
        "--count",
        "1",
        "--seed",
        "20",
    ]);
    // The burst rule out of the way: the quota is what this test counts.
    inst.ok(&["vigilance", "seuils", "--fenetre-dossiers", "1000"]);
    let app = inst.app().await;
    let outside = outside_ids(&app, "conseiller.a").await;
    let canary = {
        let s = app.structure_by_code("ML-A").await.unwrap().unwrap();
        let mut conn = app.internals().store().acquire().await.unwrap();
        app.internals().canary_ids(&mut conn, s.id).await.unwrap()[0].clone()
    };
    assert!(outside.len() >= 40, "{}", outside.len());

    // Two instances, both exporting the warehouse every 2 s into the same directory, and the
    // proxy in front, with the deployment's own configuration.
    let (pa, pb, front) = (free_port(), free_port(), free_port());
    let public = format!("https://localhost:{front}");
    let warehouse = inst.dir.join("entrepot");
    let warehouse = warehouse.to_str().unwrap();
    let mut procs = Processes::default();
    for (port, log) in [(pa, "serve-a.log"), (pb, "serve-b.log")] {
        procs.0.push(inst.serve(
            port,
            log,
            &["--export-intervalle", "2", "--entrepot", warehouse],
            &[
                ("PARCOURS_TRUSTED_PROXIES", "127.0.0.1"),
                ("PARCOURS_PUBLIC_URL", &public),
            ],
        ));
    }
    let (ca, pem) = tls_for_localhost(&inst.dir);
    procs.0.push(
        Command::new("haproxy")
            .arg("-f")
            .arg(PROXY_CONFIG)
            .env("PARCOURS_FRONT", format!("127.0.0.1:{front}"))
            .env("PARCOURS_CERT", &pem)
            .env("PARCOURS_A", format!("127.0.0.1:{pa}"))
            .env("PARCOURS_B", format!("127.0.0.1:{pb}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(inst.dir.join("haproxy.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let mut web = Http::new(&public, Some(&ca));
    let mut last = None;
    assert!(
        wait_until(std::time::Duration::from_secs(30), || {
            let r = web.get("/healthz");
            let ok = r.status == 200;
            last = Some(r);
            ok
        })
        .is_some(),
        "the proxy never answered: {last:?} {}",
        std::fs::read_to_string(inst.dir.join("haproxy.log")).unwrap_or_default()
    );
    // TLS only: a client that does not trust the certificate is refused, plain HTTP too.
    assert_eq!(Http::new(&public, None).get("/healthz").status, 0);
    assert_eq!(
        Http::new(&format!("http://127.0.0.1:{front}"), None)
            .get("/healthz")
            .status,
        0
    );

    // A session opened through the proxy (its three steps spread over both instances) works
    // on each instance, and the instances know the client spoke HTTPS.
    web.enrol(&inst.take_enrolment_link("conseiller.a"));
    let mut answered = HashSet::new();
    for _ in 0..6 {
        let r = web.get("/api/v1/quota");
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.header("strict-transport-security").is_some(),
            "HSTS behind the TLS proxy: {:?}",
            r.headers
        );
        answered.insert(r.header("x-parcours-instance").unwrap().to_string());
    }
    assert_eq!(answered.len(), 2, "both instances answered: {answered:?}");
    for port in [pa, pb] {
        let r = web
            .at(&format!("http://127.0.0.1:{port}"))
            .get("/api/v1/quota");
        assert_eq!(
            r.status, 200,
            "the session on the instance at {port}: {}",
            r.body
        );
    }

    // One quota across the instances: a new account may open 20 dossiers a day. Four
    // concurrent clients open 8 distinct dossiers each, through the proxy: exactly 20 open.
    let quota = web.get("/api/v1/quota").json()["daily_dossiers"]
        .as_i64()
        .unwrap();
    assert_eq!(quota, 20);
    let results: Vec<(u16, String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = outside[..32]
            .chunks(8)
            .map(|ids| {
                let mut c = web.at(&public);
                s.spawn(move || {
                    ids.iter()
                        .map(|id| {
                            let r = c.get(&format!("/api/v1/jeunes/{id}"));
                            let code = if r.status == 200 {
                                String::new()
                            } else {
                                r.json()["code"].as_str().unwrap_or("").to_string()
                            };
                            let by = r.header("x-parcours-instance").unwrap_or("").to_string();
                            (r.status, code, by)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let opened: Vec<_> = results.iter().filter(|r| r.0 == 200).collect();
    assert_eq!(
        opened.len(),
        20,
        "one quota for both instances: {results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.0 == 200 || (r.0 == 429 && r.1 == "quota_atteint")),
        "refusals are the quota's, nothing else: {results:?}"
    );
    let by: HashSet<&str> = opened.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(by.len(), 2, "both instances opened dossiers: {results:?}");

    // A freeze decided by one instance holds on the other: conseiller.b opens a canary.
    let mut thief = Http::new(&public, Some(&ca));
    thief.enrol(&inst.take_enrolment_link("conseiller.b"));
    let r = thief.get(&format!("/api/v1/jeunes/{canary}/dossier"));
    assert_eq!(r.status, 423, "{}", r.body);
    assert_eq!(r.json()["code"], "compte_gele");
    for port in [pa, pb] {
        let r = thief
            .at(&format!("http://127.0.0.1:{port}"))
            .get("/api/v1/portefeuille");
        assert!(
            r.status == 401 || r.status == 423,
            "frozen on the instance at {port}: {} {}",
            r.status,
            r.body
        );
    }

    // Both schedules ran; an export ran at least once and none failed.
    assert!(
        wait_until(std::time::Duration::from_secs(30), || {
            let logs = inst.log("serve-a.log") + &inst.log("serve-b.log");
            logs.contains("entrepôt exporté")
        })
        .is_some(),
        "no export: {}{}",
        inst.log("serve-a.log"),
        inst.log("serve-b.log")
    );
    drop(procs);
    for log in ["serve-a.log", "serve-b.log"] {
        let text = inst.log(log);
        assert!(!text.contains("en échec"), "{log}: {text}");
        assert!(!text.contains("ERROR"), "{log}: {text}");
    }
    assert!(inst.dir.join("entrepot/current").exists());
    // The chain both instances appended to verifies.
    assert!(inst.ok(&["audit", "verify"]).contains("intact"));
}

/// The pool size of a process is a setting (several instances share PostgreSQL's
/// connections); a value that is not a count is a clear error, not a silent default.
#[tokio::test]
async fn the_connection_count_is_a_setting_and_a_bad_one_is_refused() {
    let inst = Instance::new("sqlite").await;
    inst.standard();
    let ok = inst.run_env(&["audit", "verify"], &[("PARCOURS_DB_CONNECTIONS", "2")]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    for bad in ["0", "zéro", "100000"] {
        let o = inst.run_env(&["audit", "verify"], &[("PARCOURS_DB_CONNECTIONS", bad)]);
        assert!(!o.status.success(), "{bad}");
        assert!(
            stderr(&o).contains("PARCOURS_DB_CONNECTIONS"),
            "{bad}: {}",
            stderr(&o)
        );
    }
}
