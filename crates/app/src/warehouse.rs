//! The operational side of the warehouse export (issue #4): reads the store, decrypts only what
//! generalisation needs (birth date, sex, nationality, postal code, qualification level, QPV/ZRR
//! of the current situation), and hands over pseudonymised, generalised rows. No name, contact,
//! free text, exact date or operational id leaves this module; the person becomes a keyed
//! pseudonym (HMAC-SHA256 with the `warehouse` key, 128 bits).

use crate::Rule;
use chrono::{DateTime, NaiveDate};
use parcours_domain::generalise::{
    age_band, departement_of_postal_code, nationality_group, region_of,
};
use parcours_domain::timeline as t;
use parcours_domain::vocab::EventKind;
use parcours_store::situations::SituationRow;
use parcours_store::{events, jeunes as q, programmes as pq, situations, workshops};
use parcours_warehouse::{fact, Fact, Person};
// foldhash rather than SipHash for the million-key sets of an export: the keys are dossier
// ids and pseudonyms the server made, not chosen by a client.
use foldhash::{HashMap, HashMapExt, HashSet};

use crate::audit::{Event, OK};
use crate::{App, Ctx, Result};

/// What one export did.
#[derive(Debug)]
pub struct Exported {
    /// The version directory `current` now points to.
    pub dir: std::path::PathBuf,
    /// `complet` or `incremental`.
    pub mode: &'static str,
    pub report: parcours_warehouse::kanon::KReport,
    pub facts: usize,
    /// Persons whose dossier was read and decrypted (all of them for a full export).
    pub reread: usize,
    /// Month files written, and taken unchanged from the previous version.
    pub months_written: usize,
    pub months_reused: usize,
    /// Previous month files read back to merge (incremental export): the months whose digests
    /// told a change, or that had none.
    pub months_read: usize,
    /// Time spent reading and decrypting the operational store.
    pub extract: std::time::Duration,
    /// Where the time went, step by step (for the benchmark and the operator).
    pub steps: Vec<(&'static str, std::time::Duration)>,
}

/// An incremental export re-reads what changed from this long before the previous export
/// started (a request that began before it may commit after it read that structure).
pub const CHANGE_MARGIN_SECS: i64 = 600;

const STATE_AD: &[u8] = b"parcours-entrepot-etat-v1";

impl App {
    /// Exports the warehouse into `out` and switches `out/current` atomically (the command, the
    /// server's nightly schedule, the demo and the benchmark all call this). Incremental when
    /// `out/current` holds a version of this layout made with this instance's key (only the
    /// dossiers changed since are re-read; the result equals a full export's), full otherwise
    /// or when `full` is asked. k-anonymity (`k`) is enforced over every person either way.
    pub async fn warehouse_export(
        &self,
        ctx: &Ctx,
        out: &std::path::Path,
        k: usize,
        full: bool,
    ) -> Result<Exported> {
        use parcours_warehouse::files::{self, MonthFacts, Release};
        let mut steps = Steps::default();
        if k < 2 {
            return Err(crate::AppError::Refused(
                Rule::InvalidSetting,
                "k doit valoir au moins 2".into(),
            ));
        }
        let key_id = self.warehouse_key_id();
        let previous = if full {
            None
        } else {
            files::current_manifest(out).ok().filter(|(_, m)| {
                m.schema_version == parcours_warehouse::SCHEMA_VERSION
                    && m.key_id == key_id
                    && m.started_at > 0
                    && m.k == k
            })
        };
        let io = |e: files::FileError| crate::AppError::io("entrepôt", e);
        let started_at = ctx.now.timestamp();
        let (mode, persons_in, mut x, affected) = match &previous {
            None => (
                "complet",
                Vec::new(),
                self.warehouse_extract(ctx, None).await?,
                None,
            ),
            Some((dir, m)) => {
                let mut before = files::read_persons(&dir.join("persons.parquet")).map_err(io)?;
                // The true rows of the persons the guard generalised last time (if the sealed
                // state is unreadable, they are simply re-read).
                let truth: HashMap<String, Person> = self
                    .open_export_state(&dir.join(files::STATE_FILE))
                    .into_iter()
                    .map(|p| (p.pseudonym.clone(), p))
                    .collect();
                for p in before.iter_mut() {
                    if let Some(t) = truth.get(&p.pseudonym) {
                        *p = t.clone();
                    }
                }
                steps.lap("lecture de la version précédente");
                let plan = self
                    .incremental_plan(&before, m.started_at, ctx.now.date_naive())
                    .await?;
                steps.lap("plan");
                let x = self.warehouse_extract(ctx, Some(&plan.reread)).await?;
                let kept = before
                    .into_iter()
                    .filter(|p| plan.kept.contains(&p.pseudonym))
                    .collect();
                ("incremental", kept, x, Some(plan.affected))
            }
        };
        let extract = steps.lap("lecture et déchiffrement");
        let reread = x.persons.len();
        let mut persons = persons_in;
        persons.append(&mut x.persons);
        let guarded = parcours_warehouse::kanon::k_anonymise(&mut persons, k);
        let (report, gone) = (guarded.report, guarded.suppressed);
        let state = self.seal_export_state(&guarded.generalised)?;
        persons.sort_unstable_by(|a, b| a.pseudonym.cmp(&b.pseudonym));
        steps.lap("k-anonymat");
        for part in &mut x.facts {
            part.retain(|f| !gone.contains(&*f.pseudonym));
        }
        let fresh = files::by_month(std::mem::take(&mut x.facts));
        let (months, months_read) = match (&previous, affected) {
            (Some((dir, m)), Some(mut affected)) => {
                affected.extend(gone);
                let plan = parcours_warehouse::incremental::plan_months(dir, m, &affected, fresh)
                    .map_err(io)?;
                (plan.months, plan.read)
            }
            _ => (
                fresh
                    .into_iter()
                    .map(|(month, facts)| MonthFacts::Write { month, facts })
                    .collect(),
                0,
            ),
        };
        steps.lap("mois");
        let (mut written, mut reused, mut facts) = (0, 0, 0);
        for m in &months {
            match m {
                MonthFacts::Write { facts: f, .. } => {
                    written += 1;
                    facts += f.len();
                }
                MonthFacts::Reuse { entry, .. } => {
                    reused += 1;
                    facts += entry.rows;
                }
            }
        }
        let stamp = ctx.now.format("%Y%m%dT%H%M%S%.3fZ").to_string();
        let dir = files::publish_release(
            out,
            &Release {
                state: &state,
                stamp: &stamp,
                mode,
                started_at,
                key_id: &key_id,
                persons: &persons,
                structures: &x.structures,
                report: &report,
                months,
            },
        )
        .map_err(io)?;
        steps.lap("écriture et publication");
        // Freeing a million persons' rows is timed too: the benchmark's total is every step.
        drop((persons, x, previous));
        steps.lap("libération de la mémoire");
        Ok(Exported {
            dir,
            mode,
            report,
            facts,
            reread,
            months_written: written,
            months_reused: reused,
            months_read,
            extract,
            steps: steps.done,
        })
    }

