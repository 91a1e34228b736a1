//! Structures (Missions Locales): code, name, département, région.

use crate::validation::{clean_text, ValidationErrors};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStructure {
    pub code: String,
    pub name: String,
    pub departement: String,
    pub region: String,
}

/// Validates a structure: code of 2–20 letters, digits or dashes; département `01`–`95`, `2A`,
/// `2B` or `971`–`976`; name and region required.
pub fn validate_structure(
    code: &str,
    name: &str,
    departement: &str,
    region: &str,
) -> Result<NewStructure, ValidationErrors> {
    let mut e = ValidationErrors::default();
    let code = code.trim().to_uppercase();
    if code.len() < 2
        || code.len() > 20
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        e.push(
            "code",
            "code_invalide",
            "Le code de structure doit faire 2 à 20 caractères (lettres, chiffres, tiret).",
        );
    }
    let name = clean_text(&mut e, "name", "Le nom", name, 120);
    if name.is_none() && e.for_field("name").is_none() {
        e.push("name", "requis", "Le nom de la structure est obligatoire.");
    }
    let dep = departement.trim().to_uppercase();
    if !valid_departement(&dep) {
        e.push(
            "departement",
            "departement_invalide",
            "Département invalide (01 à 95, 2A, 2B ou 971 à 976).",
        );
    }
    let region = clean_text(&mut e, "region", "La région", region, 80);
    if region.is_none() && e.for_field("region").is_none() {
        e.push("region", "requis", "La région est obligatoire.");
    }
    match (e.is_empty(), name, region) {
        (true, Some(name), Some(region)) => Ok(NewStructure {
            code,
            name,
            departement: dep,
            region,
        }),
        _ => Err(e),
    }
}

pub fn valid_departement(d: &str) -> bool {
    match d {
        "2A" | "2B" => true,
        _ => match d.parse::<u32>() {
            Ok(n) if d.len() == 2 => (1..=95).contains(&n) && n != 20,
            Ok(n) if d.len() == 3 => (971..=976).contains(&n),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn departements() {
        assert!(valid_departement("69"));
        assert!(valid_departement("2A"));
        assert!(valid_departement("974"));
        assert!(!valid_departement("20"));
        assert!(!valid_departement("977"));
        assert!(!valid_departement("9"));
    }
}
