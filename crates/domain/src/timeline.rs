//! What an advisor records in a dossier's timeline, validated at the edge.
//!
//! One input shape for every entry (a form posts only the fields its kind uses); the kind
//! decides which fields are required. Kinds: the dated events of [`EventKind`], plus `rdv`
//! (appointment), `phase`, `situation` (emploi, formation… with ROME code), `proposition`,
//! `sortie` (exit, with the national reason list) and `note`.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::ids;
use crate::jeune::parse_date;
use crate::validation::ValidationErrors;
use crate::vocab::{
    AppointmentStatus, EventKind, ExitReason, Modalite, Phase, ProposalKind, ProposalStatus,
    SituationCategory, SituationStatus, Theme,
};

/// Longest note, in characters (about two pages): notes are for facts, not essays, and each
/// one is encrypted and audited when read.
pub const NOTE_MAX_CHARS: usize = 4000;

pub const KIND_RDV: &str = "rdv";
pub const KIND_PHASE: &str = "phase";
pub const KIND_SITUATION: &str = "situation";
pub const KIND_PROPOSITION: &str = "proposition";
pub const KIND_SORTIE: &str = "sortie";
pub const KIND_NOTE: &str = "note";

/// What an entry is: the kind decides which fields it requires. Stored and sent as its code
/// (`rdv`, `entretien_individuel`…, [`EntryKind::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Appointment,
    Event(EventKind),
    Phase,
    Situation,
    Proposal,
    Exit,
    Note,
}

impl EntryKind {
    /// Every kind an advisor can record, in the order of the entry menu.
    pub fn all() -> Vec<EntryKind> {
        let mut out = vec![EntryKind::Appointment];
        out.extend(EventKind::ALL.iter().map(|k| EntryKind::Event(*k)));
        out.extend([
            EntryKind::Situation,
            EntryKind::Proposal,
            EntryKind::Phase,
            EntryKind::Exit,
            EntryKind::Note,
        ]);
        out
    }

    pub fn parse(code: &str) -> Option<EntryKind> {
        if let Some(k) = EventKind::parse(code) {
            return Some(EntryKind::Event(k));
        }
        Some(match code {
            KIND_RDV => EntryKind::Appointment,
            KIND_PHASE => EntryKind::Phase,
            KIND_SITUATION => EntryKind::Situation,
            KIND_PROPOSITION => EntryKind::Proposal,
            KIND_SORTIE => EntryKind::Exit,
            KIND_NOTE => EntryKind::Note,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            EntryKind::Appointment => KIND_RDV,
            EntryKind::Event(k) => k.code(),
            EntryKind::Phase => KIND_PHASE,
            EntryKind::Situation => KIND_SITUATION,
            EntryKind::Proposal => KIND_PROPOSITION,
            EntryKind::Exit => KIND_SORTIE,
            EntryKind::Note => KIND_NOTE,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Appointment => "Rendez-vous",
            EntryKind::Event(k) => k.label(),
            EntryKind::Phase => "Changement de phase",
            EntryKind::Situation => "Situation",
            EntryKind::Proposal => "Proposition",
            EntryKind::Exit => "Sortie",
            EntryKind::Note => "Note",
        }
    }
}

/// An entry as typed (form or JSON). Empty strings mean "not given".
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EntryInput {
    pub kind: String,
    pub date: String,
    pub date_fin: String,
    pub heure: String,
    pub statut: String,
    pub modalite: String,
    pub theme: String,
    pub categorie: String,
    pub rome: String,
    pub entreprise: String,
    pub duree: String,
    pub note: String,
}

/// A validated entry, ready to store. `note` is the only free text (encrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    pub on_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub at_time: Option<String>,
    pub status: Option<String>,
    pub modalite: Option<String>,
    pub theme: Option<String>,
    pub category: Option<String>,
    pub rome: Option<String>,
    pub company_id: Option<String>,
    pub duration_minutes: Option<i64>,
    pub note: Option<String>,
}

/// French label of any stored timeline kind code ("Autre" for a code this version does not know).
pub fn kind_label(code: &str) -> &'static str {
    EntryKind::parse(code).map_or("Autre", EntryKind::label)
}

/// All kind codes an advisor can record, with their labels, in the order of the entry menu.
pub fn kinds() -> Vec<(&'static str, &'static str)> {
    EntryKind::all()
        .into_iter()
        .map(|k| (k.code(), k.label()))
        .collect()
}

/// Trims a note; keeps line breaks and tabs, refuses other control characters, caps the length.
pub fn clean_note(e: &mut ValidationErrors, raw: &str) -> Option<String> {
    let v = raw.trim();
    if v.is_empty() {
        return None;
    }
    if v.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        e.push(
            "note",
            "caracteres_interdits",
            "La note contient des caractères de contrôle interdits.",
        );
        return None;
    }
    let n = v.chars().count();
    if n > NOTE_MAX_CHARS {
        e.push(
            "note",
            "trop_long",
            format!(
                "La note dépasse {NOTE_MAX_CHARS} caractères ({n}) : résumez les faits utiles."
            ),
        );
        return None;
    }
    Some(v.replace("\r\n", "\n"))
}

