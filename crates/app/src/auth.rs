//! Login with password then TOTP (mandatory for every human account), server-side sessions,
//! throttling.
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

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parcours_domain::{Role, ValidationErrors};
use parcours_store::accounts::{self as acc, AccountRow, SessionRow};
use totp_rs::{Algorithm as TotpAlg, Secret, TOTP};

use crate::audit::{Event, FAILED, OK, REFUSED};
use crate::{Actor, App, AppError, Ctx, Principal, Result};

pub const IDLE_TIMEOUT_S: i64 = 30 * 60;
pub const ABSOLUTE_TIMEOUT_S: i64 = 12 * 3600;
pub const THROTTLE_WINDOW_S: i64 = 15 * 60;
pub const MAX_FAILURES_PER_LOGIN: i64 = 5;
pub const MAX_FAILURES_PER_CLIENT: i64 = 30;

/// Password verifications at once, and waiting for a place (see `App::argon_slot`).
pub const ARGON_PARALLEL: usize = 4;
pub const ARGON_WAITING: usize = 64;

/// A place in the queue of password verifications; leaving it (drop) frees the place.
pub(crate) struct ArgonTicket<'a>(&'a App);

impl ArgonTicket<'_> {
    pub(crate) async fn acquire(
        &self,
    ) -> std::result::Result<tokio::sync::SemaphorePermit<'_>, tokio::sync::AcquireError> {
        self.0.argon_permits.acquire().await
    }
}

impl Drop for ArgonTicket<'_> {
    fn drop(&mut self) {
        self.0
            .argon_waiting
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

pub const STAGE_ANON: &str = "anonyme";
pub const STAGE_CODE: &str = "code";
pub const STAGE_ENROL: &str = "enrolement";
pub const STAGE_AUTH: &str = "authentifie";

fn argon() -> Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(AppError::internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password on the blocking pool (argon2 takes tens of milliseconds by design).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&parcours_vault::random_bytes::<16>())
            .map_err(AppError::internal)?;
        Ok(argon()?
            .hash_password(password.as_bytes(), &salt)
            .map_err(AppError::internal)?
            .to_string())
    })
    .await
    .map_err(AppError::internal)?
}

