//! Writing a warehouse version and publishing it atomically.
//!
//! Layout of the output directory:
//! ```text
//! OUT/current -> v-20261123T020000Z-3f2a   (symbolic link, replaced atomically)
//! OUT/v-…/persons.parquet                  one row per person (pseudonym + quasi-identifiers)
//! OUT/v-…/facts/AAAA-MM.parquet            one file per month: one row per fact of that month
//!                                          (pseudonym, month, codes, values), sorted
//! OUT/v-…/structures.parquet               the Missions Locales (code, name, département, région)
//! OUT/v-…/empreintes/AAAA-MM.bin           per-person digests of each month file, for the next
//!                                          incremental export (see [`crate::digests`])
//! OUT/v-…/manifest.json                    schema version, export time, mode, k report, rows,
//!                                          SHA-256 of every file
//! ```
//! A version is written in full in its own directory, fsynced, then `current` is switched by
//! renaming a new link over it: a crash at any point leaves `current` on a complete version.
//! An incremental export hard-links the months that did not change from the previous version
//! (files are never modified once written). Older versions but the previous one are removed
//! after the switch.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kanon::KReport;
use crate::{Fact, Person, Structure, Text, SCHEMA_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("écriture de l'entrepôt impossible : {0}")]
    Io(#[from] std::io::Error),
    #[error("fichier Parquet : {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("Arrow : {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("manifeste : {0}")]
    Json(#[from] serde_json::Error),
    #[error("entrepôt : {0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, FileError>;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableEntry {
    pub file: String,
    pub rows: usize,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub schema_version: u32,
    /// Export time, UTC, `AAAAMMJJTHHMMSSZ`.
    pub exported_at: String,
    /// `complet` (everything re-read) or `incremental` (only the dossiers changed since the
    /// previous version re-read; the result is the same as a full export's).
    #[serde(default)]
    pub mode: String,
    /// When the export started to read the operational store (unix seconds): the next
    /// incremental export re-reads what changed from shortly before this instant.
    #[serde(default)]
    pub started_at: i64,
    /// Fingerprint of the pseudonymisation key (not the key): an incremental export builds on
    /// a previous version only if its pseudonyms come from the same key.
    #[serde(default)]
    pub key_id: String,
    /// Month files taken unchanged from the previous version (incremental export).
    #[serde(default)]
    pub reused_months: usize,
    pub k: usize,
    pub k_report: serde_json::Value,
    pub tables: Vec<TableEntry>,
}

impl Manifest {
    /// The month files of the facts, with their month (`facts/2026-11.parquet` → `2026-11`).
    pub fn fact_months(&self) -> impl Iterator<Item = (&str, &TableEntry)> {
        self.tables.iter().filter_map(|t| {
            let m = t.file.strip_prefix("facts/")?.strip_suffix(".parquet")?;
            Some((m, t))
        })
    }

    /// Rows of facts, all months together.
    pub fn fact_rows(&self) -> usize {
        self.fact_months().map(|(_, t)| t.rows).sum()
    }
}

/// The facts of one month in a version being written: new rows, or the previous version's
/// file, unchanged.
#[derive(Debug)]
pub enum MonthFacts {
    /// Rows to write, sorted (see [`sort_facts`]).
    Write { month: String, facts: Vec<Fact> },
    /// The previous version's file, hard-linked with its manifest entry, and its digests:
    /// hard-linked too, or written anew when given (the month was read back and found
    /// unchanged, so its digests were missing or stale).
    Reuse {
        from: PathBuf,
        entry: TableEntry,
        digests: Option<crate::digests::MonthDigests>,
    },
}

/// The exporter's private state beside a version (`export-state.bin`): the true rows of the
/// persons the k-anonymity guard generalised, sealed by the operational side with a key the
/// insight side does not have. Not a published table (not in the manifest's tables).
pub const STATE_FILE: &str = "export-state.bin";

/// Everything one version holds.
#[derive(Debug)]
pub struct Release<'a> {
    /// Sealed private state of the exporter (see [`STATE_FILE`]).
    pub state: &'a [u8],
    pub stamp: &'a str,
    pub mode: &'a str,
    pub started_at: i64,
    pub key_id: &'a str,
    pub persons: &'a [Person],
    pub structures: &'a [Structure],
    pub report: &'a KReport,
    pub months: Vec<MonthFacts>,
}

