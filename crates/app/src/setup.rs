//! Instances and their administration: init, open (with every key check), structures, accounts,
//! and the demo helpers.

use crate::Rule;
use std::path::PathBuf;

use parcours_domain::structure::validate_structure;
use parcours_domain::{Role, ValidationErrors};
use parcours_store::{accounts as acc, keyring, structures as st, Store};
use parcours_vault::MasterKey;

use crate::audit::{Event, OK};
use crate::keys::{self, Keys};
use crate::{App, AppError, Ctx, Result};

/// Where an instance lives. The key file is never inside the database.
#[derive(Clone)]
pub struct Location {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub key_file: PathBuf,
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Location")
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("key_file", &self.key_file)
            .finish()
    }
}

/// Hides a password in a database URL (`postgres://user:secret@host` → `postgres://user:***@host`).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Location {
    pub fn checkpoint_log(&self) -> PathBuf {
        self.data_dir.join("audit-checkpoints.log")
    }
}

/// Creates a new instance: schema, master key file (0600, never overwritten), keyring.
pub async fn init(loc: &Location) -> Result<App> {
    std::fs::create_dir_all(&loc.data_dir)
        .map_err(|e| AppError::io(format!("dossier de données {}", loc.data_dir.display()), e))?;
    #[cfg(unix)]
    {
        // Database, WAL and key files are for the service account only.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&loc.data_dir, std::fs::Permissions::from_mode(0o700))
            .map_err(AppError::internal)?;
    }
    let store = Store::connect(&loc.database_url).await?;
    store.migrate().await?;
    if store.is_initialised().await? {
        return Err(AppError::Refused(
            Rule::Instance,
            "cette base est déjà initialisée".into(),
        ));
    }
    let master = MasterKey::generate(1);
    master.write_new(&loc.key_file)?;
    let keys = Keys::create(&store, master).await?;
    let public = loc.data_dir.join("audit-public.key");
    std::fs::write(&public, format!("{}\n", keys.audit_public_hex()))
        .map_err(AppError::internal)?;
    Ok(App::new(store, keys, Some(loc.checkpoint_log())))
}

/// Opens an existing instance, refusing clearly: missing or too-open key file, uninitialised
/// database, or a key that does not match this database.
pub async fn open(loc: &Location) -> Result<App> {
    let store = Store::connect(&loc.database_url).await?;
    if !store.is_initialised().await? {
        return Err(AppError::Refused(Rule::Instance, format!(
            "aucune instance Parcours initialisée dans cette base : lancez « parcours init --data-dir {} »",
            loc.data_dir.display()
        )));
    }
    store.migrate().await?;
    if keys::recover_interrupted(&store, &loc.key_file).await? {
        tracing::warn!("rotation de clé interrompue terminée : nouveau fichier de clé en place");
    }
    let master = MasterKey::load(&loc.key_file)?;
    let keys = Keys::load(&store, master).await?;
    let app = App::new(store, keys, Some(loc.checkpoint_log()));
    app.load_thresholds().await?;
    Ok(app)
}

/// A structure as shown to people.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Structure {
    pub id: i64,
    pub code: String,
    pub nom: String,
    pub departement: String,
    pub region: String,
    pub dossiers: i64,
}

pub struct NewUser<'a> {
    pub login: &'a str,
    pub role: Role,
    pub structure_code: Option<&'a str>,
    pub region: Option<&'a str>,
    pub password: Option<String>,
}

/// A new account's fields, checked.
#[derive(Debug, Clone)]
pub struct ValidUser {
    pub login: String,
    pub role: Role,
    pub structure_id: Option<i64>,
    pub region: Option<String>,
}

/// The password hash of an account whose owner has not set hers yet: no password matches it.
pub const UNUSABLE_PASSWORD: &str = "!";

fn valid_login(l: &str) -> bool {
    (3..=64).contains(&l.len())
        && l.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
}

