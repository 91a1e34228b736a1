//! The unlocked keys of a running instance, the keyring in the database, and rotation.
//!
//! The database keeps only wrapped keys (`keyring` table, context `keyring:<purpose>`), so a
//! copy of it is useless without the master key file. Purposes:
//! - `check`: a random key whose successful unwrap proves the master key matches this database;
//! - `index`: root of the blind-index keys;
//! - `accounts`: encrypts account secrets (TOTP seeds, pending enrolments);
//! - `audit_mac`: HMAC of each audit entry at append time;
//! - `audit_signing`: Ed25519 seed signing audit checkpoints;
//! - `pseudonym`: keyed hashes of logins and client addresses (throttling, failed logins);
//! - `sensitive`: the sensitive tier (IBANs): its own key class, so that neither a person's
//!   data key nor any other purpose opens it; decrypted only into a payment batch;
//! - `warehouse`: keyed pseudonyms of the decision module's warehouse, distinct from every other
//!   key (two instances' warehouses share no pseudonym; the warehouse cannot be linked back to
//!   the operational ids without it).
//! - `insight_signing`: Ed25519 seed signing the short-lived assertions that log people into
//!   the insight server (`parcours_vault::assertion`), which knows only its public key.

use crate::Rule;
use ed25519_dalek::SigningKey;
use parcours_store::keyring::{self, WrappedKeys};
use parcours_store::Store;
use parcours_vault::{DataKey, IndexKeys, MasterKey};
use std::path::Path;

use crate::{App, AppError, Result};

pub const PURPOSES: [&str; 9] = [
    "check",
    "index",
    "accounts",
    "audit_mac",
    "audit_signing",
    "pseudonym",
    "sensitive",
    "warehouse",
    "insight_signing",
];

/// Purposes added after the first release: an instance created before gets them at its next
/// start (generated and wrapped by its master key), so upgrading needs no manual step.
const ADDED_LATER: [&str; 3] = ["sensitive", "warehouse", "insight_signing"];

pub struct Keys {
    pub master: MasterKey,
    pub index: IndexKeys,
    pub accounts: DataKey,
    pub audit_mac: DataKey,
    pub audit_signing: SigningKey,
    pub pseudonym: DataKey,
    pub sensitive: DataKey,
    pub warehouse: DataKey,
    pub insight_signing: SigningKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys(master v{}, <redacted>)", self.master.version())
    }
}

fn ctx(purpose: &str) -> String {
    format!("keyring:{purpose}")
}

pub fn dek_context(jeune_id: &str) -> String {
    format!("dek:{jeune_id}")
}

/// The wrapping context of a company contact's data key.
pub fn contact_context(contact_id: &str) -> String {
    format!("contact:{contact_id}")
}

/// The wrapping context of a row's data key, by the table that holds it.
pub fn wrapped_key_context(kind: WrappedKeys, id: &str) -> String {
    match kind {
        WrappedKeys::Jeunes => dek_context(id),
        WrappedKeys::CompanyContacts => contact_context(id),
    }
}

impl Keys {
    /// Creates the keyring of a new instance, wrapped by `master`.
    pub async fn create(store: &Store, master: MasterKey) -> Result<Keys> {
        let mut tx = store.begin().await?;
        for p in PURPOSES {
            keyring::put(&mut tx, p, &master.wrap(&DataKey::generate(), &ctx(p))).await?;
        }
        tx.commit().await?;
        Keys::load(store, master).await
    }

    /// Unwraps the keyring with `master`; a wrong master key is refused clearly.
    pub async fn load(store: &Store, master: MasterKey) -> Result<Keys> {
        let mut conn = store.acquire().await?;
        if keyring::get(&mut conn, "check").await?.is_some() {
            for p in ADDED_LATER {
                if keyring::get(&mut conn, p).await?.is_none() {
                    keyring::put(&mut conn, p, &master.wrap(&DataKey::generate(), &ctx(p))).await?;
                }
            }
        }
        let mut out = Vec::new();
        for p in PURPOSES {
            let w = keyring::get(&mut conn, p).await?.ok_or_else(|| {
                AppError::Refused(
                    Rule::Instance,
                    format!("clé « {p} » absente de la base : instance non initialisée ?"),
                )
            })?;
            let k = master.unwrap_key(&w, &ctx(p)).map_err(|_| {
                let db_version = MasterKey::wrapped_version(&w).unwrap_or(0);
                AppError::Refused(Rule::Instance, format!(
                    "la clé maîtresse (version {}) ne correspond pas à cette base (clés enveloppées en version {db_version}) : mauvais fichier de clé",
                    master.version()
                ))
            })?;
            out.push(k);
        }
        let mut it = out.into_iter();
        let (
            Some(_check),
            Some(index),
            Some(accounts),
            Some(audit_mac),
            Some(signing),
            Some(pseudonym),
            Some(sensitive),
            Some(warehouse),
            Some(insight),
        ) = (
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
        )
        else {
            return Err(AppError::internal("trousseau incomplet"));
        };
        Ok(Keys {
            index: IndexKeys::derive(&index),
            accounts,
            audit_mac,
            audit_signing: SigningKey::from_bytes(signing.expose()),
            pseudonym,
            sensitive,
            warehouse,
            insight_signing: SigningKey::from_bytes(insight.expose()),
            master,
        })
    }