/// The file name of a month's facts: `facts/AAAA-MM.parquet` (anything that is not a month
/// goes to `facts/inconnu.parquet`).
pub fn month_file(month: &str) -> String {
    let b = month.as_bytes();
    let ok = b.len() == 7
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit());
    format!("facts/{}.parquet", if ok { month } else { "inconnu" })
}

/// Sorts facts in file order (pseudonym, then month, then the rest).
pub fn sort_facts(facts: &mut [Fact]) {
    facts.sort_unstable();
}

/// Splits facts, handed over in parts (one per structure), by month file, each sorted (the
/// months on one thread per core: sorting 11 M facts is most of this step).
///
/// Memory: each month's vector is allocated at its exact size (counted first), and each part is
/// freed as soon as its facts are moved out, so the peak is the facts once plus one part —
/// not twice every fact, as concatenating the parts and then splitting them cost.
pub fn by_month(parts: Vec<Vec<Fact>>) -> std::collections::BTreeMap<String, Vec<Fact>> {
    let mut sizes: std::collections::BTreeMap<String, usize> = Default::default();
    {
        let mut by_month: foldhash::HashMap<&str, usize> = Default::default();
        for f in parts.iter().flatten() {
            *by_month.entry(&*f.month).or_default() += 1;
        }
        // Malformed months share one file.
        for (month, n) in by_month {
            *sizes.entry(month_file(month)).or_default() += n;
        }
    }
    let mut m: std::collections::BTreeMap<String, Vec<Fact>> = sizes
        .into_iter()
        .map(|(file, n)| (file, Vec::with_capacity(n)))
        .collect();
    let mut files: foldhash::HashMap<Text, String> = Default::default();
    for part in parts {
        for f in part {
            let file = match files.get(&f.month) {
                Some(file) => file,
                None => files
                    .entry(f.month.clone())
                    .or_insert_with(|| month_file(&f.month)),
            };
            if let Some(v) = m.get_mut(file) {
                v.push(f);
            }
        }
    }
    let mut groups: Vec<&mut Vec<Fact>> = m.values_mut().collect();
    groups.sort_unstable_by_key(|v| std::cmp::Reverse(v.len()));
    let queue = std::sync::Mutex::new(groups.into_iter());
    let workers = std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
        .clamp(1, 4);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                // A poisoned queue only means another sorter panicked; the scope re-raises it.
                let next = match queue.lock() {
                    Ok(mut q) => q.next(),
                    Err(_) => None,
                };
                match next {
                    Some(v) => sort_facts(v),
                    None => break,
                }
            });
        }
    });
    m
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

fn strings<'a>(rows: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows))
}

fn write_batch(path: &Path, batch: &RecordBatch) -> Result<()> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let f = File::create(path)?;
    let mut w = ArrowWriter::try_new(f, batch.schema(), Some(props))?;
    w.write(batch)?;
    let f = w.into_inner()?;
    f.sync_all()?;
    Ok(())
}

