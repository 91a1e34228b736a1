//! PACEA (parcours contractualisé d'accompagnement vers l'emploi et l'autonomie) and its
//! allowance.
//!
//! Source: code du travail, art. L. 5131-4 and L. 5131-5; décret n° 2016-1855 du 23 décembre
//! 2016 (phases with objectives and an evaluation, at most 24 months). The allowance is paid in
//! months without other income above 300 €, at most the monthly RSA for one person minus the
//! housing flat-rate (12 %) each month, and at most six times that amount in a calendar year.
//! It is not cumulable with the CEJ allowance in the same month.

use super::{violation, Violation};
use chrono::NaiveDate;

use super::{in_force, month_start, step, Dated, Step};
use crate::situation::format_euros;

pub const SOURCE: &str =
    "Code du travail, art. L. 5131-4 et L. 5131-5 ; décret n° 2016-1855 du 23 décembre 2016";
pub const MAX_MONTHS: u32 = 24;
pub const INCOME_LIMIT_CENTS: i64 = 30_000;
pub const ANNUAL_CAP_MONTHS: i64 = 6;
/// Housing flat-rate for one person: 12 % of the RSA amount.
pub const HOUSING_FLAT_RATE_PERCENT: i64 = 12;

/// Monthly RSA amount for one person without resources (montant forfaitaire), in cents.
pub static RSA_ONE_PERSON: &[Dated<i64>] = &[
    Dated {
        from: (2022, 4, 1),
        value: 57_552,
        source: "Revalorisation du RSA au 1er avril 2022",
    },
    Dated {
        from: (2022, 7, 1),
        value: 59_854,
        source: "Revalorisation anticipée du RSA au 1er juillet 2022 (loi n° 2022-1158)",
    },
    Dated {
        from: (2023, 4, 1),
        value: 60_775,
        source: "Revalorisation du RSA au 1er avril 2023",
    },
    Dated {
        from: (2024, 4, 1),
        value: 63_571,
        source: "Revalorisation du RSA au 1er avril 2024",
    },
    Dated {
        from: (2025, 4, 1),
        value: 64_652,
        source: "Revalorisation du RSA au 1er avril 2025",
    },
];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Computation {
    pub month: NaiveDate,
    pub monthly_ceiling_cents: i64,
    pub annual_cap_cents: i64,
    pub amount_cents: i64,
    pub steps: Vec<Step>,
    pub sources: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaceaError {
    BeforeTable,
    /// The CEJ allowance is already decided for this month.
    CumulWithCej,
}

impl PaceaError {
    pub fn message(&self) -> &'static str {
        match self {
            PaceaError::BeforeTable => "Aucun barème connu pour ce mois.",
            PaceaError::CumulWithCej => {
                "L'allocation PACEA n'est pas cumulable avec l'allocation CEJ du même mois."
            }
        }
    }
}

/// The PACEA allowance of `month`: `requested` by the référent, limited by the rules, given the
/// other income of the month and what was already paid in the calendar year.
pub fn pacea_month(
    month: NaiveDate,
    requested_cents: i64,
    other_income_cents: i64,
    paid_in_year_cents: i64,
    cej_allowance_in_month: bool,
) -> Result<Computation, PaceaError> {
    if cej_allowance_in_month {
        return Err(PaceaError::CumulWithCej);
    }
    let month = month_start(month);
    let rsa = in_force(RSA_ONE_PERSON, month).ok_or(PaceaError::BeforeTable)?;
    let ceiling = rsa.value - rsa.value * HOUSING_FLAT_RATE_PERCENT / 100;
    let cap = ANNUAL_CAP_MONTHS * ceiling;
    let mut steps = vec![
        step(
            format!("RSA une personne ({})", rsa.source),
            format_euros(rsa.value),
        ),
        step(
            "Plafond mensuel : RSA moins le forfait logement (12 %)",
            format_euros(ceiling),
        ),
        step(
            "Plafond annuel : six fois le plafond mensuel",
            format_euros(cap),
        ),
        step("Déjà versé dans l'année", format_euros(paid_in_year_cents)),
        // No amount asked (`i64::MAX`): the ceiling is what is asked.
        step(
            "Montant demandé",
            if requested_cents == i64::MAX {
                "non précisé : le plafond".to_string()
            } else {
                format_euros(requested_cents)
            },
        ),
        step(
            "Autres ressources du mois",
            format_euros(other_income_cents),
        ),
    ];
    let amount = if other_income_cents > INCOME_LIMIT_CENTS {
        steps.push(step(
            "Autres ressources au-delà de 300 € : pas d'allocation ce mois",
            format_euros(0),
        ));
        0
    } else {
        let remaining = (cap - paid_in_year_cents).max(0);
        let a = requested_cents.max(0).min(ceiling).min(remaining);
        if a < requested_cents {
            steps.push(step(
                if remaining < ceiling.min(requested_cents) {
                    "Limité par le plafond annuel"
                } else {
                    "Limité par le plafond mensuel"
                },
                format_euros(a),
            ));
        }
        a
    };
    Ok(Computation {
        month,
        monthly_ceiling_cents: ceiling,
        annual_cap_cents: cap,
        amount_cents: amount,
        steps,
        sources: vec![SOURCE, rsa.source],
    })
}

