//! `parcours import jeunes`: a CSV lands whole or not at all.
//!
//! The file is read and validated by [`parcours_domain::import::parse`] (pure, fuzzed: see
//! `fuzz/`); every bad line is reported and then nothing is stored.

use crate::Rule;
pub use parcours_domain::import::{parse, LineError, ParsedLine};
use serde::Serialize;

use crate::{App, AppError, Ctx, Result};

#[derive(Debug, Clone, Serialize)]
pub struct LineWarning {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub enum ImportOutcome {
    /// Everything stored: count and warnings (ages, probable duplicates).
    Imported {
        count: usize,
        warnings: Vec<LineWarning>,
    },
    /// Nothing stored.
    Rejected { errors: Vec<LineError> },
}

impl App {
    /// Imports a CSV into a structure, in one transaction. `progress(done, total)` is called
    /// every 1,000 lines.
    pub async fn import_jeunes(
        &self,
        ctx: &Ctx,
        structure_code: &str,
        bytes: &[u8],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<ImportOutcome> {
        let structure = self
            .structure_by_code(structure_code)
            .await?
            .ok_or_else(|| {
                AppError::Refused(
                    Rule::UnknownStructure,
                    format!("Structure inconnue : {}", structure_code.trim()),
                )
            })?;
        let rows = match parse(bytes, ctx.now.date_naive()) {
            Ok(r) => r,
            Err(errors) => return Ok(ImportOutcome::Rejected { errors }),
        };
        let total = rows.len();
        let mut warnings = Vec::new();
        let mut tx = self.store.begin().await?;
        for (i, (line, identity, ws)) in rows.iter().enumerate() {
            if !self
                .find_duplicates(&mut tx, structure.id, identity, None)
                .await?
                .is_empty()
            {
                warnings.push(LineWarning { line: *line, message: "Un dossier avec les mêmes nom, prénom et date de naissance existe déjà dans la structure.".into() });
            }
            for w in ws {
                warnings.push(LineWarning {
                    line: *line,
                    message: w.clone(),
                });
            }
            self.insert_identity(&mut tx, ctx, structure.id, identity)
                .await?;
            if (i + 1) % 1000 == 0 {
                progress(i + 1, total);
            }
        }
        tx.commit().await?;
        progress(total, total);
        Ok(ImportOutcome::Imported {
            count: total,
            warnings,
        })
    }
}
