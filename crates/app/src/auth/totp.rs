//! The TOTP second factor (RFC 6238, SHA-1, 6 digits, 30 s, ±1 step): codes, each time step
//! accepted once per account (a conditional update, safe across instances), and enrolment in
//! the session an enrolment link opens.

use crate::Rule;
use parcours_store::accounts::{self as acc, AccountRow};
use totp_rs::{Algorithm as TotpAlg, Secret, TOTP};

use super::{NewSession, SessionInfo, STAGE_ENROL};
use crate::{App, AppError, Ctx, Result};

pub(crate) fn totp_for(secret: &[u8]) -> Result<TOTP> {
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

/// Enrolment material shown once: the secret as text and the otpauth URL (for the QR code).
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
}

impl App {
    /// Checks a code against an account's enrolled secret: the attempt counted before the
    /// check (throttled), the time step consumed, a failure audited as `action`.
    pub(crate) async fn verify_enrolled_code(
        &self,
        ctx: &Ctx,
        account: &AccountRow,
        code: &str,
        action: &str,
    ) -> Result<()> {
        self.count_code_attempt(ctx, account).await?;
        let sealed = account
            .totp_secret
            .clone()
            .ok_or(AppError::Unauthenticated)?;
        let secret = self.keys.accounts.open(&sealed, &totp_ad(account.id))?;
        if self
            .check_and_consume(account, &secret, code, ctx)
            .await?
            .is_none()
        {
            return Err(self.second_factor_failed(ctx, account, action).await?);
        }
        Ok(())
    }

    /// Checks a code against a secret for steps t-1, t, t+1 and consumes the matching step.
    pub(crate) async fn check_and_consume(
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
            AppError::Refused(
                Rule::EnrolmentIncomplete,
                "ce compte n'a pas encore enrôlé son second facteur".into(),
            )
        })?;
        Ok(self.keys.accounts.open(&sealed, &totp_ad(a.id))?.to_vec())
    }
}

pub(crate) fn totp_ad(account_id: i64) -> Vec<u8> {
    format!("parcours/totp/{account_id}").into_bytes()
}

pub(crate) fn pending_ad(token_hash: &[u8]) -> Vec<u8> {
    let mut v = b"parcours/totp-pending/".to_vec();
    v.extend_from_slice(token_hash);
    v
}

pub(crate) fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
