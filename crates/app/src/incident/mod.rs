//! The incident report (issue 18, GDPR Art. 33 and 34): after a breach, *exactly* whose data
//! was read, changed or exported, which categories, how many persons and records — from the
//! audit log, which records every read with its subject — and the documents that follow: the
//! CNIL notification draft, one letter per person (and per legal representative of a minor),
//! a mailing list ([`documents`]).
//!
//! Scopes ([`Scope`]):
//! - **accounts and a window**: every entry of those accounts in the window that revealed or
//!   changed a dossier (`outcome = ok`, a subject);
//! - **structures and a window**: the same, for every entry about those structures' dossiers;
//! - **a dump of the database taken on a date**: every dossier that existed then. Its data is
//!   encrypted with per-dossier keys wrapped by the master key, which is not in the database:
//!   unless the master key is declared compromised too, the report says so per category
//!   (Art. 34(3)(a): communication to the persons not required).
//!
//! Four eyes: a DPO asks ([`App::request_incident_report`]), an admin or another DPO approves,
//! then the requesting DPO (pages) or the operator (`parcours incident rapport`) produces it
//! within 24 hours of the approval; each production is audited with its counts. Names and
//! addresses are decrypted at report time, written only into the documents, never logged.

pub mod documents;

use chrono::{DateTime, NaiveDate, Utc};
use parcours_domain::Role;
use parcours_store::audit::AuditRow;
use parcours_store::requests as rq;
use parcours_store::{jeunes as jq, structures as sq, Conn};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::approvals::{NewRequest, Requested, INCIDENT_REPORT};
use crate::audit::{Event, OK, REFUSED};
use crate::{Actor, App, AppError, Ctx, Result, Rule};

/// How long after its approval a report may be produced.
pub const VALID_AFTER_APPROVAL_S: i64 = 24 * 3600;

/// What the report covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "portee", rename_all = "snake_case")]
pub enum Scope {
    /// Entries of these accounts (logins) in `[from, to)` (seconds).
    Comptes {
        comptes: Vec<String>,
        du: i64,
        au: i64,
    },
    /// Entries about these structures' dossiers in `[from, to)`.
    Structures {
        structures: Vec<String>,
        du: i64,
        au: i64,
    },
    /// A dump of the database taken at `date`; `cle_compromise`: the master key leaked too.
    Base { date: i64, cle_compromise: bool },
    /// The warehouse directory (every version it holds) leaked.
    Entrepot { dossier: String },
    /// A master-key version leaked: with any dump taken while it was current, every dossier
    /// that existed then is readable.
    Cle { version: u32 },
}

/// A scope as typed (CLI flags, page form).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ScopeInput {
    /// `comptes`, `structures` or `base`.
    pub portee: String,
    /// Logins, comma-separated.
    pub comptes: String,
    /// Structure codes, comma-separated.
    pub structures: String,
    /// `AAAA-MM-JJ` or `AAAA-MM-JJTHH:MM` (UTC); `au` is included when a day.
    pub du: String,
    pub au: String,
    /// Date of the dump (`base`).
    pub date: String,
    /// `oui` when the master key leaked with the dump.
    pub cle_compromise: String,
    /// `entrepot`: the warehouse directory (default: the data dir's `entrepot`).
    pub entrepot: String,
    /// `cle`: the master-key version that leaked.
    pub version: String,
}

fn bad(field: &str, msg: &str) -> AppError {
    let mut e = parcours_domain::ValidationErrors::default();
    e.push(field, "invalide", msg);
    AppError::Validation(e)
}

/// `AAAA-MM-JJ` (the start of the day, or of the next one when `end`) or an RFC 3339 time.
fn parse_time(raw: &str, end: bool) -> Option<i64> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.timestamp());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M") {
        return Some(t.and_utc().timestamp());
    }
    let d = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    let d = if end { d.succ_opt()? } else { d };
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

fn list(raw: &str) -> Vec<String> {
    let mut v: Vec<String> = raw
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}

