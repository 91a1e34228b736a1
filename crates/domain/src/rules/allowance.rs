//! The CEJ allowance (allocation du contrat d'engagement jeune) for a month.
//!
//! - Amount by age (minor / adult on the first day of the month) and the tax situation of the
//!   household, revalued each 1 April (décret n° 2022-199 du 18 février 2022; code du travail,
//!   art. L. 5131-6): 500 / 300 / 200 € at 1 March 2022.
//! - Resources are taken over a **reference period**: the monthly average of the
//!   [`REFERENCE_MONTHS`] months before the month paid ([`reference_period`]). A month without
//!   a declaration counts as a month without resources.
//! - Income from work ([`IncomeKind::is_activity`]: wages, apprentice pay, self-employment,
//!   short-time work, sick pay) up to 300 € a month is disregarded; above, the allowance
//!   decreases linearly and reaches zero at 80 % of the gross monthly SMIC.
//! - Every other resource (unemployment benefit, training pay…) is deducted in full from what
//!   the activity income leaves.
//! - Not due when the jeune's household receives the RSA or the prime d'activité
//!   ([`EXCLUSION_SOURCE`]).
//! - A household taxable beyond the first bracket gives no allowance.
//! - Missed commitments: the référent may reduce or suspend the month ([`decide`]).
//!
//! The reference period, the income kinds and the exclusion follow the review of issue 17 and
//! the public simulators; the articles of the code du travail could not be consulted offline
//! when this was written (docs/PARCOURS.md, "Allocation CEJ" says what to re-check).

use chrono::{Datelike, NaiveDate};

use super::{in_force, month_start, step, Dated, Step};
use crate::jeune::age_on;
use crate::situation::format_euros;
use crate::vocab::{AllowanceDecision, IncomeKind, TaxSituation};

/// Monthly amounts in cents: (adult, household not taxable), (adult, first bracket), (minor,
/// not taxable or first bracket).
pub type Amounts = (i64, i64, i64);

/// CEJ amounts, each line with its source. Every line follows from the previous by the
/// revaluation it names (rounded to the cent), which the tests check: 1 July 2022 +4 % (loi
/// n° 2022-1158 du 16 août 2022, art. 9); 1 April 2023, 1.056 on the 2022 decree's amounts;
/// 1 April 2024 ×1.046; 1 April 2025 ×1.017.
pub static CEJ_AMOUNTS: &[Dated<Amounts>] = &[
    Dated {
        from: (2022, 3, 1),
        value: (50_000, 30_000, 20_000),
        source: "Décret n° 2022-199 du 18 février 2022",
    },
    Dated {
        from: (2022, 7, 1),
        value: (52_000, 31_200, 20_800),
        source: "Loi n° 2022-1158 du 16 août 2022, art. 9 (revalorisation anticipée de 4 % au 1er juillet 2022)",
    },
    Dated {
        from: (2023, 4, 1),
        value: (52_800, 31_680, 21_120),
        source: "Revalorisation du 1er avril 2023 (instruction DSS/2B/2023/41 : 1,056 sur les montants de 2022)",
    },
    Dated {
        from: (2024, 4, 1),
        value: (55_229, 33_137, 22_092),
        source: "Revalorisation du 1er avril 2024 (instruction DSS/2A/2C/2024/42 : coefficient 1,046)",
    },
    Dated {
        from: (2025, 4, 1),
        value: (56_168, 33_700, 22_468),
        source: "Revalorisation du 1er avril 2025 (coefficient 1,017)",
    },
];

