//! The export side of the decision module (P2): pseudonymised, generalised facts written as
//! Parquet, with a k-anonymity guard and a manifest.
//!
//! This crate holds no key and sees no identity: the operational side (`parcours-app`) hands
//! over [`Person`] and [`Fact`] rows whose person is already a keyed pseudonym and whose
//! quasi-identifiers are already generalised (age band, sex, nationality group, département and
//! région of residence, QPV, ZRR, qualification level; dates at month granularity). Here they
//! are made k-anonymous ([`kanon`]), written ([`files`]) and published atomically.

pub mod digests;
pub mod files;
pub mod incremental;
pub mod kanon;

use serde::{Deserialize, Serialize};

/// Version of the warehouse layout, in the manifest; bump it when a column changes.
/// 2: facts are split by month (`facts/AAAA-MM.parquet`), so that an incremental export
/// rewrites only the months that changed.
pub const SCHEMA_VERSION: u32 = 2;

/// Suppressed or generalised value.
pub const ANY: &str = "*";

/// One person, as a pseudonym and generalised quasi-identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub pseudonym: String,
    /// Code of the Mission Locale following the person.
    pub structure: String,
    pub sexe: String,
    /// Age band on the first day of the first month of the parcours.
    pub age_band: String,
    pub nationality: String,
    pub departement: String,
    pub region: String,
    pub qpv: String,
    pub zrr: String,
    pub niveau: String,
}

impl Person {
    /// The quasi-identifiers, in a fixed order (the k-anonymity key). The structure is one: it
    /// locates the person as much as the département does, and it is never generalised
    /// (indicators are published per structure), so groups are formed within a structure.
    pub fn quasi_identifiers(&self) -> [&str; 9] {
        [
            &self.structure,
            &self.sexe,
            &self.age_band,
            &self.nationality,
            &self.departement,
            &self.region,
            &self.qpv,
            &self.zrr,
            &self.niveau,
        ]
    }
}

/// A Mission Locale: the fixed hierarchy nation → région → structure of the dashboards. Public
/// facts about an institution, no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Structure {
    pub code: String,
    pub nom: String,
    pub departement: String,
    pub region: String,
}

/// One fact of a parcours, at month granularity. `fact` says which table of the operational
/// side it comes from; `kind` and `detail` are codes of the official lists; `value` and
/// `value2` are amounts (cents) or minutes where the fact has them. The order (pseudonym
/// first) is the order of the rows in a month's file.
///
/// The text columns are shared strings ([`Text`]): a person's facts share its pseudonym, and a
/// million persons' 25 million facts repeat a few hundred codes, so a fact is 128 bytes with no
/// string of its own (as `String`s, the facts of a national export took twice the memory and
/// crowded the database out of the page cache).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fact {
    pub pseudonym: Text,
    pub month: Text,
    pub structure: Text,
    pub fact: &'static str,
    pub kind: Text,
    pub detail: Text,
    /// Age band at the date of the fact.
    pub age_band: Text,
    pub value: i64,
    pub value2: i64,
}

/// A shared, immutable string (the text columns of [`Fact`]).
pub type Text = std::sync::Arc<str>;

/// Hands out one shared [`Text`] per distinct value.
#[derive(Debug, Default)]
pub struct Interner(foldhash::HashSet<Text>);

impl Interner {
    pub fn get(&mut self, s: &str) -> Text {
        match self.0.get(s) {
            Some(t) => t.clone(),
            None => {
                let t: Text = s.into();
                self.0.insert(t.clone());
                t
            }
        }
    }
}

/// Fact families (the `fact` column).
pub mod fact {
    pub const EVENT: &str = "evenement";
    pub const APPOINTMENT: &str = "rendez_vous";
    pub const SITUATION: &str = "situation";
    pub const PROPOSAL: &str = "proposition";
    pub const EXIT: &str = "sortie";
    pub const PHASE: &str = "phase";
    pub const PROGRAMME_ENTRY: &str = "entree_dispositif";
    pub const PROGRAMME_EXIT: &str = "sortie_dispositif";
    pub const CEJ_WEEK: &str = "heures_cej";
    pub const ALLOWANCE: &str = "allocation";
    pub const WORKSHOP: &str = "atelier";
    /// Derived: the person's CEJ was running on the last day of the month (one per month,
    /// months already ended at export time).
    pub const CEJ_MONTH_END: &str = "cej_fin_de_mois";

    /// Every family, to read a `fait` column back.
    pub const ALL: [&str; 12] = [
        EVENT,
        APPOINTMENT,
        SITUATION,
        PROPOSAL,
        EXIT,
        PHASE,
        PROGRAMME_ENTRY,
        PROGRAMME_EXIT,
        CEJ_WEEK,
        ALLOWANCE,
        WORKSHOP,
        CEJ_MONTH_END,
    ];

    /// The family named `name`, if it is one.
    pub fn parse(name: &str) -> Option<&'static str> {
        ALL.iter().copied().find(|f| *f == name)
    }
}