    /// The key sealing the exporter's private state: derived from the warehouse key, which the
    /// insight side never has.
    fn export_state_key(&self) -> parcours_vault::DataKey {
        parcours_vault::DataKey::from_bytes(parcours_vault::hmac_sha256(
            self.keys.warehouse.expose(),
            b"etat\0entrepot",
        ))
    }

    fn seal_export_state(&self, generalised: &[Person]) -> Result<Vec<u8>> {
        // An empty state would make the next export re-read everything as new: an error, not a
        // silent default.
        let json = serde_json::to_vec(generalised).map_err(crate::AppError::internal)?;
        Ok(self.export_state_key().seal(&json, STATE_AD))
    }

    fn open_export_state(&self, path: &std::path::Path) -> Vec<Person> {
        std::fs::read(path)
            .ok()
            .and_then(|b| self.export_state_key().open(&b, STATE_AD).ok())
            .and_then(|j| serde_json::from_slice(&j).ok())
            .unwrap_or_default()
    }

    /// Fingerprint of the warehouse key (never the key): tells whether a previous version's
    /// pseudonyms come from this key.
    pub fn warehouse_key_id(&self) -> String {
        let mac = parcours_vault::hmac_sha256(self.keys.warehouse.expose(), b"empreinte\0entrepot");
        hex::encode(&mac[..8])
    }