impl ScopeInput {
    pub fn parse(&self) -> Result<Scope> {
        let window = || -> Result<(i64, i64)> {
            let du = parse_time(&self.du, false)
                .ok_or_else(|| bad("du", "Début : une date AAAA-MM-JJ (ou AAAA-MM-JJTHH:MM)."))?;
            let au = parse_time(&self.au, true)
                .ok_or_else(|| bad("au", "Fin : une date AAAA-MM-JJ (ou AAAA-MM-JJTHH:MM)."))?;
            if au <= du {
                return Err(bad("au", "La fin de la période précède son début."));
            }
            Ok((du, au))
        };
        match self.portee.trim() {
            "comptes" => {
                let comptes = list(&self.comptes);
                if comptes.is_empty() {
                    return Err(bad(
                        "comptes",
                        "Indiquez au moins un identifiant de compte.",
                    ));
                }
                let (du, au) = window()?;
                Ok(Scope::Comptes { comptes, du, au })
            }
            "structures" => {
                let structures = list(&self.structures);
                if structures.is_empty() {
                    return Err(bad(
                        "structures",
                        "Indiquez au moins un code de Mission Locale.",
                    ));
                }
                let (du, au) = window()?;
                Ok(Scope::Structures { structures, du, au })
            }
            "base" => Ok(Scope::Base {
                date: parse_time(&self.date, false).ok_or_else(|| {
                    bad(
                        "date",
                        "Date de la copie : AAAA-MM-JJ (ou AAAA-MM-JJTHH:MM).",
                    )
                })?,
                cle_compromise: matches!(self.cle_compromise.trim(), "oui" | "on" | "true"),
            }),
            "entrepot" => Ok(Scope::Entrepot {
                dossier: self.entrepot.trim().to_string(),
            }),
            "cle" => Ok(Scope::Cle {
                version: self
                    .version
                    .trim()
                    .parse()
                    .ok()
                    .filter(|v| *v >= 1)
                    .ok_or_else(|| {
                        bad(
                            "version",
                            "Version de la clé maîtresse : un nombre (1, 2…).",
                        )
                    })?,
            }),
            _ => Err(bad(
                "portee",
                "Portée : comptes, structures, base, entrepot ou cle.",
            )),
        }
    }
}

fn day(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|t| t.format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_default()
}

impl Scope {
    /// In words, without any identity (logins and codes only).
    pub fn label(&self) -> String {
        match self {
            Scope::Comptes { comptes, du, au } => format!(
                "comptes {} du {} au {} (UTC)",
                comptes.join(", "),
                day(*du),
                day(*au)
            ),
            Scope::Structures { structures, du, au } => format!(
                "Missions Locales {} du {} au {} (UTC)",
                structures.join(", "),
                day(*du),
                day(*au)
            ),
            Scope::Entrepot { dossier } => format!(
                "entrepôt de données{}",
                if dossier.is_empty() {
                    String::new()
                } else {
                    format!(" ({dossier})")
                }
            ),
            Scope::Cle { version } => format!(
                "clé maîtresse n° {version}, avec toute copie de la base prise pendant sa validité"
            ),
            Scope::Base {
                date,
                cle_compromise,
            } => format!(
                "copie de la base de données du {} (UTC){}",
                day(*date),
                if *cle_compromise {
                    ", avec la clé maîtresse"
                } else {
                    ", sans la clé maîtresse"
                }
            ),
        }
    }

    /// Whether what the scope reached could be read in clear.
    pub fn readable(&self) -> bool {
        !matches!(
            self,
            Scope::Base {
                cle_compromise: false,
                ..
            } | Scope::Entrepot { .. }
        )
    }
}

/// What was done to a dossier, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Touch {
    Read,
    Changed,
    Exported,
}

/// The kind of access an audit action is, and the category of data it concerns.
fn classify(action: &str) -> (Touch, &'static str) {
    let touch = if action == "allocation.lot.fichier" || action.ends_with(".export") {
        Touch::Exported
    } else if [
        ".creation",
        ".modification",
        ".ajout",
        ".statut",
        ".decision",
        ".entree",
        ".prolongation",
        ".phase",
        ".evaluation",
        ".heures",
        ".entrant",
        ".sortant",
        ".inscription",
        ".lot",
    ]
    .iter()
    .any(|s| action.ends_with(s))
        || action == "jeune.referent"
    {
        Touch::Changed
    } else {
        Touch::Read
    };
    let family = action.split('.').next().unwrap_or("");
    let category = match family {
        "jeune" => IDENTITY,
        "situation" => {
            "Situation personnelle (logement, ressources, mobilité, santé déclarée, famille)"
        }
        "representant" => "Représentants légaux (noms et coordonnées)",
        "nir" => "Numéro de sécurité sociale (NIR)",
        "iban" => "Coordonnées bancaires (IBAN)",
        "allocation" if action == "allocation.lot.fichier" => "Coordonnées bancaires (IBAN)",
        "allocation" => "Allocation (montants, ressources déclarées, décisions)",
        "parcours" | "dispositif" | "cej" | "pacea" => {
            "Parcours d'accompagnement (entretiens, dispositifs, notes)"
        }
        "immersion" => "Immersions en entreprise",
        "atelier" => "Ateliers",
        _ => "Autres données du dossier",
    };
    (touch, category)
}

