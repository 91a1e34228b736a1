//! The jeune's situation (family, housing, mobility, resources, qualification) and the legal
//! representatives of a minor. The whole situation is personal data: it is stored encrypted, one
//! version per change, so its history ("who changed what, when") is the list of versions.

use serde::{Deserialize, Serialize};

use crate::validation::{clean_text, ValidationErrors};
use crate::vocab::{Logement, MinimumIncome, SituationFamiliale};

/// Qualification level on the national scale of 2019 (décret n° 2019-14 du 8 janvier 2019
/// relatif au cadre national des certifications professionnelles), levels 1 to 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Niveau(pub u8);

impl Niveau {
    pub fn parse(raw: &str) -> Option<Niveau> {
        match raw.trim().parse::<u8>() {
            Ok(n @ 1..=8) => Some(Niveau(n)),
            _ => None,
        }
    }

    /// Maps the former nomenclature (circulaire du 11 juillet 1967: VI, V bis, V, IV, III, II, I,
    /// and "infra V" for VI and V bis) to the 2019 levels. Level I covered both master and
    /// doctorate: it maps to 7, the common case (decision recorded in docs/PARCOURS.md).
    pub fn from_former(code: &str) -> Option<Niveau> {
        let c: String = code
            .trim()
            .to_uppercase()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let n = match c.as_str() {
            "VI" => 1,
            "VBIS" | "INFRAV" => 2,
            "V" => 3,
            "IV" => 4,
            "III" => 5,
            "II" => 6,
            "I" => 7,
            _ => return None,
        };
        Some(Niveau(n))
    }

    pub fn label(self) -> &'static str {
        match self.0 {
            1 => "Niveau 1 — savoirs de base",
            2 => "Niveau 2 — socle de compétences (infra V)",
            3 => "Niveau 3 — CAP, BEP (ancien V)",
            4 => "Niveau 4 — baccalauréat (ancien IV)",
            5 => "Niveau 5 — bac + 2 (ancien III)",
            6 => "Niveau 6 — licence, bac + 3 ou 4 (ancien II)",
            7 => "Niveau 7 — master, bac + 5 (ancien I)",
            _ => "Niveau 8 — doctorat (ancien I)",
        }
    }
}

/// One version of the situation. Every field is optional: advisors fill it in over time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Situation {
    pub situation_familiale: Option<SituationFamiliale>,
    pub enfants_a_charge: Option<u8>,
    pub logement: Option<Logement>,
    pub permis: Option<bool>,
    pub vehicule: Option<bool>,
    /// Monthly resources in euro cents.
    pub ressources_cents: Option<i64>,
    pub minimum_social: Option<MinimumIncome>,
    pub rqth: Option<bool>,
    pub qpv: Option<bool>,
    pub zrr: Option<bool>,
    pub niveau: Option<Niveau>,
    pub diplome: Option<String>,
    pub derniere_classe: Option<String>,
    pub langues: Option<String>,
}

/// The form or API input of a situation, as typed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SituationInput {
    pub situation_familiale: String,
    pub enfants_a_charge: String,
    pub logement: String,
    pub permis: String,
    pub vehicule: String,
    pub ressources: String,
    pub minimum_social: String,
    pub rqth: String,
    pub qpv: String,
    pub zrr: String,
    /// `1`–`8`, or a former code (`V`, `IV`, `Vbis`, `infra V`…).
    pub niveau: String,
    pub diplome: String,
    pub derniere_classe: String,
    pub langues: String,
}

/// Parses a French yes/no (`oui`, `non`, `true`, `false`, `1`, `0`, `on`); empty is unknown.
pub fn parse_bool(
    errors: &mut ValidationErrors,
    field: &str,
    label: &str,
    raw: &str,
) -> Option<bool> {
    match raw.trim().to_lowercase().as_str() {
        "" => None,
        "oui" | "true" | "1" | "on" => Some(true),
        "non" | "false" | "0" | "off" => Some(false),
        _ => {
            errors.push(field, "invalide", format!("{label} : répondez oui ou non."));
            None
        }
    }
}

/// Parses an amount in euros typed the French way (`1 234,56`, `300`, `300.5`) into cents.
pub fn parse_euros(raw: &str) -> Option<i64> {
    let s: String = raw
        .trim()
        .trim_end_matches('€')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
        .collect::<String>()
        .replace(',', ".");
    if s.is_empty() || s.starts_with('-') {
        return None;
    }
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if int.is_empty() || !int.chars().all(|c| c.is_ascii_digit()) || int.len() > 9 {
        return None;
    }
    if frac.len() > 2 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse::<i64>().ok()?,
    };
    Some(int.parse::<i64>().ok()? * 100 + cents)
}

