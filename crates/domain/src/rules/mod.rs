//! The rules of the programmes (dispositifs), each with its legal source and the date its figures
//! apply from. Pure functions of their inputs and of a date: no clock, no I/O, so every boundary
//! is tested (`cargo test -p parcours-domain`).
//!
//! Figures that change by decree (allowance amounts each 1 April, the SMIC, the RSA) live in
//! dated tables ([`Dated`]): a computation for a month uses the line in force on its first day.
//! Adding a revaluation is adding one line, with its source, to the table.

pub mod allowance;
pub mod cej;
pub mod pacea;
pub mod pmsmp;

use chrono::NaiveDate;

/// A figure (or set of figures) in force from a date, with the text that set it.
#[derive(Debug, Clone, Copy)]
pub struct Dated<T: 'static> {
    pub from: (i32, u32, u32),
    pub value: T,
    pub source: &'static str,
}

impl<T> Dated<T> {
    pub fn from_date(&self) -> NaiveDate {
        let (y, m, d) = self.from;
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
    }
}

/// The line of `table` (sorted by date) in force on `day`; `None` before the first line.
pub fn in_force<T>(table: &'static [Dated<T>], day: NaiveDate) -> Option<&'static Dated<T>> {
    table.iter().rev().find(|l| l.from_date() <= day)
}

/// First day of the month of `day`.
pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day0(0).unwrap_or(day)
}

use chrono::Datelike;

/// Parses `AAAA-MM` (a month) into its first day.
pub fn parse_month(raw: &str) -> Option<NaiveDate> {
    let (y, m) = raw.trim().split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

/// A rule of the texts broken: a stable code (the field error's code) and the explanation for
/// people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Violation {
    pub code: &'static str,
    pub message: String,
}

/// Builds a [`Violation`].
pub fn violation(code: &'static str, message: impl Into<String>) -> Violation {
    Violation {
        code,
        message: message.into(),
    }
}

/// The end precedes the start.
pub fn end_before_start() -> Violation {
    violation(
        "fin_avant_debut",
        "La date de fin précède la date de début.",
    )
}

/// One line of a computation as shown to the advisor ("why this amount").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    pub label: String,
    pub value: String,
}

pub(crate) fn step(label: impl Into<String>, value: impl Into<String>) -> Step {
    Step {
        label: label.into(),
        value: value.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse() {
        assert_eq!(parse_month("2025-04"), NaiveDate::from_ymd_opt(2025, 4, 1));
        assert_eq!(parse_month("2025-13"), None);
        assert_eq!(parse_month("25-04"), None);
    }
}