/// Gross monthly SMIC for 35 hours (151.67 h), in cents.
pub static SMIC_MONTHLY: &[Dated<i64>] = &[
    Dated {
        from: (2022, 1, 1),
        value: 160_312,
        source: "Décret n° 2021-1741 du 22 décembre 2021",
    },
    Dated {
        from: (2022, 5, 1),
        value: 164_558,
        source: "Revalorisation automatique du 1er mai 2022",
    },
    Dated {
        from: (2022, 8, 1),
        value: 167_895,
        source: "Revalorisation automatique du 1er août 2022",
    },
    Dated {
        from: (2023, 1, 1),
        value: 170_928,
        source: "Décret n° 2022-1608 du 22 décembre 2022",
    },
    Dated {
        from: (2023, 5, 1),
        value: 174_720,
        source: "Revalorisation automatique du 1er mai 2023",
    },
    Dated {
        from: (2024, 1, 1),
        value: 176_692,
        source: "Décret n° 2023-1216 du 20 décembre 2023",
    },
    Dated {
        from: (2024, 11, 1),
        value: 180_180,
        source: "Décret n° 2024-951 du 23 octobre 2024",
    },
    Dated {
        from: (2026, 1, 1),
        value: 182_303,
        source: "Revalorisation du 1er janvier 2026",
    },
    Dated {
        from: (2026, 6, 1),
        value: 186_702,
        source: "Arrêté du 22 mai 2026 (12,31 € de l'heure, 1 867,02 € bruts par mois)",
    },
];

/// Activity income disregarded each month.
pub const DISREGARD_CENTS: i64 = 30_000;
/// Income at which the allowance reaches zero, as a share of the gross SMIC (80 %).
pub const ZERO_AT_SMIC_PERCENT: i64 = 80;

/// The month's entitlement and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Computation {
    pub month: NaiveDate,
    pub base_cents: i64,
    pub amount_cents: i64,
    pub steps: Vec<Step>,
    pub sources: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowanceError {
    /// No amount is known for a month before the CEJ existed.
    BeforeProgramme,
}

/// Rounds `num / den` to the nearest cent (half up); both positive.
fn div_round(num: i128, den: i128) -> i64 {
    i64::try_from((2 * num + den) / (2 * den)).unwrap_or(i64::MAX)
}

/// How many months before the month paid make its reference period.
pub const REFERENCE_MONTHS: u32 = 3;

/// Source of the reference period and of the treatment of each kind of resource.
pub const RESOURCES_SOURCE: &str = "Décret n° 2022-199 du 18 février 2022 ; code du travail, art. D. 5131-23 et suivants (ressources : moyenne mensuelle des trois mois précédents ; revenus d'activité après abattement de 300 €, autres ressources déduites)";

/// Source of the exclusion of households receiving the RSA or the prime d'activité.
pub const EXCLUSION_SOURCE: &str = "Code du travail, art. L. 5131-6 et décret n° 2022-199 : allocation non cumulable avec le revenu de solidarité active ni la prime d'activité perçus par le foyer";

/// One resource declared for one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Income {
    /// First day of the month the resource was received.
    pub month: NaiveDate,
    pub kind: IncomeKind,
    pub cents: i64,
}

/// What the jeune declared for the reference period.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    pub incomes: Vec<Income>,
    /// The household receives the RSA or the prime d'activité.
    pub household_rsa_or_activity_bonus: bool,
}

impl Resources {
    /// The same activity income every month of `month`'s reference period (a shorthand).
    pub fn steady_activity(month: NaiveDate, cents: i64) -> Resources {
        Resources {
            incomes: reference_period(month)
                .into_iter()
                .map(|m| Income {
                    month: m,
                    kind: IncomeKind::RevenusActivite,
                    cents,
                })
                .collect(),
            household_rsa_or_activity_bonus: false,
        }
    }
}

/// The months whose resources count for `month`: the [`REFERENCE_MONTHS`] before it, oldest
/// first.
pub fn reference_period(month: NaiveDate) -> Vec<NaiveDate> {
    let m = month_start(month);
    (1..=REFERENCE_MONTHS)
        .rev()
        .filter_map(|k| m.checked_sub_months(chrono::Months::new(k)))
        .collect()
}

