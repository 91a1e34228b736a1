//! `parcours canaris`, `parcours alertes`, `parcours vigilance`: what bounds a stolen session
//! (issue 15; the rules are in `parcours_app::vigilance`).

use crate::config::Common;
use rand::SeedableRng;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Canaries {
    /// Add decoy dossiers to a structure: created like any dossier, known only by a keyed tag.
    /// Whoever opens one (or sees it in search results) outside a caseload is frozen at once.
    #[command(name = "ajouter", alias = "add")]
    Add {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        structure: String,
        #[arg(long = "nombre", alias = "count", default_value_t = 5)]
        count: usize,
        /// Random seed of the synthetic identities (default: random).
        #[arg(long = "graine", alias = "seed")]
        seed: Option<u64>,
    },
}

#[derive(clap::Subcommand)]
pub enum Alertes {
    /// The SMTP relay that sends alert e-mails, the sender, and the DPO's addresses.
    Smtp {
        #[command(flatten)]
        common: Common,
        /// host:port of the relay (STARTTLS is used when the relay offers it).
        #[arg(long)]
        relais: String,
        #[arg(long)]
        expediteur: String,
        /// Comma-separated addresses that receive every alert.
        #[arg(long, default_value = "")]
        dpo: String,
    },
    /// The addresses that receive a structure's alerts (its directeur's).
    Destinataires {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        structure: String,
        /// Comma-separated addresses.
        #[arg(long)]
        courriels: String,
    },
    /// List the alerts (every structure), most recent first.
    Liste {
        #[command(flatten)]
        common: Common,
    },
    /// Send the alert e-mails that are due now (`serve` does it every two seconds).
    Envoyer {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Subcommand)]
pub enum Vigilance {
    /// Show or set the scraping thresholds of the instance (servers read them at start).
    Seuils {
        #[command(flatten)]
        common: Common,
        /// Dossiers opened outside the caseload within the window that freeze the account.
        #[arg(long)]
        fenetre_dossiers: Option<i64>,
        /// The window, in seconds.
        #[arg(long)]
        fenetre_secondes: Option<i64>,
        /// Unknown or foreign dossier ids tried within the probe window that freeze.
        #[arg(long)]
        sondes: Option<i64>,
        #[arg(long)]
        sondes_secondes: Option<i64>,
        /// Dossiers a break-glass adds.
        #[arg(long)]
        bris_de_glace: Option<i64>,
        /// Break-glass uses per account and day.
        #[arg(long)]
        bris_de_glace_par_jour: Option<i64>,
        /// Days during which a new account has half its quota.
        #[arg(long)]
        jours_nouveau_compte: Option<i64>,
        /// Searches within the search window that freeze (walking the names).
        #[arg(long)]
        recherches: Option<i64>,
        #[arg(long)]
        recherches_secondes: Option<i64>,
    },
}

pub async fn canaries(c: Canaries) -> anyhow::Result<ExitCode> {
    let Canaries::Add {
        common,
        structure,
        count,
        seed,
    } = c;
    if count == 0 || count > 100 {
        anyhow::bail!("--nombre : entre 1 et 100 dossiers leurres");
    }
    let app = super::open(&common).await?;
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    let dep = app
        .list_structures()
        .await
        .map_err(super::explain)?
        .into_iter()
        .find(|s| s.code == structure.trim())
        .map(|s| s.departement)
        .ok_or_else(|| anyhow::anyhow!("Mission Locale « {} » inconnue.", structure.trim()))?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
        seed.unwrap_or_else(|| u64::from_le_bytes(parcours_vault::random_bytes::<8>())),
    );
    let today = ctx.now.date_naive();
    let people: Vec<_> = (0..count)
        .map(|_| crate::seed::person(&mut rng, &dep, today))
        .collect();
    let n = app
        .add_canaries(&ctx, &structure, &people)
        .await
        .map_err(super::explain)?;
    super::seal(&app).await?;
    println!("{n} dossier(s) leurre(s) ajouté(s) à {} : rien ne les distingue des autres dossiers ; les ouvrir hors d'un portefeuille gèle le compte.", structure.trim());
    Ok(ExitCode::SUCCESS)
}

