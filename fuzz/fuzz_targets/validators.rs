//! The validators of what advisors and files type: SIRET, NIR, IBAN, phone numbers, dates,
//! postal codes, amounts and durations. None panics, and each normal form is a fixed point
//! (validating what a validator returned gives it back unchanged).
#![no_main]

use libfuzzer_sys::fuzz_target;
use parcours_domain::{generalise, ids, jeune, phone, situation, timeline};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for check in [ids::siret, ids::nir, ids::iban] {
        if let Ok(n) = check(s) {
            assert_eq!(check(&n), Ok(n.clone()), "normal form of {s:?}");
        }
    }
    if let Ok(p) = phone::to_e164(s) {
        assert_eq!(phone::to_e164(&p).ok(), Some(p.clone()), "E.164 of {s:?}");
    }
    if let Ok(d) = jeune::parse_date(s) {
        for f in ["%d/%m/%Y", "%Y-%m-%d"] {
            assert_eq!(
                jeune::parse_date(&d.format(f).to_string()).ok(),
                Some(d),
                "date {s:?}"
            );
        }
    }
    if let Some(dep) = generalise::departement_of_postal_code(s) {
        assert!(dep.len() == 2 || dep.len() == 3, "département {dep:?} of {s:?}");
    }
    if let Some(cents) = situation::parse_euros(s) {
        assert!(cents >= 0, "amount {s:?}");
    }
    let _ = timeline::parse_duration(s);
});
