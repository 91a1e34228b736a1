//! The k-anonymity guard: every combination of quasi-identifiers in the export is shared by at
//! least k persons. Rarer combinations are generalised step by step — département → `*` (the
//! région stays), qualification level → `*`, nationality group → `*`, QPV and ZRR → `*`, age
//! band → `*` — only for the persons still in a group under k (local recoding); persons still
//! alone after the last step are suppressed, with their facts. The report says what was done.

// foldhash rather than SipHash: the keys are our own codes and pseudonyms, and a million
// persons are grouped seven times per export.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

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

/// For each person, whether their combination of quasi-identifiers is shared by fewer than
/// `k` persons; and the smallest group's size. Keys borrow the persons' fields (a million
/// persons are grouped seven times per export).
fn small_groups(persons: &[Person], k: usize) -> (Vec<bool>, usize) {
    let mut g: HashMap<[&str; 9], usize> = HashMap::with_capacity(persons.len() / 4);
    for p in persons {
        *g.entry(p.quasi_identifiers()).or_default() += 1;
    }
    let small = persons
        .iter()
        .map(|p| g.get(&p.quasi_identifiers()).copied().unwrap_or(0) < k)
        .collect();
    (small, g.values().copied().min().unwrap_or(0))
}

/// Generalises one step for the persons in groups smaller than `k`, keeping the original row
/// of each person the first time it changes; returns how many changed.
fn step(
    persons: &mut [Person],
    originals: &mut [Option<Person>],
    k: usize,
    apply: fn(&mut Person) -> bool,
) -> usize {
    let (small, _) = small_groups(persons, k);
    let mut changed = 0;
    for ((p, small), original) in persons.iter_mut().zip(small).zip(originals.iter_mut()) {
        if !small {
            continue;
        }
        let before = original.is_none().then(|| p.clone());
        if apply(p) {
            changed += 1;
            if before.is_some() {
                *original = before;
            }
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

/// What the guard did besides the report.
#[derive(Debug, Default)]
pub struct Guarded {
    pub report: KReport,
    /// Pseudonyms of the persons suppressed (with their facts).
    pub suppressed: HashSet<String>,
    /// The rows, as they were before, of the persons published generalised.
    pub generalised: Vec<Person>,
}

/// Makes `persons` k-anonymous in place.
pub fn k_anonymise(persons: &mut Vec<Person>, k: usize) -> Guarded {
    let mut r = KReport {
        k,
        persons_in: persons.len(),
        ..Default::default()
    };
    let k = k.max(1);
    let mut originals: Vec<Option<Person>> = vec![None; persons.len()];
    let o = &mut originals;
    r.generalised_departement = step(persons, o, k, |p| set(&mut p.departement));
    r.generalised_niveau = step(persons, o, k, |p| set(&mut p.niveau));
    r.generalised_nationality = step(persons, o, k, |p| set(&mut p.nationality));
    r.generalised_qpv_zrr = step(persons, o, k, |p| set(&mut p.qpv) | set(&mut p.zrr));
    r.generalised_age_band = step(persons, o, k, |p| set(&mut p.age_band));
    let (small, _) = small_groups(persons, k);
    let mut suppressed = HashSet::new();
    let mut generalised = Vec::new();
    let mut flags = small.into_iter().zip(originals);
    persons.retain(|p| {
        let (small, original) = flags.next().unwrap_or((true, None));
        if small {
            suppressed.insert(p.pseudonym.clone());
        } else if let Some(o) = original {
            generalised.push(o);
        }
        !small
    });
    r.suppressed = suppressed.len();
    r.persons_out = persons.len();
    r.smallest_group = small_groups(persons, k).1;
    Guarded {
        report: r,
        suppressed,
        generalised,
    }
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
        let Guarded {
            report: r,
            suppressed: gone,
            generalised,
        } = k_anonymise(&mut v, 5);
        assert!(
            generalised.is_empty(),
            "the rare ones are gone, not published"
        );
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
        let before = v.clone();
        let Guarded {
            report: r,
            suppressed: gone,
            generalised,
        } = k_anonymise(&mut v, 5);
        assert!(gone.is_empty());
        assert_eq!(
            generalised, before,
            "the true rows of the generalised persons"
        );
        assert_eq!(r.generalised_departement, 5);
        assert_eq!(r.smallest_group, 5);
        assert!(v.iter().all(|p| p.departement == ANY && p.region == "R"));
    }
}