/// A text column: its name and how to read it from a row.
type Column<T> = (&'static str, fn(&T) -> &str);

fn persons_batch(persons: &[Person]) -> Result<RecordBatch> {
    let cols: [Column<Person>; 10] = [
        ("pseudonyme", |p| &p.pseudonym),
        ("structure", |p| &p.structure),
        ("sexe", |p| &p.sexe),
        ("tranche_age", |p| &p.age_band),
        ("nationalite", |p| &p.nationality),
        ("departement", |p| &p.departement),
        ("region", |p| &p.region),
        ("qpv", |p| &p.qpv),
        ("zrr", |p| &p.zrr),
        ("niveau", |p| &p.niveau),
    ];
    let schema = Arc::new(Schema::new(
        cols.iter().map(|(n, _)| utf8(n)).collect::<Vec<_>>(),
    ));
    let arrays = cols
        .iter()
        .map(|(_, f)| strings(persons.iter().map(f)))
        .collect();
    Ok(RecordBatch::try_new(schema, arrays)?)
}

fn structures_batch(structures: &[Structure]) -> Result<RecordBatch> {
    let cols: [Column<Structure>; 4] = [
        ("code", |s| &s.code),
        ("nom", |s| &s.nom),
        ("departement", |s| &s.departement),
        ("region", |s| &s.region),
    ];
    let schema = Arc::new(Schema::new(
        cols.iter().map(|(n, _)| utf8(n)).collect::<Vec<_>>(),
    ));
    let arrays = cols
        .iter()
        .map(|(_, f)| strings(structures.iter().map(f)))
        .collect();
    Ok(RecordBatch::try_new(schema, arrays)?)
}

const FACT_TEXT: [&str; 7] = [
    "pseudonyme",
    "mois",
    "structure",
    "fait",
    "type",
    "detail",
    "tranche_age",
];

/// The schema of every month file of the facts (readers of an empty or partial warehouse
/// declare it rather than infer it).
pub fn facts_schema() -> Schema {
    let mut fields: Vec<Field> = FACT_TEXT.iter().map(|n| utf8(n)).collect();
    fields.push(Field::new("valeur", DataType::Int64, false));
    fields.push(Field::new("valeur2", DataType::Int64, false));
    Schema::new(fields)
}

fn facts_batch(facts: &[Fact]) -> Result<RecordBatch> {
    let text: [fn(&Fact) -> &str; 7] = [
        |f| &f.pseudonym,
        |f| &f.month,
        |f| &f.structure,
        |f| f.fact,
        |f| &f.kind,
        |f| &f.detail,
        |f| &f.age_band,
    ];
    let mut arrays: Vec<ArrayRef> = text.iter().map(|g| strings(facts.iter().map(g))).collect();
    arrays.push(Arc::new(Int64Array::from_iter_values(
        facts.iter().map(|f| f.value),
    )));
    arrays.push(Arc::new(Int64Array::from_iter_values(
        facts.iter().map(|f| f.value2),
    )));
    Ok(RecordBatch::try_new(Arc::new(facts_schema()), arrays)?)
}

fn sha256_file(path: &Path) -> Result<String> {
    Ok(hex::encode(Sha256::digest(fs::read(path)?)))
}

/// Writes a complete version of `persons` and `facts` (a full export) and switches
/// `out/current` to it. Returns the version directory.
pub fn publish(
    out: &Path,
    stamp: &str,
    persons: &[Person],
    facts: &[Fact],
    structures: &[Structure],
    report: &KReport,
) -> Result<PathBuf> {
    let months = by_month(vec![facts.to_vec()])
        .into_iter()
        .map(|(file, facts)| MonthFacts::Write { month: file, facts })
        .collect();
    publish_release(
        out,
        &Release {
            state: &[],
            stamp,
            mode: "complet",
            started_at: 0,
            key_id: "",
            persons,
            structures,
            report,
            months,
        },
    )
}

fn entry(dir: &Path, file: &str, rows: usize) -> Result<TableEntry> {
    Ok(TableEntry {
        file: file.to_string(),
        rows,
        sha256: sha256_file(&dir.join(file))?,
    })
}

/// Writes a version into a new directory of `out` and switches `out/current` to it. Returns
/// the version directory.
pub fn publish_release(out: &Path, r: &Release) -> Result<PathBuf> {
    fs::create_dir_all(out)?;
    let facts: usize = r
        .months
        .iter()
        .map(|m| match m {
            MonthFacts::Write { facts, .. } => facts.len(),
            MonthFacts::Reuse { entry, .. } => entry.rows,
        })
        .sum();
    let suffix: String = {
        let h = Sha256::digest(format!("{}{}{}", r.stamp, r.persons.len(), facts).as_bytes());
        hex::encode(&h[..3])
    };
    let name = format!("v-{}-{suffix}", r.stamp);
    let dir = out.join(&name);
    fs::create_dir_all(dir.join("facts"))?;
    fs::create_dir_all(dir.join(crate::digests::DIR))?;
    write_batch(&dir.join("persons.parquet"), &persons_batch(r.persons)?)?;
    if !r.state.is_empty() {
        let mut f = File::create(dir.join(STATE_FILE))?;
        f.write_all(r.state)?;
        f.sync_all()?;
    }
    write_batch(
        &dir.join("structures.parquet"),
        &structures_batch(r.structures)?,
    )?;
    let mut tables = vec![
        entry(&dir, "persons.parquet", r.persons.len())?,
        entry(&dir, "structures.parquet", r.structures.len())?,
    ];
    let mut reused = 0;
    let written = write_months(&dir, &r.months)?;
    for (m, w) in r.months.iter().zip(written) {
        match (m, w) {
            (MonthFacts::Write { .. }, Some(e)) => tables.push(e),
            (
                MonthFacts::Reuse {
                    from,
                    entry,
                    digests,
                },
                _,
            ) => {
                let to = dir.join(&entry.file);
                fs::hard_link(from, &to)?;
                if let (Some(a), Some(b)) = (
                    crate::digests::sidecar_of(from),
                    crate::digests::sidecar_of(&to),
                ) {
                    match digests {
                        Some(d) => d.write(&b, &entry.sha256)?,
                        None if a.exists() => fs::hard_link(a, b)?,
                        None => {}
                    }
                }
                tables.push(entry.clone());
                reused += 1;
            }
            (MonthFacts::Write { .. }, None) => {
                return Err(FileError::Invalid("mois non écrit".into()));
            }
        }
    }
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        exported_at: r.stamp.to_string(),
        mode: r.mode.to_string(),
        started_at: r.started_at,
        key_id: r.key_id.to_string(),
        reused_months: reused,
        k: r.report.k,
        k_report: serde_json::to_value(r.report)?,
        tables,
    };
    let mut f = File::create(dir.join("manifest.json"))?;
    f.write_all(serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    f.sync_all()?;
    File::open(dir.join("facts"))?.sync_all()?;
    File::open(dir.join(crate::digests::DIR))?.sync_all()?;
    File::open(&dir)?.sync_all()?;
    // Switch: a new link renamed over the old one (rename is atomic on POSIX file systems).
    let tmp = out.join(format!(".current-{suffix}"));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&name, &tmp)?;
    let previous = fs::read_link(out.join("current")).ok();
    fs::rename(&tmp, out.join("current"))?;
    File::open(out)?.sync_all()?;
    // Keep the new version and the one it replaced; remove older ones.
    for e in fs::read_dir(out)? {
        let e = e?;
        let n = e.file_name().to_string_lossy().to_string();
        let keep = n == name || previous.as_deref().is_some_and(|p| p == Path::new(&n));
        if n.starts_with("v-") && !keep {
            fs::remove_dir_all(e.path())?;
        }
    }
    Ok(dir)
}

