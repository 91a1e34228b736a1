//! Publishing a version: written in full in its own directory, fsynced, then `current`
//! switched atomically; the manifest with every file's SHA-256.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::kanon::KReport;
use crate::{Fact, Person, Structure, SCHEMA_VERSION};

use super::*;

pub(crate) fn sha256_file(path: &Path) -> Result<String> {
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

pub(crate) fn entry(dir: &Path, file: &str, rows: usize) -> Result<TableEntry> {
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
pub(crate) fn write_months(dir: &Path, months: &[MonthFacts]) -> Result<Vec<Option<TableEntry>>> {
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
