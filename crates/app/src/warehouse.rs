//! The operational side of the warehouse export (issue #4): reads the store, decrypts only what
//! generalisation needs (birth date, sex, nationality, postal code, qualification level, QPV/ZRR
//! of the current situation), and hands over pseudonymised, generalised rows. No name, contact,
//! free text, exact date or operational id leaves this module; the person becomes a keyed
//! pseudonym (HMAC-SHA256 with the `warehouse` key, 128 bits).

use chrono::{DateTime, NaiveDate};
use parcours_domain::generalise::{
    age_band, departement_of_postal_code, nationality_group, region_of,
};
use parcours_domain::timeline as t;
use parcours_domain::vocab::EventKind;
use parcours_store::situations::SituationRow;
use parcours_store::{events, jeunes as q, programmes as pq, situations, workshops};
use parcours_warehouse::{fact, Fact, Person};

use crate::audit::{Event, OK};
use crate::{App, Ctx, Result};

/// What one export did.
#[derive(Debug)]
pub struct Exported {
    /// The version directory `current` now points to.
    pub dir: std::path::PathBuf,
    pub report: parcours_warehouse::kanon::KReport,
    pub facts: usize,
    /// Time spent reading and decrypting the operational store.
    pub extract: std::time::Duration,
}

impl App {
    /// A full export: extract, k-anonymise (`k`), write and switch `out/current` atomically
    /// (the command, the server's nightly schedule, the demo and the benchmark all call this).
    pub async fn warehouse_export(
        &self,
        ctx: &Ctx,
        out: &std::path::Path,
        k: usize,
    ) -> Result<Exported> {
        if k < 2 {
            return Err(crate::AppError::Refused("k doit valoir au moins 2".into()));
        }
        let t0 = std::time::Instant::now();
        let mut x = self.warehouse_extract(ctx).await?;
        let extract = t0.elapsed();
        let (report, gone) = parcours_warehouse::kanon::k_anonymise(&mut x.persons, k);
        x.facts.retain(|f| !gone.contains(&f.pseudonym));
        let stamp = ctx.now.format("%Y%m%dT%H%M%S%.3fZ").to_string();
        let dir = parcours_warehouse::files::publish(
            out,
            &stamp,
            &x.persons,
            &x.facts,
            &x.structures,
            &report,
        )
        .map_err(|e| crate::AppError::Refused(e.to_string()))?;
        Ok(Exported {
            dir,
            report,
            facts: x.facts.len(),
            extract,
        })
    }
}

/// Everything an export hands to the warehouse writer.
#[derive(Debug, Default)]
pub struct Extract {
    pub persons: Vec<Person>,
    pub facts: Vec<Fact>,
    pub structures: Vec<parcours_warehouse::Structure>,
}

fn month(ymd: &str) -> String {
    ymd.get(..7).unwrap_or_default().to_string()
}

fn yes_no(b: Option<bool>) -> String {
    match b {
        Some(true) => "oui",
        Some(false) => "non",
        None => "inconnu",
    }
    .into()
}

impl App {
    /// The keyed pseudonym of a dossier in the warehouse.
    pub fn warehouse_pseudonym(&self, jeune_id: &str) -> String {
        let mac = parcours_vault::hmac_sha256(
            self.keys.warehouse.expose(),
            format!("jeune\0{jeune_id}").as_bytes(),
        );
        hex::encode(&mac[..16])
    }

