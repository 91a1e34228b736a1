//! The packed-row parser of the SQLite bulk reads (JSON arrays SQLite builds, read by serde):
//! any text gives rows or an error that names a position only — never the text it choked on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parcours_store::{events::EventFact, packed};

fn position_only(e: parcours_store::StoreError) {
    let m = e.to_string();
    let rest = m
        .strip_prefix("erreur de base de données : lecture groupée illisible (caractère ")
        .unwrap_or_else(|| panic!("unexpected message {m:?}"));
    assert!(
        rest.strip_suffix(')').is_some_and(|n| n.parse::<usize>().is_ok()),
        "{m:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = packed::parse::<EventFact>(s) {
        position_only(e);
    }
    if let Err(e) = packed::parse::<String>(s) {
        position_only(e);
    }
});
