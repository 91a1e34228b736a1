//! The names colleagues read beside acts (« par Camille Laurent », issue 19) instead of logins.
//! A person sets her own on « Mon compte »; an operator may set anyone's
//! (`parcours compte nommer`). Acts keep recording the login (the audit log's evidence); the
//! pages show the name at display time, so a change of name shows everywhere at once.

use parcours_domain::validation::clean_text;
use parcours_domain::ValidationErrors;
use parcours_store::accounts as acc;
use std::collections::HashMap;

use crate::audit::{Event, OK};
use crate::{Actor, App, AppError, Ctx, Result};

/// How acts by the command line read (`operateur-cli:<user>` in the log).
pub const OPERATOR_NAME: &str = "l'opérateur (ligne de commande)";

/// Logins and their display names, to show an act's author.
#[derive(Debug, Clone, Default)]
pub struct Names(HashMap<String, String>);

impl Names {
    /// The author as a colleague reads it: the display name when set, the operator in words,
    /// else the login.
    pub fn of(&self, author: &str) -> String {
        if author.starts_with("operateur-cli") {
            return OPERATOR_NAME.to_string();
        }
        self.0
            .get(author)
            .cloned()
            .unwrap_or_else(|| author.to_string())
    }
}

impl App {
    /// Sets the display name of the actor's own account, or (operator) of `login`'s.
    pub async fn set_display_name(&self, ctx: &Ctx, login: Option<&str>, name: &str) -> Result<()> {
        let mut e = ValidationErrors::default();
        let name = clean_text(&mut e, "nom_affiche", "Nom affiché", name, 80);
        if name.as_deref().is_some_and(|n| n.chars().count() < 2) {
            e.push(
                "nom_affiche",
                "trop_court",
                "Nom affiché : deux caractères au moins.",
            );
        }
        if !e.is_empty() {
            return Err(e.into());
        }
        let login = match (&ctx.actor, login) {
            (Actor::Account(p), None) => p.login.clone(),
            (Actor::Operator, Some(l)) => l.trim().to_lowercase(),
            _ => return Err(AppError::Forbidden),
        };
        let mut tx = self.store.begin().await?;
        if !acc::set_display_name(&mut tx, &login, name.as_deref()).await? {
            return Err(AppError::NotFound);
        }
        let subject = format!("compte:{login}");
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "compte.nom",
                subject: Some(&subject),
                fields: "nom_affiche",
                outcome: OK,
                structure_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The display names of the instance's staff (any logged-in person reads who did an act).
    pub async fn display_names(&self, ctx: &Ctx) -> Result<Names> {
        if matches!(ctx.actor, Actor::Anonymous) {
            return Err(AppError::Unauthenticated);
        }
        let mut conn = self.store.acquire().await?;
        Ok(Names(
            acc::display_names(&mut conn).await?.into_iter().collect(),
        ))
    }
}