    /// Reads every structure and builds the warehouse rows (before k-anonymisation), auditing
    /// the export as one entry per structure.
    pub async fn warehouse_extract(&self, ctx: &Ctx) -> Result<Extract> {
        let mut out = Extract::default();
        let mut conn = self.store.acquire().await?;
        for s in parcours_store::structures::list(&mut conn).await? {
            out.structures.push(parcours_warehouse::Structure {
                code: s.code.clone(),
                nom: s.name.clone(),
                departement: s.departement.clone(),
                region: s.region.clone(),
            });
            const COLS: [&str; 5] = [
                "date_naissance",
                "sexe",
                "nationalite",
                "code_postal",
                "niveau_formation",
            ];
            let rows = q::columns_of_structure(&mut conn, s.id, &COLS).await?;
            let situations: std::collections::HashMap<String, SituationRow> =
                situations::latest_of_structure(&mut conn, s.id)
                    .await?
                    .into_iter()
                    .map(|r| (r.jeune_id.clone(), r))
                    .collect();
            let mut births = std::collections::HashMap::new();
            for (r, created_at) in &rows {
                let c = self.lazy(r, &COLS)?;
                let birth = c.date()?;
                let sit = match situations.get(&r.id) {
                    Some(row) => self
                        .open_situations(&c.dek, std::slice::from_ref(row))?
                        .pop()
                        .map(|v| v.situation),
                    None => None,
                };
                let first = DateTime::from_timestamp(*created_at, 0)
                    .map(|t| t.date_naive())
                    .unwrap_or(ctx.now.date_naive());
                let first_month = first.format("%Y-%m").to_string();
                let month_start =
                    NaiveDate::parse_from_str(&format!("{first_month}-01"), "%Y-%m-%d")
                        .unwrap_or(first);
                let postal = c.get("code_postal")?;
                let dep = departement_of_postal_code(&postal);
                let nationalite = c.get("nationalite")?;
                let niveau = sit
                    .as_ref()
                    .and_then(|s| s.niveau.map(|n| n.0.to_string()))
                    .or_else(|| Some(c.get("niveau_formation").ok()?).filter(|n| !n.is_empty()))
                    .unwrap_or_else(|| "inconnu".into());
                let pseudonym = self.warehouse_pseudonym(&r.id);
                births.insert(r.id.clone(), (pseudonym.clone(), birth));
                out.persons.push(Person {
                    pseudonym,
                    structure: s.code.clone(),
                    sexe: c.get("sexe")?,
                    age_band: age_band(birth, month_start).into(),
                    nationality: nationality_group(
                        Some(nationalite.as_str()).filter(|n| !n.is_empty()),
                    )
                    .into(),
                    region: dep
                        .as_deref()
                        .and_then(region_of)
                        .unwrap_or(&s.region)
                        .to_string(),
                    departement: dep.unwrap_or_else(|| "inconnu".into()),
                    qpv: yes_no(sit.as_ref().and_then(|s| s.qpv)),
                    zrr: yes_no(sit.as_ref().and_then(|s| s.zrr)),
                    niveau,
                });
            }
            let mut push = |jeune: &str,
                            ymd: &str,
                            f: &'static str,
                            kind: String,
                            detail: String,
                            value: i64,
                            value2: i64| {
                let Some((p, birth)) = births.get(jeune) else {
                    return;
                };
                let on = NaiveDate::parse_from_str(ymd, "%Y-%m-%d").unwrap_or(*birth);
                out.facts.push(Fact {
                    pseudonym: p.clone(),
                    month: month(ymd),
                    structure: s.code.clone(),
                    fact: f,
                    kind,
                    detail,
                    age_band: age_band(*birth, on).into(),
                    value,
                    value2,
                });
            };
            for e in events::facts_of_structure(&mut conn, s.id).await? {
                let opt = |o: Option<String>| o.unwrap_or_default();
                let (f, kind, detail) = match e.kind.as_str() {
                    t::KIND_NOTE => continue,
                    t::KIND_RDV => (fact::APPOINTMENT, e.kind.clone(), opt(e.status)),
                    t::KIND_SITUATION => (fact::SITUATION, opt(e.category), opt(e.status)),
                    t::KIND_PROPOSITION => (fact::PROPOSAL, opt(e.category), opt(e.status)),
                    t::KIND_SORTIE => (fact::EXIT, opt(e.category), String::new()),
                    t::KIND_PHASE => (fact::PHASE, opt(e.category), String::new()),
                    k if EventKind::parse(k) == Some(EventKind::EntretienIndividuel) => {
                        (fact::EVENT, e.kind.clone(), opt(e.modalite))
                    }
                    _ => (fact::EVENT, e.kind.clone(), opt(e.theme)),
                };
                push(
                    &e.jeune_id,
                    &e.on_date,
                    f,
                    kind,
                    detail,
                    e.duration_minutes.unwrap_or(0),
                    0,
                );
            }
            for p in pq::of_structure(&mut conn, s.id).await? {
                push(
                    &p.jeune_id,
                    &p.start_date,
                    fact::PROGRAMME_ENTRY,
                    p.kind.clone(),
                    String::new(),
                    0,
                    0,
                );
                if let Some(end) = &p.ended_on {
                    push(
                        &p.jeune_id,
                        end,
                        fact::PROGRAMME_EXIT,
                        p.kind.clone(),
                        String::new(),
                        0,
                        0,
                    );
                }
            }
            for w in pq::weeks_of_structure(&mut conn, s.id).await? {
                push(
                    &w.jeune_id,
                    &w.week,
                    fact::CEJ_WEEK,
                    "cej".into(),
                    String::new(),
                    w.planned_minutes,
                    w.done_minutes,
                );
            }
            for a in pq::allowances_of_structure(&mut conn, s.id).await? {
                push(
                    &a.jeune_id,
                    &format!("{}-01", a.month),
                    fact::ALLOWANCE,
                    a.kind.clone(),
                    a.decision.clone(),
                    a.amount_cents,
                    a.computed_cents,
                );
            }
            for r in workshops::registration_facts(&mut conn, s.id).await? {
                push(
                    &r.jeune_id,
                    &r.on_date,
                    fact::WORKSHOP,
                    r.theme.clone(),
                    r.status.clone(),
                    0,
                    0,
                );
            }
            let fields = format!("personnes:{}", rows.len());
            let mut tx = self.store.begin().await?;
            self.audit(
                &mut tx,
                ctx,
                Event {
                    action: "entrepot.export",
                    subject: None,
                    fields: &fields,
                    outcome: OK,
                    structure_id: Some(s.id),
                },
            )
            .await?;
            tx.commit().await?;
        }
        Ok(out)
    }
}
