//! The dossier jeune: create, read, update, list, search — authorised and audited here.
//!
//! Only conseiller and directeur read identities, and only in their own structure. A dossier of
//! another structure answers exactly like a dossier that does not exist (404), and the refusal is
//! audited. Every identity shown — a dossier opened, a line of a list or of search results —
//! leaves one audit entry naming the dossier id (never the person).

use crate::Rule;
use chrono::{Datelike, NaiveDate};
use parcours_domain::jeune::{self, Identity, JeuneInput, Sexe};
use parcours_domain::normalize::{self, fold, tokens};
use parcours_domain::{ValidationErrors, Warning};
use parcours_store::jeunes::{self as q, JeuneRow, ENCRYPTED_COLUMNS};
use parcours_store::Conn;
use parcours_vault::{BlindIndex, DataKey};
use serde::Serialize;

use crate::audit::{Event, OK, REFUSED};
use crate::keys::dek_context;
use crate::vigilance::SEARCH_PAGE;
use crate::{Actor, App, AppError, Ctx, Result};

const TABLE: &str = "jeunes";

// The domain's input fields and the store's encrypted columns are the same list, in the same
// order (field values are encrypted column by column): the build fails if they ever diverge.
const _: () = {
    const fn same(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    assert!(jeune::FIELDS.len() == ENCRYPTED_COLUMNS.len());
    let mut i = 0;
    while i < ENCRYPTED_COLUMNS.len() {
        assert!(same(jeune::FIELDS[i], ENCRYPTED_COLUMNS[i]));
        i += 1;
    }
};
pub const PAGE_SIZE: i64 = 50;

/// A decrypted dossier.
#[derive(Debug, Clone, Serialize)]
pub struct Dossier {
    pub id: String,
    pub structure_id: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(flatten)]
    pub identity: Identity,
}

/// What a list or a search result shows of a dossier: no more than the line needs.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: String,
    pub nom: String,
    pub prenom: String,
    pub date_naissance: NaiveDate,
    pub commune: Option<String>,
}

/// One search candidate: only what recognises the right person.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub id: String,
    pub nom: String,
    /// Initial of the first name.
    pub initiale: String,
    pub annee_naissance: i32,
    pub commune: Option<String>,
    /// In the actor's caseload (not counted).
    pub portefeuille: bool,
}

/// A page of search candidates.
#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub candidates: Vec<Candidate>,
    /// Matches in all (each page shown counts).
    pub total: usize,
    pub page: i64,
    pub pages: i64,
}

/// The fields a search candidate reveals, as named in the audit log.
pub const CANDIDATE_FIELDS: &str = "nom,initiale_prenom,annee_naissance,commune";

/// The fields a summary reveals, as named in the audit log.
/// What opening a dossier decrypts, as its audit entry names it: every identity column.
static IDENTITY_FIELDS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| ENCRYPTED_COLUMNS.join(","));

pub const SUMMARY_FIELDS: &str = "nom,prenom,date_naissance,commune";

impl From<&Dossier> for Summary {
    fn from(d: &Dossier) -> Summary {
        Summary {
            id: d.id.clone(),
            nom: d.identity.nom.clone(),
            prenom: d.identity.prenom.clone(),
            date_naissance: d.identity.date_naissance,
            commune: d.identity.commune.clone(),
        }
    }
}

/// A candidate whose fields are decrypted one at a time, only when needed.
pub(crate) struct Lazy<'a> {
    row: &'a q::PartialRow,
    columns: &'a [&'a str],
    pub(crate) dek: DataKey,
}

impl Lazy<'_> {
    pub(crate) fn get(&self, column: &str) -> Result<String> {
        let i = self
            .columns
            .iter()
            .position(|c| *c == column)
            .ok_or_else(|| AppError::internal("colonne non chargée"))?;
        self.dek
            .decrypt_field(TABLE, column, &self.row.id, &self.row.fields[i])
            .map_err(|e| {
                AppError::Internal(format!("{e} (colonne {column}, dossier {})", self.row.id))
            })
    }
    pub(crate) fn date(&self) -> Result<NaiveDate> {
        NaiveDate::parse_from_str(&self.get("date_naissance")?, "%Y-%m-%d")
            .map_err(AppError::internal)
    }
}

