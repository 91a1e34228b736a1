#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The insight crate's integration tests (one binary): disclosure control attacked
//! ([`sdc`]), and the insight server run as its real binary ([`server`]).

mod sdc;
mod server;

use parcours_warehouse::kanon::KReport;
use parcours_warehouse::{fact, Fact, Person, Structure};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Régions and structures of the synthetic warehouses: one small structure (a handful of
/// persons) so that tables have cells to suppress.
pub const STRUCTURES: [(&str, &str, &str, usize); 5] = [
    ("ML-PARIS", "Mission Locale de Paris", "Île-de-France", 40),
    ("ML-EVRY", "Mission Locale d'Évry", "Île-de-France", 20),
    (
        "ML-LYON",
        "Mission Locale de Lyon",
        "Auvergne-Rhône-Alpes",
        30,
    ),
    (
        "ML-GRENOBLE",
        "Mission Locale de Grenoble",
        "Auvergne-Rhône-Alpes",
        8,
    ),
    (
        "ML-VIENNE",
        "Mission Locale de Vienne",
        "Auvergne-Rhône-Alpes",
        2,
    ),
];

/// Every node of the synthetic hierarchy: the nation, each structure and each région.
pub fn nodes() -> Vec<(String, String)> {
    let mut nodes = vec![("nation".to_string(), "nation".to_string())];
    for s in STRUCTURES {
        nodes.push(("structure".into(), s.0.into()));
        if !nodes.contains(&("region".into(), s.2.into())) {
            nodes.push(("region".into(), s.2.into()));
        }
    }
    nodes
}

/// Publishes a synthetic warehouse version into `dir` (persons, interviews over 2025–2026,
/// CEJ entries, exits from support), deterministic for a seed. Returns the number of
/// interview facts.
pub fn synthetic_warehouse(dir: &Path, seed: u64, persons_n: usize, stamp: &str) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Exits draw from their own generator, so the other facts do not depend on them.
    let mut exits = ChaCha8Rng::seed_from_u64(seed ^ 0x5047);
    let weights: usize = STRUCTURES.iter().map(|s| s.3).sum();
    let bands = ["16-17", "18-21", "22-25", "26+"];
    let mut persons = Vec::new();
    let mut facts = Vec::new();
    let mut interviews = 0;
    for i in 0..persons_n {
        let mut pick = rng.random_range(0..weights);
        let s = STRUCTURES
            .iter()
            .find(|s| {
                if pick < s.3 {
                    true
                } else {
                    pick -= s.3;
                    false
                }
            })
            .unwrap();
        let p = format!("{:032x}", rng.random::<u128>() ^ i as u128);
        let band = bands[if rng.random_bool(0.7) {
            1
        } else {
            rng.random_range(0..4)
        }];
        persons.push(Person {
            pseudonym: p.as_str().into(),
            structure: s.0.into(),
            sexe: if rng.random_bool(0.5) { "F" } else { "M" }.into(),
            age_band: band.into(),
            nationality: if rng.random_bool(0.9) {
                "francaise"
            } else {
                "hors_ue"
            }
            .into(),
            departement: "*".into(),
            region: s.2.into(),
            qpv: if rng.random_bool(0.2) { "oui" } else { "non" }.into(),
            zrr: "non".into(),
            niveau: ["3", "4", "5"][rng.random_range(0..3)].into(),
        });
        for _ in 0..rng.random_range(1..4) {
            let year = if rng.random_bool(0.5) { 2025 } else { 2026 };
            let month = format!("{year}-{:02}", rng.random_range(1..=12));
            facts.push(Fact {
                pseudonym: p.as_str().into(),
                month: month.into(),
                structure: s.0.into(),
                fact: fact::EVENT,
                kind: "entretien_individuel".into(),
                detail: "sur_place".into(),
                age_band: band.into(),
                value: 45,
                value2: 0,
            });
            interviews += 1;
        }
        if exits.random_bool(0.4) {
            let motif = if exits.random_bool(0.35) {
                "emploi_durable"
            } else {
                ["formation", "emploi_court", "autre"][exits.random_range(0..3)]
            };
            facts.push(Fact {
                pseudonym: p.as_str().into(),
                month: format!("2026-{:02}", exits.random_range(1..=9)).into(),
                structure: s.0.into(),
                fact: fact::EXIT,
                kind: motif.into(),
                detail: "".into(),
                age_band: band.into(),
                value: exits.random_range(1..=24),
                value2: 0,
            });
        }
        if rng.random_bool(0.3) {
            facts.push(Fact {
                pseudonym: p.as_str().into(),
                month: format!("2026-{:02}", rng.random_range(1..=6)).into(),
                structure: s.0.into(),
                fact: fact::PROGRAMME_ENTRY,
                kind: "cej".into(),
                detail: "".into(),
                age_band: band.into(),
                value: 0,
                value2: 0,
            });
        }
    }
    let structures: Vec<Structure> = STRUCTURES
        .iter()
        .map(|s| Structure {
            code: s.0.into(),
            nom: s.1.into(),
            departement: "75".into(),
            region: s.2.into(),
        })
        .collect();
    parcours_warehouse::files::publish(
        dir,
        stamp,
        &persons,
        &facts,
        &structures,
        &KReport::default(),
    )
    .unwrap();
    interviews
}
