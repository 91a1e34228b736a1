//! Backups that erasure reaches (issue 18, promise P6).
//!
//! A backup must not keep a person alive after her erasure. The design (docs/SECURITY.md,
//! "Backups and erasure"): **a backup never holds the dossiers' keys.**
//!
//! - `parcours sauvegarde --sortie FILE`: a consistent snapshot of every table (one read transaction;
//!   `REPEATABLE READ` on PostgreSQL), encrypted with a fresh backup key wrapped by the master
//!   key (not in the file), **without** the dossiers' wrapped data keys, without the blind
//!   index (rebuilt on restore) and without sessions; the per-person secrets under shared keys
//!   (IBAN, NIR) are sealed once more with the dossier's own data key, so that they die with
//!   it. The keys go into a separate, short-lived escrow file `FILE.cles`.
//! - `parcours restauration FILE --cles-depuis SOURCE`: the data from the backup, the keys from the
//!   *live* instance (its database URL) — or, when the live instance is gone, from an escrow.
//!   An erased person's key exists in neither the live instance nor any escrow younger than
//!   her erasure: restored, her dossier stays unreadable, every other one opens.
//! - Residual window: escrow files taken before an erasure still hold the key until they are
//!   deleted; the operator keeps them for one epoch at most (7 days by default, printed by the
//!   command), which bounds how long an erasure waits to reach every copy.
//!
//! The file: `PARCOURS-SAUVEGARDE 1\n`, a JSON header line (date, backend, schema version,
//! master-key version, row counts, the wrapped backup key), then the sealed body (AES-256-GCM,
//! the header's hash as associated data): one JSON line per table.

