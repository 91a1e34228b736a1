//! What the dashboards publish: the indicators (definitions: docs/INDICATORS.md), the
//! breakdowns, and which breakdowns are protected together (a *family*).
//!
//! Every table of the dashboards is `unit × breakdown` for one indicator and one calendar year,
//! where the units are the fixed hierarchy nation → région → structure. Tables of one family
//! (e.g. months and quarters, where a quarter is the sum of three months) are one linear system
//! and are protected together; families of one indicator-year share the units' totals, whose
//! suppressions are made identical across families ([`crate::publish`]).

/// How an indicator's cells are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Number of facts.
    Facts,
    /// Number of distinct persons, within each structure (a jeune followed by two structures
    /// in the year counts once in each, hence in the sums above them).
    Persons,
    /// A sum over facts (`expr`, SQL, already in the displayed unit), published where the count
    /// of the `basis` indicator (same facts) is publishable: its suppression pattern is copied.
    Sum {
        expr: &'static str,
        basis: &'static str,
    },
    /// A ratio, in the indicator's unit: `factor × num ÷ den`, rounded, where `num` is an SQL
    /// aggregate over the indicator's facts and `den` the count of the `basis` indicator in the
    /// same cell (0 where that count is 0). Published where that count is, and where the count
    /// of `guard` is too (when `num` is that count: the ratio and `den` would give it away).
    Ratio {
        num: &'static str,
        basis: &'static str,
        guard: Option<&'static str>,
        factor: i64,
    },
}

