//! Writing the Parquet files of a version: persons, structures, facts (one file per month).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::{Fact, Person, Structure};

use super::*;

pub(crate) fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

pub(crate) fn strings<'a>(rows: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows))
}

pub(crate) fn write_batch(path: &Path, batch: &RecordBatch) -> Result<()> {
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

pub(crate) fn persons_batch(persons: &[Person]) -> Result<RecordBatch> {
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

pub(crate) fn structures_batch(structures: &[Structure]) -> Result<RecordBatch> {
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

pub(crate) const FACT_TEXT: [&str; 7] = [
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

pub(crate) fn facts_batch(facts: &[Fact]) -> Result<RecordBatch> {
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
