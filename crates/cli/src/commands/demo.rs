//! `parcours demo`: a fresh demonstration instance, served at once.

use crate::config::{Common, DEMO_DATA_DIR};
use parcours_domain::Role;
use std::process::ExitCode;
use std::sync::Arc;

/// Marks a data dir as created by `parcours demo`, so it may be wiped by the next demo.
const MARKER: &str = ".parcours-demo";
pub const DEMO_PASSWORD: &str = "demo-parcours-2026";

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, env = "PARCOURS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Synthetic dossiers to create.
    #[arg(long, default_value_t = 2000)]
    pub jeunes: usize,
    /// Prepare the instance and exit without serving.
    #[arg(long = "sans-serveur", alias = "no-serve")]
    pub no_serve: bool,
    /// Address of the insight server (dashboards) the demo starts beside the main one.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub insight_bind: String,
    /// The address people type (passkeys' relying party); default http://localhost:<port>.
    #[arg(long, env = "PARCOURS_PUBLIC_URL")]
    pub public_url: Option<String>,
}

/// Starts `parcours-insight` (built beside this binary) on the demo's warehouse and public key.
fn start_insight(
    data_dir: &std::path::Path,
    bind: &str,
    app_bind: &str,
) -> anyhow::Result<Option<tokio::process::Child>> {
    let exe = std::env::current_exe()?.with_file_name("parcours-insight");
    if !exe.exists() {
        return Ok(None);
    }
    let child = tokio::process::Command::new(exe)
        .arg("serve")
        .arg("--entrepot")
        .arg(data_dir.join("entrepot"))
        .arg("--cle-publique")
        .arg(data_dir.join("parcours-insight.pub"))
        .arg("--bind")
        .arg(bind)
        // Its header's « Retour à Parcours » leads back to this server.
        .env("PARCOURS_APP_URL", format!("http://{app_bind}"))
        .kill_on_drop(true)
        .spawn()?;
    Ok(Some(child))
}

#[derive(clap::Args)]
pub struct CodeArgs {
    #[command(flatten)]
    pub common: Common,
    /// Login of a demo account.
    #[arg(long = "identifiant", alias = "login")]
    pub login: String,
}

const ACCOUNTS: [(&str, Role, Option<&str>, Option<&str>); 6] = [
    ("conseiller.paris", Role::Conseiller, Some("ML-PARIS"), None),
    ("directrice.paris", Role::Directeur, Some("ML-PARIS"), None),
    ("conseiller.lyon", Role::Conseiller, Some("ML-LYON"), None),
    ("pilote.idf", Role::Pilote, None, Some("Île-de-France")),
    ("dpo", Role::Dpo, None, None),
    ("admin", Role::Admin, None, None),
];

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let loc = a.common.location(DEMO_DATA_DIR);
    if loc.data_dir.exists() {
        let non_empty = std::fs::read_dir(&loc.data_dir)?.next().is_some();
        if loc.data_dir.join(MARKER).exists() {
            std::fs::remove_dir_all(&loc.data_dir)?;
        } else if non_empty {
            anyhow::bail!("{} existe et n'est pas un dossier de démonstration : choisissez un autre --data-dir", loc.data_dir.display());
        }
    }
    if a.common.database_url.is_some() {
        anyhow::bail!(
            "la démonstration utilise SQLite dans son dossier : retirez PARCOURS_DATABASE_URL"
        );
    }
    std::fs::create_dir_all(&loc.data_dir)?;
    std::fs::write(loc.data_dir.join(MARKER), "instance de démonstration\n")?;
    let app = parcours_app::setup::init(&loc)
        .await
        .map_err(super::explain)?;
    app.mark_demo().await.map_err(super::explain)?;
    prepare(&app, a.jeunes).await?;
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    // The decision module: a first warehouse and the public key of this instance's assertions.
    eprintln!("Export de l'entrepôt pseudonymisé du module de pilotage…");
    app.warehouse_export(&ctx, &loc.data_dir.join("entrepot"), 5, false)
        .await
        .map_err(super::explain)?;
    std::fs::write(
        loc.data_dir.join("parcours-insight.pub"),
        format!("{}\n", app.insight_public_key()),
    )?;
    super::seal(&app).await?;
    let dir = loc.data_dir.display();
    println!();
    println!("Parcours — instance de démonstration (données synthétiques) dans {dir}");
    let public = super::serve::public_url(a.public_url.as_deref(), &a.bind);
    println!(
        "Adresse : {public}/ (ou http://{}/ ; les clés d'accès demandent l'adresse {public})",
        a.bind
    );
    println!();
    println!("Comptes (mot de passe : {DEMO_PASSWORD}) :");
    for (login, role, structure, region) in ACCOUNTS {
        println!(
            "  {login:<18} {:<40} {}",
            role.label(),
            structure.or(region).unwrap_or("national")
        );
    }
    println!();
    println!("Code du second facteur, sans téléphone (instances de démonstration uniquement) :");
    println!("  cargo run --release -- demo-code --identifiant conseiller.paris");
    println!(
        "  (ou : target/release/parcours demo-code --data-dir {dir} --identifiant conseiller.paris)"
    );
    println!();
    if a.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    let insight = match start_insight(&loc.data_dir, &a.insight_bind, &a.bind)? {
        Some(child) => {
            parcours_web::pilotage::set_insight_url(&format!("http://{}", a.insight_bind));
            println!(
                "Pilotage (tableaux de bord, serveur distinct) : http://{}/ — ouvrez-le depuis le menu « Pilotage ».",
                a.insight_bind
            );
            Some(child)
        }
        None => {
            println!("Pilotage : binaire parcours-insight absent ; construisez-le avec `cargo build --release -p parcours-insight` (une douzaine de minutes la première fois), puis relancez la démonstration pour voir les tableaux de bord.");
            None
        }
    };
    app.configure_passkeys(&public).map_err(super::explain)?;
    let app = Arc::new(app);
    // Nightly export by default, as in production.
    super::serve::ExportSchedule {
        dir: Some(loc.data_dir.join("entrepot")),
        export_at: "02:00".into(),
        export_every: None,
        k: 5,
        no_warehouse_export: false,
    }
    .spawn(app.clone(), &loc.data_dir)?;
    let served = super::serve::serve(app, &a.bind, Vec::new()).await;
    // Stopped (SIGINT or SIGTERM) or failed: the dashboards server goes with the demo.
    if let Some(mut child) = insight {
        let _ = child.kill().await;
    }
    served?;
    Ok(ExitCode::SUCCESS)
}