const IDENTITY: &str =
    "Identité et coordonnées (nom, prénom, date de naissance, adresse, téléphone, e-mail)";

/// One person in the report: no identity here (see [`Letter`]).
#[derive(Debug, Clone, Serialize)]
pub struct PersonTouched {
    pub jeune_id: String,
    pub structure: String,
    pub reads: i64,
    pub changes: i64,
    pub exports: i64,
    pub categories: Vec<&'static str>,
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// The dossier was erased before the report: no one to write to.
    pub erased: bool,
}

/// One category of data: how many persons and records, and whether encryption protected it.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryLine {
    pub label: &'static str,
    pub persons: i64,
    pub records: i64,
    /// Art. 34(3)(a): encrypted with keys that were not compromised.
    pub protected: bool,
    pub protection: String,
}

/// A letter to write (Art. 34): to a person, or to a minor's legal representative.
#[derive(Debug, Clone, Serialize)]
pub struct Letter {
    pub jeune_id: String,
    pub recipient: String,
    /// "jeune" or "représentant légal (mère) de Prénom Nom".
    pub quality: String,
    pub about: String,
    pub minor: bool,
    pub address: String,
    pub postcode: String,
    pub town: String,
    pub email: String,
    pub phone: String,
    pub categories: Vec<&'static str>,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentReport {
    pub request_id: String,
    pub scope: Scope,
    pub scope_label: String,
    /// What the DPO wrote when asking (the nature of the incident).
    pub nature: String,
    pub requested_by: String,
    pub approved_by: String,
    pub generated_at: i64,
    pub persons: Vec<PersonTouched>,
    pub categories: Vec<CategoryLine>,
    pub records: i64,
    pub letters: Vec<Letter>,
    /// Whether the persons must be told (Art. 34), or encryption spares it (Art. 34(3)(a)).
    pub must_inform: bool,
    pub dpo_contact: String,
    pub master_key_version: u32,
}

