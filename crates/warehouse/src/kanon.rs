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

/// The persons' quasi-identifier combinations, interned: each field's value becomes a small
/// number (`*` is always 0), so a combination is nine numbers, hashed and compared without
/// touching the strings. Grouping a million persons once, then following only the persons that
/// change, replaces grouping every person again at every step.
struct Groups {
    /// Each person's combination, in the order of [`Person::quasi_identifiers`].
    codes: Vec<[u32; 9]>,
    /// How many persons share each combination.
    counts: HashMap<[u32; 9], usize>,
}

/// The code of `*` in every field.
const ANY_CODE: u32 = 0;

impl Groups {
    fn of(persons: &[Person]) -> Self {
        let mut ids: HashMap<&str, u32> = HashMap::new();
        ids.insert(ANY, ANY_CODE);
        let mut codes = Vec::with_capacity(persons.len());
        let mut counts: HashMap<[u32; 9], usize> = HashMap::with_capacity(persons.len() / 4);
        for p in persons {
            let code = p.quasi_identifiers().map(|v| {
                let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
                *ids.entry(v).or_insert(next)
            });
            *counts.entry(code).or_default() += 1;
            codes.push(code);
        }
        Self { codes, counts }
    }

    fn count(&self, i: usize) -> usize {
        self.counts.get(&self.codes[i]).copied().unwrap_or(0)
    }

    /// Person `i` now reads `*` in `fields`.
    fn generalise(&mut self, i: usize, fields: &[usize]) {
        let old = self.codes[i];
        let mut new = old;
        for &f in fields {
            new[f] = ANY_CODE;
        }
        if let Some(n) = self.counts.get_mut(&old) {
            *n -= 1;
        }
        *self.counts.entry(new).or_default() += 1;
        self.codes[i] = new;
    }
}

/// Indices, in [`Person::quasi_identifiers`], of the fields a step generalises.
const DEPARTEMENT: usize = 4;
const NIVEAU: usize = 8;
const NATIONALITY: usize = 3;
const QPV: usize = 6;
const ZRR: usize = 7;
const AGE_BAND: usize = 2;

fn field(p: &mut Person, f: usize) -> &mut String {
    match f {
        AGE_BAND => &mut p.age_band,
        NATIONALITY => &mut p.nationality,
        DEPARTEMENT => &mut p.departement,
        QPV => &mut p.qpv,
        ZRR => &mut p.zrr,
        _ => &mut p.niveau,
    }
}

