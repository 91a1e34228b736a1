//! The one door past the use cases, for the benchmarks and the tests, compiled only with the
//! `internals` feature (off by default: `parcours-web` and `cargo doc` never see it).
//!
//! The benchmarks time the parts of a use case (the encrypted query alone, the decryption of a
//! row, an audit append) against a plaintext reference; the tests play the attacker who has the
//! database and the keys, and check what the keys protect. Nothing that serves a user goes
//! through here: every request goes through the [`App`] methods, which authorise and audit.

use parcours_store::{Conn, Store};

use crate::audit::Event;
use crate::jeunes::{Dossier, SearchQuery, Summary};
use crate::{App, Ctx, Keys, Result};

/// See the module's documentation.
pub struct Internals<'a> {
    app: &'a App,
}

impl App {
    /// The parts behind the use cases, for benchmarks and tests only.
    pub fn internals(&self) -> Internals<'_> {
        Internals { app: self }
    }
}

impl<'a> Internals<'a> {
    /// The store (connections, raw SQL: the attacker's and the benchmark's view).
    pub fn store(&self) -> &'a Store {
        &self.app.store
    }

    /// The unlocked keys.
    pub fn keys(&self) -> &'a Keys {
        &self.app.keys
    }

    /// Decrypts one stored row, without authorisation or audit.
    pub fn decrypt_row(&self, row: &parcours_store::jeunes::JeuneRow) -> Result<Dossier> {
        self.app.decrypt_row(row)
    }

    /// The search query alone (blind index and decryption of the hits), without
    /// authorisation, counting or audit.
    pub async fn search_in(
        &self,
        conn: &mut Conn,
        structure: i64,
        q: &SearchQuery,
    ) -> Result<Vec<Summary>> {
        self.app.search_in(conn, structure, q).await
    }

    /// One audit append on the caller's transaction.
    pub async fn audit(&self, conn: &mut Conn, ctx: &Ctx, ev: Event<'_>) -> Result<i64> {
        self.app.audit(conn, ctx, ev).await
    }

    /// The canary dossiers of a structure (the vigilance tests' ground truth).
    pub async fn canary_ids(&self, conn: &mut Conn, structure_id: i64) -> Result<Vec<String>> {
        self.app.canary_ids(conn, structure_id).await
    }
}
