//! The CSV of `parcours import jeunes`, read and validated (pure: no storage, fuzzed).
//!
//! Format: UTF-8 with or without BOM; `;` or `,` (detected on the header line); header names
//! `nom;prenom;date_naissance;sexe;nationalite;email;telephone;adresse;code_postal;commune;niveau_formation`
//! in any order, unknown columns refused; dates `JJ/MM/AAAA` or `AAAA-MM-JJ`. Every bad line is
//! reported (line, column, French reason).

use crate::jeune::{self, JeuneInput, FIELDS};
use crate::normalize::fold;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub column: String,
    pub message: String,
}

fn err(line: u64, column: &str, message: impl Into<String>) -> LineError {
    LineError {
        line,
        column: column.to_string(),
        message: message.into(),
    }
}

/// A valid line: its number, the identity, and its warnings.
pub type ParsedLine = (u64, crate::Identity, Vec<String>);

/// Parses and validates the whole file. Returns the identities with their line numbers.
pub fn parse(
    bytes: &[u8],
    today: chrono::NaiveDate,
) -> std::result::Result<Vec<ParsedLine>, Vec<LineError>> {
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.iter().filter(|b| **b == b';').count()
        >= first_line.iter().filter(|b| **b == b',').count()
    {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut errors = Vec::new();
    let mut records = reader.byte_records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(vec![err(1, "", format!("Ligne d'en-tête illisible : {e}"))]),
        None => {
            return Err(vec![err(
                1,
                "",
                "Fichier vide : la ligne d'en-tête est attendue.",
            )])
        }
    };
    let mut columns: Vec<&'static str> = Vec::new();
    for h in header.iter() {
        let name = match std::str::from_utf8(h) {
            Ok(s) => fold(s).replace(' ', "_"),
            Err(_) => {
                errors.push(err(
                    1,
                    "",
                    "En-tête mal encodé : le fichier doit être en UTF-8.",
                ));
                continue;
            }
        };
        match FIELDS.iter().find(|f| **f == name) {
            Some(f) if columns.contains(f) => {
                errors.push(err(1, f, format!("Colonne « {f} » en double.")))
            }
            Some(f) => columns.push(f),
            None => errors.push(err(
                1,
                &name,
                format!(
                    "Colonne inconnue « {name} » : colonnes admises {}.",
                    FIELDS.join(", ")
                ),
            )),
        }
    }
    for required in ["nom", "prenom", "date_naissance", "sexe"] {
        if !columns.contains(&required) {
            errors.push(err(
                1,
                required,
                format!("Colonne obligatoire « {required} » absente."),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = Vec::new();
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(err(line, "", format!("Ligne illisible : {e}")));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        if rec.len() != columns.len() {
            errors.push(err(
                line,
                "",
                format!(
                    "La ligne compte {} champs au lieu de {} (séparateur « {} »).",
                    rec.len(),
                    columns.len(),
                    delimiter as char
                ),
            ));
            continue;
        }
        let mut input = JeuneInput::default();
        let mut bad_utf8 = false;
        for (col, raw) in columns.iter().zip(rec.iter()) {
            match std::str::from_utf8(raw) {
                Ok(s) => {
                    input.set(col, s.to_string());
                }
                Err(_) => {
                    errors.push(err(
                        line,
                        col,
                        "Caractères mal encodés : le fichier doit être en UTF-8.",
                    ));
                    bad_utf8 = true;
                }
            }
        }
        if bad_utf8 {
            continue;
        }
        match jeune::validate(&input, today) {
            Ok((identity, warnings)) => out.push((
                line,
                identity,
                warnings.into_iter().map(|w| w.message).collect(),
            )),
            Err(ve) => {
                for fe in ve.0 {
                    errors.push(err(line, &fe.field, fe.message));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