impl Measure {
    /// The SQL aggregate over `facts` (alias `f`), as a BIGINT.
    pub fn sql(self) -> &'static str {
        match self {
            Measure::Facts => "CAST(COUNT(*) AS BIGINT)",
            Measure::Persons => "CAST(COUNT(DISTINCT f.pseudonyme) AS BIGINT)",
            Measure::Sum { expr, .. } => expr,
            Measure::Ratio { num, .. } => num,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Indicator {
    pub code: &'static str,
    pub label: &'static str,
    pub definition: &'static str,
    /// SQL condition on `facts` (alias `f`).
    pub filter: &'static str,
    pub measure: Measure,
    /// Unit shown after the figures ("" for counts).
    pub unit: &'static str,
}

const EVENT_PRESENT: &str =
    "(f.fait = 'evenement' OR (f.fait = 'rendez_vous' AND f.detail = 'present') \
     OR (f.fait = 'atelier' AND f.detail = 'present') OR f.fait = 'proposition')";
const ALLOWANCE_PAID: &str =
    "f.fait = 'allocation' AND f.detail IN ('attribuee', 'reduite') AND f.valeur > 0";

pub const INDICATORS: &[Indicator] = &[
    Indicator {
        code: "jeunes_en_contact",
        label: "Jeunes en contact",
        definition: "Jeunes ayant eu dans l'année au moins un événement, un rendez-vous honoré, une présence en atelier ou une proposition.",
        filter: EVENT_PRESENT,
        measure: Measure::Persons,
        unit: "",
    },
    Indicator {
        code: "premiers_accueils",
        label: "Premiers accueils",
        definition: "Phases « premier accueil » ouvertes dans la période.",
        filter: "f.fait = 'phase' AND f.type = 'premier_accueil'",
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "jeunes_accompagnes",
        label: "Jeunes accompagnés",
        definition: "Jeunes ayant eu au moins un entretien individuel dans l'année.",
        filter: "f.fait = 'evenement' AND f.type = 'entretien_individuel'",
        measure: Measure::Persons,
        unit: "",
    },
    Indicator {
        code: "entretiens_individuels",
        label: "Entretiens individuels",
        definition: "Nombre d'entretiens individuels de la période (toutes modalités).",
        filter: "f.fait = 'evenement' AND f.type = 'entretien_individuel'",
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "participations_ateliers",
        label: "Participations aux ateliers",
        definition: "Présences constatées aux ateliers, informations collectives et ateliers enregistrés comme événements.",
        filter: "((f.fait = 'atelier' AND f.detail = 'present') OR (f.fait = 'evenement' AND f.type IN ('atelier', 'information_collective')))",
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "entrees_cej",
        label: "Entrées en CEJ",
        definition: "Contrats d'engagement jeune signés dans la période.",
        filter: "f.fait = 'entree_dispositif' AND f.type = 'cej'",
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "entrees_pacea",
        label: "Entrées en PACEA",
        definition: "Entrées en parcours contractualisé d'accompagnement (PACEA) dans la période.",
        filter: "f.fait = 'entree_dispositif' AND f.type = 'pacea'",
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "jeunes_en_cej_fin_de_mois",
        label: "Jeunes en CEJ en fin de mois",
        definition: "Par mois : jeunes dont le contrat d'engagement jeune est en cours le dernier jour du mois (mois achevés à la date de l'export). Sur un trimestre ou l'année : somme des fins de mois (mois-jeunes en CEJ) ; divisée par le nombre de mois, c'est l'effectif moyen.",
        filter: "f.fait = 'cej_fin_de_mois'",
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "semaines_cej",
        label: "Semaines CEJ suivies",
        definition: "Semaines de CEJ dont les heures prévues ou réalisées sont enregistrées (une par jeune et par semaine).",
        filter: "f.fait = 'heures_cej'",
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "heures_cej_realisees",
        label: "Heures CEJ réalisées",
        definition: "Somme des heures d'activité réalisées enregistrées chaque semaine (publiée là où le nombre de semaines l'est).",
        filter: "f.fait = 'heures_cej'",
        measure: Measure::Sum {
            expr: "CAST(SUM(f.valeur2) / 60 AS BIGINT)",
            basis: "semaines_cej",
        },
        unit: "h",
    },
    Indicator {
        code: "heures_cej_prevues",
        label: "Heures CEJ prévues",
        definition: "Somme des heures d'activité prévues chaque semaine (publiée là où le nombre de semaines l'est).",
        filter: "f.fait = 'heures_cej'",
        measure: Measure::Sum {
            expr: "CAST(SUM(f.valeur) / 60 AS BIGINT)",
            basis: "semaines_cej",
        },
        unit: "h",
    },
    Indicator {
        code: "allocations_mensualites",
        label: "Allocations versées (mensualités)",
        definition: "Mensualités d'allocation CEJ ou PACEA attribuées ou réduites, d'un montant positif (une par jeune et par mois).",
        filter: ALLOWANCE_PAID,
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "allocations_montant",
        label: "Allocations versées (montant)",
        definition: "Montant des mensualités attribuées ou réduites, en euros (publié là où le nombre de mensualités l'est).",
        filter: ALLOWANCE_PAID,
        measure: Measure::Sum {
            expr: "CAST(SUM(f.valeur) / 100 AS BIGINT)",
            basis: "allocations_mensualites",
        },
        unit: "€",
    },
    Indicator {
        code: "allocations_beneficiaires",
        label: "Bénéficiaires d'une allocation",
        definition: "Jeunes ayant reçu au moins une mensualité d'allocation dans l'année.",
        filter: ALLOWANCE_PAID,
        measure: Measure::Persons,
        unit: "",
    },
    Indicator {
        code: "immersions",
        label: "Immersions réalisées",
        definition: "Propositions d'immersion (PMSMP) réalisées.",
        filter: "f.fait = 'proposition' AND f.type = 'immersion' AND f.detail = 'realisee'",
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "propositions",
        label: "Propositions",
        definition: "Propositions faites aux jeunes (offres, formations, immersions, alternance) ; ventilables par type et par résultat.",
        filter: "f.fait = 'proposition'",
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "sorties",
        label: "Sorties",
        definition: "Sorties de l'accompagnement dans la période ; ventilables par motif (liste nationale).",
        filter: "f.fait = 'sortie'",
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "sorties_emploi_durable",
        label: "Sorties en emploi durable",
        definition: "Sorties pour emploi durable (CDI, CDD ou alternance de plus de six mois, titularisation).",
        filter: "f.fait = 'sortie' AND f.type = 'emploi_durable'",
        measure: Measure::Facts,
        unit: "",
    },
    Indicator {
        code: "part_sorties_emploi_durable",
        label: "Part des sorties en emploi durable",
        definition: "Sorties en emploi durable rapportées à l'ensemble des sorties de la période, en pourcentage arrondi (0 là où il n'y a aucune sortie) ; publiée là où les deux nombres le sont.",
        filter: "f.fait = 'sortie'",
        measure: Measure::Ratio {
            num: "CAST(SUM(CASE WHEN f.type = 'emploi_durable' THEN 1 ELSE 0 END) AS BIGINT)",
            basis: "sorties",
            guard: Some("sorties_emploi_durable"),
            factor: 100,
        },
        unit: "%",
    },
    Indicator {
        code: "duree_moyenne_accompagnement",
        label: "Durée moyenne d'accompagnement à la sortie",
        definition: "Pour les sorties de la période : nombre moyen de mois entre le mois d'inscription du jeune et le mois de sa sortie, arrondi au mois (l'entrepôt ne connaît que des mois) ; publiée là où le nombre de sorties l'est.",
        filter: "f.fait = 'sortie'",
        measure: Measure::Ratio {
            num: "CAST(SUM(f.valeur) AS BIGINT)",
            basis: "sorties",
            guard: None,
            factor: 1,
        },
        unit: "mois",
    },
];

/// Two count indicators that publish the same cells: every fact of `part` is a fact of `whole`
/// whose `family` value is `value`, so `part`'s total of a unit is `whole`'s cell
/// `(unit, value)` in that family. Protected separately, a cell suppressed in one would be read
/// in the other: they are protected together ([`crate::publish::Warehouse::families`]). The
/// test `every_link_between_indicators_is_declared` finds every such pair from the filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub whole: &'static str,
    pub family: &'static str,
    pub value: &'static str,
    pub part: &'static str,
}

pub const LINKS: &[Link] = &[Link {
    whole: "sorties",
    family: "categorie",
    value: "emploi_durable",
    part: "sorties_emploi_durable",
}];

/// The link an indicator belongs to, in either role.
pub fn link_of(code: &str) -> Option<&'static Link> {
    LINKS.iter().find(|l| l.whole == code || l.part == code)
}

