//! Issue #3 — the advisor's daily work through the real API, on both backends: situation with
//! history, legal representatives, timeline, CEJ rules and weeks, allowances and their
//! non-cumulation, IBAN and payment batch (pain.001 checked against the ISO 20022 schema),
//! companies, immersions, workshops, exit, transfer, cross-structure forgery — then the dump of
//! the store is searched for every third-person and free-text value stored.

use axum::http::{Method, StatusCode};
use chrono::{Datelike, Days, Months, NaiveDate, Utc};
use parcours_domain::rules::allowance;
use parcours_domain::vocab::TaxSituation;
use serde_json::{json, Value};

use crate::support::*;

const NOTE: &str = "Zéphyrine évoque un conflit avec son propriétaire Quaresma-Belloc";
const REP: [&str; 4] = [
    "Ottavia",
    "Marchetti-Vasseur",
    "06 71 84 29 53",
    "ottavia.marchetti@exemple-parent.fr",
];
const CONTACT: [&str; 3] = [
    "Gwendal Kerbrat-Oyono",
    "gwendal.kerbrat@exemple-entreprise.fr",
    "07 62 19 48 30",
];
const TUTOR: &str = "Philomène Ardouin-Sablé";
const OBJECTIVES: &str = "Lever le frein du logement chez Mme Yssingeaux-Prévert";
const IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";
const PAYER_IBAN: &str = "FR7630001007941234567890185";

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

