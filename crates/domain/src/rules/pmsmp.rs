//! PMSMP (période de mise en situation en milieu professionnel): an immersion in a company under
//! a convention, at most one month — 30 calendar days — per convention.
//!
//! Source: code du travail, art. L. 5135-1 to L. 5135-8 and D. 5135-2 (loi n° 2014-288 du
//! 5 mars 2014; décret n° 2014-1360 du 13 novembre 2014).

use chrono::NaiveDate;

pub const SOURCE: &str = "Code du travail, art. L. 5135-1 et suivants, D. 5135-2 (décret n° 2014-1360 du 13 novembre 2014)";
pub const MAX_DAYS: i64 = 30;

/// Calendar days of a convention from `start` to `end`, both included.
pub fn days(start: NaiveDate, end: NaiveDate) -> i64 {
    (end - start).num_days() + 1
}

pub fn check_dates(start: NaiveDate, end: NaiveDate) -> Result<(), super::Violation> {
    if end < start {
        return Err(super::end_before_start());
    }
    let n = days(start, end);
    if n > MAX_DAYS {
        return Err(super::violation(
            "duree_maximale",
            format!(
                "Une immersion (PMSMP) dure au plus {MAX_DAYS} jours calendaires par convention ({n} jours demandés)."
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_calendar_days() {
        let s = NaiveDate::from_ymd_opt(2025, 2, 1).unwrap_or(NaiveDate::MIN);
        let e30 = NaiveDate::from_ymd_opt(2025, 3, 2).unwrap_or(NaiveDate::MIN);
        let e31 = NaiveDate::from_ymd_opt(2025, 3, 3).unwrap_or(NaiveDate::MIN);
        assert_eq!(days(s, e30), 30);
        assert!(check_dates(s, e30).is_ok());
        assert!(check_dates(s, e31).is_err());
        assert!(check_dates(e30, s).is_err());
        assert!(check_dates(s, s).is_ok());
    }
}
