//! Safe enrolment (issue 16): no initial password ever exists.
//!
//! A new account (approved request, or the first admin of an empty instance) and a reset
//! account get a **single-use link valid 24 hours**. Its token is 256 random bits; only its
//! SHA-256 is stored. Opening it, the person chooses her password (the rules of
//! `lifecycle::password_problem`) and, in the session the link opens, enrols her second factor.
//! The link is used up at the password step (an atomic conditional update, so two uses race
//! for one success); an account whose owner stops before enrolling her factor cannot log in
//! (there is no trust on first use) and needs a new link — a reset request.

use crate::Rule;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parcours_domain::{Role, ValidationErrors};
use parcours_store::accounts as acc;
use parcours_store::requests as rq;

use crate::audit::{Event, FAILED, OK};
use crate::auth::{NewSession, STAGE_ENROL};
use crate::setup::{NewUser, UNUSABLE_PASSWORD};
use crate::{App, AppError, Ctx, Result};

/// An enrolment link is valid 24 hours.
pub const LINK_VALIDITY_S: i64 = 24 * 3600;

/// The path of the page an enrolment link opens (the token follows).
pub const LINK_PATH: &str = "/inscription/";

/// What the enrolment page needs to know of a link before it is used.
#[derive(Debug, Clone)]
pub struct LinkInfo {
    pub login: String,
    pub purpose: String,
    pub expires_at: i64,
}

fn invalid_link() -> AppError {
    AppError::Refused(Rule::LinkInvalid,
        "Ce lien d'inscription n'est plus valable (déjà utilisé, remplacé ou expiré) : demandez-en un nouveau à votre direction."
            .into(),
    )
}

impl App {
    /// A new link for an account (inside the caller's transaction); its earlier links stop
    /// working. Returns the token, shown once.
    pub(crate) async fn issue_link(
        &self,
        tx: &mut parcours_store::Conn,
        account_id: i64,
        purpose: &str,
        ctx: &Ctx,
    ) -> Result<String> {
        let token = URL_SAFE_NO_PAD.encode(parcours_vault::random_bytes::<32>());
        let now = ctx.now.timestamp();
        rq::link_insert(
            tx,
            &crate::auth::token_hash(&token),
            account_id,
            purpose,
            now,
            now + LINK_VALIDITY_S,
        )
        .await?;
        Ok(token)
    }

    /// The first account of an empty instance: an administrator, created alone by the
    /// operator (audited as such, with the operating-system user). Refused once any account
    /// exists: every later account is a four-eyes request. Returns the enrolment link's token.
    pub async fn bootstrap_admin(&self, ctx: &Ctx, login: &str) -> Result<String> {
        let v = self
            .validate_new_user(&NewUser {
                login,
                role: Role::Admin,
                structure_code: None,
                region: None,
                password: None,
            })
            .await?;
        let mut tx = self.store.begin().await?;
        if acc::account_count(&mut tx).await? > 0 {
            return Err(AppError::Refused(Rule::Instance,
                "cette instance a déjà des comptes : un nouveau compte est une demande qu'une seconde personne approuve".into(),
            ));
        }
        let id = self
            .insert_account(&mut tx, ctx, &v, UNUSABLE_PASSWORD, "compte.amorcage")
            .await?;
        let token = self.issue_link(&mut tx, id, "inscription", ctx).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Whether a link can still be used, and for whom (the page greets the person).
    pub async fn link_info(&self, ctx: &Ctx, token: &str) -> Result<LinkInfo> {
        let mut conn = self.store.acquire().await?;
        let link = rq::link_get(&mut conn, &crate::auth::token_hash(token.trim()))
            .await?
            .filter(|l| l.used_at.is_none() && l.expires_at > ctx.now.timestamp())
            .ok_or_else(invalid_link)?;
        let a = acc::by_id(&mut conn, link.account_id)
            .await?
            .filter(|a| a.active)
            .ok_or_else(invalid_link)?;
        Ok(LinkInfo {
            login: a.login,
            purpose: link.purpose,
            expires_at: link.expires_at,
        })
    }

    /// Uses a link: sets the person's password and opens a session that enrols her second
    /// factor (`auth::enrolment_start` / `enrolment_confirm`).
    pub async fn enrol_with_link(
        &self,
        ctx: &Ctx,
        token: &str,
        password: &str,
        via_pages: bool,
    ) -> Result<NewSession> {
        let info = match self.link_info(ctx, token).await {
            Ok(i) => i,
            Err(e) => {
                self.audit_as_alone(ctx, "anonyme", "inscription.lien", FAILED)
                    .await?;
                return Err(e);
            }
        };
        if let Some(m) = crate::lifecycle::password_problem(&info.login, password) {
            let mut e = ValidationErrors::default();
            e.push("mot_de_passe", "mot_de_passe_refuse", m);
            return Err(e.into());
        }
        let hash = crate::auth::hash_password(password.to_string()).await?;
        let now = ctx.now.timestamp();
        let mut tx = self.store.begin().await?;
        if !rq::link_use(&mut tx, &crate::auth::token_hash(token.trim()), now).await? {
            return Err(invalid_link());
        }
        let account = acc::by_login(&mut tx, &info.login)
            .await?
            .ok_or_else(invalid_link)?;
        acc::set_credentials(&mut tx, account.id, &hash, true).await?;
        acc::sessions_end_all(&mut tx, account.id, None).await?;
        let s = self
            .new_session(&mut tx, Some(&account), STAGE_ENROL, now, via_pages)
            .await?;
        self.audit_as(
            &mut tx,
            ctx,
            &account.login,
            Event {
                action: "inscription.lien",
                subject: None,
                fields: &format!("objet:{}", info.purpose),
                outcome: OK,
                structure_id: account.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }
}
