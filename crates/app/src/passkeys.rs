//! Passkeys (WebAuthn, issue 16): a phishing-resistant second factor — the browser signs the
//! server's challenge for this site's origin only, so a copied login page gets nothing usable.
//!
//! - Registered from **Mon compte** by an authenticated account whose second factor is less than
//!   5 minutes old (adding a factor is itself sensitive); listed and revoked there.
//! - At login, after the password, the passkey replaces the 6-digit code.
//! - A structure may require them (`parcours structure cles --code C --obligatoires oui`): its
//!   accounts that hold a passkey can no longer log in with a code (a phished code is useless);
//!   an account without one still uses its code, to register one.
//!
//! The relying party is the service's public address (`PARCOURS_PUBLIC_URL`; by default
//! `http://localhost:<port>`, since browsers refuse an IP address as relying party). The state of
//! a ceremony stays server-side, sealed with the accounts key in the session row, so a client
//! cannot replay or forge it. Credentials hold public keys and counters only.

use crate::Rule;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parcours_store::accounts as acc;
use parcours_store::passkeys::{self as pk, PasskeyRow};
use serde::Serialize;
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    RequestChallengeResponse, Url, Uuid, WebauthnBuilder,
};
/// The browser's answers, as the web layer deserialises them.
pub use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::audit::{Event, OK};
use crate::auth::{NewSession, SessionInfo, STAGE_AUTH, STAGE_CODE};
use crate::{Actor, App, AppError, Ctx, Result};

/// A passkey as its owner sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

fn not_configured() -> AppError {
    AppError::Refused(Rule::Configuration,
        "Les clés d'accès ne sont pas disponibles sur ce serveur (adresse publique non configurée : PARCOURS_PUBLIC_URL).".into(),
    )
}

fn ceremony_failed() -> AppError {
    AppError::Refused(
        Rule::PasskeyInvalid,
        "La clé d'accès n'a pas pu être vérifiée : recommencez.".into(),
    )
}

fn state_ad(purpose: &str, token_hash: &[u8]) -> Vec<u8> {
    let mut v = format!("parcours/webauthn/{purpose}/").into_bytes();
    v.extend_from_slice(token_hash);
    v
}

/// A stable WebAuthn user handle for an account (never its login).
fn user_handle(account_id: i64) -> Uuid {
    Uuid::from_u64_pair(0x7061_7263_6f75_7273, account_id as u64)
}

impl App {
    /// Sets the relying party from the service's public address (`serve`, `demo`).
    pub fn configure_passkeys(&self, public_url: &str) -> Result<()> {
        let url = Url::parse(public_url).map_err(|e| {
            AppError::Refused(
                Rule::Configuration,
                format!("adresse publique invalide « {public_url} » : {e}"),
            )
        })?;
        let host = url
            .host_str()
            .ok_or_else(|| {
                AppError::Refused(
                    Rule::Configuration,
                    "adresse publique sans nom d'hôte".into(),
                )
            })?
            .to_string();
        let w = WebauthnBuilder::new(&host, &url)
            .and_then(|b| b.rp_name("Parcours").build())
            .map_err(|e| {
                AppError::Refused(Rule::Configuration, format!(
                    "clés d'accès : l'adresse publique doit porter un nom de domaine (pas une adresse IP) : {e}"
                ))
            })?;
        let _ = self.webauthn.set(w);
        Ok(())
    }

    fn relying_party(&self) -> Result<&webauthn_rs::Webauthn> {
        self.webauthn.get().ok_or_else(not_configured)
    }

    async fn keep_state<T: Serialize>(
        &self,
        session: &SessionInfo,
        purpose: &str,
        state: &T,
    ) -> Result<()> {
        let json = serde_json::to_vec(state).map_err(AppError::internal)?;
        let sealed = self
            .keys
            .accounts
            .seal(&json, &state_ad(purpose, &session.token_hash));
        let mut conn = self.store.acquire().await?;
        acc::session_set_pending(&mut conn, &session.token_hash, Some(sealed)).await?;
        Ok(())
    }

