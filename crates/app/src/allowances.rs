//! Monthly allowances: the entitlement computed by the rules (and shown with its reasons), the
//! référent's decision (attribuée, réduite, suspendue), and the month's view for a structure.
//!
//! One allowance per jeune and month (the table's key): the CEJ and PACEA allowances can never
//! both be decided for a month. Declared income and motivations are encrypted; amounts are not
//! (the payment batch and the warehouse need them, and they identify nobody).

use crate::Rule;
use chrono::{Datelike, NaiveDate};
use parcours_domain::rules::{allowance, pacea, parse_month, Step};
use parcours_domain::situation::parse_euros;
use parcours_domain::timeline::clean_note;
use parcours_domain::vocab::{AllowanceDecision, IncomeKind, ProgrammeKind, TaxSituation};
use parcours_domain::ValidationErrors;
use parcours_store::programmes::{self as pq, AllowanceRow, ProgrammeRow};
use parcours_store::{jeunes as q, Conn};
use parcours_vault::DataKey;
use serde::{Deserialize, Serialize};

use crate::audit::{Event, OK};
use crate::records::{open, seal, ymd};
use crate::{App, AppError, Ctx, Result};

/// A decision as typed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DecisionInput {
    /// `AAAA-MM`.
    pub mois: String,
    /// The resources declared (CEJ: over the reference period; PACEA: the month's).
    #[serde(flatten)]
    pub ressources: ResourcesInput,
    /// `attribuee`, `reduite`, `suspendue`.
    pub decision: String,
    pub montant_reduit: String,
    pub motif: String,
    /// PACEA: the amount the référent asks for (the rules cap it).
    pub montant_demande: String,
    /// Version of the decision being revised (0 or empty for a first decision).
    pub version: Option<i64>,
    /// The amount the référent saw and confirmed (euros, e.g. `488,95`). When given, the
    /// decision is refused if the rules now give another amount: what is stored is what was
    /// shown. Empty: no such check (JSON clients that compute first with `/calcul`).
    pub montant_confirme: String,
}

/// Resources as typed. For the CEJ, the three months before the month paid (`_1` is the month
/// before, `_3` three months before), income from work and other resources apart, and whether
/// the household receives the RSA or the prime d'activité; `revenus` alone is a shorthand for
/// the same income from work each of the three months. For the PACEA, `revenus` is the
/// month's other income.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ResourcesInput {
    pub revenus: String,
    pub activite_1: String,
    pub activite_2: String,
    pub activite_3: String,
    pub autres_1: String,
    pub autres_2: String,
    pub autres_3: String,
    /// `oui` (or `on`, `true`) when the household receives the RSA or the prime d'activité.
    pub rsa_prime_activite: String,
}

/// Names of the per-month fields, by kind of resource and month (1 = the month before).
pub const ACTIVITY_FIELDS: [&str; 3] = ["activite_1", "activite_2", "activite_3"];
pub const OTHER_FIELDS: [&str; 3] = ["autres_1", "autres_2", "autres_3"];