/// Monthly averages over `month`'s reference period: (income from work, other resources).
/// Resources declared for months outside the period are not counted.
pub fn reference_income(month: NaiveDate, resources: &Resources) -> (i64, i64) {
    let period = reference_period(month);
    let (mut work, mut other) = (0i128, 0i128);
    for i in &resources.incomes {
        if !period.contains(&month_start(i.month)) {
            continue;
        }
        let c = i128::from(i.cents.max(0));
        if i.kind.is_activity() {
            work += c;
        } else {
            other += c;
        }
    }
    let months = i128::from(REFERENCE_MONTHS);
    (div_round(work, months), div_round(other, months))
}

/// The CEJ allowance of `month` for a jeune born on `birth`, given the resources declared for
/// its reference period.
pub fn cej_month(
    month: NaiveDate,
    birth: NaiveDate,
    tax: TaxSituation,
    resources: &Resources,
) -> Result<Computation, AllowanceError> {
    let month = month_start(month);
    let line = in_force(CEJ_AMOUNTS, month).ok_or(AllowanceError::BeforeProgramme)?;
    let smic = in_force(SMIC_MONTHLY, month).ok_or(AllowanceError::BeforeProgramme)?;
    let age = age_on(birth, month);
    let minor = age < 18;
    let (adult, bracket1, minor_amount) = line.value;
    let mut steps = vec![step(
        "Âge au 1er du mois",
        format!("{age} ans ({})", if minor { "mineur" } else { "majeur" }),
    )];
    steps.push(step("Situation fiscale du foyer", tax.label()));
    let base = match (tax, minor) {
        (TaxSituation::ImposableAuDela, _) => 0,
        (_, true) => minor_amount,
        (TaxSituation::NonImposable, false) => adult,
        (TaxSituation::ImposableTranche1, false) => bracket1,
    };
    steps.push(step(
        format!(
            "Montant forfaitaire en vigueur au {} ({})",
            line.from_date().format("%d/%m/%Y"),
            line.source
        ),
        format_euros(base),
    ));
    let mut sources = vec![
        super::cej::SOURCE,
        line.source,
        smic.source,
        RESOURCES_SOURCE,
    ];
    if resources.household_rsa_or_activity_bonus {
        steps.push(step(
            "Foyer bénéficiaire du RSA ou de la prime d'activité : allocation non due",
            format_euros(0),
        ));
        sources.push(EXCLUSION_SOURCE);
        return Ok(Computation {
            month,
            base_cents: base,
            amount_cents: 0,
            steps,
            sources,
        });
    }
    let period = reference_period(month);
    let (income, other) = reference_income(month, resources);
    let period_label = match (period.first(), period.last()) {
        (Some(a), Some(b)) => format!("{} à {}", a.format("%m/%Y"), b.format("%m/%Y")),
        _ => String::new(),
    };
    steps.push(step(
        format!("Revenus d'activité, moyenne mensuelle de {period_label}"),
        format_euros(income),
    ));
    let zero_at = smic.value * ZERO_AT_SMIC_PERCENT / 100;
    let after_activity = if base == 0 {
        0
    } else if income <= DISREGARD_CENTS {
        steps.push(step(
            "Revenus d'activité jusqu'à 300 € : non pris en compte",
            format_euros(base),
        ));
        base
    } else if income >= zero_at {
        steps.push(step(
            format!(
                "Revenus au moins égaux à 80 % du SMIC brut ({} sur {})",
                format_euros(zero_at),
                format_euros(smic.value)
            ),
            format_euros(0),
        ));
        0
    } else {
        let a = div_round(
            i128::from(base) * i128::from(zero_at - income),
            i128::from(zero_at - DISREGARD_CENTS),
        );
        steps.push(step(
            format!(
                "Dégressivité : montant × (80 % du SMIC − revenus) / (80 % du SMIC − 300 €), 80 % du SMIC = {}",
                format_euros(zero_at)
            ),
            format_euros(a),
        ));
        a
    };
    let amount = if other > 0 && after_activity > 0 {
        let left = (after_activity - other).max(0);
        steps.push(step(
            format!(
                "Autres ressources (chômage, rémunération de formation…), moyenne mensuelle de {period_label} : {} déduits en totalité",
                format_euros(other)
            ),
            format_euros(left),
        ));
        left
    } else {
        after_activity
    };
    Ok(Computation {
        month,
        base_cents: base,
        amount_cents: amount,
        steps,
        sources,
    })
}