/// The outcome of a create or update: the dossier id and any non-blocking warnings.
#[derive(Debug, Clone, Serialize)]
pub struct Saved {
    pub id: String,
    pub version: i64,
    pub warnings: Vec<Warning>,
}

/// Search criteria as typed; at least one of nom, prénom, e-mail, téléphone.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    pub nom: String,
    pub prenom: String,
    pub date_naissance: String,
    pub email: String,
    pub telephone: String,
    /// Result page, from 0.
    pub page: i64,
}

impl SearchQuery {
    pub fn is_empty(&self) -> bool {
        [
            &self.nom,
            &self.prenom,
            &self.date_naissance,
            &self.email,
            &self.telephone,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

fn field_values(id: &Identity) -> [String; 11] {
    [
        id.nom.clone(),
        id.prenom.clone(),
        id.date_naissance.format("%Y-%m-%d").to_string(),
        id.sexe.code().to_string(),
        id.nationalite.clone().unwrap_or_default(),
        id.email.clone().unwrap_or_default(),
        id.telephone.clone().unwrap_or_default(),
        id.adresse.clone().unwrap_or_default(),
        id.code_postal.clone().unwrap_or_default(),
        id.commune.clone().unwrap_or_default(),
        id.niveau_formation
            .map(|n| n.to_string())
            .unwrap_or_default(),
    ]
}

fn opt(s: String) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// The offset of a result page (from 0; a negative page is the first). A page whose offset would
/// not fit in an i64 — `?page=` × page size — is refused (422), never wrapped.
fn page_offset(page: i64, size: i64) -> Result<i64> {
    page.max(0).checked_mul(size).ok_or_else(|| {
        let mut e = ValidationErrors::default();
        e.push("page", "invalide", "Numéro de page trop grand.");
        AppError::from(e)
    })
}

impl App {
    fn encrypt_row(&self, id: &str, dek: &DataKey, identity: &Identity) -> Vec<Vec<u8>> {
        field_values(identity)
            .iter()
            .zip(ENCRYPTED_COLUMNS)
            .map(|(v, col)| dek.encrypt_field(TABLE, col, id, v))
            .collect()
    }

    /// Decrypts a row. Fails clearly if any ciphertext was moved from another place.
    pub(crate) fn decrypt_row(&self, row: &JeuneRow) -> Result<Dossier> {
        let dek = self.data_key(&row.id, row.wrapped_key.as_deref())?;
        let mut v: Vec<String> = Vec::with_capacity(11);
        for (col, ct) in ENCRYPTED_COLUMNS.iter().zip(&row.fields) {
            v.push(dek.decrypt_field(TABLE, col, &row.id, ct).map_err(|e| {
                AppError::Internal(format!("{e} (colonne {col}, dossier {})", row.id))
            })?);
        }
        let mut it = v.into_iter();
        let mut next = || it.next().unwrap_or_default();
        let nom = next();
        let prenom = next();
        let date = next();
        let sexe = next();
        let identity = Identity {
            nom,
            prenom,
            date_naissance: NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(AppError::internal)?,
            sexe: Sexe::parse(&sexe).ok_or_else(|| AppError::internal("sexe illisible"))?,
            nationalite: opt(next()),
            email: opt(next()),
            telephone: opt(next()),
            adresse: opt(next()),
            code_postal: opt(next()),
            commune: opt(next()),
            niveau_formation: next().parse().ok(),
        };
        Ok(Dossier {
            id: row.id.clone(),
            structure_id: row.structure_id,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            identity,
        })
    }

    /// Unwraps a person's data key; an erased dossier (key destroyed) is refused clearly.
    pub(crate) fn data_key(&self, id: &str, wrapped: Option<&[u8]>) -> Result<DataKey> {
        let wrapped = wrapped.ok_or_else(|| {
            AppError::Refused(
                Rule::Erased,
                "dossier effacé : sa clé a été détruite".into(),
            )
        })?;
        Ok(self.keys.master.unwrap_key(wrapped, &dek_context(id))?)
    }

    pub(crate) fn lazy<'a>(
        &self,
        row: &'a q::PartialRow,
        columns: &'a [&'a str],
    ) -> Result<Lazy<'a>> {
        let dek = self.data_key(&row.id, row.wrapped_key.as_deref())?;
        Ok(Lazy { row, columns, dek })
    }

