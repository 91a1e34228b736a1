//! Issue 20 — the database goes away under a running server: PostgreSQL stopped and restarted
//! under load, SQLite's disk full. Real processes: a PostgreSQL server of the test's own (so
//! that stopping it disturbs no other test), a real `parcours serve`, real HTTP clients.

use crate::support::*;
use parcours_store::testing;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL server of the test's own: `initdb` in a temporary directory, its own port and
/// socket directory, trust authentication, run as `postgres` when the test runs as root.
struct OwnPostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl OwnPostgres {
    /// None when no PostgreSQL server binaries are installed.
    fn start() -> Option<OwnPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()?;
        let dir = std::env::temp_dir().join(testing::unique_name("parcours-pg"));
        std::fs::create_dir_all(&dir).unwrap();
        let pg = OwnPostgres {
            dir,
            bin,
            port: free_port(),
            as_postgres: root(),
        };
        if pg.as_postgres {
            let st = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&pg.dir)
                .status()
                .unwrap();
            assert!(st.success());
        }
        let o = pg
            .cmd("initdb")
            .arg("-D")
            .arg(pg.dir.join("data"))
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        pg.up();
        Some(pg)
    }

    fn cmd(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn pg_ctl(&self, args: &[&str]) {
        let o = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "pg_ctl {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }

    fn up(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        self.pg_ctl(&["-w", "-l", log.to_str().unwrap(), "-o", &opts, "start"]);
    }

    fn down(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One request of the load: when it started (since the load began), its status (0: no HTTP
/// answer at all), how long it took, the error code of a refusal.
#[derive(Debug)]
struct Sample {
    at: Duration,
    status: u16,
    took: Duration,
    code: String,
}

/// PostgreSQL stopped for 6 s in the middle of a load of dossier openings, then started
/// again: every request gets an answer — 200, or 503 `serveur_occupe` within the pool's 5 s
/// while the database is down, never a 500 or a dropped connection — `/healthz` says 503 so
/// a proxy takes the instance out, and the same server process serves 200s again by itself.
#[tokio::test]
async fn a_database_restart_under_load_gives_503s_then_the_service_recovers_by_itself() {
    let Some(pg) = OwnPostgres::start() else {
        testing::skip(
            "postgres-server",
            "the PostgreSQL restart test (needs the server binaries under /usr/lib/postgresql)",
        );
        return;
    };
    let inst = Instance::on_postgres(&pg.url(), &std::env::temp_dir()).await;
    inst.standard();
    inst.ok(&["seed", "--jeunes", "20", "--events", "0", "--seed", "22"]);
    inst.ok(&["vigilance", "seuils", "--fenetre-dossiers", "1000"]);
    let ids: Vec<String> = {
        let app = inst.app().await;
        let s = app.structure_by_code("ML-A").await.unwrap().unwrap();
        let mut conn = app.internals().store().acquire().await.unwrap();
        parcours_store::jeunes::list_recent(&mut conn, s.id, 5, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    let port = free_port();
    let _server = Processes(vec![inst.serve(port, "serve.log", &["--sans-export"], &[])]);
    let base = format!("http://127.0.0.1:{port}");
    let mut web = Http::new(&base, None);
    web.enrol(&inst.take_enrolment_link("conseiller.a"));

    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let (samples, down_at, up_at, health_down) = std::thread::scope(|s| {
        let loaders: Vec<_> = (0..4)
            .map(|n| {
                let mut c = web.at(&base);
                let (ids, stop) = (&ids, &stop);
                s.spawn(move || {
                    let mut out = Vec::new();
                    let mut i = n;
                    while !stop.load(Ordering::Relaxed) {
                        let at = start.elapsed();
                        let r = c.get(&format!("/api/v1/jeunes/{}", ids[i % ids.len()]));
                        let code = if r.status == 200 {
                            String::new()
                        } else {
                            serde_json::from_str::<serde_json::Value>(&r.body)
                                .ok()
                                .and_then(|v| v["code"].as_str().map(str::to_string))
                                .unwrap_or_else(|| r.body.chars().take(200).collect())
                        };
                        out.push(Sample {
                            at,
                            status: r.status,
                            took: r.elapsed,
                            code,
                        });
                        i += 1;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    out
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1500));
        let down_at = start.elapsed();
        pg.down();
        std::thread::sleep(Duration::from_secs(1));
        let health_down = web.at(&base).get("/healthz");
        std::thread::sleep(Duration::from_secs(5));
        pg.up();
        let up_at = start.elapsed();
        let mut h = web.at(&base);
        wait_until(Duration::from_secs(30), || h.get("/healthz").status == 200);
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::Relaxed);
        let samples: Vec<Sample> = loaders
            .into_iter()
            .flat_map(|l| l.join().unwrap())
            .collect();
        (samples, down_at, up_at, health_down)
    });

    let log = || inst.log("serve.log");
    assert_eq!(
        health_down.status, 503,
        "/healthz while down: {health_down:?}"
    );
    let before: Vec<_> = samples.iter().filter(|x| x.at + x.took < down_at).collect();
    assert!(!before.is_empty());
    assert!(before.iter().all(|x| x.status == 200), "{before:?}");
    let refused: Vec<_> = samples.iter().filter(|x| x.status != 200).collect();
    assert!(!refused.is_empty(), "the outage was seen");
    for x in &refused {
        assert!(
            x.status == 503 && x.code == "serveur_occupe",
            "a clear 503, nothing else: {x:?}\n{}",
            log()
        );
        assert!(x.took < Duration::from_millis(6500), "fails fast: {x:?}");
    }
    // Recovered by itself: the last second and a half of the load is all 200s.
    let end = samples.iter().map(|x| x.at).max().unwrap();
    let last: Vec<_> = samples
        .iter()
        .filter(|x| x.at + Duration::from_millis(1500) > end)
        .collect();
    assert!(!last.is_empty());
    assert!(last.iter().all(|x| x.status == 200), "{last:?}");
    let back = samples
        .iter()
        .filter(|x| x.at > up_at && x.status == 200)
        .map(|x| x.at - up_at)
        .min()
        .expect("a 200 after the restart");
    eprintln!(
        "PostgreSQL restart: {} requests, {} answered 503 (slowest {:?}), first 200 {:?} after the restart",
        samples.len(),
        refused.len(),
        refused.iter().map(|x| x.took).max().unwrap(),
        back
    );
    drop(_server);
    assert!(inst.ok(&["audit", "verify"]).contains("intact"));
}

/// Unmounts a filesystem when dropped.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Fills the filesystem holding `dir` until it refuses one more byte.
fn fill(dir: &std::path::Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("remplissage");
    let mut f = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 20, 4096, 1] {
        let block = vec![0u8; chunk];
        while f.write_all(&block).and_then(|_| f.flush()).is_ok() {}
    }
    path
}

/// SQLite on a 24 MiB tmpfs filled to the last byte: every write the server then attempts
/// answers 507 `stockage_plein` (never a 500, never a dropped connection) and leaves nothing
/// behind; once space is freed the same server writes again, the database passes SQLite's
/// integrity check and the audit chain verifies.
#[tokio::test]
async fn a_full_disk_is_a_clear_error_and_corrupts_nothing() {
    if !root() {
        testing::skip(
            "root",
            "the full-disk test mounts a small tmpfs (run as root; docs/ARCHITECTURE.md says how it was checked)",
        );
        return;
    }
    let mnt = std::env::temp_dir().join(testing::unique_name("parcours-plein"));
    std::fs::create_dir_all(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(st.success(), "mount tmpfs");
    let mounted = Mounted(mnt.clone());
    let inst = Instance::sqlite_in(&mnt).await;
    inst.standard();
    inst.ok(&["seed", "--jeunes", "20", "--events", "0", "--seed", "23"]);
    let port = free_port();
    let server = Processes(vec![inst.serve(port, "serve.log", &["--sans-export"], &[])]);
    let mut web = Http::new(&format!("http://127.0.0.1:{port}"), None);
    web.enrol(&inst.take_enrolment_link("conseiller.a"));
    let birth = (chrono::Utc::now().date_naive() - chrono::Days::new(20 * 365))
        .format("%Y-%m-%d")
        .to_string();
    let mut create = |n: usize| {
        web.post(
            "/api/v1/jeunes",
            serde_json::json!({"nom": format!("Plein{n}"), "prenom": "Camille", "date_naissance": birth, "sexe": "F"}),
        )
    };
    assert_eq!(create(0).status, 201);
    let filler = fill(&mnt);
    let (mut created, mut refused) = (1i64, 0);
    for n in 1..300 {
        let r = create(n);
        match r.status {
            201 => created += 1,
            507 => {
                assert_eq!(r.json()["code"], "stockage_plein", "{}", r.body);
                refused += 1;
                if refused == 5 {
                    break;
                }
            }
            _ => panic!(
                "a full disk answers 201 or 507, not {} {}\n{}",
                r.status,
                r.body,
                inst.log("serve.log")
            ),
        }
    }
    assert_eq!(refused, 5, "the full disk refused writes");
    assert!(inst
        .log("serve.log")
        .contains("disque de la base de données plein"));
    // Space again: the same server writes, nothing half-written was left.
    std::fs::remove_file(&filler).unwrap();
    let r = create(1000);
    assert_eq!(r.status, 201, "{}", r.body);
    created += 1;
    drop(server);
    let app = inst.app().await;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(app.internals().store().pool())
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM jeunes").await,
        20 + created,
        "every 201 is a dossier, every 507 none"
    );
    drop(app);
    assert!(inst.ok(&["audit", "verify"]).contains("intact"));
    drop(mounted);
}