impl App {
    pub async fn create_structure(
        &self,
        ctx: &Ctx,
        code: &str,
        name: &str,
        departement: &str,
        region: &str,
    ) -> Result<i64> {
        let s = validate_structure(code, name, departement, region)?;
        let mut tx = self.store.begin().await?;
        let id = st::insert(
            &mut tx,
            &s.code,
            &s.name,
            &s.departement,
            &s.region,
            ctx.now.timestamp(),
        )
        .await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "structure.creation",
                subject: Some(&s.code),
                fields: "code,name,departement,region",
                outcome: OK,
                structure_id: Some(id),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn list_structures(&self) -> Result<Vec<Structure>> {
        let mut conn = self.store.acquire().await?;
        let counts = st::counts(&mut conn).await?;
        // Canaries are not counted (a count that moved when decoys were added would show them).
        let canaries = parcours_store::vigilance::canary_tags(&mut conn).await?;
        Ok(st::list(&mut conn)
            .await?
            .into_iter()
            .map(|s| Structure {
                dossiers: counts
                    .iter()
                    .find(|(id, _)| *id == s.id)
                    .map(|(_, n)| *n)
                    .unwrap_or(0)
                    - canaries.iter().filter(|(_, st)| *st == s.id).count() as i64,
                id: s.id,
                code: s.code,
                nom: s.name,
                departement: s.departement,
                region: s.region,
            })
            .collect())
    }

    pub async fn structure_by_code(&self, code: &str) -> Result<Option<st::StructureRow>> {
        let mut conn = self.store.acquire().await?;
        Ok(st::by_code(&mut conn, &code.trim().to_uppercase()).await?)
    }

    pub async fn structure_by_id(&self, id: i64) -> Result<Option<st::StructureRow>> {
        let mut conn = self.store.acquire().await?;
        Ok(st::by_id(&mut conn, id).await?)
    }

    /// Checks a new account's fields (login, role, structure, region) without writing.
    pub async fn validate_new_user(&self, u: &NewUser<'_>) -> Result<ValidUser> {
        let mut e = ValidationErrors::default();
        let login = u.login.trim().to_lowercase();
        if !valid_login(&login) {
            e.push(
                "login",
                "login_invalide",
                "Identifiant : 3 à 64 caractères parmi a-z, 0-9, point, tiret, soulignement.",
            );
        }
        let structure = match u.structure_code {
            Some(code) => match self.structure_by_code(code).await? {
                Some(s) => Some(s),
                None => {
                    e.push(
                        "structure",
                        "structure_inconnue",
                        format!("Structure inconnue : {}", code.trim()),
                    );
                    None
                }
            },
            None => None,
        };
        if u.role.needs_structure() && structure.is_none() && e.for_field("structure").is_none() {
            e.push(
                "structure",
                "requis",
                "Ce rôle est rattaché à une structure (--structure CODE).",
            );
        }
        if let Some(p) = &u.password {
            if p.chars().count() < 12 {
                e.push(
                    "password",
                    "mot_de_passe_court",
                    "Le mot de passe doit faire au moins 12 caractères.",
                );
            }
        }
        let given_region = u.region.map(str::trim).filter(|r| !r.is_empty());
        // A pilote's perimeter is said, never assumed: without one she used to get the nation.
        let national = given_region
            .is_some_and(|r| matches!(r.to_lowercase().as_str(), "national" | "nationale"));
        if u.role == Role::Pilote && given_region.is_none() {
            e.push(
                "region",
                "requis",
                "Un pilote a un périmètre : --region <région> (par exemple « Île-de-France »), ou --region national pour le territoire national.",
            );
        }
        if !e.is_empty() {
            return Err(AppError::Validation(e));
        }
        let region = if national {
            None
        } else {
            given_region
                .map(str::to_string)
                .or_else(|| structure.as_ref().map(|s| s.region.clone()))
        };
        Ok(ValidUser {
            login,
            role: u.role,
            structure_id: structure.as_ref().map(|s| s.id),
            region,
        })
    }

    /// Writes an account (inside the caller's transaction) with the given password hash
    /// (`UNUSABLE_PASSWORD` until its owner sets one through her enrolment link).
    pub(crate) async fn insert_account(
        &self,
        tx: &mut parcours_store::Conn,
        ctx: &Ctx,
        u: &ValidUser,
        password_hash: &str,
        action: &str,
    ) -> Result<i64> {
        let id = acc::insert(
            tx,
            &acc::NewAccount {
                login: &u.login,
                password_hash,
                role: u.role.code(),
                structure_id: u.structure_id,
                scope_region: u.region.as_deref(),
                now: ctx.now.timestamp(),
            },
        )
        .await?;
        self.audit(
            tx,
            ctx,
            Event {
                action,
                subject: Some(&u.login),
                fields: "login,role,structure",
                outcome: OK,
                structure_id: u.structure_id,
            },
        )
        .await?;
        Ok(id)
    }

    /// Creates a demonstration account with a known password, alone: refused on any instance
    /// that is not a demo (`parcours demo` marks it first). Real accounts go through a
    /// four-eyes request and an enrolment link (`approvals`, `enrolment`).
    pub async fn create_demo_account(&self, ctx: &Ctx, u: NewUser<'_>) -> Result<i64> {
        if !self.is_demo().await? {
            return Err(AppError::Refused(
                Rule::DemoOnly,
                "comptes à mot de passe connu réservés aux instances de démonstration".into(),
            ));
        }
        let password = u
            .password
            .clone()
            .ok_or_else(|| AppError::internal("compte de démonstration sans mot de passe"))?;
        let v = self.validate_new_user(&u).await?;
        let hash = crate::auth::hash_password(password).await?;
        let mut tx = self.store.begin().await?;
        let id = self
            .insert_account(&mut tx, ctx, &v, &hash, "compte.creation")
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn list_accounts(&self) -> Result<Vec<acc::AccountRow>> {
        let mut conn = self.store.acquire().await?;
        Ok(acc::list(&mut conn).await?)
    }

    /// Marks this instance as a demonstration (enables the demo-only second-factor helper).
    pub async fn mark_demo(&self) -> Result<()> {
        let mut conn = self.store.acquire().await?;
        keyring::meta_set(&mut conn, "demo", "1").await?;
        Ok(())
    }

    pub async fn is_demo(&self) -> Result<bool> {
        let mut conn = self.store.acquire().await?;
        Ok(keyring::meta_get(&mut conn, "demo").await?.as_deref() == Some("1"))
    }

    /// The current second-factor code of a demo account. Refused on any non-demo instance.
    /// The guard of a scheduled job (the nightly warehouse export, retention), or `None` when
    /// another instance on this database runs it now (issue 20: several `serve` processes).
    pub async fn exclusive_job(&self, job: i64) -> Result<Option<parcours_store::JobLock>> {
        Ok(self.store.try_job_lock(job).await?)
    }

    pub async fn demo_code(
        &self,
        login: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String> {
        if !self.is_demo().await? {
            return Err(AppError::Refused(Rule::DemoOnly, "commande réservée aux instances de démonstration : cette instance n'en est pas une".into()));
        }
        let secret = self.totp_secret_of(login).await?;
        crate::auth::totp_code(&secret, now.timestamp().max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_url_password() {
        assert_eq!(
            super::redact_url("postgres://u:s3cr3t@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            super::redact_url("sqlite:///tmp/x.db"),
            "sqlite:///tmp/x.db"
        );
    }
}
