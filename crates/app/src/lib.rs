//! Parcours use cases. Every path that touches personal data goes through here, so the
//! authorisation check and the audit entry cannot be forgotten by a handler: pages, API and CLI
//! call the same functions. Time is a parameter ([`Ctx::now`]); nothing here reads the clock.

pub mod access;
pub mod allowances;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod bulk;
pub mod caseload;
pub mod companies;
pub mod dossier;
pub mod enrolment;
pub mod error;
pub mod import;
pub mod incident;
pub mod insight;
#[cfg(feature = "internals")]
pub mod internals;
pub mod jeunes;
mod keys;
pub mod lifecycle;
pub mod mail;
pub mod nir;
pub mod passkeys;
pub mod payments;
pub mod programmes;
mod records;
pub mod retention;
pub mod setup;
pub mod situation;
pub mod staff;
pub mod timeline;
pub mod vigilance;
pub mod warehouse;
pub mod workshops;

use chrono::{DateTime, Utc};
use parcours_domain::Role;
use parcours_store::Store;
use std::path::PathBuf;

pub use error::{AppError, Rule};
#[cfg(not(feature = "internals"))]
use keys::Keys;
#[cfg(feature = "internals")]
pub use keys::{dek_context, Keys};

pub type Result<T> = std::result::Result<T, AppError>;

/// Who acts: an authenticated account, an operator at the command line, or nobody yet.
#[derive(Debug, Clone)]
pub enum Actor {
    Account(Principal),
    Operator,
    Anonymous,
}

impl Actor {
    /// How the actor is named in the audit log (an account login, never a young person).
    pub fn audit_name(&self) -> String {
        match self {
            Actor::Account(p) => p.login.clone(),
            Actor::Operator => format!("operateur-cli:{}", approvals::os_user()),
            Actor::Anonymous => "anonyme".into(),
        }
    }
}

/// An authenticated account, as loaded from its session.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: i64,
    pub login: String,
    pub role: Role,
    pub structure_id: Option<i64>,
    pub scope_region: Option<String>,
    /// When the session's owner last entered her second factor (`None`: not in this
    /// session); the sensitive tier needs it recent (`auth::STEP_UP_S`).
    pub factor_at: Option<i64>,
}

/// The context of one request or command.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub request_id: String,
    pub now: DateTime<Utc>,
    /// Pseudonyms of the session and the client address, written in every audit entry.
    pub trace: Trace,
}

/// What an investigation needs to tell sessions and places apart, without the cookie or the
/// address: keyed pseudonyms ([`App::trace`]), empty for the console.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub session: Option<String>,
    pub client: Option<String>,
}

impl Ctx {
    pub fn operator(now: DateTime<Utc>) -> Ctx {
        Ctx {
            actor: Actor::Operator,
            request_id: new_request_id(),
            now,
            trace: Trace::default(),
        }
    }
}

impl App {
    /// The audit log's public key (hex), to check its checkpoints elsewhere.
    pub fn audit_public_hex(&self) -> String {
        self.keys.audit_public_hex()
    }

    /// Whether the database answers (`/healthz`).
    pub async fn healthy(&self) -> bool {
        self.store.acquire().await.is_ok()
    }

    /// Closes the database connections (end of a command).
    pub async fn close(&self) {
        self.store.close().await;
    }
}

pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The running application: the store and the unlocked keys, reachable only through the use
/// cases (the fields are the crate's own).
pub struct App {
    pub(crate) store: Store,
    pub(crate) keys: Keys,
    /// Where signed audit checkpoints are also appended, outside the database.
    pub checkpoint_log: Option<PathBuf>,
    sealer: tokio::sync::Mutex<()>,
    /// Whether this process's first seal has completed the external checkpoint log (a crash
    /// between a seal's commit and its line is followed by a restart; see `audit.rs`).
    checkpoint_log_checked: std::sync::atomic::AtomicBool,
    /// Refusals stamped while the caller's transaction was open, written once it has ended
    /// ([`App::flush_refusals`]): SQLite transactions take the write lock at their start, so a
    /// second transaction in the same request would wait for the first forever.
    pending_refusals: std::sync::Mutex<Vec<parcours_store::audit::AuditRow>>,
    /// Freezes, alerts and probes signalled by transactions that rolled back, written by
    /// [`App::flush_vigilance`] (with the refusals) before the answer leaves.
    pending_signals: std::sync::Mutex<Vec<vigilance::Signal>>,
    /// Scraping thresholds of the instance ([`vigilance::Thresholds`]).
    thresholds: std::sync::RwLock<vigilance::Thresholds>,
    /// Counted reads on (always, but for the benchmark's reference: `App::set_read_counting`).
    counting: std::sync::atomic::AtomicBool,
    /// Password verifications running, and waiting (see `auth::ARGON_PARALLEL`).
    argon_permits: tokio::sync::Semaphore,
    argon_waiting: std::sync::atomic::AtomicUsize,
    /// The WebAuthn relying party, once the public address is known (`passkeys`).
    webauthn: std::sync::OnceLock<webauthn_rs::Webauthn>,
}

impl App {
    pub fn new(store: Store, keys: Keys, checkpoint_log: Option<PathBuf>) -> App {
        App {
            store,
            keys,
            checkpoint_log,
            sealer: tokio::sync::Mutex::new(()),
            checkpoint_log_checked: std::sync::atomic::AtomicBool::new(false),
            pending_refusals: std::sync::Mutex::new(Vec::new()),
            pending_signals: std::sync::Mutex::new(Vec::new()),
            thresholds: std::sync::RwLock::new(vigilance::Thresholds::default()),
            counting: std::sync::atomic::AtomicBool::new(true),
            argon_permits: tokio::sync::Semaphore::new(auth::ARGON_PARALLEL),
            argon_waiting: std::sync::atomic::AtomicUsize::new(0),
            webauthn: std::sync::OnceLock::new(),
        }
    }
}
