//! `parcours banc http`: the advisor's mixed workload over HTTP, driven by `wrk`.
//!
//! It builds a throw-away instance (the demo's people and accounts), starts one or more real
//! `parcours serve` processes (behind HAProxy when there are several), logs in as
//! `conseiller.paris` through the API (password, then the TOTP code), and runs `wrk` twice on
//! the same server in the same minute: `/healthz` (the machine's reference) and the mix —
//! 40 % open a dossier of the caseload, 20 % full dossier, 20 % search by name, 10 % the
//! caseload, 10 % a page of the structure's list. It prints requests/s, p50/p90/p99/max,
//! errors, the mix as a share of `/healthz`, and each server's peak resident memory.
//!
//! The vigilance thresholds are raised on this instance (one advisor reading at 2,000 requests
//! a second would otherwise be frozen within a second, which is the point of them) and the
//! conseiller's daily quota set to 2,000 dossiers by the directrice: the counted reads, the
//! quota checks and the audit entries all still happen on every request.

#[allow(unused_imports)]
use super::*;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};

#[derive(clap::Args)]
pub struct HttpArgs {
    /// Synthetic dossiers of the instance.
    #[arg(long, default_value_t = 2000)]
    pub jeunes: usize,
    /// Seconds of the mixed workload (the `/healthz` reference runs a third of it).
    #[arg(long = "duree", alias = "duration", default_value_t = 30)]
    pub seconds: u64,
    /// Open connections (wrk -c).
    #[arg(long = "connexions", alias = "connections", default_value_t = 32)]
    pub connections: usize,
    /// wrk threads (wrk -t).
    #[arg(long = "fils", alias = "threads", default_value_t = 2)]
    pub threads: usize,
    /// `parcours serve` processes; more than one are put behind HAProxy (round robin).
    #[arg(long, default_value_t = 1)]
    pub instances: usize,
    /// Run on this database instead of a temporary SQLite file (e.g. an empty PostgreSQL schema).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Only one kind of request instead of the mix: ouvrir, dossier, recherche, portefeuille, liste.
    #[arg(long = "seulement", alias = "only")]
    pub only: Option<String>,
}

const KINDS: [&str; 5] = ["ouvrir", "dossier", "recherche", "portefeuille", "liste"];

/// One wrk run, as the Lua script's `done` reports it.
#[derive(Debug, Default, Clone, Copy)]
struct WrkFigures {
    requests: u64,
    duration_us: u64,
    p50_us: u64,
    p90_us: u64,
    p99_us: u64,
    max_us: u64,
    socket_errors: u64,
    status_errors: u64,
}

impl WrkFigures {
    fn per_second(&self) -> f64 {
        self.requests as f64 / (self.duration_us.max(1) as f64 / 1e6)
    }

    fn parse(out: &str) -> Option<WrkFigures> {
        let line = out.lines().find(|l| l.starts_with("PARCOURS-WRK "))?;
        let get = |k: &str| -> Option<u64> {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))?
                .parse()
                .ok()
        };
        Some(WrkFigures {
            requests: get("requests")?,
            duration_us: get("duration_us")?,
            p50_us: get("p50_us")?,
            p90_us: get("p90_us")?,
            p99_us: get("p99_us")?,
            max_us: get("max_us")?,
            socket_errors: get("connect")? + get("read")? + get("write")? + get("timeout")?,
            status_errors: get("status")?,
        })
    }

    fn print(&self, name: &str) {
        println!(
            "{name:<22} {:>9.0} req/s   p50 {:>7.2} ms   p90 {:>7.2} ms   p99 {:>7.2} ms   max {:>8.2} ms   errors {} (socket {}, status ≥ 400 {})",
            self.per_second(),
            self.p50_us as f64 / 1000.0,
            self.p90_us as f64 / 1000.0,
            self.p99_us as f64 / 1000.0,
            self.max_us as f64 / 1000.0,
            self.socket_errors + self.status_errors,
            self.socket_errors,
            self.status_errors
        );
    }
}

/// Child processes killed when the bench ends, whichever way it ends.
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn wait_healthy(base: &str) -> anyhow::Result<()> {
    for _ in 0..300 {
        if ureq::get(&format!("{base}/healthz")).call().is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("{base} ne répond pas sur /healthz après 30 s (voir les journaux du banc)")
}

/// `VmHWM` (peak resident set) and `VmRSS` of a process, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The session cookie (`name=value`) a response sets, if any.
fn session_cookie(resp: &ureq::http::Response<ureq::Body>) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|c| c.starts_with("__Host-parcours=") && c.len() > "__Host-parcours=".len())
        .map(str::to_string)
}