impl App {
    /// A DPO asks for an incident report; an admin or another DPO approves it.
    pub async fn request_incident_report(
        &self,
        ctx: &Ctx,
        input: &ScopeInput,
        reason: &str,
    ) -> Result<Requested> {
        self.require_dpo(ctx, "incident.demande").await?;
        let reason = crate::approvals::reason_checked(reason)?;
        let scope = input.parse()?;
        let mut tx = self.store.begin().await?;
        match &scope {
            Scope::Comptes { comptes, .. } => {
                for c in comptes {
                    if parcours_store::accounts::by_login(&mut tx, c)
                        .await?
                        .is_none()
                    {
                        return Err(bad("comptes", &format!("Compte « {c} » inconnu.")));
                    }
                }
            }
            Scope::Structures { structures, .. } => {
                for c in structures {
                    if sq::by_code(&mut tx, c).await?.is_none() {
                        return Err(AppError::Refused(
                            Rule::UnknownStructure,
                            format!("Mission Locale « {c} » inconnue."),
                        ));
                    }
                }
            }
            Scope::Base { .. } | Scope::Entrepot { .. } | Scope::Cle { .. } => {}
        }
        let label = scope.label();
        let r = self
            .write_request(
                &mut tx,
                ctx,
                NewRequest {
                    kind: INCIDENT_REPORT,
                    structure_id: None,
                    target: &label,
                    payload: serde_json::to_value(&scope).map_err(AppError::internal)?,
                    reason: &reason,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Produces the report of an approved request: the requesting DPO, or the operator.
    pub async fn incident_report(&self, ctx: &Ctx, request_id: &str) -> Result<IncidentReport> {
        let mut tx = self.store.begin().await?;
        let r = rq::get(&mut tx, request_id.trim())
            .await?
            .filter(|r| r.kind == INCIDENT_REPORT)
            .ok_or(AppError::NotFound)?;
        let allowed = match &ctx.actor {
            Actor::Operator => true,
            Actor::Account(p) => {
                p.role == Role::Dpo && r.requested_by_account == Some(p.account_id)
            }
            Actor::Anonymous => false,
        };
        let approved_at = r.decided_at.unwrap_or(0);
        let refusal = if !allowed {
            Some(AppError::Forbidden)
        } else if r.status != rq::APPROVED {
            Some(AppError::Refused(
                Rule::NotApproved,
                "Ce rapport n'est pas (encore) approuvé par une seconde personne.".into(),
            ))
        } else if ctx.now.timestamp() > approved_at + VALID_AFTER_APPROVAL_S {
            Some(AppError::Refused(
                Rule::NotApproved,
                "L'approbation date de plus de 24 heures : faites une nouvelle demande.".into(),
            ))
        } else {
            None
        };
        if let Some(e) = refusal {
            drop(tx);
            self.audit_alone(
                ctx,
                Event {
                    action: "incident.rapport",
                    subject: None,
                    fields: &format!("demande:{}", r.id),
                    outcome: REFUSED,
                    structure_id: None,
                },
            )
            .await?;
            return Err(e);
        }
        let scope: Scope = serde_json::from_str(&r.payload).map_err(AppError::internal)?;
        let report = self.compute_report(&mut tx, ctx, &r, scope).await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "incident.rapport",
                subject: None,
                fields: &format!(
                    "demande:{},personnes:{},enregistrements:{},lettres:{}",
                    r.id,
                    report.persons.len(),
                    report.records,
                    report.letters.len()
                ),
                outcome: OK,
                structure_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn compute_report(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        r: &rq::RequestRow,
        scope: Scope,
    ) -> Result<IncidentReport> {
        let mut structures: BTreeMap<i64, String> = BTreeMap::new();
        for s in sq::list(conn).await? {
            structures.insert(s.id, s.code);
        }
        let mut persons: BTreeMap<String, PersonTouched> = BTreeMap::new();
        let mut records: BTreeMap<&'static str, (BTreeSet<String>, i64)> = BTreeMap::new();
        let entries: Vec<AuditRow> = match &scope {
            Scope::Comptes { comptes, du, au } => {
                let mut v = Vec::new();
                for c in comptes {
                    v.extend(
                        parcours_store::audit::touching(
                            conn,
                            Some(c),
                            None,
                            du * 1_000_000,
                            au * 1_000_000,
                        )
                        .await?,
                    );
                }
                v
            }
            Scope::Structures {
                structures: codes,
                du,
                au,
            } => {
                let mut v = Vec::new();
                for c in codes {
                    let s = sq::by_code(conn, c).await?.ok_or(AppError::NotFound)?;
                    v.extend(
                        parcours_store::audit::touching(
                            conn,
                            None,
                            Some(s.id),
                            du * 1_000_000,
                            au * 1_000_000,
                        )
                        .await?,
                    );
                }
                v
            }
            Scope::Base { .. } | Scope::Entrepot { .. } | Scope::Cle { .. } => Vec::new(),
        };
        // Subjects are dossier ids for every act on a dossier; other entries name a login, a
        // structure or a company: only dossiers are persons of the report.
        let mut dossier: BTreeMap<String, bool> = BTreeMap::new();
        for e in &entries {
            if let Some(sub) = &e.subject {
                if !dossier.contains_key(sub) {
                    let is = jq::get(conn, sub).await?.is_some();
                    dossier.insert(sub.clone(), is);
                }
            }
        }
        for e in &entries {
            let Some(subject) = e.subject.clone() else {
                continue;
            };
            if !dossier.get(&subject).copied().unwrap_or(false) {
                continue;
            }
            let (touch, category) = classify(&e.action);
            let p = persons
                .entry(subject.clone())
                .or_insert_with(|| PersonTouched {
                    jeune_id: subject.clone(),
                    structure: e
                        .structure_id
                        .and_then(|s| structures.get(&s).cloned())
                        .unwrap_or_default(),
                    reads: 0,
                    changes: 0,
                    exports: 0,
                    categories: Vec::new(),
                    first: None,
                    last: None,
                    erased: false,
                });
            match touch {
                Touch::Read => p.reads += 1,
                Touch::Changed => p.changes += 1,
                Touch::Exported => p.exports += 1,
            }
            if !p.categories.contains(&category) {
                p.categories.push(category);
            }
            let ts = e.ts / 1_000_000;
            p.first = Some(p.first.map_or(ts, |f| f.min(ts)));
            p.last = Some(p.last.map_or(ts, |l| l.max(ts)));
            let c = records.entry(category).or_default();
            c.0.insert(subject);
            c.1 += 1;
        }
        // A leaked master-key version: as a dump with the key, taken when it stopped being the
        // current one (the rotation to the next version in the audit log), or now.
        let dump_at = match &scope {
            Scope::Base { date, .. } => Some(*date),
            Scope::Cle { version } => Some(
                self.key_version_end(conn, *version, ctx.now.timestamp())
                    .await?,
            ),
            _ => None,
        };
        if let Scope::Entrepot { dossier } = &scope {
            self.warehouse_persons(conn, dossier, &structures, &mut persons, &mut records)
                .await?;
        }
        if let Some(date) = dump_at {
            for (id, s) in jq::existing_at(conn, date).await? {
                let mut cats = vec![IDENTITY];
                let c = records.entry(IDENTITY).or_default();
                c.0.insert(id.clone());
                c.1 += 1;
                for (table, n) in jq::record_counts(conn, &id).await? {
                    if n == 0 {
                        continue;
                    }
                    let category = match table {
                        "situations" => "Situation personnelle (logement, ressources, mobilité, santé déclarée, famille)",
                        "legal_reps" => "Représentants légaux (noms et coordonnées)",
                        "allowances" => "Allocation (montants, ressources déclarées, décisions)",
                        "bank_accounts" => "Coordonnées bancaires (IBAN)",
                        "nirs" => "Numéro de sécurité sociale (NIR)",
                        _ => "Parcours d'accompagnement (entretiens, dispositifs, notes)",
                    };
                    if !cats.contains(&category) {
                        cats.push(category);
                    }
                    let c = records.entry(category).or_default();
                    c.0.insert(id.clone());
                    c.1 += n;
                }
                persons.insert(
                    id.clone(),
                    PersonTouched {
                        jeune_id: id,
                        structure: structures.get(&s).cloned().unwrap_or_default(),
                        reads: 0,
                        changes: 0,
                        exports: 0,
                        categories: cats,
                        first: None,
                        last: None,
                        erased: false,
                    },
                );
            }
        }
        let readable = scope.readable();
        let master_key_version = self.keys.master.version();
        let categories: Vec<CategoryLine> = records
            .iter()
            .map(|(label, (who, n))| CategoryLine {
                label,
                persons: who.len() as i64,
                records: *n,
                protected: !readable,
                protection: if matches!(scope, Scope::Entrepot { .. }) {
                    "Pseudonymisées par une clé absente de l'entrepôt, généralisées (tranches, regroupements) et k-anonymes : aucune identité, aucune coordonnée (art. 34-3-a).".into()
                } else if readable {
                    match &scope {
                        Scope::Base { .. } => "Chiffrées, mais la clé maîtresse a fui avec la copie : lisibles.".into(),
                        _ => "Lues en clair par une session authentifiée : le chiffrement ne les protégeait pas.".into(),
                    }
                } else {
                    format!(
                        "Chiffrées (AES-256-GCM, une clé par dossier, enveloppée par la clé maîtresse n° {master_key_version}, absente de la base et non compromise) : illisibles sans elle (art. 34-3-a)."
                    )
                },
            })
            .collect();
        // Letters: names and addresses decrypted now, written only into the documents.
        let today = ctx.now.date_naive();
        let mut letters = Vec::new();
        for p in persons.values_mut() {
            let Some(row) = jq::get(conn, &p.jeune_id).await? else {
                p.erased = true;
                continue;
            };
            if row.wrapped_key.is_none() {
                p.erased = true;
                continue;
            }
            let d = self.decrypt_row(&row)?;
            let id = &d.identity;
            let minor = parcours_domain::jeune::age_on(id.date_naissance, today) < 18;
            let name = format!("{} {}", id.prenom, id.nom);
            letters.push(Letter {
                jeune_id: p.jeune_id.clone(),
                recipient: name.clone(),
                quality: "jeune".into(),
                about: name.clone(),
                minor,
                address: id.adresse.clone().unwrap_or_default(),
                postcode: id.code_postal.clone().unwrap_or_default(),
                town: id.commune.clone().unwrap_or_default(),
                email: id.email.clone().unwrap_or_default(),
                phone: id.telephone.clone().unwrap_or_default(),
                categories: p.categories.clone(),
            });
            if minor {
                let dek = self.dossier_key(conn, &p.jeune_id).await?;
                let reps = self.open_legal_reps(
                    &dek,
                    &parcours_store::situations::legal_reps(conn, &p.jeune_id).await?,
                )?;
                for rep in reps {
                    let rep = rep.rep;
                    letters.push(Letter {
                        jeune_id: p.jeune_id.clone(),
                        recipient: format!("{} {}", rep.prenom, rep.nom),
                        quality: format!("représentant légal ({}) de {name}", rep.lien),
                        about: name.clone(),
                        minor,
                        address: rep.adresse.clone().unwrap_or_default(),
                        postcode: String::new(),
                        town: String::new(),
                        email: rep.email.clone().unwrap_or_default(),
                        phone: rep.telephone.clone().unwrap_or_default(),
                        categories: p.categories.clone(),
                    });
                }
            }
        }
        let dpo_contact = parcours_store::keyring::meta_get(conn, crate::mail::DPO)
            .await?
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "[adresse du délégué à la protection des données]".into());
        let total: i64 = categories.iter().map(|c| c.records).sum();
        Ok(IncidentReport {
            request_id: r.id.clone(),
            scope_label: scope.label(),
            must_inform: readable,
            scope,
            nature: r.reason.clone(),
            requested_by: r.requested_by.clone(),
            approved_by: r.decided_by.clone().unwrap_or_default(),
            generated_at: ctx.now.timestamp(),
            persons: persons.into_values().collect(),
            categories,
            records: total,
            letters,
            dpo_contact,
            master_key_version,
        })
    }

    /// When a master-key version stopped being current: the audited rotation to the next one,
    /// or `now` if it is still the current one.
    async fn key_version_end(&self, conn: &mut Conn, version: u32, now: i64) -> Result<i64> {
        let next = format!("version:{},", version + 1);
        let entries = parcours_store::audit::search(conn, None, 0, i64::MAX, i64::MAX).await?;
        Ok(entries
            .iter()
            .find(|e| {
                e.action == "cles.rotation" && e.outcome == OK.code() && e.fields.starts_with(&next)
            })
            .map(|e| e.ts / 1_000_000 + 1)
            .unwrap_or(now + 1))
    }

    /// The persons of every warehouse version in `dir` (default: the data dir's `entrepot`),
    /// matched to dossiers by their keyed pseudonym.
    async fn warehouse_persons(
        &self,
        conn: &mut Conn,
        dir: &str,
        structures: &BTreeMap<i64, String>,
        persons: &mut BTreeMap<String, PersonTouched>,
        records: &mut BTreeMap<&'static str, (BTreeSet<String>, i64)>,
    ) -> Result<()> {
        let root = if dir.is_empty() {
            self.checkpoint_log
                .as_ref()
                .and_then(|p| p.parent())
                .map(|d| d.join("entrepot"))
                .unwrap_or_default()
        } else {
            std::path::PathBuf::from(dir)
        };
        let mut pseudonyms: BTreeMap<String, usize> = BTreeMap::new();
        let versions = std::fs::read_dir(&root)
            .map_err(|e| AppError::io(format!("entrepôt {}", root.display()), e))?;
        for v in versions.flatten() {
            let file = v.path().join("persons.parquet");
            if v.file_name().to_string_lossy().starts_with("v-") && file.exists() {
                for p in parcours_warehouse::files::read_persons(&file)
                    .map_err(|e| AppError::io(format!("entrepôt {}", file.display()), e))?
                {
                    *pseudonyms.entry(p.pseudonym.to_string()).or_default() += 1;
                }
            }
        }
        const CATEGORY: &str = "Données pseudonymisées de l'entrepôt (tranche d'âge, sexe, nationalité regroupée, territoire, niveau ; faits de parcours par mois)";
        for id in jq::all_ids(conn).await? {
            let Some(n) = pseudonyms.get(&self.warehouse_pseudonym(&id)) else {
                continue;
            };
            let structure = jq::get(conn, &id)
                .await?
                .and_then(|r| structures.get(&r.structure_id).cloned())
                .unwrap_or_default();
            let c = records.entry(CATEGORY).or_default();
            c.0.insert(id.clone());
            c.1 += *n as i64;
            persons.insert(
                id.clone(),
                PersonTouched {
                    jeune_id: id,
                    structure,
                    reads: 0,
                    changes: 0,
                    exports: 1,
                    categories: vec![CATEGORY],
                    first: None,
                    last: None,
                    erased: false,
                },
            );
        }
        Ok(())
    }
}
