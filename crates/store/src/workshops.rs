//! Collective sessions (ateliers, informations collectives) with seats and registrations.

use crate::{Conn, Result};
use sqlx::Row;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkshopRow {
    pub id: String,
    pub structure_id: i64,
    pub title: String,
    pub theme: String,
    pub on_date: String,
    pub at_time: Option<String>,
    pub seats: i64,
    pub created_at: i64,
}

pub async fn insert(conn: &mut Conn, r: &WorkshopRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO workshops (id, structure_id, title, theme, on_date, at_time, seats, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&r.id)
    .bind(r.structure_id)
    .bind(&r.title)
    .bind(&r.theme)
    .bind(&r.on_date)
    .bind(&r.at_time)
    .bind(r.seats)
    .bind(r.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<WorkshopRow>> {
    Ok(sqlx::query_as::<_, WorkshopRow>(
        "SELECT id, structure_id, title, theme, on_date, at_time, seats, created_at FROM workshops WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Sessions of a structure from a date on.
pub async fn upcoming(conn: &mut Conn, structure_id: i64, from: &str) -> Result<Vec<WorkshopRow>> {
    Ok(sqlx::query_as::<_, WorkshopRow>(
        "SELECT id, structure_id, title, theme, on_date, at_time, seats, created_at FROM workshops \
         WHERE structure_id = $1 AND on_date >= $2 ORDER BY on_date, at_time, id",
    )
    .bind(structure_id)
    .bind(from)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegistrationRow {
    pub workshop_id: String,
    pub jeune_id: String,
    pub structure_id: i64,
    pub status: String,
    pub updated_at: i64,
}

pub async fn upsert_registration(conn: &mut Conn, r: &RegistrationRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO workshop_registrations (workshop_id, jeune_id, structure_id, status, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workshop_id, jeune_id) DO UPDATE SET \
         status = excluded.status, updated_at = excluded.updated_at",
    )
    .bind(&r.workshop_id)
    .bind(&r.jeune_id)
    .bind(r.structure_id)
    .bind(&r.status)
    .bind(r.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn registrations(conn: &mut Conn, workshop_id: &str) -> Result<Vec<RegistrationRow>> {
    Ok(sqlx::query_as::<_, RegistrationRow>(
        "SELECT workshop_id, jeune_id, structure_id, status, updated_at FROM workshop_registrations \
         WHERE workshop_id = $1 ORDER BY updated_at, jeune_id",
    )
    .bind(workshop_id)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn registrations_of_jeune(
    conn: &mut Conn,
    jeune_id: &str,
) -> Result<Vec<RegistrationRow>> {
    Ok(sqlx::query_as::<_, RegistrationRow>(
        "SELECT workshop_id, jeune_id, structure_id, status, updated_at FROM workshop_registrations \
         WHERE jeune_id = $1 ORDER BY updated_at DESC",
    )
    .bind(jeune_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Seats taken: registrations that hold a seat (not refused).
pub async fn seats_taken(conn: &mut Conn, workshop_id: &str) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM workshop_registrations WHERE workshop_id = $1 \
         AND status IN ('inscrit', 'present', 'absent')",
    )
    .bind(workshop_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

/// Registrations of a structure with their session's theme and date (warehouse export).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegistrationFact {
    pub jeune_id: String,
    pub status: String,
    pub theme: String,
    pub on_date: String,
}

/// With `scoped`, only the dossiers of [`crate::export_scope`].
pub async fn registration_facts(
    conn: &mut Conn,
    structure_id: i64,
    scoped: bool,
) -> Result<Vec<RegistrationFact>> {
    let q = format!(
        "SELECT r.jeune_id, r.status, w.theme, w.on_date FROM workshop_registrations r \
         JOIN workshops w ON w.id = r.workshop_id WHERE {} = $1{} ORDER BY r.jeune_id",
        crate::export_scope::structure(scoped, "r.structure_id"),
        crate::export_scope::filter(scoped, "r.jeune_id")
    );
    Ok(
        sqlx::query_as::<_, RegistrationFact>(sqlx::AssertSqlSafe(q))
            .bind(structure_id)
            .fetch_all(&mut *conn)
            .await?,
    )
}
