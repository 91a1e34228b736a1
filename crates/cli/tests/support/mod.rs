//! Test harness: instances on both backends, the real binary, an HTTP client over the router.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use parcours_app::setup::Location;
use parcours_app::App;
use parcours_store::testing;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use tower::ServiceExt;

mod served;
pub use served::*;

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
pub const PASSWORD: &str = "mot-de-passe-de-test-123";
/// The harness's administrator, who approves the accounts the tests ask for.
pub const ADMIN: &str = "admin.essais";
const ADMIN_COOKIE: &str = "harness-admin.cookie";
const ADMIN_SECRET: &str = "harness-admin.secret";
const ENROLMENT_PREFIX: &str = "harness-enrolment-";

/// The id in "Demande <id> enregistrée".
pub fn request_id(out: &str) -> String {
    out.split_whitespace()
        .skip_while(|w| *w != "Demande")
        .nth(1)
        .unwrap_or_else(|| panic!("no request id in {out}"))
        .to_string()
}

/// The token of an enrolment link printed by the CLI.
pub fn link_token(out: &str) -> String {
    let i = out
        .find(parcours_app::enrolment::LINK_PATH)
        .unwrap_or_else(|| panic!("no enrolment link in {out}"));
    out[i + parcours_app::enrolment::LINK_PATH.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

pub struct Instance {
    pub backend: &'static str,
    pub dir: PathBuf,
    pub loc: Location,
    /// (base URL, schema) on PostgreSQL.
    pub pg: Option<(String, String)>,
}

/// One storage test per backend: `per_backend! { #[tokio::test] async fn name(inst) { … } }`
/// gives `name::sqlite` and `name::postgres`, each with its own instance, so that one backend's
/// failure never hides the other's and the report names the backend. Without
/// PARCOURS_TEST_POSTGRES_URL the PostgreSQL half is a recorded skip (CI fails on it).
macro_rules! per_backend {
    ($(#[$attr:meta])* async fn $name:ident($inst:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$attr])*
            async fn sqlite() {
                let $inst = $crate::support::Instance::new("sqlite").await;
                $body
            }

            $(#[$attr])*
            async fn postgres() {
                let Some($inst) = $crate::support::Instance::postgres().await else {
                    return;
                };
                $body
            }
        }
    };
}

pub async fn instances() -> Vec<Instance> {
    let mut v = vec![Instance::new("sqlite").await];
    if testing::postgres_base_url().is_some() {
        v.push(Instance::new("postgres").await);
    } else {
        testing::skip(
            "postgres",
            "the PostgreSQL half of a storage test (set PARCOURS_TEST_POSTGRES_URL)",
        );
    }
    v
}

impl Instance {
    /// A PostgreSQL instance, or None (a recorded skip) without PARCOURS_TEST_POSTGRES_URL.
    pub async fn postgres() -> Option<Instance> {
        if testing::postgres_base_url().is_some() {
            Some(Instance::new("postgres").await)
        } else {
            testing::skip(
                "postgres",
                "the PostgreSQL half of a storage test (set PARCOURS_TEST_POSTGRES_URL)",
            );
            None
        }
    }

    pub async fn new(backend: &'static str) -> Instance {
        let base = (backend == "postgres").then(|| testing::postgres_base_url().unwrap());
        Instance::on(backend, base, &std::env::temp_dir()).await
    }

    /// An instance on the PostgreSQL server at `base` (a schema of its own there), its data
    /// dir under `parent`.
    pub async fn on_postgres(base: &str, parent: &Path) -> Instance {
        Instance::on("postgres", Some(base.to_string()), parent).await
    }

    /// An SQLite instance whose data dir (database included) is under `parent`.
    pub async fn sqlite_in(parent: &Path) -> Instance {
        Instance::on("sqlite", None, parent).await
    }

    async fn on(backend: &'static str, base: Option<String>, parent: &Path) -> Instance {
        let dir = parent.join(testing::unique_name("parcours-e2e"));
        std::fs::create_dir_all(&dir).unwrap();
        let (url, pg) = if let Some(base) = base {
            let (url, schema) = testing::postgres_schema(&base).await.unwrap();
            (url, Some((base, schema)))
        } else {
            (
                format!("sqlite://{}?mode=rwc", dir.join("parcours.db").display()),
                None,
            )
        };
        let loc = Location {
            data_dir: dir.clone(),
            database_url: url,
            key_file: dir.join("master.key"),
        };
        Instance {
            backend,
            dir,
            loc,
            pg,
        }
    }

    /// Runs the real binary with this instance's data dir and database.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    /// The real binary with `args`, on this instance's data dir and database (not started).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_parcours"));
        c.args(args)
            .env("PARCOURS_DATA_DIR", &self.dir)
            .env_remove("PARCOURS_MASTER_KEY_FILE")
            .env("PARCOURS_LOG", "warn");
        if self.pg.is_some() {
            c.env("PARCOURS_DATABASE_URL", &self.loc.database_url);
        } else {
            c.env_remove("PARCOURS_DATABASE_URL");
        }
        c
    }

    /// The enrolment link [`Instance::add_user`] kept for `login` (taken: links are single-use).
    pub fn take_enrolment_link(&self, login: &str) -> String {
        let p = self.dir.join(format!("{ENROLMENT_PREFIX}{login}"));
        let t = std::fs::read_to_string(&p)
            .unwrap_or_else(|_| panic!("{login}: no enrolment link left"));
        std::fs::remove_file(&p).unwrap();
        t
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{} {:?} failed: {}",
            self.backend,
            args,
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// init + one structure + a conseiller with a known password.
    pub fn standard(&self) {
        self.ok(&["init"]);
        self.ok(&[
            "structure",
            "add",
            "--code",
            "ML-A",
            "--nom",
            "Mission Locale A",
            "--departement",
            "69",
            "--region",
            "Auvergne-Rhône-Alpes",
        ]);
        self.add_user("conseiller.a", "conseiller", Some("ML-A"));
    }

    /// An account as a real instance gets one: `parcours user add` asks for it (a four-eyes
    /// request), the harness's administrator approves it through the API, and the enrolment
    /// link it receives is kept in the data dir for the account's first [`Client::login`]
    /// (which sets the password [`PASSWORD`] and enrols the second factor).
    pub fn add_user(&self, login: &str, role: &str, structure: Option<&str>) {
        match structure {
            Some(s) => self.add_user_with(login, role, &["--structure", s]),
            None => self.add_user_with(login, role, &[]),
        }
    }

    /// [`Instance::add_user`] with more arguments to `parcours user add` (e.g. `--region`).
    pub fn add_user_with(&self, login: &str, role: &str, extra: &[&str]) {
        self.ensure_admin();
        let mut args = vec![
            "user",
            "add",
            "--identifiant",
            login,
            "--role",
            role,
            "--motif",
            "compte de test",
        ];
        args.extend(extra);
        let out = self.ok(&args);
        let id = request_id(&out);
        let cookie = std::fs::read_to_string(self.dir.join(ADMIN_COOKIE)).unwrap();
        let r = self.block(|app| async move {
            let mut c = Client::new(app);
            c.cookie = Some(cookie);
            c.json(
                Method::POST,
                &format!("/api/v1/demandes/{id}/approbation"),
                serde_json::json!({}),
            )
            .await
        });
        assert_eq!(r.status, StatusCode::OK, "approval of {login}: {}", r.body);
        let token = r.json()["jeton_inscription"].as_str().unwrap().to_string();
        std::fs::write(self.dir.join(format!("{ENROLMENT_PREFIX}{login}")), token).unwrap();
    }

    /// The harness's own administrator ([`ADMIN`]): the first account of the instance,
    /// bootstrapped alone through the CLI, enrolled through its link; its API session is kept
    /// in the data dir (one login per instance: second-factor codes are single-use).
    pub fn ensure_admin(&self) {
        if self.dir.join(ADMIN_COOKIE).exists() {
            return;
        }
        let out = self.ok(&["user", "add", "--identifiant", ADMIN, "--role", "admin"]);
        let token = link_token(&out);
        let (cookie, secret) = self.block(|app| async move {
            let mut c = Client::new(app);
            let secret = c.enrol(&token, 0).await;
            (c.cookie.clone().unwrap(), secret)
        });
        std::fs::write(self.dir.join(ADMIN_SECRET), secret).unwrap();
        std::fs::write(self.dir.join(ADMIN_COOKIE), cookie).unwrap();
    }

    /// A client logged in as the harness's administrator.
    pub fn admin_client(&self, app: Arc<App>) -> Client {
        self.ensure_admin();
        let mut c = Client::new(app);
        c.cookie = Some(std::fs::read_to_string(self.dir.join(ADMIN_COOKIE)).unwrap());
        c
    }

    /// Runs async work on this instance from synchronous code (the harness's CLI helpers are
    /// called from inside the tests' runtime): a thread of its own with its own runtime.
    fn block<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce(Arc<App>) -> Fut + Send,
        Fut: std::future::Future<Output = T>,
        T: Send,
    {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap()
                        .block_on(async {
                            let app = self.app().await;
                            f(app).await
                        })
                })
                .join()
                .unwrap()
        })
    }

    /// A second Mission Locale, ML-B (Provence-Alpes-Côte d'Azur), for cross-structure tests.
    pub fn add_ml_b(&self) {
        self.ok(&[
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
    }

    pub async fn app(&self) -> Arc<App> {
        Arc::new(parcours_app::setup::open(&self.loc).await.unwrap())
    }

    /// Every byte the backend keeps: the data dir files (SQLite, WAL, shm) or a pg_dump.
    ///
    /// The files are read by a child process (`cat`), never opened here: on Linux, closing any
    /// descriptor of a file drops every POSIX lock this process holds on it, so reading
    /// `parcours.db` in-process would silently release the WAL locks of this test's open
    /// connections. A CLI run next then believes it is alone, and this process's shared
    /// WAL-index goes stale: it read a keyring or a note as before the command (the re-key
    /// test failed 1 run in 3 that way). SQLite documents it: "How To Corrupt", section 2.2.
    pub fn dump(&self) -> Vec<u8> {
        let mut files = Vec::new();
        for e in std::fs::read_dir(&self.dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() && p.extension().is_none_or(|x| x != "csv") {
                files.push(p);
            }
        }
        let o = Command::new("cat").args(&files).output().expect("cat");
        assert!(
            o.status.success(),
            "cat: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut all = o.stdout;
        if let Some((base, schema)) = &self.pg {
            let o = Command::new("pg_dump")
                .args(["--dbname", base, "-n", schema])
                .output()
                .expect("pg_dump");
            assert!(
                o.status.success(),
                "pg_dump: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(
                String::from_utf8_lossy(&o.stdout).contains("CREATE TABLE"),
                "pg_dump produced a schema"
            );
            all.extend(o.stdout);
        }
        all
    }

    /// Runs SQL on this instance's database (for tampering tests).
    pub async fn sql(&self, app: &App, q: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(q.to_string()))
            .execute(app.internals().store().pool())
            .await
            .unwrap();
    }
}

/// One integer a query on the instance's database answers (a count, a flag).
pub async fn scalar(app: &App, q: &str) -> i64 {
    use sqlx::Row;
    let mut conn = app.internals().store().acquire().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(q.to_string()))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A browser-like client over the real router: keeps the session cookie.
pub struct Client {
    pub router: axum::Router,
    pub cookie: Option<String>,
    pub last_set_cookie: Option<String>,
    /// The instance's data dir, where `Instance::add_user` left the enrolment links.
    pub data_dir: Option<PathBuf>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Server-side logs go to the test's captured output, so a failing test shows the detail of an
/// internal error (which the response deliberately hides).
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
    });
}