/// Writes the month files to write (and their digests), several at once (encoding and compressing a month is
/// CPU-bound, and months are independent): one thread per core, each taking the next month.
/// Returns each month's manifest entry, in the order of `months` (`None` for months reused).
fn write_months(dir: &Path, months: &[MonthFacts]) -> Result<Vec<Option<TableEntry>>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let todo: Vec<(usize, &String, &Vec<Fact>)> = months
        .iter()
        .enumerate()
        .filter_map(|(i, m)| match m {
            MonthFacts::Write { month, facts } => Some((i, month, facts)),
            MonthFacts::Reuse { .. } => None,
        })
        .collect();
    let workers = std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
        .clamp(1, 4)
        .min(todo.len().max(1));
    let next = AtomicUsize::new(0);
    let work = || -> Result<Vec<(usize, TableEntry)>> {
        let mut mine = Vec::new();
        while let Some((i, month, facts)) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
            // `month` is already a file name when it comes from `by_month`.
            let file = if month.starts_with("facts/") {
                (*month).clone()
            } else {
                month_file(month)
            };
            let path = dir.join(&file);
            write_batch(&path, &facts_batch(facts)?)?;
            let e = entry(dir, &file, facts.len())?;
            if let Some(sidecar) = crate::digests::sidecar_of(&path) {
                crate::digests::MonthDigests::of_facts(facts).write(&sidecar, &e.sha256)?;
            }
            mine.push((*i, e));
        }
        Ok(mine)
    };
    let mut out: Vec<Option<TableEntry>> = vec![None; months.len()];
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
        for t in threads {
            let mine = t
                .join()
                .map_err(|_| FileError::Invalid("écriture d'un mois interrompue".into()))??;
            for (i, e) in mine {
                out[i] = Some(e);
            }
        }
        Ok::<_, FileError>(())
    })?;
    Ok(out)
}