    /// Takes the state of the session's ceremony (once: it is cleared).
    async fn take_state<T: serde::de::DeserializeOwned>(
        &self,
        session: &SessionInfo,
        purpose: &str,
    ) -> Result<T> {
        let mut conn = self.store.acquire().await?;
        let row = acc::session_get(&mut conn, &session.token_hash)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        acc::session_set_pending(&mut conn, &session.token_hash, None).await?;
        let sealed = row.pending_secret.ok_or_else(ceremony_failed)?;
        let json = self
            .keys
            .accounts
            .open(&sealed, &state_ad(purpose, &session.token_hash))
            .map_err(|_| ceremony_failed())?;
        serde_json::from_slice(&json).map_err(|_| ceremony_failed())
    }

    fn passkeys_of(rows: &[PasskeyRow]) -> Vec<Passkey> {
        rows.iter()
            .filter_map(|r| serde_json::from_str::<Passkey>(&r.credential).ok())
            .collect()
    }

    /// Registration, step 1: the options for `navigator.credentials.create`.
    pub async fn passkey_register_start(
        &self,
        ctx: &Ctx,
        session: &SessionInfo,
    ) -> Result<CreationChallengeResponse> {
        self.require_fresh_factor(ctx, "cle.enregistrement")?;
        let rp = self.relying_party()?;
        let account = self.session_account(session, STAGE_AUTH).await?;
        let existing = {
            let mut conn = self.store.acquire().await?;
            pk::of_account(&mut conn, account.id).await?
        };
        let exclude: Vec<_> = Self::passkeys_of(&existing)
            .iter()
            .map(|p| p.cred_id().clone())
            .collect();
        let (options, state) = rp
            .start_passkey_registration(
                user_handle(account.id),
                &account.login,
                &account.login,
                Some(exclude),
            )
            .map_err(|e| AppError::Internal(format!("webauthn: {e}")))?;
        self.keep_state(session, "enregistrement", &state).await?;
        Ok(options)
    }