impl ResourcesInput {
    fn monthly(&self) -> [(&'static str, &str); 6] {
        [
            (ACTIVITY_FIELDS[0], &self.activite_1),
            (ACTIVITY_FIELDS[1], &self.activite_2),
            (ACTIVITY_FIELDS[2], &self.activite_3),
            (OTHER_FIELDS[0], &self.autres_1),
            (OTHER_FIELDS[1], &self.autres_2),
            (OTHER_FIELDS[2], &self.autres_3),
        ]
    }

    /// Parses every amount (each error on its field) into the resources of `month`'s reference
    /// period, and the shorthand `revenus` (PACEA: the month's income).
    pub fn parse(&self, month: NaiveDate) -> Result<(allowance::Resources, i64)> {
        if self.monthly().iter().any(|(_, raw)| !raw.trim().is_empty())
            && !self.revenus.trim().is_empty()
        {
            return Err(bad(
                "revenus",
                "ambigu",
                "Indiquez soit les ressources de chacun des trois mois, soit « Revenus », pas les deux.",
            ));
        }
        let mut e = ValidationErrors::default();
        let mut amount = |field: &'static str, raw: &str| -> i64 {
            match raw.trim() {
                "" => 0,
                r => parse_euros(r).unwrap_or_else(|| {
                    e.push(
                        field,
                        "invalide",
                        "Un montant en euros (ex. 350 ou 350,50).",
                    );
                    0
                }),
            }
        };
        let revenus = amount("revenus", &self.revenus);
        let period = allowance::reference_period(month);
        let mut incomes = Vec::new();
        let mut any_monthly = false;
        for (field, raw) in self.monthly() {
            let cents = amount(field, raw);
            any_monthly |= !raw.trim().is_empty();
            let back: usize = field[field.len() - 1..].parse().unwrap_or(1);
            let kind = if field.starts_with("activite") {
                IncomeKind::RevenusActivite
            } else {
                IncomeKind::AutreRessource
            };
            if let Some(m) = period.len().checked_sub(back).and_then(|i| period.get(i)) {
                if cents > 0 {
                    incomes.push(allowance::Income {
                        month: *m,
                        kind,
                        cents,
                    });
                }
            }
        }
        let flag = match self.rsa_prime_activite.trim() {
            "" | "non" | "off" | "false" => false,
            "oui" | "on" | "true" => true,
            _ => {
                e.push(
                    "rsa_prime_activite",
                    "invalide",
                    "RSA ou prime d'activité : oui ou non.",
                );
                false
            }
        };
        if !e.is_empty() {
            return Err(e.into());
        }
        let mut resources = if any_monthly {
            allowance::Resources {
                incomes,
                household_rsa_or_activity_bonus: false,
            }
        } else {
            allowance::Resources::steady_activity(month, revenus)
        };
        resources.household_rsa_or_activity_bonus = flag;
        Ok((resources, revenus))
    }
}

/// The encrypted part of a decision.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AllowanceText {
    /// CEJ: monthly average of income from work over the reference period; PACEA: the month's
    /// income.
    revenus_cents: i64,
    /// CEJ: the resources declared for the reference period (absent before issue 17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ressources: Option<allowance::Resources>,
    motif: Option<String>,
    steps: Vec<Step>,
}

/// The month asked about, with the resources declared and (PACEA) the amount requested.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    pub month: NaiveDate,
    /// CEJ: the resources of the reference period.
    pub resources: allowance::Resources,
    /// PACEA: the month's income.
    pub income_cents: i64,
    pub requested_cents: Option<i64>,
}

/// What the rules give for a month, before any decision.
#[derive(Debug, Clone, Serialize)]
pub struct Entitlement {
    pub month: String,
    pub programme_id: String,
    pub kind: String,
    pub computed_cents: i64,
    pub steps: Vec<Step>,
    pub sources: Vec<&'static str>,
    /// The decision already recorded for the month, if any (filled by the preview only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<AllowanceView>,
    /// Whose allowance it is, « Prénom NOM » (filled by the preview only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub holder: String,
    /// The decisions the one in force replaced, latest first (filled by the preview only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<ReplacedDecision>,
}

