//! A deterministic synthetic French population: the same `--graine` gives the same people.
//! Names from the `fake` crate's fr_FR lists (INSEE first names, common surnames); postal codes
//! in the structure's département; mobile numbers in the département's format (06/07, or 0692
//! for La Réunion); ages 16–25 with a few outside the band, as in real caseloads.

use chrono::{Datelike, Duration, NaiveDate};
use fake::faker::address::raw::{CityName, StreetName};
use fake::faker::name::raw::{FirstName, LastName};
use fake::locales::FR_FR;
use fake::Fake;
use parcours_app::bulk::BulkDossier;
use parcours_app::{App, Ctx};
use parcours_domain::jeune::{self, JeuneInput};
use parcours_domain::normalize::fold;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Demo structures, created by `seed` when the instance has none.
pub const DEMO_STRUCTURES: [(&str, &str, &str, &str); 4] = [
    ("ML-PARIS", "Mission Locale de Paris", "75", "Île-de-France"),
    (
        "ML-LYON",
        "Mission Locale de Lyon",
        "69",
        "Auvergne-Rhône-Alpes",
    ),
    (
        "ML-LILLE",
        "Mission Locale de Lille",
        "59",
        "Hauts-de-France",
    ),
    (
        "ML-SUD-REUNION",
        "Mission Locale Sud Réunion",
        "974",
        "La Réunion",
    ),
];

/// Real communes with their postal codes, per département of the demo structures; other
/// départements get a postal code in the département and a commune name from `fake`.
const COMMUNES: &[(&str, &[(&str, &str)])] = &[
    (
        "75",
        &[
            ("75011", "Paris"),
            ("75018", "Paris"),
            ("75019", "Paris"),
            ("75020", "Paris"),
            ("75013", "Paris"),
        ],
    ),
    (
        "69",
        &[
            ("69003", "Lyon"),
            ("69008", "Lyon"),
            ("69100", "Villeurbanne"),
            ("69200", "Vénissieux"),
            ("69120", "Vaulx-en-Velin"),
        ],
    ),
    (
        "59",
        &[
            ("59000", "Lille"),
            ("59100", "Roubaix"),
            ("59200", "Tourcoing"),
            ("59260", "Hellemmes-Lille"),
            ("59370", "Mons-en-Barœul"),
        ],
    ),
    (
        "974",
        &[
            ("97410", "Saint-Pierre"),
            ("97430", "Le Tampon"),
            ("97450", "Saint-Louis"),
            ("97480", "Saint-Joseph"),
            ("97427", "L'Étang-Salé"),
        ],
    ),
];

const NATIONALITES: [(&str, u32); 6] = [
    ("française", 85),
    ("algérienne", 4),
    ("marocaine", 4),
    ("portugaise", 2),
    ("sénégalaise", 2),
    ("afghane", 3),
];

/// One synthetic person living in `departement`.
pub fn person(rng: &mut ChaCha8Rng, departement: &str, today: NaiveDate) -> JeuneInput {
    let nom: String = LastName(FR_FR).fake_with_rng(rng);
    let prenom: String = FirstName(FR_FR).fake_with_rng(rng);
    let age_days: i64 = if rng.random_ratio(1, 20) {
        rng.random_range(26 * 365..28 * 365)
    } else {
        rng.random_range(16 * 365 + 1..26 * 365 - 1)
    };
    let birth = today - Duration::days(age_days);
    let mut pick = rng.random_range(0..100);
    let mut nationalite = "française";
    for (n, w) in NATIONALITES {
        if pick < w {
            nationalite = n;
            break;
        }
        pick -= w;
    }
    let phone = if departement.len() == 3 {
        format!("0692{:06}", rng.random_range(0..1_000_000))
    } else {
        format!(
            "0{}{:08}",
            if rng.random_bool(0.5) { 6 } else { 7 },
            rng.random_range(0..100_000_000)
        )
    };
    let (cp, commune) = match COMMUNES.iter().find(|(d, _)| *d == departement) {
        Some((_, list)) => {
            let (cp, name) = list[rng.random_range(0..list.len())];
            (cp.to_string(), name.to_string())
        }
        None => (
            // Corsica's départements 2A and 2B have postal codes 20xxx.
            format!(
                "{}{:03}",
                match departement {
                    "2A" | "2B" => "20",
                    d => d,
                },
                rng.random_range(0..200)
            )
            .chars()
            .take(5)
            .collect(),
            CityName(FR_FR).fake_with_rng(rng),
        ),
    };
    let email = if rng.random_ratio(9, 10) {
        format!(
            "{}.{}{}@exemple.fr",
            fold(&prenom).replace(' ', "-"),
            fold(&nom).replace(' ', "-"),
            rng.random_range(1..100)
        )
    } else {
        String::new()
    };
    let street: String = StreetName(FR_FR).fake_with_rng(rng);
    JeuneInput {
        nom,
        prenom,
        date_naissance: format!("{:02}/{:02}/{}", birth.day(), birth.month(), birth.year()),
        sexe: if rng.random_bool(0.5) { "F" } else { "M" }.into(),
        nationalite: nationalite.into(),
        email,
        telephone: phone,
        adresse: format!("{} rue {}", rng.random_range(1..120), street),
        code_postal: cp,
        commune,
        niveau_formation: rng.random_range(1..=7).to_string(),
    }
}

