//! Issue 15 — a stolen session leaks almost nothing: caseloads, counted reads and quotas held
//! in the database, search-first pages, break-glass, canaries, scraping freezes, alerts mailed
//! through a real SMTP server (aiosmtpd), two `parcours serve` processes on one PostgreSQL.

use crate::support::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Common French surnames an attacker would try (the seed draws from the same kind of list).
const SURNAMES: [&str; 40] = [
    "martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand", "leroy",
    "moreau", "simon", "laurent", "lefebvre", "michel", "garcia", "david", "bertrand", "roux",
    "vincent", "fournier", "morel", "girard", "andre", "mercier", "dupont", "lambert", "bonnet",
    "francois", "martinez", "legrand", "garnier", "faure", "rousseau", "blanc", "guerin", "muller",
    "henry", "roussel", "nicolas", "perrin",
];

/// Common French first names, searched by `prenom` when the surnames run out.
const FIRST_NAMES: [&str; 30] = [
    "marie",
    "thomas",
    "lucas",
    "emma",
    "lea",
    "hugo",
    "chloe",
    "louis",
    "manon",
    "jules",
    "camille",
    "nathan",
    "sarah",
    "enzo",
    "ines",
    "theo",
    "jade",
    "nicolas",
    "julie",
    "maxime",
    "clara",
    "antoine",
    "laura",
    "alexandre",
    "pauline",
    "kevin",
    "oceane",
    "mathis",
    "lina",
    "adam",
];

/// A real SMTP server process (tests/smtp/sink.py, aiosmtpd) writing what it receives.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: std::path::PathBuf,
}