/// Pairs of count indicators whose filters say that one is the other restricted to one value
/// of a family (`<filter> AND f.type = '<value>'`): what [`LINKS`] must declare. A restriction
/// to two values at once (`immersions`: a type and a status) shares no published cell (the
/// dashboards never cross two families).
pub fn implied_links() -> Vec<Link> {
    let mut out = Vec::new();
    let counts = || INDICATORS.iter().filter(|i| i.measure == Measure::Facts);
    for whole in counts() {
        for part in counts() {
            for family in ["categorie", "statut"] {
                let Some(expr) = family_expr(family, Measure::Facts) else {
                    continue;
                };
                let prefix = format!("{} AND {expr} = '", whole.filter);
                let value = part
                    .filter
                    .strip_prefix(&prefix)
                    .and_then(|v| v.strip_suffix('\''))
                    .filter(|v| v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
                if let Some(value) = value {
                    out.push(Link {
                        whole: whole.code,
                        family,
                        value: LINKS
                            .iter()
                            .find(|l| l.value == value)
                            .map_or("(non déclaré)", |l| l.value),
                        part: part.code,
                    });
                }
            }
        }
    }
    out
}

pub fn indicator(code: &str) -> Option<&'static Indicator> {
    INDICATORS.iter().find(|i| i.code == code)
}

/// A breakdown offered in the dashboards (the table's columns).
#[derive(Debug, Clone, Copy)]
pub struct Breakdown {
    pub code: &'static str,
    pub label: &'static str,
    /// The family protected together.
    pub family: &'static str,
}

pub const BREAKDOWNS: &[Breakdown] = &[
    Breakdown {
        code: "aucune",
        label: "Total seulement",
        family: "sexe",
    },
    Breakdown {
        code: "mois",
        label: "Mois",
        family: "mois",
    },
    Breakdown {
        code: "trimestre",
        label: "Trimestre",
        family: "mois",
    },
    Breakdown {
        code: "tranche_age",
        label: "Tranche d'âge",
        family: "tranche_age",
    },
    Breakdown {
        code: "sexe",
        label: "Sexe",
        family: "sexe",
    },
    Breakdown {
        code: "nationalite",
        label: "Nationalité",
        family: "nationalite",
    },
    Breakdown {
        code: "niveau",
        label: "Niveau de formation",
        family: "niveau",
    },
    Breakdown {
        code: "qpv",
        label: "Résidence en QPV",
        family: "qpv",
    },
    Breakdown {
        code: "zrr",
        label: "Résidence en ZRR",
        family: "zrr",
    },
    Breakdown {
        code: "region_residence",
        label: "Région de résidence",
        family: "region_residence",
    },
    Breakdown {
        code: "departement",
        label: "Département de résidence",
        family: "departement",
    },
    Breakdown {
        code: "categorie",
        label: "Type ou motif",
        family: "categorie",
    },
    Breakdown {
        code: "statut",
        label: "Statut ou résultat",
        family: "statut",
    },
];