/// Formats cents as French euros: `1 234,56 €`.
pub fn format_euros(cents: i64) -> String {
    let neg = cents < 0;
    let c = cents.unsigned_abs();
    let int = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(ch);
    }
    format!("{}{},{:02} €", if neg { "-" } else { "" }, grouped, c % 100)
}

fn parse_code<T>(
    errors: &mut ValidationErrors,
    field: &str,
    label: &str,
    raw: &str,
    parse: fn(&str) -> Option<T>,
) -> Option<T> {
    let v = raw.trim();
    if v.is_empty() {
        return None;
    }
    let out = parse(v);
    if out.is_none() {
        errors.push(field, "invalide", format!("{label} : valeur inconnue."));
    }
    out
}

pub fn validate_situation(input: &SituationInput) -> Result<Situation, ValidationErrors> {
    let mut e = ValidationErrors::default();
    let enfants = match input.enfants_a_charge.trim() {
        "" => None,
        v => match v.parse::<u8>() {
            Ok(n) if n <= 20 => Some(n),
            _ => {
                e.push(
                    "enfants_a_charge",
                    "invalide",
                    "Enfants à charge : un nombre entre 0 et 20.",
                );
                None
            }
        },
    };
    let ressources = match input.ressources.trim() {
        "" => None,
        v => match parse_euros(v) {
            Some(c) => Some(c),
            None => {
                e.push(
                    "ressources",
                    "invalide",
                    "Ressources mensuelles : un montant en euros, par exemple 450 ou 450,50.",
                );
                None
            }
        },
    };
    let niveau = match input.niveau.trim() {
        "" => None,
        v => match Niveau::parse(v).or_else(|| Niveau::from_former(v)) {
            Some(n) => Some(n),
            None => {
                e.push(
                    "niveau",
                    "invalide",
                    "Niveau de formation : de 1 à 8 (nomenclature 2019) ou ancien code (VI, V bis, V, IV, III, II, I).",
                );
                None
            }
        },
    };
    let s = Situation {
        situation_familiale: parse_code(
            &mut e,
            "situation_familiale",
            "Situation familiale",
            &input.situation_familiale,
            SituationFamiliale::parse,
        ),
        enfants_a_charge: enfants,
        logement: parse_code(
            &mut e,
            "logement",
            "Logement",
            &input.logement,
            Logement::parse,
        ),
        permis: parse_bool(&mut e, "permis", "Permis de conduire", &input.permis),
        vehicule: parse_bool(&mut e, "vehicule", "Véhicule", &input.vehicule),
        ressources_cents: ressources,
        minimum_social: parse_code(
            &mut e,
            "minimum_social",
            "Minimum social",
            &input.minimum_social,
            MinimumIncome::parse,
        ),
        rqth: parse_bool(&mut e, "rqth", "RQTH", &input.rqth),
        qpv: parse_bool(&mut e, "qpv", "Résidence en QPV", &input.qpv),
        zrr: parse_bool(&mut e, "zrr", "Résidence en ZRR", &input.zrr),
        niveau,
        diplome: clean_text(&mut e, "diplome", "Diplôme", &input.diplome, 200),
        derniere_classe: clean_text(
            &mut e,
            "derniere_classe",
            "Dernière classe",
            &input.derniere_classe,
            100,
        ),
        langues: clean_text(&mut e, "langues", "Langues", &input.langues, 200),
    };
    if e.is_empty() {
        Ok(s)
    } else {
        Err(e)
    }
}

/// Names of the situation fields that differ between two versions (for the history and the
/// audit entry, which names fields, never values).
pub fn changed_fields(old: &Situation, new: &Situation) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($f:ident),+) => { $( if old.$f != new.$f { out.push(stringify!($f)); } )+ };
    }
    cmp!(
        situation_familiale,
        enfants_a_charge,
        logement,
        permis,
        vehicule,
        ressources_cents,
        minimum_social,
        rqth,
        qpv,
        zrr,
        niveau,
        diplome,
        derniere_classe,
        langues
    );
    out
}

/// A legal representative of a minor: a third person's identity and contacts (encrypted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LegalRep {
    pub lien: String,
    pub nom: String,
    pub prenom: String,
    pub telephone: Option<String>,
    pub email: Option<String>,
    pub adresse: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct LegalRepInput {
    pub lien: String,
    pub nom: String,
    pub prenom: String,
    pub telephone: String,
    pub email: String,
    pub adresse: String,
}

