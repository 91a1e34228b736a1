//! The identity part of the dossier jeune: raw input as typed (web form, API, CSV line), and its
//! validation into a normalised [`Identity`] plus warnings.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::normalize;
use crate::phone;
use crate::validation::{clean_text, ValidationErrors, Warning};

/// Field names, in the order of the import header and of the forms.
pub const FIELDS: [&str; 11] = [
    "nom",
    "prenom",
    "date_naissance",
    "sexe",
    "nationalite",
    "email",
    "telephone",
    "adresse",
    "code_postal",
    "commune",
    "niveau_formation",
];

/// French label of a field, for messages.
pub fn label(field: &str) -> &'static str {
    match field {
        "nom" => "Nom",
        "prenom" => "Prénom(s)",
        "date_naissance" => "Date de naissance",
        "sexe" => "Sexe",
        "nationalite" => "Nationalité",
        "email" => "E-mail",
        "telephone" => "Téléphone",
        "adresse" => "Adresse",
        "code_postal" => "Code postal",
        "commune" => "Commune",
        "niveau_formation" => "Niveau de formation",
        _ => "Champ",
    }
}

/// What a person typed, unvalidated. Every field is text so that bad input can be reported
/// field by field instead of failing deserialisation.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct JeuneInput {
    pub nom: String,
    pub prenom: String,
    pub date_naissance: String,
    pub sexe: String,
    pub nationalite: String,
    pub email: String,
    pub telephone: String,
    pub adresse: String,
    pub code_postal: String,
    pub commune: String,
    pub niveau_formation: String,
}

impl JeuneInput {
    pub fn get(&self, field: &str) -> &str {
        match field {
            "nom" => &self.nom,
            "prenom" => &self.prenom,
            "date_naissance" => &self.date_naissance,
            "sexe" => &self.sexe,
            "nationalite" => &self.nationalite,
            "email" => &self.email,
            "telephone" => &self.telephone,
            "adresse" => &self.adresse,
            "code_postal" => &self.code_postal,
            "commune" => &self.commune,
            "niveau_formation" => &self.niveau_formation,
            _ => "",
        }
    }

    pub fn set(&mut self, field: &str, value: String) -> bool {
        let slot = match field {
            "nom" => &mut self.nom,
            "prenom" => &mut self.prenom,
            "date_naissance" => &mut self.date_naissance,
            "sexe" => &mut self.sexe,
            "nationalite" => &mut self.nationalite,
            "email" => &mut self.email,
            "telephone" => &mut self.telephone,
            "adresse" => &mut self.adresse,
            "code_postal" => &mut self.code_postal,
            "commune" => &mut self.commune,
            "niveau_formation" => &mut self.niveau_formation,
            _ => return false,
        };
        *slot = value;
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sexe {
    F,
    M,
}

impl Sexe {
    /// Accepted values: `F`, `M`, `femme`, `homme`, `féminin`, `masculin` (any case). French civil
    /// status, which Mission Locale reporting follows, records these two values.
    pub fn parse(s: &str) -> Option<Sexe> {
        match normalize::fold(s).as_str() {
            "f" | "femme" | "feminin" => Some(Sexe::F),
            "m" | "h" | "homme" | "masculin" => Some(Sexe::M),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Sexe::F => "F",
            Sexe::M => "M",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Sexe::F => "Femme",
            Sexe::M => "Homme",
        }
    }
}

/// A validated, normalised identity. Phone in E.164, e-mail in lower case, names trimmed with
/// single spaces but otherwise as typed (accents kept for display).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub nom: String,
    pub prenom: String,
    pub date_naissance: NaiveDate,
    pub sexe: Sexe,
    pub nationalite: Option<String>,
    pub email: Option<String>,
    pub telephone: Option<String>,
    pub adresse: Option<String>,
    pub code_postal: Option<String>,
    pub commune: Option<String>,
    /// 2019 national scale, 1 (no qualification) to 8 (doctorate).
    pub niveau_formation: Option<u8>,
}

impl Identity {
    /// The same identity as text fields, e.g. to prefill an edit form.
    pub fn to_input(&self) -> JeuneInput {
        JeuneInput {
            nom: self.nom.clone(),
            prenom: self.prenom.clone(),
            date_naissance: self.date_naissance.format("%d/%m/%Y").to_string(),
            sexe: self.sexe.code().to_string(),
            nationalite: self.nationalite.clone().unwrap_or_default(),
            email: self.email.clone().unwrap_or_default(),
            telephone: self.telephone.clone().unwrap_or_default(),
            adresse: self.adresse.clone().unwrap_or_default(),
            code_postal: self.code_postal.clone().unwrap_or_default(),
            commune: self.commune.clone().unwrap_or_default(),
            niveau_formation: self
                .niveau_formation
                .map(|n| n.to_string())
                .unwrap_or_default(),
        }
    }