/// A decision replaced by a later one for the same month: the figures, who took it and when,
/// who replaced it and when (the motif stays sealed with the decision that was in force).
#[derive(Debug, Clone, Serialize)]
pub struct ReplacedDecision {
    pub version: i64,
    pub decision: String,
    pub decision_label: &'static str,
    pub computed_cents: i64,
    pub amount_cents: i64,
    pub author: String,
    pub decided_at: i64,
    pub replaced_at: i64,
    pub replaced_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AllowanceView {
    pub month: String,
    pub kind: String,
    pub computed_cents: i64,
    pub amount_cents: i64,
    pub decision: String,
    pub decision_label: &'static str,
    pub author: String,
    pub decided_at: i64,
    pub version: i64,
    pub revenus_cents: i64,
    pub motif: Option<String>,
    pub steps: Vec<Step>,
}

/// The month's allowances of a structure in figures.
#[derive(Debug, Clone, Serialize)]
pub struct MonthCounts {
    pub month: String,
    /// Jeunes with a CEJ or PACEA running in the month.
    pub entitled: usize,
    pub decided: usize,
    /// Entitled jeunes without a decision yet.
    pub undecided: usize,
    /// What the decisions taken pay (suspended ones pay nothing).
    pub to_pay_cents: i64,
}

/// One jeune in the month's view of a structure.
#[derive(Debug, Clone, Serialize)]
pub struct MonthLine {
    pub jeune_id: String,
    pub nom: String,
    pub prenom: String,
    pub kind: String,
    /// Entitlement with no declared income (before decision); `None` if the rules refuse.
    pub computed_cents: Option<i64>,
    pub decision: Option<String>,
    pub amount_cents: Option<i64>,
    pub note: Option<String>,
    /// Outside the actor's caseload: the name is not shown (open the dossier: a counted read).
    pub masked: bool,
}

/// How a bulk page names a dossier outside the actor's caseload.
pub fn masked_name(jeune_id: &str) -> String {
    format!("Dossier {}", jeune_id.chars().take(8).collect::<String>())
}

fn month_code(m: NaiveDate) -> String {
    m.format("%Y-%m").to_string()
}

fn bad(field: &str, code: &'static str, msg: impl Into<String>) -> AppError {
    let mut e = ValidationErrors::default();
    e.push(field, code, msg);
    AppError::Validation(e)
}

pub fn parse_month_field(raw: &str) -> Result<NaiveDate> {
    parse_month(raw).ok_or_else(|| {
        bad(
            "mois",
            "invalide",
            "Mois : au format AAAA-MM (ex. 2026-11).",
        )
    })
}

impl App {
    pub(crate) fn open_allowance(&self, dek: &DataKey, r: &AllowanceRow) -> Result<AllowanceView> {
        let text: AllowanceText = open(
            dek,
            "allowances",
            "payload",
            &format!("{}#{}", r.jeune_id, r.month),
            &r.payload,
        )?;
        Ok(AllowanceView {
            month: r.month.clone(),
            kind: r.kind.clone(),
            computed_cents: r.computed_cents,
            amount_cents: r.amount_cents,
            decision_label: AllowanceDecision::parse(&r.decision)
                .map(|d| d.label())
                .unwrap_or("?"),
            decision: r.decision.clone(),
            author: r.author.clone(),
            decided_at: r.decided_at,
            version: r.version,
            revenus_cents: text.revenus_cents,
            motif: text.motif,
            steps: text.steps,
        })
    }

    /// The programme giving an allowance in `month` (CEJ first, then PACEA).
    fn paying_programme(rows: &[ProgrammeRow], month: NaiveDate) -> Option<&ProgrammeRow> {
        let (from, to) = (
            ymd(month),
            ymd(parcours_domain::rules::cej::last_day(month, 1)),
        );
        let running = |k: ProgrammeKind| {
            rows.iter().find(|p| {
                p.kind == k.code()
                    && p.start_date <= to
                    && p.ended_on.as_deref().unwrap_or(&p.end_date) >= from.as_str()
            })
        };
        running(ProgrammeKind::Cej).or_else(|| running(ProgrammeKind::Pacea))
    }

