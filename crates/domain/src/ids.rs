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

/// A French social-security number (NIR): 13 characters and a 2-digit key, spaces allowed.
/// The key is 97 − (number mod 97); for Corsica the department is `2A` or `2B`, counted as 19
/// and 18 in the key (the number minus 1,000,000 or 2,000,000). The first digit is the sex (1,
/// 2) or a temporary number (3, 4, 7, 8). Returns the 15 characters without spaces, uppercase.
pub fn nir(raw: &str) -> Result<String, &'static str> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if s.len() != 15 || !s.is_ascii() {
        return Err("NIR invalide : 13 chiffres et une clé de 2 chiffres (15 caractères).");
    }
    let (body, key) = s.split_at(13);
    let department = &body[5..7];
    let digits_ok = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(&body[..5])
        || !digits_ok(&body[7..])
        || !(digits_ok(department) || department == "2A" || department == "2B")
        || !digits_ok(key)
    {
        return Err("NIR invalide : seuls des chiffres (et 2A ou 2B pour la Corse).");
    }
    if !matches!(body.as_bytes()[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8') {
        return Err("NIR invalide : le premier chiffre est 1 ou 2 (ou 3, 4, 7, 8 pour un numéro provisoire).");
    }
    let numeric: String = body.replace("2A", "19").replace("2B", "18");
    let number: u64 = numeric
        .parse()
        .map_err(|_| "NIR invalide : seuls des chiffres (et 2A ou 2B pour la Corse).")?;
    let expected = 97 - (number % 97);
    let given: u64 = key.parse().map_err(|_| "NIR invalide : clé illisible.")?;
    if given != expected {
        return Err("NIR invalide : la clé ne correspond pas au numéro (vérifiez la saisie).");
    }
    Ok(s)
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

    #[test]
    fn nir_key_and_corsica() {
        // 2 55 08 14 168 025 → key 97 − (2550814168025 mod 97).
        let n: u64 = 2_550_814_168_025;
        let key = 97 - n % 97;
        let valid = format!("2550814168025{key:02}");
        assert_eq!(super::nir(&valid).as_deref(), Ok(valid.as_str()));
        let spaced = format!("2 55 08 14 168 025 {key:02}");
        assert_eq!(super::nir(&spaced).as_deref(), Ok(valid.as_str()));
        let wrong = format!("2550814168025{:02}", (key % 97) + 1);
        assert!(super::nir(&wrong).unwrap_err().contains("clé"));
        // Corsica: 2A counts as 19, 2B as 18 in the key.
        for (dep, as_num) in [("2A", "19"), ("2B", "18")] {
            let body = format!("18001{dep}123456");
            let n: u64 = body.replace(dep, as_num).parse().unwrap();
            let key = 97 - n % 97;
            let nir = format!("{body}{key:02}");
            assert_eq!(super::nir(&nir.to_lowercase()).as_deref(), Ok(nir.as_str()));
            // The same key with 20 in the department does not pass.
            let plain = format!("1800120123456{key:02}");
            assert!(super::nir(&plain).is_err(), "{plain}");
        }
        assert!(super::nir("12345").is_err());
        assert!(super::nir("5550814168025 00")
            .unwrap_err()
            .contains("premier chiffre"));
        assert!(super::nir("2550814X68025 00").is_err());
    }
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