    /// Which dossiers an incremental export re-reads, given the previous version's persons and
    /// its start time.
    async fn incremental_plan(
        &self,
        before: &[Person],
        since: i64,
        today: NaiveDate,
    ) -> Result<IncrementalPlan> {
        let mut conn = self.store.acquire().await?;
        let ids = q::all_ids(&mut conn).await?;
        let mut changed: HashSet<String> = q::changed_since(&mut conn, since - CHANGE_MARGIN_SECS)
            .await?
            .into_iter()
            .collect();
        // A month that ended since the previous export adds "in CEJ at month end" facts to
        // every dossier whose CEJ was running then, though nothing was written.
        let then = DateTime::from_timestamp(since, 0)
            .map(|t| t.date_naive())
            .unwrap_or(today);
        if then.format("%Y-%m").to_string() != today.format("%Y-%m").to_string() {
            let (from, to) = (then.to_string(), today.to_string());
            changed.extend(pq::cej_running_between(&mut conn, &from, &to).await?);
        }
        drop(conn);
        // Each previous person: published as read (not generalised by the guard), so it can be
        // kept as it is; and whether its dossier is still there.
        let mut previous: HashMap<&str, (bool, bool)> = before
            .iter()
            .map(|p| {
                let clean = !p.quasi_identifiers().contains(&parcours_warehouse::ANY);
                (p.pseudonym.as_str(), (clean, false))
            })
            .collect();
        let mut plan = IncrementalPlan::default();
        let pseudonyms = self.warehouse_pseudonyms();
        for id in ids {
            let p = pseudonyms.of(&id);
            let clean = match previous.get_mut(p.as_str()) {
                Some((clean, seen)) => {
                    *seen = true;
                    *clean
                }
                None => false,
            };
            if changed.contains(&id) || !clean {
                plan.affected.insert(p);
                plan.reread.insert(id);
            } else {
                plan.kept.insert(p);
            }
        }
        // Persons gone from the operational store: their rows go.
        for (p, (_, seen)) in previous {
            if !seen {
                plan.affected.insert(p.to_string());
            }
        }
        Ok(plan)
    }
}

/// Keyed pseudonyms: HMAC-SHA256 with the `warehouse` key of `jeune\0{dossier id}`, the first
/// 128 bits in hexadecimal.
struct Pseudonyms(parcours_vault::KeyedMac);

impl Pseudonyms {
    fn of(&self, jeune_id: &str) -> String {
        hex::encode(&self.0.mac(&[b"jeune\0", jeune_id.as_bytes()])[..16])
    }
}

/// A stopwatch over the steps of an export.
struct Steps {
    done: Vec<(&'static str, std::time::Duration)>,
    since: std::time::Instant,
}

impl Default for Steps {
    fn default() -> Self {
        Self {
            done: Vec::new(),
            since: std::time::Instant::now(),
        }
    }
}

impl Steps {
    /// Ends the step `name` now; returns its duration. Each step is logged as it ends, so a
    /// long export shows where it is (a line in the command's output, a JSON line in the
    /// server's log — issue 20); counts and durations only.
    fn lap(&mut self, name: &'static str) -> std::time::Duration {
        let d = self.since.elapsed();
        tracing::info!(
            etape = name,
            secondes = format!("{:.1}", d.as_secs_f64()),
            "export de l'entrepôt : étape terminée"
        );
        self.done.push((name, d));
        self.since = std::time::Instant::now();
        d
    }
}

/// What an incremental export re-reads and keeps.
#[derive(Debug, Default)]
struct IncrementalPlan {
    /// Dossier ids to read and decrypt again.
    reread: HashSet<String>,
    /// Pseudonyms whose previous person row is kept as is.
    kept: HashSet<String>,
    /// Pseudonyms whose previous rows (person and facts) are replaced or removed.
    affected: HashSet<String>,
}

/// Everything an export hands to the warehouse writer.
#[derive(Debug, Default)]
pub struct Extract {
    pub persons: Vec<Person>,
    /// The facts, one vector per structure (never concatenated: a million persons' facts are
    /// several gigabytes, and the months are built from the parts directly).
    pub facts: Vec<Vec<Fact>>,
    pub structures: Vec<parcours_warehouse::Structure>,
}

fn month(ymd: &str) -> &str {
    ymd.get(..7).unwrap_or_default()
}

/// The last days of the months, already ended on `today`, at the end of which a CEJ started on
/// `start` and ended on `ended` (if it has) was running.
fn months_ended_in_cej(start: &str, ended: Option<&str>, today: NaiveDate) -> Vec<String> {
    use chrono::{Datelike, Months};
    let parse = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let Some(start) = parse(start) else {
        return Vec::new();
    };
    let ended = ended.and_then(parse);
    let mut out = Vec::new();
    let first = start.with_day(1).unwrap_or(start);
    let last_day = |n: u32| {
        first
            .checked_add_months(Months::new(n + 1))
            .and_then(|d| d.pred_opt())
    };
    let mut n = 0;
    while let Some(last) = last_day(n) {
        if last >= today || ended.is_some_and(|e| e <= last) {
            break;
        }
        out.push(last.format("%Y-%m-%d").to_string());
        n += 1;
    }
    out
}

/// Whole months from the month of `first` to the month of `ymd` (0 if earlier or unreadable).
fn months_between(first: NaiveDate, ymd: &str) -> i64 {
    use chrono::Datelike;
    let Ok(d) = NaiveDate::parse_from_str(ymd, "%Y-%m-%d") else {
        return 0;
    };
    let n = (i64::from(d.year()) - i64::from(first.year())) * 12 + i64::from(d.month())
        - i64::from(first.month());
    n.max(0)
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
        self.warehouse_pseudonyms().of(jeune_id)
    }

