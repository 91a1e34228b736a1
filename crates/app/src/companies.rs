//! Partner companies of a Mission Locale: the company (a legal person, in clear: SIRET checked,
//! NAF sector, address), its contacts (natural persons: each with its own data key, wrapped by
//! the master key), its offers, and PMSMP immersions of jeunes (the tutor is encrypted with the
//! jeune's key).

use parcours_domain::jeune::{parse_date, valid_email};
use parcours_domain::rules::pmsmp;
use parcours_domain::validation::clean_text;
use parcours_domain::vocab::PmsmpStatus;
use parcours_domain::{ids, phone, ValidationErrors};
pub use parcours_store::companies::CompanyRow;
use parcours_store::companies::{self as c, ContactRow, ImmersionRow, OfferRow};
use parcours_vault::DataKey;
use serde::{Deserialize, Serialize};

use crate::audit::{Event, OK};
use crate::keys::contact_context;
use crate::records::{date_of, new_id, open, seal, ymd};
use crate::{App, AppError, Ctx, Result};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CompanyInput {
    pub siret: String,
    pub nom: String,
    pub naf: String,
    pub adresse: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(default)]
pub struct ContactInput {
    pub nom: String,
    pub prenom: String,
    pub fonction: String,
    pub telephone: String,
    pub email: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OfferInput {
    pub intitule: String,
    pub rome: String,
    pub contrat: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ImmersionInput {
    pub entreprise: String,
    pub date_debut: String,
    pub date_fin: String,
    pub rome: String,
    pub tuteur: String,
    pub tuteur_telephone: String,
}

/// The encrypted part of an immersion: the tutor.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tutor {
    pub nom: Option<String>,
    pub telephone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompanyView {
    pub id: String,
    pub siret: String,
    pub name: String,
    pub naf: Option<String>,
    pub address: Option<String>,
    pub contacts: Vec<ContactView>,
    pub offers: Vec<OfferView>,
    /// Immersions of jeunes in this company (dossier ids and dates, no identity).
    pub immersions: Vec<ImmersionSummary>,
    /// Proposals and situations (hires, alternance, training) naming this company.
    pub placements: Vec<Placement>,
}

/// A proposal or situation naming the company (dossier id, no identity).
#[derive(Debug, Clone, Serialize)]
pub struct Placement {
    pub jeune_id: String,
    pub on_date: String,
    pub kind_label: &'static str,
    pub category_label: Option<&'static str>,
    pub status_label: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactView {
    pub id: String,
    #[serde(flatten)]
    pub contact: ContactInput,
}

#[derive(Debug, Clone, Serialize)]
pub struct OfferView {
    pub id: String,
    pub title: String,
    pub rome: Option<String>,
    pub contract: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImmersionSummary {
    pub id: String,
    pub jeune_id: String,
    pub start_date: String,
    pub end_date: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImmersionView {
    pub id: String,
    pub company_id: String,
    pub company_name: String,
    pub start_date: String,
    pub end_date: String,
    pub days: i64,
    pub status: String,
    pub status_label: &'static str,
    pub rome: Option<String>,
    pub version: i64,
    pub tutor: Tutor,
}

impl App {
    async fn company_in_scope(
        &self,
        conn: &mut parcours_store::Conn,
        ctx: &Ctx,
        id: &str,
        action: &str,
    ) -> Result<(i64, CompanyRow)> {
        let structure = self.identity_scope(ctx, action).await?;
        let row = if uuid::Uuid::parse_str(id).is_ok() {
            c::get(conn, id).await?
        } else {
            None
        };
        match row {
            Some(r) if r.structure_id == structure => Ok((structure, r)),
            _ => {
                self.audit_refusal(
                    ctx,
                    Event {
                        action,
                        subject: None,
                        fields: "entreprise",
                        outcome: crate::audit::REFUSED,
                        structure_id: Some(structure),
                    },
                );
                Err(AppError::NotFound)
            }
        }
    }

    pub async fn create_company(&self, ctx: &Ctx, input: &CompanyInput) -> Result<String> {
        let mut e = ValidationErrors::default();
        let siret = ids::siret(&input.siret)
            .map_err(|m| e.push("siret", "invalide", m))
            .ok();
        let name = clean_text(&mut e, "nom", "Raison sociale", &input.nom, 200);
        if name.is_none() && e.for_field("nom").is_none() {
            e.push("nom", "obligatoire", "Raison sociale : obligatoire.");
        }
        let naf = match input.naf.trim() {
            "" => None,
            n => ids::naf(n).map_err(|m| e.push("naf", "invalide", m)).ok(),
        };
        let address = clean_text(&mut e, "adresse", "Adresse", &input.adresse, 300);
        let (Some(siret), Some(name), true) = (siret, name, e.is_empty()) else {
            return Err(e.into());
        };
        let structure = self.identity_scope(ctx, "entreprise.creation").await?;
        let mut tx = self.store.begin().await?;
        let id = new_id();
        c::insert(
            &mut tx,
            &CompanyRow {
                id: id.clone(),
                structure_id: structure,
                siret,
                name,
                naf,
                address,
                created_at: ctx.now.timestamp(),
            },
        )
        .await
        .map_err(|e| match e {
            parcours_store::StoreError::Conflict(_) => AppError::Conflict(
                "Cette entreprise (SIRET) existe déjà dans votre Mission Locale.".into(),
            ),
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn list_companies(&self, ctx: &Ctx) -> Result<Vec<CompanyRow>> {
        let structure = self.identity_scope(ctx, "entreprise.liste").await?;
        let mut conn = self.store.acquire().await?;
        Ok(c::list(&mut conn, structure).await?)
    }

    /// A company with its contacts (decrypted: audited), offers and immersions.
    pub async fn get_company(&self, ctx: &Ctx, id: &str) -> Result<CompanyView> {
        let mut tx = self.store.begin().await?;
        let (structure, row) = self
            .company_in_scope(&mut tx, ctx, id, "entreprise.lecture")
            .await?;
        let mut contacts = Vec::new();
        for ct in c::contacts(&mut tx, id).await? {
            let Some(w) = &ct.wrapped_key else { continue };
            let dek = self.keys.master.unwrap_key(w, &contact_context(&ct.id))?;
            contacts.push(ContactView {
                id: ct.id.clone(),
                contact: open(&dek, "company_contacts", "payload", &ct.id, &ct.payload)?,
            });
        }
        let offers = c::offers(&mut tx, id)
            .await?
            .into_iter()
            .map(|o| OfferView {
                id: o.id,
                title: o.title,
                rome: o.rome,
                contract: o.contract,
            })
            .collect();
        let immersions = c::immersions_for_company(&mut tx, id, structure)
            .await?
            .into_iter()
            .map(|i| ImmersionSummary {
                id: i.id,
                jeune_id: i.jeune_id,
                start_date: i.start_date,
                end_date: i.end_date,
                status: i.status,
            })
            .collect();
        let placements = parcours_store::events::for_company(&mut tx, id)
            .await?
            .into_iter()
            .filter(|e| e.structure_id == structure)
            .map(|e| Placement {
                kind_label: parcours_domain::timeline::kind_label(&e.kind),
                category_label: e
                    .category
                    .as_deref()
                    .and_then(|c| crate::timeline::category_label(&e.kind, c)),
                status_label: e
                    .status
                    .as_deref()
                    .and_then(|st| crate::timeline::status_label(&e.kind, st)),
                jeune_id: e.jeune_id,
                on_date: e.on_date,
            })
            .collect();
        if !contacts.is_empty() {
            self.audit(
                &mut tx,
                ctx,
                Event {
                    action: "entreprise.contacts.lecture",
                    subject: Some(id),
                    fields: "contacts",
                    outcome: OK,
                    structure_id: Some(structure),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(CompanyView {
            id: row.id,
            siret: row.siret,
            name: row.name,
            naf: row.naf,
            address: row.address,
            contacts,
            offers,
            immersions,
            placements,
        })
    }

    pub async fn add_contact(
        &self,
        ctx: &Ctx,
        company_id: &str,
        input: &ContactInput,
    ) -> Result<String> {
        let mut e = ValidationErrors::default();
        let nom = clean_text(&mut e, "nom", "Nom", &input.nom, 100);
        if nom.is_none() && e.for_field("nom").is_none() {
            e.push("nom", "obligatoire", "Nom : obligatoire.");
        }
        let prenom = clean_text(&mut e, "prenom", "Prénom", &input.prenom, 100);
        let fonction = clean_text(&mut e, "fonction", "Fonction", &input.fonction, 100);
        let telephone = match input.telephone.trim() {
            "" => None,
            t => phone::to_e164(t)
                .map_err(|p| e.push("telephone", p.code, p.message))
                .ok(),
        };
        let email = match input.email.trim() {
            "" => None,
            m if valid_email(m) => Some(m.to_string()),
            _ => {
                e.push("email", "invalide", "E-mail : adresse invalide.");
                None
            }
        };
        if !e.is_empty() {
            return Err(e.into());
        }
        let contact = ContactInput {
            nom: nom.unwrap_or_default(),
            prenom: prenom.unwrap_or_default(),
            fonction: fonction.unwrap_or_default(),
            telephone: telephone.unwrap_or_default(),
            email: email.unwrap_or_default(),
        };
        let mut tx = self.store.begin().await?;
        let (structure, _) = self
            .company_in_scope(&mut tx, ctx, company_id, "entreprise.contact.ajout")
            .await?;
        let id = new_id();
        let dek = DataKey::generate();
        c::insert_contact(
            &mut tx,
            &ContactRow {
                id: id.clone(),
                company_id: company_id.into(),
                structure_id: structure,
                created_at: ctx.now.timestamp(),
                wrapped_key: Some(self.keys.master.wrap(&dek, &contact_context(&id))),
                payload: seal(&dek, "company_contacts", "payload", &id, &contact)?,
            },
        )
        .await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "entreprise.contact.ajout",
                subject: Some(company_id),
                fields: "nom,prenom,fonction,telephone,email",
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn add_offer(
        &self,
        ctx: &Ctx,
        company_id: &str,
        input: &OfferInput,
    ) -> Result<String> {
        let mut e = ValidationErrors::default();
        let title = clean_text(&mut e, "intitule", "Intitulé", &input.intitule, 200);
        if title.is_none() && e.for_field("intitule").is_none() {
            e.push("intitule", "obligatoire", "Intitulé : obligatoire.");
        }
        let rome = match input.rome.trim() {
            "" => None,
            r => ids::rome(r).map_err(|m| e.push("rome", "invalide", m)).ok(),
        };
        let contract = clean_text(&mut e, "contrat", "Contrat", &input.contrat, 60);
        let (Some(title), true) = (title, e.is_empty()) else {
            return Err(e.into());
        };
        let mut tx = self.store.begin().await?;
        let (structure, _) = self
            .company_in_scope(&mut tx, ctx, company_id, "entreprise.offre.ajout")
            .await?;
        let id = new_id();
        c::insert_offer(
            &mut tx,
            &OfferRow {
                id: id.clone(),
                company_id: company_id.into(),
                structure_id: structure,
                title,
                rome,
                contract,
                open: 1,
                created_at: ctx.now.timestamp(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) fn open_immersion(
        &self,
        dek: &DataKey,
        r: &ImmersionRow,
        company_name: String,
    ) -> Result<ImmersionView> {
        let start = date_of(&r.start_date)?;
        let end = date_of(&r.end_date)?;
        Ok(ImmersionView {
            id: r.id.clone(),
            company_id: r.company_id.clone(),
            company_name,
            start_date: r.start_date.clone(),
            end_date: r.end_date.clone(),
            days: pmsmp::days(start, end),
            status_label: PmsmpStatus::parse(&r.status)
                .map(|s| s.label())
                .unwrap_or("?"),
            status: r.status.clone(),
            rome: r.rome.clone(),
            version: r.version,
            tutor: open(dek, "immersions", "payload", &r.id, &r.payload)?,
        })
    }

    /// Plans a PMSMP immersion (at most 30 calendar days per convention).
    pub async fn create_immersion(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        input: &ImmersionInput,
    ) -> Result<String> {
        let mut e = ValidationErrors::default();
        let date = |e: &mut ValidationErrors, f: &str, raw: &str| match parse_date(raw.trim()) {
            Ok(d) => Some(d),
            Err((code, m)) => {
                e.push(f, code, m);
                None
            }
        };
        let start = date(&mut e, "date_debut", &input.date_debut);
        let end = date(&mut e, "date_fin", &input.date_fin);
        if let (Some(s), Some(en)) = (start, end) {
            if let Err(v) = pmsmp::check_dates(s, en) {
                e.push("date_fin", v.code, v.message);
            }
        }
        let rome = match input.rome.trim() {
            "" => None,
            r => ids::rome(r).map_err(|m| e.push("rome", "invalide", m)).ok(),
        };
        let tutor_name = clean_text(&mut e, "tuteur", "Tuteur", &input.tuteur, 200);
        let tutor_phone = match input.tuteur_telephone.trim() {
            "" => None,
            t => phone::to_e164(t)
                .map_err(|p| e.push("tuteur_telephone", p.code, p.message))
                .ok(),
        };
        let (Some(start), Some(end), true) = (start, end, e.is_empty()) else {
            return Err(e.into());
        };
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "immersion.creation")
            .await?;
        self.check_company(&mut tx, structure, Some(input.entreprise.trim()))
            .await?;
        let dek = self.dossier_key(&mut tx, jeune_id).await?;
        let id = new_id();
        c::insert_immersion(
            &mut tx,
            &ImmersionRow {
                id: id.clone(),
                jeune_id: jeune_id.into(),
                structure_id: structure,
                company_id: input.entreprise.trim().into(),
                start_date: ymd(start),
                end_date: ymd(end),
                status: PmsmpStatus::Prevue.code().into(),
                rome,
                created_at: ctx.now.timestamp(),
                version: 1,
                payload: seal(
                    &dek,
                    "immersions",
                    "payload",
                    &id,
                    &Tutor {
                        nom: tutor_name,
                        telephone: tutor_phone,
                    },
                )?,
            },
        )
        .await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "immersion.creation",
                subject: Some(jeune_id),
                fields: "entreprise,dates,tuteur",
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn set_immersion_status(
        &self,
        ctx: &Ctx,
        id: &str,
        version: i64,
        status: &str,
    ) -> Result<i64> {
        let st = PmsmpStatus::parse(status.trim()).ok_or_else(|| {
            let mut e = ValidationErrors::default();
            e.push("statut", "invalide", "Statut d'immersion inconnu.");
            AppError::Validation(e)
        })?;
        let mut tx = self.store.begin().await?;
        let row = if uuid::Uuid::parse_str(id).is_ok() {
            c::immersion(&mut tx, id).await?
        } else {
            None
        };
        let structure = self
            .authorise_record(
                &mut tx,
                ctx,
                "immersion.statut",
                row.as_ref().map(|r| r.jeune_id.as_str()),
            )
            .await?;
        let Some(row) = row else {
            return Err(AppError::NotFound);
        };
        if row.version != version {
            return Err(AppError::Stale);
        }
        c::set_immersion_status(&mut tx, id, st.code(), version + 1).await?;
        let fields = format!("statut:{}", st.code());
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "immersion.statut",
                subject: Some(&row.jeune_id),
                fields: &fields,
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(version + 1)
    }
}