    pub(crate) fn blind_entries(&self, id: &Identity) -> Vec<(i64, i64)> {
        let k = &self.keys.index;
        let mut out = Vec::new();
        let nom = fold(&id.nom);
        let prenom = fold(&id.prenom);
        for (ix, folded) in [(BlindIndex::Nom, &nom), (BlindIndex::Prenom, &prenom)] {
            out.push((ix.code(), k.compute(ix, folded)));
            for t in tokens(folded) {
                out.push((ix.code(), k.compute(ix, &t)));
            }
        }
        if let Some(e) = &id.email {
            out.push((BlindIndex::Email.code(), k.compute(BlindIndex::Email, e)));
        }
        if let Some(t) = &id.telephone {
            out.push((
                BlindIndex::Telephone.code(),
                k.compute(BlindIndex::Telephone, t),
            ));
        }
        let compound = format!("{nom}|{}", id.date_naissance.format("%Y-%m-%d"));
        out.push((
            BlindIndex::NomDateNaissance.code(),
            k.compute(BlindIndex::NomDateNaissance, &compound),
        ));
        out.sort();
        out.dedup();
        out
    }

    /// The structure whose identities the actor may read, or a refusal (audited).
    pub(crate) async fn identity_scope(&self, ctx: &Ctx, action: &str) -> Result<i64> {
        match &ctx.actor {
            Actor::Account(p) if p.role.reads_identities() => {
                p.structure_id.ok_or(AppError::Forbidden)
            }
            _ => {
                self.audit_refusal(
                    ctx,
                    Event {
                        action,
                        subject: None,
                        fields: "",
                        outcome: REFUSED,
                        structure_id: None,
                    },
                );
                Err(AppError::Forbidden)
            }
        }
    }

