//! Login with password then a second factor (TOTP or passkey; mandatory for every human
//! account), server-side sessions, throttling, step-up. Submodules: `passwords`, `totp`,
//! `sessions`, `step_up`; `crate::passkeys` holds the WebAuthn ceremonies.
//!
//! - Passwords: argon2id, m = 19 MiB, t = 2, p = 1, hashed on the blocking pool. Unknown logins
//!   are checked against a dummy hash so timing does not tell them apart, and get the same
//!   message as a wrong password.
//! - TOTP (RFC 6238, SHA-1, 6 digits, 30 s, ±1 step): each time step is accepted once per
//!   account (a conditional update in the database, safe across instances).
//! - Sessions: 256-bit random tokens; the database stores only their SHA-256, so a dump yields no
//!   usable session. A new token at each privilege change (password accepted, code accepted).
//!   30 min inactivity, 12 h absolute.
//! - Throttling, in the database (shared by instances), keyed pseudonyms only:
//!   - per login (known or not): each attempt, password or code, takes a place *before* it is
//!     checked (one atomic increment), so parallel guesses cannot all pass the check; a right
//!     password gives its place back, a completed login clears the count; 5 in 15 min;
//!   - per client address (behind trusted proxies only, IPv6 by /64; see `parcours_web`):
//!     failures slow that address's next wrong attempts down, never refuse a right password —
//!     a reverse proxy or an office's NAT puts everyone behind one address;
//!   - at most [`ARGON_PARALLEL`] password verifications at once and [`ARGON_WAITING`]
//!     waiting: beyond, "busy" (503) at once rather than a queue that grows.

mod passwords;
mod sessions;
mod step_up;
mod totp;

pub use passwords::{hash_password, ARGON_PARALLEL, ARGON_WAITING};
pub use totp::{totp_code, Enrolment};

use crate::Rule;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parcours_domain::Role;
use parcours_store::accounts::{self as acc, AccountRow};

use passwords::{verify_password, DUMMY_HASH};

use crate::audit::{Event, FAILED, OK, REFUSED};
use crate::{Actor, App, AppError, Ctx, Principal, Result};

pub const IDLE_TIMEOUT_S: i64 = 30 * 60;
pub const ABSOLUTE_TIMEOUT_S: i64 = 12 * 3600;
pub const THROTTLE_WINDOW_S: i64 = 15 * 60;
pub const MAX_FAILURES_PER_LOGIN: i64 = 5;
pub const MAX_FAILURES_PER_CLIENT: i64 = 30;

/// Where a session stands in the login: a closed list (its code is what the store keeps and
/// what the API answers as `etape`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// No account yet (it carries the login form's CSRF token).
    Anonymous,
    /// Password checked, second factor awaited.
    Code,
    /// Password checked, second factor to enrol.
    Enrol,
    /// Both factors: a principal.
    Authenticated,
}

impl Stage {
    pub fn code(self) -> &'static str {
        match self {
            Stage::Anonymous => "anonyme",
            Stage::Code => "code",
            Stage::Enrol => "enrolement",
            Stage::Authenticated => "authentifie",
        }
    }

    pub fn parse(code: &str) -> Option<Stage> {
        [
            Stage::Anonymous,
            Stage::Code,
            Stage::Enrol,
            Stage::Authenticated,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

impl serde::Serialize for Stage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

pub const STAGE_ANON: Stage = Stage::Anonymous;
pub const STAGE_CODE: Stage = Stage::Code;
pub const STAGE_ENROL: Stage = Stage::Enrol;
pub const STAGE_AUTH: Stage = Stage::Authenticated;

/// What the session holds, for the web layer.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub token_hash: Vec<u8>,
    pub stage: Stage,
    pub csrf: String,
    pub principal: Option<Principal>,
    pub login: Option<String>,
    /// The login was completed through the pages: this session has no business on the JSON
    /// API's identity routes (issue 15).
    pub via_pages: bool,
}

/// A new session: the token goes into the cookie, only its hash is stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub info: SessionInfo,
}

pub fn token_hash(token: &str) -> Vec<u8> {
    parcours_vault::sha256(token.as_bytes()).to_vec()
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(parcours_vault::random_bytes::<32>())
}

fn principal_of(a: &AccountRow, factor_at: Option<i64>) -> Result<Principal> {
    Ok(Principal {
        account_id: a.id,
        login: a.login.clone(),
        role: Role::parse(&a.role).ok_or_else(|| AppError::internal("rôle inconnu en base"))?,
        structure_id: a.structure_id,
        scope_region: a.scope_region.clone(),
        factor_at,
    })
}

/// The sensitive tier needs a second factor entered in the last 5 minutes.
pub const STEP_UP_S: i64 = 5 * 60;

