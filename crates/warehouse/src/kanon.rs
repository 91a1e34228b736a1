//! The k-anonymity guard: every combination of quasi-identifiers in the export is shared by at
//! least k persons. Rarer combinations are generalised step by step — département → `*` (the
//! région stays), qualification level → `*`, nationality group → `*`, QPV and ZRR → `*`, age
//! band → `*` — only for the persons still in a group under k (local recoding); persons still
//! alone after the last step are suppressed, with their facts. The report says what was done.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::{Person, ANY};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KReport {
    pub k: usize,
    pub persons_in: usize,
    pub generalised_departement: usize,
    pub generalised_niveau: usize,
    pub generalised_nationality: usize,
    pub generalised_qpv_zrr: usize,
    pub generalised_age_band: usize,
    pub suppressed: usize,
    pub persons_out: usize,
    /// Smallest group size in the output (≥ k, or 0 when nothing is left).
    pub smallest_group: usize,
}

fn groups(persons: &[Person]) -> HashMap<[String; 9], usize> {
    let mut g: HashMap<[String; 9], usize> = HashMap::new();
    for p in persons {
        *g.entry(p.quasi_identifiers().map(str::to_string))
            .or_default() += 1;
    }
    g
}

/// Generalises one step for the persons in groups smaller than `k`; returns how many changed.
fn step(persons: &mut [Person], k: usize, apply: fn(&mut Person) -> bool) -> usize {
    let g = groups(persons);
    let mut changed = 0;
    for p in persons.iter_mut() {
        let key = p.quasi_identifiers().map(str::to_string);
        if g.get(&key).copied().unwrap_or(0) < k && apply(p) {
            changed += 1;
        }
    }
    changed
}

fn set(field: &mut String) -> bool {
    if field == ANY {
        false
    } else {
        *field = ANY.to_string();
        true
    }
}

/// Makes `persons` k-anonymous in place; returns the report and the suppressed pseudonyms.
pub fn k_anonymise(persons: &mut Vec<Person>, k: usize) -> (KReport, HashSet<String>) {
    let mut r = KReport {
        k,
        persons_in: persons.len(),
        ..Default::default()
    };
    let k = k.max(1);
    r.generalised_departement = step(persons, k, |p| set(&mut p.departement));
    r.generalised_niveau = step(persons, k, |p| set(&mut p.niveau));
    r.generalised_nationality = step(persons, k, |p| set(&mut p.nationality));
    r.generalised_qpv_zrr = step(persons, k, |p| set(&mut p.qpv) | set(&mut p.zrr));
    r.generalised_age_band = step(persons, k, |p| set(&mut p.age_band));
    let g = groups(persons);
    let mut suppressed = HashSet::new();
    persons.retain(|p| {
        let keep = g
            .get(&p.quasi_identifiers().map(str::to_string))
            .copied()
            .unwrap_or(0)
            >= k;
        if !keep {
            suppressed.insert(p.pseudonym.clone());
        }
        keep
    });
    r.suppressed = suppressed.len();
    r.persons_out = persons.len();
    r.smallest_group = groups(persons).values().copied().min().unwrap_or(0);
    (r, suppressed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(i: usize, sexe: &str, dep: &str, niveau: &str) -> Person {
        Person {
            pseudonym: format!("p{i}"),
            structure: "ML".into(),
            sexe: sexe.into(),
            age_band: "18-21".into(),
            nationality: "francaise".into(),
            departement: dep.into(),
            region: "R".into(),
            qpv: "non".into(),
            zrr: "non".into(),
            niveau: niveau.into(),
        }
    }

    #[test]
    fn rare_combinations_are_generalised_then_suppressed() {
        let mut v: Vec<Person> = (0..5).map(|i| person(i, "F", "69", "4")).collect();
        // Two rare ones that become a group of… 2 after generalising the département: still
        // under k, generalised further, then suppressed.
        v.push(person(10, "M", "01", "3"));
        v.push(person(11, "M", "38", "3"));
        // One that joins the big group once its département is generalised? No: the big
        // group keeps its département (local recoding), so it is suppressed at the end.
        let (r, gone) = k_anonymise(&mut v, 5);
        assert_eq!(r.persons_out, 5);
        assert_eq!(r.suppressed, 2);
        assert!(gone.contains("p10") && gone.contains("p11"));
        assert!(r.smallest_group >= 5);
        assert_eq!(r.generalised_departement, 2);
    }

    #[test]
    fn generalising_the_departement_can_be_enough() {
        let mut v: Vec<Person> = (0..5)
            .map(|i| person(i, "F", &format!("0{}", i + 1), "4"))
            .collect();
        let (r, gone) = k_anonymise(&mut v, 5);
        assert!(gone.is_empty());
        assert_eq!(r.generalised_departement, 5);
        assert_eq!(r.smallest_group, 5);
        assert!(v.iter().all(|p| p.departement == ANY && p.region == "R"));
    }
}