/// Parses a duration: minutes (`90`), or hours (`1h30`, `2 h`, `1,5`).
pub fn parse_duration(raw: &str) -> Option<i64> {
    let s: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if s.is_empty() {
        return None;
    }
    if let Some((h, m)) = s.split_once('h') {
        let h: i64 = h.parse().ok()?;
        let m: i64 = if m.is_empty() {
            0
        } else {
            m.trim_end_matches("min").parse().ok()?
        };
        return (m < 60 && h < 100).then_some(h * 60 + m);
    }
    if s.contains(',') || s.contains('.') {
        let f: f64 = s.replace(',', ".").parse().ok()?;
        return (0.0..100.0).contains(&f).then(|| (f * 60.0).round() as i64);
    }
    let m: i64 = s.trim_end_matches("min").parse().ok()?;
    (0..6000).contains(&m).then_some(m)
}

fn code<T: Copy>(
    e: &mut ValidationErrors,
    field: &str,
    label: &str,
    raw: &str,
    parse: fn(&str) -> Option<T>,
    code_of: fn(T) -> &'static str,
    required: bool,
) -> Option<String> {
    let v = raw.trim();
    if v.is_empty() {
        if required {
            e.push(field, "obligatoire", format!("{label} : obligatoire."));
        }
        return None;
    }
    match parse(v) {
        Some(x) => Some(code_of(x).to_string()),
        None => {
            e.push(field, "invalide", format!("{label} : valeur inconnue."));
            None
        }
    }
}

fn date_field(
    e: &mut ValidationErrors,
    field: &str,
    raw: &str,
    required: bool,
) -> Option<NaiveDate> {
    match raw.trim() {
        "" => {
            if required {
                e.push(field, "obligatoire", "Date : obligatoire.");
            }
            None
        }
        s => match parse_date(s) {
            Ok(d) => Some(d),
            Err((c, m)) => {
                e.push(field, c, m);
                None
            }
        },
    }
}

/// Validates an entry. `today` bounds dates to a sane window (ten years back, two ahead).
pub fn validate_entry(input: &EntryInput, today: NaiveDate) -> Result<Entry, ValidationErrors> {
    let mut e = ValidationErrors::default();
    let Some(kind) = EntryKind::parse(input.kind.trim()) else {
        e.push("kind", "invalide", "Type d'entrée inconnu.");
        return Err(e);
    };
    let on_date = date_field(&mut e, "date", &input.date, true);
    if let Some(d) = on_date {
        if d < today - chrono::Days::new(3653) || d > today + chrono::Days::new(731) {
            e.push(
                "date",
                "hors_plage",
                "Date hors de la plage admise (dix ans en arrière, deux ans en avant).",
            );
        }
    }
    let end_date = date_field(&mut e, "date_fin", &input.date_fin, false);
    if let (Some(a), Some(b)) = (on_date, end_date) {
        if b < a {
            e.push(
                "date_fin",
                "avant_debut",
                "La date de fin précède la date de début.",
            );
        }
    }
    let at_time = match input.heure.trim() {
        "" => None,
        h => match chrono::NaiveTime::parse_from_str(h, "%H:%M") {
            Ok(t) => Some(t.format("%H:%M").to_string()),
            Err(_) => {
                e.push("heure", "invalide", "Heure : au format HH:MM (ex. 14:30).");
                None
            }
        },
    };
    let duration = match input.duree.trim() {
        "" => None,
        d => match parse_duration(d) {
            Some(m) => Some(m),
            None => {
                e.push(
                    "duree",
                    "invalide",
                    "Durée : en minutes (90) ou en heures (1h30).",
                );
                None
            }
        },
    };
    let theme = code(
        &mut e,
        "theme",
        "Thème",
        &input.theme,
        Theme::parse,
        Theme::code,
        false,
    );
    let rome = match input.rome.trim() {
        "" => None,
        r => match ids::rome(r) {
            Ok(r) => Some(r),
            Err(m) => {
                e.push("rome", "invalide", m);
                None
            }
        },
    };
    let company_id = match input.entreprise.trim() {
        "" => None,
        c if uuid_like(c) => Some(c.to_string()),
        _ => {
            e.push("entreprise", "invalide", "Entreprise inconnue.");
            None
        }
    };
    let note = clean_note(&mut e, &input.note);
    let mut status = None;
    let mut modalite = None;
    let mut category = None;
    match kind {
        EntryKind::Appointment => {
            status = code(
                &mut e,
                "statut",
                "Statut",
                or(&input.statut, "planifie"),
                AppointmentStatus::parse,
                AppointmentStatus::code,
                true,
            );
            modalite = code(
                &mut e,
                "modalite",
                "Modalité",
                &input.modalite,
                Modalite::parse,
                Modalite::code,
                false,
            );
        }
        EntryKind::Phase => {
            category = code(
                &mut e,
                "categorie",
                "Phase",
                &input.categorie,
                Phase::parse,
                Phase::code,
                true,
            );
        }
        EntryKind::Situation => {
            category = code(
                &mut e,
                "categorie",
                "Catégorie de situation",
                &input.categorie,
                SituationCategory::parse,
                SituationCategory::code,
                true,
            );
            status = code(
                &mut e,
                "statut",
                "Statut",
                or(&input.statut, "en_cours"),
                SituationStatus::parse,
                SituationStatus::code,
                true,
            );
        }
        EntryKind::Proposal => {
            category = code(
                &mut e,
                "categorie",
                "Type de proposition",
                &input.categorie,
                ProposalKind::parse,
                ProposalKind::code,
                true,
            );
            status = code(
                &mut e,
                "statut",
                "Statut",
                or(&input.statut, "proposee"),
                ProposalStatus::parse,
                ProposalStatus::code,
                true,
            );
        }
        EntryKind::Exit => {
            category = code(
                &mut e,
                "categorie",
                "Motif de sortie",
                &input.categorie,
                ExitReason::parse,
                ExitReason::code,
                true,
            );
            if category.as_deref() == Some("autre")
                && note.is_none()
                && e.for_field("note").is_none()
            {
                e.push(
                    "note",
                    "obligatoire",
                    "Motif « autre » : précisez-le dans la note.",
                );
            }
        }
        EntryKind::Note => {
            if note.is_none() && e.for_field("note").is_none() {
                e.push("note", "obligatoire", "La note est vide.");
            }
        }
        EntryKind::Event(event) => {
            if event == EventKind::EntretienIndividuel {
                modalite = code(
                    &mut e,
                    "modalite",
                    "Modalité",
                    or(&input.modalite, "sur_place"),
                    Modalite::parse,
                    Modalite::code,
                    true,
                );
            }
        }
    }
    match (e.is_empty(), on_date) {
        (true, Some(on_date)) => Ok(Entry {
            kind,
            on_date,
            end_date,
            at_time,
            status,
            modalite,
            theme,
            category,
            rome,
            company_id,
            duration_minutes: duration,
            note,
        }),
        _ => Err(e),
    }
}