pub fn breakdown(code: &str) -> Option<&'static Breakdown> {
    BREAKDOWNS.iter().find(|b| b.code == code)
}

/// The SQL expression of a family's values, for facts or for persons (`None`: the family is
/// not offered for counts of persons — a person may fall in several months or statuses, and
/// those tables would not add up).
pub fn family_expr(family: &str, measure: Measure) -> Option<&'static str> {
    let persons = measure == Measure::Persons;
    Some(match family {
        "mois" if !persons => "f.mois",
        "tranche_age" if persons => "p.tranche_age",
        "tranche_age" => "f.tranche_age",
        "sexe" => "p.sexe",
        "nationalite" => "p.nationalite",
        "niveau" => "p.niveau",
        "qpv" => "p.qpv",
        "zrr" => "p.zrr",
        "region_residence" => "p.region",
        "departement" => "p.departement",
        "categorie" if !persons => "f.type",
        "statut" if !persons => "f.detail",
        _ => return None,
    })
}

/// Every family of an indicator.
pub fn families(measure: Measure) -> Vec<&'static str> {
    let mut out: Vec<&str> = BREAKDOWNS
        .iter()
        .map(|b| b.family)
        .filter(|f| family_expr(f, measure).is_some())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// French label of a value of a breakdown.
pub fn value_label(family: &str, code: &str) -> String {
    use parcours_domain::vocab::*;
    if code == "*" {
        return "Non diffusé (k-anonymat)".into();
    }
    if code.is_empty() {
        return "Non renseigné".into();
    }
    let from_lists = || {
        ExitReason::parse(code)
            .map(|v| v.label())
            .or_else(|| ProposalKind::parse(code).map(|v| v.label()))
            .or_else(|| ProposalStatus::parse(code).map(|v| v.label()))
            .or_else(|| EventKind::parse(code).map(|v| v.label()))
            .or_else(|| ProgrammeKind::parse(code).map(|v| v.label()))
            .or_else(|| SituationCategory::parse(code).map(|v| v.label()))
            .or_else(|| AllowanceDecision::parse(code).map(|v| v.label()))
            .or_else(|| AppointmentStatus::parse(code).map(|v| v.label()))
            .or_else(|| RegistrationStatus::parse(code).map(|v| v.label()))
            .or_else(|| Phase::parse(code).map(|v| v.label()))
            .or_else(|| Modalite::parse(code).map(|v| v.label()))
            .or_else(|| Theme::parse(code).map(|v| v.label()))
    };
    match (family, code) {
        ("sexe", "F") => "Femmes".into(),
        ("sexe", "M") => "Hommes".into(),
        ("qpv" | "zrr", "oui") => "Oui".into(),
        ("qpv" | "zrr", "non") => "Non".into(),
        ("nationalite", "francaise") => "Française".into(),
        ("nationalite", "ue") => "Union européenne".into(),
        ("nationalite", "hors_ue") => "Hors Union européenne".into(),
        ("tranche_age", c) => format!("{c} ans"),
        ("niveau", c) => format!("Niveau {c}"),
        ("categorie" | "statut", c) => from_lists().map(str::to_string).unwrap_or(c.into()),
        (_, c) => c.to_string(),
    }
}

/// French label of a month `AAAA-MM`.
pub fn month_label(m: &str) -> String {
    const NAMES: [&str; 12] = [
        "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
        "déc.",
    ];
    let n: usize = m.get(5..7).and_then(|x| x.parse().ok()).unwrap_or(0);
    match NAMES.get(n.wrapping_sub(1)) {
        Some(name) => format!("{name} {}", m.get(..4).unwrap_or_default()),
        None => m.to_string(),
    }
}

/// Quarter of a month `AAAA-MM`: `T1`…`T4`.
pub fn quarter_of(m: &str) -> String {
    let n: u32 = m.get(5..7).and_then(|x| x.parse().ok()).unwrap_or(1);
    format!("T{}", (n.clamp(1, 12) - 1) / 3 + 1)
}