fn post_json(
    url: &str,
    cookie: Option<&str>,
    body: &serde_json::Value,
) -> anyhow::Result<ureq::http::Response<ureq::Body>> {
    let mut req = ureq::post(url).header("Content-Type", "application/json");
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    Ok(req.send(body.to_string())?)
}

fn get_json(url: &str, cookie: &str) -> anyhow::Result<serde_json::Value> {
    let mut resp = ureq::get(url).header("Cookie", cookie).call()?;
    let mut text = String::new();
    resp.body_mut().as_reader().read_to_string(&mut text)?;
    Ok(serde_json::from_str(&text)?)
}

/// Logs in through the API: password, then the demo's TOTP code. Returns the cookie.
async fn login(app: &App, base: &str, account: &str) -> anyhow::Result<String> {
    let resp = post_json(
        &format!("{base}/api/v1/session"),
        None,
        &serde_json::json!({"identifiant": account, "mot_de_passe": crate::commands::demo::DEMO_PASSWORD}),
    )?;
    let cookie =
        session_cookie(&resp).ok_or_else(|| anyhow::anyhow!("pas de cookie de session"))?;
    let code = app
        .demo_code(account, chrono::Utc::now())
        .await
        .map_err(crate::commands::explain)?;
    let resp = post_json(
        &format!("{base}/api/v1/session/code"),
        Some(&cookie),
        &serde_json::json!({ "code": code }),
    )?;
    Ok(session_cookie(&resp).unwrap_or(cookie))
}

