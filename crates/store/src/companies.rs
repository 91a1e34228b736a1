//! Partner companies (legal persons, in clear), their contacts (natural persons: encrypted with
//! their own data key), offers, and PMSMP immersions of jeunes.

use crate::{Conn, Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CompanyRow {
    pub id: String,
    pub structure_id: i64,
    pub siret: String,
    pub name: String,
    pub naf: Option<String>,
    pub address: Option<String>,
    pub created_at: i64,
}

pub async fn insert(conn: &mut Conn, r: &CompanyRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO companies (id, structure_id, siret, name, naf, address, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.id)
    .bind(r.structure_id)
    .bind(&r.siret)
    .bind(&r.name)
    .bind(&r.naf)
    .bind(&r.address)
    .bind(r.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<CompanyRow>> {
    Ok(sqlx::query_as::<_, CompanyRow>(
        "SELECT id, structure_id, siret, name, naf, address, created_at FROM companies WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn list(conn: &mut Conn, structure_id: i64) -> Result<Vec<CompanyRow>> {
    Ok(sqlx::query_as::<_, CompanyRow>(
        "SELECT id, structure_id, siret, name, naf, address, created_at FROM companies \
         WHERE structure_id = $1 ORDER BY name, id",
    )
    .bind(structure_id)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactRow {
    pub id: String,
    pub company_id: String,
    pub structure_id: i64,
    pub created_at: i64,
    pub wrapped_key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

pub async fn insert_contact(conn: &mut Conn, r: &ContactRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO company_contacts (id, company_id, structure_id, created_at, wrapped_key, payload) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&r.id)
    .bind(&r.company_id)
    .bind(r.structure_id)
    .bind(r.created_at)
    .bind(&r.wrapped_key)
    .bind(&r.payload)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn contacts(conn: &mut Conn, company_id: &str) -> Result<Vec<ContactRow>> {
    Ok(sqlx::query_as::<_, ContactRow>(
        "SELECT id, company_id, structure_id, created_at, wrapped_key, payload FROM company_contacts \
         WHERE company_id = $1 ORDER BY created_at, id",
    )
    .bind(company_id)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferRow {
    pub id: String,
    pub company_id: String,
    pub structure_id: i64,
    pub title: String,
    pub rome: Option<String>,
    pub contract: Option<String>,
    pub open: i64,
    pub created_at: i64,
}

pub async fn insert_offer(conn: &mut Conn, r: &OfferRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO offers (id, company_id, structure_id, title, rome, contract, open, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&r.id)
    .bind(&r.company_id)
    .bind(r.structure_id)
    .bind(&r.title)
    .bind(&r.rome)
    .bind(&r.contract)
    .bind(r.open)
    .bind(r.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn offers(conn: &mut Conn, company_id: &str) -> Result<Vec<OfferRow>> {
    Ok(sqlx::query_as::<_, OfferRow>(
        "SELECT id, company_id, structure_id, title, rome, contract, open, created_at FROM offers \
         WHERE company_id = $1 ORDER BY created_at DESC, id",
    )
    .bind(company_id)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImmersionRow {
    pub id: String,
    pub jeune_id: String,
    pub structure_id: i64,
    pub company_id: String,
    pub start_date: String,
    pub end_date: String,
    pub status: String,
    pub rome: Option<String>,
    pub created_at: i64,
    pub version: i64,
    pub payload: Vec<u8>,
}

const ICOLS: &str = "id, jeune_id, structure_id, company_id, start_date, end_date, status, rome, created_at, version, payload";

pub async fn insert_immersion(conn: &mut Conn, r: &ImmersionRow) -> Result<()> {
    let q = format!(
        "INSERT INTO immersions ({ICOLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(&r.id)
        .bind(&r.jeune_id)
        .bind(r.structure_id)
        .bind(&r.company_id)
        .bind(&r.start_date)
        .bind(&r.end_date)
        .bind(&r.status)
        .bind(&r.rome)
        .bind(r.created_at)
        .bind(r.version)
        .bind(&r.payload)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_immersion_status(
    conn: &mut Conn,
    id: &str,
    status: &str,
    version: i64,
) -> Result<()> {
    let res = sqlx::query(
        "UPDATE immersions SET status = $2, version = $3 WHERE id = $1 AND version = $3 - 1",
    )
    .bind(id)
    .bind(status)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    if res.rows_affected() != 1 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

pub async fn immersion(conn: &mut Conn, id: &str) -> Result<Option<ImmersionRow>> {
    let q = format!("SELECT {ICOLS} FROM immersions WHERE id = $1");
    Ok(sqlx::query_as::<_, ImmersionRow>(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn immersions_for_jeune(conn: &mut Conn, jeune_id: &str) -> Result<Vec<ImmersionRow>> {
    let q =
        format!("SELECT {ICOLS} FROM immersions WHERE jeune_id = $1 ORDER BY start_date DESC, id");
    Ok(sqlx::query_as::<_, ImmersionRow>(sqlx::AssertSqlSafe(q))
        .bind(jeune_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// A company's immersions of one structure's dossiers (a dossier transferred elsewhere takes its
/// immersions with it: they are no longer this structure's to see).
pub async fn immersions_for_company(
    conn: &mut Conn,
    company_id: &str,
    structure_id: i64,
) -> Result<Vec<ImmersionRow>> {
    let q = format!(
        "SELECT {ICOLS} FROM immersions WHERE company_id = $1 AND structure_id = $2 \
         ORDER BY start_date DESC, id"
    );
    Ok(sqlx::query_as::<_, ImmersionRow>(sqlx::AssertSqlSafe(q))
        .bind(company_id)
        .bind(structure_id)
        .fetch_all(&mut *conn)
        .await?)
}
