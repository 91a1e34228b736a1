//! `parcours sauvegarde` and `parcours restauration` (issue 18): backups without the dossiers' keys, so
//! that an erasure reaches them (docs/SECURITY.md, "Backups and erasure").

use crate::config::{Common, DEFAULT_DATA_DIR};
use parcours_app::backup::{self, KeySource};
use parcours_app::setup::Location;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    common: Common,
    /// The backup file to write (and FILE.cles, the escrow of the dossiers' keys).
    #[arg(long = "sortie", alias = "out")]
    out: PathBuf,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The instance to restore into (an empty database; its key file must be the master key of
    /// the instance that was backed up). With --essai: the live instance.
    #[command(flatten)]
    common: Common,
    /// The backup file.
    #[arg(long = "depuis", value_name = "FICHIER")]
    from: PathBuf,
    /// Where the dossiers' keys come from: the live instance's database URL (erasures done
    /// since the backup hold), or an escrow file (default: FICHIER.cles).
    #[arg(long = "cles-depuis", value_name = "URL|FICHIER")]
    keys: Option<String>,
    /// Restore drill: into a scratch SQLite instance, with the live instance's keys, then
    /// verify its audit chain and count the readable dossiers; the scratch copy is deleted.
    #[arg(long)]
    essai: bool,
}

pub async fn backup(a: BackupArgs) -> anyhow::Result<ExitCode> {
    let app = super::open(&a.common).await?;
    let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
    let s = app.backup(&ctx, &a.out).await.map_err(super::explain)?;
    super::seal(&app).await?;
    println!(
        "Sauvegarde écrite : {} ({} lignes, {} dossiers), chiffrée avec une clé enveloppée par la clé maîtresse (absente du fichier).",
        s.file.display(),
        s.rows,
        s.dossiers
    );
    println!(
        "Clés des dossiers à part : {} — à garder {} jours au plus (un effacement n'atteint les séquestres qu'à leur destruction), ailleurs que la sauvegarde.",
        s.escrow.display(),
        backup::ESCROW_EPOCH_DAYS
    );
    Ok(ExitCode::SUCCESS)
}

fn source(raw: Option<&str>, file: &std::path::Path) -> KeySource {
    match raw {
        Some(u)
            if u.starts_with("postgres://")
                || u.starts_with("postgresql://")
                || u.starts_with("sqlite:") =>
        {
            KeySource::Database(u.to_string())
        }
        Some(p) => KeySource::Escrow(PathBuf::from(p)),
        None => KeySource::Escrow(backup::escrow_path(file)),
    }
}

pub async fn restore(a: RestoreArgs) -> anyhow::Result<ExitCode> {
    if a.essai {
        let live = a.common.location(DEFAULT_DATA_DIR);
        let scratch = std::env::temp_dir().join(format!(
            "parcours-essai-restauration-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let loc = Location {
            database_url: format!(
                "sqlite://{}?mode=rwc",
                scratch.join("parcours.db").display()
            ),
            key_file: live.key_file.clone(),
            data_dir: scratch.clone(),
        };
        let keys = match a.keys.as_deref() {
            Some(k) => source(Some(k), &a.from),
            None => KeySource::Database(live.database_url.clone()),
        };
        let result = drill(&loc, &a.from, &keys).await;
        let _ = std::fs::remove_dir_all(&scratch);
        return result;
    }
    let loc = a.common.location(DEFAULT_DATA_DIR);
    let keys = source(a.keys.as_deref(), &a.from);
    let s = backup::restore(&loc, &a.from, &keys)
        .await
        .map_err(super::explain)?;
    println!(
        "Restauré : {} lignes, {} dossiers dont {} lisibles ({} sans clé : effacés).",
        s.rows, s.dossiers, s.readable, s.without_key
    );
    Ok(ExitCode::SUCCESS)
}

async fn drill(
    loc: &Location,
    file: &std::path::Path,
    keys: &KeySource,
) -> anyhow::Result<ExitCode> {
    let s = backup::restore(loc, file, keys)
        .await
        .map_err(super::explain)?;
    let app = parcours_app::setup::open(loc)
        .await
        .map_err(super::explain)?;
    match app.verify_audit().await {
        Ok(r) => {
            println!(
                "Essai de restauration réussi : {} lignes, {} dossiers dont {} lisibles ({} sans clé) ; journal d'audit intact ({} entrées chaînées).",
                s.rows, s.dossiers, s.readable, s.without_key, r.sealed
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!(
                "Essai de restauration : journal d'audit en échec : {}",
                e.message
            );
            Ok(ExitCode::from(super::audit::TAMPERED))
        }
    }
}