/// Applies the référent's decision to a computed amount. `attribuée` pays the computed amount;
/// `réduite` pays a lower, positive amount and `suspendue` nothing, both with a motivation
/// (missed commitments).
pub fn decide(
    computed_cents: i64,
    decision: AllowanceDecision,
    reduced_cents: Option<i64>,
    motivation: Option<&str>,
) -> Result<i64, super::Violation> {
    let motivated = motivation.is_some_and(|m| m.trim().chars().count() >= 5);
    match decision {
        AllowanceDecision::Attribuee => Ok(computed_cents),
        AllowanceDecision::Suspendue if motivated => Ok(0),
        AllowanceDecision::Reduite if motivated => match reduced_cents {
            Some(r) if r > 0 && r < computed_cents => Ok(r),
            _ => Err(super::violation(
                "montant_reduit_invalide",
                format!(
                    "Le montant réduit doit être positif et inférieur au montant calculé ({}).",
                    format_euros(computed_cents)
                ),
            )),
        },
        _ => Err(super::violation(
            "motif_requis",
            "Une réduction ou une suspension doit être motivée (engagements non respectés…).",
        )),
    }
}

/// The year of a month, for annual caps.
pub fn year_of(month: NaiveDate) -> i32 {
    month.year()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    fn amount(month: NaiveDate, birth: NaiveDate, tax: TaxSituation, income: i64) -> i64 {
        cej_month(
            month,
            birth,
            tax,
            &Resources::steady_activity(month, income),
        )
        .map(|c| c.amount_cents)
        .unwrap_or(-1)
    }

    const ADULT: (i32, u32, u32) = (2000, 1, 1);
    const MINOR: (i32, u32, u32) = (2010, 1, 1);

    #[test]
    fn each_period_each_tax_situation_each_age() {
        let adult = d(ADULT.0, ADULT.1, ADULT.2);
        let minor_2022 = d(2006, 1, 1);
        use TaxSituation::*;
        // (month, (adult non taxable, adult bracket 1, minor)) — the month before and the first
        // month of each period.
        let cases = [
            (d(2022, 3, 1), (50_000, 30_000, 20_000)),
            (d(2022, 6, 1), (50_000, 30_000, 20_000)),
            (d(2022, 7, 1), (52_000, 31_200, 20_800)),
            (d(2023, 3, 1), (52_000, 31_200, 20_800)),
            (d(2023, 4, 1), (52_800, 31_680, 21_120)),
            (d(2024, 3, 1), (52_800, 31_680, 21_120)),
            (d(2024, 4, 1), (55_229, 33_137, 22_092)),
            (d(2025, 3, 1), (55_229, 33_137, 22_092)),
            (d(2025, 4, 1), (56_168, 33_700, 22_468)),
            (d(2026, 11, 1), (56_168, 33_700, 22_468)),
        ];
        for (month, (a, b, m)) in cases {
            let minor = if month.year() < 2024 {
                minor_2022
            } else {
                d(MINOR.0, MINOR.1, MINOR.2)
            };
            assert_eq!(
                amount(month, adult, NonImposable, 0),
                a,
                "{month} adulte non imposable"
            );
            assert_eq!(
                amount(month, adult, ImposableTranche1, 0),
                b,
                "{month} adulte tranche 1"
            );
            assert_eq!(
                amount(month, adult, ImposableAuDela, 0),
                0,
                "{month} adulte au-delà"
            );
            assert_eq!(amount(month, minor, NonImposable, 0), m, "{month} mineur");
            assert_eq!(
                amount(month, minor, ImposableTranche1, 0),
                m,
                "{month} mineur tranche 1"
            );
            assert_eq!(
                amount(month, minor, ImposableAuDela, 0),
                0,
                "{month} mineur au-delà"
            );
        }
        assert_eq!(
            cej_month(d(2022, 2, 1), adult, NonImposable, &Resources::default()).err(),
            Some(AllowanceError::BeforeProgramme)
        );
    }

    #[test]
    fn each_line_follows_from_its_revaluation() {
        let r = |base: i64, num: i64, den: i64| {
            div_round(i128::from(base) * i128::from(num), i128::from(den))
        };
        let base = CEJ_AMOUNTS[0].value;
        let apply = |(a, b, m): Amounts, num: i64, den: i64| {
            (r(a, num, den), r(b, num, den), r(m, num, den))
        };
        assert_eq!(
            CEJ_AMOUNTS[1].value,
            apply(base, 104, 100),
            "1 July 2022: +4 %"
        );
        assert_eq!(
            CEJ_AMOUNTS[2].value,
            apply(base, 1056, 1000),
            "1 April 2023: 1.056"
        );
        assert_eq!(
            CEJ_AMOUNTS[3].value,
            apply(CEJ_AMOUNTS[2].value, 1046, 1000),
            "1 April 2024"
        );
        assert_eq!(
            CEJ_AMOUNTS[4].value,
            apply(CEJ_AMOUNTS[3].value, 1017, 1000),
            "1 April 2025"
        );
        // The first bracket, one cent around the old wrong values: 316.61 and 331.17 are gone.
        assert_eq!(CEJ_AMOUNTS[2].value.1, 31_680);
        assert_eq!(CEJ_AMOUNTS[3].value.1, 33_137);
    }

    #[test]
    fn minor_until_the_eighteenth_birthday_on_the_first_of_the_month() {
        let month = d(2025, 6, 1);
        // 18 on 1 June: adult amount; 18 on 2 June: still a minor for June.
        assert_eq!(
            amount(month, d(2007, 6, 1), TaxSituation::NonImposable, 0),
            56_168
        );
        assert_eq!(
            amount(month, d(2007, 6, 2), TaxSituation::NonImposable, 0),
            22_468
        );
    }

    #[test]
    fn income_disregard_and_degressivity() {
        let adult = d(ADULT.0, ADULT.1, ADULT.2);
        let month = d(2025, 4, 1);
        let smic80 = 180_180 * 80 / 100; // 1 441,44 €
        let full = 56_168;
        assert_eq!(amount(month, adult, TaxSituation::NonImposable, 0), full);
        assert_eq!(
            amount(month, adult, TaxSituation::NonImposable, 30_000),
            full
        );
        // 301 €: one euro over the disregard lowers the amount by base/(80 % SMIC − 300).
        let at_301 = amount(month, adult, TaxSituation::NonImposable, 30_100);
        let expected = div_round(
            i128::from(full) * i128::from(smic80 - 30_100),
            i128::from(smic80 - 30_000),
        );
        assert_eq!(at_301, expected);
        assert!(at_301 < full && at_301 > full - 100);
        assert_eq!(at_301, 56_119);
        // At and over 80 % of the SMIC: nothing; three euros under: about 1,48 €.
        assert_eq!(amount(month, adult, TaxSituation::NonImposable, smic80), 0);
        assert_eq!(
            amount(month, adult, TaxSituation::NonImposable, smic80 + 5_000),
            0
        );
        assert_eq!(
            amount(month, adult, TaxSituation::NonImposable, smic80 - 300),
            148
        );
        // Halfway between 300 € and 80 % of the SMIC: half the amount.
        let mid = (smic80 + 30_000) / 2;
        assert_eq!(
            amount(month, adult, TaxSituation::NonImposable, mid),
            full / 2
        );
        // After the 2026 SMIC revaluations the zero point moves (January, then June).
        let m2026 = d(2026, 1, 1);
        assert!(amount(m2026, adult, TaxSituation::NonImposable, smic80) > 0);
        assert_eq!(
            amount(m2026, adult, TaxSituation::NonImposable, 182_303 * 80 / 100),
            0
        );
        let may = d(2026, 5, 1);
        let june = d(2026, 6, 1);
        assert_eq!(
            amount(may, adult, TaxSituation::NonImposable, 182_303 * 80 / 100),
            0
        );
        assert!(amount(june, adult, TaxSituation::NonImposable, 182_303 * 80 / 100) > 0);
        assert_eq!(
            amount(june, adult, TaxSituation::NonImposable, 186_702 * 80 / 100),
            0
        );
    }

    #[test]
    fn the_computation_explains_itself() {
        let c = cej_month(
            d(2025, 5, 1),
            d(2000, 1, 1),
            TaxSituation::NonImposable,
            &Resources::steady_activity(d(2025, 5, 1), 40_000),
        );
        let c = c.unwrap_or_else(|_| panic!("computation"));
        assert!(c.steps.iter().any(|s| s.label.contains("Dégressivité")));
        assert!(c.sources.iter().any(|s| s.contains("2022-199")));
    }

    fn income(y: i32, m: u32, kind: IncomeKind, cents: i64) -> Income {
        Income {
            month: d(y, m, 1),
            kind,
            cents,
        }
    }

    fn with(incomes: Vec<Income>) -> Resources {
        Resources {
            incomes,
            household_rsa_or_activity_bonus: false,
        }
    }

    #[test]
    fn the_reference_period_is_the_three_months_before() {
        assert_eq!(
            reference_period(d(2026, 11, 15)),
            vec![d(2026, 8, 1), d(2026, 9, 1), d(2026, 10, 1)]
        );
        // Across a year.
        assert_eq!(
            reference_period(d(2026, 2, 1)),
            vec![d(2025, 11, 1), d(2025, 12, 1), d(2026, 1, 1)]
        );
    }

    #[test]
    fn resources_are_averaged_over_the_reference_period() {
        let adult = d(ADULT.0, ADULT.1, ADULT.2);
        let nov = d(2026, 11, 1);
        use IncomeKind::*;
        // 900 € earned in September only: 300 € a month on average, disregarded.
        let r = with(vec![income(2026, 9, Salaire, 90_000)]);
        assert_eq!(reference_income(nov, &r), (30_000, 0));
        let c = cej_month(nov, adult, TaxSituation::NonImposable, &r).map(|c| c.amount_cents);
        assert_eq!(c, Ok(56_168));
        // One cent more over the period: the average is 300.00 € (rounded); three cents more:
        // 300.01 €, over the disregard (the loss, 0.47 cent, rounds away); three euros more:
        // 301 € a month, 47 cents less.
        let r = with(vec![income(2026, 9, Salaire, 90_001)]);
        assert_eq!(reference_income(nov, &r).0, 30_000);
        let r = with(vec![income(2026, 9, Salaire, 90_003)]);
        assert_eq!(reference_income(nov, &r).0, 30_001);
        let r = with(vec![income(2026, 9, Salaire, 90_300)]);
        let c = cej_month(nov, adult, TaxSituation::NonImposable, &r).map(|c| c.amount_cents);
        assert_eq!(c, Ok(56_121));
        // Income of the month paid and of the fourth month before does not count.
        let r = with(vec![
            income(2026, 11, Salaire, 500_000),
            income(2026, 7, Salaire, 500_000),
        ]);
        assert_eq!(reference_income(nov, &r), (0, 0));
        // Several kinds of work income add up: apprentice pay, short-time work, sick pay.
        let r = with(vec![
            income(2026, 8, Apprentissage, 60_000),
            income(2026, 9, ActivitePartielle, 30_000),
            income(2026, 10, IndemnitesMaladie, 30_000),
        ]);
        assert_eq!(reference_income(nov, &r), (40_000, 0));
    }

    #[test]
    fn other_resources_are_deducted_in_full() {
        let adult = d(ADULT.0, ADULT.1, ADULT.2);
        let nov = d(2026, 11, 1);
        use IncomeKind::*;
        let amount = |r: &Resources| {
            cej_month(nov, adult, TaxSituation::NonImposable, r).map(|c| c.amount_cents)
        };
        // 150 € of unemployment benefit each month: no disregard, 150 € less.
        let r = with(
            reference_period(nov)
                .into_iter()
                .map(|m| Income {
                    month: m,
                    kind: AllocationChomage,
                    cents: 15_000,
                })
                .collect(),
        );
        assert_eq!(amount(&r), Ok(56_168 - 15_000));
        // The same 150 € as wages would be disregarded.
        let r = Resources::steady_activity(nov, 15_000);
        assert_eq!(amount(&r), Ok(56_168));
        // Training pay above the allowance: nothing, never negative.
        let r = with(
            reference_period(nov)
                .into_iter()
                .map(|m| Income {
                    month: m,
                    kind: RemunerationFormation,
                    cents: 60_000,
                })
                .collect(),
        );
        assert_eq!(amount(&r), Ok(0));
        // Wages after the degressivity, then other resources deducted from what is left.
        let smic80 = 186_702 * 80 / 100;
        let wages = 60_000;
        let after = div_round(
            i128::from(56_168) * i128::from(smic80 - wages),
            i128::from(smic80 - DISREGARD_CENTS),
        );
        let mut r = Resources::steady_activity(nov, wages);
        r.incomes
            .extend(reference_period(nov).into_iter().map(|m| Income {
                month: m,
                kind: AutreRessource,
                cents: 10_000,
            }));
        assert_eq!(amount(&r), Ok(after - 10_000));
        let c = cej_month(nov, adult, TaxSituation::NonImposable, &r);
        assert!(c.is_ok_and(|c| c
            .steps
            .iter()
            .any(|s| s.label.contains("déduits en totalité"))));
    }

    #[test]
    fn not_due_to_a_household_receiving_rsa_or_the_activity_bonus() {
        let adult = d(ADULT.0, ADULT.1, ADULT.2);
        let nov = d(2026, 11, 1);
        let mut r = Resources::default();
        assert_eq!(
            cej_month(nov, adult, TaxSituation::NonImposable, &r).map(|c| c.amount_cents),
            Ok(56_168)
        );
        r.household_rsa_or_activity_bonus = true;
        let c = cej_month(nov, adult, TaxSituation::NonImposable, &r);
        assert!(
            c.as_ref()
                .is_ok_and(|c| c.amount_cents == 0 && c.sources.contains(&EXCLUSION_SOURCE)),
            "{c:?}"
        );
    }

    #[test]
    fn decisions() {
        assert_eq!(
            decide(50_000, AllowanceDecision::Attribuee, None, None),
            Ok(50_000)
        );
        assert!(decide(50_000, AllowanceDecision::Suspendue, None, None).is_err());
        assert_eq!(
            decide(
                50_000,
                AllowanceDecision::Suspendue,
                None,
                Some("Absences répétées")
            ),
            Ok(0)
        );
        assert_eq!(
            decide(
                50_000,
                AllowanceDecision::Reduite,
                Some(25_000),
                Some("Absence")
            ),
            Ok(25_000)
        );
        assert!(decide(
            50_000,
            AllowanceDecision::Reduite,
            Some(50_000),
            Some("Absence")
        )
        .is_err());
        assert!(decide(50_000, AllowanceDecision::Reduite, Some(0), Some("Absence")).is_err());
    }
}