fn or<'a>(v: &'a str, default: &'a str) -> &'a str {
    if v.trim().is_empty() {
        default
    } else {
        v
    }
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or(NaiveDate::MIN)
    }

    fn input(kind: &str) -> EntryInput {
        EntryInput {
            kind: kind.into(),
            date: "23/11/2026".into(),
            ..Default::default()
        }
    }

    #[test]
    fn interview_defaults_to_on_site() {
        let e = validate_entry(&input("entretien_individuel"), today());
        assert_eq!(e.map(|e| e.modalite), Ok(Some("sur_place".into())));
    }

    #[test]
    fn exit_autre_needs_a_note_and_reasons_are_the_national_list() {
        let mut i = input("sortie");
        i.categorie = "autre".into();
        assert!(validate_entry(&i, today()).is_err());
        i.note = "Départ à l'étranger".into();
        assert!(validate_entry(&i, today()).is_ok());
        i.categorie = "vacances".into();
        assert!(validate_entry(&i, today()).is_err());
    }

    #[test]
    fn notes_are_capped_and_keep_line_breaks() {
        let mut i = input("note");
        i.note = "a".repeat(NOTE_MAX_CHARS + 1);
        let err = validate_entry(&i, today()).err().unwrap_or_default();
        assert_eq!(err.for_field("note").map(|f| f.code), Some("trop_long"));
        i.note = "ligne 1\r\nligne 2".into();
        assert_eq!(
            validate_entry(&i, today()).map(|e| e.note),
            Ok(Some("ligne 1\nligne 2".into()))
        );
        i.note = "bip\u{7}".into();
        assert!(validate_entry(&i, today()).is_err());
    }

    #[test]
    fn situations_take_rome_codes_and_dates_in_order() {
        let mut i = input("situation");
        i.categorie = "emploi".into();
        i.rome = "m1607".into();
        i.date_fin = "01/01/2026".into();
        let err = validate_entry(&i, today()).err().unwrap_or_default();
        assert!(err.for_field("date_fin").is_some());
        i.date_fin = "31/12/2026".into();
        let ok = validate_entry(&i, today());
        assert_eq!(
            ok.map(|e| (e.rome, e.status)),
            Ok((Some("M1607".into()), Some("en_cours".into())))
        );
    }

    #[test]
    fn durations_and_unknown_kinds() {
        assert_eq!(parse_duration("1h30"), Some(90));
        assert_eq!(parse_duration("2 h"), Some(120));
        assert_eq!(parse_duration("1,5"), Some(90));
        assert_eq!(parse_duration("45"), Some(45));
        assert_eq!(parse_duration("1h75"), None);
        assert!(validate_entry(&input("pique-nique"), today()).is_err());
        let mut far = input("note");
        far.note = "x".into();
        far.date = "01/01/2000".into();
        assert!(validate_entry(&far, today()).is_err());
    }
}
