//! Server-side sessions: 256-bit random tokens, only their SHA-256 stored (a dump yields no
//! usable session); a new token at each privilege change; 30 min idle, 12 h absolute.

use parcours_store::accounts::{self as acc, AccountRow, SessionRow};

use super::{
    principal_of, random_token, token_hash, NewSession, SessionInfo, Stage, ABSOLUTE_TIMEOUT_S,
    IDLE_TIMEOUT_S, STAGE_ANON, STAGE_AUTH, THROTTLE_WINDOW_S,
};
use crate::audit::{Event, OK};
use crate::{App, Ctx, Result};

impl App {
    pub(crate) async fn new_session(
        &self,
        conn: &mut parcours_store::Conn,
        account: Option<&AccountRow>,
        stage: Stage,
        now: i64,
        via_pages: bool,
    ) -> Result<NewSession> {
        let token = random_token();
        let row = SessionRow {
            token_hash: token_hash(&token),
            account_id: account.map(|a| a.id),
            stage: stage.code().to_string(),
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
                stage,
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
        let Some((s, account)) = acc::session_with_account(&mut conn, &h).await? else {
            return Ok(None);
        };
        if now - s.last_seen > IDLE_TIMEOUT_S || now - s.created_at > ABSOLUTE_TIMEOUT_S {
            acc::session_delete(&mut conn, &h).await?;
            return Ok(None);
        }
        if now - s.last_seen >= 30 {
            acc::session_touch(&mut conn, &h, now).await?;
        }
        if let Some(a) = &account {
            // A frozen account's sessions are deleted when it is frozen; this also covers a
            // session created by a request that raced the freeze.
            if !a.active || a.frozen_at.is_some() {
                acc::session_delete(&mut conn, &h).await?;
                return Ok(None);
            }
        }
        // A stage the code does not know is a row written by someone else: no session.
        let Some(stage) = Stage::parse(&s.stage) else {
            return Err(crate::AppError::Integrity(format!(
                "session à l'étape inconnue « {} »",
                s.stage.chars().take(32).collect::<String>()
            )));
        };
        Ok(Some(SessionInfo {
            principal: match (&account, stage) {
                (Some(a), STAGE_AUTH) => Some(principal_of(a, s.factor_at)?),
                _ => None,
            },
            login: account.map(|a| a.login),
            via_pages: s.via_pages,
            token_hash: s.token_hash,
            stage,
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