/// Checks a PACEA end date: at most 24 months.
pub fn check_end(start: NaiveDate, end: NaiveDate) -> Result<(), Violation> {
    if end < start {
        return Err(super::end_before_start());
    }
    let last = super::cej::last_day(start, MAX_MONTHS);
    if end > last {
        return Err(violation(
            "duree_maximale",
            format!(
                "Le PACEA dure au plus {MAX_MONTHS} mois : fin au plus tard le {}.",
                last.format("%d/%m/%Y")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    fn amount(month: NaiveDate, req: i64, income: i64, paid: i64) -> i64 {
        pacea_month(month, req, income, paid, false)
            .map(|c| c.amount_cents)
            .unwrap_or(-1)
    }

    #[test]
    fn ceilings_follow_the_rsa() {
        let c = pacea_month(d(2025, 5, 1), 100_000, 0, 0, false);
        let c = c.unwrap_or_else(|_| panic!("computation"));
        // 646,52 − 12 % = 568,94 €; ×6 = 3 413,64 €.
        assert_eq!(c.monthly_ceiling_cents, 56_894);
        assert_eq!(c.annual_cap_cents, 341_364);
        assert_eq!(c.amount_cents, 56_894);
    }

    #[test]
    fn income_up_to_300_is_cumulable() {
        let m = d(2025, 5, 1);
        assert_eq!(amount(m, 20_000, 0, 0), 20_000);
        assert_eq!(amount(m, 20_000, 30_000, 0), 20_000);
        assert_eq!(amount(m, 20_000, 30_001, 0), 0);
        assert_eq!(amount(m, 20_000, 30_100, 0), 0);
    }

    #[test]
    fn annual_cap_reached_in_the_year() {
        let m = d(2025, 9, 1);
        // Five full months paid: the sixth fits exactly, then nothing is left.
        assert_eq!(amount(m, 56_894, 0, 5 * 56_894), 56_894);
        assert_eq!(amount(m, 56_894, 0, 6 * 56_894), 0);
        // Partly consumed: limited to the remainder.
        assert_eq!(amount(m, 56_894, 0, 6 * 56_894 - 10_000), 10_000);
    }

    #[test]
    fn not_cumulable_with_the_cej_allowance() {
        assert_eq!(
            pacea_month(d(2025, 5, 1), 20_000, 0, 0, true).err(),
            Some(PaceaError::CumulWithCej)
        );
    }

    #[test]
    fn at_most_24_months() {
        let s = d(2025, 1, 15);
        assert!(check_end(s, d(2027, 1, 14)).is_ok());
        assert!(check_end(s, d(2027, 1, 15)).is_err());
    }
}

/// Checks a new PACEA phase: inside the programme's dates and overlapping no other phase (the
/// parcours is a sequence of phases, each with its objectives and an evaluation at its end).
pub fn check_phase(
    programme: (NaiveDate, NaiveDate),
    existing: &[(NaiveDate, NaiveDate)],
    start: NaiveDate,
    end: NaiveDate,
) -> Result<(), Violation> {
    if end < start {
        return Err(violation(
            "fin_avant_debut",
            "La fin de la phase précède son début.",
        ));
    }
    if start < programme.0 || end > programme.1 {
        return Err(violation(
            "hors_dispositif",
            format!(
                "La phase doit tenir dans le PACEA (du {} au {}).",
                programme.0.format("%d/%m/%Y"),
                programme.1.format("%d/%m/%Y")
            ),
        ));
    }
    if let Some((s, e)) = existing.iter().find(|(s, e)| start <= *e && end >= *s) {
        return Err(violation(
            "chevauchement",
            format!(
                "Cette phase chevauche la phase du {} au {}.",
                s.format("%d/%m/%Y"),
                e.format("%d/%m/%Y")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod phase_tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, m, day).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn phases_fit_and_do_not_overlap() {
        let p = (d(1, 1), d(12, 31));
        assert!(check_phase(p, &[], d(1, 1), d(3, 31)).is_ok());
        assert!(check_phase(p, &[(d(1, 1), d(3, 31))], d(3, 31), d(5, 31)).is_err());
        assert!(check_phase(p, &[(d(1, 1), d(3, 31))], d(4, 1), d(5, 31)).is_ok());
        assert!(check_phase(p, &[], d(6, 1), d(5, 1)).is_err());
        assert!(check_phase((d(2, 1), d(12, 31)), &[], d(1, 15), d(3, 1)).is_err());
    }
}
