//! Every row of every table, read and written generically: what a backup carries
//! (`parcours_app::backup`). Tables are listed in creation order (foreign keys are satisfied
//! when they are restored in this order); a table of the schema missing from [`TABLES`] is an
//! error, so a migration that adds one cannot be silently left out of backups.

use crate::{Backend, Conn, Result, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyTypeInfoKind;
use sqlx::{Column, Row, ValueRef};

/// The tables of the schema, in creation order.
pub const TABLES: &[&str] = &[
    "meta",
    "keyring",
    "structures",
    "accounts",
    "sessions",
    "login_throttle",
    "jeunes",
    "blind_index",
    "audit",
    "audit_head",
    "audit_checkpoints",
    "audit_subjects",
    "situations",
    "legal_reps",
    "events",
    "programmes",
    "cej_weeks",
    "allowances",
    "allowance_history",
    "bank_accounts",
    "companies",
    "company_contacts",
    "offers",
    "immersions",
    "workshops",
    "workshop_registrations",
    "quota_reads",
    "quota_settings",
    "break_glass",
    "probes",
    "searches",
    "alerts",
    "canary_tags",
    "referent_history",
    "batch_downloads",
    "requests",
    "enrolment_links",
    "nirs",
    "passkeys",
    "audit_subject_sets",
];

/// One value, typed as the database gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum Cell {
    #[serde(rename = "n")]
    Null,
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "f")]
    Real(f64),
    #[serde(rename = "s")]
    Text(String),
    #[serde(rename = "b")]
    Blob(#[serde(with = "hex_bytes")] Vec<u8>),
    #[serde(rename = "o")]
    Bool(bool),
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

/// The tables of the connected schema (without the migrations' bookkeeping).
pub async fn table_names(conn: &mut Conn, backend: Backend) -> Result<Vec<String>> {
    let q = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_migrations'"
        }
        Backend::Postgres => {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename <> '_migrations'"
        }
    };
    let mut v: Vec<String> = sqlx::query_scalar(q).fetch_all(&mut *conn).await?;
    v.sort();
    Ok(v)
}

/// Checks that [`TABLES`] names every table of the schema.
pub async fn check_tables(conn: &mut Conn, backend: Backend) -> Result<()> {
    for t in table_names(conn, backend).await? {
        if !TABLES.contains(&t.as_str()) {
            return Err(StoreError::Db(format!(
                "table « {t} » inconnue de la sauvegarde (ajoutez-la à store::dump::TABLES)"
            )));
        }
    }
    Ok(())
}

fn cell(row: &sqlx::any::AnyRow, i: usize) -> Result<Cell> {
    if row.try_get_raw(i)?.is_null() {
        return Ok(Cell::Null);
    }
    Ok(match row.column(i).type_info().kind() {
        AnyTypeInfoKind::Null => Cell::Null,
        AnyTypeInfoKind::Bool => Cell::Bool(row.try_get(i)?),
        AnyTypeInfoKind::SmallInt => Cell::Int(i64::from(row.try_get::<i16, _>(i)?)),
        AnyTypeInfoKind::Integer => Cell::Int(i64::from(row.try_get::<i32, _>(i)?)),
        AnyTypeInfoKind::BigInt => Cell::Int(row.try_get(i)?),
        AnyTypeInfoKind::Real => Cell::Real(f64::from(row.try_get::<f32, _>(i)?)),
        AnyTypeInfoKind::Double => Cell::Real(row.try_get(i)?),
        AnyTypeInfoKind::Text => Cell::Text(row.try_get(i)?),
        AnyTypeInfoKind::Blob => Cell::Blob(row.try_get(i)?),
    })
}

/// Every row of `table`: its column names and values.
pub async fn read_table(conn: &mut Conn, table: &str) -> Result<(Vec<String>, Vec<Vec<Cell>>)> {
    if !TABLES.contains(&table) {
        return Err(StoreError::Db(format!("table inconnue : {table}")));
    }
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
        .fetch_all(&mut *conn)
        .await?;
    let cols: Vec<String> = rows
        .first()
        .map(|r| r.columns().iter().map(|c| c.name().to_string()).collect())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(
            (0..cols.len())
                .map(|i| cell(r, i))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    Ok((cols, out))
}

/// Inserts one row (its NULL columns left to their default, so no NULL has to be typed).
pub async fn insert_row(conn: &mut Conn, table: &str, cols: &[String], row: &[Cell]) -> Result<()> {
    if !TABLES.contains(&table) {
        return Err(StoreError::Db(format!("table inconnue : {table}")));
    }
    let present: Vec<(&String, &Cell)> = cols
        .iter()
        .zip(row)
        .filter(|(c, v)| {
            !matches!(v, Cell::Null) && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        })
        .collect();
    let names: Vec<&str> = present.iter().map(|(c, _)| c.as_str()).collect();
    let params: Vec<String> = (1..=present.len()).map(|i| format!("${i}")).collect();
    let q = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        params.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
    for (_, v) in &present {
        query = match v {
            Cell::Null => query,
            Cell::Int(i) => query.bind(*i),
            Cell::Real(f) => query.bind(*f),
            Cell::Text(s) => query.bind(s.clone()),
            Cell::Blob(b) => query.bind(b.clone()),
            Cell::Bool(b) => query.bind(*b),
        };
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// After rows were inserted with their ids: PostgreSQL's sequences continue after them.
pub async fn reset_sequences(conn: &mut Conn, backend: Backend) -> Result<()> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    for (table, col) in [("structures", "id"), ("accounts", "id"), ("audit", "seq")] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{col}'), COALESCE((SELECT MAX({col}) FROM {table}), 0) + 1, false)"
        )))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The schema's version: the last migration applied.
pub async fn schema_version(conn: &mut Conn) -> Result<i64> {
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _migrations")
        .fetch_one(&mut *conn)
        .await?;
    Ok(v.unwrap_or(0))
}

/// Makes the current PostgreSQL transaction one snapshot (its first statement).
pub async fn snapshot(conn: &mut Conn, backend: Backend) -> Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Empties a table (a fresh schema's seeded rows, before a restore writes its own).
pub async fn clear_table(conn: &mut Conn, table: &str) -> Result<()> {
    if !TABLES.contains(&table) {
        return Err(StoreError::Db(format!("table inconnue : {table}")));
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every dossier's wrapped key (`None`: erased).
pub async fn wrapped_keys(conn: &mut Conn) -> Result<Vec<(String, Option<Vec<u8>>)>> {
    Ok(sqlx::query_as("SELECT id, wrapped_key FROM jeunes")
        .fetch_all(&mut *conn)
        .await?)
}
