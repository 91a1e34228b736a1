//! Passwords: argon2id (m = 19 MiB, t = 2, p = 1) on the blocking pool, a bounded number of
//! verifications at once, a dummy hash for unknown logins (same time, same answer).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::{App, AppError, Result};

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

pub(crate) async fn verify_password(hash: String, password: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(AppError::internal)?;
        Ok(argon()?
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(AppError::internal)?
}

pub(crate) static DUMMY_HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

impl App {
    /// A place among the password verifications running now (argon2 takes tens of
    /// milliseconds and 19 MiB each): at most [`ARGON_PARALLEL`] at once, at most
    /// [`ARGON_WAITING`] waiting; beyond, the login is answered "busy" at once.
    pub(crate) fn argon_slot(&self) -> Result<ArgonTicket<'_>> {
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
}