async fn create(c: &mut Client, nom: &str, prenom: &str, birth: NaiveDate) -> String {
    let r = c
        .json(
            Method::POST,
            "/api/v1/jeunes",
            json!({"nom": nom, "prenom": prenom, "date_naissance": ymd(birth), "sexe": "F", "commune": "Lyon"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_string()
}

async fn post(c: &mut Client, uri: &str, v: Value, want: StatusCode) -> Value {
    let r = c.json(Method::POST, uri, v).await;
    assert_eq!(r.status, want, "POST {uri}: {}", r.body);
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

async fn put_phase(c: &mut Client, programme: &str, v: Value, want: StatusCode) -> Value {
    post(
        c,
        &format!("/api/v1/dispositifs/{programme}/phases"),
        v,
        want,
    )
    .await
}

async fn put(c: &mut Client, uri: &str, v: Value, want: StatusCode) -> Value {
    let r = c.json(Method::PUT, uri, v).await;
    assert_eq!(r.status, want, "PUT {uri}: {}", r.body);
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

/// Validates a pain.001 document with xmllint against the ISO 20022 schema, when CI provides
/// it (`PARCOURS_TEST_PAIN001_XSD`, fetched by `.ci/run`). Returns whether it validated.
/// The file is written outside the instance's data dir (whose every byte the dump scans).
fn xsd_valid(name: &str, xml: &str) -> Option<bool> {
    let xsd = std::env::var("PARCOURS_TEST_PAIN001_XSD").ok()?;
    let f = std::env::temp_dir().join(parcours_store::testing::unique_name(name));
    std::fs::write(&f, xml).unwrap();
    let o = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", &xsd, f.to_str().unwrap()])
        .output()
        .expect("xmllint (apt-get install libxml2-utils)");
    Some(o.status.success())
}

fn tag<'a>(xml: &'a str, t: &str) -> Vec<&'a str> {
    xml.split(&format!("<{t}>"))
        .skip(1)
        .map(|s| s.split(&format!("</{t}>")).next().unwrap())
        .collect()
}

/// What the phases of the advisor's day share: the instance, the advisor's client, an adult
/// and a minor of her caseload, and what earlier phases created. Each phase is one function,
/// so a failure names the phase; they run in order, on each backend.
struct Day {
    b: &'static str,
    inst: Instance,
    app: std::sync::Arc<parcours_app::App>,
    c: Client,
    today: NaiveDate,
    m0: NaiveDate,
    month: String,
    adult: NaiveDate,
    /// The adult and the minor.
    a: String,
    m: String,
    /// Created by the phases: today's appointment, the CEJ (and its start), a company and an
    /// immersion there, and the other structure's advisor.
    rdv: String,
    start: NaiveDate,
    cej: String,
    co: String,
    im: String,
    /// The workshop, and the Monday of last week (its hours recorded).
    ws: String,
    last_monday: NaiveDate,
    other: Option<Client>,
}

impl Day {
    /// Two structures, a director, a DPO, the paying agency; the advisor logged in with her
    /// two jeunes.
    async fn start(inst: Instance) -> Day {
        let b = inst.backend;
        inst.standard();
        inst.ok(&[
            "structure",
            "add",
            "--code",
            "ML-B",
            "--name",
            "Mission Locale B",
            "--departement",
            "13",
            "--region",
            "Provence-Alpes-Côte d'Azur",
        ]);
        inst.add_user("conseiller.b", "conseiller", Some("ML-B"));
        inst.add_user("directeur.a", "directeur", Some("ML-A"));
        inst.add_user("dpo.essais", "dpo", None);
        inst.ok(&[
            "payer",
            "set",
            "--name",
            "Agence de services et de paiement",
            "--iban",
            PAYER_IBAN,
            "--bic",
            "BDFEFRPPCCT",
        ]);
        let app = inst.app().await;
        let mut c = Client::new(app.clone());
        c.login("conseiller.a", None, 0).await;
        let today = Utc::now().date_naive();
        let m0 = today.with_day(1).unwrap();
        let month = m0.format("%Y-%m").to_string();
        let adult = NaiveDate::from_ymd_opt(today.year() - 20, 3, 15).unwrap();
        let minor = NaiveDate::from_ymd_opt(today.year() - 16, 1, 10).unwrap();
        let a = create(&mut c, "Quintard", "Zéphyrine", adult).await;
        let m = create(&mut c, "Abiven", "Loïc", minor).await;
        Day {
            b,
            inst,
            app,
            c,
            today,
            m0,
            month,
            adult,
            a,
            m,
            rdv: String::new(),
            start: m0,
            cej: String::new(),
            co: String::new(),
            im: String::new(),
            ws: String::new(),
            last_monday: m0,
            other: None,
        }
    }
}

/// Situation with its history (a former level code mapped to the 2019 scale), and the
/// minor's legal representative.
async fn situation_and_representative(d: &mut Day) {
    let a = d.a.clone();
    let m = d.m.clone();
    let c = &mut d.c;
    // Situation with history; a former level code is mapped to the 2019 scale.
    let v1 = put(
        c,
        &format!("/api/v1/jeunes/{a}/situation"),
        json!({"logement": "parents", "niveau": "IV", "rqth": "non"}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(v1["version"], 1);
    let bad = put(
        c,
        &format!("/api/v1/jeunes/{a}/situation"),
        json!({"niveau": "12", "enfants_a_charge": "beaucoup"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad["champs"].as_array().unwrap().len(), 2, "{bad}");
    put(
        c,
        &format!("/api/v1/jeunes/{a}/situation"),
        json!({"logement": "autonome", "niveau": "IV", "rqth": "non", "qpv": "oui"}),
        StatusCode::OK,
    )
    .await;
    let h = c
        .get(&format!("/api/v1/jeunes/{a}/situation/historique"))
        .await
        .json();
    assert_eq!(h["versions"].as_array().unwrap().len(), 2);
    assert_eq!(
        h["versions"][0]["changed_fields"],
        json!(["logement", "qpv"])
    );
    assert_eq!(h["versions"][0]["author"], "conseiller.a");
    assert_eq!(h["versions"][1]["situation"]["niveau"], 4);

    // Legal representative of the minor (a contact is required).
    post(
        c,
        &format!("/api/v1/jeunes/{m}/representants"),
        json!({"lien": "mère", "nom": REP[1], "prenom": REP[0]}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    post(c, &format!("/api/v1/jeunes/{m}/representants"), json!({"lien": "mère", "nom": REP[1], "prenom": REP[0], "telephone": REP[2], "email": REP[3]}), StatusCode::CREATED).await;
}

/// Timeline entries: an interview with a note, today's appointment, bad input refused.
async fn timeline(d: &mut Day) {
    let Day { today, .. } = *d;
    let a = d.a.clone();
    let c = &mut d.c;
    // Timeline: interview with a note, appointment today, proposal; status change.
    post(c, &format!("/api/v1/jeunes/{a}/entrees"), json!({"kind": "entretien_individuel", "date": ymd(today), "theme": "logement", "duree": "45", "note": NOTE}), StatusCode::CREATED).await;
    let rdv = post(
        c,
        &format!("/api/v1/jeunes/{a}/entrees"),
        json!({"kind": "rdv", "date": ymd(today), "heure": "14:30", "modalite": "visio"}),
        StatusCode::CREATED,
    )
    .await;
    let rdv = rdv["id"].as_str().unwrap().to_string();
    post(
        c,
        &format!("/api/v1/jeunes/{a}/entrees"),
        json!({"kind": "note", "date": ymd(today), "note": "x".repeat(4001)}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    put(
        c,
        &format!("/api/v1/entrees/{rdv}/statut"),
        json!({"statut": "accepte", "version": 1}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    d.rdv = rdv.clone();
}

/// CEJ rules (duration, extension with a motivation), a week's hours, the caseload.
async fn cej_and_weeks(d: &mut Day) {
    let Day { today, m0, .. } = *d;
    let a = d.a.clone();
    let rdv = d.rdv.clone();
    let c = &mut d.c;
    // CEJ: the minor of 16 may sign; 12 months by default; 18 only with a motivation.
    let start = m0.checked_sub_months(Months::new(2)).unwrap();
    let cej = post(
        c,
        &format!("/api/v1/jeunes/{a}/dispositifs"),
        json!({"kind": "cej", "date_debut": ymd(start), "situation_fiscale": "non_imposable"}),
        StatusCode::CREATED,
    )
    .await;
    let cej = cej["id"].as_str().unwrap().to_string();
    post(
        c,
        &format!("/api/v1/jeunes/{a}/dispositifs"),
        json!({"kind": "cej", "date_debut": ymd(start), "situation_fiscale": "non_imposable"}),
        StatusCode::CONFLICT,
    )
    .await;
    let m13 = start.checked_add_months(Months::new(12)).unwrap();
    put(
        c,
        &format!("/api/v1/dispositifs/{cej}/fin-prevue"),
        json!({"date_fin": ymd(m13), "version": 1}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let m19 = start.checked_add_months(Months::new(18)).unwrap();
    put(
        c,
        &format!("/api/v1/dispositifs/{cej}/fin-prevue"),
        json!({"date_fin": ymd(m19), "motif": "Formation qualifiante en cours", "version": 1}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    put(c, &format!("/api/v1/dispositifs/{cej}/fin-prevue"), json!({"date_fin": ymd(m19 - Days::new(1)), "motif": "Formation qualifiante en cours", "version": 1}), StatusCode::OK).await;
    // Last week: 15 h planned, 12 h done → 3 h missing, shown in the caseload.
    let last_monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()) + 7);
    let g = put(
        c,
        &format!("/api/v1/dispositifs/{cej}/semaines"),
        json!({"semaine": ymd(last_monday), "prevues": "15", "realisees": "12h"}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(g["missing_minutes"], 180);
    put(
        c,
        &format!("/api/v1/dispositifs/{cej}/semaines"),
        json!({"semaine": ymd(last_monday + Days::new(1)), "prevues": "15"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let cl = c.get("/api/v1/portefeuille").await.json();
    assert_eq!(cl["lines"].as_array().unwrap().len(), 2, "{cl}");
    assert_eq!(cl["appointments_today"][0]["event_id"], rdv.as_str());
    assert_eq!(cl["cej_hours_missing"][0]["missing_minutes"], 180);
    assert!(cl["allowances_to_decide"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["jeune_id"] == a.as_str()));

    d.cej = cej.clone();
    d.start = start;
    d.last_monday = last_monday;
}

/// The month's allowance: the rules' amount with its reasons, the reference period,
/// errors on their fields, a reduction with its motif.
async fn allowances(d: &mut Day) {
    let Day { m0, adult, .. } = *d;
    let a = d.a.clone();
    let month = d.month.clone();
    let c = &mut d.c;
    // Allowance of the month: the rules' amount, shown with its reasons, then decided.
    let expected = allowance::cej_month(
        m0,
        adult,
        TaxSituation::NonImposable,
        &allowance::Resources::default(),
    )
    .unwrap()
    .amount_cents;
    let p = c
        .get(&format!(
            "/api/v1/jeunes/{a}/allocations/calcul?mois={month}&revenus=0"
        ))
        .await
        .json();
    assert_eq!(p["computed_cents"], expected, "{p}");
    assert!(p["steps"].as_array().unwrap().len() >= 3);
    let p301 = c
        .get(&format!(
            "/api/v1/jeunes/{a}/allocations/calcul?mois={month}&revenus=301"
        ))
        .await
        .json();
    assert!(p301["computed_cents"].as_i64().unwrap() < expected);
    // The reference period, month by month: 900 € of wages three months before (300 € a
    // month on average, disregarded) and 60 € of unemployment benefit the month before (20 €
    // a month, deducted in full); a household on RSA gets nothing.
    let calc = |q: &str| format!("/api/v1/jeunes/{a}/allocations/calcul?mois={month}&{q}");
    let p = c.get(&calc("activite_3=900&autres_1=60")).await.json();
    assert_eq!(p["computed_cents"], expected - 2_000, "{p}");
    let p = c.get(&calc("rsa_prime_activite=oui")).await.json();
    assert_eq!(p["computed_cents"], 0, "{p}");
    // Bad input lands on its field; both forms at once are refused.
    let r = c.get(&calc("autres_2=beaucoup")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("autres_2"), "{}", r.body);
    let r = c.get(&calc("activite_1=10&revenus=10")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    post(
        c,
        &format!("/api/v1/jeunes/{a}/allocations"),
        json!({"mois": month, "decision": "suspendue"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // A reduction without motif: the error is on the motif, with the rule's code.
    let r = post(
        c,
        &format!("/api/v1/jeunes/{a}/allocations"),
        json!({"mois": month, "decision": "reduite", "montant_reduit": "100"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        (
            r["champs"][0]["field"].as_str(),
            r["champs"][0]["code"].as_str()
        ),
        (Some("motif"), Some("motif_requis")),
        "{r}"
    );
    let d = post(
        c,
        &format!("/api/v1/jeunes/{a}/allocations"),
        json!({"mois": month, "decision": "attribuee", "revenus": "0"}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(d["amount_cents"], expected);
    post(
        c,
        &format!("/api/v1/jeunes/{a}/allocations"),
        json!({"mois": month, "decision": "attribuee"}),
        StatusCode::CONFLICT,
    )
    .await;
    // A confirmed amount that is not the one the rules give is refused, nothing written (the
    // page's confirmation step sends the amount it showed).
    let r = post(c, &format!("/api/v1/jeunes/{a}/allocations"), json!({"mois": month, "decision": "reduite", "montant_reduit": "100", "motif": "Deux absences non justifiées", "version": 1, "montant_confirme": "99,99"}), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        r["champs"][0]["code"].as_str(),
        Some("montant_change"),
        "{r}"
    );
    let red = post(c, &format!("/api/v1/jeunes/{a}/allocations"), json!({"mois": month, "decision": "reduite", "montant_reduit": "100", "motif": "Deux absences non justifiées", "version": 1, "montant_confirme": "100,00"}), StatusCode::OK).await;
    assert_eq!(
        (red["amount_cents"].as_i64(), red["version"].as_i64()),
        (Some(10_000), Some(2))
    );
    // The replaced decision stays in the month's history, with its amount and who replaced it.
    let v: Value = c.get(&calc("revenus=0")).await.json();
    assert_eq!(v["current"]["version"].as_i64(), Some(2), "{v}");
    let h = &v["history"];
    assert_eq!(h.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        (
            h[0]["version"].as_i64(),
            h[0]["decision"].as_str(),
            h[0]["amount_cents"].as_i64()
        ),
        (Some(1), Some("attribuee"), Some(expected)),
        "{v}"
    );
    assert!(
        h[0]["replaced_by"].as_str().is_some_and(|s| !s.is_empty()),
        "{v}"
    );
}

/// PACEA for the minor and the non-cumulation with a CEJ allowance.
async fn pacea(d: &mut Day) {
    let Day { m0, start, .. } = *d;
    let m = d.m.clone();
    let month = d.month.clone();
    let c = &mut d.c;
    // PACEA for the minor, then a CEJ the same month: the CEJ allowance cannot be added.
    post(
        c,
        &format!("/api/v1/jeunes/{m}/dispositifs"),
        json!({"kind": "pacea", "date_debut": ymd(start)}),
        StatusCode::CREATED,
    )
    .await;
    let dv = c.get(&format!("/api/v1/jeunes/{m}/dossier")).await.json();
    let pacea = dv["programmes"][0]["id"].as_str().unwrap().to_string();
    let v = put_phase(c, &pacea, json!({"date_debut": ymd(start), "date_fin": ymd(start + Days::new(89)), "objectifs": OBJECTIVES, "version": 1}), StatusCode::OK).await;
    put_phase(c, &pacea, json!({"date_debut": ymd(start + Days::new(89)), "date_fin": ymd(start + Days::new(120)), "objectifs": "Phase suivante", "version": v["version"]}), StatusCode::UNPROCESSABLE_ENTITY).await;
    let r = c
        .json(
            Method::PUT,
            &format!("/api/v1/dispositifs/{pacea}/phases/0"),
            json!({"evaluation": "Objectifs atteints, poursuite en formation", "version": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let dv = c.get(&format!("/api/v1/jeunes/{m}/dossier")).await.json();
    assert_eq!(dv["programmes"][0]["phases"][0]["objectifs"], OBJECTIVES);
    assert_eq!(
        dv["programmes"][0]["phases"][0]["evaluation"],
        "Objectifs atteints, poursuite en formation"
    );
    // The CEJ's reference period has no meaning for a PACEA: refused, nothing decided.
    post(
        c,
        &format!("/api/v1/jeunes/{m}/allocations"),
        json!({"mois": month, "decision": "attribuee", "activite_1": "100"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let pac = post(
        c,
        &format!("/api/v1/jeunes/{m}/allocations"),
        json!({"mois": month, "decision": "attribuee", "montant_demande": "200"}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (pac["kind"].as_str(), pac["amount_cents"].as_i64()),
        (Some("pacea"), Some(20_000))
    );
    post(
        c,
        &format!("/api/v1/jeunes/{m}/dispositifs"),
        json!({"kind": "cej", "date_debut": ymd(m0), "situation_fiscale": "imposable_tranche1"}),
        StatusCode::CREATED,
    )
    .await;
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/jeunes/{m}/allocations"),
            json!({"mois": month, "decision": "attribuee", "version": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("pas cumulable"));
}

/// IBAN (sensitive tier) and the payment batch: sums, CSV, pain.001 against its schema.
async fn iban_and_batch(d: &mut Day) {
    let Day { b, .. } = *d;
    let a = d.a.clone();
    let month = d.month.clone();
    let app = d.app.clone();
    let c = &mut d.c;
    // IBAN (sensitive tier): validated, never shown back.
    put(
        c,
        &format!("/api/v1/jeunes/{a}/iban"),
        json!({"iban": "FR76 3000 6000 0112 3456 7890 188", "motif": "premier versement"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    put(
        c,
        &format!("/api/v1/jeunes/{a}/iban"),
        json!({"iban": IBAN, "bic": "AGRIFRPP"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    put(
        c,
        &format!("/api/v1/jeunes/{a}/iban"),
        json!({"iban": IBAN, "bic": "AGRIFRPP", "motif": "premier versement"}),
        StatusCode::ACCEPTED,
    )
    .await;
    let dossier = c.get(&format!("/api/v1/jeunes/{a}/dossier")).await;
    assert!(dossier.json()["bank"]["on_file"].as_bool().unwrap());
    assert!(
        !dossier.body.contains("3456") && !dossier.body.contains("FR76"),
        "IBAN never shown back"
    );
    assert_eq!(dossier.json()["timeline"].as_array().unwrap().len(), 2);
    assert!(
        dossier.body.contains("Quaresma-Belloc"),
        "the note is readable by its advisor"
    );

    // The batch: refused to the advisor, produced for the director; sums and schema.
    assert_eq!(
        c.get(&format!("/api/v1/allocations/lot?mois={month}"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mut dir = Client::new(app.clone());
    dir.login("directeur.a", None, 0).await;
    let mut dpo = Client::new(app.clone());
    dpo.login("dpo.essais", None, 0).await;
    let batch = dir
        .get(&format!("/api/v1/allocations/lot?mois={month}"))
        .await
        .json();
    assert_eq!(batch["total_cents"], 10_000 + 20_000, "{batch}");
    assert_eq!(
        (
            batch["transfers"].as_i64(),
            batch["missing_iban"].as_i64(),
            batch["waiting_iban"].as_i64()
        ),
        (Some(0), Some(2), Some(1)),
        "{b}: the IBAN waits for the directeur's approval"
    );
    approve(&mut dir, "iban", &a).await;
    let batch = dir
        .get(&format!("/api/v1/allocations/lot?mois={month}"))
        .await
        .json();
    assert_eq!(
        (batch["transfers"].as_i64(), batch["missing_iban"].as_i64()),
        (Some(1), Some(1))
    );
    let csv = batch_file(&mut dir, &mut dpo, &month, "csv").await;
    assert!(
        csv.body.starts_with('\u{feff}')
            && csv.body.contains("FR7630006000011234567890189;AGRIFRPP"),
        "{}",
        csv.body
    );
    assert!(csv.body.contains("100,00") && csv.body.contains("200,00"));
    let x = batch_file(&mut dir, &mut dpo, &month, "pain001").await;
    assert_eq!(x.status, StatusCode::OK, "{}", x.body);
    assert_eq!(tag(&x.body, "CtrlSum"), vec!["100.00", "100.00"]);
    assert_eq!(tag(&x.body, "NbOfTxs"), vec!["1", "1"]);
    let amounts: i64 = x
        .body
        .split("<InstdAmt Ccy=\"EUR\">")
        .skip(1)
        .map(|s| {
            let v = s.split('<').next().unwrap();
            (v.parse::<f64>().unwrap() * 100.0).round() as i64
        })
        .sum();
    assert_eq!(
        amounts, 10_000,
        "the transfers sum to the decided amounts with an IBAN"
    );
    assert!(x.body.contains("<Nm>Zephyrine Quintard</Nm>"));
    match xsd_valid("batch.xml", &x.body) {
        Some(ok) => {
            assert!(
                ok,
                "{b}: pain.001 must validate against the XSD:\n{}",
                x.body
            );
            let broken = x
                .body
                .replace("<ChrgBr>SLEV</ChrgBr>", "<ChrgBr>GRATUIT</ChrgBr>");
            assert_eq!(
                xsd_valid("broken.xml", &broken),
                Some(false),
                "the schema check can fail"
            );
        }
        None => parcours_store::testing::skip(
            "xsd",
            "pain.001 against the ISO 20022 schema (set PARCOURS_TEST_PAIN001_XSD; bash .ci/run does)",
        ),
    }
}

/// Companies (SIRET key), encrypted contacts, immersions, hires, a workshop's seats.
async fn companies_and_workshops(d: &mut Day) {
    let Day { today, .. } = *d;
    let a = d.a.clone();
    let m = d.m.clone();
    let c = &mut d.c;
    // Companies: SIRET key checked; contacts encrypted; immersion at most 30 days.
    post(
        c,
        "/api/v1/entreprises",
        json!({"siret": "12002701600018", "nom": "Boulangerie"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let co = post(c, "/api/v1/entreprises", json!({"siret": "120 027 016 00019", "nom": "Boulangerie du Vieux-Lyon", "naf": "1071C", "adresse": "3 rue Saint-Jean, Lyon"}), StatusCode::CREATED).await;
    let co = co["id"].as_str().unwrap().to_string();
    post(
        c,
        "/api/v1/entreprises",
        json!({"siret": "12002701600019", "nom": "Doublon"}),
        StatusCode::CONFLICT,
    )
    .await;
    post(c, &format!("/api/v1/entreprises/{co}/contacts"), json!({"nom": CONTACT[0], "fonction": "Gérant", "email": CONTACT[1], "telephone": CONTACT[2]}), StatusCode::CREATED).await;
    post(
        c,
        &format!("/api/v1/entreprises/{co}/offres"),
        json!({"intitule": "Vendeur en boulangerie", "rome": "D1106", "contrat": "CDD 6 mois"}),
        StatusCode::CREATED,
    )
    .await;
    let s0 = today + Days::new(7);
    post(c, &format!("/api/v1/jeunes/{a}/immersions"), json!({"entreprise": co, "date_debut": ymd(s0), "date_fin": ymd(s0 + Days::new(30)), "tuteur": TUTOR}), StatusCode::UNPROCESSABLE_ENTITY).await;
    let im = post(c, &format!("/api/v1/jeunes/{a}/immersions"), json!({"entreprise": co, "date_debut": ymd(s0), "date_fin": ymd(s0 + Days::new(29)), "rome": "D1106", "tuteur": TUTOR}), StatusCode::CREATED).await;
    let im = im["id"].as_str().unwrap().to_string();
    put(
        c,
        &format!("/api/v1/immersions/{im}/statut"),
        json!({"statut": "realisee", "version": 1}),
        StatusCode::OK,
    )
    .await;
    let cv = c.get(&format!("/api/v1/entreprises/{co}")).await.json();
    assert_eq!(cv["contacts"][0]["email"], CONTACT[1]);
    assert_eq!(cv["immersions"][0]["status"], "realisee");
    // A hire in this company shows on its page (linked to the dossier, no identity).
    post(c, &format!("/api/v1/jeunes/{a}/entrees"), json!({"kind": "situation", "date": ymd(today), "categorie": "emploi", "rome": "D1106", "entreprise": co}), StatusCode::CREATED).await;
    let cv = c.get(&format!("/api/v1/entreprises/{co}")).await.json();
    assert_eq!(cv["placements"][0]["category_label"], "Emploi");
    assert_eq!(cv["placements"][0]["jeune_id"], a.as_str());

    // Workshop with one seat: the second registration is refused.
    let ws = post(c, "/api/v1/ateliers", json!({"intitule": "Atelier CV", "theme": "emploi", "date": ymd(today + Days::new(3)), "heure": "09:30", "places": "1"}), StatusCode::CREATED).await;
    let ws = ws["id"].as_str().unwrap().to_string();
    post(
        c,
        &format!("/api/v1/ateliers/{ws}/inscriptions"),
        json!({"jeune": a}),
        StatusCode::NO_CONTENT,
    )
    .await;
    post(
        c,
        &format!("/api/v1/ateliers/{ws}/inscriptions"),
        json!({"jeune": m}),
        StatusCode::CONFLICT,
    )
    .await;
    post(
        c,
        &format!("/api/v1/ateliers/{ws}/inscriptions"),
        json!({"jeune": a, "statut": "present"}),
        StatusCode::NO_CONTENT,
    )
    .await;

    d.co = co.clone();
    d.im = im.clone();
    d.ws = ws.clone();
}

/// Another structure's advisor forging every id created so far: 404 everywhere.
async fn forged_ids(d: &mut Day) {
    let Day {
        b,
        today,
        last_monday,
        ..
    } = *d;
    let a = d.a.clone();
    let rdv = d.rdv.clone();
    let cej = d.cej.clone();
    let co = d.co.clone();
    let im = d.im.clone();
    let ws = d.ws.clone();
    let app = d.app.clone();
    // Another structure's advisor forging ids: everything answers 404.
    let mut other = Client::new(app.clone());
    other.login("conseiller.b", None, 0).await;
    for (method, uri, body) in [
        (
            Method::GET,
            format!("/api/v1/jeunes/{a}/dossier"),
            json!(null),
        ),
        (
            Method::POST,
            format!("/api/v1/jeunes/{a}/entrees"),
            json!({"kind": "note", "date": ymd(today), "note": "intrusion"}),
        ),
        (
            Method::PUT,
            format!("/api/v1/entrees/{rdv}/statut"),
            json!({"statut": "present", "version": 1}),
        ),
        (
            Method::PUT,
            format!("/api/v1/dispositifs/{cej}/semaines"),
            json!({"semaine": ymd(last_monday), "prevues": "20"}),
        ),
        (
            Method::PUT,
            format!("/api/v1/immersions/{im}/statut"),
            json!({"statut": "annulee", "version": 2}),
        ),
        (
            Method::GET,
            format!("/api/v1/entreprises/{co}"),
            json!(null),
        ),
        (
            Method::POST,
            format!("/api/v1/ateliers/{ws}/inscriptions"),
            json!({"jeune": a}),
        ),
        (
            Method::PUT,
            format!("/api/v1/jeunes/{a}/iban"),
            json!({"iban": IBAN, "motif": "premier versement"}),
        ),
    ] {
        let r = other.json(method, &uri, body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}: {uri}: {}", r.body);
    }

    d.other = Some(other);
}

/// The pages render on this backend; hostile text is shown inert.
async fn pages(d: &mut Day) {
    let Day { b, today, .. } = *d;
    let a = d.a.clone();
    let m = d.m.clone();
    let month = d.month.clone();
    let co = d.co.clone();
    let other = d.other.as_mut().unwrap();
    let c = &mut d.c;
    // The pages render on this backend; hostile text in a note is shown inert.
    post(
        c,
        &format!("/api/v1/jeunes/{a}/entrees"),
        json!({"kind": "note", "date": ymd(today), "note": "<script>alert('x')</script>"}),
        StatusCode::CREATED,
    )
    .await;
    for uri in [
        format!("/jeunes/{a}"),
        format!("/jeunes/{m}"),
        "/portefeuille".to_string(),
        format!("/allocations?mois={month}"),
        format!("/jeunes/{a}/allocation?mois={month}"),
        format!("/jeunes/{a}/situation"),
        format!("/jeunes/{a}/entree?kind=situation"),
        format!("/entreprises/{co}"),
        "/entreprises".to_string(),
        "/ateliers".to_string(),
    ] {
        let r = c.get(&uri).await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {uri}: {}", r.body);
        assert!(
            !r.body.contains("<script>"),
            "{b}: {uri}: script rendered inert"
        );
    }
    let page = c.get(&format!("/jeunes/{a}")).await.body;
    assert!(
        page.contains("&#60;script&#62;") && page.contains("Quaresma-Belloc"),
        "{b}: the note is on the page, escaped"
    );
    assert_eq!(
        other.get(&format!("/jeunes/{a}")).await.status,
        StatusCode::NOT_FOUND,
        "{b}: page of another structure's dossier"
    );
}

/// Exit with the national list; transfer of the minor to ML-B, audited on both sides.
async fn exit_and_transfer(d: &mut Day) {
    let Day { today, .. } = *d;
    let a = d.a.clone();
    let m = d.m.clone();
    let app = d.app.clone();
    let other = d.other.as_mut().unwrap();
    let c = &mut d.c;
    // Exit with the national list: "autre" needs a note; the exit ends running programmes.
    post(
        c,
        &format!("/api/v1/jeunes/{a}/entrees"),
        json!({"kind": "sortie", "date": ymd(today), "categorie": "autre"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    post(
        c,
        &format!("/api/v1/jeunes/{a}/entrees"),
        json!({"kind": "sortie", "date": ymd(today), "categorie": "emploi_durable"}),
        StatusCode::CREATED,
    )
    .await;
    let dv = c.get(&format!("/api/v1/jeunes/{a}/dossier")).await.json();
    assert_eq!(dv["phase"], "sortie");
    assert_eq!(dv["programmes"][0]["status"], "termine");

    // Transfer of the minor to ML-B: audited on both sides; the old advisor loses access.
    post(
        c,
        &format!("/api/v1/jeunes/{m}/transfert"),
        json!({"structure": "ML-B"}),
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(
        c.get(&format!("/api/v1/jeunes/{m}/dossier")).await.status,
        StatusCode::NOT_FOUND
    );
    let moved = other
        .get(&format!("/api/v1/jeunes/{m}/dossier"))
        .await
        .json();
    assert_eq!(
        moved["legal_reps"][0]["nom"], REP[1],
        "history moves with the file"
    );
    assert_eq!(moved["allowances"][0]["kind"], "pacea");
    let mut conn = app.internals().store().acquire().await.unwrap();
    let audit =
        parcours_store::audit::search(&mut conn, Some("conseiller.a"), 0, i64::MAX, 100_000)
            .await
            .unwrap();
    let sides: Vec<(String, Option<i64>)> = audit
        .iter()
        .filter(|e| e.action.starts_with("jeune.transfert"))
        .map(|e| (e.action.clone(), e.structure_id))
        .collect();
    assert_eq!(sides.len(), 2, "{sides:?}");
    assert_ne!(sides[0].1, sides[1].1);
}

/// Every read of personal data audited (P4); the dump holds none of it in clear.
async fn reads_audited_and_dump(d: &mut Day) {
    let Day { b, .. } = *d;
    let a = d.a.clone();
    let m = d.m.clone();
    let co = d.co.clone();
    let app = d.app.clone();
    let inst = &d.inst;
    // The advisor's audit entries, all phases included.
    let mut conn = app.internals().store().acquire().await.unwrap();
    let audit =
        parcours_store::audit::search(&mut conn, Some("conseiller.a"), 0, i64::MAX, 100_000)
            .await
            .unwrap();
    // Every read of the new personal data left its entry (P4): the whole dossier (notes,
    // legal representatives, tutors…), the company's contacts, and each batch line with its
    // IBAN, by the director.
    let has =
        |log: &[parcours_store::audit::AuditRow], action: &str, subject: &str, fields: &str| {
            log.iter().any(|e| {
                e.action == action && e.subject.as_deref() == Some(subject) && e.fields == fields
            })
        };
    assert!(
        has(
            &audit,
            "jeune.lecture",
            &a,
            parcours_app::dossier::VIEW_FIELDS
        ),
        "{b}: dossier read audited"
    );
    assert!(
        has(&audit, "entreprise.contacts.lecture", &co, "contacts"),
        "{b}: contacts read audited"
    );
    let by_director =
        parcours_store::audit::search(&mut conn, Some("directeur.a"), 0, i64::MAX, 100_000)
            .await
            .unwrap();
    for j in [&a, &m] {
        assert!(
            has(
                &by_director,
                "allocation.lot",
                j,
                "nom,prenom,iban,motif:versement du mois"
            ),
            "{b}: batch line audited"
        );
    }
    drop(conn);

    // Dump: no note, legal representative, company contact, tutor or IBAN in clear.
    app.seal_audit(Utc::now()).await.unwrap();
    let dump = String::from_utf8_lossy(&inst.dump()).to_lowercase();
    let digits = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
    };
    let mut needles: Vec<String> = vec![
        "Quaresma-Belloc".into(),
        "Zéphyrine".into(),
        REP[0].into(),
        REP[1].into(),
        REP[3].into(),
        digits(REP[2]),
        parcours_domain::phone::to_e164(REP[2]).unwrap(),
        CONTACT[0].into(),
        CONTACT[1].into(),
        digits(CONTACT[2]),
        TUTOR.into(),
        "Yssingeaux".into(),
        "Ardouin".into(),
        digits(IBAN),
        IBAN.into(),
        "0112 3456".into(),
        "Quintard".into(),
    ];
    needles.extend(needles.clone().iter().map(|n| deunicode::deunicode(n)));
    let found: Vec<&String> = needles
        .iter()
        .filter(|n| dump.contains(&n.to_lowercase()))
        .collect();
    assert!(
        found.is_empty(),
        "{b}: clear values in the store: {found:?}"
    );
    // The scan itself can fail: the payer IBAN (an agency's, stored in clear) is found.
    assert!(
        dump.contains(&PAYER_IBAN.to_lowercase()),
        "{b}: control value found"
    );
}

per_backend! {
#[tokio::test]
async fn daily_work_rules_batch_and_dump(inst) {
    let mut d = Day::start(inst).await;
    situation_and_representative(&mut d).await;
    timeline(&mut d).await;
    cej_and_weeks(&mut d).await;
    allowances(&mut d).await;
    pacea(&mut d).await;
    iban_and_batch(&mut d).await;
    companies_and_workshops(&mut d).await;
    forged_ids(&mut d).await;
    pages(&mut d).await;
    exit_and_transfer(&mut d).await;
    reads_audited_and_dump(&mut d).await;
}
}

/// The browser journeys, in headless Chromium on a demo instance (SQLite).
#[test]
fn daily_work_journeys_in_headless_chromium() {
    run_browser_journey("daily_work.mjs", "daily work journeys passed");
}
