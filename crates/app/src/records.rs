//! What every record attached to a dossier shares: it is authorised through its dossier (a
//! record of another structure answers like a missing one, and the refusal is audited), and its
//! free text is sealed with the dossier's data key, bound to table, column and row id — so
//! erasing the person's key erases its notes, legal representatives and tutors too.

use parcours_store::{jeunes as q, Conn};
use parcours_vault::DataKey;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::audit::{Event, REFUSED};
use crate::{App, AppError, Ctx, Result};

/// Seals a value (as JSON) for one column of one row.
pub(crate) fn seal<T: Serialize>(
    dek: &DataKey,
    table: &str,
    column: &str,
    id: &str,
    v: &T,
) -> Result<Vec<u8>> {
    let json = serde_json::to_string(v).map_err(AppError::internal)?;
    Ok(dek.encrypt_field(table, column, id, &json))
}

/// Opens a value sealed by [`seal`]; a ciphertext moved from elsewhere fails.
pub(crate) fn open<T: DeserializeOwned>(
    dek: &DataKey,
    table: &str,
    column: &str,
    id: &str,
    ct: &[u8],
) -> Result<T> {
    let json = dek
        .decrypt_field(table, column, id, ct)
        .map_err(|e| AppError::Internal(format!("{e} ({table}.{column} {id})")))?;
    serde_json::from_str(&json).map_err(AppError::internal)
}

/// A date as stored (`AAAA-MM-JJ`, sortable as text on both backends).
pub(crate) fn ymd(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A stored date back (an unreadable one is an internal error: the store holds only `ymd`).
pub(crate) fn date_of(s: &str) -> Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(AppError::internal)
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl App {
    /// The data key of a dossier, for its attached records.
    pub(crate) async fn dossier_key(&self, conn: &mut Conn, jeune_id: &str) -> Result<DataKey> {
        let w = q::wrapped_key(conn, jeune_id).await?;
        self.data_key(jeune_id, w.as_deref())
    }

    /// Authorises access to a record through the dossier it belongs to (`None`: the record does
    /// not exist). Answers NotFound for a missing record or another structure's, and audits it.
    pub(crate) async fn authorise_record(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        action: &str,
        jeune_id: Option<&str>,
    ) -> Result<i64> {
        match jeune_id {
            Some(j) => self.authorise_dossier(conn, ctx, j, action).await,
            None => {
                self.identity_scope(ctx, action).await?;
                self.audit_refusal(
                    ctx,
                    Event {
                        action,
                        subject: None,
                        fields: "inexistant",
                        outcome: REFUSED,
                        structure_id: None,
                    },
                );
                Err(AppError::NotFound)
            }
        }
    }
}