/// The 18 régions, each with one of its départements, for a synthetic national network.
const REGIONS: [(&str, &str); 18] = [
    ("Auvergne-Rhône-Alpes", "69"),
    ("Bourgogne-Franche-Comté", "21"),
    ("Bretagne", "35"),
    ("Centre-Val de Loire", "45"),
    ("Corse", "2A"),
    ("Grand Est", "67"),
    ("Hauts-de-France", "59"),
    ("Île-de-France", "75"),
    ("Normandie", "76"),
    ("Nouvelle-Aquitaine", "33"),
    ("Occitanie", "31"),
    ("Pays de la Loire", "44"),
    ("Provence-Alpes-Côte d'Azur", "13"),
    ("Guadeloupe", "971"),
    ("Martinique", "972"),
    ("Guyane", "973"),
    ("La Réunion", "974"),
    ("Mayotte", "976"),
];

/// Creates `n` synthetic structures `ML-0001`… spread over the 18 régions (for benchmarks at
/// the scale of the national network, about 430 Missions Locales).
pub async fn national_structures(app: &App, ctx: &Ctx, n: usize) -> anyhow::Result<()> {
    for i in 0..n {
        let (region, dep) = REGIONS[i % REGIONS.len()];
        app.create_structure(
            ctx,
            &format!("ML-{:04}", i + 1),
            &format!("Mission Locale n° {} ({region})", i + 1),
            dep,
            region,
        )
        .await
        .map_err(crate::commands::explain)?;
    }
    Ok(())
}

/// Adds `n` synthetic dossiers spread over the instance's structures (creating the demo
/// structures if there are none). Returns the number stored.
/// With `events` > 0, each dossier also gets a synthetic parcours of about that many entries
/// (see `parcours_seed`).
pub async fn seed(
    app: &App,
    ctx: &Ctx,
    n: usize,
    seed: u64,
    events: usize,
    progress: bool,
) -> anyhow::Result<usize> {
    let mut structures = app
        .list_structures()
        .await
        .map_err(crate::commands::explain)?;
    if structures.is_empty() {
        for (code, name, dep, region) in DEMO_STRUCTURES {
            app.create_structure(ctx, code, name, dep, region)
                .await
                .map_err(crate::commands::explain)?;
        }
        structures = app
            .list_structures()
            .await
            .map_err(crate::commands::explain)?;
    }
    let today = ctx.now.date_naive();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut done = 0;
    let bar = progress
        .then(|| crate::progress::Progress::new("Dossiers synthétiques", "dossiers", n as u64));
    while done < n {
        let batch = (n - done).min(500);
        let mut dossiers = Vec::with_capacity(batch);
        for i in 0..batch {
            let s = &structures[(done + i) % structures.len()];
            let input = person(&mut rng, &s.departement, today);
            let (identity, _) = jeune::validate(&input, today)
                .map_err(|e| anyhow::anyhow!("donnée synthétique invalide : {e}"))?;
            let (entries, programmes) =
                crate::parcours_seed::parcours(&mut rng, identity.date_naissance, today, events);
            dossiers.push(BulkDossier {
                structure: s.id,
                identity,
                entries,
                programmes,
            });
        }
        app.bulk_dossiers(ctx, &dossiers)
            .await
            .map_err(crate::commands::explain)?;
        done += batch;
        if let Some(bar) = &bar {
            bar.set(done as u64);
        }
    }
    if let Some(bar) = &bar {
        bar.finish();
    }
    Ok(done)
}

/// One day of activity on an existing instance: `per_thousand` ‰ of the dossiers get an
/// individual interview held today (for the incremental export benchmark). Returns how many.
pub async fn day_of_activity(
    app: &App,
    ctx: &Ctx,
    per_thousand: u32,
    seed: u64,
) -> anyhow::Result<usize> {
    let mut ids = app
        .bulk_dossier_ids(ctx)
        .await
        .map_err(crate::commands::explain)?;
    // The same dossiers for the same seed, whatever order the store returns them in.
    ids.sort_unstable();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let chosen: Vec<&String> = ids
        .iter()
        .filter(|_| rng.random_ratio(per_thousand.min(1000), 1000))
        .collect();
    let today = ctx.now.date_naive();
    for batch in chosen.chunks(500) {
        let batch: Vec<(String, Vec<_>)> = batch
            .iter()
            .map(|id| {
                let e = crate::parcours_seed::interview_today(&mut rng, today);
                ((*id).clone(), vec![e])
            })
            .collect();
        app.bulk_add_entries(ctx, &batch)
            .await
            .map_err(crate::commands::explain)?;
    }
    Ok(chosen.len())
}
