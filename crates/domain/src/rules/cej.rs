//! Contrat d'engagement jeune (CEJ): who may sign, how long it lasts, how many hours a week.
//!
//! Source: loi n° 2021-1900 du 30 décembre 2021 de finances pour 2022, art. 208, creating
//! art. L. 5131-6 of the code du travail; décret n° 2022-199 du 18 février 2022 relatif au
//! contrat d'engagement jeune (in force 1 March 2022): age 16 to 25, up to 29 for a person
//! recognised as a disabled worker (RQTH); not a student; 12 months, up to 18 by a motivated
//! decision; 15 to 20 hours of activity a week.

use super::{violation, Violation};
use chrono::{Months, NaiveDate};

use crate::jeune::age_on;

pub const SOURCE: &str = "Code du travail, art. L. 5131-6 (loi n° 2021-1900 du 30 décembre 2021, art. 208) ; décret n° 2022-199 du 18 février 2022 — en vigueur au 1er mars 2022";

pub const MIN_AGE: i32 = 16;
pub const MAX_AGE: i32 = 25;
pub const MAX_AGE_RQTH: i32 = 29;
pub const MONTHS: u32 = 12;
pub const MONTHS_EXTENDED: u32 = 18;
pub const WEEK_MIN_MINUTES: i64 = 15 * 60;
pub const WEEK_MAX_MINUTES: i64 = 20 * 60;

/// Why a jeune may not sign a CEJ on a date (French, shown as is).
pub fn eligibility(
    birth: NaiveDate,
    rqth: bool,
    student: bool,
    on: NaiveDate,
) -> Result<(), Vec<String>> {
    let mut why = Vec::new();
    let age = age_on(birth, on);
    let max = if rqth { MAX_AGE_RQTH } else { MAX_AGE };
    if age < MIN_AGE {
        why.push(format!(
            "Le CEJ est ouvert à partir de {MIN_AGE} ans (âge à la signature : {age} ans)."
        ));
    } else if age > max {
        why.push(if rqth {
            format!("Le CEJ est ouvert jusqu'à {MAX_AGE_RQTH} ans révolus avec une RQTH (âge à la signature : {age} ans).")
        } else {
            format!("Le CEJ est ouvert jusqu'à {MAX_AGE} ans révolus, {MAX_AGE_RQTH} avec une RQTH (âge à la signature : {age} ans).")
        });
    }
    if student {
        why.push("Le CEJ n'est pas ouvert aux étudiants.".into());
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(why)
    }
}

/// Last day of a contract of `months` months starting on `start`.
pub fn last_day(start: NaiveDate, months: u32) -> NaiveDate {
    start
        .checked_add_months(Months::new(months))
        .and_then(|d| d.pred_opt())
        .unwrap_or(start)
}

/// Checks a planned end date: within 12 months, or within 18 with a motivated decision.
pub fn check_end(
    start: NaiveDate,
    end: NaiveDate,
    motivation: Option<&str>,
) -> Result<(), Violation> {
    if end < start {
        return Err(super::end_before_start());
    }
    if end <= last_day(start, MONTHS) {
        return Ok(());
    }
    if end > last_day(start, MONTHS_EXTENDED) {
        return Err(violation(
            "duree_maximale",
            format!(
                "Le CEJ dure au plus {MONTHS_EXTENDED} mois : fin au plus tard le {}.",
                last_day(start, MONTHS_EXTENDED).format("%d/%m/%Y")
            ),
        ));
    }
    match motivation.map(str::trim) {
        Some(m) if m.chars().count() >= 10 => Ok(()),
        _ => Err(violation(
            "motif_requis",
            format!(
                "Au-delà de {MONTHS} mois (après le {}), la prolongation jusqu'à {MONTHS_EXTENDED} mois exige une décision motivée : indiquez le motif.",
                last_day(start, MONTHS).format("%d/%m/%Y")
            ),
        )),
    }
}

/// The weekly view: planned and done minutes against the 15–20 hours of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WeekGap {
    pub planned_minutes: i64,
    pub done_minutes: i64,
    /// Minutes missing to reach 15 hours done (0 when reached).
    pub missing_minutes: i64,
    /// The plan itself is under 15 hours.
    pub plan_too_short: bool,
    /// Over 20 hours planned (allowed, but outside the contract's frame).
    pub plan_over: bool,
}

pub fn week_gap(planned_minutes: i64, done_minutes: i64) -> WeekGap {
    WeekGap {
        planned_minutes,
        done_minutes,
        missing_minutes: (WEEK_MIN_MINUTES - done_minutes).max(0),
        plan_too_short: planned_minutes < WEEK_MIN_MINUTES,
        plan_over: planned_minutes > WEEK_MAX_MINUTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn age_boundaries() {
        let on = d(2025, 6, 15);
        // 15 years old the day before the 16th birthday; 16 on it.
        assert!(eligibility(d(2009, 6, 16), false, false, on).is_err());
        assert!(eligibility(d(2009, 6, 15), false, false, on).is_ok());
        // 25 the day before the 26th birthday; 26 on it.
        assert!(eligibility(d(1999, 6, 16), false, false, on).is_ok());
        assert!(eligibility(d(1999, 6, 15), false, false, on).is_err());
        // With RQTH: 29 yes, 30 no.
        assert!(eligibility(d(1999, 6, 15), true, false, on).is_ok());
        assert!(eligibility(d(1995, 6, 16), true, false, on).is_ok());
        assert!(eligibility(d(1995, 6, 15), true, false, on).is_err());
        // A student of 20 is refused, with the reason.
        let why = eligibility(d(2005, 1, 1), false, true, on)
            .err()
            .unwrap_or_default();
        assert!(why[0].contains("étudiants"));
    }

    #[test]
    fn twelve_months_then_eighteen_with_a_motivated_decision() {
        let start = d(2025, 3, 1);
        assert_eq!(last_day(start, 12), d(2026, 2, 28));
        assert!(check_end(start, d(2026, 2, 28), None).is_ok());
        // One day more is month 13: needs a motivation.
        assert!(check_end(start, d(2026, 3, 1), None).is_err());
        assert!(check_end(start, d(2026, 3, 1), Some("ok")).is_err());
        assert!(check_end(
            start,
            d(2026, 3, 1),
            Some("Formation qualifiante en cours jusqu'en août")
        )
        .is_ok());
        assert!(check_end(
            start,
            d(2026, 8, 31),
            Some("Formation qualifiante en cours")
        )
        .is_ok());
        // Beyond 18 months: refused whatever the motivation.
        assert!(check_end(start, d(2026, 9, 1), Some("Formation qualifiante en cours")).is_err());
        assert!(check_end(start, d(2025, 2, 1), None).is_err());
    }

    #[test]
    fn weekly_gap() {
        let g = week_gap(15 * 60, 12 * 60);
        assert_eq!(g.missing_minutes, 180);
        assert!(!g.plan_too_short);
        assert_eq!(week_gap(14 * 60 + 59, 15 * 60).missing_minutes, 0);
        assert!(week_gap(14 * 60 + 59, 0).plan_too_short);
        assert!(week_gap(20 * 60 + 1, 0).plan_over);
        assert!(!week_gap(20 * 60, 0).plan_over);
    }
}
