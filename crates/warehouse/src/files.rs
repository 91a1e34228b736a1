//! Writing a warehouse version and publishing it atomically.
//!
//! Layout of the output directory:
//! ```text
//! OUT/current -> v-20261123T020000Z-3f2a   (symbolic link, replaced atomically)
//! OUT/v-…/persons.parquet                  one row per person (pseudonym + quasi-identifiers)
//! OUT/v-…/facts.parquet                    one row per fact (pseudonym, month, codes, values)
//! OUT/v-…/structures.parquet               the Missions Locales (code, name, département, région)
//! OUT/v-…/manifest.json                    schema version, export time, k report, rows, SHA-256
//! ```
//! A version is written in full in its own directory, fsynced, then `current` is switched by
//! renaming a new link over it: a crash at any point leaves `current` on a complete version.
//! Older versions but the previous one are removed after the switch.

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
use crate::{Fact, Person, Structure, SCHEMA_VERSION};

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
    pub k: usize,
    pub k_report: serde_json::Value,
    pub tables: Vec<TableEntry>,
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

fn facts_batch(facts: &[Fact]) -> Result<RecordBatch> {
    let text: [Column<Fact>; 7] = [
        ("pseudonyme", |f| &f.pseudonym),
        ("mois", |f| &f.month),
        ("structure", |f| &f.structure),
        ("fait", |f| f.fact),
        ("type", |f| &f.kind),
        ("detail", |f| &f.detail),
        ("tranche_age", |f| &f.age_band),
    ];
    let mut fields: Vec<Field> = text.iter().map(|(n, _)| utf8(n)).collect();
    fields.push(Field::new("valeur", DataType::Int64, false));
    fields.push(Field::new("valeur2", DataType::Int64, false));
    let mut arrays: Vec<ArrayRef> = text
        .iter()
        .map(|(_, g)| strings(facts.iter().map(g)))
        .collect();
    arrays.push(Arc::new(Int64Array::from_iter_values(
        facts.iter().map(|f| f.value),
    )));
    arrays.push(Arc::new(Int64Array::from_iter_values(
        facts.iter().map(|f| f.value2),
    )));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

fn sha256_file(path: &Path) -> Result<String> {
    Ok(hex::encode(Sha256::digest(fs::read(path)?)))
}

/// Writes a complete version into a new directory of `out` and switches `out/current` to it.
/// Returns the version directory.
pub fn publish(
    out: &Path,
    stamp: &str,
    persons: &[Person],
    facts: &[Fact],
    structures: &[Structure],
    report: &KReport,
) -> Result<PathBuf> {
    fs::create_dir_all(out)?;
    let suffix: String = {
        let h = Sha256::digest(format!("{stamp}{}{}", persons.len(), facts.len()).as_bytes());
        hex::encode(&h[..3])
    };
    let name = format!("v-{stamp}-{suffix}");
    let dir = out.join(&name);
    fs::create_dir_all(&dir)?;
    write_batch(&dir.join("persons.parquet"), &persons_batch(persons)?)?;
    write_batch(&dir.join("facts.parquet"), &facts_batch(facts)?)?;
    write_batch(
        &dir.join("structures.parquet"),
        &structures_batch(structures)?,
    )?;
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        exported_at: stamp.to_string(),
        k: report.k,
        k_report: serde_json::to_value(report)?,
        tables: vec![
            TableEntry {
                file: "persons.parquet".into(),
                rows: persons.len(),
                sha256: sha256_file(&dir.join("persons.parquet"))?,
            },
            TableEntry {
                file: "facts.parquet".into(),
                rows: facts.len(),
                sha256: sha256_file(&dir.join("facts.parquet"))?,
            },
            TableEntry {
                file: "structures.parquet".into(),
                rows: structures.len(),
                sha256: sha256_file(&dir.join("structures.parquet"))?,
            },
        ],
    };
    let mut f = File::create(dir.join("manifest.json"))?;
    f.write_all(serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    f.sync_all()?;
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
