//! Logging into the insight server (the decision module, P2): the main server, which knows the
//! accounts, signs a short-lived assertion of the caller's role and perimeter
//! (`parcours_vault::assertion`); the insight server checks it with the public key alone.
//! Conseiller and directeur see their structure; a pilote sees its région, or the nation when
//! it has none. The DPO and the technical administrator have no dashboards.

use parcours_domain::roles::Role;
use parcours_vault::assertion::{self, Claims, Perimeter, AUDIENCE};

use crate::audit::{Event, OK, REFUSED};
use crate::{Actor, App, AppError, Ctx, Result};

/// Validity of an assertion: long enough to click "Ouvrir", short enough to be useless later.
pub const ASSERTION_LIFETIME_S: i64 = 120;

impl App {
    /// The public key the insight server needs (hex, one line).
    pub fn insight_public_key(&self) -> String {
        assertion::public_key_hex(&self.keys.insight_signing)
    }

    /// A signed assertion of the caller's perimeter, for the insight server. Audited.
    pub async fn insight_assertion(&self, ctx: &Ctx) -> Result<String> {
        let perimeter = match &ctx.actor {
            Actor::Account(p) => match p.role {
                Role::Conseiller | Role::Directeur => {
                    let id = p.structure_id.ok_or(AppError::Forbidden)?;
                    let s = self.structure_by_id(id).await?.ok_or(AppError::Forbidden)?;
                    Some((p.role, Perimeter::Structure(s.code)))
                }
                Role::Pilote => Some((
                    p.role,
                    match &p.scope_region {
                        Some(r) => Perimeter::Region(r.clone()),
                        None => Perimeter::Nation,
                    },
                )),
                Role::Dpo | Role::Admin => None,
            },
            _ => None,
        };
        let structure_id = match &ctx.actor {
            Actor::Account(p) => p.structure_id,
            _ => None,
        };
        let Some((role, perimetre)) = perimeter else {
            self.audit_alone(
                ctx,
                Event {
                    action: "pilotage.jeton",
                    subject: None,
                    fields: "",
                    outcome: REFUSED,
                    structure_id,
                },
            )
            .await?;
            return Err(AppError::Forbidden);
        };
        let now = ctx.now.timestamp();
        let claims = Claims {
            aud: AUDIENCE.into(),
            role: role.code().into(),
            perimetre,
            iat: now,
            exp: now + ASSERTION_LIFETIME_S,
            jti: hex::encode(parcours_vault::random_bytes::<16>()),
        };
        self.audit_alone(
            ctx,
            Event {
                action: "pilotage.jeton",
                subject: None,
                fields: "",
                outcome: OK,
                structure_id,
            },
        )
        .await?;
        assertion::sign(&self.keys.insight_signing, &claims).map_err(AppError::internal)
    }
}
