//! Reading a published version back: the manifest, persons, facts, and the checks the
//! incremental export and the tests need.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use arrow_array::{Int64Array, RecordBatch, StringArray};

use crate::{Fact, Person, Text};

use super::*;

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

pub(crate) fn batches(
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

pub(crate) fn text_columns<const N: usize>(batch: &RecordBatch) -> Result<[&StringArray; N]> {
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

pub(crate) fn bad(what: &str) -> FileError {
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

pub(crate) fn fact_family(name: &str) -> Result<&'static str> {
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