    /// Hex of the audit public key, for external verifiers.
    pub fn audit_public_hex(&self) -> String {
        hex::encode(self.audit_signing.verifying_key().to_bytes())
    }

    /// The throttling key of a login: case-insensitive, the same for known and unknown logins.
    /// Every failure counter goes through here, so "Alice" and "alice" share one budget.
    pub fn login_key(&self, login: &str) -> Vec<u8> {
        self.pseudonym("login", &login.trim().to_lowercase())
    }

    /// Keyed pseudonym (HMAC-SHA256, hex, 16 bytes) of a value, for throttling and audit of
    /// unknown logins: stable, not reversible without the key.
    pub fn pseudonym(&self, domain: &str, value: &str) -> Vec<u8> {
        let data = [domain.as_bytes(), b"\0", value.as_bytes()].concat();
        parcours_vault::hmac_sha256(self.pseudonym.expose(), &data)[..16].to_vec()
    }
}

/// Moves the instance to a new master-key version: every wrapped key (keyring, persons' and
/// company contacts' data keys, see [`WrappedKeys::ALL`]) is re-wrapped in one transaction; field ciphertexts are untouched. The new key is
/// written next to the old file first (`<file>.new`, 0600), then renamed over it once the
/// database is committed, so a crash leaves a recoverable state (see [`recover_interrupted`]).
pub(crate) async fn rotate(store: &Store, key_file: &Path) -> Result<(u32, u64)> {
    let old = MasterKey::load(key_file)?;
    let old_version = old.version();
    // Proves the old key is right before touching anything.
    Keys::load(store, MasterKey::load(key_file)?).await?;
    let new = MasterKey::generate(old_version + 1);
    let new_path = pending_path(key_file);
    if new_path.exists() {
        return Err(AppError::Refused(Rule::Instance, format!(
            "{} existe déjà : une rotation précédente a été interrompue ; relancez le serveur pour la terminer",
            new_path.display()
        )));
    }
    new.write_new(&new_path)?;
    let mut tx = store.begin().await?;
    for (purpose, w) in keyring::all(&mut tx).await? {
        let k = old.unwrap_key(&w, &ctx(&purpose))?;
        keyring::put(&mut tx, &purpose, &new.wrap(&k, &ctx(&purpose))).await?;
    }
    let mut count = 0u64;
    for kind in WrappedKeys::ALL {
        let mut after = String::new();
        loop {
            let page = keyring::wrapped_keys_after(&mut tx, kind, &after, 1000).await?;
            if page.is_empty() {
                break;
            }
            for (id, w) in &page {
                let context = wrapped_key_context(kind, id);
                let k = old.unwrap_key(w, &context)?;
                keyring::put_wrapped_key(&mut tx, kind, id, &new.wrap(&k, &context)).await?;
                count += 1;
            }
            after = page.last().map(|(id, _)| id.clone()).unwrap_or_default();
        }
    }
    tx.commit().await?;
    std::fs::rename(&new_path, key_file)
        .map_err(|e| AppError::io(format!("fichier de clé {}", key_file.display()), e))?;
    Ok((old_version + 1, count))
}

