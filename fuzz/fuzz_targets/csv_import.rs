//! The CSV import (`parcours import jeunes`, the web upload): any bytes give either the valid
//! lines or the list of bad ones — never a panic — and what is accepted is well-formed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    match parcours_domain::import::parse(data, today) {
        Ok(lines) => {
            let mut last = 1;
            for (line, identity, _) in &lines {
                assert!(*line > last, "line numbers after the header, increasing");
                last = *line;
                assert!(!identity.nom.trim().is_empty() && !identity.prenom.trim().is_empty());
                assert!(identity.date_naissance <= today);
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a refusal names at least one line");
            assert!(errors.iter().all(|e| !e.message.is_empty()));
        }
    }
});
