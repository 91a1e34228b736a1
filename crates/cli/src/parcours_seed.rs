//! A synthetic parcours for each seeded jeune: phases, interviews (some with a note), contacts,
//! workshops, appointments, proposals, situations, a CEJ (with its weekly hours) or a PACEA for
//! part of them, and an exit for some — deterministic from the seed, dated around `today`.

use chrono::{Datelike, Days, Months, NaiveDate};
use parcours_app::bulk::BulkProgramme;
use parcours_domain::jeune::age_on;
use parcours_domain::timeline::{self as t, Entry};
use parcours_domain::vocab::{
    AppointmentStatus, EventKind, ExitReason, Modalite, Phase, ProgrammeKind, ProposalKind,
    ProposalStatus, SituationCategory, SituationStatus, TaxSituation, Theme,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Notes an advisor might write, without names (the seed must not invent third persons).
const NOTES: [&str; 8] = [
    "Point sur la recherche d'emploi : CV mis à jour, deux candidatures envoyées.",
    "Démarches de logement en cours, dossier de demande à compléter.",
    "Souhaite une formation dans la logistique ; information sur les prérequis.",
    "Rendez-vous médical à prévoir avant l'entrée en formation.",
    "Code de la route obtenu, financement de la conduite à étudier.",
    "Difficultés de transport pour les horaires du matin.",
    "Atelier CV suivi avec assiduité, bonne dynamique.",
    "Absent au dernier rendez-vous, relance par SMS.",
];
const ROME: [&str; 8] = [
    "M1607", "D1106", "N1103", "H2909", "K2204", "G1603", "F1703", "J1501",
];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, v: &[T]) -> T {
    v[rng.random_range(0..v.len())]
}

/// An entry of a kind given by its code (the seeder's tables are codes, all known).
fn entry(kind: &str, on: NaiveDate) -> Entry {
    Entry {
        kind: t::EntryKind::parse(kind).unwrap_or(t::EntryKind::Note),
        on_date: on,
        end_date: None,
        at_time: None,
        status: None,
        modalite: None,
        theme: None,
        category: None,
        rome: None,
        company_id: None,
        duration_minutes: None,
        note: None,
    }
}

/// One entry of a working day: an individual interview held `today` (the benchmark's day of
/// activity).
pub fn interview_today(rng: &mut ChaCha8Rng, today: NaiveDate) -> Entry {
    let mut e = entry(EventKind::EntretienIndividuel.code(), today);
    e.modalite = Some(pick(rng, Modalite::ALL).code().into());
    e.theme = Some(pick(rng, Theme::ALL).code().into());
    e.duration_minutes = Some(rng.random_range(2..=6) * 10);
    e
}

/// The Monday of the week of `d`.
fn monday(d: NaiveDate) -> NaiveDate {
    d - Days::new(u64::from(d.weekday().num_days_from_monday()))
}

