//! Helpers for tests on both backends (used by the store's conformance suite and the CLI's
//! end-to-end tests). Each test gets its own SQLite file or its own PostgreSQL schema.

use crate::{Result, Store};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name unique to this process and call.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Says that a test, or part of one, did not run because `env` (`postgres`, `browser`, `smtp`,
/// `xsd`) is not available here. Where it is required — `PARCOURS_TEST_REQUIRED` lists it
/// (comma-separated; CI requires them all) — the test fails instead. Otherwise it prints
/// `SKIP` on stderr and appends a line to the file `PARCOURS_TEST_SKIPS` names, which CI
/// prints at the end: a skipped test never passes silently.
pub fn skip(env: &str, what: &str) {
    let required = std::env::var("PARCOURS_TEST_REQUIRED")
        .unwrap_or_default()
        .split(',')
        .any(|r| r.trim() == env || r.trim() == "all");
    if required {
        panic!("{what}: not run, but PARCOURS_TEST_REQUIRED requires {env} here");
    }
    eprintln!("SKIP ({env}): {what}");
    if let Ok(path) = std::env::var("PARCOURS_TEST_SKIPS") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "SKIP ({env}): {what}");
        }
    }
}

/// The PostgreSQL server for tests, from `PARCOURS_TEST_POSTGRES_URL` (CI sets it); without it
/// the PostgreSQL half of a test is skipped ([`skip`]).
pub fn postgres_base_url() -> Option<String> {
    std::env::var("PARCOURS_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Creates a fresh schema and returns (URL selecting it, schema name).
pub async fn postgres_schema(base: &str) -> Result<(String, String)> {
    let schema = unique_name("t");
    let store = Store::connect(base).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(store.pool())
        .await?;
    store.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok((
        format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        schema,
    ))
}