    /// Registration, step 2: the authenticator's answer; the passkey is the account's.
    pub async fn passkey_register_finish(
        &self,
        ctx: &Ctx,
        session: &SessionInfo,
        name: &str,
        answer: &RegisterPublicKeyCredential,
    ) -> Result<PasskeyView> {
        self.require_fresh_factor(ctx, "cle.enregistrement")?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            let mut e = parcours_domain::ValidationErrors::default();
            e.push(
                "nom",
                "requis",
                "Nommez la clé (1 à 60 caractères : « ordinateur du bureau », « téléphone »…).",
            );
            return Err(e.into());
        }
        let rp = self.relying_party()?;
        let account = self.session_account(session, STAGE_AUTH).await?;
        let state: PasskeyRegistration = self.take_state(session, "enregistrement").await?;
        let passkey = rp
            .finish_passkey_registration(answer, &state)
            .map_err(|_| ceremony_failed())?;
        let row = PasskeyRow {
            id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            account_id: account.id,
            name: name.to_string(),
            credential: serde_json::to_string(&passkey).map_err(AppError::internal)?,
            created_at: ctx.now.timestamp(),
            last_used_at: None,
        };
        let mut tx = self.store.begin().await?;
        pk::insert(&mut tx, &row).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "cle.enregistrement",
                subject: None,
                fields: &format!("cle:{}", &row.id[..row.id.len().min(12)]),
                outcome: OK,
                structure_id: account.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(PasskeyView {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: None,
        })
    }

    /// The actor's own passkeys.
    pub async fn my_passkeys(&self, ctx: &Ctx) -> Result<Vec<PasskeyView>> {
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Unauthenticated);
        };
        let mut conn = self.store.acquire().await?;
        Ok(pk::of_account(&mut conn, p.account_id)
            .await?
            .into_iter()
            .map(|r| PasskeyView {
                id: r.id,
                name: r.name,
                created_at: r.created_at,
                last_used_at: r.last_used_at,
            })
            .collect())
    }

    /// Revokes one of the actor's passkeys.
    pub async fn revoke_my_passkey(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Unauthenticated);
        };
        let mut tx = self.store.begin().await?;
        if !pk::delete(&mut tx, p.account_id, id.trim()).await? {
            return Err(AppError::NotFound);
        }
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "cle.suppression",
                subject: None,
                fields: &format!("cle:{}", &id.trim()[..id.trim().len().min(12)]),
                outcome: OK,
                structure_id: p.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Login with a passkey, step 1 (after the password): the options for
    /// `navigator.credentials.get`.
    pub async fn passkey_login_start(
        &self,
        session: &SessionInfo,
    ) -> Result<RequestChallengeResponse> {
        let rp = self.relying_party()?;
        let account = self.session_account(session, STAGE_CODE).await?;
        let keys = {
            let mut conn = self.store.acquire().await?;
            Self::passkeys_of(&pk::of_account(&mut conn, account.id).await?)
        };
        if keys.is_empty() {
            return Err(AppError::Refused(
                Rule::NoPasskey,
                "Aucune clé d'accès n'est enregistrée pour ce compte : saisissez votre code."
                    .into(),
            ));
        }
        let (options, state) = rp
            .start_passkey_authentication(&keys)
            .map_err(|e| AppError::Internal(format!("webauthn: {e}")))?;
        self.keep_state(session, "connexion", &state).await?;
        Ok(options)
    }

    /// Login with a passkey, step 2: the signed challenge; counted and throttled as a code.
    pub async fn passkey_login_finish(
        &self,
        ctx: &Ctx,
        session: &SessionInfo,
        answer: &PublicKeyCredential,
        via_pages: bool,
    ) -> Result<NewSession> {
        let rp = self.relying_party()?;
        let account = self.session_account(session, STAGE_CODE).await?;
        self.count_code_attempt(ctx, &account).await?;
        let state: PasskeyAuthentication = self.take_state(session, "connexion").await?;
        let result = match rp.finish_passkey_authentication(answer, &state) {
            Ok(r) => r,
            Err(_) => {
                return Err(self
                    .second_factor_failed(ctx, &account, "connexion.cle")
                    .await?)
            }
        };
        let id = URL_SAFE_NO_PAD.encode(result.cred_id());
        {
            let mut tx = self.store.begin().await?;
            let rows = pk::of_account(&mut tx, account.id).await?;
            if let Some(row) = rows.iter().find(|r| r.id == id) {
                let mut key: Passkey =
                    serde_json::from_str(&row.credential).map_err(AppError::internal)?;
                key.update_credential(&result);
                pk::used(
                    &mut tx,
                    &row.id,
                    &serde_json::to_string(&key).map_err(AppError::internal)?,
                    ctx.now.timestamp(),
                )
                .await?;
            }
            tx.commit().await?;
        }
        self.finish_login(ctx, session, &account, "connexion.cle", via_pages)
            .await
    }

    /// Whether a code (TOTP) may complete this account's login: not when its structure
    /// requires passkeys and it holds one.
    pub(crate) async fn code_allowed(&self, account: &acc::AccountRow) -> Result<bool> {
        let Some(structure) = account.structure_id else {
            return Ok(true);
        };
        let mut conn = self.store.acquire().await?;
        if !pk::required(&mut conn, structure).await? {
            return Ok(true);
        }
        Ok(pk::of_account(&mut conn, account.id).await?.is_empty())
    }

    /// Requires passkeys for a structure's accounts (operator).
    pub async fn require_passkeys(&self, ctx: &Ctx, code: &str, required: bool) -> Result<()> {
        let s = self.structure_by_code(code).await?.ok_or_else(|| {
            AppError::Refused(
                Rule::UnknownStructure,
                format!("Structure inconnue : {}", code.trim()),
            )
        })?;
        let mut tx = self.store.begin().await?;
        pk::set_required(&mut tx, s.id, required).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "structure.cles_obligatoires",
                subject: Some(&s.code),
                fields: if required { "oui" } else { "non" },
                outcome: OK,
                structure_id: Some(s.id),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