impl SmtpSink {
    /// Starts the sink; `None` (with a note) when python3 or aiosmtpd is missing and
    /// PARCOURS_TEST_SMTP is unset. CI sets it (and installs aiosmtpd): there it must start.
    pub fn start() -> Option<SmtpSink> {
        let required = std::env::var("PARCOURS_TEST_SMTP").is_ok();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = std::env::temp_dir().join(parcours_store::testing::unique_name("smtp"));
        let child = Command::new("python3")
            .arg(root.join("tests/smtp/sink.py"))
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                assert!(!required, "python3: {e}");
                parcours_store::testing::skip(
                    "smtp",
                    "alert e-mails through a real SMTP server (python3 missing)",
                );
                return None;
            }
        };
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        match line.trim().strip_prefix("ready ") {
            Some(p) => Some(SmtpSink {
                port: p.parse().unwrap(),
                child,
                dir,
            }),
            None => {
                let _ = child.kill();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                assert!(!required, "SMTP sink did not start: {err}");
                parcours_store::testing::skip(
                    "smtp",
                    "alert e-mails through a real SMTP server (pip install aiosmtpd)",
                );
                None
            }
        }
    }

    /// Every message received so far, as raw text.
    pub fn messages(&self) -> Vec<String> {
        let mut v: Vec<(u64, String)> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .map(|p| {
                        (
                            p.file_stem()
                                .and_then(|s| s.to_str())
                                .and_then(|s| s.parse().ok())
                                .unwrap_or(0),
                            std::fs::read_to_string(&p).unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v.into_iter().map(|(_, m)| m).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `word` appears in `text` as a whole word (a name "Bon" is not in "Bonjour").
fn has_word(text: &str, word: &str) -> bool {
    let t = text.to_lowercase();
    let w = word.to_lowercase();
    t.match_indices(&w).any(|(i, _)| {
        let before = t[..i].chars().next_back();
        let after = t[i + w.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The text of a quoted-printable mail, decoded (soft line breaks, =XX bytes), so that an
/// accented name would be found.
fn decode_mail(raw: &str) -> String {
    let raw = raw.replace("=\r\n", "").replace("=\n", "");
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&raw[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn account_id(app: &parcours_app::App, login: &str) -> i64 {
    let mut conn = app.internals().store().acquire().await.unwrap();
    parcours_store::accounts::by_login(&mut conn, login)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Gives `login` a caseload of `n` dossiers of ML-A. Returns the structure id.
async fn give_caseload(app: &parcours_app::App, login: &str, n: i64) -> i64 {
    let s = app.structure_by_code("ML-A").await.unwrap().unwrap();
    let id = account_id(app, login).await;
    let mut conn = app.internals().store().acquire().await.unwrap();
    let done = parcours_store::jeunes::assign_unreferenced(&mut conn, s.id, id, n)
        .await
        .unwrap();
    assert_eq!(done as i64, n);
    s.id
}

/// Every name the structure holds, by dossier id (decrypted by the test, as ground truth).
async fn all_names(app: &parcours_app::App, structure: i64) -> Vec<(String, String)> {
    let mut conn = app.internals().store().acquire().await.unwrap();
    parcours_store::jeunes::list_recent(&mut conn, structure, i64::MAX, 0)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let d = app.internals().decrypt_row(r).unwrap();
            (d.id, d.identity.nom)
        })
        .collect()
}

async fn caseload_ids(app: &parcours_app::App, structure: i64, login: &str) -> HashSet<String> {
    let id = account_id(app, login).await;
    let mut conn = app.internals().store().acquire().await.unwrap();
    parcours_store::jeunes::caseload(&mut conn, structure, id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// What an attacker saw: persons whose full dossier came back, persons seen in any form.
#[derive(Default, Debug)]
struct Loot {
    full: HashSet<String>,
    any: HashSet<String>,
    requests: usize,
    stopped_by: Option<(StatusCode, String)>,
}

impl Loot {
    fn stop(&mut self, r: &Resp) -> bool {
        if matches!(
            r.status,
            StatusCode::UNAUTHORIZED | StatusCode::LOCKED | StatusCode::FORBIDDEN
        ) {
            self.stopped_by = Some((r.status, r.body.clone()));
            return true;
        }
        false
    }
}

/// The attack of December 2025 with a valid session: list everything, search every common
/// name page after page, open every dossier found (API and pages), try break-glass when
/// refused, probe random ids — as fast as it can, until the session stops working.
async fn attack(c: &mut Client, names: &[(String, String)]) -> Loot {
    let mut loot = Loot::default();
    let mut found: Vec<String> = Vec::new();
    for page in 0..20 {
        let r = c.get(&format!("/api/v1/jeunes?page={page}")).await;
        loot.requests += 1;
        if loot.stop(&r) {
            return loot;
        }
        for d in r.json()["dossiers"].as_array().cloned().unwrap_or_default() {
            let id = d["id"].as_str().unwrap().to_string();
            loot.full.insert(id.clone());
            loot.any.insert(id);
        }
    }
    let mut tried_break_glass = false;
    let queries: Vec<String> = SURNAMES
        .iter()
        .map(|n| format!("nom={n}"))
        .chain(FIRST_NAMES.iter().map(|n| format!("prenom={n}")))
        .collect();
    'outer: for (i, query) in queries.iter().enumerate() {
        for page in 0..5 {
            let r = if i.is_multiple_of(2) {
                c.get(&format!("/api/v1/jeunes/recherche?{query}&page={page}"))
                    .await
            } else {
                c.get(&format!("/recherche?{query}&page={page}")).await
            };
            loot.requests += 1;
            if loot.stop(&r) {
                return loot;
            }
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                if !tried_break_glass {
                    tried_break_glass = true;
                    let b = c
                        .json(
                            Method::POST,
                            "/api/v1/quota/bris-de-glace",
                            json!({"motif": "Remplacement d'une collègue absente aujourd'hui"}),
                        )
                        .await;
                    if loot.stop(&b) {
                        return loot;
                    }
                    continue;
                }
                break 'outer;
            }
            let ids: Vec<String> = if i.is_multiple_of(2) {
                r.json()["dossiers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|d| d["id"].as_str().unwrap().to_string())
                    .collect()
            } else {
                names
                    .iter()
                    .filter(|(id, _)| r.body.contains(&format!("/jeunes/{id}\"")))
                    .map(|(id, _)| id.clone())
                    .collect()
            };
            if ids.is_empty() {
                break;
            }
            for id in ids {
                loot.any.insert(id.clone());
                found.push(id);
            }
        }
        // Open what was found, alternating API and pages.
        while let Some(id) = found.pop() {
            let r = if found.len().is_multiple_of(2) {
                c.get(&format!("/api/v1/jeunes/{id}/dossier")).await
            } else {
                c.get(&format!("/jeunes/{id}")).await
            };
            loot.requests += 1;
            if loot.stop(&r) {
                return loot;
            }
            if r.status == StatusCode::OK {
                loot.full.insert(id.clone());
                loot.any.insert(id);
            } else if r.status == StatusCode::TOO_MANY_REQUESTS && !tried_break_glass {
                tried_break_glass = true;
                let b = c
                    .json(
                        Method::POST,
                        "/api/v1/quota/bris-de-glace",
                        json!({"motif": "Remplacement d'une collègue absente aujourd'hui"}),
                    )
                    .await;
                if loot.stop(&b) {
                    return loot;
                }
            }
        }
    }
    // Id probing: random and sequential-looking ids.
    for _ in 0..30 {
        let r = c
            .get(&format!("/api/v1/jeunes/{}/dossier", uuid::Uuid::new_v4()))
            .await;
        loot.requests += 1;
        if loot.stop(&r) {
            return loot;
        }
    }
    loot
}

async fn configure_smtp(inst: &Instance, sink: &Option<SmtpSink>) {
    if let Some(s) = sink {
        inst.ok(&[
            "alertes",
            "smtp",
            "--relais",
            &format!("127.0.0.1:{}", s.port),
            "--expediteur",
            "alertes@parcours.test",
            "--dpo",
            "dpo@parcours.test",
        ]);
        inst.ok(&[
            "alertes",
            "destinataires",
            "--structure",
            "ML-A",
            "--courriels",
            "direction.a@parcours.test",
        ]);
    }
}

per_backend! {
/// The acceptance attack: a conseiller's stolen session, pages and API as fast as it can, ends
/// having seen at most caseload + quota + break-glass + 1 identities, frozen, alerted, mailed.
#[tokio::test]
async fn a_stolen_session_leaks_a_bounded_number_of_identities(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_user("directrice.a", "directeur", Some("ML-A"));
    inst.ok(&["seed", "--jeunes", "400", "--events", "0", "--seed", "11"]);
    let sink = SmtpSink::start();
    configure_smtp(&inst, &sink).await;
    let app = inst.app().await;
    let structure = give_caseload(&app, "conseiller.a", 8).await;
    inst.ok(&[
        "canaries",
        "add",
        "--structure",
        "ML-A",
        "--count",
        "3",
        "--seed",
        "5",
    ]);
    let names = all_names(&app, structure).await;
    let caseload = caseload_ids(&app, structure, "conseiller.a").await;
    let mut c = Client::new(app.clone());
    c.login("conseiller.a", None, 0).await;
    let quota = c.get("/api/v1/quota").await.json();
    let (limit_points, _) = (quota["limit"].as_i64().unwrap(), ());
    let t = app.thresholds();
    let bg_points = t.break_glass_dossiers * parcours_app::vigilance::WEIGHT_OPENED;
    let loot = attack(&mut c, &names).await;
    app.flush_refusals().await.unwrap();
    let outside_full = loot.full.difference(&caseload).count() as i64;
    let outside_any = loot.any.difference(&caseload).count() as i64;
    eprintln!(
        "{b}: {} requests, {} dossiers opened outside the caseload, {} persons seen in any form; stopped by {:?}",
        loot.requests,
        outside_full,
        outside_any,
        loot.stopped_by.as_ref().map(|s| s.0)
    );
    assert!(
        outside_full <= (limit_points + bg_points) / parcours_app::vigilance::WEIGHT_OPENED + 1,
        "{b}: {outside_full} full dossiers outside the caseload"
    );
    assert!(
        outside_any <= limit_points + bg_points + 1,
        "{b}: {outside_any} persons seen outside the caseload"
    );
    assert!(
        (loot.any.len() as i64) < names.len() as i64 / 4,
        "{b}: the structure did not leave"
    );
    // Frozen: the session is gone, a new login is refused with whom to call.
    let (st, _) = loot.stopped_by.clone().expect("the attack was stopped");
    assert!(
        st == StatusCode::LOCKED || st == StatusCode::UNAUTHORIZED,
        "{b}: {st}"
    );
    assert_eq!(
        c.get("/api/v1/portefeuille").await.status,
        StatusCode::UNAUTHORIZED
    );
    let relog = c
        .json(
            Method::POST,
            "/api/v1/session",
            json!({"identifiant": "conseiller.a", "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(relog.status, StatusCode::LOCKED, "{b}: {}", relog.body);
    assert_eq!(relog.json()["code"], "compte_gele");
    assert!(relog.json()["message"].as_str().unwrap().contains("DPO"));
    // The alert is stored, for the directrice, with evidence and no identity.
    let mut d = Client::new(app.clone());
    d.login("directrice.a", None, 0).await;
    let alerts = d.get("/api/v1/alertes").await.json();
    let list = alerts["alertes"].as_array().unwrap().clone();
    let frozen = list
        .iter()
        .find(|a| a["severity"] == "critique" && a["login"] == "conseiller.a")
        .unwrap_or_else(|| panic!("{b}: critical alert stored: {alerts}"));
    let alert_text = alerts.to_string();
    for (_, nom) in &names {
        assert!(
            !has_word(&alert_text, nom),
            "{b}: an identity in an alert: {nom}"
        );
    }
    // The conseiller may not read alerts.
    let mut other = Client::new(app.clone());
    inst.add_user("conseiller.b", "conseiller", Some("ML-A"));
    other.login("conseiller.b", None, 0).await;
    assert_eq!(
        other.get("/api/v1/alertes").await.status,
        StatusCode::FORBIDDEN
    );
    // Mailed through the real SMTP server.
    if let Some(sink) = &sink {
        // Two instances deliver at once: each alert is mailed once (the claim is atomic).
        let other_instance = inst.app().await;
        let now = chrono::Utc::now().timestamp();
        let (one, two) = tokio::join!(
            app.deliver_alert_mails(now),
            other_instance.deliver_alert_mails(now)
        );
        let ((s1, f1), (s2, f2)) = (one.unwrap(), two.unwrap());
        let (sent, failed) = (s1 + s2, f1 + f2);
        assert!(
            sent >= 1 && failed == 0,
            "{b}: sent {sent}, failed {failed}"
        );
        let mails = sink.messages();
        let stored = d.get("/api/v1/alertes").await.json()["alertes"]
            .as_array()
            .unwrap()
            .len() as u64;
        assert_eq!(sent, stored, "{b}: every alert mailed once");
        assert_eq!(
            mails.len() as u64,
            stored,
            "{b}: the SMTP server received each once"
        );
        let m = mails
            .iter()
            .find(|m| m.contains(frozen["id"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("{b}: the alert's mail was received: {mails:?}"));
        assert!(m.contains("conseiller.a") && m.contains("dpo@parcours.test"));
        assert!(m.contains("direction.a@parcours.test"), "{m}");
        let text = decode_mail(m);
        for (_, nom) in &names {
            assert!(
                !has_word(&text, nom),
                "{b}: an identity in a mail: {nom} in {text}"
            );
        }
        let again = d.get("/api/v1/alertes").await.json();
        assert!(again["alertes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == frozen["id"] && a["mail_status"] == "envoye"));
    }
    // Unfreeze asked by the directrice, with a reason, approved by a second person (four
    // eyes); the owner logs in again with both factors.
    let r = d
        .json(
            Method::POST,
            "/api/v1/comptes/conseiller.a/degel",
            json!({"motif": "Vérifié par téléphone : mot de passe hameçonné, changé"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{b}: {}", r.body);
    let still = c
        .json(
            Method::POST,
            "/api/v1/session",
            json!({"identifiant": "conseiller.a", "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(
        still.status,
        StatusCode::LOCKED,
        "{b}: frozen until approved"
    );
    let r = d
        .json(
            Method::POST,
            &format!(
                "/api/v1/demandes/{}/approbation",
                r.json()["demande"]["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "{b}: the requester cannot approve: {}",
        r.body
    );
    let mut admin = inst.admin_client(app.clone());
    approve(&mut admin, "compte.degel", "conseiller.a").await;
    let relog = c
        .json(
            Method::POST,
            "/api/v1/session",
            json!({"identifiant": "conseiller.a", "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(relog.status, StatusCode::OK, "{b}: {}", relog.body);
    assert_eq!(
        relog.json()["etape"],
        "code",
        "{b}: the second factor is asked again"
    );
    let mut conn = app.internals().store().acquire().await.unwrap();
    let audit = parcours_store::audit::search(&mut conn, None, 0, i64::MAX, 100_000)
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "compte.gel"));
    assert!(audit.iter().any(|e| e.action == "demande.creation"
        && e.actor == "directrice.a"
        && e.fields.contains("type:compte.degel")));
    assert!(audit.iter().any(|e| e.action == "demande.approbation"
        && e.actor == ADMIN
        && e.fields.contains("type:compte.degel")
        && e.fields.contains("demandeur:directrice.a")));
}
}

per_backend! {
/// The quota itself, with the burst rule out of the way: exact counts, 429 with a stable code,
/// break-glass once, the directeur's alert and setting, the caseload always free.
#[tokio::test]
async fn quota_then_break_glass_then_refusal(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_user("directrice.a", "directeur", Some("ML-A"));
    inst.ok(&["seed", "--jeunes", "120", "--events", "0", "--seed", "3"]);
    inst.ok(&["vigilance", "seuils", "--fenetre-dossiers", "1000"]);
    let app = inst.app().await;
    let structure = give_caseload(&app, "conseiller.a", 5).await;
    let caseload = caseload_ids(&app, structure, "conseiller.a").await;
    let outside: Vec<String> = all_names(&app, structure)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| !caseload.contains(id))
        .collect();
    let mut c = Client::new(app.clone());
    c.login("conseiller.a", None, 0).await;
    let q = c.get("/api/v1/quota").await.json();
    // A new account has half of the conseiller's default 40 for its first week.
    assert_eq!(q["daily_dossiers"], 20, "{b}: {q}");
    let mut opened = 0;
    let mut it = outside.iter();
    let refusal = loop {
        let id = it.next().unwrap();
        let r = c.get(&format!("/api/v1/jeunes/{id}")).await;
        if r.status != StatusCode::OK {
            break r;
        }
        opened += 1;
        // Opening it again the same day costs nothing more.
        assert_eq!(
            c.get(&format!("/api/v1/jeunes/{id}")).await.status,
            StatusCode::OK
        );
    };
    assert_eq!(opened, 20, "{b}");
    assert_eq!(refusal.status, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(refusal.json()["code"], "quota_atteint");
    // The page says it in French.
    let page = c.get(&format!("/jeunes/{}", outside[30])).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        unescape(&page.body).contains("bris de glace"),
        "{}",
        page.body
    );
    // The caseload stays readable; search candidates outside it are refused.
    for id in &caseload {
        assert_eq!(
            c.get(&format!("/api/v1/jeunes/{id}/dossier")).await.status,
            StatusCode::OK
        );
    }
    let names = all_names(&app, structure).await;
    let other = names
        .iter()
        .find(|(id, _)| outside[40..].contains(id))
        .unwrap();
    let s = c
        .get(&format!("/api/v1/jeunes/recherche?nom={}", enc(&other.1)))
        .await;
    assert_eq!(s.status, StatusCode::TOO_MANY_REQUESTS, "{b}: {}", s.body);
    // Break-glass: a reason, 10 more at once, once a day.
    let short = c
        .json(
            Method::POST,
            "/api/v1/quota/bris-de-glace",
            json!({"motif": "vite"}),
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bg = c
        .json(
            Method::POST,
            "/api/v1/quota/bris-de-glace",
            json!({"motif": "Remplacement de Mme Durand, absente cette semaine"}),
        )
        .await;
    assert_eq!(bg.status, StatusCode::OK, "{b}: {}", bg.body);
    let mut more = 0;
    for id in &outside[50..] {
        if c.get(&format!("/api/v1/jeunes/{id}")).await.status != StatusCode::OK {
            break;
        }
        more += 1;
    }
    assert_eq!(more, 10, "{b}");
    let again = c
        .json(
            Method::POST,
            "/api/v1/quota/bris-de-glace",
            json!({"motif": "Encore un remplacement aujourd'hui"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{b}: {}", again.body);
    app.flush_refusals().await.unwrap();
    // The directrice sees one quota alert (not one per refusal) and the break-glass to review.
    let mut d = Client::new(app.clone());
    d.login("directrice.a", None, 0).await;
    let a = d.get("/api/v1/alertes").await.json();
    let quota_alerts = a["alertes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "quota" && x["login"] == "conseiller.a")
        .count();
    assert_eq!(quota_alerts, 1, "{b}: {a}");
    assert_eq!(a["bris_de_glace"].as_array().unwrap().len(), 1, "{b}");
    assert!(a["bris_de_glace"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("Mme Durand"));
    let page = d.get("/alertes").await;
    assert!(unescape(&page.body).contains("Quota de lecture atteint"));
    // She reviews the break-glass use, once.
    let bg_id = a["bris_de_glace"][0]["id"].as_str().unwrap().to_string();
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/bris-de-glace/{bg_id}/revu"),
            json!({}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "{b}: not by the conseiller"
    );
    let r = d
        .json(
            Method::POST,
            &format!("/api/v1/bris-de-glace/{bg_id}/revu"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    let r = d
        .json(
            Method::POST,
            &format!("/api/v1/bris-de-glace/{bg_id}/revu"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: already reviewed");
    let a = d.get("/api/v1/alertes").await.json();
    assert_eq!(a["bris_de_glace"][0]["reviewed_by"], "directrice.a");
    // The directrice raises the conseillers' quota: half of 60 for a new account.
    let r = d
        .json(
            Method::POST,
            "/api/v1/quota/reglage",
            json!({"role": "conseiller", "quota": 60}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let bad = d
        .json(
            Method::POST,
            "/api/v1/quota/reglage",
            json!({"role": "pilote", "quota": 60}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(c.get("/api/v1/quota").await.json()["daily_dossiers"], 30);
    let r = c.get(&format!("/api/v1/jeunes/{}", outside[70])).await;
    assert_eq!(r.status, StatusCode::OK, "{b}");
    // A conseiller may not set quotas.
    let r = c
        .json(
            Method::POST,
            "/api/v1/quota/reglage",
            json!({"role": "conseiller", "quota": 2000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The counted reads are rows in the database: (account, day, person), shared by all.
    let mut conn = app.internals().store().acquire().await.unwrap();
    let id = account_id(&app, "conseiller.a").await;
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let used = parcours_store::vigilance::used(&mut conn, id, &day)
        .await
        .unwrap();
    assert_eq!(used, 31 * parcours_app::vigilance::WEIGHT_OPENED, "{b}");
}
}

/// The list shows only the caseload; search needs a criterion, shows a small page of
/// candidates with only nom, initiale, année, commune; every page counts.
#[tokio::test]
async fn search_first_no_bulk_listing() {
    let inst = Instance::new("sqlite").await;
    inst.standard();
    inst.ok(&["seed", "--jeunes", "300", "--events", "0", "--seed", "9"]);
    let app = inst.app().await;
    let structure = give_caseload(&app, "conseiller.a", 7).await;
    let names = all_names(&app, structure).await;
    let mut c = Client::new(app.clone());
    c.login("conseiller.a", None, 0).await;
    let l = c.get("/api/v1/jeunes?page=0").await.json();
    assert_eq!(l["total"], 7, "{l}");
    assert_eq!(
        c.get("/api/v1/jeunes?page=1").await.json()["dossiers"],
        json!([])
    );
    let page = c.get("/jeunes").await;
    assert!(page.body.contains("Mes dossiers") && page.body.contains("7 dossier(s)"));
    let empty = c.get("/api/v1/jeunes/recherche").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The most common surname of the structure, with more than one page of candidates.
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    for (_, n) in &names {
        *counts
            .entry(parcours_domain::normalize::fold(n))
            .or_default() += 1;
    }
    let (common, _) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
    let r = c
        .get(&format!("/api/v1/jeunes/recherche?nom={}", enc(common)))
        .await
        .json();
    let shown = r["dossiers"].as_array().unwrap();
    assert!(shown.len() <= parcours_app::vigilance::SEARCH_PAGE, "{r}");
    let first: &Value = &shown[0];
    assert!(first.get("prenom").is_none() && first.get("date_naissance").is_none());
    assert_eq!(first["initiale"].as_str().unwrap().chars().count(), 1);
    assert!(first["annee_naissance"].as_i64().unwrap() > 1990);
    let q0 = c.get("/api/v1/quota").await.json()["used"]
        .as_i64()
        .unwrap();
    let outside_shown = shown.iter().filter(|d| d["portefeuille"] == false).count() as i64;
    assert_eq!(
        q0,
        outside_shown * parcours_app::vigilance::WEIGHT_CANDIDATE
    );
    if r["pages"].as_i64().unwrap() > 1 {
        let p1 = c
            .get(&format!(
                "/api/v1/jeunes/recherche?nom={}&page=1",
                enc(common)
            ))
            .await
            .json();
        let q1 = c.get("/api/v1/quota").await.json()["used"]
            .as_i64()
            .unwrap();
        assert!(q1 > q0, "paging counts too: {p1}");
    }
    // Walking the names one search after another (even finding nobody) freezes: more than 40
    // searches within 5 minutes.
    let searched_before = if r["pages"].as_i64().unwrap() > 1 {
        2
    } else {
        1
    };
    let mut frozen_at = None;
    for i in 0..60 {
        let r = c
            .get(&format!("/api/v1/jeunes/recherche?nom=zzinconnu{i}"))
            .await;
        if r.status != StatusCode::OK {
            assert_eq!(r.status, StatusCode::LOCKED, "{}", r.body);
            frozen_at = Some(i);
            break;
        }
    }
    assert_eq!(
        frozen_at,
        Some(40 - searched_before),
        "the 41st search of the window freezes"
    );
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    assert!(app
        .list_alerts(&ctx)
        .await
        .unwrap()
        .iter()
        .any(|a| a.kind == "balayage" && a.severity == "critique"));
}

per_backend! {
/// Canaries: created like any dossier, absent from counts, warehouse and batches, and the
/// first read (opened, or listed in search results) outside a caseload freezes.
#[tokio::test]
async fn canaries_freeze_at_first_read_and_are_counted_nowhere(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_user("conseiller.b", "conseiller", Some("ML-A"));
    inst.ok(&["seed", "--jeunes", "30", "--events", "3", "--seed", "4"]);
    let out = inst.ok(&[
        "canaries",
        "add",
        "--structure",
        "ML-A",
        "--count",
        "2",
        "--seed",
        "8",
    ]);
    assert!(out.contains("2 dossier(s) leurre(s)"), "{out}");
    let app = inst.app().await;
    let s = app.structure_by_code("ML-A").await.unwrap().unwrap();
    let mut conn = app.internals().store().acquire().await.unwrap();
    let canaries = app.internals().canary_ids(&mut conn, s.id).await.unwrap();
    drop(conn);
    assert_eq!(canaries.len(), 2, "{b}");
    // The database keeps only keyed tags: no canary id is stored beside a canary marker.
    let mut conn = app.internals().store().acquire().await.unwrap();
    let tags = parcours_store::vigilance::canary_tags(&mut conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(tags.len(), 2);
    for (tag, _) in &tags {
        for id in &canaries {
            assert!(!String::from_utf8_lossy(tag).contains(id.as_str()));
        }
    }
    let mut stored: Vec<Vec<u8>> = tags.into_iter().map(|(t, _)| t).collect();
    let mut expected: Vec<Vec<u8>> = canaries.iter().map(|id| app.canary_tag(id)).collect();
    stored.sort();
    expected.sort();
    assert_eq!(
        stored, expected,
        "{b}: the tags are the keyed tags of the canaries' ids"
    );
    // Counts.
    let st = app.list_structures().await.unwrap();
    assert_eq!(
        st.iter().find(|x| x.code == "ML-A").unwrap().dossiers,
        30,
        "{b}"
    );
    // Warehouse: no person, hence no fact, for a canary; every real dossier is there.
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    let extract = app.warehouse_extract(&ctx, None).await.unwrap();
    let pseudonyms: HashSet<String> = extract
        .persons
        .iter()
        .map(|p| p.pseudonym.clone())
        .collect();
    assert_eq!(pseudonyms.len(), 30, "{b}");
    for id in &canaries {
        assert!(
            !pseudonyms.contains(&app.warehouse_pseudonym(id)),
            "{b}: canary in the warehouse"
        );
    }
    // Opening one freezes at the first read.
    let mut c = Client::new(app.clone());
    c.login("conseiller.a", None, 0).await;
    let r = c
        .get(&format!("/api/v1/jeunes/{}/dossier", canaries[0]))
        .await;
    assert_eq!(r.status, StatusCode::LOCKED, "{b}: {}", r.body);
    assert_eq!(r.json()["code"], "compte_gele");
    assert_eq!(
        c.get("/api/v1/portefeuille").await.status,
        StatusCode::UNAUTHORIZED
    );
    let alerts = app.list_alerts(&ctx).await.unwrap();
    assert!(alerts
        .iter()
        .any(|a| a.kind == "leurre" && a.login == "conseiller.a" && a.severity == "critique"));
    // Listing one in search results freezes too.
    let canary = {
        let mut conn = app.internals().store().acquire().await.unwrap();
        let row = parcours_store::jeunes::get(&mut conn, &canaries[1])
            .await
            .unwrap()
            .unwrap();
        app.internals().decrypt_row(&row).unwrap()
    };
    let mut c2 = Client::new(app.clone());
    c2.login("conseiller.b", None, 0).await;
    let r = c2
        .get(&format!(
            "/api/v1/jeunes/recherche?nom={}&date_naissance={}",
            enc(&canary.identity.nom),
            canary.identity.date_naissance.format("%d/%m/%Y")
        ))
        .await;
    assert_eq!(r.status, StatusCode::LOCKED, "{b}: {}", r.body);
    assert_eq!(
        c2.get("/api/v1/portefeuille").await.status,
        StatusCode::UNAUTHORIZED
    );
}
}

per_backend! {
/// The payment batch's file (names and IBANs): asked for, approved by a second person, taken
/// with a second factor entered in the last 5 minutes and a reason (audited), and once per
/// month and structure: a second download is refused and alerted (docs/SECURITY.md).
#[tokio::test]
async fn the_payment_batch_file_needs_four_eyes_a_fresh_factor_and_leaves_once(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_user("directrice.a", "directeur", Some("ML-A"));
    inst.add_user("dpo.essais", "dpo", None);
    let app = inst.app().await;
    let mut d = Client::new(app.clone());
    let secret = d.login("directrice.a", None, 0).await;
    let mut dpo = Client::new(app.clone());
    dpo.login("dpo.essais", None, 0).await;
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let preview = d
        .get(&format!("/api/v1/allocations/lot?mois={month}"))
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{b}: {}", preview.body);
    assert_eq!(
        d.get(&format!("/api/v1/allocations/lot?mois={month}&format=csv"))
            .await
            .status,
        StatusCode::BAD_REQUEST,
        "{b}: no file by GET"
    );
    let file = json!({"mois": month, "format": "csv", "motif": "versement du mois"});
    // Not asked for: refused.
    let r = d
        .json(
            Method::POST,
            "/api/v1/allocations/lot/fichier",
            file.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
    let r = d
        .json(
            Method::POST,
            "/api/v1/allocations/lot/demande",
            file.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{b}: {}", r.body);
    let id = r.json()["demande"]["id"].as_str().unwrap().to_string();
    // Asked, not approved: refused; the requester cannot approve her own request.
    let r = d
        .json(
            Method::POST,
            "/api/v1/allocations/lot/fichier",
            file.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
    let r = d
        .json(
            Method::POST,
            &format!("/api/v1/demandes/{id}/approbation"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
    approve(&mut dpo, "lot.ibans", &format!("{month}:csv")).await;
    // Approved, but her second factor is older than 5 minutes: refused, and audited.
    inst.sql(&app, "UPDATE sessions SET factor_at = factor_at - 301")
        .await;
    let r = d
        .json(
            Method::POST,
            "/api/v1/allocations/lot/fichier",
            file.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}: {}", r.body);
    assert_eq!(r.json()["code"], "confirmation_requise");
    // Confirmed now, without a reason: refused; with one: served.
    d.confirm(&secret, 1).await;
    let r = d
        .json(
            Method::POST,
            "/api/v1/allocations/lot/fichier",
            json!({"mois": month, "format": "csv"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{b}: {}",
        r.body
    );
    let first = d
        .json(
            Method::POST,
            "/api/v1/allocations/lot/fichier",
            file.clone(),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{b}: {}", first.body);
    assert!(first.body.starts_with('\u{feff}'), "{b}: the CSV");
    // The approval is used: downloading again needs a new request.
    let again = d
        .json(
            Method::POST,
            "/api/v1/allocations/lot/fichier",
            file.clone(),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{b}: {}", again.body);
    {
        let mut conn = app.internals().store().acquire().await.unwrap();
        let log =
            parcours_store::audit::search(&mut conn, Some("directrice.a"), 0, i64::MAX, 1000)
                .await
                .unwrap();
        assert!(
            log.iter().any(|e| e.action == "allocation.lot.fichier"
                && e.outcome == "refus"
                && e.fields == "confirmation_requise"),
            "{b}: the stale factor's refusal is audited"
        );
        assert!(
            log.iter()
                .any(|e| e.action == "confirmation.second_facteur" && e.outcome == "ok"),
            "{b}: the confirmation is audited"
        );
    }
    // A second approved request: the file still leaves once a month (refused, alerted).
    let r = d
        .json(
            Method::POST,
            "/api/v1/allocations/lot/demande",
            file.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{b}: {}", r.body);
    approve(&mut dpo, "lot.ibans", &format!("{month}:csv")).await;
    let second = d
        .json(
            Method::POST,
            "/api/v1/allocations/lot/fichier",
            file.clone(),
        )
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{b}: {}", second.body);
    assert!(second.json()["message"]
        .as_str()
        .unwrap()
        .contains("directrice.a"));
    // The pages share the rule (a third approved request, the page's form).
    let r = d
        .json(
            Method::POST,
            "/api/v1/allocations/lot/demande",
            file.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{b}: {}", r.body);
    approve(&mut dpo, "lot.ibans", &format!("{month}:csv")).await;
    let page = d.get(&format!("/allocations/lot?mois={month}")).await;
    assert!(page.body.contains("Télécharger le fichier CSV"), "{b}");
    let csrf = between(&page.body, "name=\"csrf\" value=\"", "\"");
    let page = d
        .form(
            "/allocations/lot/fichier",
            &[
                ("csrf", &csrf),
                ("mois", &month),
                ("format", "csv"),
                ("motif", "versement du mois"),
                ("confirmer", "oui"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::CONFLICT,
        "{b}: pages share the rule"
    );
    assert!(!page.body.contains("Cochez la confirmation"), "{b}: refused for the step-up, not the box");
    // The preview is still there, as often as needed.
    assert_eq!(
        d.get(&format!("/api/v1/allocations/lot?mois={month}"))
            .await
            .status,
        StatusCode::OK
    );
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    let alerts = app.list_alerts(&ctx).await.unwrap();
    assert_eq!(
        alerts.iter().filter(|a| a.kind == "lot_paiement").count(),
        2,
        "{b}: each refused download alerts"
    );
}
}

/// Every route of the router: any GET that shows an identity of the structure outside the
/// caseload must be in the counted-routes table and must have counted it.
#[tokio::test]
async fn every_route_that_reveals_identities_is_counted() {
    let inst = Instance::new("sqlite").await;
    inst.standard();
    inst.add_user("conseiller.b", "conseiller", Some("ML-A"));
    inst.ok(&[
        "vigilance",
        "seuils",
        "--fenetre-dossiers",
        "1000",
        "--sondes",
        "1000",
    ]);
    let app = inst.app().await;
    // conseiller.b builds a dossier with everything a route can show, in her caseload.
    let mut other = Client::new(app.clone());
    other.login("conseiller.b", None, 0).await;
    let today = chrono::Utc::now().date_naive();
    let ymd = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let birth = today - chrono::Days::new(20 * 365);
    let j = other
        .json(
            Method::POST,
            "/api/v1/jeunes",
            json!({"nom": "Quenardel", "prenom": "Apolline", "date_naissance": ymd(birth), "sexe": "F", "commune": "Lyon"}),
        )
        .await;
    assert_eq!(j.status, StatusCode::CREATED, "{}", j.body);
    let jeune = j.json()["id"].as_str().unwrap().to_string();
    let programme = post_id(
        &mut other,
        &format!("/api/v1/jeunes/{jeune}/dispositifs"),
        json!({"kind": "cej", "date_debut": ymd(today - chrono::Days::new(40)), "situation_fiscale": "non_imposable"}),
    )
    .await;
    let entry = post_id(
        &mut other,
        &format!("/api/v1/jeunes/{jeune}/entrees"),
        json!({"kind": "rdv", "date": ymd(today), "heure": "14:30", "modalite": "visio"}),
    )
    .await;
    let company = post_id(
        &mut other,
        "/api/v1/entreprises",
        json!({"siret": "120 027 016 00019", "nom": "Boulangerie du Vieux-Lyon"}),
    )
    .await;
    let immersion = post_id(
        &mut other,
        &format!("/api/v1/jeunes/{jeune}/immersions"),
        json!({"entreprise": company, "date_debut": ymd(today + chrono::Days::new(7)), "date_fin": ymd(today + chrono::Days::new(14)), "tuteur": "Tuteur Test"}),
    )
    .await;
    let workshop = post_id(
        &mut other,
        "/api/v1/ateliers",
        json!({"intitule": "Atelier CV", "theme": "emploi", "date": ymd(today + chrono::Days::new(3)), "heure": "09:30", "places": "5"}),
    )
    .await;
    let r = other
        .json(
            Method::POST,
            &format!("/api/v1/ateliers/{workshop}/inscriptions"),
            json!({"jeune": jeune}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // conseiller.a walks every route with a GET.
    let mut c = Client::new(app.clone());
    c.login("conseiller.a", None, 0).await;
    let fill = |path: &str| -> String {
        let id = if path.starts_with("/dispositifs") || path.starts_with("/api/v1/dispositifs") {
            programme.clone()
        } else if path.contains("/entrees/") {
            entry.clone()
        } else if path.contains("/entreprises/") {
            company.clone()
        } else if path.contains("/immersions/") {
            immersion.clone()
        } else if path.contains("/ateliers/") {
            workshop.clone()
        } else {
            jeune.clone()
        };
        path.replace("{id}", &id)
            .replace("{n}", "1")
            .replace("{login}", "conseiller.b")
    };
    let listed = |path: &str| {
        parcours_web::IDENTITY_ROUTES.iter().any(|(p, _)| {
            *p == path
                || p.strip_suffix("/*")
                    .is_some_and(|prefix| path.starts_with(&format!("{prefix}/")))
        })
    };
    let paths = parcours_web::route_paths();
    assert!(paths.len() > 60, "the router's own table: {}", paths.len());
    let mut revealing = Vec::new();
    for p in &paths {
        if p == "/deconnexion" || p == "/api/v1/session" {
            continue;
        }
        // Each route starts from an empty day, so that a read counted by an earlier route
        // (same person, same day: free) does not hide a route that counts nothing.
        inst.sql(&app, "DELETE FROM quota_reads").await;
        let before = c.get("/api/v1/quota").await.json()["used"]
            .as_i64()
            .unwrap();
        assert_eq!(before, 0);
        let uri = fill(p);
        let uri = if p.contains("recherche") {
            format!("{uri}?nom=quenardel")
        } else {
            uri
        };
        let r = c.get(&uri).await;
        assert_eq!(
            c.get("/api/v1/quota").await.status,
            StatusCode::OK,
            "{uri}: the session survives the walk"
        );
        if unescape(&r.body).contains("Quenardel") {
            let after = c.get("/api/v1/quota").await.json()["used"]
                .as_i64()
                .unwrap();
            assert!(
                listed(p),
                "{p} shows an identity outside the caseload and is not in IDENTITY_ROUTES"
            );
            assert!(
                after > before,
                "{p} showed an identity outside the caseload without counting it"
            );
            revealing.push(p.clone());
        }
    }
    // The check can fail: these routes did reveal (and count) the dossier.
    for must in [
        "/jeunes/{id}",
        "/api/v1/jeunes/{id}/dossier",
        "/api/v1/jeunes/recherche",
    ] {
        assert!(
            revealing.iter().any(|p| p == must),
            "{must} not seen revealing: {revealing:?}"
        );
    }
}

async fn post_id(c: &mut Client, uri: &str, v: Value) -> String {
    let r = c.json(Method::POST, uri, v).await;
    assert_eq!(r.status, StatusCode::CREATED, "{uri}: {}", r.body);
    r.json()["id"].as_str().unwrap().to_string()
}

per_backend! {
/// Caseloads move between advisors of a structure, with history and audit; the reads follow.
#[tokio::test]
async fn a_dossier_changes_hands_and_its_free_reads_follow(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_user("conseiller.b", "conseiller", Some("ML-A"));
    inst.add_user("conseiller.c", "conseiller", Some("ML-A"));
    inst.add_user("directrice.a", "directeur", Some("ML-A"));
    let app = inst.app().await;
    let mut cb = Client::new(app.clone());
    cb.login("conseiller.b", None, 0).await;
    let birth = (chrono::Utc::now().date_naive() - chrono::Days::new(19 * 365))
        .format("%Y-%m-%d")
        .to_string();
    let id = post_id(
        &mut cb,
        "/api/v1/jeunes",
        json!({"nom": "Vasseur-Ombline", "prenom": "Léonie", "date_naissance": birth, "sexe": "F"}),
    )
    .await;
    let mut ca = Client::new(app.clone());
    ca.login("conseiller.a", None, 0).await;
    let mut cc = Client::new(app.clone());
    cc.login("conseiller.c", None, 0).await;
    // Outside her caseload: counted for conseiller.a.
    assert_eq!(
        ca.get(&format!("/api/v1/jeunes/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(ca.get("/api/v1/quota").await.json()["used"], 4, "{b}");
    // Only the référent (or the direction) hands it over, to an advisor of the structure.
    let r = cc
        .json(
            Method::POST,
            &format!("/api/v1/jeunes/{id}/referent"),
            json!({"conseiller": "conseiller.c"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
    let r = cb
        .json(
            Method::POST,
            &format!("/api/v1/jeunes/{id}/referent"),
            json!({"conseiller": "inconnu.z"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{b}: {}",
        r.body
    );
    let r = cb
        .json(
            Method::POST,
            &format!("/api/v1/jeunes/{id}/referent"),
            json!({"conseiller": "conseiller.a", "motif": "Départ en congé"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    // Now hers: listed in Mes dossiers, read freely; no longer conseiller.b's.
    assert_eq!(ca.get("/api/v1/jeunes").await.json()["total"], 1);
    assert_eq!(cb.get("/api/v1/jeunes").await.json()["total"], 0);
    inst.sql(&app, "DELETE FROM quota_reads").await;
    assert_eq!(
        ca.get(&format!("/api/v1/jeunes/{id}/dossier")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        ca.get("/api/v1/quota").await.json()["used"],
        0,
        "{b}: free in her caseload"
    );
    // The direction may reassign any dossier of the structure; history keeps every change.
    let mut d = Client::new(app.clone());
    d.login("directrice.a", None, 0).await;
    let r = d
        .json(
            Method::POST,
            &format!("/api/v1/jeunes/{id}/referent"),
            json!({"conseiller": "conseiller.c", "motif": "Répartition"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    let h = cc
        .get(&format!("/api/v1/jeunes/{id}/referent/historique"))
        .await
        .json();
    let ch = h["changements"].as_array().unwrap();
    assert_eq!(ch.len(), 2, "{b}: {h}");
    assert_eq!(ch[0]["from"], "conseiller.b");
    assert_eq!(ch[0]["to"], "conseiller.a");
    assert_eq!(ch[0]["reason"], "Départ en congé");
    assert_eq!(ch[1]["by"], "directrice.a");
    let mut conn = app.internals().store().acquire().await.unwrap();
    let audit = parcours_store::audit::search(&mut conn, None, 0, i64::MAX, 10_000)
        .await
        .unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(
                |e| e.action == "jeune.referent" && e.subject.as_deref() == Some(id.as_str())
            )
            .count(),
        2,
        "{b}"
    );
}
}

per_backend! {
/// Every IBAN entered or changed alerts the directrice; the same IBAN for a second dossier is
/// flagged higher, naming the other dossier — never the IBAN (issue 16).
#[tokio::test]
async fn an_iban_given_for_two_dossiers_is_flagged(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_user("directrice.a", "directeur", Some("ML-A"));
    let app = inst.app().await;
    let mut c = Client::new(app.clone());
    c.login("conseiller.a", None, 0).await;
    let birth = (chrono::Utc::now().date_naive() - chrono::Days::new(20 * 365))
        .format("%Y-%m-%d")
        .to_string();
    let mut ids = Vec::new();
    for nom in ["Aubertin", "Bellegarde"] {
        ids.push(
            post_id(
                &mut c,
                "/api/v1/jeunes",
                json!({"nom": nom, "prenom": "Lou", "date_naissance": birth, "sexe": "F"}),
            )
            .await,
        );
    }
    for id in &ids {
        let r = c
            .json(
                Method::PUT,
                &format!("/api/v1/jeunes/{id}/iban"),
                json!({"iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "", "motif": "premier versement"}),
            )
            .await;
        assert!(r.status.is_success(), "{b}: {}", r.body);
    }
    let mut d = Client::new(app.clone());
    d.login("directrice.a", None, 0).await;
    let a = d.get("/api/v1/alertes").await.json();
    let list = a["alertes"].as_array().unwrap();
    let first = list
        .iter()
        .find(|x| x["kind"] == "iban" && x["evidence"]["dossier"] == ids[0].as_str())
        .unwrap_or_else(|| panic!("{b}: {a}"));
    assert_eq!(first["evidence"]["saisie"], "creation");
    let shared = list
        .iter()
        .find(|x| x["kind"] == "iban_partage")
        .unwrap_or_else(|| panic!("{b}: {a}"));
    assert_eq!(shared["severity"], "elevee");
    assert_eq!(shared["evidence"]["dossier"], ids[1].as_str());
    assert_eq!(shared["evidence"]["meme_iban_que"], json!([ids[0]]));
    let text = a.to_string();
    assert!(
        !text.contains("30006000011234567890189") && !text.contains("3456 7890"),
        "{b}: no IBAN in an alert"
    );
}
}

/// The text between `a` and the next `b` in a page.
fn between(s: &str, a: &str, b: &str) -> String {
    let start = s
        .find(a)
        .map(|i| i + a.len())
        .unwrap_or_else(|| panic!("{a} not in page"));
    let end = s[start..].find(b).unwrap() + start;
    s[start..end].to_string()
}

per_backend! {
/// A session opened through the pages that calls the JSON API is held by a script (the pages
/// never call it): frozen at the first call, on both backends.
#[tokio::test]
async fn a_page_session_calling_the_api_freezes(inst) {
    let b = inst.backend;
    inst.standard();
    let app = inst.app().await;
    let mut c = Client::new(app.clone());
    let token = c.take_enrolment_link("conseiller.a").unwrap();
    let page = c.get(&format!("/inscription/{token}")).await;
    let csrf = between(&page.body, "name=\"csrf\" value=\"", "\"");
    let r = c
        .form(
            &format!("/inscription/{token}"),
            &[
                ("mot_de_passe", PASSWORD),
                ("confirmation", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(r.headers["location"], "/connexion/enrolement", "{b}");
    let enrol = c.get("/connexion/enrolement").await;
    let secret = totp_rs::Secret::Encoded(between(&enrol.body, "id=\"secret\">", "<"))
        .to_bytes()
        .unwrap();
    let code =
        parcours_app::auth::totp_code(&secret, chrono::Utc::now().timestamp() as u64).unwrap();
    let csrf = between(&enrol.body, "name=\"csrf\" value=\"", "\"");
    let r = c
        .form("/connexion/enrolement", &[("code", &code), ("csrf", &csrf)])
        .await;
    assert_eq!(r.headers["location"], "/", "{b}");
    assert_eq!(
        c.get("/").await.headers["location"],
        "/portefeuille",
        "{b}: a conseiller's home"
    );
    // The pages work; the API's identity routes freeze at once.
    assert_eq!(c.get("/jeunes").await.status, StatusCode::OK);
    let r = c.get("/api/v1/jeunes").await;
    assert_eq!(r.status, StatusCode::LOCKED, "{b}: {}", r.body);
    assert_eq!(r.json()["code"], "compte_gele");
    let after = c.get("/portefeuille").await;
    assert_eq!(
        after.headers["location"], "/connexion",
        "{b}: the session is gone"
    );
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    assert!(app
        .list_alerts(&ctx)
        .await
        .unwrap()
        .iter()
        .any(|a| a.kind == "canal" && a.login == "conseiller.a" && a.severity == "critique"));
    // A session opened through the API uses the API (and the pages) as before.
    inst.add_user("conseiller.b", "conseiller", Some("ML-A"));
    let mut api = Client::new(app.clone());
    api.login("conseiller.b", None, 0).await;
    assert_eq!(api.get("/api/v1/jeunes").await.status, StatusCode::OK);
    assert_eq!(api.get("/jeunes").await.status, StatusCode::OK);
}
}

/// A minimal HTTP/1.1 GET over a real socket (for the `parcours serve` processes).
async fn http_get(port: u16, path: &str, cookie: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {}={cookie}\r\nConnection: close\r\n\r\n",
        parcours_web::COOKIE_NAME
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (status, body)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Quotas, freezes and session revocation hold across two `parcours serve` processes on one
/// PostgreSQL: the attack split across both gets no more than against one.
#[tokio::test]
async fn two_instances_on_postgres_share_quota_and_freeze() {
    let Some(_) = parcours_store::testing::postgres_base_url() else {
        parcours_store::testing::skip(
            "postgres",
            "two serve instances on one PostgreSQL (set PARCOURS_TEST_POSTGRES_URL)",
        );
        return;
    };
    let inst = Instance::new("postgres").await;
    inst.standard();
    inst.ok(&["seed", "--jeunes", "120", "--events", "0", "--seed", "21"]);
    inst.ok(&["vigilance", "seuils", "--fenetre-dossiers", "1000"]);
    let app = inst.app().await;
    let structure = give_caseload(&app, "conseiller.a", 5).await;
    inst.ok(&[
        "canaries",
        "add",
        "--structure",
        "ML-A",
        "--count",
        "1",
        "--seed",
        "2",
    ]);
    let caseload = caseload_ids(&app, structure, "conseiller.a").await;
    let mut conn = app.internals().store().acquire().await.unwrap();
    let canary = app
        .internals()
        .canary_ids(&mut conn, structure)
        .await
        .unwrap()
        .remove(0);
    drop(conn);
    let outside: Vec<String> = all_names(&app, structure)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| !caseload.contains(id) && *id != canary)
        .collect();
    let ports = [free_port(), free_port()];
    let _servers: Vec<Server> = ports
        .iter()
        .map(|p| {
            Server(
                Command::new(env!("CARGO_BIN_EXE_parcours"))
                    .args(["serve", "--no-warehouse-export"])
                    .env("PARCOURS_DATA_DIR", &inst.dir)
                    .env("PARCOURS_DATABASE_URL", &inst.loc.database_url)
                    .env("PARCOURS_BIND", format!("127.0.0.1:{p}"))
                    .env("PARCOURS_LOG", "warn")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    for p in ports {
        let mut up = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", p))
                .await
                .is_ok()
            {
                up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(up, "serve on {p}");
    }
    // A session opened once is valid on both (sessions live in PostgreSQL).
    let mut c = Client::new(app.clone());
    c.login("conseiller.a", None, 0).await;
    let cookie = c.cookie.clone().unwrap();
    // The attack alternates between the two instances, several requests in flight at once.
    let mut opened = 0;
    let mut refused = 0;
    for chunk in outside.chunks(4).take(10) {
        let mut handles = Vec::new();
        for (i, id) in chunk.iter().enumerate() {
            let port = ports[i % 2];
            let path = format!("/api/v1/jeunes/{id}");
            let cookie = cookie.clone();
            handles.push(tokio::spawn(
                async move { http_get(port, &path, &cookie).await },
            ));
        }
        for h in handles {
            match h.await.unwrap().0 {
                200 => opened += 1,
                429 => refused += 1,
                other => panic!("unexpected status {other}"),
            }
        }
    }
    assert_eq!(
        opened, 20,
        "the new account's quota (20), shared by both instances"
    );
    assert_eq!(refused, 20);
    // The canary on instance A freezes; instance B refuses the same session at once.
    let (st, _) = http_get(ports[0], &format!("/api/v1/jeunes/{canary}"), &cookie).await;
    assert_eq!(st, 423);
    let (st, _) = http_get(ports[1], &format!("/api/v1/jeunes/{}", outside[0]), &cookie).await;
    assert_eq!(st, 401, "the session is revoked on every instance");
    let relog = c
        .json(
            Method::POST,
            "/api/v1/session",
            json!({"identifiant": "conseiller.a", "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(relog.status, StatusCode::LOCKED);
}

/// The pages of issue 15 in headless Chromium: search-first, Mon quota, break-glass, the
/// directrice's review, a freeze by id probing, the login refused, the unfreeze.
#[test]
fn vigilance_journey_in_headless_chromium() {
    run_browser_journey("vigilance.mjs", "vigilance journey passed");
}
