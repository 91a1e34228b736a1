use crate::config::Common;
use parcours_domain::Role;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Ask for a new account (a four-eyes request that an admin or a directeur of the
    /// structure approves in Administration → Demandes, which hands over the enrolment link).
    /// On an instance without any account, creates the first admin alone and prints its
    /// single-use enrolment link.
    #[command(name = "ajouter", alias = "add")]
    Add {
        #[command(flatten)]
        common: Common,
        #[arg(long = "identifiant", alias = "login")]
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
        /// Why this account is needed (read by the person who approves).
        #[arg(long, default_value = "")]
        motif: String,
    },
    /// Ask for a reset of an account's password and second factor (four eyes); the approver
    /// gets a new enrolment link for the person.
    Reinitialiser {
        #[command(flatten)]
        common: Common,
        #[arg(long = "identifiant", alias = "login")]
        login: String,
        #[arg(long)]
        motif: String,
    },
    /// The four-eyes requests of the instance (pending first).
    Demandes {
        #[command(flatten)]
        common: Common,
    },
    /// Set the name colleagues read beside an account's acts (« par Camille Laurent »); the
    /// person can also set it herself on « Mon compte ».
    Nommer {
        #[command(flatten)]
        common: Common,
        #[arg(long = "identifiant", alias = "login")]
        login: String,
        #[arg(long)]
        nom: String,
    },
    /// List accounts.
    #[command(name = "lister", alias = "list")]
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
        Cmd::Nommer { common, login, nom } => {
            let app = super::open(&common).await?;
            let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
            app.set_display_name(&ctx, Some(&login), &nom)
                .await
                .map_err(super::explain)?;
            super::seal(&app).await?;
            println!(
                "Compte {login} : ses actes se liront « par {} ».",
                nom.trim()
            );
        }
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
            motif,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!(
                    "rôle inconnu « {role} » : conseiller, directeur, pilote, dpo ou admin"
                )
            })?;
            let app = super::open(&common).await?;
            let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
            let login = login.trim().to_lowercase();
            let empty = app
                .list_accounts()
                .await
                .map_err(super::explain)?
                .is_empty();
            if empty && role == Role::Admin {
                let token = app
                    .bootstrap_admin(&ctx, &login)
                    .await
                    .map_err(super::explain)?;
                super::seal(&app).await?;
                println!("Premier compte de l'instance : administrateur {login}, créé seul (journalisé comme tel).");
                println!(
                    "Lien d'inscription (une seule fois, 24 heures) : {}{token}",
                    parcours_app::enrolment::LINK_PATH
                );
                println!("Ouvrez-le sur l'adresse du service : la personne y choisit son mot de passe et enrôle son second facteur.");
                return Ok(ExitCode::SUCCESS);
            }
            if empty {
                anyhow::bail!("cette instance n'a encore aucun compte : créez d'abord son administrateur (--role admin)");
            }
            let r = app
                .request_account(
                    &ctx,
                    parcours_app::setup::NewUser {
                        login: &login,
                        role,
                        structure_code: structure.as_deref(),
                        region: region.as_deref(),
                        password: None,
                    },
                    &motif,
                )
                .await
                .map_err(super::explain)?;
            super::seal(&app).await?;
            println!(
                "Demande {} enregistrée : compte {login} ({}).",
                r.id,
                role.label()
            );
            println!("Aucun compte n'est créé tant qu'une seconde personne (un admin, ou un directeur de la structure) ne l'a pas approuvée dans Administration → Demandes ; elle y reçoit le lien d'inscription à remettre. La demande expire dans 72 heures.");
        }
        Cmd::Reinitialiser {
            common,
            login,
            motif,
        } => {
            let app = super::open(&common).await?;
            let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
            let r = app
                .request_reset(&ctx, &login, &motif)
                .await
                .map_err(super::explain)?;
            super::seal(&app).await?;
            println!(
                "Demande {} enregistrée : réinitialisation du compte {}.",
                r.id,
                login.trim()
            );
            println!("Une seconde personne l'approuve dans Administration → Demandes et reçoit le nouveau lien d'inscription.");
        }
        Cmd::Demandes { common } => {
            let app = super::open(&common).await?;
            let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
            let list = app.list_requests(&ctx).await.map_err(super::explain)?;
            if list.is_empty() {
                println!("Aucune demande.");
            }
            for r in list {
                println!(
                    "{}\t{}\t{}\tpar {}\t{}",
                    r.id, r.status_label, r.details, r.requested_by, r.reason
                );
            }
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
