//! Account lifecycle (issue 16, second piece): one's own sessions and password; disabling,
//! re-enabling an account and ending all its sessions — actions that only lower what an account
//! can do, so one person may take them (the four-eyes actions — creation, role, second-factor
//! and password resets, unfreeze — are the next piece).
//!
//! A session is named by the first 16 hex digits of its token's SHA-256 (the database keeps
//! only that hash; it opens nothing).

use crate::Rule;
use parcours_domain::{Role, ValidationErrors};
use parcours_store::accounts as acc;
use serde::Serialize;

use crate::audit::{Event, OK, REFUSED};
use crate::auth::{hash_password, SessionInfo};
use crate::{Actor, App, AppError, Ctx, Result};

/// Where the instance keeps its inactivity limit, in days (absent or 0: none).
pub const EXPIRY_META: &str = "comptes.expiration_jours";

/// One line of an account's recent activity (from the audit log: actions and dossier ids).
#[derive(Debug, Clone, Serialize)]
pub struct ActivityLine {
    pub at: i64,
    pub action: String,
    pub dossier: Option<String>,
    pub outcome: String,
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// Passwords too common to accept whatever their length (folded to lower case; the check also
/// refuses a password containing the login).
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "azertyuiopqs",
    "azertyuiop123",
    "azerty123456",
    "motdepasse123",
    "motdepasse1234",
    "motdepassemotdepasse",
    "password1234",
    "password12345",
    "passwordpassword",
    "qwertyuiop12",
    "qwerty123456",
    "111111111111",
    "000000000000",
    "aaaaaaaaaaaa",
    "abcdefghijkl",
    "abcdef123456",
    "iloveyou1234",
    "jetaime123456",
    "soleil123456",
    "bonjour123456",
    "missionlocale",
    "missionlocale1",
    "missionlocale2026",
    "parcours2026",
    "parcoursparcours",
    "changeme1234",
    "welcome12345",
    "administrateur",
    "conseiller123",
    "conseillere123",
    "directeur1234",
    "directrice123",
    "marseille1234",
    "paris1234567",
    "football1234",
    "doudou123456",
    "chouchou1234",
];

/// One of the account's sessions.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub id: String,
    pub created_at: i64,
    pub last_seen: i64,
    pub via: &'static str,
    pub current: bool,
}

fn session_id(token_hash: &[u8]) -> String {
    hex::encode(&token_hash[..token_hash.len().min(8)])
}

/// Why a new password is refused, if it is.
pub fn password_problem(login: &str, password: &str) -> Option<&'static str> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Some("Le mot de passe doit compter au moins 12 caractères.");
    }
    if n > 128 {
        return Some("Le mot de passe ne peut dépasser 128 caractères.");
    }
    let folded = password.to_lowercase();
    if COMMON.contains(&folded.as_str()) {
        return Some("Ce mot de passe est trop courant : choisissez-en un autre (une phrase de plusieurs mots, par exemple).");
    }
    if folded.contains(&login.to_lowercase()) {
        return Some("Le mot de passe ne doit pas contenir l'identifiant.");
    }
    if folded
        .chars()
        .collect::<std::collections::HashSet<_>>()
        .len()
        < 5
    {
        return Some("Le mot de passe est trop répétitif.");
    }
    None
}

