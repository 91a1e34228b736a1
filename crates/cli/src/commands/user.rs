use crate::config::Common;
use parcours_domain::Role;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Add an account; prints its initial password once. The second factor is enrolled at
    /// first login.
    Add {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        login: String,
        /// conseiller, directeur, pilote, dpo or admin.
        #[arg(long)]
        role: String,
        /// Structure code (required for conseiller and directeur).
        #[arg(long)]
        structure: Option<String>,
        /// Region (pilote); empty means the nation.
        #[arg(long)]
        region: Option<String>,
        /// Read the initial password from this file instead of generating one.
        #[arg(long)]
        password_file: Option<std::path::PathBuf>,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Accounts without a completed login for this many days are disabled at their next
    /// attempt (their directeur re-enables them); 0 turns the limit off.
    Expiration {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        jours: i64,
    },
}

pub async fn run(c: Cmd) -> anyhow::Result<ExitCode> {
    match c {
        Cmd::Expiration { common, jours } => {
            let app = super::open(&common).await?;
            app.set_account_expiry(jours)
                .await
                .map_err(super::explain)?;
            if jours == 0 {
                println!("Plus d'expiration des comptes inactifs.");
            } else {
                println!("Un compte sans connexion depuis {jours} jours sera désactivé à sa prochaine tentative.");
            }
        }
        Cmd::Add {
            common,
            login,
            role,
            structure,
            region,
            password_file,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!(
                    "rôle inconnu « {role} » : conseiller, directeur, pilote, dpo ou admin"
                )
            })?;
            let password = match password_file {
                Some(p) => Some(
                    std::fs::read_to_string(&p)
                        .map_err(|e| anyhow::anyhow!("{} : {e}", p.display()))?
                        .trim_end_matches(['\n', '\r'])
                        .to_string(),
                ),
                None => None,
            };
            let given = password.is_some();
            let app = super::open(&common).await?;
            let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
            let (_, pw) = app
                .create_account(
                    &ctx,
                    parcours_app::setup::NewUser {
                        login: &login,
                        role,
                        structure_code: structure.as_deref(),
                        region: region.as_deref(),
                        password,
                    },
                )
                .await
                .map_err(super::explain)?;
            super::seal(&app).await?;
            println!(
                "Compte {} créé ({}).",
                login.trim().to_lowercase(),
                role.label()
            );
            if !given {
                println!("Mot de passe initial (affiché une seule fois) : {pw}");
            }
            println!("Le second facteur sera enrôlé à la première connexion.");
        }
        Cmd::List { common } => {
            let app = super::open(&common).await?;
            for a in app.list_accounts().await.map_err(super::explain)? {
                println!(
                    "{}\t{}\t{}",
                    a.login,
                    a.role,
                    if a.totp_secret.is_some() {
                        "second facteur enrôlé"
                    } else {
                        "second facteur à enrôler"
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
