//! The incident report against ground truth: a scripted day by several accounts, then the
//! report for one account, for a structure and for a dump of a date lists exactly the persons
//! touched — no more, no less — and the letters carry the right names and representatives.

use crate::support::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn create(c: &mut Client, nom: &str, prenom: &str, birth: &str, adresse: &str) -> String {
    let r = c
        .json(
            Method::POST,
            "/api/v1/jeunes",
            json!({"nom": nom, "prenom": prenom, "date_naissance": birth, "sexe": "F",
                   "adresse": adresse, "code_postal": "69003", "commune": "Lyon"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_string()
}

fn years_ago(n: u64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Days::new(n * 366))
        .format("%Y-%m-%d")
        .to_string()
}

/// Asks (as the DPO), has the administrator approve, returns the request id.
async fn ask(dpo: &mut Client, admin: &mut Client, scope: Value) -> String {
    let r = dpo.json(Method::POST, "/api/v1/incidents", scope).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.json()["demande"]["id"].as_str().unwrap().to_string();
    // Not before a second person approves; never by the one who asked.
    let early = dpo.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST, "{}", early.body);
    assert_eq!(early.json()["regle"], "approbation_requise");
    let own = dpo
        .json(
            Method::POST,
            &format!("/api/v1/demandes/{id}/approbation"),
            json!({}),
        )
        .await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST, "{}", own.body);
    let ok = admin
        .json(
            Method::POST,
            &format!("/api/v1/demandes/{id}/approbation"),
            json!({}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    id
}

fn persons(report: &Value) -> BTreeSet<String> {
    report["persons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["jeune_id"].as_str().unwrap().to_string())
        .collect()
}

per_backend! {
#[tokio::test]
async fn the_incident_report_lists_exactly_the_persons_touched(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_ml_b();
    inst.add_user("conseiller.b", "conseiller", Some("ML-A"));
    inst.add_user("conseiller.c", "conseiller", Some("ML-B"));
    inst.add_user("dpo.n", "dpo", None);
    let app = inst.app().await;
    let (mut a, mut cb, mut cc, mut dpo) = (
        Client::new(app.clone()),
        Client::new(app.clone()),
        Client::new(app.clone()),
        Client::new(app.clone()),
    );
    a.login("conseiller.a", None, 0).await;
    cb.login("conseiller.b", None, 0).await;
    cc.login("conseiller.c", None, 0).await;
    dpo.login("dpo.n", None, 0).await;
    let mut admin = inst.admin_client(app.clone());

    // The day: a creates three dossiers (one of a minor, with her mother), b two, c one
    // in the other Mission Locale; a opens one of b's, b one of a's.
    let j1 = create(
        &mut a,
        "Quenardel",
        "Alice",
        &years_ago(20),
        "3 rue Garibaldi",
    )
    .await;
    let j2 = create(&mut a, "Vautrin", "Léa", &years_ago(16), "8 quai Perrache").await;
    let r = a
        .json(
            Method::POST,
            &format!("/api/v1/jeunes/{j2}/representants"),
            json!({"lien": "mère", "nom": "Vautrin", "prenom": "Odile", "telephone": "0611223344",
                   "email": "odile.vautrin@exemple.fr", "adresse": "8 quai Perrache, 69002 Lyon"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let j3 = create(
        &mut a,
        "Brissac",
        "Nour",
        &years_ago(22),
        "1 place Bellecour",
    )
    .await;
    let j4 = create(&mut cb, "Delorme", "Yanis", &years_ago(19), "5 rue Royale").await;
    let j5 = create(
        &mut cb,
        "Esquirol",
        "Manon",
        &years_ago(21),
        "9 cours Lafayette",
    )
    .await;
    let j6 = create(
        &mut cc,
        "Fabregas",
        "Inès",
        &years_ago(23),
        "2 La Canebière",
    )
    .await;
    assert_eq!(
        a.get(&format!("/api/v1/jeunes/{j4}/dossier")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        cb.get(&format!("/api/v1/jeunes/{j1}")).await.status,
        StatusCode::OK
    );
    // A refused read reveals nothing: c probing an ML-A dossier is not in the report.
    assert_eq!(
        cc.get(&format!("/api/v1/jeunes/{j3}")).await.status,
        StatusCode::NOT_FOUND
    );

    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let tomorrow = (chrono::Utc::now() + chrono::Days::new(1))
        .format("%Y-%m-%d")
        .to_string();
    let yesterday = (chrono::Utc::now() - chrono::Days::new(1))
        .format("%Y-%m-%d")
        .to_string();
    let set = |v: &[&String]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();

    // One account, today.
    let id = ask(
        &mut dpo,
        &mut admin,
        json!({"portee": "comptes", "comptes": "conseiller.a",
        "du": today, "au": today, "motif": "Session de conseiller.a volée (hameçonnage)"}),
    )
    .await;
    assert_eq!(
        a.get(&format!("/api/v1/incidents/{id}")).await.status,
        StatusCode::FORBIDDEN,
        "{b}"
    );
    let rep = dpo.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(rep.status, StatusCode::OK, "{b}: {}", rep.body);
    let rep = rep.json();
    assert_eq!(
        persons(&rep),
        set(&[&j1, &j2, &j3, &j4]),
        "{b}: exactly a's persons"
    );
    assert_eq!(rep["must_inform"], true);
    let letters = rep["letters"].as_array().unwrap();
    let recipients: BTreeSet<&str> = letters
        .iter()
        .map(|l| l["recipient"].as_str().unwrap())
        .collect();
    assert_eq!(
        recipients,
        [
            "Alice Quenardel",
            "Léa Vautrin",
            "Odile Vautrin",
            "Nour Brissac",
            "Yanis Delorme"
        ]
        .into_iter()
        .collect(),
        "{b}: one letter per person, and the minor's mother"
    );
    let mother = letters
        .iter()
        .find(|l| l["recipient"] == "Odile Vautrin")
        .unwrap();
    assert!(mother["quality"]
        .as_str()
        .unwrap()
        .contains("représentant légal (mère) de Léa Vautrin"));
    assert_eq!(mother["address"], "8 quai Perrache, 69002 Lyon");

    // The same through the CLI, into a folder: the documents, rendered.
    let dir = inst.dir.join("incident-a");
    let out = inst.ok(&[
        "incident",
        "rapport",
        "--demande",
        &id,
        "--dossier",
        path(&dir),
    ]);
    assert!(
        out.contains("4 personne(s)") && out.contains("5 lettre(s)"),
        "{b}: {out}"
    );
    let letters_html = std::fs::read_to_string(dir.join("lettres.html")).unwrap();
    for name in [
        "Alice Quenardel",
        "Léa Vautrin",
        "Odile Vautrin",
        "Nour Brissac",
        "Yanis Delorme",
    ] {
        assert!(letters_html.contains(name), "{b}: letter to {name}");
    }
    assert_eq!(
        letters_html.matches("<section class=\"lettre\"").count(),
        5,
        "{b}"
    );
    for absent in ["Esquirol", "Fabregas"] {
        assert!(
            !letters_html.contains(absent),
            "{b}: {absent} was not touched by a"
        );
    }
    assert!(
        letters_html.contains("hameçonnage") || letters_html.contains("méfiez-vous"),
        "{b}"
    );
    let cnil = std::fs::read_to_string(dir.join("notification-cnil.html")).unwrap();
    assert!(
        cnil.contains("<strong>4</strong>") && cnil.contains("dont 1 mineur"),
        "{b}: {cnil}"
    );
    assert!(
        !cnil.contains("Quenardel"),
        "{b}: the CNIL draft names nobody"
    );
    let mailing = std::fs::read_to_string(dir.join("publipostage.csv")).unwrap();
    assert_eq!(
        mailing.lines().count(),
        6,
        "{b}: header and five recipients: {mailing}"
    );
    assert!(
        mailing.contains("Odile Vautrin;représentant légal (mère) de Léa Vautrin"),
        "{b}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("lettres.html"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{b}: the letters are readable by their owner only"
        );
    }

    // A structure, today: every dossier of ML-A that anyone touched, none of ML-B.
    let id = ask(
        &mut dpo,
        &mut admin,
        json!({"portee": "structures", "structures": "ML-A",
        "du": today, "au": today, "motif": "Poste de la Mission Locale A compromis"}),
    )
    .await;
    let rep = dpo.get(&format!("/api/v1/incidents/{id}")).await.json();
    assert_eq!(
        persons(&rep),
        set(&[&j1, &j2, &j3, &j4, &j5]),
        "{b}: exactly ML-A's"
    );

    // A dump of the database taken tomorrow: everyone, encrypted with a key that did not
    // leak — the report says so and does not require letters; taken yesterday: nobody.
    let id = ask(
        &mut dpo,
        &mut admin,
        json!({"portee": "base", "date": tomorrow,
        "motif": "Copie de la base dérobée sur un serveur de sauvegarde"}),
    )
    .await;
    let rep = dpo.get(&format!("/api/v1/incidents/{id}")).await.json();
    assert_eq!(
        persons(&rep),
        set(&[&j1, &j2, &j3, &j4, &j5, &j6]),
        "{b}: every dossier of the dump"
    );
    assert_eq!(rep["must_inform"], false, "{b}");
    assert!(rep["categories"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["protected"] == true));
    let id = ask(
        &mut dpo,
        &mut admin,
        json!({"portee": "base", "date": yesterday, "cle_compromise": "oui",
        "motif": "Copie de la base et de la clé dérobées hier"}),
    )
    .await;
    let rep = dpo.get(&format!("/api/v1/incidents/{id}")).await.json();
    assert!(persons(&rep).is_empty(), "{b}: nothing existed yesterday");

    // The warehouse leaked: everyone it holds, pseudonymised — no letters required.
    let wdir = inst.dir.join("entrepot-fuite");
    inst.ok(&["warehouse", "export", "--out", path(&wdir), "--k", "2"]);
    let mut in_warehouse = BTreeSet::new();
    for v in std::fs::read_dir(&wdir).unwrap().flatten() {
        let f = v.path().join("persons.parquet");
        if f.exists() && v.file_name().to_string_lossy().starts_with("v-") {
            for p in parcours_warehouse::files::read_persons(&f).unwrap() {
                in_warehouse.insert(p.pseudonym.to_string());
            }
        }
    }
    let all = [&j1, &j2, &j3, &j4, &j5, &j6];
    let expected: BTreeSet<String> = all
        .iter()
        .filter(|id| in_warehouse.contains(&app.warehouse_pseudonym(id)))
        .map(|s| s.to_string())
        .collect();
    assert!(!expected.is_empty(), "{b}: the warehouse holds persons");
    let id = ask(
        &mut dpo,
        &mut admin,
        json!({"portee": "entrepot", "entrepot": path(&wdir),
        "motif": "Serveur des tableaux de bord compromis"}),
    )
    .await;
    let rep = dpo.get(&format!("/api/v1/incidents/{id}")).await.json();
    assert_eq!(
        persons(&rep),
        expected,
        "{b}: exactly the warehouse's persons"
    );
    assert_eq!(rep["must_inform"], false, "{b}: pseudonymised");
    // A master-key version leaked (the current one): with any dump, every dossier.
    let id = ask(
        &mut dpo,
        &mut admin,
        json!({"portee": "cle", "version": "1",
        "motif": "Fichier de clé maîtresse copié"}),
    )
    .await;
    let rep = dpo.get(&format!("/api/v1/incidents/{id}")).await.json();
    assert_eq!(
        persons(&rep),
        set(&all),
        "{b}: every dossier of its validity"
    );
    assert_eq!(rep["must_inform"], true, "{b}");

    // A person's access request (Art. 15), about the minor: everything, and who consulted
    // her dossier by role, never by name.
    let r = dpo
        .json(
            Method::POST,
            "/api/v1/acces",
            json!({"dossier": j2,
        "motif": "Courrier de Léa Vautrin du 30/11, identité vérifiée"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{b}: {}", r.body);
    let acc = r.json()["demande"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        dpo.get(&format!("/api/v1/acces/{acc}")).await.status,
        StatusCode::BAD_REQUEST,
        "{b}: not yet approved"
    );
    let ok = admin
        .json(
            Method::POST,
            &format!("/api/v1/demandes/{acc}/approbation"),
            json!({}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{b}: {}", ok.body);
    assert_eq!(
        a.get(&format!("/api/v1/acces/{acc}")).await.status,
        StatusCode::FORBIDDEN,
        "{b}"
    );
    let ex = dpo.get(&format!("/api/v1/acces/{acc}")).await;
    assert_eq!(ex.status, StatusCode::OK, "{b}: {}", ex.body);
    let ex = ex.json();
    assert_eq!(
        (
            ex["dossier"]["nom"].as_str(),
            ex["dossier"]["prenom"].as_str()
        ),
        (Some("Vautrin"), Some("Léa")),
        "{b}"
    );
    assert_eq!(ex["dossier"]["legal_reps"][0]["prenom"], "Odile", "{b}");
    let consultations = ex["consultations"].to_string();
    assert!(
        consultations.contains("\"role\":\"conseiller\""),
        "{b}: {consultations}"
    );
    assert!(
        consultations.contains("jeune.creation")
            && consultations.contains("representant.ajout"),
        "{b}"
    );
    assert!(
        !consultations.contains("conseiller.a"),
        "{b}: no advisor's name: {consultations}"
    );
    let doc = dpo.get(&format!("/acces/{acc}")).await;
    assert_eq!(doc.status, StatusCode::OK, "{b}");
    let text = unescape(&doc.body);
    assert!(
        text.contains("Vautrin") && text.contains("Odile") && text.contains("Consultations"),
        "{b}"
    );
    assert!(!text.contains("conseiller.a"), "{b}");

    // Bad scopes change nothing; each production is audited.
    let r = dpo
        .json(
            Method::POST,
            "/api/v1/incidents",
            json!({"portee": "comptes", "comptes": "inconnu.x",
        "du": today, "au": today, "motif": "essai"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{b}: {}",
        r.body
    );
    let r = dpo
        .json(
            Method::POST,
            "/api/v1/incidents",
            json!({"portee": "comptes", "comptes": "conseiller.a",
        "du": today, "au": yesterday, "motif": "essai à l'envers"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{b}: {}",
        r.body
    );
    let r = a
        .json(
            Method::POST,
            "/api/v1/incidents",
            json!({"portee": "base", "date": today, "motif": "pas DPO"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
    let mut conn = app.internals().store().acquire().await.unwrap();
    let entries = parcours_store::audit::search(&mut conn, Some("dpo.n"), 0, i64::MAX, 1000)
        .await
        .unwrap();
    assert!(
        entries
            .iter()
            .filter(|e| e.action == "incident.rapport" && e.outcome == "ok")
            .count()
            >= 4,
        "{b}: every production is in the audit log"
    );
    assert!(
        entries
            .iter()
            .filter(|e| e.action.starts_with("incident."))
            .all(|e| e.session_ref.is_some()),
        "{b}: with the session's pseudonym"
    );
}
}

/// The pages of issue 18 in headless Chromium: the DPO asks, the administrator approves, the
/// DPO opens the report, the letters and the CNIL draft.
#[test]
fn incident_journey_in_headless_chromium() {
    run_browser_journey("incident.mjs", "incident journey passed");
}