impl App {
    /// The actor's own sessions.
    pub async fn my_sessions(&self, ctx: &Ctx, current: &SessionInfo) -> Result<Vec<SessionView>> {
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Unauthenticated);
        };
        let mut conn = self.store.acquire().await?;
        Ok(acc::sessions_of(&mut conn, p.account_id)
            .await?
            .into_iter()
            .map(|s| SessionView {
                id: session_id(&s.token_hash),
                created_at: s.created_at,
                last_seen: s.last_seen,
                via: if s.via_pages { "pages" } else { "api" },
                current: s.token_hash == current.token_hash,
            })
            .collect())
    }

    /// Ends one of the actor's own sessions (`id` as [`SessionView::id`]).
    pub async fn end_my_session(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Unauthenticated);
        };
        let mut tx = self.store.begin().await?;
        let target = acc::sessions_of(&mut tx, p.account_id)
            .await?
            .into_iter()
            .find(|s| session_id(&s.token_hash) == id.trim())
            .ok_or(AppError::NotFound)?;
        acc::session_delete(&mut tx, &target.token_hash).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "compte.session.fin",
                subject: None,
                fields: "",
                outcome: OK,
                structure_id: p.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the actor's own password (the current one is asked again); every other session
    /// of the account ends.
    pub async fn change_my_password(
        &self,
        ctx: &Ctx,
        current: &SessionInfo,
        old_password: &str,
        new_password: &str,
    ) -> Result<()> {
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Unauthenticated);
        };
        let mut e = ValidationErrors::default();
        if let Some(m) = password_problem(&p.login, new_password) {
            e.push("nouveau", "refuse", m);
        }
        if new_password == old_password {
            e.push(
                "nouveau",
                "identique",
                "Le nouveau mot de passe doit différer de l'actuel.",
            );
        }
        let account = {
            let mut conn = self.store.acquire().await?;
            acc::by_id(&mut conn, p.account_id)
                .await?
                .ok_or(AppError::Unauthenticated)?
        };
        if !self
            .check_password(&account.password_hash, old_password)
            .await?
        {
            self.audit_alone(
                ctx,
                Event {
                    action: "compte.mot_de_passe",
                    subject: None,
                    fields: "actuel_incorrect",
                    outcome: REFUSED,
                    structure_id: p.structure_id,
                },
            )
            .await?;
            e.push(
                "actuel",
                "incorrect",
                "Le mot de passe actuel est incorrect.",
            );
        }
        if !e.is_empty() {
            return Err(e.into());
        }
        let hash = hash_password(new_password.to_string()).await?;
        let mut tx = self.store.begin().await?;
        acc::set_password(&mut tx, p.account_id, &hash).await?;
        let ended = acc::sessions_end_all(&mut tx, p.account_id, Some(&current.token_hash)).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "compte.mot_de_passe",
                subject: None,
                fields: &format!("autres_sessions_fermees:{ended}"),
                outcome: OK,
                structure_id: p.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account `login` if the actor may manage it: an administrator any account, a
    /// directeur the accounts of her structure; never one's own.
    pub(crate) async fn managed_account(
        &self,
        ctx: &Ctx,
        login: &str,
        action: &str,
    ) -> Result<acc::AccountRow> {
        let allowed = |a: &acc::AccountRow| match &ctx.actor {
            Actor::Operator => true,
            Actor::Account(p) if p.account_id == a.id => false,
            Actor::Account(p) if p.role == Role::Admin => true,
            Actor::Account(p) if p.role == Role::Directeur => {
                p.structure_id.is_some() && a.structure_id == p.structure_id
            }
            _ => false,
        };
        let mut conn = self.store.acquire().await?;
        match acc::by_login(&mut conn, login.trim()).await? {
            Some(a) if allowed(&a) => Ok(a),
            found => {
                drop(conn);
                self.audit_alone(
                    ctx,
                    Event {
                        action,
                        subject: None,
                        fields: &format!(
                            "compte:{}",
                            login.trim().chars().take(64).collect::<String>()
                        ),
                        outcome: REFUSED,
                        structure_id: found.and_then(|a| a.structure_id),
                    },
                )
                .await?;
                Err(AppError::Forbidden)
            }
        }
    }

    /// Sets the instance's inactivity limit (operator): an account without a completed login
    /// for `days` days is disabled at its next attempt. 0 turns the limit off.
    pub async fn set_account_expiry(&self, days: i64) -> Result<()> {
        if !(0..=3650).contains(&days) {
            return Err(AppError::Refused(
                Rule::InvalidSetting,
                "--jours : entre 0 (aucune limite) et 3650".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        parcours_store::keyring::meta_set(&mut tx, EXPIRY_META, &days.to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Called after a right password: an account idle beyond the limit is disabled now, and
    /// the login refused with whom to ask.
    pub(crate) async fn expire_if_idle(&self, ctx: &Ctx, account: &acc::AccountRow) -> Result<()> {
        let days = {
            let mut conn = self.store.acquire().await?;
            parcours_store::keyring::meta_get(&mut conn, EXPIRY_META)
                .await?
                .and_then(|d| d.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let since = account.last_login_at.unwrap_or(account.created_at);
        if days <= 0 || ctx.now.timestamp() - since <= days * 86_400 {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        acc::set_active(&mut tx, account.id, false, ctx.now.timestamp()).await?;
        acc::sessions_end_all(&mut tx, account.id, None).await?;
        self.audit_as(
            &mut tx,
            ctx,
            &account.login,
            Event {
                action: "compte.expiration",
                subject: None,
                fields: &format!(
                    "jours_sans_connexion:{}",
                    (ctx.now.timestamp() - since) / 86_400
                ),
                outcome: OK,
                structure_id: account.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Err(AppError::Refused(Rule::AccountExpired, format!(
            "Ce compte a expiré après {days} jours sans connexion. Demandez à la direction de votre Mission Locale de le réactiver."
        )))
    }

    /// An account's recent activity (the last 30 days of the audit log, most recent first, at
    /// most 200 lines): for an administrator or the account's directeur. Reading it is audited.
    pub async fn account_activity(&self, ctx: &Ctx, login: &str) -> Result<Vec<ActivityLine>> {
        let a = self
            .managed_account(ctx, login, "compte.activite.lecture")
            .await?;
        let now = crate::audit::micros(ctx.now);
        let from = now - 30 * 86_400 * 1_000_000;
        let mut tx = self.store.begin().await?;
        let rows =
            parcours_store::audit::search(&mut tx, Some(&a.login), from, now + 1, 100_000).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "compte.activite.lecture",
                subject: None,
                fields: &format!("compte:{}", a.login),
                outcome: OK,
                structure_id: a.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .rev()
            .take(200)
            .map(|r| ActivityLine {
                at: r.ts / 1_000_000,
                action: r.action,
                dossier: r.subject,
                outcome: r.outcome,
            })
            .collect())
    }

    /// Disables (or re-enables) an account: a disabled account cannot log in and its sessions
    /// end at once, on every instance.
    pub async fn set_account_active(
        &self,
        ctx: &Ctx,
        login: &str,
        active: bool,
        reason: &str,
    ) -> Result<()> {
        let action = if active {
            "compte.reactivation"
        } else {
            "compte.desactivation"
        };
        let reason = reason.trim();
        if reason.chars().count() < 5 {
            let mut e = ValidationErrors::default();
            e.push(
                "motif",
                "requis",
                "Indiquez le motif (5 caractères au moins).",
            );
            return Err(e.into());
        }
        let a = self.managed_account(ctx, login, action).await?;
        let mut tx = self.store.begin().await?;
        if !acc::set_active(&mut tx, a.id, active, ctx.now.timestamp()).await? {
            return Err(AppError::Refused(
                Rule::AlreadyDone,
                if active {
                    "Ce compte est déjà actif.".into()
                } else {
                    "Ce compte est déjà désactivé.".into()
                },
            ));
        }
        let ended = if active {
            // Re-enabled: the inactivity clock starts again.
            acc::set_last_login(&mut tx, a.id, ctx.now.timestamp()).await?;
            0
        } else {
            acc::sessions_end_all(&mut tx, a.id, None).await?
        };
        self.audit(
            &mut tx,
            ctx,
            Event {
                action,
                subject: None,
                fields: &format!(
                    "compte:{},sessions_fermees:{ended},motif:{}",
                    a.login,
                    reason.replace(',', " ")
                ),
                outcome: OK,
                structure_id: a.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of an account at once (a lost laptop, a doubt): its owner logs in
    /// again with both factors.
    pub async fn revoke_sessions(&self, ctx: &Ctx, login: &str) -> Result<u64> {
        let a = self
            .managed_account(ctx, login, "compte.revocation_sessions")
            .await?;
        let mut tx = self.store.begin().await?;
        let n = acc::sessions_end_all(&mut tx, a.id, None).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "compte.revocation_sessions",
                subject: None,
                fields: &format!("compte:{},sessions_fermees:{n}", a.login),
                outcome: OK,
                structure_id: a.structure_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }
}
