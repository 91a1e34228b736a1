//! Structures (Missions Locales).

use crate::{Conn, Result, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructureRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub departement: String,
    pub region: String,
}

fn from_row(r: &AnyRow) -> Result<StructureRow> {
    Ok(StructureRow {
        id: r.try_get(0)?,
        code: r.try_get(1)?,
        name: r.try_get(2)?,
        departement: r.try_get(3)?,
        region: r.try_get(4)?,
    })
}

const COLS: &str = "id, code, name, departement, region";

pub async fn insert(
    conn: &mut Conn,
    code: &str,
    name: &str,
    departement: &str,
    region: &str,
    now: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO structures (code, name, departement, region, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(departement)
    .bind(region)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("code de structure"),
        o => o,
    })?;
    Ok(row.try_get(0)?)
}

pub async fn by_code(conn: &mut Conn, code: &str) -> Result<Option<StructureRow>> {
    let q = format!("SELECT {COLS} FROM structures WHERE code = $1");
    match sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?
    {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

pub async fn by_id(conn: &mut Conn, id: i64) -> Result<Option<StructureRow>> {
    let q = format!("SELECT {COLS} FROM structures WHERE id = $1");
    match sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

pub async fn list(conn: &mut Conn) -> Result<Vec<StructureRow>> {
    let q = format!("SELECT {COLS} FROM structures ORDER BY region, departement, code");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Number of dossiers per structure id.
pub async fn counts(conn: &mut Conn) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query("SELECT structure_id, COUNT(*) FROM jeunes GROUP BY structure_id")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}