pub fn validate_legal_rep(input: &LegalRepInput) -> Result<LegalRep, ValidationErrors> {
    let mut e = ValidationErrors::default();
    let lien = clean_text(&mut e, "lien", "Lien", &input.lien, 60);
    let nom = clean_text(&mut e, "nom", "Nom", &input.nom, 100);
    let prenom = clean_text(&mut e, "prenom", "Prénom", &input.prenom, 100);
    for (f, l, v) in [
        ("lien", "Lien (mère, père, tuteur…)", &lien),
        ("nom", "Nom", &nom),
        ("prenom", "Prénom", &prenom),
    ] {
        if v.is_none() && e.for_field(f).is_none() {
            e.push(f, "obligatoire", format!("{l} : obligatoire."));
        }
    }
    let telephone = match input.telephone.trim() {
        "" => None,
        t => match crate::phone::to_e164(t) {
            Ok(p) => Some(p),
            Err(err) => {
                e.push("telephone", err.code, err.message);
                None
            }
        },
    };
    let email = match input.email.trim() {
        "" => None,
        m if crate::jeune::valid_email(m) => Some(m.to_string()),
        _ => {
            e.push("email", "invalide", "E-mail : adresse invalide.");
            None
        }
    };
    let adresse = clean_text(&mut e, "adresse", "Adresse", &input.adresse, 300);
    if telephone.is_none() && email.is_none() && adresse.is_none() && e.is_empty() {
        e.push(
            "telephone",
            "contact_obligatoire",
            "Indiquez au moins un moyen de contact : téléphone, e-mail ou adresse.",
        );
    }
    if !e.is_empty() {
        return Err(e);
    }
    Ok(LegalRep {
        lien: lien.unwrap_or_default(),
        nom: nom.unwrap_or_default(),
        prenom: prenom.unwrap_or_default(),
        telephone,
        email,
        adresse,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn former_levels_map_to_2019() {
        assert_eq!(Niveau::from_former("V"), Some(Niveau(3)));
        assert_eq!(Niveau::from_former("IV"), Some(Niveau(4)));
        assert_eq!(Niveau::from_former("V bis"), Some(Niveau(2)));
        assert_eq!(Niveau::from_former("infra-V"), Some(Niveau(2)));
        assert_eq!(Niveau::from_former("VI"), Some(Niveau(1)));
        assert_eq!(Niveau::from_former("I"), Some(Niveau(7)));
        assert_eq!(Niveau::from_former("IX"), None);
        assert_eq!(Niveau::parse("9"), None);
        assert_eq!(Niveau::parse("0"), None);
    }

    #[test]
    fn euros_parse_the_french_way() {
        assert_eq!(parse_euros("1 234,56"), Some(123_456));
        assert_eq!(parse_euros("300"), Some(30_000));
        assert_eq!(parse_euros("300,5 €"), Some(30_050));
        assert_eq!(parse_euros("-3"), None);
        assert_eq!(parse_euros("3,456"), None);
        assert_eq!(parse_euros("abc"), None);
        assert_eq!(format_euros(123_456), "1\u{202f}234,56 €");
        assert_eq!(format_euros(5), "0,05 €");
    }

    #[test]
    fn situation_errors_are_per_field_and_history_names_fields() {
        let bad = SituationInput {
            enfants_a_charge: "beaucoup".into(),
            niveau: "12".into(),
            permis: "peut-être".into(),
            ..Default::default()
        };
        let e = validate_situation(&bad).err().unwrap_or_default();
        assert!(e.for_field("enfants_a_charge").is_some());
        assert!(e.for_field("niveau").is_some());
        assert!(e.for_field("permis").is_some());
        let a = validate_situation(&SituationInput {
            niveau: "IV".into(),
            rqth: "oui".into(),
            ..Default::default()
        })
        .unwrap_or_default();
        assert_eq!(a.niveau, Some(Niveau(4)));
        let mut b = a.clone();
        b.qpv = Some(true);
        assert_eq!(changed_fields(&a, &b), vec!["qpv"]);
    }

    #[test]
    fn legal_rep_needs_a_contact() {
        let e = validate_legal_rep(&LegalRepInput {
            lien: "mère".into(),
            nom: "Durand".into(),
            prenom: "Anne".into(),
            ..Default::default()
        })
        .err()
        .unwrap_or_default();
        assert!(e.for_field("telephone").is_some());
        let ok = validate_legal_rep(&LegalRepInput {
            lien: "mère".into(),
            nom: "Durand".into(),
            prenom: "Anne".into(),
            telephone: "06 12 34 56 78".into(),
            ..Default::default()
        });
        assert_eq!(ok.map(|r| r.telephone), Ok(Some("+33612345678".into())));
    }
}