pub async fn alertes(c: Alertes) -> anyhow::Result<ExitCode> {
    match c {
        Alertes::Smtp {
            common,
            relais,
            expediteur,
            dpo,
        } => {
            let app = super::open(&common).await?;
            let cfg = app
                .set_smtp(&relais, &expediteur, &dpo)
                .await
                .map_err(super::explain)?;
            println!(
                "Relais des alertes : {} (expéditeur {}, {} adresse(s) DPO).",
                cfg.relay,
                cfg.sender,
                cfg.dpo.len()
            );
        }
        Alertes::Destinataires {
            common,
            structure,
            courriels,
        } => {
            let app = super::open(&common).await?;
            let n = app
                .set_structure_recipients(&structure, &courriels)
                .await
                .map_err(super::explain)?;
            println!(
                "{n} adresse(s) recevront les alertes de {}.",
                structure.trim()
            );
        }
        Alertes::Liste { common } => {
            let app = super::open(&common).await?;
            let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
            let list = app.list_alerts(&ctx).await.map_err(super::explain)?;
            if list.is_empty() {
                println!("Aucune alerte.");
            }
            for a in list {
                let when = chrono::DateTime::from_timestamp(a.created_at, 0)
                    .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default();
                println!(
                    "{when}  {:<9}  {:<40}  compte {:<20}  courriel : {} ({} essai(s))  {}",
                    a.severity, a.kind_label, a.login, a.mail_status, a.mail_attempts, a.evidence
                );
            }
        }
        Alertes::Envoyer { common } => {
            let app = super::open(&common).await?;
            let (sent, failed) = app
                .deliver_alert_mails(chrono::Utc::now().timestamp())
                .await
                .map_err(super::explain)?;
            println!(
                "{sent} courriel(s) d'alerte envoyé(s), {failed} en échec (réessayés plus tard)."
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn vigilance(c: Vigilance) -> anyhow::Result<ExitCode> {
    let Vigilance::Seuils {
        common,
        fenetre_dossiers,
        fenetre_secondes,
        sondes,
        sondes_secondes,
        bris_de_glace,
        bris_de_glace_par_jour,
        jours_nouveau_compte,
        recherches,
        recherches_secondes,
    } = c;
    let app = super::open(&common).await?;
    let mut t = app.thresholds();
    let before = t;
    for (slot, v) in [
        (&mut t.window_opened, fenetre_dossiers),
        (&mut t.window_s, fenetre_secondes),
        (&mut t.probes, sondes),
        (&mut t.probes_window_s, sondes_secondes),
        (&mut t.break_glass_dossiers, bris_de_glace),
        (&mut t.break_glass_per_day, bris_de_glace_par_jour),
        (&mut t.new_account_days, jours_nouveau_compte),
        (&mut t.searches, recherches),
        (&mut t.searches_window_s, recherches_secondes),
    ] {
        if let Some(v) = v {
            *slot = v;
        }
    }
    if t != before {
        app.save_thresholds(t).await.map_err(super::explain)?;
        println!(
            "Seuils enregistrés (pris en compte au prochain démarrage de « parcours serveur »)."
        );
    }
    println!(
        "Gel au-delà de {} dossiers ouverts hors portefeuille en {} s ; gel à {} identifiants refusés en {} s ; gel au-delà de {} recherches en {} s ; bris de glace : {} dossiers, {} fois par jour ; nouveaux comptes à demi-quota pendant {} jours.",
        t.window_opened, t.window_s, t.probes, t.probes_window_s, t.searches, t.searches_window_s, t.break_glass_dossiers, t.break_glass_per_day, t.new_account_days
    );
    Ok(ExitCode::SUCCESS)
}
