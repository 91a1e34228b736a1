//! Issue 16 — four eyes, enrolment links, step-up: what one person alone must not be able to
//! do, tried by one person alone.

use crate::support::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

async fn ask_account(c: &mut Client, login: &str, structure: &str) -> Resp {
    c.json(
        Method::POST,
        "/api/v1/comptes",
        json!({"identifiant": login, "role": "conseiller", "structure": structure, "motif": "arrivée en décembre"}),
    )
    .await
}

async fn decide(c: &mut Client, id: &str, verb: &str, motif: &str) -> Resp {
    c.json(
        Method::POST,
        &format!("/api/v1/demandes/{id}/{verb}"),
        json!({"motif": motif}),
    )
    .await
}

fn id_of(r: &Resp) -> String {
    r.json()["demande"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no request in {}", r.body))
        .to_string()
}

async fn login_status(app: &std::sync::Arc<parcours_app::App>, login: &str) -> StatusCode {
    Client::new(app.clone())
        .json(
            Method::POST,
            "/api/v1/session",
            json!({"identifiant": login, "mot_de_passe": PASSWORD}),
        )
        .await
        .status
}

per_backend! {
/// Each four-eyes action is refused when approved by the requester, by an account of another
/// structure or without the role, and after expiry; approved once, it happens once.
#[tokio::test]
async fn four_eyes_refuses_alone_elsewhere_and_late_and_happens_once(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_ml_b();
    inst.add_user("directrice.a", "directeur", Some("ML-A"));
    inst.add_user("directeur.a2", "directeur", Some("ML-A"));
    inst.add_user("directeur.b", "directeur", Some("ML-B"));
    let app = inst.app().await;
    let mut da = Client::new(app.clone());
    da.login("directrice.a", None, 0).await;
    let mut da2 = Client::new(app.clone());
    da2.login("directeur.a2", None, 0).await;
    let mut db = Client::new(app.clone());
    db.login("directeur.b", None, 0).await;
    let mut cons = Client::new(app.clone());
    let cons_secret = cons.login("conseiller.a", None, 0).await;

    // A directrice asks for an account of her structure; of another, she may not.
    assert_eq!(
        ask_account(&mut da, "nouveau.b", "ML-B").await.status,
        StatusCode::FORBIDDEN,
        "{b}"
    );
    assert_eq!(
        ask_account(&mut cons, "ami.a", "ML-A").await.status,
        StatusCode::FORBIDDEN,
        "{b}: a conseiller asks for no account"
    );
    let r = ask_account(&mut da, "nouveau.a", "ML-A").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{b}: {}", r.body);
    let id = id_of(&r);
    assert_eq!(
        ask_account(&mut da, "nouveau.a", "ML-A").await.status,
        StatusCode::CONFLICT,
        "{b}: the same request twice"
    );
    assert_eq!(
        login_status(&app, "nouveau.a").await,
        StatusCode::UNAUTHORIZED,
        "{b}: nothing exists before approval"
    );
    // Refused: the requester, another structure's directeur, a conseiller.
    let r = decide(&mut da, &id, "approbation", "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("autre personne"));
    assert_eq!(
        r.json()["regle"],
        "meme_personne",
        "{b}: the rule's stable code"
    );
    assert_eq!(
        decide(&mut db, &id, "approbation", "").await.status,
        StatusCode::FORBIDDEN,
        "{b}: another structure's directeur"
    );
    assert_eq!(
        decide(&mut cons, &id, "approbation", "").await.status,
        StatusCode::FORBIDDEN,
        "{b}: a conseiller"
    );
    // Directeur.b does not even see it.
    let seen = db.get("/api/v1/demandes").await.json();
    assert!(
        !seen.to_string().contains("nouveau.a"),
        "{b}: another structure's requests are not listed: {seen}"
    );
    // The second directrice of the structure approves: the account exists, with a link.
    let r = decide(&mut da2, &id, "approbation", "vu avec elle").await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    let token = r.json()["jeton_inscription"].as_str().unwrap().to_string();
    assert!(r.json()["lien_inscription"]
        .as_str()
        .unwrap()
        .starts_with("/inscription/"));
    // Replayed, refused after approval: nothing more happens.
    let again = decide(&mut da2, &id, "approbation", "").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{b}: {}", again.body);
    assert!(again.json().get("jeton_inscription").is_none());
    assert_eq!(
        decide(&mut da2, &id, "refus", "finalement non")
            .await
            .status,
        StatusCode::CONFLICT
    );
    let mut n = Client::new(app.clone());
    n.enrol(&token, 0).await;
    assert_eq!(n.get("/api/v1/portefeuille").await.status, StatusCode::OK);
    let listed = inst.ok(&["user", "list"]);
    assert_eq!(listed.matches("nouveau.a").count(), 1, "{b}: created once");

    // Expiry: a request older than 72 hours cannot be approved.
    let r = ask_account(&mut da, "tardif.a", "ML-A").await;
    let late = id_of(&r);
    inst.sql(
        &app,
        &format!("UPDATE requests SET expires_at = 1 WHERE id = '{late}'"),
    )
    .await;
    let r = decide(&mut da2, &late, "approbation", "").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{b}: {}", r.body);
    assert!(r.json()["message"].as_str().unwrap().contains("expiré"));
    let list = da2.get("/api/v1/demandes").await.json();
    assert!(list["demandes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == late.as_str() && d["status"] == "expiree"));
    assert_eq!(
        login_status(&app, "tardif.a").await,
        StatusCode::UNAUTHORIZED
    );

    // A refusal needs a reason, and then nothing happens.
    let r = ask_account(&mut da, "refuse.a", "ML-A").await;
    let refused = id_of(&r);
    assert_eq!(
        decide(&mut da2, &refused, "refus", "").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        decide(&mut da2, &refused, "refus", "personne inconnue")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        decide(&mut da2, &refused, "approbation", "").await.status,
        StatusCode::CONFLICT
    );

    // Role change: asked by one, in effect only once approved by another; the account's
    // sessions (with the old rights) end.
    let r = da
        .json(
            Method::POST,
            "/api/v1/comptes/conseiller.a/role",
            json!({"role": "directeur", "structure": "ML-A", "motif": "promotion"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{b}: {}", r.body);
    let role = id_of(&r);
    assert_eq!(
        cons.get("/api/v1/alertes").await.status,
        StatusCode::FORBIDDEN,
        "{b}: still a conseiller"
    );
    assert_eq!(
        decide(&mut cons, &role, "approbation", "").await.status,
        StatusCode::FORBIDDEN,
        "{b}: never the account the request is about"
    );
    let r = da
        .json(
            Method::POST,
            "/api/v1/comptes/conseiller.a/role",
            json!({"role": "admin", "motif": "promotion"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "{b}: a directrice grants no national role: {}",
        r.body
    );
    assert_eq!(
        decide(&mut da2, &role, "approbation", "").await.status,
        StatusCode::OK
    );
    assert_eq!(
        cons.get("/api/v1/portefeuille").await.status,
        StatusCode::UNAUTHORIZED,
        "{b}: sessions with the old rights ended"
    );
    cons.login("conseiller.a", Some(&cons_secret), 1).await;
    assert_eq!(
        cons.get("/api/v1/alertes").await.status,
        StatusCode::OK,
        "{b}: now a directrice"
    );

    // Reset: the old password stops working at approval; a new link, single-use.
    let r = da
        .json(
            Method::POST,
            "/api/v1/comptes/nouveau.a/reinitialisation",
            json!({"motif": "téléphone perdu"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{b}: {}", r.body);
    let reset = id_of(&r);
    assert_eq!(
        login_status(&app, "nouveau.a").await,
        StatusCode::OK,
        "{b}: nothing changes before approval"
    );
    let r = decide(&mut da2, &reset, "approbation", "").await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    let token = r.json()["jeton_inscription"].as_str().unwrap().to_string();
    assert_eq!(
        n.get("/api/v1/portefeuille").await.status,
        StatusCode::UNAUTHORIZED,
        "{b}: her sessions ended"
    );
    assert_eq!(
        login_status(&app, "nouveau.a").await,
        StatusCode::UNAUTHORIZED,
        "{b}: the old password is gone"
    );
    let mut n2 = Client::new(app.clone());
    n2.enrol(&token, 1).await;
    assert_eq!(n2.get("/api/v1/portefeuille").await.status, StatusCode::OK);

    // Every decision is audited with both names.
    let mut conn = app.internals().store().acquire().await.unwrap();
    let audit = parcours_store::audit::search(&mut conn, None, 0, i64::MAX, 100_000)
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "demande.approbation"
        && e.actor == "directeur.a2"
        && e.outcome == "ok"
        && e.fields.contains("demandeur:directrice.a")));
    assert!(audit.iter().any(|e| e.action == "demande.approbation"
        && e.actor == "directrice.a"
        && e.outcome == "refus"));
    assert!(audit
        .iter()
        .any(|e| e.action == "compte.amorcage" && e.actor.starts_with("operateur-cli:")));
}
}

per_backend! {
/// December 2025, replayed: one compromised manager account tries to create two accounts and
/// give them access. Nothing is created without a second person, and the attempt is alerted.
#[tokio::test]
async fn one_compromised_manager_creates_nothing_alone(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_user("gestionnaire", "admin", None);
    inst.add_user("directrice.a", "directeur", Some("ML-A"));
    let app = inst.app().await;
    let mut m = Client::new(app.clone());
    m.login("gestionnaire", None, 0).await;
    let mut ids = Vec::new();
    for login in ["renfort.un", "renfort.deux"] {
        let r = ask_account(&mut m, login, "ML-A").await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{b}: {}", r.body);
        ids.push(id_of(&r));
    }
    // It approves its own requests: refused, each.
    for id in &ids {
        let r = decide(&mut m, id, "approbation", "").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
    }
    // It tries to give them access (a role, a reset for a link): they do not exist.
    for login in ["renfort.un", "renfort.deux"] {
        let r = m
            .json(
                Method::POST,
                &format!("/api/v1/comptes/{login}/reinitialisation"),
                json!({"motif": "accès urgent"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}: {}", r.body);
        assert_eq!(login_status(&app, login).await, StatusCode::UNAUTHORIZED);
    }
    // From the console alone, neither: a request, no account, no password.
    let out = inst.ok(&[
        "user",
        "add",
        "--login",
        "renfort.trois",
        "--role",
        "conseiller",
        "--structure",
        "ML-A",
        "--motif",
        "renfort",
    ]);
    assert!(out.contains("Demande") && !out.contains("/inscription/"));
    let listed = inst.ok(&["user", "list"]);
    assert!(
        !listed.contains("renfort"),
        "{b}: nothing created: {listed}"
    );
    {
        let mut conn = app.internals().store().acquire().await.unwrap();
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE login LIKE 'renfort%'")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        assert_eq!(n, 0, "{b}");
    }
    // The structure's directrice is alerted, higher from the second request of the day.
    let mut d = Client::new(app.clone());
    d.login("directrice.a", None, 0).await;
    let alerts = d.get("/api/v1/alertes").await.json();
    let mine: Vec<&Value> = alerts["alertes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "demande_compte" && a["login"] == "gestionnaire")
        .collect();
    assert_eq!(mine.len(), 2, "{b}: {alerts}");
    assert!(
        mine.iter().any(|a| a["severity"] == "elevee"),
        "{b}: {alerts}"
    );
    // She sees the requests and refuses them.
    for id in &ids {
        let r = decide(&mut d, id, "refus", "personne inconnue de la structure").await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    }
    assert_eq!(
        login_status(&app, "renfort.un").await,
        StatusCode::UNAUTHORIZED
    );
}
}

per_backend! {
/// The enrolment link: single use, 24 hours; no trust on first use; no initial password in any
/// output; the person's own password works.
#[tokio::test]
async fn enrolment_links_are_single_use_expire_and_leave_no_password(inst) {
    let b = inst.backend;
    inst.standard();
    let app = inst.app().await;
    let mut c = Client::new(app.clone());
    let token = c.take_enrolment_link("conseiller.a").unwrap();
    // A password too common is refused, and the link still works after that.
    let r = c
        .json(
            Method::POST,
            "/api/v1/inscription",
            json!({"jeton": token, "mot_de_passe": "motdepasse123"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{b}: {}",
        r.body
    );
    let secret = c.enrol(&token, 0).await;
    // Second use: refused.
    let r = Client::new(app.clone())
        .json(
            Method::POST,
            "/api/v1/inscription",
            json!({"jeton": token, "mot_de_passe": "une autre phrase de passe"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
    // Her own password and code work.
    let mut again = Client::new(app.clone());
    again.login("conseiller.a", Some(&secret), 1).await;
    // A link stopped before the factor: no password login enrols one (no trust on first
    // use).
    inst.add_user("conseiller.c", "conseiller", Some("ML-A"));
    let mut half = Client::new(app.clone());
    let t2 = half.take_enrolment_link("conseiller.c").unwrap();
    let r = half
        .json(
            Method::POST,
            "/api/v1/inscription",
            json!({"jeton": t2, "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    let r = Client::new(app.clone())
        .json(
            Method::POST,
            "/api/v1/session",
            json!({"identifiant": "conseiller.c", "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("inscription n'est pas terminée"));
    // An expired link: refused.
    inst.add_user("conseiller.d", "conseiller", Some("ML-A"));
    let mut late = Client::new(app.clone());
    let t3 = late.take_enrolment_link("conseiller.d").unwrap();
    inst.sql(
        &app,
        "UPDATE enrolment_links SET expires_at = created_at - 1 WHERE used_at IS NULL",
    )
    .await;
    let r = late
        .json(
            Method::POST,
            "/api/v1/inscription",
            json!({"jeton": t3, "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
    assert_eq!(
        late.get(&format!("/inscription/{t3}")).await.status,
        StatusCode::BAD_REQUEST,
        "{b}: the page says so too"
    );
    // No password, no token in clear anywhere the instance keeps.
    app.seal_audit(chrono::Utc::now()).await.unwrap();
    let dump = inst.dump();
    for needle in [PASSWORD, token.as_str(), t2.as_str(), t3.as_str()] {
        assert!(
            !dump.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{b}: {needle} found in the dump"
        );
    }
}
}

per_backend! {
/// The sensitive tier on IBANs: without a second factor in the last 5 minutes, refused and
/// audited; with it and a reason, accepted — and held out of the batch until approved.
#[tokio::test]
async fn an_iban_needs_a_fresh_factor_and_a_second_person(inst) {
    let b = inst.backend;
    inst.standard();
    let app = inst.app().await;
    let mut c = Client::new(app.clone());
    let secret = c.login("conseiller.a", None, 0).await;
    let id = new_jeune(&mut c, "Vasseur", "Inès", "F").await;
    let iban =
        json!({"iban": "FR76 3000 6000 0112 3456 7890 189", "motif": "premier versement"});
    inst.sql(&app, "UPDATE sessions SET factor_at = factor_at - 301")
        .await;
    let r = c
        .json(
            Method::PUT,
            &format!("/api/v1/jeunes/{id}/iban"),
            iban.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}: {}", r.body);
    assert_eq!(r.json()["code"], "confirmation_requise");
    let dossier = c.get(&format!("/api/v1/jeunes/{id}/dossier")).await.json();
    assert_eq!(dossier["bank"]["on_file"], false, "{b}: nothing stored");
    c.confirm(&secret, 1).await;
    let r = c
        .json(
            Method::PUT,
            &format!("/api/v1/jeunes/{id}/iban"),
            iban.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{b}: {}", r.body);
    let dossier = c.get(&format!("/api/v1/jeunes/{id}/dossier")).await.json();
    assert_eq!(dossier["bank"]["waiting"], true, "{b}: {dossier}");
    let mut conn = app.internals().store().acquire().await.unwrap();
    let audit =
        parcours_store::audit::search(&mut conn, Some("conseiller.a"), 0, i64::MAX, 1000)
            .await
            .unwrap();
    assert!(audit.iter().any(|e| e.action == "iban.modification"
        && e.outcome == "refus"
        && e.fields == "confirmation_requise"));
    assert!(audit.iter().any(|e| e.action == "iban.modification"
        && e.outcome == "ok"
        && e.fields.contains("motif:premier versement")));
}
}

per_backend! {
/// The NIR in the sensitive tier: validated (key, Corsica), stored encrypted, shown masked,
/// revealed only with a fresh second factor and a reason, both audited.
#[tokio::test]
async fn a_nir_is_validated_masked_and_revealed_on_demand(inst) {
    // A Corsican NIR (2A) with its key: 97 − (number with 19 for 2A, mod 97).
    let body = "28001".to_string() + "2A" + "123456";
    let n: u64 = body.replace("2A", "19").parse().unwrap();
    let nir = format!("{body}{:02}", 97 - n % 97);
    let b = inst.backend;
    inst.standard();
    let app = inst.app().await;
    let mut c = Client::new(app.clone());
    let secret = c.login("conseiller.a", None, 0).await;
    let id = new_jeune(&mut c, "Santoni", "Lisa", "F").await;
    let uri = format!("/api/v1/jeunes/{id}/nir");
    let wrong_key = format!("{body}{:02}", (97 - n % 97) % 97 + 1);
    let r = c
        .json(
            Method::PUT,
            &uri,
            json!({"nir": wrong_key, "motif": "ouverture de droits"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{b}: {}",
        r.body
    );
    assert!(r.body.contains("clé"), "{b}: {}", r.body);
    let r = c
        .json(
            Method::PUT,
            &uri,
            json!({"nir": nir, "motif": "ouverture de droits"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}: {}", r.body);
    let dossier = c.get(&format!("/api/v1/jeunes/{id}/dossier")).await;
    assert_eq!(dossier.json()["nir"]["on_file"], true, "{b}");
    assert!(
        !dossier.body.contains(&nir[7..13]),
        "{b}: masked in the dossier"
    );
    let page = c.get(&format!("/jeunes/{id}")).await;
    assert!(page.body.contains("• •• •• ••") && !page.body.contains(&nir[7..13]));
    // Revealing: a stale factor is refused, a missing reason too; then shown.
    inst.sql(&app, "UPDATE sessions SET factor_at = factor_at - 301")
        .await;
    let reveal = format!("/api/v1/jeunes/{id}/nir/revelation");
    let r = c
        .json(
            Method::POST,
            &reveal,
            json!({"motif": "dossier France Travail"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}: {}", r.body);
    assert_eq!(r.json()["code"], "confirmation_requise");
    c.confirm(&secret, 1).await;
    let r = c.json(Method::POST, &reveal, json!({})).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{b}: {}",
        r.body
    );
    let r = c
        .json(
            Method::POST,
            &reveal,
            json!({"motif": "dossier France Travail"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    assert_eq!(r.json()["nir"], nir.as_str());
    // Through the page too (the confirmation is still fresh).
    let form = c.get(&format!("/jeunes/{id}/nir/revelation")).await;
    let csrf = form
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let shown = c
        .form(
            &format!("/jeunes/{id}/nir/revelation"),
            &[("csrf", &csrf), ("motif", "attestation demandée")],
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{b}: {}", shown.body);
    assert!(shown
        .body
        .contains(&format!("{} {}", &nir[7..10], &nir[10..13])));
    // Audited with the reasons; never in clear in the database.
    let mut conn = app.internals().store().acquire().await.unwrap();
    let audit =
        parcours_store::audit::search(&mut conn, Some("conseiller.a"), 0, i64::MAX, 1000)
            .await
            .unwrap();
    for (action, outcome, fields) in [
        ("nir.modification", "ok", "nir,motif:ouverture de droits"),
        ("nir.lecture", "refus", "confirmation_requise"),
        ("nir.lecture", "ok", "nir,motif:dossier France Travail"),
        ("nir.lecture", "ok", "nir,motif:attestation demandée"),
    ] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.outcome == outcome && e.fields == fields),
            "{b}: {action} {outcome} {fields}"
        );
    }
    drop(conn);
    app.seal_audit(chrono::Utc::now()).await.unwrap();
    let dump = inst.dump();
    assert!(
        !dump.windows(nir.len()).any(|w| w == nir.as_bytes()),
        "{b}: the NIR in clear in the dump"
    );
}
}

/// Passkeys: registration, login without a code, a structure requiring them, revocation — in
/// headless Chromium with a virtual authenticator (tests/browser/passkeys.mjs).
#[test]
fn passkeys_journey_in_headless_chromium() {
    run_browser_journey("passkeys.mjs", "passkeys journey passed");
}

per_backend! {
/// Every kind of request, the same three refusals: its requester, a directeur of another
/// structure, and anyone after expiry (the December 2025 lesson applies to each of them).
#[tokio::test]
async fn every_kind_of_request_refuses_its_requester_another_structure_and_late_approval(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_ml_b();
    inst.add_user("directrice.a", "directeur", Some("ML-A"));
    inst.add_user("directeur.a2", "directeur", Some("ML-A"));
    inst.add_user("directeur.b", "directeur", Some("ML-B"));
    inst.add_user("conseiller.gel", "conseiller", Some("ML-A"));
    let app = inst.app().await;
    let mut da = Client::new(app.clone());
    da.login("directrice.a", None, 0).await;
    let mut db = Client::new(app.clone());
    db.login("directeur.b", None, 0).await;
    let mut da2 = Client::new(app.clone());
    da2.login("directeur.a2", None, 0).await;
    let mut cons = Client::new(app.clone());
    cons.login("conseiller.a", None, 0).await;
    Client::new(app.clone())
        .login("conseiller.gel", None, 0)
        .await;
    // A dossier for the IBAN, a frozen account for the unfreeze.
    let jeune = new_jeune(&mut cons, "Quémeneur", "Aël", "M").await;
    inst.sql(
        &app,
        "UPDATE accounts SET frozen_at = 1, frozen_reason = 'essai' WHERE login = 'conseiller.gel'",
    )
    .await;
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let asks: Vec<(&str, Method, String, Value)> = vec![
        (
            "compte.creation",
            Method::POST,
            "/api/v1/comptes".into(),
            json!({"identifiant": "nouvelle.a", "role": "conseiller", "structure": "ML-A", "motif": "arrivée"}),
        ),
        (
            "compte.role",
            Method::POST,
            "/api/v1/comptes/conseiller.a/role".into(),
            json!({"role": "directeur", "structure": "ML-A", "motif": "promotion"}),
        ),
        (
            "compte.reinitialisation",
            Method::POST,
            "/api/v1/comptes/conseiller.a/reinitialisation".into(),
            json!({"motif": "téléphone perdu"}),
        ),
        (
            "compte.degel",
            Method::POST,
            "/api/v1/comptes/conseiller.gel/degel".into(),
            json!({"motif": "vérifié par téléphone"}),
        ),
        (
            "iban",
            Method::PUT,
            format!("/api/v1/jeunes/{jeune}/iban"),
            json!({"iban": "FR76 3000 6000 0112 3456 7890 189", "motif": "premier versement"}),
        ),
        (
            "lot.ibans",
            Method::POST,
            "/api/v1/allocations/lot/demande".into(),
            json!({"mois": month, "format": "csv", "motif": "versement du mois"}),
        ),
    ];
    for (kind, method, uri, body) in asks {
        let r = da.json(method, &uri, body).await;
        assert!(r.status.is_success(), "{b}: {kind}: {}", r.body);
    }
    let list = da2.get("/api/v1/demandes").await.json();
    let pending: Vec<(String, String)> = list["demandes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "en_attente" && d["requested_by"] == "directrice.a")
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_string(),
                d["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let kinds: std::collections::BTreeSet<&str> =
        pending.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds.len(), 6, "{b}: one request of each kind: {kinds:?}");
    for (kind, id) in &pending {
        let r = decide(&mut da, id, "approbation", "").await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{b}: {kind} by its requester: {}",
            r.body
        );
        let r = decide(&mut db, id, "approbation", "").await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{b}: {kind} by another structure: {}",
            r.body
        );
    }
    inst.sql(&app, "UPDATE requests SET expires_at = 1").await;
    for (kind, id) in &pending {
        let r = decide(&mut da2, id, "approbation", "").await;
        assert_eq!(
            r.status,
            StatusCode::CONFLICT,
            "{b}: {kind} after expiry: {}",
            r.body
        );
    }
    // Nothing happened: no account, no role, the freeze holds, the IBAN waits.
    assert_eq!(
        login_status(&app, "nouvelle.a").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        cons.get("/api/v1/alertes").await.status,
        StatusCode::FORBIDDEN,
        "{b}: still a conseiller"
    );
    assert_eq!(
        login_status(&app, "conseiller.gel").await,
        StatusCode::LOCKED
    );
    let d = cons
        .get(&format!("/api/v1/jeunes/{jeune}/dossier"))
        .await
        .json();
    assert_eq!(d["bank"]["waiting"], true, "{b}");
}
}
