//! Retention (issue 18, P6): what is kept, how long, and its erasure when due.
//!
//! The defaults are those of the text that governs i-Milo, décret n° 2015-59 du 26 janvier 2015
//! (modified), article on retention:
//! - I: a young person's data are kept until she reaches the maximum age of art. L. 5314-2 of
//!   the code du travail (support until 25 years *révolus*: the 26th birthday) **plus two
//!   years** — here until the 28th birthday —, except while a programme is running (kept until
//!   its end);
//! - I bis: a CEJ beneficiary's data, **ten years after the end of the contract**;
//! - II: users' data, one year after the end of their habilitation: a disabled account's login,
//!   password, second factor, passkeys and sessions go (`store::accounts::retire`);
//! - IV: past those dates, data are only available anonymised — here the dossier is
//!   crypto-shredded (its key destroyed: `store::jeunes::erase`), which also reaches backups
//!   (`backup`), while the warehouse keeps its pseudonymous, generalised rows.
//!
//! The rules are configurable (`parcours conservation regles`), stored in `meta`. The time is a
//! parameter (`today`), never read inside: tests move the clock forward.

use chrono::{Months, NaiveDate};
use parcours_domain::vocab::ProgrammeKind;
use parcours_store::{jeunes as jq, keyring, programmes as pq};
use serde::{Deserialize, Serialize};

use crate::audit::{Event, OK};
use crate::{App, AppError, Ctx, Result, Rule};

const META: &str = "conservation.regles";

/// The rules, in years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    /// A young person's dossier is due on this birthday (décret 2015-59: 26 + 2).
    pub jeune_age: u32,
    /// A CEJ beneficiary's dossier: years after the end of the contract (décret 2015-59: 10).
    pub cej_years: u32,
    /// Staff accounts: years after access ended (décret 2015-59: 1).
    pub account_years: u32,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            jeune_age: 28,
            cej_years: 10,
            account_years: 1,
        }
    }
}

/// One dossier due, and why (no identity: the id and the rule).
#[derive(Debug, Clone, Serialize)]
pub struct Due {
    pub jeune_id: String,
    pub structure_id: i64,
    pub reason: String,
}

/// What a run found and did.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionReport {
    pub today: NaiveDate,
    pub rules: Rules,
    pub examined: usize,
    pub due: Vec<Due>,
    /// False for a dry run: nothing was erased.
    pub applied: bool,
    pub erased: usize,
    /// Staff accounts whose access ended more than `account_years` ago (logins).
    pub accounts_due: Vec<String>,
    pub accounts_retired: usize,
}

fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

fn add_years(d: NaiveDate, years: u32) -> NaiveDate {
    d.checked_add_months(Months::new(12 * years))
        .unwrap_or(NaiveDate::MAX)
}