use chrono::Utc;
use parcours_store::dump::{self, Cell};
use parcours_store::Store;
use parcours_vault::{DataKey, MasterKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::audit::{Event, OK};
use crate::keys::dek_context;
use crate::setup::Location;
use crate::{App, AppError, Ctx, Result, Rule};

const MAGIC: &[u8] = b"PARCOURS-SAUVEGARDE 1\n";
const KEY_CONTEXT: &str = "sauvegarde";
/// How long an escrow of keys may be kept: an erasure reaches every copy after it.
pub const ESCROW_EPOCH_DAYS: i64 = 7;
/// Tables a backup does not carry: sessions end with the instance, the blind index is rebuilt.
const SKIPPED: &[&str] = &["sessions", "login_throttle", "blind_index"];

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    created_at: i64,
    backend: String,
    schema: i64,
    master_version: u32,
    rows: BTreeMap<String, usize>,
    key: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct TableDump {
    t: String,
    c: Vec<String>,
    r: Vec<Vec<Cell>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Escrow {
    created_at: i64,
    master_version: u32,
    cles: BTreeMap<String, String>,
}

/// What a backup wrote.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSummary {
    pub file: PathBuf,
    pub escrow: PathBuf,
    pub rows: usize,
    pub dossiers: usize,
}

/// Where a restore takes the dossiers' keys from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The live instance's database (its URL): erasures done since the backup hold.
    Database(String),
    /// An escrow file written by `parcours sauvegarde`.
    Escrow(PathBuf),
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreSummary {
    pub rows: usize,
    pub dossiers: usize,
    /// Dossiers whose key was found: readable.
    pub readable: usize,
    /// Dossiers without a key (erased since the backup, or before): unreadable for good.
    pub without_key: usize,
}

fn ad(header_line: &[u8]) -> Vec<u8> {
    let mut v = b"parcours/sauvegarde/v1/".to_vec();
    v.extend_from_slice(&parcours_vault::sha256(header_line));
    v
}

fn col(cols: &[String], name: &str) -> Option<usize> {
    cols.iter().position(|c| c == name)
}

fn blob_ad(table: &str, jeune_id: &str) -> Vec<u8> {
    format!("parcours/sauvegarde/{table}/{jeune_id}").into_bytes()
}

/// The column of a per-person secret under a shared key, by table: sealed again with the
/// dossier's key in a backup.
fn person_secret(table: &str) -> Option<&'static str> {
    match table {
        "bank_accounts" => Some("iban"),
        "nirs" => Some("nir"),
        _ => None,
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    opts.open(path)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .map_err(|e| AppError::io(format!("fichier {}", path.display()), e))
}

async fn schema_version(conn: &mut parcours_store::Conn) -> Result<i64> {
    Ok(dump::schema_version(conn).await?)
}

impl App {
    /// Writes a backup of the instance to `out` and the escrow of its keys to `out.cles`.
    pub async fn backup(&self, ctx: &Ctx, out: &Path) -> Result<BackupSummary> {
        let backend = self.store.backend();
        let mut tx = self.store.begin().await?;
        dump::snapshot(&mut tx, backend).await?;
        dump::check_tables(&mut tx, backend).await?;
        let schema = schema_version(&mut tx).await?;
        let mut tables = Vec::new();
        let mut escrow = BTreeMap::new();
        let mut deks: BTreeMap<String, DataKey> = BTreeMap::new();
        let mut rows_total = 0;
        for &t in dump::TABLES {
            if SKIPPED.contains(&t) {
                continue;
            }
            let (cols, mut rows) = dump::read_table(&mut tx, t).await?;
            if t == "jeunes" && !rows.is_empty() {
                let (Some(id), Some(k)) = (col(&cols, "id"), col(&cols, "wrapped_key")) else {
                    return Err(AppError::internal("table jeunes sans id ou clé"));
                };
                for r in &mut rows {
                    if let (Cell::Text(jid), Cell::Blob(w)) = (&r[id], &r[k]) {
                        deks.insert(
                            jid.clone(),
                            self.keys.master.unwrap_key(w, &dek_context(jid))?,
                        );
                        escrow.insert(jid.clone(), hex::encode(w));
                    }
                    r[k] = Cell::Null;
                }
            }
            if let Some(secret) = person_secret(t).filter(|_| !rows.is_empty()) {
                let (Some(j), Some(s)) = (col(&cols, "jeune_id"), col(&cols, secret)) else {
                    return Err(AppError::internal("colonnes attendues absentes"));
                };
                let mut kept = Vec::with_capacity(rows.len());
                for mut r in rows {
                    let sealed = match (&r[j], &r[s]) {
                        (Cell::Text(jid), Cell::Blob(b)) => {
                            deks.get(jid).map(|dek| dek.seal(b, &blob_ad(t, jid)))
                        }
                        _ => None,
                    };
                    // A secret of an erased dossier (no key) is not carried at all.
                    if let Some(sealed) = sealed {
                        r[s] = Cell::Blob(sealed);
                        kept.push(r);
                    }
                }
                rows = kept;
            }
            rows_total += rows.len();
            tables.push(TableDump {
                t: t.to_string(),
                c: cols,
                r: rows,
            });
        }
        drop(tx);
        let key = DataKey::generate();
        let header = Header {
            created_at: ctx.now.timestamp(),
            backend: format!("{backend:?}").to_lowercase(),
            schema,
            master_version: self.keys.master.version(),
            rows: tables.iter().map(|t| (t.t.clone(), t.r.len())).collect(),
            key: hex::encode(self.keys.master.wrap(&key, KEY_CONTEXT)),
        };
        let header_line = serde_json::to_vec(&header).map_err(AppError::internal)?;
        let mut body = Vec::new();
        for t in &tables {
            serde_json::to_writer(&mut body, t).map_err(AppError::internal)?;
            body.push(b'\n');
        }
        let sealed = key.seal(&body, &ad(&header_line));
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&header_line);
        file.push(b'\n');
        file.extend_from_slice(&sealed);
        write_private(out, &file)?;
        let escrow_path = escrow_path(out);
        let dossiers = escrow.len();
        let e = Escrow {
            created_at: ctx.now.timestamp(),
            master_version: self.keys.master.version(),
            cles: escrow,
        };
        write_private(
            &escrow_path,
            &serde_json::to_vec(&e).map_err(AppError::internal)?,
        )?;
        self.audit_alone(
            ctx,
            Event {
                action: "sauvegarde.creation",
                subject: None,
                fields: &format!("lignes:{rows_total},dossiers:{dossiers}"),
                outcome: OK,
                structure_id: None,
            },
        )
        .await?;
        Ok(BackupSummary {
            file: out.to_path_buf(),
            escrow: escrow_path,
            rows: rows_total,
            dossiers,
        })
    }
}

