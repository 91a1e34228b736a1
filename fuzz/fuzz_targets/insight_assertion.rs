//! The assertion the dashboards server reads (`parcours-insight`, its login link): any token
//! is refused unless the right key signed it, and a signed token of any content is checked
//! without a panic — accepted exactly when its audience, lifetime and window are right.
#![no_main]

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use parcours_vault::assertion::{
    parse_public_key, sign, verify, Claims, AUDIENCE, CLOCK_SKEW_S, MAX_LIFETIME_S,
};

const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let key = SigningKey::from_bytes(&[7; 32]);
    let public = key.verifying_key();
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = verify(&public, s, NOW) {
            // Only a token this key signed gets here (the corpus holds one).
            assert_eq!(c.aud, AUDIENCE);
        }
        let _ = parse_public_key(s);
    }
    // Claims of any content, signed by the right key.
    if let Ok(c) = serde_json::from_slice::<Claims>(data) {
        let token = sign(&key, &c).unwrap();
        let valid = c.aud == AUDIENCE
            && c.exp.checked_sub(c.iat).is_some_and(|l| l <= MAX_LIFETIME_S)
            && NOW <= c.exp
            && NOW.saturating_add(CLOCK_SKEW_S) >= c.iat;
        match verify(&public, &token, NOW) {
            Ok(back) => {
                assert!(valid, "accepted: {c:?}");
                assert_eq!(back, c);
            }
            Err(e) => assert!(!valid, "refused ({e}): {c:?}"),
        }
    }
});