impl App {
    /// First factor. On success the old session is destroyed and a new one (new token) waits
    /// for the second factor or its enrolment.
    pub async fn login_password(
        &self,
        ctx: &Ctx,
        old: Option<&SessionInfo>,
        login: &str,
        password: &str,
        client: &str,
    ) -> Result<NewSession> {
        let now = ctx.now.timestamp();
        let login = login.trim();
        let login_key = self.keys.login_key(login);
        let client_key = self.keys.pseudonym("client", client);
        let mut conn = self.store.acquire().await?;
        // The attempt is counted before the password is checked, atomically: parallel guesses
        // each take a place, and only the first MAX_FAILURES_PER_LOGIN of a window are checked.
        let attempts = acc::throttle_hit(&mut conn, &login_key, now, THROTTLE_WINDOW_S).await?;
        let from_client =
            acc::throttle_count(&mut conn, &client_key, now, THROTTLE_WINDOW_S).await?;
        let account = acc::by_login(&mut conn, login).await?;
        drop(conn);
        let actor = match &account {
            Some(a) => a.login.clone(),
            None => format!("inconnu:{}", hex::encode(&login_key[..6])),
        };
        if attempts > MAX_FAILURES_PER_LOGIN {
            self.audit_as_alone(ctx, &actor, "connexion.bloquee", REFUSED)
                .await?;
            return Err(AppError::Throttled);
        }
        let hash = match &account {
            // An account whose owner has not set her password yet (enrolment link) matches
            // no password, in the same time as any other.
            Some(a) if a.password_hash != crate::setup::UNUSABLE_PASSWORD => {
                a.password_hash.clone()
            }
            _ => DUMMY_HASH
                .get_or_try_init(|| hash_password(random_token()))
                .await?
                .clone(),
        };
        let ok = {
            let _slot = self.argon_slot()?;
            let _slot = _slot.acquire().await.map_err(AppError::internal)?;
            verify_password(hash, password.to_string()).await?
        };
        let account = account
            .filter(|a| ok && a.active && a.password_hash != crate::setup::UNUSABLE_PASSWORD);
        let Some(account) = account else {
            // The address's failures slow its next wrong attempts down; they never refuse a
            // right password (behind a proxy, or a shared office address, everyone shares it).
            if from_client >= MAX_FAILURES_PER_CLIENT {
                let extra = (from_client - MAX_FAILURES_PER_CLIENT + 1).min(25) as u64;
                tokio::time::sleep(std::time::Duration::from_millis(20 * extra)).await;
            }
            let mut tx = self.store.begin().await?;
            acc::throttle_hit(&mut tx, &client_key, now, THROTTLE_WINDOW_S).await?;
            self.audit_as(
                &mut tx,
                ctx,
                &actor,
                Event {
                    action: "connexion.mot_de_passe",
                    subject: None,
                    fields: "",
                    outcome: FAILED,
                    structure_id: None,
                },
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::InvalidCredentials);
        };
        self.expire_if_idle(ctx, &account).await?;
        if account.frozen_at.is_some() {
            // Only after the right password: a frozen account answers a wrong one as any other.
            self.audit_as_alone(ctx, &account.login, "connexion.compte_gele", REFUSED)
                .await?;
            return Err(AppError::Frozen);
        }
        if account.totp_secret.is_none() {
            // No trust on first use: the second factor is enrolled only in the session an
            // enrolment link opens (`enrolment`).
            self.audit_as_alone(
                ctx,
                &account.login,
                "connexion.inscription_inachevee",
                REFUSED,
            )
            .await?;
            return Err(AppError::Refused(Rule::EnrolmentIncomplete,
                "Votre inscription n'est pas terminée (second facteur non enrôlé) : demandez un nouveau lien d'inscription à votre direction.".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        // A right password is not a failure: give its place back.
        acc::throttle_undo(&mut tx, &login_key).await?;
        if let Some(o) = old {
            acc::session_delete(&mut tx, &o.token_hash).await?;
        }
        let stage = STAGE_CODE;
        let s = self
            .new_session(&mut tx, Some(&account), stage, now, false)
            .await?;
        self.audit_as(
            &mut tx,
            ctx,
            &account.login,
            Event {
                action: "connexion.mot_de_passe",
                subject: None,
                fields: "",
                outcome: OK,
                structure_id: account.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    pub(crate) async fn audit_as_alone(
        &self,
        ctx: &Ctx,
        actor: &str,
        action: &str,
        outcome: crate::audit::Outcome,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        self.audit_as(
            &mut tx,
            ctx,
            actor,
            Event {
                action,
                subject: None,
                fields: "",
                outcome,
                structure_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn session_account(
        &self,
        session: &SessionInfo,
        stage: Stage,
    ) -> Result<AccountRow> {
        if session.stage != stage {
            return Err(AppError::Unauthenticated);
        }
        let mut conn = self.store.acquire().await?;
        let row = acc::session_get(&mut conn, &session.token_hash)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let id = row.account_id.ok_or(AppError::Unauthenticated)?;
        acc::by_id(&mut conn, id)
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    /// Counts a second-factor attempt for the account before its code is checked (atomic: of
    /// parallel guesses, only the first MAX_FAILURES_PER_LOGIN of a window are checked); past
    /// the limit the attempt is refused unchecked — and still counted.
    pub(crate) async fn count_code_attempt(&self, ctx: &Ctx, account: &AccountRow) -> Result<()> {
        let now = ctx.now.timestamp();
        let mut conn = self.store.acquire().await?;
        let n = acc::throttle_hit(
            &mut conn,
            &self.keys.login_key(&account.login),
            now,
            THROTTLE_WINDOW_S,
        )
        .await?;
        if n > MAX_FAILURES_PER_LOGIN {
            drop(conn);
            self.audit_as_alone(ctx, &account.login, "connexion.bloquee", REFUSED)
                .await?;
            return Err(AppError::Throttled);
        }
        Ok(())
    }

    pub(crate) async fn second_factor_failed(
        &self,
        ctx: &Ctx,
        account: &AccountRow,
        action: &str,
    ) -> Result<AppError> {
        let now = ctx.now.timestamp();
        let login_key = self.keys.login_key(&account.login);
        let mut tx = self.store.begin().await?;
        // The attempt was counted before the code was checked (`count_code_attempt`).
        let n = acc::throttle_count(&mut tx, &login_key, now, THROTTLE_WINDOW_S).await?;
        self.audit_as(
            &mut tx,
            ctx,
            &account.login,
            Event {
                action,
                subject: None,
                fields: "",
                outcome: FAILED,
                structure_id: account.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        // The session stays: its next attempts are counted and refused until the window ends
        // (a new session would get no more: the count is the login's).
        Ok(if n >= MAX_FAILURES_PER_LOGIN {
            AppError::Throttled
        } else {
            AppError::InvalidCode
        })
    }

    /// Second factor. On success a new session token, fully authenticated.
    /// `via_pages`: the login is completed through the pages (not the JSON API).
    pub async fn login_code(
        &self,
        ctx: &Ctx,
        session: &SessionInfo,
        code: &str,
        via_pages: bool,
    ) -> Result<NewSession> {
        let account = self.session_account(session, STAGE_CODE).await?;
        if !self.code_allowed(&account).await? {
            self.audit_as_alone(ctx, &account.login, "connexion.second_facteur", REFUSED)
                .await?;
            return Err(AppError::Refused(Rule::PasskeyRequired,
                "Votre structure exige la clé d'accès : utilisez « Se connecter avec ma clé d'accès ».".into(),
            ));
        }
        self.verify_enrolled_code(ctx, &account, code, "connexion.second_facteur")
            .await?;
        self.finish_login(
            ctx,
            session,
            &account,
            "connexion.second_facteur",
            via_pages,
        )
        .await
    }

    pub(crate) async fn finish_login(
        &self,
        ctx: &Ctx,
        session: &SessionInfo,
        account: &AccountRow,
        action: &str,
        via_pages: bool,
    ) -> Result<NewSession> {
        let mut tx = self.store.begin().await?;
        acc::session_delete(&mut tx, &session.token_hash).await?;
        acc::reset_failures(&mut tx, account.id).await?;
        acc::set_last_login(&mut tx, account.id, ctx.now.timestamp()).await?;
        acc::throttle_clear(&mut tx, &self.keys.login_key(&account.login)).await?;
        let s = self
            .new_session(
                &mut tx,
                Some(account),
                STAGE_AUTH,
                ctx.now.timestamp(),
                via_pages,
            )
            .await?;
        self.audit_as(
            &mut tx,
            ctx,
            &account.login,
            Event {
                action,
                subject: None,
                fields: "",
                outcome: OK,
                structure_id: account.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// The principal of an authenticated session, or `Unauthenticated`.
    pub fn require_principal(session: Option<&SessionInfo>) -> Result<Principal> {
        session
            .and_then(|s| s.principal.clone())
            .ok_or(AppError::Unauthenticated)
    }

    pub fn ctx_for(
        principal: Option<Principal>,
        request_id: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Ctx {
        Ctx {
            actor: principal.map(Actor::Account).unwrap_or(Actor::Anonymous),
            request_id,
            now,
            trace: crate::Trace::default(),
        }
    }

    /// Keyed pseudonyms of a session (by its token's hash) and of a client address, for the
    /// audit entries: the same session or address always gives the same pseudonym, and without
    /// the audit key a stolen database cannot tell which address it was (an IPv4 address alone
    /// would be found by trying them all).
    pub fn trace(&self, token_hash: Option<&[u8]>, client: &str) -> crate::Trace {
        let reference = |kind: &str, value: &[u8]| {
            let mut data = format!("parcours/audit-trace/{kind}/").into_bytes();
            data.extend_from_slice(value);
            let mac = parcours_vault::hmac_sha256(self.keys.audit_mac.expose(), &data);
            hex::encode(&mac[..8])
        };
        crate::Trace {
            session: token_hash.map(|t| reference("session", t)),
            client: (!client.is_empty()).then(|| reference("client", client.as_bytes())),
        }
    }
}