impl App {
    pub async fn retention_rules(&self) -> Result<Rules> {
        let mut conn = self.store.acquire().await?;
        Ok(keyring::meta_get(&mut conn, META)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// Sets the rules (operator), audited. A young person's dossier cannot be kept less than to
    /// her 26th birthday, nor a CEJ dossier less than a year (the payment controls).
    pub async fn set_retention_rules(&self, ctx: &Ctx, rules: Rules) -> Result<Rules> {
        if !(26..=40).contains(&rules.jeune_age)
            || !(1..=30).contains(&rules.cej_years)
            || !(1..=10).contains(&rules.account_years)
        {
            return Err(AppError::Refused(
                Rule::InvalidSetting,
                "durées : âge de 26 à 40 ans, CEJ de 1 à 30 ans après la fin du contrat, comptes de 1 à 10 ans".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        keyring::meta_set(
            &mut tx,
            META,
            &serde_json::to_string(&rules).map_err(AppError::internal)?,
        )
        .await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "conservation.regles",
                subject: None,
                fields: &format!(
                    "age:{},cej:{},comptes:{}",
                    rules.jeune_age, rules.cej_years, rules.account_years
                ),
                outcome: OK,
                structure_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(rules)
    }

    /// Finds the dossiers due on `today` and, unless `dry_run`, erases them (each in its own
    /// transaction, audited `jeune.effacement` with the rule). Operator or the daily job.
    pub async fn run_retention(
        &self,
        ctx: &Ctx,
        today: NaiveDate,
        dry_run: bool,
    ) -> Result<RetentionReport> {
        let rules = self.retention_rules().await?;
        let mut conn = self.store.acquire().await?;
        let ids = jq::all_ids(&mut conn).await?;
        let mut due = Vec::new();
        let mut examined = 0;
        for id in &ids {
            let Some(row) = jq::get(&mut conn, id).await? else {
                continue;
            };
            if row.wrapped_key.is_none() {
                continue;
            }
            examined += 1;
            let birth = self.decrypt_row(&row)?.identity.date_naissance;
            let programmes = pq::for_jeune(&mut conn, id).await?;
            let end_of = |p: &pq::ProgrammeRow| date(p.ended_on.as_deref().unwrap_or(&p.end_date));
            // A programme still running keeps the dossier (décret 2015-59, art. 6-I).
            if programmes
                .iter()
                .any(|p| end_of(p).is_none_or(|e| e >= today))
            {
                continue;
            }
            let age_limit = add_years(birth, rules.jeune_age);
            let cej_limit = programmes
                .iter()
                .filter(|p| p.kind == ProgrammeKind::Cej.code())
                .filter_map(end_of)
                .max()
                .map(|e| add_years(e, rules.cej_years));
            let limit = cej_limit.map_or(age_limit, |c| c.max(age_limit));
            if today >= limit {
                due.push(Due {
                    jeune_id: id.clone(),
                    structure_id: row.structure_id,
                    reason: match cej_limit {
                        Some(c) if c >= age_limit => format!(
                            "CEJ terminé depuis {} ans (décret n° 2015-59, art. 6-I bis)",
                            rules.cej_years
                        ),
                        _ => format!(
                            "{} ans atteints, aucun dispositif en cours (décret n° 2015-59, art. 6-I)",
                            rules.jeune_age
                        ),
                    },
                });
            }
        }
        drop(conn);
        let mut erased = 0;
        if !dry_run {
            for d in &due {
                let mut tx = self.store.begin().await?;
                if jq::erase(&mut tx, &d.jeune_id).await? {
                    self.audit(
                        &mut tx,
                        ctx,
                        Event {
                            action: "jeune.effacement",
                            subject: Some(&d.jeune_id),
                            fields: &format!("conservation,{}", d.reason),
                            outcome: OK,
                            structure_id: Some(d.structure_id),
                        },
                    )
                    .await?;
                    erased += 1;
                }
                tx.commit().await?;
            }
        }
        // Staff accounts (décret n° 2015-59, art. 6-II): one year after access ended.
        let before = today
            .checked_sub_months(Months::new(12 * rules.account_years))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp())
            .unwrap_or(i64::MIN);
        let accounts = {
            let mut conn = self.store.acquire().await?;
            parcours_store::accounts::retired_before(&mut conn, before).await?
        };
        let mut accounts_retired = 0;
        if !dry_run {
            for (id, login) in &accounts {
                let mut tx = self.store.begin().await?;
                parcours_store::accounts::retire(&mut tx, *id).await?;
                self.audit(
                    &mut tx,
                    ctx,
                    Event {
                        action: "compte.suppression",
                        subject: None,
                        fields: &format!("conservation,compte:{login}"),
                        outcome: OK,
                        structure_id: None,
                    },
                )
                .await?;
                tx.commit().await?;
                accounts_retired += 1;
            }
        }
        Ok(RetentionReport {
            today,
            rules,
            examined,
            due,
            applied: !dry_run,
            erased,
            accounts_due: accounts.into_iter().map(|(_, l)| l).collect(),
            accounts_retired,
        })
    }
}