impl Client {
    pub fn new(app: Arc<App>) -> Client {
        init_logs();
        let data_dir = app
            .checkpoint_log
            .as_ref()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf);
        Client {
            router: parcours_web::router(app),
            cookie: None,
            last_set_cookie: None,
            data_dir,
        }
    }

    pub async fn send(
        &mut self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(c) = &self.cookie {
            b = b.header("cookie", format!("{}={c}", parcours_web::COOKIE_NAME));
        }
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        let res = self
            .router
            .clone()
            .oneshot(b.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        if let Some(sc) = headers.get("set-cookie").and_then(|v| v.to_str().ok()) {
            self.last_set_cookie = Some(sc.to_string());
            let value = sc
                .split(';')
                .next()
                .unwrap()
                .split_once('=')
                .unwrap()
                .1
                .to_string();
            self.cookie = if sc.contains("Max-Age=0") {
                None
            } else {
                Some(value)
            };
        }
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, uri: &str) -> Resp {
        self.send(Method::GET, uri, None, vec![]).await
    }

    pub async fn json(&mut self, method: Method, uri: &str, v: serde_json::Value) -> Resp {
        self.send(
            method,
            uri,
            Some("application/json"),
            v.to_string().into_bytes(),
        )
        .await
    }

    pub async fn form(&mut self, uri: &str, fields: &[(&str, &str)]) -> Resp {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(
            Method::POST,
            uri,
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await
    }

    /// Uses an enrolment link (password [`PASSWORD`]) and enrols the second factor; returns
    /// its secret. `step_offset` picks the TOTP time step.
    pub async fn enrol(&mut self, token: &str, step_offset: i64) -> Vec<u8> {
        let r = self
            .json(
                Method::POST,
                "/api/v1/inscription",
                serde_json::json!({"jeton": token, "mot_de_passe": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "enrolment link: {}", r.body);
        assert_eq!(r.json()["etape"], "enrolement", "{}", r.body);
        let now = chrono::Utc::now().timestamp() + step_offset * 30;
        let e = self.get("/api/v1/session/enrolement").await.json();
        let secret = totp_rs::Secret::Encoded(e["secret"].as_str().unwrap().to_string())
            .to_bytes()
            .unwrap();
        let code = parcours_app::auth::totp_code(&secret, now as u64).unwrap();
        let r = self
            .json(
                Method::POST,
                "/api/v1/session/enrolement",
                serde_json::json!({"code": code}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "enrolment: {}", r.body);
        secret
    }

    /// The enrolment link `Instance::add_user` kept for `login`, if not used yet (taken).
    pub fn take_enrolment_link(&self, login: &str) -> Option<String> {
        let p = self
            .data_dir
            .as_ref()?
            .join(format!("{ENROLMENT_PREFIX}{login}"));
        let t = std::fs::read_to_string(&p).ok()?;
        std::fs::remove_file(&p).ok()?;
        Some(t)
    }

    /// Full API login. An account not enrolled yet (`secret` None) uses its enrolment link
    /// and enrols its second factor; returns the secret. `step_offset` picks the TOTP time
    /// step (codes are single-use, so a second login in the same 30 s uses the next one).
    pub async fn login(&mut self, login: &str, secret: Option<&[u8]>, step_offset: i64) -> Vec<u8> {
        if secret.is_none() {
            let token = self
                .take_enrolment_link(login)
                .unwrap_or_else(|| panic!("{login}: no secret given and no enrolment link left"));
            return self.enrol(&token, step_offset).await;
        }
        let r = self
            .json(
                Method::POST,
                "/api/v1/session",
                serde_json::json!({"identifiant": login, "mot_de_passe": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login {login}: {}", r.body);
        let now = chrono::Utc::now().timestamp() + step_offset * 30;
        let secret = secret.expect("secret of an enrolled account").to_vec();
        let code = parcours_app::auth::totp_code(&secret, now as u64).unwrap();
        let r = self
            .json(
                Method::POST,
                "/api/v1/session/code",
                serde_json::json!({"code": code}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "code: {}", r.body);
        secret
    }

    /// Step-up: enters the second factor again (the sensitive tier, 5 minutes).
    pub async fn confirm(&mut self, secret: &[u8], step_offset: i64) {
        let now = chrono::Utc::now().timestamp() + step_offset * 30;
        let code = parcours_app::auth::totp_code(secret, now as u64).unwrap();
        let r = self
            .json(
                Method::POST,
                "/api/v1/session/confirmation",
                serde_json::json!({"code": code}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "confirmation: {}", r.body);
    }
}

/// Creates a dossier of a 20-year-old through the API (as `c`); returns its id.
pub async fn new_jeune(c: &mut Client, nom: &str, prenom: &str, sexe: &str) -> String {
    let birth = (chrono::Utc::now().date_naive() - chrono::Days::new(20 * 365))
        .format("%Y-%m-%d")
        .to_string();
    let r = c
        .json(
            Method::POST,
            "/api/v1/jeunes",
            serde_json::json!({"nom": nom, "prenom": prenom, "date_naissance": birth, "sexe": sexe}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_string()
}

/// Approves, as `c`, the pending request of `kind` about `target`; returns the answer.
pub async fn approve(c: &mut Client, kind: &str, target: &str) -> serde_json::Value {
    let list = c.get("/api/v1/demandes").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let id = list.json()["demandes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == kind && r["target"] == target && r["status"] == "en_attente")
        .unwrap_or_else(|| panic!("no pending {kind} request on {target}: {}", list.body))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/demandes/{id}/approbation"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "approval of {kind} {target}: {}",
        r.body
    );
    r.json()
}

/// Asks for the month's payment file (as its directeur `dir`), has `approver` approve it,
/// and downloads it (`dir`'s second factor is fresh from her login, or confirmed).
pub async fn batch_file(
    dir: &mut Client,
    approver: &mut Client,
    month: &str,
    format: &str,
) -> Resp {
    let r = dir
        .json(
            Method::POST,
            "/api/v1/allocations/lot/demande",
            serde_json::json!({"mois": month, "format": format, "motif": "versement du mois"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    approve(approver, "lot.ibans", &format!("{month}:{format}")).await;
    dir.json(
        Method::POST,
        "/api/v1/allocations/lot/fichier",
        serde_json::json!({"mois": month, "format": format, "motif": "versement du mois"}),
    )
    .await
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Reverses the HTML escaping askama applies, to compare page text with stored values.
pub fn unescape(s: &str) -> String {
    s.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Runs a browser journey script of `tests/browser` against the real binary, when
/// PARCOURS_TEST_BROWSER is set (CI sets it); the script prints `done` when every check passed.
pub fn run_browser_journey(script: &str, done: &str) {
    if std::env::var("PARCOURS_TEST_BROWSER").is_err() {
        testing::skip(
            "browser",
            &format!("browser journey {script} (set PARCOURS_TEST_BROWSER=1; needs /usr/bin/chromium and `npm ci` in tests/browser)"),
        );
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scratch = std::env::temp_dir().join(testing::unique_name("parcours-browser"));
    std::fs::create_dir_all(&scratch).unwrap();
    let o = Command::new("node")
        .arg(root.join("tests/browser").join(script))
        .arg(env!("CARGO_BIN_EXE_parcours"))
        .arg(&scratch)
        .output()
        .expect("node");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains(done), "{out}");
    let _ = std::fs::remove_dir_all(&scratch);
}
