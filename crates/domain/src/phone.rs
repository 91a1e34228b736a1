//! French phone numbers to E.164, including the overseas departments whose national numbers
//! start with 0262/0692 (La Réunion, Mayotte), 0590/0690 (Guadeloupe), 0594/0694 (Guyane),
//! 0596/0696 (Martinique) and 0508 (Saint-Pierre-et-Miquelon).

/// Why a phone number was refused (French message in `message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneError {
    pub code: &'static str,
    pub message: &'static str,
}

const OVERSEAS: &[(&str, &str)] = &[
    ("0262", "262"),
    ("0263", "262"),
    ("0269", "262"),
    ("0692", "262"),
    ("0693", "262"),
    ("0639", "262"),
    ("0590", "590"),
    ("0690", "590"),
    ("0691", "590"),
    ("0594", "594"),
    ("0694", "594"),
    ("0596", "596"),
    ("0696", "596"),
    ("0697", "596"),
    ("0508", "508"),
];

/// Normalises a phone number typed with spaces, dots, dashes or parentheses to E.164.
pub fn to_e164(raw: &str) -> Result<String, PhoneError> {
    let mut s = String::new();
    for (i, c) in raw.trim().chars().enumerate() {
        match c {
            '0'..='9' => s.push(c),
            '+' if i == 0 => s.push(c),
            ' ' | '.' | '-' | '(' | ')' | '\u{a0}' => {}
            _ => {
                return Err(PhoneError {
                    code: "telephone_invalide",
                    message: "Le numéro de téléphone ne doit contenir que des chiffres, espaces, points, tirets ou un « + » initial.",
                })
            }
        }
    }
    let e164 = if let Some(rest) = s.strip_prefix('+') {
        format!("+{rest}")
    } else if let Some(rest) = s.strip_prefix("00") {
        format!("+{rest}")
    } else if s.len() == 10 && s.starts_with('0') {
        match OVERSEAS.iter().find(|(p, _)| s.starts_with(p)) {
            Some((_, cc)) => format!("+{cc}{}", &s[1..]),
            None => format!("+33{}", &s[1..]),
        }
    } else {
        return Err(PhoneError {
            code: "telephone_invalide",
            message: "Numéro de téléphone incomplet : 10 chiffres commençant par 0, ou un numéro international commençant par +.",
        });
    };
    let digits = e164.len() - 1;
    // +33 numbers have exactly 9 digits after the country code; others 8 to 15 digits in all.
    let ok = if let Some(n) = e164.strip_prefix("+33") {
        n.len() == 9 && !n.starts_with('0')
    } else {
        (8..=15).contains(&digits) && !e164.starts_with("+0")
    };
    if ok {
        Ok(e164)
    } else {
        Err(PhoneError {
            code: "telephone_invalide",
            message: "Numéro de téléphone invalide (longueur incorrecte).",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::to_e164;

    #[test]
    fn mainland_and_overseas() {
        assert_eq!(to_e164("06 12 34 56 78").as_deref(), Ok("+33612345678"));
        assert_eq!(to_e164("06-12-34-56-79").as_deref(), Ok("+33612345679"));
        assert_eq!(to_e164("+33 7 61 23 45 67").as_deref(), Ok("+33761234567"));
        assert_eq!(to_e164("+262 692 12 34 56").as_deref(), Ok("+262692123456"));
        assert_eq!(to_e164("0692 12 34 56").as_deref(), Ok("+262692123456"));
        assert_eq!(to_e164("0033612345678").as_deref(), Ok("+33612345678"));
    }

    #[test]
    fn refusals() {
        assert!(to_e164("06 AB 34 56 78").is_err());
        assert!(to_e164("06 12 34").is_err());
        assert!(to_e164("+33 06 12 34 56 78").is_err());
    }
}