/// Reads the manifest of the current version of a warehouse, without checking the files.
pub fn current_manifest(out: &Path) -> Result<(PathBuf, Manifest)> {
    let dir = fs::canonicalize(out.join("current"))?;
    let m: Manifest = serde_json::from_slice(&fs::read(dir.join("manifest.json"))?)?;
    Ok((dir, m))
}

/// Reads the manifest of the current version of a warehouse and checks every table's checksum.
pub fn open_current(out: &Path) -> Result<(PathBuf, Manifest)> {
    let dir = out.join("current");
    let m: Manifest = serde_json::from_slice(&fs::read(dir.join("manifest.json"))?)?;
    for t in &m.tables {
        if sha256_file(&dir.join(&t.file))? != t.sha256 {
            return Err(FileError::Io(std::io::Error::other(format!(
                "somme de contrôle différente pour {}",
                t.file
            ))));
        }
    }
    Ok((fs::canonicalize(dir)?, m))
}

/// Every value of every column of a Parquet file, as text (for the tests that scan a warehouse
/// for identities, and for operators inspecting a file).
pub fn read_all_values(path: &Path) -> Result<Vec<String>> {
    use arrow_array::Array;
    let f = File::open(path)?;
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)?.build()?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        for col in batch.columns() {
            if let Some(s) = col.as_any().downcast_ref::<StringArray>() {
                out.extend(s.iter().flatten().map(str::to_string));
            } else if let Some(i) = col.as_any().downcast_ref::<Int64Array>() {
                out.extend((0..i.len()).map(|n| i.value(n).to_string()));
            }
        }
    }
    Ok(out)
}

/// The rows of `persons.parquet`, as quasi-identifier tuples (for the independent k check).
pub fn read_rows(path: &Path) -> Result<Vec<Vec<String>>> {
    use arrow_array::Array;
    let f = File::open(path)?;
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)?.build()?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch?;
        let cols: Vec<Vec<String>> = batch
            .columns()
            .iter()
            .map(|c| match c.as_any().downcast_ref::<StringArray>() {
                Some(s) => s
                    .iter()
                    .map(|v| v.unwrap_or_default().to_string())
                    .collect(),
                None => match c.as_any().downcast_ref::<Int64Array>() {
                    Some(i) => (0..i.len()).map(|n| i.value(n).to_string()).collect(),
                    None => vec![String::new(); c.len()],
                },
            })
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(cols.iter().map(|c| c[r].clone()).collect());
        }
    }
    Ok(rows)
}

fn batches(
    path: &Path,
    only_first_column: bool,
) -> Result<impl Iterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>>> {
    let f = File::open(path)?;
    let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)?;
    let b = if only_first_column {
        let mask = parquet::arrow::ProjectionMask::leaves(b.parquet_schema(), [0]);
        b.with_projection(mask)
    } else {
        b
    };
    Ok(b.with_batch_size(65_536).build()?)
}

fn text_columns<const N: usize>(batch: &RecordBatch) -> Result<[&StringArray; N]> {
    let mut out = Vec::with_capacity(N);
    for i in 0..N {
        out.push(
            batch
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| bad("colonne texte attendue"))?,
        );
    }
    out.try_into().map_err(|_| bad("colonnes"))
}

fn bad(what: &str) -> FileError {
    FileError::Io(std::io::Error::other(format!(
        "entrepôt illisible : {what}"
    )))
}