    /// Dossiers of the structure with the same nom + prénom + date de naissance.
    pub(crate) async fn find_duplicates(
        &self,
        conn: &mut Conn,
        structure_id: i64,
        identity: &Identity,
        except: Option<&str>,
    ) -> Result<Vec<String>> {
        const COLS: [&str; 3] = ["nom", "prenom", "date_naissance"];
        let nom = fold(&identity.nom);
        let compound = format!("{nom}|{}", identity.date_naissance.format("%Y-%m-%d"));
        let v = self
            .keys
            .index
            .compute(BlindIndex::NomDateNaissance, &compound);
        let mut out = Vec::new();
        for row in q::candidates(
            conn,
            structure_id,
            BlindIndex::NomDateNaissance.code(),
            v,
            &COLS,
        )
        .await?
        {
            if Some(row.id.as_str()) == except {
                continue;
            }
            let c = self.lazy(&row, &COLS)?;
            if fold(&c.get("nom")?) == nom
                && fold(&c.get("prenom")?) == fold(&identity.prenom)
                && c.date()? == identity.date_naissance
            {
                out.push(row.id.clone());
            }
        }
        Ok(out)
    }
    /// Inserts a validated identity in `structure_id`, with its key, indexes and audit entry,
    /// on the caller's transaction. Returns the new id.
    pub(crate) async fn insert_identity(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        structure_id: i64,
        identity: &Identity,
    ) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let dek = DataKey::generate();
        let now = ctx.now.timestamp();
        let row = JeuneRow {
            id: id.clone(),
            structure_id,
            created_at: now,
            updated_at: now,
            version: 1,
            fields: self.encrypt_row(&id, &dek, identity),
            wrapped_key: Some(self.keys.master.wrap(&dek, &dek_context(&id))),
        };
        q::insert(conn, &row).await?;
        q::set_blind_indexes(conn, &id, structure_id, &self.blind_entries(identity)).await?;
        self.audit(
            conn,
            ctx,
            Event {
                action: "jeune.creation",
                subject: Some(&id),
                fields: &ENCRYPTED_COLUMNS.join(","),
                outcome: OK,
                structure_id: Some(structure_id),
            },
        )
        .await?;
        Ok(id)
    }

    /// Creates a dossier in the actor's structure. A probable duplicate is refused unless
    /// `confirm_duplicate` (the advisor saw the warning and confirmed).
    pub async fn create_jeune(
        &self,
        ctx: &Ctx,
        input: &JeuneInput,
        confirm_duplicate: bool,
    ) -> Result<Saved> {
        let structure_id = self.identity_scope(ctx, "jeune.creation").await?;
        let (identity, warnings) = jeune::validate(input, ctx.now.date_naive())?;
        let mut tx = self.store.begin().await?;
        let dups = self
            .find_duplicates(&mut tx, structure_id, &identity, None)
            .await?;
        if !dups.is_empty() && !confirm_duplicate {
            return Err(AppError::DuplicateSuspected {
                existing: dups,
                warnings,
            });
        }
        let id = self
            .insert_identity(&mut tx, ctx, structure_id, &identity)
            .await?;
        // The advisor who receives the jeune becomes its référent (her caseload).
        if let Actor::Account(p) = &ctx.actor {
            q::set_referent(&mut tx, &id, Some(p.account_id)).await?;
        }
        tx.commit().await?;
        Ok(Saved {
            id,
            version: 1,
            warnings,
        })
    }

    /// Checks that a dossier exists in the actor's structure; otherwise audits the refusal and
    /// answers NotFound, whether the id exists elsewhere or not at all.
    pub(crate) async fn authorise_dossier(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        id: &str,
        action: &str,
    ) -> Result<i64> {
        let scope = self.identity_scope(ctx, action).await?;
        // One statement: the dossier's structure and what its counted read needs (issue 15).
        let gate = if uuid::Uuid::parse_str(id).is_ok() {
            self.gate(conn, ctx, id).await?
        } else {
            None
        };
        match gate {
            Some(g) if g.structure_id == scope => {
                // Every identity outside the actor's caseload is a counted read.
                self.count_open(conn, ctx, id, &g).await?;
                Ok(g.structure_id)
            }
            other => {
                let other = other.map(|g| g.structure_id);
                self.note_probe(ctx, Some(scope));
                let subject = if uuid::Uuid::parse_str(id).is_ok() {
                    Some(id)
                } else {
                    None
                };
                self.audit_refusal(
                    ctx,
                    Event {
                        action,
                        subject,
                        fields: if other.is_some() {
                            "autre_structure"
                        } else {
                            "inexistant"
                        },
                        outcome: REFUSED,
                        structure_id: other,
                    },
                );
                Err(AppError::NotFound)
            }
        }
    }

    /// The fast path of a read that counts nothing: on a snapshot, the dossier's gate; when the
    /// dossier is in the actor's structure **and** in her caseload (or reads are not counted),
    /// its structure and the snapshot, still open for the caller to read the dossier in.
    /// Otherwise `None`, and the caller takes the write path ([`App::authorise_dossier`] in
    /// its transaction), which counts, refuses, freezes and audits as ever. A caseload read
    /// writes only its entry ([`App::audit_durable`]), so it takes no writer's turn of its
    /// own (issue 20).
    pub(crate) async fn free_read(
        &self,
        ctx: &Ctx,
        id: &str,
        action: &str,
    ) -> Result<Option<(i64, parcours_store::ReadTx)>> {
        let scope = self.identity_scope(ctx, action).await?;
        let Actor::Account(p) = &ctx.actor else {
            return Ok(None);
        };
        if uuid::Uuid::parse_str(id).is_err() {
            return Ok(None);
        }
        let mut rtx = self.store.read().await?;
        Ok(match self.gate(&mut rtx, ctx, id).await? {
            Some(g)
                if g.structure_id == scope
                    && (g.referent_id == Some(p.account_id) || !self.counting()) =>
            {
                Some((g.structure_id, rtx))
            }
            _ => None,
        })
    }

    /// Opens a dossier (audited read).
    pub async fn get_jeune(&self, ctx: &Ctx, id: &str) -> Result<Dossier> {
        if let Some((structure, mut rtx)) = self.free_read(ctx, id, "jeune.lecture").await? {
            let row = q::get(&mut rtx, id).await?.ok_or(AppError::NotFound)?;
            drop(rtx);
            self.audit_durable(ctx, self.read_event(id, structure), &[])
                .await?;
            return self.decrypt_row(&row);
        }
        // Authorise, count and audit in one short write transaction; read and decrypt after
        // its commit, outside the writer's turn (issue 20). The entry is durable before
        // anything is shown; a dossier deleted in between answers 404 after an entry that
        // over-states, never under-states, what was read.
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, id, "jeune.lecture")
            .await?;
        self.audit(&mut tx, ctx, self.read_event(id, structure))
            .await?;
        tx.commit().await?;
        let mut conn = self.store.acquire().await?;
        let row = q::get(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        self.decrypt_row(&row)
    }

    fn read_event<'a>(&self, id: &'a str, structure: i64) -> Event<'a> {
        Event {
            action: "jeune.lecture",
            subject: Some(id),
            fields: &IDENTITY_FIELDS,
            outcome: OK,
            structure_id: Some(structure),
        }
    }

    /// Updates a dossier if `version` is still current. Only changed fields are named in the audit.
    pub async fn update_jeune(
        &self,
        ctx: &Ctx,
        id: &str,
        version: i64,
        input: &JeuneInput,
    ) -> Result<Saved> {
        let (identity, warnings) = jeune::validate(input, ctx.now.date_naive())?;
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, id, "jeune.modification")
            .await?;
        let row = q::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        if row.version != version {
            return Err(AppError::Stale);
        }
        let before = self.decrypt_row(&row)?;
        let old = field_values(&before.identity);
        let new = field_values(&identity);
        let changed: Vec<&str> = ENCRYPTED_COLUMNS
            .iter()
            .zip(old.iter().zip(new.iter()))
            .filter(|(_, (a, b))| a != b)
            .map(|(c, _)| *c)
            .collect();
        let dek = self.data_key(id, row.wrapped_key.as_deref())?;
        let updated = JeuneRow {
            updated_at: ctx.now.timestamp(),
            version: version + 1,
            fields: self.encrypt_row(id, &dek, &identity),
            ..row
        };
        q::update(&mut tx, &updated).await?;
        q::set_blind_indexes(&mut tx, id, structure, &self.blind_entries(&identity)).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "jeune.modification",
                subject: Some(id),
                fields: &changed.join(","),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Saved {
            id: id.to_string(),
            version: version + 1,
            warnings,
        })
    }

    /// "Mes dossiers": one page of the actor's caseload, most recent first (each line
    /// audited). The structure's other dossiers are never listed: they are found by search.
    pub async fn list_jeunes(&self, ctx: &Ctx, page: i64) -> Result<(Vec<Summary>, i64)> {
        let structure = self.identity_scope(ctx, "jeune.liste").await?;
        let Actor::Account(p) = &ctx.actor else {
            return Err(AppError::Forbidden);
        };
        let offset = page_offset(page, PAGE_SIZE)?;
        // Read and decrypt on a snapshot; the write transaction only appends the audit entries.
        let mut rtx = self.store.read().await?;
        let total = q::count_caseload(&mut rtx, structure, p.account_id).await?;
        // Only the summary's four fields are decrypted.
        const COLS: [&str; 4] = ["nom", "prenom", "date_naissance", "commune"];
        let rows =
            q::list_caseload(&mut rtx, structure, p.account_id, PAGE_SIZE, offset, &COLS).await?;
        drop(rtx);
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let c = self.lazy(r, &COLS)?;
            out.push(Summary {
                id: r.id.clone(),
                nom: c.get("nom")?,
                prenom: c.get("prenom")?,
                date_naissance: c.date()?,
                commune: opt(c.get("commune")?),
            });
        }
        let ids: Vec<&str> = out.iter().map(|s| s.id.as_str()).collect();
        self.audit_durable(
            ctx,
            Event {
                action: "jeune.liste",
                subject: None,
                fields: SUMMARY_FIELDS,
                outcome: OK,
                structure_id: Some(structure),
            },
            &ids,
        )
        .await?;
        Ok((out, total))
    }

    /// Searches the actor's structure through the blind indexes only, then decrypts the
    /// candidates and keeps those matching every criterion (accents and case ignored). One page
    /// of at most [`SEARCH_PAGE`] candidates, each showing only what recognises the person
    /// (nom, initiale du prénom, année de naissance, commune); every candidate outside the
    /// actor's caseload is a counted read of weight [`WEIGHT_CANDIDATE`](crate::vigilance::WEIGHT_CANDIDATE), on every page.
    pub async fn search_jeunes(&self, ctx: &Ctx, query: &SearchQuery) -> Result<SearchPage> {
        let structure = self.identity_scope(ctx, "jeune.recherche").await?;
        let skip = page_offset(query.page, SEARCH_PAGE as i64)? as usize;
        let page = query.page.max(0) as usize;
        // The blind-index lookup and the decryption of the candidates on a snapshot; the write
        // transaction counts what is shown and audits it.
        let mut rtx = self.store.read().await?;
        let found = self.search_in(&mut rtx, structure, query).await?;
        let total = found.len();
        let shown: Vec<&Summary> = found.iter().skip(skip).take(SEARCH_PAGE).collect();
        let ids: Vec<&str> = shown.iter().map(|d| d.id.as_str()).collect();
        // Which candidates shown are in the actor's caseload, on the same snapshot: when all
        // are (or none is shown), or reads are not counted, nothing is counted but the search
        // itself (issue 20).
        let mine = self.in_caseload(&mut rtx, ctx, &ids).await?;
        drop(rtx);
        // One entry naming the candidates shown (none: an entry with no dossier).
        let entry = Event {
            action: "jeune.recherche",
            subject: None,
            fields: if ids.is_empty() { "" } else { CANDIDATE_FIELDS },
            outcome: OK,
            structure_id: Some(structure),
        };
        let mine = if mine.len() == ids.len() || !self.counting() {
            self.search_durable(ctx, structure, self.subjects_row(ctx, entry, &ids))
                .await?;
            mine
        } else {
            let mut tx = self.store.begin().await?;
            let mine = self.count_candidates(&mut tx, ctx, structure, &ids).await?;
            self.count_search(&mut tx, ctx, structure).await?;
            self.audit_subjects(&mut tx, ctx, entry, &ids).await?;
            tx.commit().await?;
            mine
        };
        Ok(SearchPage {
            candidates: shown
                .into_iter()
                .map(|d| Candidate {
                    id: d.id.clone(),
                    nom: d.nom.clone(),
                    initiale: d
                        .prenom
                        .chars()
                        .next()
                        .map(|c| c.to_uppercase().collect())
                        .unwrap_or_default(),
                    annee_naissance: d.date_naissance.year(),
                    commune: d.commune.clone(),
                    portefeuille: mine.contains(&d.id),
                })
                .collect(),
            total,
            page: page as i64,
            pages: total.div_ceil(SEARCH_PAGE) as i64,
        })
    }

    /// The search itself, without authorisation or audit (also used by the benchmark).
    /// Decrypts lazily: a candidate rejected on its name costs one key unwrap and one field.
    pub(crate) async fn search_in(
        &self,
        conn: &mut Conn,
        structure: i64,
        query: &SearchQuery,
    ) -> Result<Vec<Summary>> {
        let mut errors = ValidationErrors::default();
        let nom = fold(&query.nom);
        let prenom = fold(&query.prenom);
        let email = normalize::email(&query.email);
        let date = match query.date_naissance.trim() {
            "" => None,
            s => match jeune::parse_date(s) {
                Ok(d) => Some(d),
                Err((code, msg)) => {
                    errors.push("date_naissance", code, msg);
                    None
                }
            },
        };
        let phone = match query.telephone.trim() {
            "" => None,
            s => match parcours_domain::phone::to_e164(s) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push("telephone", e.code, e.message);
                    None
                }
            },
        };
        if query.is_empty() {
            errors.push(
                "nom",
                "critere_requis",
                "Indiquez au moins un nom, un prénom, un e-mail ou un téléphone.",
            );
        } else if nom.is_empty()
            && prenom.is_empty()
            && email.is_empty()
            && phone.is_none()
            && errors.is_empty()
        {
            errors.push(
                "date_naissance",
                "critere_requis",
                "La date de naissance se cherche avec le nom (ou un autre critère).",
            );
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let k = &self.keys.index;
        // The most selective index available drives the lookup.
        let (ix, value) = if !email.is_empty() {
            (BlindIndex::Email, k.compute(BlindIndex::Email, &email))
        } else if let Some(p) = &phone {
            (BlindIndex::Telephone, k.compute(BlindIndex::Telephone, p))
        } else if let (false, Some(d)) = (nom.is_empty(), date) {
            let c = format!("{nom}|{}", d.format("%Y-%m-%d"));
            (
                BlindIndex::NomDateNaissance,
                k.compute(BlindIndex::NomDateNaissance, &c),
            )
        } else if !nom.is_empty() {
            (BlindIndex::Nom, k.compute(BlindIndex::Nom, &nom))
        } else {
            (BlindIndex::Prenom, k.compute(BlindIndex::Prenom, &prenom))
        };
        // Only the ciphertexts the filter and the result line need.
        let mut cols = vec!["nom", "prenom", "date_naissance", "commune"];
        if !email.is_empty() {
            cols.push("email");
        }
        if phone.is_some() {
            cols.push("telephone");
        }
        let rows = q::candidates(conn, structure, ix.code(), value, &cols).await?;
        let name_matches = |wanted: &str, actual: &str| {
            wanted.is_empty() || {
                let a = fold(actual);
                a == wanted || tokens(&a).iter().any(|t| t == wanted)
            }
        };
        let mut out = Vec::new();
        for r in &rows {
            let c = self.lazy(r, &cols)?;
            let n = c.get("nom")?;
            if !name_matches(&nom, &n) {
                continue;
            }
            let p = c.get("prenom")?;
            if !name_matches(&prenom, &p) {
                continue;
            }
            if !email.is_empty() && c.get("email")? != email {
                continue;
            }
            if let Some(ph) = &phone {
                if &c.get("telephone")? != ph {
                    continue;
                }
            }
            let d = c.date()?;
            if date.is_some_and(|x| x != d) {
                continue;
            }
            out.push(Summary {
                id: r.id.clone(),
                nom: n,
                prenom: p,
                date_naissance: d,
                commune: opt(c.get("commune")?),
            });
        }
        out.sort_by_cached_key(|s| (fold(&s.nom), fold(&s.prenom)));
        Ok(out)
    }
}