/// Where the escrow of a backup's keys goes: `FILE.cles`.
pub fn escrow_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".cles");
    PathBuf::from(s)
}

/// The dossiers' wrapped keys from a source.
async fn keys_from(source: &KeySource) -> Result<BTreeMap<String, Vec<u8>>> {
    match source {
        KeySource::Escrow(path) => {
            let text = std::fs::read(path)
                .map_err(|e| AppError::io(format!("séquestre de clés {}", path.display()), e))?;
            let e: Escrow = serde_json::from_slice(&text).map_err(|_| {
                AppError::Refused(Rule::Instance, "séquestre de clés illisible".into())
            })?;
            e.cles
                .into_iter()
                .map(|(id, h)| {
                    hex::decode(h).map(|k| (id, k)).map_err(|_| {
                        AppError::Refused(Rule::Instance, "séquestre de clés illisible".into())
                    })
                })
                .collect()
        }
        KeySource::Database(url) => {
            let store = Store::connect(url).await?;
            let mut conn = store.acquire().await?;
            let rows = dump::wrapped_keys(&mut conn).await?;
            drop(conn);
            store.close().await;
            Ok(rows
                .into_iter()
                .filter_map(|(id, k)| k.map(|k| (id, k)))
                .collect())
        }
    }
}

/// Restores `file` into the empty instance at `loc` (its key file must be the master key the
/// backup was made with), with the dossiers' keys from `keys`. Rebuilds the blind index and the
/// external checkpoint log; audits the restore in the restored log.
pub async fn restore(loc: &Location, file: &Path, keys: &KeySource) -> Result<RestoreSummary> {
    let bytes = std::fs::read(file)
        .map_err(|e| AppError::io(format!("sauvegarde {}", file.display()), e))?;
    let unreadable = || {
        AppError::Refused(
            Rule::Instance,
            "fichier de sauvegarde illisible ou tronqué".into(),
        )
    };
    let rest = bytes.strip_prefix(MAGIC).ok_or_else(unreadable)?;
    let nl = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(unreadable)?;
    let (header_line, sealed) = (&rest[..nl], &rest[nl + 1..]);
    let header: Header = serde_json::from_slice(header_line).map_err(|_| unreadable())?;
    let master = MasterKey::load(&loc.key_file)?;
    let key = master
        .unwrap_key(&hex::decode(&header.key).map_err(|_| unreadable())?, KEY_CONTEXT)
        .map_err(|_| {
            AppError::Refused(
                Rule::Instance,
                "la clé maîtresse ne correspond pas à cette sauvegarde : utilisez le fichier de clé de l'instance sauvegardée".into(),
            )
        })?;
    let body = key
        .open(sealed, &ad(header_line))
        .map_err(|_| unreadable())?;
    let wrapped = keys_from(keys).await?;
    std::fs::create_dir_all(&loc.data_dir)
        .map_err(|e| AppError::io(format!("dossier de données {}", loc.data_dir.display()), e))?;
    let store = Store::connect(&loc.database_url).await?;
    if store.is_initialised().await? {
        return Err(AppError::Refused(
            Rule::Instance,
            "la base cible n'est pas vide : restaurez dans une base neuve".into(),
        ));
    }
    store.migrate().await?;
    let mut tx = store.begin().await?;
    if schema_version(&mut tx).await? != header.schema {
        return Err(AppError::Refused(
            Rule::Instance,
            format!(
                "sauvegarde du schéma n° {}, ce programme est au n° {} : restaurez avec la même version de Parcours",
                header.schema,
                schema_version(&mut tx).await?
            ),
        ));
    }
    let (mut rows_total, mut dossiers, mut readable) = (0, 0, 0);
    let mut deks: BTreeMap<String, DataKey> = BTreeMap::new();
    for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let t: TableDump = serde_json::from_slice(line).map_err(|_| unreadable())?;
        let table = dump::TABLES
            .iter()
            .copied()
            .find(|x| *x == t.t)
            .ok_or_else(unreadable)?;
        // The migrations seed some rows (the audit head): the backup's replace them.
        dump::clear_table(&mut tx, table).await?;
        for mut r in t.r {
            if table == "jeunes" {
                dossiers += 1;
                if let (Some(i), Some(k)) = (col(&t.c, "id"), col(&t.c, "wrapped_key")) {
                    if let Cell::Text(jid) = &r[i] {
                        if let Some(w) = wrapped.get(jid) {
                            let dek = master.unwrap_key(w, &dek_context(jid))?;
                            deks.insert(jid.clone(), dek);
                            r[k] = Cell::Blob(w.clone());
                            readable += 1;
                        }
                    }
                }
            }
            if let Some(secret) = person_secret(table) {
                let (Some(j), Some(s)) = (col(&t.c, "jeune_id"), col(&t.c, secret)) else {
                    return Err(unreadable());
                };
                let opened = match (&r[j], &r[s]) {
                    (Cell::Text(jid), Cell::Blob(b)) => deks
                        .get(jid)
                        .and_then(|dek| dek.open(b, &blob_ad(table, jid)).ok())
                        .map(|p| p.to_vec()),
                    _ => None,
                };
                match opened {
                    Some(p) => r[s] = Cell::Blob(p),
                    // Its dossier's key is gone: the secret goes with it.
                    None => continue,
                }
            }
            dump::insert_row(&mut tx, table, &t.c, &r).await?;
            rows_total += 1;
        }
    }
    dump::reset_sequences(&mut tx, store.backend()).await?;
    tx.commit()
        .await
        .map_err(parcours_store::StoreError::from)?;
    store.close().await;
    // Now an instance: rebuild what the backup did not carry.
    let app = crate::setup::open(loc).await?;
    app.after_restore(&header, readable, dossiers).await?;
    Ok(RestoreSummary {
        rows: rows_total,
        dossiers,
        readable,
        without_key: dossiers - readable,
    })
}