pub fn parcours(
    rng: &mut ChaCha8Rng,
    birth: NaiveDate,
    today: NaiveDate,
    events: usize,
) -> (Vec<Entry>, Vec<BulkProgramme>) {
    let mut out = Vec::new();
    let mut progs = Vec::new();
    if events == 0 {
        return (out, progs);
    }
    let start = today - Days::new(rng.random_range(20..540));
    let span = (today - start).num_days().max(1) as u64;
    let at = |rng: &mut ChaCha8Rng| start + Days::new(rng.random_range(0..=span));
    let mut phase = entry(
        t::KIND_PHASE,
        start + Days::new(rng.random_range(3..15).min(span)),
    );
    phase.category = Some(Phase::Diagnostic.code().into());
    out.push(phase);
    if span > 45 {
        let mut p = entry(t::KIND_PHASE, start + Days::new(30));
        p.category = Some(Phase::Accompagnement.code().into());
        out.push(p);
    }
    let n = rng.random_range(events / 2..=events + events / 2).max(1);
    for _ in 0..n {
        let r: u32 = rng.random_range(0..100);
        let mut e = match r {
            0..40 => {
                let mut e = entry(EventKind::EntretienIndividuel.code(), at(rng));
                e.modalite = Some(pick(rng, Modalite::ALL).code().into());
                e.theme = Some(pick(rng, Theme::ALL).code().into());
                e.duration_minutes = Some(rng.random_range(2..=6) * 10);
                if rng.random_bool(0.25) {
                    e.note = Some(pick(rng, &NOTES).into());
                }
                e
            }
            40..55 => entry(EventKind::ContactTelephone.code(), at(rng)),
            55..63 => entry(EventKind::ContactSms.code(), at(rng)),
            63..70 => entry(EventKind::ContactEmail.code(), at(rng)),
            70..74 => entry(EventKind::InformationCollective.code(), at(rng)),
            74..78 => {
                let mut e = entry(EventKind::Atelier.code(), at(rng));
                e.theme = Some(pick(rng, Theme::ALL).code().into());
                e
            }
            78..88 => {
                // Appointments: held or missed in the past, planned ahead (some today).
                let future = rng.random_bool(0.3);
                let on = if future {
                    today + Days::new(rng.random_range(0..15))
                } else {
                    at(rng)
                };
                let mut e = entry(t::KIND_RDV, on);
                e.at_time = Some(format!(
                    "{:02}:{}",
                    rng.random_range(9..17),
                    pick(rng, &["00", "30"])
                ));
                e.modalite = Some(pick(rng, Modalite::ALL).code().into());
                e.status = Some(
                    if future {
                        AppointmentStatus::Planifie
                    } else if rng.random_bool(0.8) {
                        AppointmentStatus::Present
                    } else {
                        AppointmentStatus::Absent
                    }
                    .code()
                    .into(),
                );
                e
            }
            88..95 => {
                let mut e = entry(t::KIND_PROPOSITION, at(rng));
                e.category = Some(pick(rng, ProposalKind::ALL).code().into());
                e.status = Some(pick(rng, ProposalStatus::ALL).code().into());
                e.rome = Some(pick(rng, &ROME).into());
                e
            }
            _ => {
                let mut e = entry(t::KIND_SITUATION, at(rng));
                e.category = Some(pick(rng, SituationCategory::ALL).code().into());
                e.status = Some(pick(rng, SituationStatus::ALL).code().into());
                e.rome = Some(pick(rng, &ROME).into());
                e
            }
        };
        if e.on_date > today + Days::new(14) {
            e.on_date = today;
        }
        out.push(e);
    }
    let exit = if span > 180 && rng.random_bool(0.15) {
        Some(today - Days::new(rng.random_range(0..60)))
    } else {
        None
    };
    let age = age_on(birth, start);
    let r: f64 = rng.random();
    let (kind, months) = if (16..=25).contains(&age) && r < 0.30 {
        (Some(ProgrammeKind::Cej), 12)
    } else if r < 0.45 {
        (Some(ProgrammeKind::Pacea), 24)
    } else {
        (None, 0)
    };
    if let Some(kind) = kind {
        let p_start = start + Days::new(rng.random_range(10..30).min(span));
        let end = p_start
            .checked_add_months(Months::new(months))
            .and_then(|d| d.pred_opt())
            .unwrap_or(p_start);
        let ended_on = match exit {
            Some(x) if x <= end => Some(x.max(p_start)),
            _ if end < today => Some(end),
            _ => None,
        };
        let mut weeks = Vec::new();
        if kind == ProgrammeKind::Cej && ended_on.is_none() {
            for w in 1..=4u64 {
                let m = monday(today) - Days::new(7 * w);
                if m >= p_start {
                    let planned = rng.random_range(15..=20) * 60;
                    let done = (planned - rng.random_range(0..=6) * 60).max(0);
                    weeks.push((m, planned, done));
                }
            }
        }
        let tax = (kind == ProgrammeKind::Cej).then(|| {
            if rng.random_bool(0.8) {
                TaxSituation::NonImposable
            } else {
                TaxSituation::ImposableTranche1
            }
        });
        progs.push(BulkProgramme {
            kind,
            start: p_start,
            end,
            ended_on,
            tax,
            weeks,
        });
    }
    if let Some(x) = exit {
        let mut e = entry(t::KIND_SORTIE, x);
        let reason = pick(rng, ExitReason::ALL);
        e.category = Some(reason.code().into());
        if reason == ExitReason::Autre {
            e.note = Some("Départ pour un service civique à l'étranger.".into());
        }
        out.push(e);
    }
    (out, progs)
}
