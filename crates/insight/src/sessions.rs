//! Where the dashboards server keeps its sessions and the ids of the assertions already used:
//! this process's memory (one instance, the default), or a directory every instance shares
//! (`parcours-insight serve --etat DIR`), so that several instances behind one proxy honour
//! the same sessions, refuse an assertion replayed on another instance, and keep their sessions
//! across a restart (issue 20).
//!
//! The directory holds no secret usable as such: a session file is named by the SHA-256 of the
//! cookie's value (reading the directory gives no cookie), and holds the role, the perimeter
//! and the expiry — no person, no name. An assertion id is claimed by creating its file with
//! `create_new` (atomic on a local file system and on NFS v3 or later), so two instances
//! racing for the same assertion cannot both accept it. Expired files are swept at most once a
//! minute. Files are small and local: read and written in place.

use parcours_vault::assertion::Perimeter;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::Mutex;

use crate::server::now;

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub role: String,
    pub perimeter: Perimeter,
    pub expires: i64,
}

pub(crate) enum Sessions {
    Memory {
        sessions: Mutex<HashMap<String, Session>>,
        used: Mutex<HashMap<String, i64>>,
    },
    Shared {
        dir: PathBuf,
        last_sweep: AtomicI64,
    },
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn private_dir(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(p)
}

impl Sessions {
    /// In memory, or in `dir` (created, private to the server's user).
    pub fn new(dir: Option<&Path>) -> Result<Sessions, String> {
        match dir {
            None => Ok(Sessions::Memory {
                sessions: Mutex::new(HashMap::new()),
                used: Mutex::new(HashMap::new()),
            }),
            Some(d) => {
                for sub in ["sessions", "jetons"] {
                    private_dir(&d.join(sub)).map_err(|e| {
                        format!("répertoire d'état {} inutilisable : {e}", d.display())
                    })?;
                }
                Ok(Sessions::Shared {
                    dir: d.to_path_buf(),
                    last_sweep: AtomicI64::new(0),
                })
            }
        }
    }

    /// Claims an assertion id until `exp`: true the first time, false for a replay (on any
    /// instance sharing the directory). Fails closed: an unreadable directory refuses.
    pub async fn first_use(&self, jti: &str, exp: i64) -> bool {
        match self {
            Sessions::Memory { used, .. } => {
                let mut used = used.lock().await;
                used.retain(|_, e| *e >= now());
                used.insert(jti.to_string(), exp).is_none()
            }
            Sessions::Shared { dir, .. } => {
                self.sweep();
                let path = dir.join("jetons").join(sha256_hex(jti));
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                {
                    Ok(mut f) => f.write_all(exp.to_string().as_bytes()).is_ok(),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
                    Err(e) => {
                        eprintln!("parcours-insight : état partagé illisible, jeton refusé : {e}");
                        false
                    }
                }
            }
        }
    }

    pub async fn open(&self, id: &str, s: Session) {
        match self {
            Sessions::Memory { sessions, .. } => {
                sessions.lock().await.insert(id.to_string(), s);
            }
            Sessions::Shared { dir, .. } => {
                let name = sha256_hex(id);
                let (tmp, path) = (
                    dir.join("sessions").join(format!(".{name}")),
                    dir.join("sessions").join(name),
                );
                let written = serde_json::to_vec(&s)
                    .map_err(std::io::Error::other)
                    .and_then(|bytes| std::fs::write(&tmp, bytes))
                    .and_then(|_| std::fs::rename(&tmp, &path));
                if let Err(e) = written {
                    eprintln!(
                        "parcours-insight : session non enregistrée dans l'état partagé : {e}"
                    );
                }
            }
        }
    }

    /// The role and perimeter of a live session.
    pub async fn get(&self, id: &str) -> Option<(String, Perimeter)> {
        match self {
            Sessions::Memory { sessions, .. } => {
                let mut sessions = sessions.lock().await;
                sessions.retain(|_, s| s.expires > now());
                sessions
                    .get(id)
                    .map(|s| (s.role.clone(), s.perimeter.clone()))
            }
            Sessions::Shared { dir, .. } => {
                let path = dir.join("sessions").join(sha256_hex(id));
                let s: Session = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
                if s.expires <= now() {
                    let _ = std::fs::remove_file(&path);
                    return None;
                }
                Some((s.role, s.perimeter))
            }
        }
    }

    pub async fn close(&self, id: &str) {
        match self {
            Sessions::Memory { sessions, .. } => {
                sessions.lock().await.remove(id);
            }
            Sessions::Shared { dir, .. } => {
                let _ = std::fs::remove_file(dir.join("sessions").join(sha256_hex(id)));
            }
        }
    }

    /// Removes expired assertion ids and sessions, at most once a minute.
    fn sweep(&self) {
        let Sessions::Shared { dir, last_sweep } = self else {
            return;
        };
        let t = now();
        let last = last_sweep.load(Ordering::Relaxed);
        if t - last < 60
            || last_sweep
                .compare_exchange(last, t, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let expired_jti = |p: &Path| {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .is_some_and(|exp| exp < t)
        };
        let expired_session = |p: &Path| {
            std::fs::read(p)
                .ok()
                .and_then(|b| serde_json::from_slice::<Session>(&b).ok())
                .is_some_and(|s| s.expires <= t)
        };
        for (sub, expired) in [
            ("jetons", &expired_jti as &dyn Fn(&Path) -> bool),
            ("sessions", &expired_session),
        ] {
            let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if expired(&p) {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
    }
}
