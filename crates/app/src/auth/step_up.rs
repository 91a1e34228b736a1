//! Step-up: the sensitive tier (revealing a NIR, entering an IBAN, a payment file, adding a
//! passkey) needs a second factor entered in the last [`STEP_UP_S`], and most of it a reason.

use parcours_domain::ValidationErrors;
use parcours_store::accounts as acc;

use super::{SessionInfo, STAGE_AUTH, STEP_UP_S};
use crate::audit::{Event, OK, REFUSED};
use crate::{Actor, App, AppError, Ctx, Result};

impl App {
    /// Step-up: the owner of an authenticated session enters her second factor again; the
    /// sensitive tier is open to the session for [`STEP_UP_S`]. Counted and throttled as a
    /// login code.
    pub async fn confirm_factor(&self, ctx: &Ctx, session: &SessionInfo, code: &str) -> Result<()> {
        let account = self.session_account(session, STAGE_AUTH).await?;
        self.verify_enrolled_code(ctx, &account, code, "confirmation.second_facteur")
            .await?;
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

    pub(crate) fn factor_is_fresh(ctx: &Ctx) -> bool {
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
}