impl App {
    async fn after_restore(&self, header: &Header, readable: usize, dossiers: usize) -> Result<()> {
        let mut tx = self.store.begin().await?;
        for id in parcours_store::jeunes::all_ids(&mut tx).await? {
            let Some(row) = parcours_store::jeunes::get(&mut tx, &id).await? else {
                continue;
            };
            if row.wrapped_key.is_none() {
                continue;
            }
            let d = self.decrypt_row(&row)?;
            parcours_store::jeunes::set_blind_indexes(
                &mut tx,
                &id,
                row.structure_id,
                &self.blind_entries(&d.identity),
            )
            .await?;
        }
        let ctx = Ctx::operator(Utc::now());
        self.audit(
            &mut tx,
            &ctx,
            Event {
                action: "sauvegarde.restauration",
                subject: None,
                fields: &format!(
                    "sauvegarde_du:{},dossiers:{dossiers},lisibles:{readable}",
                    header.created_at
                ),
                outcome: OK,
                structure_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        // The external checkpoint log of the restored instance: the checkpoints it carries.
        if let Some(path) = &self.checkpoint_log {
            let lines = self.checkpoint_lines().await?;
            write_private(path, lines.as_bytes())?;
        }
        self.seal_audit(Utc::now()).await?;
        Ok(())
    }
}