    /// The warehouse key, keyed once for the many pseudonyms of an export.
    fn warehouse_pseudonyms(&self) -> Pseudonyms {
        Pseudonyms(parcours_vault::KeyedMac::new(self.keys.warehouse.expose()))
    }

    /// Reads every structure and builds the warehouse rows (before k-anonymisation), auditing
    /// the export as one entry per structure.
    /// With `only`, decrypts and extracts only those dossiers (an incremental export).
    pub async fn warehouse_extract(
        &self,
        ctx: &Ctx,
        only: Option<&HashSet<String>>,
    ) -> Result<Extract> {
        let list = {
            let mut conn = self.store.acquire().await?;
            parcours_store::structures::list(&mut conn).await?
        };
        let ids: Option<Vec<&str>> = only.map(|o| o.iter().map(String::as_str).collect());
        // Structures are read in parallel, one connection per core (the work is CPU-bound:
        // decoding rows, unwrapping keys, decrypting), each connection holding its own copy
        // of an incremental export's scope.
        let parallel = list.len() > 1
            && tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::MultiThread;
        let mut parts = if parallel {
            self.extract_in_parallel(ctx, &list, only, ids.as_deref())?
        } else {
            let mut conn = self.store.acquire().await?;
            let next = std::sync::atomic::AtomicUsize::new(0);
            self.extract_on(ctx, &mut conn, &list, &next, only, ids.as_deref())
                .await?
        };
        parts.sort_unstable_by_key(|(i, _)| *i);
        let parts: Vec<Part> = parts.into_iter().map(|(_, p)| p).collect();
        let mut out = Extract::default();
        out.persons
            .reserve_exact(parts.iter().map(|p| p.persons.len()).sum());
        for (s, part) in list.iter().zip(parts) {
            out.structures.push(parcours_warehouse::Structure {
                code: s.code.clone(),
                nom: s.name.clone(),
                departement: s.departement.clone(),
                region: s.region.clone(),
            });
            let fields = format!("personnes:{}", part.persons.len());
            out.persons.extend(part.persons);
            out.facts.push(part.facts);
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

    /// Extracts the structures on scoped threads, each driving its own connection on the
    /// current runtime, taking the next structure when done with one. Returns each part with
    /// its index in `list`.
    fn extract_in_parallel(
        &self,
        ctx: &Ctx,
        list: &[parcours_store::structures::StructureRow],
        only: Option<&HashSet<String>>,
        ids: Option<&[&str]>,
    ) -> Result<Vec<(usize, Part)>> {
        let handle = tokio::runtime::Handle::current();
        // One worker per core (at most 4). On a cold page cache an incremental export waits
        // on the disk instead; four connections there gave no gain over two at 100,000
        // dossiers (docs/BENCHMARKS.md), the disk's random reads being the limit.
        let workers = std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(1)
            .clamp(1, 4)
            .min(list.len());
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            handle.block_on(async {
                let mut conn = self.store.acquire().await?;
                self.extract_on(ctx, &mut conn, list, &next, only, ids)
                    .await
            })
        };
        tokio::task::block_in_place(|| {
            std::thread::scope(|scope| {
                let threads: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
                let mut all = Vec::with_capacity(list.len());
                for t in threads {
                    let mine = t.join().map_err(|_| {
                        crate::AppError::internal("extraction de l'entrepôt interrompue")
                    })??;
                    all.extend(mine);
                }
                Ok::<_, crate::AppError>(all)
            })
        })
    }

    /// Extracts, on `conn`, the structures of `list` whose turn `next` gives, until none is
    /// left. With `ids` (an incremental export), the connection holds them as its scope
    /// meanwhile, and only those dossiers are read.
    async fn extract_on(
        &self,
        ctx: &Ctx,
        conn: &mut parcours_store::Conn,
        list: &[parcours_store::structures::StructureRow],
        next: &std::sync::atomic::AtomicUsize,
        only: Option<&HashSet<String>>,
        ids: Option<&[&str]>,
    ) -> Result<Vec<(usize, Part)>> {
        if let Some(ids) = ids {
            parcours_store::export_scope::select(&mut *conn, ids).await?;
        }
        let mut mine = Vec::new();
        let out = async {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(s) = list.get(i) else { break };
                mine.push((i, self.extract_structure(ctx, &mut *conn, s, only).await?));
            }
            Ok::<_, crate::AppError>(())
        }
        .await;
        if ids.is_some() {
            parcours_store::export_scope::release(&mut *conn).await?;
        }
        out.map(|()| mine)
    }