/// The demo's people and accounts on an initialised instance: `jeunes` synthetic dossiers, one
/// account per role (password [`DEMO_PASSWORD`], a TOTP secret `demo-code` reads), 150 jeunes in
/// each advisor's caseload, the paying agency. Also used by `parcours bench http`.
pub async fn prepare(app: &parcours_app::App, jeunes: usize) -> anyhow::Result<()> {
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    eprintln!("Création de {jeunes} dossiers synthétiques…");
    crate::seed::seed(app, &ctx, jeunes, 2024, 20, true).await?;
    for (login, role, structure, region) in ACCOUNTS {
        let id = app
            .create_demo_account(
                &ctx,
                parcours_app::setup::NewUser {
                    login,
                    role,
                    structure_code: structure,
                    region,
                    password: Some(DEMO_PASSWORD.into()),
                },
            )
            .await
            .map_err(super::explain)?;
        app.set_totp_secret(id, &parcours_vault::random_bytes::<20>())
            .await
            .map_err(super::explain)?;
        // The names colleagues read beside acts (fictitious people).
        let name = match login {
            "conseiller.paris" => "Camille Laurent",
            "directrice.paris" => "Nadia Benali",
            "conseiller.lyon" => "Julien Morel",
            "pilote.idf" => "Sophie Garnier",
            "dpo" => "Marc Lefèvre (DPO)",
            _ => "Administration Parcours",
        };
        app.set_display_name(&ctx, Some(login), name)
            .await
            .map_err(super::explain)?;
        // Each demo advisor follows 150 jeunes of her structure ("Mon portefeuille").
        if let (Role::Conseiller, Some(code)) = (role, structure) {
            if let Some(s) = app.structure_by_code(code).await.map_err(super::explain)? {
                app.bulk_assign_caseload(&ctx, s.id, id, 150)
                    .await
                    .map_err(super::explain)?;
            }
        }
    }
    // The paying agency of the demo (a fictitious account with a valid key).
    app.set_payer(
        "Agence de services et de paiement (démo)",
        "FR7630001007941234567890185",
        "BDFEFRPPCCT",
    )
    .await
    .map_err(super::explain)?;
    Ok(())
}

pub async fn code(a: CodeArgs) -> anyhow::Result<ExitCode> {
    let app = parcours_app::setup::open(&a.common.location(DEMO_DATA_DIR))
        .await
        .map_err(super::explain)?;
    let code = app
        .demo_code(&a.login, chrono::Utc::now())
        .await
        .map_err(super::explain)?;
    println!("{code}");
    Ok(ExitCode::SUCCESS)
}
