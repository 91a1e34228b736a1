//! The files of the warehouse: `write` (Parquet batches), `publish` (a version written in
//! full, then switched atomically; the manifest), `read` (a published version back).
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

mod publish;
mod read;
mod write;

pub use publish::*;
pub use read::*;
pub use write::*;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::kanon::KReport;
use crate::{Fact, Person, Structure, Text};

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