    pub fn age_on(&self, today: NaiveDate) -> i32 {
        age_on(self.date_naissance, today)
    }
}

pub fn age_on(birth: NaiveDate, today: NaiveDate) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Parses `JJ/MM/AAAA` or `AAAA-MM-JJ`, with a French reason on failure.
pub fn parse_date(raw: &str) -> Result<NaiveDate, (&'static str, String)> {
    // Exactly JJ/MM/AAAA or AAAA-MM-JJ, digits only: "01/1/20025" or "01/+1/2005" are not
    // dates (the first was accepted as the year 20025 — found by fuzz/validators).
    fn shaped(s: &str, sep: char, widths: [usize; 3]) -> Option<[&str; 3]> {
        let mut it = s.split(sep);
        let p = [it.next()?, it.next()?, it.next()?];
        let ok = it.next().is_none()
            && p.iter()
                .zip(widths)
                .all(|(x, w)| x.len() == w && x.bytes().all(|b| b.is_ascii_digit()));
        ok.then_some(p)
    }
    let s = raw.trim();
    // At most four ASCII digits: always a number.
    let n = |x: &str| x.parse::<u32>().unwrap_or(0);
    let parts: Option<(i32, u32, u32)> = if let Some([d, m, y]) = shaped(s, '/', [2, 2, 4]) {
        Some((n(y) as i32, n(m), n(d)))
    } else if let Some([y, m, d]) = shaped(s, '-', [4, 2, 2]) {
        Some((n(y) as i32, n(m), n(d)))
    } else {
        None
    };
    let Some((y, m, d)) = parts else {
        return Err((
            "date_format",
            "Date illisible : utilisez JJ/MM/AAAA ou AAAA-MM-JJ.".to_string(),
        ));
    };
    if !(1..=12).contains(&m) {
        return Err(("date_invalide", format!("Le mois {m} n'existe pas.")));
    }
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| {
        (
            "date_invalide",
            format!("Le {d:02}/{m:02}/{y:04} n'existe pas dans le calendrier."),
        )
    })
}

/// Validates a dossier identity. `today` is the date of the action (time is a parameter).
/// Errors block; warnings (age outside 16–25) are returned alongside a valid identity.
pub fn validate(
    input: &JeuneInput,
    today: NaiveDate,
) -> Result<(Identity, Vec<Warning>), ValidationErrors> {
    let mut e = ValidationErrors::default();
    let mut warnings = Vec::new();

    let nom = required_name(&mut e, "nom", &input.nom);
    let prenom = required_name(&mut e, "prenom", &input.prenom);

    let date_naissance = if input.date_naissance.trim().is_empty() {
        e.push(
            "date_naissance",
            "requis",
            "La date de naissance est obligatoire.",
        );
        None
    } else {
        match parse_date(&input.date_naissance) {
            Err((code, msg)) => {
                e.push("date_naissance", code, msg);
                None
            }
            Ok(d) if d > today => {
                e.push(
                    "date_naissance",
                    "date_future",
                    "La date de naissance est dans le futur.",
                );
                None
            }
            Ok(d) if age_on(d, today) > 99 => {
                e.push(
                    "date_naissance",
                    "date_invalide",
                    "La date de naissance donne un âge de plus de 99 ans.",
                );
                None
            }
            Ok(d) => {
                let age = age_on(d, today);
                if !(16..=25).contains(&age) {
                    warnings.push(Warning {
                        code: "age_hors_tranche",
                        message: format!(
                            "Âge de {age} ans, hors de la tranche 16–25 ans : vérifiez l'éligibilité (jusqu'à 29 ans avec une RQTH)."
                        ),
                    });
                }
                Some(d)
            }
        }
    };

    let sexe = if input.sexe.trim().is_empty() {
        e.push("sexe", "requis", "Le sexe est obligatoire (F ou M).");
        None
    } else {
        let s = Sexe::parse(&input.sexe);
        if s.is_none() {
            e.push(
                "sexe",
                "sexe_inconnu",
                "Valeur de sexe inconnue : F (femme) ou M (homme).",
            );
        }
        s
    };

    let nationalite = clean_text(
        &mut e,
        "nationalite",
        "La nationalité",
        &input.nationalite,
        60,
    );

    let email = clean_text(&mut e, "email", "L'e-mail", &input.email, 254).and_then(|v| {
        if valid_email(&v) {
            Some(normalize::email(&v))
        } else {
            e.push(
                "email",
                "email_invalide",
                "Adresse e-mail invalide (exemple : prenom.nom@exemple.fr).",
            );
            None
        }
    });

    let telephone = if input.telephone.trim().is_empty() {
        None
    } else {
        match phone::to_e164(&input.telephone) {
            Ok(p) => Some(p),
            Err(pe) => {
                e.push("telephone", pe.code, pe.message);
                None
            }
        }
    };

    let adresse = clean_text(&mut e, "adresse", "L'adresse", &input.adresse, 200);
    let code_postal = match input.code_postal.trim() {
        "" => None,
        cp if cp.len() == 5 && cp.chars().all(|c| c.is_ascii_digit()) => Some(cp.to_string()),
        _ => {
            e.push(
                "code_postal",
                "code_postal_invalide",
                "Le code postal doit comporter 5 chiffres.",
            );
            None
        }
    };
    let commune = clean_text(&mut e, "commune", "La commune", &input.commune, 100);

    let niveau_formation = match input.niveau_formation.trim() {
        "" => None,
        s => match s.parse::<u8>() {
            Ok(n) if (1..=8).contains(&n) => Some(n),
            _ => {
                e.push(
                    "niveau_formation",
                    "niveau_invalide",
                    "Le niveau de formation suit la nomenclature 2019 : un chiffre de 1 à 8.",
                );
                None
            }
        },
    };

    match (e.is_empty(), nom, prenom, date_naissance, sexe) {
        (true, Some(nom), Some(prenom), Some(date_naissance), Some(sexe)) => Ok((
            Identity {
                nom,
                prenom,
                date_naissance,
                sexe,
                nationalite,
                email,
                telephone,
                adresse,
                code_postal,
                commune,
                niveau_formation,
            },
            warnings,
        )),
        _ => Err(e),
    }
}