/// The persons of a version's `persons.parquet` (the incremental export starts from them).
pub fn read_persons(path: &Path) -> Result<Vec<Person>> {
    let mut out = Vec::new();
    for batch in batches(path, false)? {
        let batch = batch?;
        let c: [&StringArray; 10] = text_columns(&batch)?;
        for r in 0..batch.num_rows() {
            let v = |i: usize| c[i].value(r).to_string();
            out.push(Person {
                pseudonym: v(0),
                structure: v(1),
                sexe: v(2),
                age_band: v(3),
                nationality: v(4),
                departement: v(5),
                region: v(6),
                qpv: v(7),
                zrr: v(8),
                niveau: v(9),
            });
        }
    }
    Ok(out)
}

/// The facts of one month file, in file order.
pub fn read_facts(path: &Path) -> Result<Vec<Fact>> {
    use arrow_array::Array;
    let mut out: Vec<Fact> = Vec::new();
    let mut codes = crate::Interner::default();
    for batch in batches(path, false)? {
        let batch = batch?;
        let c: [&StringArray; 7] = text_columns(&batch)?;
        let int = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| bad("colonne entière attendue"))
        };
        let (v1, v2) = (int(7)?, int(8)?);
        for r in 0..batch.num_rows() {
            let fact = fact_family(c[3].value(r))?;
            // Rows come sorted by pseudonym: a person's rows share the previous row's.
            let p = c[0].value(r);
            let pseudonym = match out.last() {
                Some(prev) if &*prev.pseudonym == p => prev.pseudonym.clone(),
                _ => Text::from(p),
            };
            out.push(Fact {
                pseudonym,
                month: codes.get(c[1].value(r)),
                structure: codes.get(c[2].value(r)),
                fact,
                kind: codes.get(c[4].value(r)),
                detail: codes.get(c[5].value(r)),
                age_band: codes.get(c[6].value(r)),
                value: v1.value(r),
                value2: v2.value(r),
            });
        }
        debug_assert!(v1.len() == batch.num_rows());
    }
    Ok(out)
}

fn fact_family(name: &str) -> Result<&'static str> {
    crate::fact::parse(name).ok_or_else(|| bad("famille de faits inconnue"))
}

/// Whether any row of a month file belongs to one of `pseudonyms` (reads that column only).
pub fn mentions_any(path: &Path, pseudonyms: &foldhash::HashSet<String>) -> Result<bool> {
    for batch in batches(path, true)? {
        let batch = batch?;
        let [c]: [&StringArray; 1] = text_columns(&batch)?;
        if c.iter().flatten().any(|p| pseudonyms.contains(p)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Every fact row of a version directory, all months (for tests and operators).
pub fn read_fact_rows(dir: &Path) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    for file in fact_files(dir)? {
        rows.extend(read_rows(&file)?);
    }
    Ok(rows)
}

/// The month files of a version directory, in month order.
pub fn fact_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir.join("facts"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "parquet"));
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::{by_month, month_file, sort_facts};
    use crate::Fact;

    #[test]
    fn by_month_groups_by_file_and_sorts_like_the_reference() {
        let months = ["2026-01", "2026-02", "2025-12", "bad", "2026-1", "2026-03"];
        let facts: Vec<Fact> = (0..5_000_u32)
            .map(|i| {
                let r = i.wrapping_mul(2_654_435_761);
                Fact {
                    pseudonym: format!("{:08x}", r % 701).into(),
                    month: months[(r % 6) as usize].into(),
                    structure: "ML".into(),
                    fact: crate::fact::EVENT,
                    kind: format!("k{}", r % 3).into(),
                    detail: "".into(),
                    age_band: "18-21".into(),
                    value: i64::from(r % 11),
                    value2: 0,
                }
            })
            .collect();
        let mut reference: std::collections::BTreeMap<String, Vec<Fact>> = Default::default();
        for f in &facts {
            reference
                .entry(month_file(&f.month))
                .or_default()
                .push(f.clone());
        }
        for v in reference.values_mut() {
            sort_facts(v);
        }
        // In uneven parts, one of them empty, as structures hand them over.
        let (a, b) = facts.split_at(1_234);
        let got = by_month(vec![a.to_vec(), Vec::new(), b.to_vec()]);
        assert_eq!(
            got.len(),
            5,
            "two malformed months share facts/inconnu.parquet"
        );
        assert!(got.contains_key("facts/inconnu.parquet"));
        assert_eq!(got, reference);
    }
}
