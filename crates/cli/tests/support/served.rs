//! Real `parcours serve` processes and a real HTTP(S) client for them: what a browser behind a
//! reverse proxy sends and receives, over sockets (the deployment and fault tests).

use super::{Instance, PASSWORD};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Child processes (servers, the proxy, a database), killed and reaped when dropped, so that
/// a failing assertion never leaves a server running.
#[derive(Default)]
pub struct Processes(pub Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Whether every program is on the PATH.
pub fn installed(programs: &[&str]) -> bool {
    programs.iter().all(|p| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {p}"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

impl Instance {
    /// Starts `parcours serve` on this instance's database at 127.0.0.1:`port` (log at `info`
    /// in `<data dir>/<log>`), with the extra arguments and environment; returns once
    /// `/healthz` answers.
    pub fn serve(&self, port: u16, log: &str, args: &[&str], env: &[(&str, &str)]) -> Child {
        let bind = format!("127.0.0.1:{port}");
        let mut all = vec!["serve", "--bind", bind.as_str()];
        all.extend(args);
        let mut c = self.command(&all);
        let file = std::fs::File::create(self.dir.join(log)).unwrap();
        c.env("PARCOURS_LOG", "info")
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        for (k, v) in env {
            c.env(k, v);
        }
        let child = c.spawn().unwrap();
        let mut h = Http::new(&format!("http://{bind}"), None);
        wait_until(Duration::from_secs(60), || h.get("/healthz").status == 200)
            .unwrap_or_else(|| panic!("serve on {bind} never answered: see {log}"));
        child
    }

    /// What a server's log file holds.
    pub fn log(&self, log: &str) -> String {
        std::fs::read_to_string(self.dir.join(log)).unwrap_or_default()
    }
}

/// Polls `ok` every 100 ms until it holds or `limit` passes; the time it took.
pub fn wait_until(limit: Duration, mut ok: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// One answer: status (0 when no HTTP answer came at all), body, headers, time taken.
#[derive(Debug)]
pub struct HttpResp {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    pub elapsed: Duration,
}

impl HttpResp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A browser's worth of HTTP: one connection pool, the session cookie kept between requests.
pub struct Http {
    agent: ureq::Agent,
    pub base: String,
    pub cookie: Option<String>,
}

impl Http {
    /// A client for `base`; `ca_pem` is the only certificate authority it trusts for HTTPS.
    pub fn new(base: &str, ca_pem: Option<&[u8]>) -> Http {
        let mut b = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)));
        if let Some(pem) = ca_pem {
            let ca = ureq::tls::Certificate::from_pem(pem).unwrap().to_owned();
            b = b.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
                        ca,
                    ])))
                    .build(),
            );
        }
        Http {
            agent: ureq::Agent::new_with_config(b.build()),
            base: base.to_string(),
            cookie: None,
        }
    }

    /// The same session and trust, another address (e.g. one instance directly).
    pub fn at(&self, base: &str) -> Http {
        Http {
            agent: self.agent.clone(),
            base: base.to_string(),
            cookie: self.cookie.clone(),
        }
    }

    fn finish(
        &mut self,
        start: Instant,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> HttpResp {
        let mut resp = match r {
            Ok(r) => r,
            Err(e) => {
                return HttpResp {
                    status: 0,
                    body: e.to_string(),
                    headers: Vec::new(),
                    elapsed: start.elapsed(),
                }
            }
        };
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        for (k, v) in &headers {
            if k == "set-cookie" {
                let pair = v.split(';').next().unwrap_or("");
                if let Some(value) = pair.strip_prefix("__Host-parcours=") {
                    self.cookie = (!value.is_empty()).then(|| pair.to_string());
                }
            }
        }
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        HttpResp {
            status: resp.status().as_u16(),
            body,
            headers,
            elapsed: start.elapsed(),
        }
    }

    pub fn get(&mut self, path: &str) -> HttpResp {
        let start = Instant::now();
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let r = req.call();
        self.finish(start, r)
    }

    pub fn post(&mut self, path: &str, body: serde_json::Value) -> HttpResp {
        let start = Instant::now();
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json");
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let r = req.send(body.to_string());
        self.finish(start, r)
    }

    /// An account's first login through its enrolment link: password, second factor enrolled.
    /// Returns the TOTP secret.
    pub fn enrol(&mut self, token: &str) -> Vec<u8> {
        let r = self.post(
            "/api/v1/inscription",
            serde_json::json!({"jeton": token, "mot_de_passe": PASSWORD}),
        );
        assert_eq!(r.status, 200, "enrolment link: {}", r.body);
        let e = self.get("/api/v1/session/enrolement");
        assert_eq!(e.status, 200, "enrolment: {}", e.body);
        let secret = totp_rs::Secret::Encoded(e.json()["secret"].as_str().unwrap().to_string())
            .to_bytes()
            .unwrap();
        let now = chrono::Utc::now().timestamp() as u64;
        let code = parcours_app::auth::totp_code(&secret, now).unwrap();
        let r = self.post(
            "/api/v1/session/enrolement",
            serde_json::json!({ "code": code }),
        );
        assert_eq!(r.status, 200, "second factor: {}", r.body);
        secret
    }
}

/// A certificate authority of the test's own and a certificate it issued for `localhost`
/// (openssl, 2 days): (the authority's certificate PEM, the path of the certificate + key PEM
/// file a proxy loads).
pub fn tls_for_localhost(dir: &Path) -> (Vec<u8>, std::path::PathBuf) {
    let openssl = |args: &[&str]| {
        let o = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Parcours test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "tls-key.pem",
        "-out",
        "tls.csr",
    ]);
    std::fs::write(
        dir.join("tls.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "tls.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "tls.ext",
        "-out",
        "tls-cert.pem",
    ]);
    let both = dir.join("tls.pem");
    let mut all = std::fs::read(dir.join("tls-cert.pem")).unwrap();
    all.extend(std::fs::read(dir.join("tls-key.pem")).unwrap());
    std::fs::write(&both, all).unwrap();
    (std::fs::read(dir.join("ca.pem")).unwrap(), both)
}