async fn verify_password(hash: String, password: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(AppError::internal)?;
        Ok(argon()?
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(AppError::internal)?
}

static DUMMY_HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

fn totp_for(secret: &[u8]) -> Result<TOTP> {
    // new_unchecked: 160-bit secrets are what authenticator apps expect; no validation needed.
    Ok(TOTP::new_unchecked(
        TotpAlg::SHA1,
        6,
        1,
        30,
        secret.to_vec(),
    ))
}

/// The code valid at a given unix time for a secret (used by the demo helper and tests).
pub fn totp_code(secret: &[u8], unix: u64) -> Result<String> {
    Ok(totp_for(secret)?.generate(unix))
}

/// What the session holds, for the web layer.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub token_hash: Vec<u8>,
    pub stage: String,
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

/// Enrolment material shown once: the secret as text and the otpauth URL (for the QR code).
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
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
    pub(crate) async fn new_session(
        &self,
        conn: &mut parcours_store::Conn,
        account: Option<&AccountRow>,
        stage: &str,
        now: i64,
        via_pages: bool,
    ) -> Result<NewSession> {
        let token = random_token();
        let row = SessionRow {
            token_hash: token_hash(&token),
            account_id: account.map(|a| a.id),
            stage: stage.to_string(),
            csrf: random_token(),
            created_at: now,
            last_seen: now,
            pending_secret: None,
            via_pages,
            // A fully authenticated session starts with the factor just entered.
            factor_at: (stage == STAGE_AUTH).then_some(now),
        };
        acc::session_insert(conn, &row).await?;
        Ok(NewSession {
            token,
            info: SessionInfo {
                token_hash: row.token_hash,
                stage: row.stage,
                csrf: row.csrf,
                principal: match (stage, account) {
                    (STAGE_AUTH, Some(a)) => Some(principal_of(a, row.factor_at)?),
                    _ => None,
                },
                login: account.map(|a| a.login.clone()),
                via_pages,
            },
        })
    }

    /// An anonymous session, so that the login form carries a CSRF token.
    pub async fn start_anonymous_session(&self, ctx: &Ctx) -> Result<NewSession> {
        let mut conn = self.store.acquire().await?;
        self.new_session(&mut conn, None, STAGE_ANON, ctx.now.timestamp(), false)
            .await
    }

    /// Loads a session from its cookie token, enforcing both timeouts.
    pub async fn load_session(&self, token: &str, ctx: &Ctx) -> Result<Option<SessionInfo>> {
        let now = ctx.now.timestamp();
        let h = token_hash(token);
        let mut conn = self.store.acquire().await?;
        let Some(s) = acc::session_get(&mut conn, &h).await? else {
            return Ok(None);
        };
        if now - s.last_seen > IDLE_TIMEOUT_S || now - s.created_at > ABSOLUTE_TIMEOUT_S {
            acc::session_delete(&mut conn, &h).await?;
            return Ok(None);
        }
        if now - s.last_seen >= 30 {
            acc::session_touch(&mut conn, &h, now).await?;
        }
        let account = match s.account_id {
            Some(id) => acc::by_id(&mut conn, id).await?,
            None => None,
        };
        if let Some(a) = &account {
            // A frozen account's sessions are deleted when it is frozen; this also covers a
            // session created by a request that raced the freeze.
            if !a.active || a.frozen_at.is_some() {
                acc::session_delete(&mut conn, &h).await?;
                return Ok(None);
            }
        }
        Ok(Some(SessionInfo {
            principal: match (&account, s.stage.as_str()) {
                (Some(a), STAGE_AUTH) => Some(principal_of(a, s.factor_at)?),
                _ => None,
            },
            login: account.map(|a| a.login),
            via_pages: s.via_pages,
            token_hash: s.token_hash,
            stage: s.stage,
            csrf: s.csrf,
        }))
    }

    pub async fn logout(&self, ctx: &Ctx, session: &SessionInfo) -> Result<()> {
        let mut tx = self.store.begin().await?;
        acc::session_delete(&mut tx, &session.token_hash).await?;
        if session.principal.is_some() {
            self.audit(
                &mut tx,
                ctx,
                Event {
                    action: "deconnexion",
                    subject: None,
                    fields: "",
                    outcome: OK,
                    structure_id: None,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

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
            return Err(AppError::Refused(
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
        outcome: &str,
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
        stage: &str,
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

    /// A place among the password verifications running now (argon2 takes tens of
    /// milliseconds and 19 MiB each): at most [`ARGON_PARALLEL`] at once, at most
    /// [`ARGON_WAITING`] waiting; beyond, the login is answered "busy" at once.
    fn argon_slot(&self) -> Result<ArgonTicket<'_>> {
        let waiting = self
            .argon_waiting
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let ticket = ArgonTicket(self);
        if waiting >= ARGON_WAITING {
            return Err(AppError::Busy);
        }
        Ok(ticket)
    }

    /// Checks a password against an account's hash, within the bounded verification pool.
    pub(crate) async fn check_password(&self, hash: &str, password: &str) -> Result<bool> {
        let ticket = self.argon_slot()?;
        let _permit = ticket.acquire().await.map_err(AppError::internal)?;
        verify_password(hash.to_string(), password.to_string()).await
    }

    /// Checks a code against a secret for steps t-1, t, t+1 and consumes the matching step.
    async fn check_and_consume(
        &self,
        account: &AccountRow,
        secret: &[u8],
        code: &str,
        ctx: &Ctx,
    ) -> Result<Option<i64>> {
        let code = code.trim().replace(' ', "");
        if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Ok(None);
        }
        let totp = totp_for(secret)?;
        let now = ctx.now.timestamp();
        let step = now.div_euclid(30);
        for s in [step - 1, step, step + 1] {
            let expected = totp.generate((s * 30).max(0) as u64);
            if constant_eq(expected.as_bytes(), code.as_bytes()) {
                let mut conn = self.store.acquire().await?;
                return Ok(if acc::consume_totp_step(&mut conn, account.id, s).await? {
                    Some(s)
                } else {
                    None
                });
            }
        }
        Ok(None)
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
            return Err(AppError::Refused(
                "Votre structure exige la clé d'accès : utilisez « Se connecter avec ma clé d'accès ».".into(),
            ));
        }
        self.count_code_attempt(ctx, &account).await?;
        let sealed = account
            .totp_secret
            .clone()
            .ok_or(AppError::Unauthenticated)?;
        let secret = self.keys.accounts.open(&sealed, &totp_ad(account.id))?;
        if self
            .check_and_consume(&account, &secret, code, ctx)
            .await?
            .is_none()
        {
            return Err(self
                .second_factor_failed(ctx, &account, "connexion.second_facteur")
                .await?);
        }
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

    /// Enrolment, step 1: a fresh secret kept (encrypted) in the session until confirmed.
    pub async fn enrolment_start(&self, session: &SessionInfo) -> Result<Enrolment> {
        let account = self.session_account(session, STAGE_ENROL).await?;
        let mut conn = self.store.acquire().await?;
        let row = acc::session_get(&mut conn, &session.token_hash)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let ad = pending_ad(&session.token_hash);
        let secret = match row.pending_secret {
            Some(p) => self.keys.accounts.open(&p, &ad)?.to_vec(),
            None => {
                let s = parcours_vault::random_bytes::<20>().to_vec();
                acc::session_set_pending(
                    &mut conn,
                    &session.token_hash,
                    Some(self.keys.accounts.seal(&s, &ad)),
                )
                .await?;
                s
            }
        };
        let b32 = Secret::Raw(secret).to_encoded().to_string();
        let url = format!(
            "otpauth://totp/Parcours:{}?secret={}&issuer=Parcours&algorithm=SHA1&digits=6&period=30",
            url_escape(&account.login),
            b32
        );
        Ok(Enrolment {
            secret_base32: b32,
            otpauth_url: url,
        })
    }

    /// Enrolment, step 2: the first code proves the authenticator holds the secret.
    pub async fn enrolment_confirm(
        &self,
        ctx: &Ctx,
        session: &SessionInfo,
        code: &str,
        via_pages: bool,
    ) -> Result<NewSession> {
        let account = self.session_account(session, STAGE_ENROL).await?;
        self.count_code_attempt(ctx, &account).await?;
        let mut conn = self.store.acquire().await?;
        let row = acc::session_get(&mut conn, &session.token_hash)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        drop(conn);
        let pending = row.pending_secret.ok_or(AppError::InvalidCode)?;
        let secret = self
            .keys
            .accounts
            .open(&pending, &pending_ad(&session.token_hash))?;
        let Some(step) = self.check_and_consume(&account, &secret, code, ctx).await? else {
            return Err(self
                .second_factor_failed(ctx, &account, "enrolement.second_facteur")
                .await?);
        };
        let mut tx = self.store.begin().await?;
        acc::set_totp(
            &mut tx,
            account.id,
            &self.keys.accounts.seal(&secret, &totp_ad(account.id)),
            step,
        )
        .await?;
        tx.commit().await?;
        self.finish_login(
            ctx,
            session,
            &account,
            "enrolement.second_facteur",
            via_pages,
        )
        .await
    }

    /// Step-up: the owner of an authenticated session enters her second factor again; the
    /// sensitive tier is open to the session for [`STEP_UP_S`]. Counted and throttled as a
    /// login code.
    pub async fn confirm_factor(&self, ctx: &Ctx, session: &SessionInfo, code: &str) -> Result<()> {
        let account = self.session_account(session, STAGE_AUTH).await?;
        self.count_code_attempt(ctx, &account).await?;
        let sealed = account
            .totp_secret
            .clone()
            .ok_or(AppError::Unauthenticated)?;
        let secret = self.keys.accounts.open(&sealed, &totp_ad(account.id))?;
        if self
            .check_and_consume(&account, &secret, code, ctx)
            .await?
            .is_none()
        {
            return Err(self
                .second_factor_failed(ctx, &account, "confirmation.second_facteur")
                .await?);
        }
        let mut tx = self.store.begin().await?;
        acc::session_set_factor(&mut tx, &session.token_hash, ctx.now.timestamp()).await?;
        acc::throttle_clear(&mut tx, &self.keys.login_key(&account.login)).await?;
        self.audit_as(
            &mut tx,
            ctx,
            &account.login,
            Event {
                action: "confirmation.second_facteur",
                subject: None,
                fields: "",
                outcome: OK,
                structure_id: account.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The sensitive tier (revealing a NIR, entering an IBAN, a payment file with IBANs, a bulk
    /// export): a second factor entered in the last [`STEP_UP_S`] and a stated reason. Returns
    /// the reason, cleaned for the audit entry. Refusals are audited.
    pub(crate) fn sensitive(&self, ctx: &Ctx, action: &str, reason: &str) -> Result<String> {
        let fresh = Self::factor_is_fresh(ctx);
        let refuse = |why: &str| {
            self.audit_refusal(
                ctx,
                Event {
                    action,
                    subject: None,
                    fields: why,
                    outcome: REFUSED,
                    structure_id: None,
                },
            );
        };
        if !fresh {
            refuse("confirmation_requise");
            return Err(AppError::StepUpRequired);
        }
        let r = reason.trim();
        if r.chars().count() < 5 || r.chars().count() > 300 {
            refuse("motif_manquant");
            let mut e = ValidationErrors::default();
            e.push(
                "motif",
                "requis",
                "Indiquez le motif de cette opération sensible (5 à 300 caractères).",
            );
            return Err(e.into());
        }
        Ok(r.replace([',', '\r', '\n'], " "))
    }

    fn factor_is_fresh(ctx: &Ctx) -> bool {
        match &ctx.actor {
            Actor::Account(p) => p
                .factor_at
                .is_some_and(|t| ctx.now.timestamp() - t <= STEP_UP_S),
            // The operator at the console has no second factor to give (and no such use case
            // is open to it).
            _ => false,
        }
    }

    /// A second factor entered in the last [`STEP_UP_S`], without a reason (adding a passkey).
    pub(crate) fn require_fresh_factor(&self, ctx: &Ctx, action: &str) -> Result<()> {
        if Self::factor_is_fresh(ctx) {
            return Ok(());
        }
        self.audit_refusal(
            ctx,
            Event {
                action,
                subject: None,
                fields: "confirmation_requise",
                outcome: REFUSED,
                structure_id: None,
            },
        );
        Err(AppError::StepUpRequired)
    }

    /// Sets an account's TOTP secret directly (demo accounts only; see `setup`).
    pub async fn set_totp_secret(&self, account_id: i64, secret: &[u8]) -> Result<()> {
        let mut conn = self.store.acquire().await?;
        acc::set_totp(
            &mut conn,
            account_id,
            &self.keys.accounts.seal(secret, &totp_ad(account_id)),
            0,
        )
        .await?;
        Ok(())
    }

    /// Decrypts an account's TOTP secret (demo helper only; see `setup::demo_code`).
    pub(crate) async fn totp_secret_of(&self, login: &str) -> Result<Vec<u8>> {
        let mut conn = self.store.acquire().await?;
        let a = acc::by_login(&mut conn, login)
            .await?
            .ok_or(AppError::NotFound)?;
        let sealed = a.totp_secret.ok_or_else(|| {
            AppError::Refused("ce compte n'a pas encore enrôlé son second facteur".into())
        })?;
        Ok(self.keys.accounts.open(&sealed, &totp_ad(a.id))?.to_vec())
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
        }
    }
}

fn totp_ad(account_id: i64) -> Vec<u8> {
    format!("parcours/totp/{account_id}").into_bytes()
}

fn pending_ad(token_hash: &[u8]) -> Vec<u8> {
    let mut v = b"parcours/totp-pending/".to_vec();
    v.extend_from_slice(token_hash);
    v
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl App {
    /// Deletes sessions past either timeout.
    pub async fn purge_sessions(&self, now: chrono::DateTime<chrono::Utc>) -> Result<u64> {
        let mut conn = self.store.acquire().await?;
        let t = now.timestamp();
        acc::throttle_purge(&mut conn, t - THROTTLE_WINDOW_S).await?;
        Ok(acc::sessions_purge(&mut conn, t - IDLE_TIMEOUT_S, t - ABSOLUTE_TIMEOUT_S).await?)
    }
}