    /// One structure's persons and facts (the dossiers of `only` if given).
    async fn extract_structure(
        &self,
        ctx: &Ctx,
        conn: &mut parcours_store::Conn,
        s: &parcours_store::structures::StructureRow,
        only: Option<&HashSet<String>>,
    ) -> Result<Part> {
        let scoped = only.is_some();
        let today = ctx.now.date_naive();
        let mut out = Part::default();
        {
            const COLS: [&str; 5] = [
                "date_naissance",
                "sexe",
                "nationalite",
                "code_postal",
                "niveau_formation",
            ];
            let rows = q::columns_of_structure(&mut *conn, s.id, &COLS, scoped).await?;
            let situations: HashMap<String, SituationRow> =
                situations::latest_of_structure(&mut *conn, s.id, scoped)
                    .await?
                    .into_iter()
                    .map(|r| (r.jeune_id.clone(), r))
                    .collect();
            let mut births = HashMap::new();
            let pseudonyms = self.warehouse_pseudonyms();
            // Canaries (decoy dossiers) never reach the warehouse: no person, hence no fact.
            let canaries: HashSet<Vec<u8>> = parcours_store::vigilance::canary_tags(&mut *conn)
                .await?
                .into_iter()
                .filter(|(_, st)| *st == s.id)
                .map(|(t, _)| t)
                .collect();
            for (r, created_at) in &rows {
                if only.is_some_and(|o| !o.contains(&r.id)) {
                    continue;
                }
                if !canaries.is_empty() && canaries.contains(&self.canary_tag(&r.id)) {
                    continue;
                }
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
                let pseudonym = pseudonyms.of(&r.id);
                births.insert(
                    r.id.clone(),
                    (
                        parcours_warehouse::Text::from(pseudonym.as_str()),
                        birth,
                        month_start,
                    ),
                );
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
            // Every fact shares its person's pseudonym and the codes (see `Fact`).
            let mut codes = parcours_warehouse::Interner::default();
            let structure = codes.get(&s.code);
            let mut push = |jeune: &str,
                            ymd: &str,
                            f: &'static str,
                            kind: &str,
                            detail: &str,
                            value: i64,
                            value2: i64| {
                let Some((p, birth, _)) = births.get(jeune) else {
                    return;
                };
                let on = NaiveDate::parse_from_str(ymd, "%Y-%m-%d").unwrap_or(*birth);
                out.facts.push(Fact {
                    pseudonym: p.clone(),
                    month: codes.get(month(ymd)),
                    structure: structure.clone(),
                    fact: f,
                    kind: codes.get(kind),
                    detail: codes.get(detail),
                    age_band: codes.get(age_band(*birth, on)),
                    value,
                    value2,
                });
            };
            // Each chunk of entries becomes facts, then is let go.
            events::each_fact_of_structure(&mut *conn, s.id, scoped, |chunk| {
                for e in chunk {
                    fn opt(o: &Option<String>) -> &str {
                        o.as_deref().unwrap_or_default()
                    }
                    let (f, kind, detail) = match e.kind.as_str() {
                        t::KIND_NOTE => continue,
                        t::KIND_RDV => (fact::APPOINTMENT, e.kind.as_str(), opt(&e.status)),
                        t::KIND_SITUATION => (fact::SITUATION, opt(&e.category), opt(&e.status)),
                        t::KIND_PROPOSITION => (fact::PROPOSAL, opt(&e.category), opt(&e.status)),
                        t::KIND_SORTIE => (fact::EXIT, opt(&e.category), ""),
                        t::KIND_PHASE => (fact::PHASE, opt(&e.category), ""),
                        k if EventKind::parse(k) == Some(EventKind::EntretienIndividuel) => {
                            (fact::EVENT, e.kind.as_str(), opt(&e.modalite))
                        }
                        _ => (fact::EVENT, e.kind.as_str(), opt(&e.theme)),
                    };
                    // An exit carries the months of support since the dossier's first month.
                    let value = if f == fact::EXIT {
                        births
                            .get(&e.jeune_id)
                            .map(|(_, _, first)| months_between(*first, &e.on_date))
                            .unwrap_or(0)
                    } else {
                        e.duration_minutes.unwrap_or(0)
                    };
                    push(&e.jeune_id, &e.on_date, f, kind, detail, value, 0);
                }
            })
            .await?;
            for p in pq::of_structure(&mut *conn, s.id, scoped).await? {
                if p.kind == "cej" {
                    for end in months_ended_in_cej(&p.start_date, p.ended_on.as_deref(), today) {
                        push(&p.jeune_id, &end, fact::CEJ_MONTH_END, &p.kind, "", 0, 0);
                    }
                }
                push(
                    &p.jeune_id,
                    &p.start_date,
                    fact::PROGRAMME_ENTRY,
                    &p.kind,
                    "",
                    0,
                    0,
                );
                if let Some(end) = &p.ended_on {
                    push(&p.jeune_id, end, fact::PROGRAMME_EXIT, &p.kind, "", 0, 0);
                }
            }
            for w in pq::weeks_of_structure(&mut *conn, s.id, scoped).await? {
                push(
                    &w.jeune_id,
                    &w.week,
                    fact::CEJ_WEEK,
                    "cej",
                    "",
                    w.planned_minutes,
                    w.done_minutes,
                );
            }
            for a in pq::allowances_of_structure(&mut *conn, s.id, scoped).await? {
                push(
                    &a.jeune_id,
                    &format!("{}-01", a.month),
                    fact::ALLOWANCE,
                    &a.kind,
                    &a.decision,
                    a.amount_cents,
                    a.computed_cents,
                );
            }
            for r in workshops::registration_facts(&mut *conn, s.id, scoped).await? {
                push(
                    &r.jeune_id,
                    &r.on_date,
                    fact::WORKSHOP,
                    &r.theme,
                    &r.status,
                    0,
                    0,
                );
            }
        }
        Ok(out)
    }
}

/// One structure's share of an extract.
#[derive(Default)]
struct Part {
    persons: Vec<Person>,
    facts: Vec<Fact>,
}

#[cfg(test)]
mod tests {
    use super::months_ended_in_cej;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_cej_counts_at_the_end_of_each_ended_month_it_ran_through() {
        let today = d("2026-05-10");
        assert_eq!(
            months_ended_in_cej("2026-01-15", None, today),
            ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
        );
        // Ended on the last day: not running at that month's end.
        assert_eq!(
            months_ended_in_cej("2026-01-15", Some("2026-03-31"), today),
            ["2026-01-31", "2026-02-28"]
        );
        assert_eq!(
            months_ended_in_cej("2026-01-15", Some("2026-04-01"), today),
            ["2026-01-31", "2026-02-28", "2026-03-31"]
        );
        // Started this month: no month end yet; a bad date gives nothing.
        assert!(months_ended_in_cej("2026-05-02", None, today).is_empty());
        assert!(months_ended_in_cej("2026-13-40", None, today).is_empty());
    }
}
