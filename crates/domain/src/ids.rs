//! Identifiers with a check key: SIRET (Luhn), IBAN (ISO 13616, mod 97), BIC, ROME and NAF
//! codes. Pure syntax checks with French messages; no lookups.

/// Luhn check over a string of ASCII digits.
fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// Normalises and checks a SIRET (14 digits, Luhn key). The establishments of La Poste
/// (SIREN 356 000 000) use another key — the sum of the digits is a multiple of 5 — as INSEE
/// documents; they are accepted too.
pub fn siret(raw: &str) -> Result<String, &'static str> {
    let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Le SIRET compte 14 chiffres.");
    }
    let ok = if s.starts_with("356000000") {
        s.bytes().map(|b| u32::from(b - b'0')).sum::<u32>() % 5 == 0
    } else {
        luhn(&s)
    };
    if ok {
        Ok(s)
    } else {
        Err("SIRET invalide : la clé de contrôle ne correspond pas (vérifiez les chiffres).")
    }
}

/// Normalises (upper case, no spaces) and checks an IBAN: country, length for the SEPA
/// countries Parcours pays into, and the mod-97 key.
pub fn iban(raw: &str) -> Result<String, &'static str> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if s.len() < 15 || s.len() > 34 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("IBAN invalide : de 15 à 34 lettres et chiffres.");
    }
    let country = &s[..2];
    if !country.bytes().all(|b| b.is_ascii_uppercase())
        || !s[2..4].bytes().all(|b| b.is_ascii_digit())
    {
        return Err("IBAN invalide : il commence par le code pays et deux chiffres de clé.");
    }
    // France and its overseas territories, Monaco: 27 characters.
    let expected = match country {
        "FR" | "MC" | "GP" | "MQ" | "GF" | "RE" | "YT" | "PM" | "BL" | "MF" => Some(27),
        "BE" => Some(16),
        "DE" => Some(22),
        "ES" => Some(24),
        "IT" => Some(27),
        "PT" => Some(25),
        "LU" => Some(20),
        "NL" => Some(18),
        _ => None,
    };
    if let Some(n) = expected {
        if s.len() != n {
            return Err("IBAN invalide : longueur incorrecte pour ce pays.");
        }
    }
    let rearranged = format!("{}{}", &s[4..], &s[..4]);
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36).unwrap_or(0);
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    if rem == 1 {
        Ok(s)
    } else {
        Err("IBAN invalide : la clé de contrôle ne correspond pas (vérifiez les caractères).")
    }
}

/// BIC (ISO 9362): 8 or 11 characters, 4 letters of bank, 2 of country.
pub fn bic(raw: &str) -> Result<String, &'static str> {
    let s: String = raw.trim().to_uppercase();
    let ok = (s.len() == 8 || s.len() == 11)
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
        && s[..6].bytes().all(|b| b.is_ascii_uppercase());
    if ok {
        Ok(s)
    } else {
        Err("BIC invalide : 8 ou 11 caractères (ex. BNPAFRPPXXX).")
    }
}

/// ROME job code (répertoire opérationnel des métiers et des emplois): a letter A–N and four
/// digits, e.g. `M1607`.
pub fn rome(raw: &str) -> Result<String, &'static str> {
    let s = raw.trim().to_uppercase();
    let b = s.as_bytes();
    if b.len() == 5 && (b'A'..=b'N').contains(&b[0]) && b[1..].iter().all(u8::is_ascii_digit) {
        Ok(s)
    } else {
        Err("Code ROME invalide : une lettre de A à N et quatre chiffres (ex. M1607).")
    }
}

/// NAF rev. 2 code: `NN.NNL`, e.g. `62.01Z` (the dot may be omitted).
pub fn naf(raw: &str) -> Result<String, &'static str> {
    let s: String = raw.trim().to_uppercase().replace('.', "");
    let b = s.as_bytes();
    if b.len() == 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4].is_ascii_uppercase() {
        Ok(format!("{}.{}", &s[..2], &s[2..]))
    } else {
        Err("Code NAF invalide : quatre chiffres et une lettre (ex. 62.01Z).")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siret_luhn() {
        // INSEE's own SIRET (a known valid number) and one digit changed.
        assert_eq!(siret("120 027 016 00019"), Ok("12002701600019".into()));
        assert!(siret("12002701600018").is_err());
        assert!(siret("1200270160001").is_err());
        assert!(siret("1200270160001A").is_err());
        // La Poste: digit sum multiple of 5.
        assert!(siret("35600000000047").is_ok());
        assert!(siret("35600000000048").is_err());
    }

    #[test]
    fn iban_mod97() {
        assert_eq!(
            iban("fr76 3000 6000 0112 3456 7890 189"),
            Ok("FR7630006000011234567890189".into())
        );
        assert!(iban("FR7630006000011234567890188").is_err());
        assert!(iban("FR763000600001123456789018").is_err());
        assert!(iban("DE89370400440532013000").is_ok());
        assert!(iban("not an iban").is_err());
    }

    #[test]
    fn rome_naf_bic() {
        assert_eq!(rome("m1607"), Ok("M1607".into()));
        assert!(rome("Z1607").is_err());
        assert_eq!(naf("6201z"), Ok("62.01Z".into()));
        assert!(naf("62.01").is_err());
        assert!(bic("BNPAFRPPXXX").is_ok());
        assert!(bic("BNPAFRP").is_err());
    }
}