    /// The entitlement of a month by the rules, on the caller's connection.
    pub(crate) async fn entitlement(
        &self,
        conn: &mut Conn,
        jeune_id: &str,
        birth: NaiveDate,
        programmes: &[ProgrammeRow],
        ask: Ask,
    ) -> Result<Entitlement> {
        let Ask {
            month,
            resources,
            income_cents,
            requested_cents,
        } = ask;
        let p = Self::paying_programme(programmes, month).ok_or_else(|| {
            AppError::Refused(
                Rule::NoAllowanceProgramme,
                "Aucun CEJ ni PACEA en cours ce mois-ci : pas d'allocation.".into(),
            )
        })?;
        let m = month_code(month);
        if p.kind == ProgrammeKind::Cej.code() {
            let tax = p
                .tax_situation
                .as_deref()
                .and_then(TaxSituation::parse)
                .unwrap_or(TaxSituation::NonImposable);
            let c = allowance::cej_month(month, birth, tax, &resources).map_err(|_| {
                AppError::Refused(Rule::NoScale, "Aucun barème CEJ pour ce mois.".into())
            })?;
            return Ok(Entitlement {
                month: m,
                programme_id: p.id.clone(),
                kind: p.kind.clone(),
                computed_cents: c.amount_cents,
                steps: c.steps,
                sources: c.sources,
                current: None,
                history: vec![],
                holder: String::new(),
            });
        }
        let cej_only = resources.household_rsa_or_activity_bonus
            || resources
                .incomes
                .iter()
                .any(|i| i.kind != IncomeKind::RevenusActivite || i.cents != income_cents);
        if cej_only {
            return Err(bad(
                "revenus",
                "pacea",
                "PACEA : indiquez seulement les ressources du mois dans « Revenus ».",
            ));
        }
        let year_start = format!("{}-01", month.year());
        let next_year = format!("{}-01", month.year() + 1);
        let paid = pq::paid_between(
            conn,
            jeune_id,
            ProgrammeKind::Pacea.code(),
            &year_start,
            &next_year,
            &m,
        )
        .await?;
        let cej_this_month = pq::allowance(conn, jeune_id, &m)
            .await?
            .is_some_and(|a| a.kind == ProgrammeKind::Cej.code());
        let requested = requested_cents.unwrap_or(i64::MAX);
        let c = pacea::pacea_month(month, requested, income_cents, paid, cej_this_month)
            .map_err(|e| AppError::Refused(Rule::AllowanceRule, e.message().into()))?;
        Ok(Entitlement {
            month: m,
            programme_id: p.id.clone(),
            kind: p.kind.clone(),
            computed_cents: c.amount_cents,
            steps: c.steps,
            sources: c.sources,
            current: None,
            history: vec![],
            holder: String::new(),
        })
    }

    /// Authorises the dossier for `action`, then computes the month's entitlement.
    async fn authorised_entitlement(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        jeune_id: &str,
        action: &str,
        ask: Ask,
    ) -> Result<(i64, Entitlement)> {
        let structure = self.authorise_dossier(conn, ctx, jeune_id, action).await?;
        let birth = self.birth_date(conn, jeune_id).await?;
        let programmes = pq::for_jeune(conn, jeune_id).await?;
        let ent = self
            .entitlement(conn, jeune_id, birth, &programmes, ask)
            .await?;
        Ok((structure, ent))
    }

    /// Computes (without deciding) a jeune's allowance for a month, with the reasons, and the
    /// decision already recorded for that month (to revise it).
    pub async fn preview_allowance(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        month: &str,
        resources: &ResourcesInput,
        requested: &str,
    ) -> Result<Entitlement> {
        let month = parse_month_field(month)?;
        let (resources, income) = resources.parse(month)?;
        let requested = parse_requested(requested)?;
        let mut tx = self.store.begin().await?;
        let ask = Ask {
            month,
            resources,
            income_cents: income,
            requested_cents: requested,
        };
        let (structure, mut ent) = self
            .authorised_entitlement(&mut tx, ctx, jeune_id, "allocation.calcul", ask)
            .await?;
        let identity = q::get(&mut tx, jeune_id).await?.ok_or(AppError::NotFound)?;
        let identity = self.decrypt_row(&identity)?.identity;
        ent.holder = format!("{} {}", identity.prenom, identity.nom.to_uppercase());
        if let Some(row) = pq::allowance(&mut tx, jeune_id, &ent.month).await? {
            let dek = self.dossier_key(&mut tx, jeune_id).await?;
            ent.current = Some(self.open_allowance(&dek, &row)?);
            ent.history = pq::allowance_history(&mut tx, jeune_id, &ent.month)
                .await?
                .into_iter()
                .map(|h| ReplacedDecision {
                    version: h.version,
                    decision_label: AllowanceDecision::parse(&h.decision)
                        .map(AllowanceDecision::label)
                        .unwrap_or("décision inconnue"),
                    decision: h.decision,
                    computed_cents: h.computed_cents,
                    amount_cents: h.amount_cents,
                    author: h.author,
                    decided_at: h.decided_at,
                    replaced_at: h.replaced_at,
                    replaced_by: h.replaced_by,
                })
                .collect();
        }
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "allocation.calcul",
                subject: Some(jeune_id),
                fields: if ent.current.is_some() {
                    "nom,prenom,date_naissance,allocation"
                } else {
                    "nom,prenom,date_naissance"
                },
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(ent)
    }

