//! Generalisation of quasi-identifiers for the decision module (issue #4): département and région
//! of residence from the postal code, nationality group, age band at a date. Pure functions; the
//! warehouse export applies them before anything leaves the operational side.

use chrono::NaiveDate;

use crate::jeune::age_on;
use crate::normalize::fold;

/// Région (2016 map, with the five overseas régions) of a département code.
pub fn region_of(departement: &str) -> Option<&'static str> {
    let r = match departement {
        "01" | "03" | "07" | "15" | "26" | "38" | "42" | "43" | "63" | "69" | "73" | "74" => {
            "Auvergne-Rhône-Alpes"
        }
        "21" | "25" | "39" | "58" | "70" | "71" | "89" | "90" => "Bourgogne-Franche-Comté",
        "22" | "29" | "35" | "56" => "Bretagne",
        "18" | "28" | "36" | "37" | "41" | "45" => "Centre-Val de Loire",
        "2A" | "2B" => "Corse",
        "08" | "10" | "51" | "52" | "54" | "55" | "57" | "67" | "68" | "88" => "Grand Est",
        "02" | "59" | "60" | "62" | "80" => "Hauts-de-France",
        "75" | "77" | "78" | "91" | "92" | "93" | "94" | "95" => "Île-de-France",
        "14" | "27" | "50" | "61" | "76" => "Normandie",
        "16" | "17" | "19" | "23" | "24" | "33" | "40" | "47" | "64" | "79" | "86" | "87" => {
            "Nouvelle-Aquitaine"
        }
        "09" | "11" | "12" | "30" | "31" | "32" | "34" | "46" | "48" | "65" | "66" | "81"
        | "82" => "Occitanie",
        "44" | "49" | "53" | "72" | "85" => "Pays de la Loire",
        "04" | "05" | "06" | "13" | "83" | "84" => "Provence-Alpes-Côte d'Azur",
        "971" => "Guadeloupe",
        "972" => "Martinique",
        "973" => "Guyane",
        "974" => "La Réunion",
        "976" => "Mayotte",
        _ => return None,
    };
    Some(r)
}

/// Département of a French postal code (Corsica split at 20200; overseas on three digits).
pub fn departement_of_postal_code(cp: &str) -> Option<String> {
    let cp = cp.trim();
    if cp.len() != 5 || !cp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let d = match &cp[..2] {
        "97" => cp[..3].to_string(),
        "20" => {
            if cp < "20200" {
                "2A".into()
            } else {
                "2B".into()
            }
        }
        other => other.to_string(),
    };
    region_of(&d).map(|_| d)
}

/// Nationality group: `francaise`, `ue` (other EU member states), `hors_ue`, or `inconnue`.
pub fn nationality_group(nationalite: Option<&str>) -> &'static str {
    let Some(n) = nationalite.map(fold).filter(|n| !n.is_empty()) else {
        return "inconnue";
    };
    const FR: [&str; 3] = ["francaise", "francais", "france"];
    // Adjectives (both genders) and country names of the 26 other member states.
    const UE: [&str; 26] = [
        "allemand",
        "autrich",
        "belg",
        "bulgar",
        "chypr",
        "croat",
        "danois",
        "espagnol",
        "eston",
        "finland",
        "grec",
        "hongr",
        "irland",
        "italien",
        "letton",
        "lituan",
        "luxembourg",
        "maltais",
        "neerland",
        "polonais",
        "portugais",
        "roumain",
        "slovaque",
        "sloven",
        "suedois",
        "tcheque",
    ];
    if FR.iter().any(|f| n == *f) {
        "francaise"
    } else if UE.iter().any(|u| n.starts_with(u)) {
        "ue"
    } else {
        "hors_ue"
    }
}

/// Age band at a date: `16-17`, `18-21`, `22-25`, `26+` (and `<16` for the rare younger).
pub fn age_band(birth: NaiveDate, on: NaiveDate) -> &'static str {
    match age_on(birth, on) {
        ..=15 => "<16",
        16..=17 => "16-17",
        18..=21 => "18-21",
        22..=25 => "22-25",
        _ => "26+",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geography() {
        assert_eq!(departement_of_postal_code("69003").as_deref(), Some("69"));
        assert_eq!(departement_of_postal_code("20000").as_deref(), Some("2A"));
        assert_eq!(departement_of_postal_code("20600").as_deref(), Some("2B"));
        assert_eq!(departement_of_postal_code("97490").as_deref(), Some("974"));
        assert_eq!(departement_of_postal_code("6900"), None);
        assert_eq!(region_of("93"), Some("Île-de-France"));
        // Every metropolitan département has a région.
        for n in 1..=95 {
            if n != 20 {
                assert!(region_of(&format!("{n:02}")).is_some(), "{n}");
            }
        }
    }

    #[test]
    fn nationality_and_age() {
        assert_eq!(nationality_group(Some("Française")), "francaise");
        assert_eq!(nationality_group(Some("portugaise")), "ue");
        assert_eq!(nationality_group(Some("Algérienne")), "hors_ue");
        assert_eq!(nationality_group(None), "inconnue");
        let b = NaiveDate::from_ymd_opt(2008, 6, 1).unwrap_or(NaiveDate::MIN);
        let on = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN);
        assert_eq!(age_band(b, on(2026, 5, 31)), "16-17");
        assert_eq!(age_band(b, on(2026, 6, 1)), "18-21");
        assert_eq!(age_band(b, on(2030, 6, 1)), "22-25");
        assert_eq!(age_band(b, on(2034, 6, 1)), "26+");
    }
}
