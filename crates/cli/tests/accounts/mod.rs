//! Issue 16 (first piece) — login throttling that cannot lock everyone out: trusted proxies,
//! per-address slowdown instead of refusal, attempts counted before they are checked.

mod four_eyes;

use crate::support::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use tower::ServiceExt;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 POST of JSON over a real socket: (status, body, the session cookie set).
async fn post_json(
    port: u16,
    path: &str,
    body: &serde_json::Value,
    cookie: Option<&str>,
    forwarded_for: &str,
) -> (u16, String, Option<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: {}={c}\r\n", parcours_web::COOKIE_NAME))
        .unwrap_or_default();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nX-Forwarded-For: {forwarded_for}\r\n{cookie}Connection: close\r\n\r\n{body}",
        body.len()
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
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let set = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .and_then(|l| {
            l.split_once('=')
                .map(|x| x.1.split(';').next().unwrap_or("").to_string())
        });
    (status, body.to_string(), set)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

per_backend! {
/// Behind a configured proxy, 1,000 bad logins from one address for other logins do not stop
/// a user of the same address who types the right password and code (the real server).
#[tokio::test]
async fn a_thousand_bad_logins_behind_the_proxy_do_not_lock_a_user_out(inst) {
    let b = inst.backend;
    inst.standard();
    let app = inst.app().await;
    let mut c = Client::new(app.clone());
    let secret = c.login("conseiller.a", None, 0).await;
    let port = free_port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_parcours"))
            .args(["serve", "--no-warehouse-export"])
            .env("PARCOURS_DATA_DIR", &inst.dir)
            .env("PARCOURS_BIND", format!("127.0.0.1:{port}"))
            .env("PARCOURS_TRUSTED_PROXIES", "127.0.0.1")
            .env("PARCOURS_LOG", "warn")
            .envs(
                inst.pg
                    .as_ref()
                    .map(|_| ("PARCOURS_DATABASE_URL", inst.loc.database_url.clone())),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    const OFFICE: &str = "203.0.113.7";
    let mut statuses = std::collections::BTreeMap::new();
    for chunk in (0..1000).collect::<Vec<_>>().chunks(16) {
        let mut hs = Vec::new();
        for i in chunk {
            let body =
                json!({"identifiant": format!("inconnu.{i}"), "mot_de_passe": "mauvais"});
            hs.push(tokio::spawn(async move {
                post_json(port, "/api/v1/session", &body, None, OFFICE)
                    .await
                    .0
            }));
        }
        for h in hs {
            *statuses.entry(h.await.unwrap()).or_insert(0) += 1;
        }
    }
    assert_eq!(
        statuses.get(&401),
        Some(&1000),
        "{b}: every bad login refused as such: {statuses:?}"
    );
    // The user of the same office address logs in: password, then code.
    let (st, body, cookie) = post_json(
        port,
        "/api/v1/session",
        &json!({"identifiant": "conseiller.a", "mot_de_passe": PASSWORD}),
        None,
        OFFICE,
    )
    .await;
    assert_eq!(st, 200, "{b}: {body}");
    let code =
        parcours_app::auth::totp_code(&secret, (chrono::Utc::now().timestamp() + 30) as u64)
            .unwrap();
    let (st, body, _) = post_json(
        port,
        "/api/v1/session/code",
        &json!({"code": code}),
        cookie.as_deref(),
        OFFICE,
    )
    .await;
    assert_eq!(st, 200, "{b}: {body}");
    // The proxy's header counts only from the proxy: the failures were the office's, not
    // everyone's behind 127.0.0.1 — and not the user's login's.
    let mut conn = app.internals().store().acquire().await.unwrap();
    let now = chrono::Utc::now().timestamp();
    let office = app.internals().keys().pseudonym("client", OFFICE);
    let n = parcours_store::accounts::throttle_count(&mut conn, &office, now, 900)
        .await
        .unwrap();
    assert_eq!(n, 1000, "{b}");
    let local = app.internals().keys().pseudonym("client", "127.0.0.1");
    assert_eq!(
        parcours_store::accounts::throttle_count(&mut conn, &local, now, 900)
            .await
            .unwrap(),
        0,
        "{b}"
    );
}
}

per_backend! {
/// 200 parallel wrong codes on one session record 200 attempts and none passes; the right
/// code is then refused too (the window's places are taken).
#[tokio::test]
async fn parallel_code_guesses_are_all_counted_and_none_passes(inst) {
    let b = inst.backend;
    inst.standard();
    let app = inst.app().await;
    let mut c = Client::new(app.clone());
    let secret = c.login("conseiller.a", None, 0).await;
    // A new login: password, then 200 wrong codes at once.
    let mut c = Client::new(app.clone());
    let r = c
        .json(
            axum::http::Method::POST,
            "/api/v1/session",
            json!({"identifiant": "conseiller.a", "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    let cookie = c.cookie.clone().unwrap();
    let right =
        parcours_app::auth::totp_code(&secret, (chrono::Utc::now().timestamp() + 30) as u64)
            .unwrap();
    let mut hs = Vec::new();
    for i in 0..200u32 {
        let router = c.router.clone();
        let cookie = cookie.clone();
        let mut wrong = format!("{:06}", (i * 7919) % 1_000_000);
        if wrong == right {
            wrong = "000000".into();
        }
        hs.push(tokio::spawn(async move {
            let req = Request::builder()
                .method("POST")
                .uri("/api/v1/session/code")
                .header("content-type", "application/json")
                .header("cookie", format!("{}={cookie}", parcours_web::COOKIE_NAME))
                .body(Body::from(json!({"code": wrong}).to_string()))
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        }));
    }
    let mut passed = 0;
    for h in hs {
        if h.await.unwrap() == StatusCode::OK {
            passed += 1;
        }
    }
    assert_eq!(passed, 0, "{b}");
    let mut conn = app.internals().store().acquire().await.unwrap();
    let n = parcours_store::accounts::throttle_count(
        &mut conn,
        &app.internals().keys().login_key("conseiller.a"),
        chrono::Utc::now().timestamp(),
        900,
    )
    .await
    .unwrap();
    assert_eq!(
        n, 200,
        "{b}: every guess took its place before being checked"
    );
    drop(conn);
    // Even the right code is refused now.
    let r = c
        .json(
            axum::http::Method::POST,
            "/api/v1/session/code",
            json!({"code": right}),
        )
        .await;
    assert_ne!(r.status, StatusCode::OK, "{b}: {}", r.body);
}
}

per_backend! {
/// Mon compte: one's sessions listed and ended, one's password changed (length, common
/// passwords, the current one asked again; the other sessions end); a directrice disables,
/// re-enables an advisor and ends all her sessions, on every instance at once.
#[tokio::test]
async fn an_account_manages_its_sessions_and_password_and_a_directrice_hers(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_user("directrice.a", "directeur", Some("ML-A"));
    inst.add_user("conseiller.z", "conseiller", Some("ML-A"));
    let app = inst.app().await;
    let mut one = Client::new(app.clone());
    let secret = one.login("conseiller.a", None, 0).await;
    let mut two = Client::new(app.clone());
    two.login("conseiller.a", Some(&secret), 1).await;
    let list = one.get("/api/v1/compte/sessions").await.json();
    let sessions = list["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{b}: {list}");
    let other = sessions.iter().find(|s| s["current"] == false).unwrap();
    let id = other["id"].as_str().unwrap();
    let r = one
        .send(
            axum::http::Method::DELETE,
            &format!("/api/v1/compte/sessions/{id}"),
            None,
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}: {}", r.body);
    assert_eq!(
        two.get("/api/v1/portefeuille").await.status,
        StatusCode::UNAUTHORIZED
    );
    // Password: refused when short, common, containing the login, or with a wrong current one.
    for (actuel, nouveau, field) in [
        (PASSWORD, "court", "nouveau"),
        (PASSWORD, "motdepasse123", "nouveau"),
        (PASSWORD, "conseiller.a-et-la-suite", "nouveau"),
        (
            "pas-le-bon-mot-de-passe",
            "Une phrase assez longue pour passer",
            "actuel",
        ),
    ] {
        let r = one
            .json(
                axum::http::Method::POST,
                "/api/v1/compte/mot-de-passe",
                json!({"actuel": actuel, "nouveau": nouveau}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{b}: {nouveau}: {}",
            r.body
        );
        assert_eq!(r.json()["champs"][0]["field"], field, "{b}: {}", r.body);
    }
    // A session waiting for its code is a session of the account too (one more TOTP step
    // would be outside the ±1 window of this test's minute).
    let mut three = Client::new(app.clone());
    let r = three
        .json(
            axum::http::Method::POST,
            "/api/v1/session",
            json!({"identifiant": "conseiller.a", "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    let count = |v: serde_json::Value| v["sessions"].as_array().unwrap().len();
    assert_eq!(
        count(one.get("/api/v1/compte/sessions").await.json()),
        2,
        "{b}"
    );
    let new_password = "Le chat de la voisine dort au soleil";
    let r = one
        .json(
            axum::http::Method::POST,
            "/api/v1/compte/mot-de-passe",
            json!({"actuel": PASSWORD, "nouveau": new_password}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}: {}", r.body);
    assert_eq!(
        one.get("/api/v1/portefeuille").await.status,
        StatusCode::OK,
        "{b}: this session stays"
    );
    assert_eq!(
        count(one.get("/api/v1/compte/sessions").await.json()),
        1,
        "{b}: the others end"
    );
    let old = Client::new(app.clone())
        .json(
            axum::http::Method::POST,
            "/api/v1/session",
            json!({"identifiant": "conseiller.a", "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(
        old.status,
        StatusCode::UNAUTHORIZED,
        "{b}: the old password is gone"
    );
    let mut fresh = Client::new(app.clone());
    let r = fresh
        .json(
            axum::http::Method::POST,
            "/api/v1/session",
            json!({"identifiant": "conseiller.a", "mot_de_passe": new_password}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    // The directrice disables conseiller.z (sessions end at once), then re-enables her.
    let mut z = Client::new(app.clone());
    z.login("conseiller.z", None, 0).await;
    let mut d = Client::new(app.clone());
    d.login("directrice.a", None, 0).await;
    let r = d
        .json(
            axum::http::Method::POST,
            "/api/v1/comptes/conseiller.z/desactivation",
            json!({"motif": "Fin de contrat"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    assert_eq!(
        z.get("/api/v1/portefeuille").await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = Client::new(app.clone())
        .json(
            axum::http::Method::POST,
            "/api/v1/session",
            json!({"identifiant": "conseiller.z", "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "{b}: a disabled account cannot log in"
    );
    let r = d
        .json(
            axum::http::Method::POST,
            "/api/v1/comptes/conseiller.z/reactivation",
            json!({"motif": "Contrat prolongé"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    // Not her own account, not a conseiller's right.
    let r = d
        .json(
            axum::http::Method::POST,
            "/api/v1/comptes/directrice.a/desactivation",
            json!({"motif": "Essai sur soi"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
    let r = fresh
        .json(
            axum::http::Method::POST,
            "/api/v1/comptes/conseiller.z/sessions/revocation",
            json!({}),
        )
        .await;
    assert_ne!(
        r.status,
        StatusCode::OK,
        "{b}: a conseiller manages no account"
    );
    let mut conn = app.internals().store().acquire().await.unwrap();
    let audit = parcours_store::audit::search(&mut conn, None, 0, i64::MAX, 100_000)
        .await
        .unwrap();
    for action in [
        "compte.desactivation",
        "compte.reactivation",
        "compte.mot_de_passe",
        "compte.session.fin",
    ] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.outcome == "ok"),
            "{b}: {action} audited"
        );
    }
}
}

per_backend! {
/// Accounts idle beyond the instance's limit are disabled at their next attempt, with whom to
/// ask; re-enabled, the clock starts again. The directrice reads an advisor's recent activity.
#[tokio::test]
async fn idle_accounts_expire_and_a_directrice_reads_an_advisors_activity(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_user("directrice.a", "directeur", Some("ML-A"));
    let out = inst.ok(&["user", "expiration", "--jours", "30"]);
    assert!(out.contains("30 jours"), "{out}");
    let app = inst.app().await;
    let mut c = Client::new(app.clone());
    let secret = c.login("conseiller.a", None, 0).await;
    assert_eq!(c.get("/api/v1/portefeuille").await.status, StatusCode::OK);
    // Her activity, for her directrice (not for herself through this route, not for others).
    let mut d = Client::new(app.clone());
    d.login("directrice.a", None, 0).await;
    let a = d.get("/api/v1/comptes/conseiller.a/activite").await;
    assert_eq!(a.status, StatusCode::OK, "{b}: {}", a.body);
    let lines = a.json()["activite"].as_array().unwrap().clone();
    assert!(
        lines.iter().any(|l| l["action"] == "jeune.portefeuille"
            || l["action"] == "connexion.second_facteur"
            || l["action"] == "enrolement.second_facteur"),
        "{b}: {lines:?}"
    );
    assert_eq!(
        c.get("/api/v1/comptes/directrice.a/activite").await.status,
        StatusCode::FORBIDDEN
    );
    // Forty days without a login.
    let forty = chrono::Utc::now().timestamp() - 40 * 86_400;
    inst.sql(
        &app,
        &format!("UPDATE accounts SET last_login_at = {forty} WHERE login = 'conseiller.a'"),
    )
    .await;
    let r = Client::new(app.clone())
        .json(
            axum::http::Method::POST,
            "/api/v1/session",
            json!({"identifiant": "conseiller.a", "mot_de_passe": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("expiré après 30 jours"),
        "{}",
        r.body
    );
    assert_eq!(
        c.get("/api/v1/portefeuille").await.status,
        StatusCode::UNAUTHORIZED,
        "{b}: sessions ended"
    );
    let r = d
        .json(
            axum::http::Method::POST,
            "/api/v1/comptes/conseiller.a/reactivation",
            json!({"motif": "Retour de congé"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
    let mut again = Client::new(app.clone());
    again.login("conseiller.a", Some(&secret), 1).await;
    assert_eq!(
        again.get("/api/v1/portefeuille").await.status,
        StatusCode::OK,
        "{b}"
    );
}
}