    /// Records (or revises) the month's decision: the rules compute, the référent decides.
    /// Revising needs the version of the decision in force, which goes to the month's history.
    pub async fn decide_allowance(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        input: &DecisionInput,
    ) -> Result<AllowanceView> {
        Ok(self.decision(ctx, jeune_id, input, true).await?.0)
    }

    /// The decision as it would be recorded (same checks, same amount), recorded nowhere but in
    /// the audit log as a computation: what the référent confirms before deciding, with whose
    /// allowance it is (« Prénom NOM ») for the confirmation's heading.
    pub async fn check_allowance_decision(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        input: &DecisionInput,
    ) -> Result<(AllowanceView, String)> {
        self.decision(ctx, jeune_id, input, false).await
    }

    async fn decision(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        input: &DecisionInput,
        write: bool,
    ) -> Result<(AllowanceView, String)> {
        let action = if write {
            "allocation.decision"
        } else {
            "allocation.calcul"
        };
        let month = parse_month_field(&input.mois)?;
        let (resources, income) = input.ressources.parse(month)?;
        let requested = parse_requested(&input.montant_demande)?;
        let decision = AllowanceDecision::parse(input.decision.trim()).ok_or_else(|| {
            bad(
                "decision",
                "invalide",
                "Décision : attribuée, réduite ou suspendue.",
            )
        })?;
        let mut e = ValidationErrors::default();
        let motif = clean_note(&mut e, &input.motif);
        if !e.is_empty() {
            return Err(e.into());
        }
        let confirmed = match input.montant_confirme.trim() {
            "" => None,
            r => Some(parse_euros(r).ok_or_else(|| {
                bad(
                    "montant_confirme",
                    "invalide",
                    "Montant confirmé : un montant en euros.",
                )
            })?),
        };
        let reduced = match input.montant_reduit.trim() {
            "" => None,
            r => Some(parse_euros(r).ok_or_else(|| {
                bad(
                    "montant_reduit",
                    "invalide",
                    "Montant réduit : un montant en euros.",
                )
            })?),
        };
        let mut tx = self.store.begin().await?;
        let ask = Ask {
            month,
            resources: resources.clone(),
            income_cents: income,
            requested_cents: requested,
        };
        let (structure, ent) = self
            .authorised_entitlement(&mut tx, ctx, jeune_id, action, ask)
            .await?;
        let amount = allowance::decide(ent.computed_cents, decision, reduced, motif.as_deref())
            .map_err(|v| {
                // Each error on its field: a missing motif on the motif, a bad amount on it.
                let field = if v.code == "motif_requis" {
                    "motif"
                } else {
                    "montant_reduit"
                };
                bad(field, v.code, v.message)
            })?;
        if let Some(confirmed) = confirmed {
            if confirmed != amount {
                return Err(bad(
                    "montant_confirme",
                    "montant_change",
                    format!(
                        "Le montant a changé depuis votre confirmation ({} au lieu de {}) : vérifiez-le avant de décider.",
                        parcours_domain::situation::format_euros(amount),
                        parcours_domain::situation::format_euros(confirmed)
                    ),
                ));
            }
        }
        let m = month_code(month);
        let existing = pq::allowance(&mut tx, jeune_id, &m).await?;
        let version =
            match &existing {
                None => 1,
                Some(a) if a.kind != ent.kind => return Err(AppError::Conflict(
                    "L'allocation PACEA n'est pas cumulable avec l'allocation CEJ du même mois."
                        .into(),
                )),
                Some(a) if Some(a.version) == input.version => a.version + 1,
                Some(_) => return Err(AppError::Stale),
            };
        let dek = self.dossier_key(&mut tx, jeune_id).await?;
        let row = AllowanceRow {
            jeune_id: jeune_id.to_string(),
            month: m.clone(),
            programme_id: ent.programme_id.clone(),
            structure_id: structure,
            kind: ent.kind.clone(),
            computed_cents: ent.computed_cents,
            amount_cents: amount,
            decision: decision.code().into(),
            author: ctx.actor.audit_name(),
            decided_at: ctx.now.timestamp(),
            version,
            payload: seal(
                &dek,
                "allowances",
                "payload",
                &format!("{jeune_id}#{m}"),
                &AllowanceText {
                    revenus_cents: if ent.kind == ProgrammeKind::Cej.code() {
                        allowance::reference_income(month, &resources).0
                    } else {
                        income
                    },
                    ressources: (ent.kind == ProgrammeKind::Cej.code()).then_some(resources),
                    motif,
                    steps: ent.steps.clone(),
                },
            )?,
        };
        // Recorded, or (a check before confirming) named for the confirmation's heading.
        let holder = if write {
            pq::save_allowance(&mut tx, &row).await?;
            String::new()
        } else {
            let row = q::get(&mut tx, jeune_id).await?.ok_or(AppError::NotFound)?;
            let i = self.decrypt_row(&row)?.identity;
            format!("{} {}", i.prenom, i.nom.to_uppercase())
        };
        let fields = if write {
            format!("{}:{}", ent.kind, decision.code())
        } else {
            format!("nom,prenom,date_naissance:{}:{}", ent.kind, decision.code())
        };
        self.audit(
            &mut tx,
            ctx,
            Event {
                action,
                subject: Some(jeune_id),
                fields: &fields,
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((self.open_allowance(&dek, &row)?, holder))
    }

    /// The month's allowances of the actor's structure in figures (the directeur's overview):
    /// how many jeunes have a CEJ or PACEA running, how many decisions are taken and what they
    /// pay. Counts only: no identity is read, so nothing is audited per person.
    pub async fn month_counts(&self, ctx: &Ctx, month: &str) -> Result<MonthCounts> {
        let month = parse_month_field(month)?;
        let structure = self.identity_scope(ctx, "allocation.synthese").await?;
        let (from, to) = (
            ymd(month),
            ymd(parcours_domain::rules::cej::last_day(month, 1)),
        );
        let m = month_code(month);
        let mut conn = self.store.acquire().await?;
        let mut entitled = std::collections::HashSet::new();
        for kind in [ProgrammeKind::Cej, ProgrammeKind::Pacea] {
            for p in pq::running_in_structure(&mut conn, structure, kind.code(), &from, &to).await?
            {
                entitled.insert(p.jeune_id);
            }
        }
        let decided = pq::allowances_in_month(&mut conn, structure, &m).await?;
        let decided_ids: std::collections::HashSet<&str> =
            decided.iter().map(|a| a.jeune_id.as_str()).collect();
        Ok(MonthCounts {
            month: m,
            entitled: entitled.len(),
            decided: decided.len(),
            undecided: entitled
                .iter()
                .filter(|id| !decided_ids.contains(id.as_str()))
                .count(),
            to_pay_cents: decided
                .iter()
                .filter(|a| a.decision != AllowanceDecision::Suspendue.code())
                .map(|a| a.amount_cents)
                .sum(),
        })
    }

    /// « Attribuer au montant calculé » (the directeur, for her structure's month): every
    /// entitled jeune without a decision gets « attribuée » at the amount the rules give with no
    /// declared resource, all in one transaction, each decision audited. `count` and
    /// `total_cents` are what she confirmed: when the month changed since (a decision taken, a
    /// programme opened), nothing is written and the conflict says so. The entitlements are
    /// computed here, not through the single decision, whose per-dossier authorisation counts
    /// reads against the quota and would trip the scraping freeze: this is one act on the
    /// month, not a reading of dossiers.
    pub async fn attribute_month(
        &self,
        ctx: &Ctx,
        month: &str,
        count: usize,
        total_cents: i64,
    ) -> Result<(usize, i64)> {
        let m = parse_month_field(month)?;
        let structure = self.identity_scope(ctx, "allocation.attribution").await?;
        if !matches!(&ctx.actor, crate::Actor::Account(p) if p.role == parcours_domain::Role::Directeur)
        {
            return Err(AppError::Forbidden);
        }
        let mut tx = self.store.begin().await?;
        let todo: Vec<(String, i64)> = self
            .month_lines(&mut tx, structure, m)
            .await?
            .into_iter()
            .filter(|l| l.decision.is_none())
            .filter_map(|l| l.computed_cents.map(|c| (l.jeune_id, c)))
            .collect();
        let total: i64 = todo.iter().map(|(_, c)| c).sum();
        if todo.len() != count || total != total_cents {
            return Err(AppError::Conflict(format!(
                "Les allocations à décider ont changé depuis votre confirmation ({} pour {} au lieu de {} pour {}) : vérifiez-les à nouveau.",
                todo.len(),
                parcours_domain::situation::format_euros(total),
                count,
                parcours_domain::situation::format_euros(total_cents)
            )));
        }
        let code = month_code(m);
        let mut kinds = Vec::new();
        for (jeune_id, expected) in &todo {
            let birth = self.birth_date(&mut tx, jeune_id).await?;
            let programmes = pq::for_jeune(&mut tx, jeune_id).await?;
            let ask = Ask {
                month: m,
                resources: allowance::Resources::default(),
                income_cents: 0,
                requested_cents: None,
            };
            let ent = self
                .entitlement(&mut tx, jeune_id, birth, &programmes, ask)
                .await?;
            if ent.computed_cents != *expected {
                return Err(AppError::Stale);
            }
            let dek = self.dossier_key(&mut tx, jeune_id).await?;
            let cej = ent.kind == ProgrammeKind::Cej.code();
            let row = AllowanceRow {
                jeune_id: jeune_id.clone(),
                month: code.clone(),
                programme_id: ent.programme_id.clone(),
                structure_id: structure,
                kind: ent.kind.clone(),
                computed_cents: ent.computed_cents,
                amount_cents: ent.computed_cents,
                decision: AllowanceDecision::Attribuee.code().into(),
                author: ctx.actor.audit_name(),
                decided_at: ctx.now.timestamp(),
                version: 1,
                payload: seal(
                    &dek,
                    "allowances",
                    "payload",
                    &format!("{jeune_id}#{code}"),
                    &AllowanceText {
                        revenus_cents: 0,
                        ressources: cej.then(allowance::Resources::default),
                        motif: None,
                        steps: ent.steps.clone(),
                    },
                )?,
            };
            pq::save_allowance(&mut tx, &row).await?;
            kinds.push(format!("{}:attribuee:lot", ent.kind));
        }
        let events: Vec<Event> = todo
            .iter()
            .zip(&kinds)
            .map(|((id, _), fields)| Event {
                action: "allocation.decision",
                subject: Some(id),
                fields,
                outcome: OK,
                structure_id: Some(structure),
            })
            .collect();
        self.audit_many(&mut tx, ctx, &events).await?;
        tx.commit().await?;
        Ok((todo.len(), total))
    }

    /// The month for the actor's structure: every jeune with a CEJ or PACEA running in the
    /// month, the entitlement without income, and the decision if taken. Each line is audited.
    pub async fn month_allowances(&self, ctx: &Ctx, month: &str) -> Result<Vec<MonthLine>> {
        let month = parse_month_field(month)?;
        let structure = self.identity_scope(ctx, "allocation.mois").await?;
        let mut tx = self.store.begin().await?;
        let mut lines = self.month_lines(&mut tx, structure, month).await?;
        let ids: Vec<&str> = lines.iter().map(|l| l.jeune_id.as_str()).collect();
        let mine = self.in_caseload(&mut tx, ctx, &ids).await?;
        for l in &mut lines {
            if !mine.contains(&l.jeune_id) {
                l.nom = masked_name(&l.jeune_id);
                l.prenom = String::new();
                l.masked = true;
            }
        }
        let events: Vec<Event> = lines
            .iter()
            .map(|l| Event {
                action: "allocation.mois",
                subject: Some(&l.jeune_id),
                fields: if l.masked {
                    "montant"
                } else {
                    "nom,prenom,date_naissance"
                },
                outcome: OK,
                structure_id: Some(structure),
            })
            .collect();
        self.audit_many(&mut tx, ctx, &events).await?;
        tx.commit().await?;
        Ok(lines)
    }

    /// The computation behind [`App::month_allowances`], without authorisation or audit (also
    /// used by the benchmark).
    pub(crate) async fn month_lines(
        &self,
        conn: &mut Conn,
        structure: i64,
        month: NaiveDate,
    ) -> Result<Vec<MonthLine>> {
        let (from, to) = (
            ymd(month),
            ymd(parcours_domain::rules::cej::last_day(month, 1)),
        );
        let m = month_code(month);
        let mut progs =
            pq::running_in_structure(conn, structure, ProgrammeKind::Cej.code(), &from, &to)
                .await?;
        progs.extend(
            pq::running_in_structure(conn, structure, ProgrammeKind::Pacea.code(), &from, &to)
                .await?,
        );
        let decided: std::collections::HashMap<String, AllowanceRow> =
            pq::allowances_in_month(conn, structure, &m)
                .await?
                .into_iter()
                .map(|a| (a.jeune_id.clone(), a))
                .collect();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for p in &progs {
            if !seen.insert(p.jeune_id.clone()) {
                continue;
            }
            let Some(row) = q::get(conn, &p.jeune_id).await? else {
                continue;
            };
            let d = self.decrypt_row(&row)?;
            let mine: Vec<ProgrammeRow> = progs
                .iter()
                .filter(|x| x.jeune_id == p.jeune_id)
                .cloned()
                .collect();
            let (computed, note) =
                if p.kind == ProgrammeKind::Cej.code() || !decided.contains_key(&p.jeune_id) {
                    match self
                        .entitlement(
                            conn,
                            &p.jeune_id,
                            d.identity.date_naissance,
                            &mine,
                            Ask {
                                month,
                                resources: allowance::Resources::default(),
                                income_cents: 0,
                                requested_cents: None,
                            },
                        )
                        .await
                    {
                        Ok(e) => (Some(e.computed_cents), None),
                        Err(AppError::Refused(_, m)) => (None, Some(m)),
                        Err(e) => return Err(e),
                    }
                } else {
                    (None, None)
                };
            let dec = decided.get(&p.jeune_id);
            out.push(MonthLine {
                jeune_id: p.jeune_id.clone(),
                nom: d.identity.nom,
                prenom: d.identity.prenom,
                kind: dec.map(|a| a.kind.clone()).unwrap_or_else(|| {
                    Self::paying_programme(&mine, month)
                        .map(|x| x.kind.clone())
                        .unwrap_or_default()
                }),
                computed_cents: dec.map(|a| a.computed_cents).or(computed),
                decision: dec.map(|a| a.decision.clone()),
                amount_cents: dec.map(|a| a.amount_cents),
                note,
                masked: false,
            });
        }
        out.sort_by(|a, b| {
            (a.nom.to_lowercase(), a.prenom.to_lowercase())
                .cmp(&(b.nom.to_lowercase(), b.prenom.to_lowercase()))
        });
        Ok(out)
    }
}

fn parse_requested(raw: &str) -> Result<Option<i64>> {
    match raw.trim() {
        "" => Ok(None),
        r => parse_euros(r).map(Some).ok_or_else(|| {
            bad(
                "montant_demande",
                "invalide",
                "Montant demandé : un montant en euros.",
            )
        }),
    }
}