impl crate::App {
    /// `parcours cles renouveler`: `rotate`, then its audit entry in a transaction of its own —
    /// the outcome as it happened (`ok` with the new version and the number of keys, or
    /// `echec`), never assumed by the caller.
    pub async fn rotate_master_key(&self, ctx: &crate::Ctx, key_file: &Path) -> Result<(u32, u64)> {
        let result = rotate(&self.store, key_file).await;
        let fields = match &result {
            Ok((version, count)) => format!("version:{version},cles:{count}"),
            Err(e) => format!("erreur:{}", e.code()),
        };
        let mut tx = self.store.begin().await?;
        self.audit(
            &mut tx,
            ctx,
            crate::audit::Event {
                action: "cles.rotation",
                subject: None,
                fields: &fields,
                outcome: if result.is_ok() {
                    crate::audit::OK
                } else {
                    crate::audit::FAILED
                },
                structure_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        result
    }
}

impl App {
    /// `parcours cles renouveler --nouvelles-cles`: after the master key, every data key is replaced — each
    /// dossier's (its identity and every cell sealed with it, `store::rekey::DOSSIER_SEALED`)
    /// and each company contact's —, one dossier per transaction. An old dump with an old
    /// master key then opens old keys that open nothing current. Run with `serve` stopped (a
    /// write prepared with an old key would be refused as stale, or lost on PostgreSQL).
    /// Returns (dossiers, contacts) re-keyed; audited `cles.renouvellement`.
    /// `progress(done, total)` follows the dossiers (one call per dossier).
    pub async fn rekey_data(
        &self,
        ctx: &crate::Ctx,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<(u64, u64)> {
        use parcours_store::rekey;
        let ids = {
            let mut conn = self.store.acquire().await?;
            parcours_store::jeunes::all_ids(&mut conn).await?
        };
        let mut dossiers = 0u64;
        let total = ids.len() as u64;
        for (i, id) in ids.into_iter().enumerate() {
            progress(i as u64, total);
            let mut tx = self.store.begin().await?;
            let Some(row) = parcours_store::jeunes::get(&mut tx, &id).await? else {
                continue;
            };
            let Some(w) = &row.wrapped_key else { continue };
            let old = self.keys.master.unwrap_key(w, &dek_context(&id))?;
            let new = DataKey::generate();
            let mut fields = Vec::with_capacity(row.fields.len());
            for (col, ct) in parcours_store::jeunes::ENCRYPTED_COLUMNS
                .iter()
                .zip(&row.fields)
            {
                let plain = old.decrypt_field("jeunes", col, &id, ct)?;
                fields.push(new.encrypt_field("jeunes", col, &id, &plain));
            }
            for (table, column, _) in rekey::DOSSIER_SEALED {
                for (ad_id, ct) in rekey::cells(&mut tx, table, column, &id).await? {
                    let plain = old.decrypt_field(table, column, &ad_id, &ct)?;
                    let sealed = new.encrypt_field(table, column, &ad_id, &plain);
                    rekey::put_cell(&mut tx, table, column, &id, &ad_id, &sealed).await?;
                }
            }
            let wrapped = self.keys.master.wrap(&new, &dek_context(&id));
            rekey::put_identity(&mut tx, &id, &fields, &wrapped).await?;
            tx.commit().await?;
            dossiers += 1;
        }
        progress(total, total);
        let mut contacts = 0u64;
        let mut tx = self.store.begin().await?;
        for (id, wrapped, payload) in rekey::contacts(&mut tx).await? {
            let Some(w) = wrapped else { continue };
            let old = self.keys.master.unwrap_key(&w, &contact_context(&id))?;
            let new = DataKey::generate();
            let plain = old.decrypt_field("company_contacts", "payload", &id, &payload)?;
            let sealed = new.encrypt_field("company_contacts", "payload", &id, &plain);
            rekey::put_contact(
                &mut tx,
                &id,
                &self.keys.master.wrap(&new, &contact_context(&id)),
                &sealed,
            )
            .await?;
            contacts += 1;
        }
        self.audit(
            &mut tx,
            ctx,
            crate::audit::Event {
                action: "cles.renouvellement",
                subject: None,
                fields: &format!("dossiers:{dossiers},contacts:{contacts}"),
                outcome: crate::audit::OK,
                structure_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok((dossiers, contacts))
    }
}

pub fn pending_path(key_file: &Path) -> std::path::PathBuf {
    let mut s = key_file.as_os_str().to_owned();
    s.push(".new");
    s.into()
}

/// If a rotation committed in the database but crashed before the key file was renamed, the
/// pending file is the right key: finish the rename. Returns true when it did.
pub async fn recover_interrupted(store: &Store, key_file: &Path) -> Result<bool> {
    let pending = pending_path(key_file);
    if !pending.exists() {
        return Ok(false);
    }
    let candidate = MasterKey::load(&pending)?;
    if Keys::load(store, candidate).await.is_ok() {
        std::fs::rename(&pending, key_file).map_err(AppError::internal)?;
        return Ok(true);
    }
    // The database still uses the old key: the pending file is a leftover, remove it.
    std::fs::remove_file(&pending).map_err(AppError::internal)?;
    Ok(false)
}