fn required_name(e: &mut ValidationErrors, field: &str, raw: &str) -> Option<String> {
    let lab = label(field);
    let v = clean_text(e, field, lab, raw, 100);
    match v {
        None => {
            if e.for_field(field).is_none() {
                e.push(field, "requis", format!("{lab} : champ obligatoire."));
            }
            None
        }
        Some(v) => {
            if !v.chars().any(|c| c.is_alphabetic()) {
                e.push(
                    field,
                    "nom_invalide",
                    format!("{lab} doit contenir des lettres."),
                );
                return None;
            }
            // Collapse inner runs of spaces ("Jean  Baptiste" → "Jean Baptiste").
            Some(v.split_whitespace().collect::<Vec<_>>().join(" "))
        }
    }
}

/// A pragmatic e-mail check: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn valid_email(s: &str) -> bool {
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default()
    }

    fn base() -> JeuneInput {
        JeuneInput {
            nom: "Martin".into(),
            prenom: "Léa".into(),
            date_naissance: "12/05/2006".into(),
            sexe: "F".into(),
            ..Default::default()
        }
    }

    #[test]
    fn dates_both_formats_and_leap_day() {
        assert_eq!(
            parse_date("29/02/2004").ok(),
            NaiveDate::from_ymd_opt(2004, 2, 29)
        );
        assert_eq!(
            parse_date("2004-12-31").ok(),
            NaiveDate::from_ymd_opt(2004, 12, 31)
        );
        assert_eq!(parse_date("31/02/2005").unwrap_err().0, "date_invalide");
        assert_eq!(parse_date("2005-13-01").unwrap_err().0, "date_invalide");
        assert_eq!(parse_date("5/5/2005").unwrap_err().0, "date_format");
        // Found by fuzz/validators: the right length, the wrong shape.
        for bad in ["01/1/20025", "01/+1/2005", "+005-01-01", "2005-1-011"] {
            assert_eq!(parse_date(bad).unwrap_err().0, "date_format", "{bad}");
        }
    }

    #[test]
    fn future_birth_date_refused_age_warning_not_refusal() {
        let mut i = base();
        i.date_naissance = "12/05/2031".into();
        let e = validate(&i, today()).unwrap_err();
        assert_eq!(
            e.for_field("date_naissance").map(|f| f.code),
            Some("date_future")
        );

        let mut i = base();
        i.date_naissance = "22/03/2000".into();
        let (_, w) = validate(&i, today()).expect("valid with warning");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].code, "age_hors_tranche");

        let (_, w) = validate(&base(), today()).expect("valid");
        assert!(w.is_empty());
    }

    #[test]
    fn age_boundaries() {
        let birth = NaiveDate::from_ymd_opt(2000, 3, 22).unwrap_or_default();
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
        assert_eq!(age_on(birth, d(2026, 3, 21)), 25);
        assert_eq!(age_on(birth, d(2026, 3, 22)), 26);
    }

    #[test]
    fn every_field_error_collected() {
        let i = JeuneInput {
            nom: "".into(),
            prenom: "Chloé".into(),
            date_naissance: "01/01/2005".into(),
            sexe: "X".into(),
            email: "a@@b".into(),
            telephone: "06 AB".into(),
            code_postal: "7501".into(),
            niveau_formation: "12".into(),
            ..Default::default()
        };
        let e = validate(&i, today()).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "nom",
                "sexe",
                "email",
                "telephone",
                "code_postal",
                "niveau_formation"
            ]
        );
        let long_cp = JeuneInput {
            code_postal: "750011".into(),
            ..base()
        };
        let e = validate(&long_cp, today()).unwrap_err();
        assert_eq!(e.0[0].code, "code_postal_invalide");
    }

    #[test]
    fn normalises_phone_email_spaces() {
        let i = JeuneInput {
            prenom: "Jean  Baptiste".into(),
            email: "JB.Lefevre@Exemple.FR".into(),
            telephone: "06-12-34-56-79".into(),
            ..base()
        };
        let (id, _) = validate(&i, today()).expect("valid");
        assert_eq!(id.prenom, "Jean Baptiste");
        assert_eq!(id.email.as_deref(), Some("jb.lefevre@exemple.fr"));
        assert_eq!(id.telephone.as_deref(), Some("+33612345679"));
    }
}