fn run_wrk(
    a: &HttpArgs,
    url: &str,
    script: &Path,
    paths: &Path,
    cookie: &str,
    seconds: u64,
) -> anyhow::Result<WrkFigures> {
    let out = Command::new("wrk")
        .arg(format!("-t{}", a.threads))
        .arg(format!("-c{}", a.connections))
        .arg(format!("-d{seconds}s"))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(script)
        .arg(url)
        .arg("--")
        .arg(paths)
        .arg(cookie)
        .output()
        .map_err(|e| anyhow::anyhow!("wrk introuvable ({e}) : apt-get install wrk"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    WrkFigures::parse(&text).ok_or_else(|| {
        anyhow::anyhow!(
            "sortie de wrk illisible : {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn haproxy(dir: &Path, port: u16, backends: &[u16]) -> anyhow::Result<Child> {
    let servers: String = backends
        .iter()
        .enumerate()
        .map(|(i, p)| format!("  server s{i} 127.0.0.1:{p}\n"))
        .collect();
    let cfg = format!(
        "global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n  option http-keep-alive\n\
         frontend parcours\n  bind 127.0.0.1:{port}\n  default_backend servers\nbackend servers\n  balance roundrobin\n{servers}"
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg)?;
    Command::new("haproxy")
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("haproxy.log"))?)
        .spawn()
        .map_err(|e| anyhow::anyhow!("haproxy introuvable ({e}) : apt-get install haproxy"))
}

pub async fn http(a: HttpArgs) -> anyhow::Result<()> {
    if let Some(k) = &a.only {
        if !KINDS.contains(&k.as_str()) {
            anyhow::bail!("--seulement : {} attendu", KINDS.join(", "));
        }
    }
    if a.instances == 0 || a.instances > 8 {
        anyhow::bail!("--instances : entre 1 et 8");
    }
    let (app, dir) = scratch(a.database_url.clone()).await?;
    app.mark_demo().await.map_err(crate::commands::explain)?;
    crate::commands::demo::prepare(&app, a.jeunes).await?;
    let mut t = app.thresholds();
    t.window_opened = 1_000_000;
    t.probes = 1_000_000;
    t.searches = 1_000_000;
    t.new_account_days = 0;
    app.save_thresholds(t)
        .await
        .map_err(crate::commands::explain)?;
    crate::commands::seal(&app).await?;

    let exe = std::env::current_exe()?;
    let mut procs = Procs(Vec::new());
    let mut ports = Vec::new();
    for i in 0..a.instances {
        let port = free_port()?;
        let mut cmd = Command::new(&exe);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&dir)
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--sans-export")
            .env("PARCOURS_LOG", "warn")
            .stdout(std::fs::File::create(dir.join(format!("serve-{i}.log")))?)
            .stderr(Stdio::inherit());
        if let Some(url) = &a.database_url {
            cmd.arg("--database-url").arg(url);
        }
        procs.0.push(cmd.spawn()?);
        ports.push(port);
    }
    let pids: Vec<u32> = procs.0.iter().map(Child::id).collect();
    for p in &ports {
        wait_healthy(&format!("http://127.0.0.1:{p}"))?;
    }
    let front = if a.instances > 1 {
        let port = free_port()?;
        procs.0.push(haproxy(&dir, port, &ports)?);
        let base = format!("http://127.0.0.1:{port}");
        wait_healthy(&base)?;
        base
    } else {
        format!("http://127.0.0.1:{}", ports[0])
    };

    let boss = login(&app, &front, "directrice.paris").await?;
    post_json(
        &format!("{front}/api/v1/quota/reglage"),
        Some(&boss),
        &serde_json::json!({"role": "conseiller", "quota": 2000}),
    )?;
    let cookie = login(&app, &front, "conseiller.paris").await?;
    let caseload = get_json(&format!("{front}/api/v1/portefeuille"), &cookie)?;
    let lines: Vec<(String, String)> = caseload["lines"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|x| {
                    Some((
                        x["id"].as_str()?.to_string(),
                        x["nom"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    if lines.is_empty() {
        anyhow::bail!("portefeuille vide : rien à lire");
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20);
    let mut paths = String::new();
    for _ in 0..10_000 {
        let (id, nom) = &lines[rng.random_range(0..lines.len())];
        let kind = match &a.only {
            Some(k) => k.as_str(),
            None => match rng.random_range(0..100) {
                0..40 => "ouvrir",
                40..60 => "dossier",
                60..80 => "recherche",
                80..90 => "portefeuille",
                _ => "liste",
            },
        };
        let p = match kind {
            "ouvrir" => format!("/api/v1/jeunes/{id}"),
            "dossier" => format!("/api/v1/jeunes/{id}/dossier"),
            "recherche" => format!("/api/v1/jeunes/recherche?nom={}", percent_encode(nom)),
            "portefeuille" => "/api/v1/portefeuille".to_string(),
            _ => format!("/api/v1/jeunes?page={}", rng.random_range(0..5)),
        };
        paths.push_str(&p);
        paths.push('\n');
    }
    let mix = dir.join("paths.txt");
    std::fs::write(&mix, paths)?;
    let health = dir.join("healthz.txt");
    std::fs::write(&health, "/healthz\n")?;
    let script = dir.join("http_mix.lua");
    std::fs::write(&script, include_str!("http_mix.lua"))?;

    println!(
        "Parcours bench http — {:?}, {} jeunes, {} instance(s){}, wrk -t{} -c{}, {} s",
        app.internals().store().backend(),
        a.jeunes,
        a.instances,
        if a.instances > 1 {
            " behind HAProxy"
        } else {
            ""
        },
        a.threads,
        a.connections,
        a.seconds
    );
    let reference = run_wrk(
        &a,
        &front,
        &script,
        &health,
        &cookie,
        (a.seconds / 3).max(3),
    )?;
    reference.print("/healthz (reference)");
    let sampler = {
        let pids = pids.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let h = std::thread::spawn(move || {
            let mut peak = vec![0f64; pids.len()];
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                for (i, p) in pids.iter().enumerate() {
                    peak[i] = peak[i].max(memory_mib(*p).1);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            peak
        });
        (stop, h)
    };
    let figures = run_wrk(&a, &front, &script, &mix, &cookie, a.seconds)?;
    sampler.0.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.1.join();
    figures.print(a.only.as_deref().unwrap_or("mixed workload"));
    println!(
        "mixed workload = {:.2} % of /healthz's requests/s (target ≥ 3.5 %)",
        100.0 * figures.per_second() / reference.per_second().max(1.0)
    );
    for (i, pid) in pids.iter().enumerate() {
        let (peak, now) = memory_mib(*pid);
        println!("serve #{i}: peak RSS {peak:.0} MiB, RSS at the end {now:.0} MiB");
    }
    // Whatever the load, the chain must still verify.
    drop(procs);
    crate::commands::seal(&app).await?;
    let report = app
        .verify_audit()
        .await
        .map_err(|e| anyhow::anyhow!("audit : {}", e.message))?;
    println!("audit verify: intact ({} entries sealed)", report.sealed);
    if figures.socket_errors + figures.status_errors > 0 {
        println!("ERRORS: see {}", dir.join("serve-0.log").display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