/// Generalises `fields` for the persons in groups smaller than `k` (`small`, by index),
/// keeping the original row of each person the first time it changes; returns how many
/// changed, and leaves in `small` those still in a group under `k`. A person outside `small`
/// stays outside: only small groups lose members, so a group of k or more only grows.
fn step(
    persons: &mut [Person],
    originals: &mut [Option<Person>],
    groups: &mut Groups,
    small: &mut Vec<usize>,
    k: usize,
    fields: &[usize],
) -> usize {
    let mut changed = 0;
    for &i in small.iter() {
        let p = &mut persons[i];
        let before = originals[i].is_none().then(|| p.clone());
        let mut did = false;
        for &f in fields {
            did |= set(field(p, f));
        }
        if did {
            changed += 1;
            if before.is_some() {
                originals[i] = before;
            }
            groups.generalise(i, fields);
        }
    }
    small.retain(|&i| groups.count(i) < k);
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
    let mut g = Groups::of(persons);
    let mut small: Vec<usize> = (0..persons.len()).filter(|&i| g.count(i) < k).collect();
    let (g, s) = (&mut g, &mut small);
    r.generalised_departement = step(persons, o, g, s, k, &[DEPARTEMENT]);
    r.generalised_niveau = step(persons, o, g, s, k, &[NIVEAU]);
    r.generalised_nationality = step(persons, o, g, s, k, &[NATIONALITY]);
    r.generalised_qpv_zrr = step(persons, o, g, s, k, &[QPV, ZRR]);
    r.generalised_age_band = step(persons, o, g, s, k, &[AGE_BAND]);
    // Whoever is still in a group under k is suppressed: their groups vanish whole (every
    // member of a small group is small), so the smallest group left is the smallest count ≥ k.
    let mut gone = vec![false; persons.len()];
    for &i in &small {
        gone[i] = true;
    }
    let smallest = g.counts.values().copied().filter(|&n| n >= k).min();
    let mut suppressed = HashSet::new();
    let mut generalised = Vec::new();
    let mut flags = gone.into_iter().zip(originals);
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
    r.smallest_group = smallest.unwrap_or(0);
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

    /// The guard as first written: every person grouped again at every step. The interned,
    /// incremental guard must give exactly its result.
    fn reference(persons: &mut Vec<Person>, k: usize) -> Guarded {
        fn small_groups(persons: &[Person], k: usize) -> (Vec<bool>, usize) {
            let mut g: HashMap<[&str; 9], usize> = HashMap::new();
            for p in persons {
                *g.entry(p.quasi_identifiers()).or_default() += 1;
            }
            let small = persons
                .iter()
                .map(|p| g[&p.quasi_identifiers()] < k)
                .collect();
            (small, g.values().copied().min().unwrap_or(0))
        }
        fn step(
            persons: &mut [Person],
            originals: &mut [Option<Person>],
            k: usize,
            apply: fn(&mut Person) -> bool,
        ) -> usize {
            let (small, _) = small_groups(persons, k);
            let mut changed = 0;
            for ((p, small), original) in persons.iter_mut().zip(small).zip(originals.iter_mut()) {
                if small {
                    let before = original.is_none().then(|| p.clone());
                    if apply(p) {
                        changed += 1;
                        if before.is_some() {
                            *original = before;
                        }
                    }
                }
            }
            changed
        }
        let mut r = KReport {
            k,
            persons_in: persons.len(),
            ..Default::default()
        };
        let mut originals: Vec<Option<Person>> = vec![None; persons.len()];
        let o = &mut originals;
        r.generalised_departement = step(persons, o, k, |p| set(&mut p.departement));
        r.generalised_niveau = step(persons, o, k, |p| set(&mut p.niveau));
        r.generalised_nationality = step(persons, o, k, |p| set(&mut p.nationality));
        r.generalised_qpv_zrr = step(persons, o, k, |p| set(&mut p.qpv) | set(&mut p.zrr));
        r.generalised_age_band = step(persons, o, k, |p| set(&mut p.age_band));
        let (small, _) = small_groups(persons, k);
        let (mut suppressed, mut generalised) = (HashSet::new(), Vec::new());
        let mut flags = small.into_iter().zip(originals);
        persons.retain(|p| {
            let (small, original) = flags.next().unwrap();
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

    #[test]
    fn the_guard_equals_the_reference_on_random_populations() {
        // A small deterministic generator (no dependency): populations from very sparse
        // (most persons alone) to dense, with some fields already `*`.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut seen = KReport::default();
        for (round, size) in [0, 1, 7, 40, 300, 2_000, 5_000].into_iter().enumerate() {
            for k in [2, 5, 11] {
                let spread = 1 + (round as u64 % 4);
                let mut v: Vec<Person> = (0..size)
                    .map(|i| {
                        let mut p = person(
                            i,
                            ["F", "M"][next(2) as usize],
                            &format!("{:02}", next(3 * spread)),
                            &next(2 + spread).to_string(),
                        );
                        p.structure = format!("ML{}", next(2));
                        p.age_band =
                            ["16-17", "18-21", "22-25", "26+", ANY][next(5) as usize].into();
                        p.nationality = ["francaise", "ue", "hors_ue"][next(3) as usize].into();
                        p.qpv = ["oui", "non"][next(2) as usize].into();
                        p.zrr = ["oui", "non", "inconnu"][next(3) as usize].into();
                        p
                    })
                    .collect();
                let mut w = v.clone();
                let got = k_anonymise(&mut v, k);
                let want = reference(&mut w, k);
                assert_eq!(v, w, "persons, size {size}, k {k}");
                assert_eq!(got.report, want.report, "report, size {size}, k {k}");
                assert_eq!(got.suppressed, want.suppressed, "size {size}, k {k}");
                assert_eq!(got.generalised, want.generalised, "size {size}, k {k}");
                seen.generalised_departement += got.report.generalised_departement;
                seen.generalised_age_band += got.report.generalised_age_band;
                seen.suppressed += got.report.suppressed;
                seen.persons_out += got.report.persons_out;
            }
        }
        // The populations exercised every step, suppression, and publication.
        assert!(seen.generalised_departement > 0 && seen.generalised_age_band > 0);
        assert!(seen.suppressed > 0 && seen.persons_out > 0, "{seen:?}");
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
