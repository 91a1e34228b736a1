//! Short-lived signed assertions: how the main server tells the insight server who is asking,
//! without the insight server holding a copy of the account database or any secret.
//!
//! Token = `base64url(claims JSON) "." base64url(Ed25519 signature of the first part)`. The main
//! server signs with its `insight_signing` key; the insight server knows only the public key
//! (a file beside the warehouse). The claims carry **no personal data**: no login, no name —
//! only the role, the perimeter (nation, a région, or a structure code), the validity window and
//! a random id, so that a token seen in a log names nobody.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Audience of the tokens for the insight server.
pub const AUDIENCE: &str = "parcours-insight";
/// Longest validity accepted (seconds): a token is for logging in now, not a credential.
pub const MAX_LIFETIME_S: i64 = 300;
/// Clock difference tolerated between the two servers (seconds).
pub const CLOCK_SKEW_S: i64 = 30;

/// What an insight user may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "niveau", content = "code", rename_all = "lowercase")]
pub enum Perimeter {
    Nation,
    /// A région, by its name (as in the warehouse's `structures.region`).
    Region(String),
    /// A structure, by its code.
    Structure(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub aud: String,
    /// Role code (`conseiller`, `directeur`, `pilote`).
    pub role: String,
    pub perimetre: Perimeter,
    /// Issued at / expires at, Unix seconds.
    pub iat: i64,
    pub exp: i64,
    /// Random id (hex), so that a token can be used once.
    pub jti: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AssertionError {
    #[error("jeton mal formé")]
    Malformed,
    #[error("signature invalide")]
    BadSignature,
    #[error("jeton destiné à un autre service")]
    WrongAudience,
    #[error("jeton expiré ou pas encore valide")]
    Expired,
    #[error("durée de validité trop longue")]
    TooLong,
    #[error("clé publique invalide")]
    BadKey,
    #[error("assertion impossible à sérialiser")]
    Serialise,
}

/// Signs claims into a token (never an empty body: a serialisation failure is an error).
pub fn sign(key: &SigningKey, claims: &Claims) -> Result<String, AssertionError> {
    let json = serde_json::to_vec(claims).map_err(|_| AssertionError::Serialise)?;
    let body = URL_SAFE_NO_PAD.encode(json);
    let sig = key.sign(body.as_bytes());
    Ok(format!("{body}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes())))
}

/// Checks a token's signature, audience and validity window at `now` (Unix seconds).
pub fn verify(key: &VerifyingKey, token: &str, now: i64) -> Result<Claims, AssertionError> {
    let (body, sig) = token
        .trim()
        .split_once('.')
        .ok_or(AssertionError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| AssertionError::Malformed)?;
    let sig = Signature::from_slice(&sig).map_err(|_| AssertionError::Malformed)?;
    key.verify(body.as_bytes(), &sig)
        .map_err(|_| AssertionError::BadSignature)?;
    let claims: Claims = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| AssertionError::Malformed)?,
    )
    .map_err(|_| AssertionError::Malformed)?;
    if claims.aud != AUDIENCE {
        return Err(AssertionError::WrongAudience);
    }
    // Checked: a signed token's numbers are still input (found by fuzz/insight_assertion).
    if claims
        .exp
        .checked_sub(claims.iat)
        .is_none_or(|lifetime| lifetime > MAX_LIFETIME_S)
    {
        return Err(AssertionError::TooLong);
    }
    if now > claims.exp || now.saturating_add(CLOCK_SKEW_S) < claims.iat {
        return Err(AssertionError::Expired);
    }
    Ok(claims)
}

/// The public key as written in the key file: hex of its 32 bytes, one line.
pub fn public_key_hex(key: &SigningKey) -> String {
    hex_encode(&key.verifying_key().to_bytes())
}

/// Reads a public key file written by [`public_key_hex`].
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, AssertionError> {
    let t = text.trim();
    if t.len() != 64 {
        return Err(AssertionError::BadKey);
    }
    let mut b = [0u8; 32];
    for (i, out) in b.iter_mut().enumerate() {
        *out = u8::from_str_radix(t.get(2 * i..2 * i + 2).ok_or(AssertionError::BadKey)?, 16)
            .map_err(|_| AssertionError::BadKey)?;
    }
    VerifyingKey::from_bytes(&b).map_err(|_| AssertionError::BadKey)
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> Claims {
        Claims {
            aud: AUDIENCE.into(),
            role: "directeur".into(),
            perimetre: Perimeter::Structure("ML-A".into()),
            iat: now,
            exp: now + 60,
            jti: "01".into(),
        }
    }

    #[test]
    fn round_trip_and_every_refusal() {
        let k = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let pk = parse_public_key(&public_key_hex(&k)).unwrap();
        let t = sign(&k, &claims(1000)).unwrap();
        assert_eq!(verify(&pk, &t, 1010).unwrap(), claims(1000));
        assert_eq!(verify(&pk, &t, 1061), Err(AssertionError::Expired));
        assert_eq!(verify(&pk, &t, 900), Err(AssertionError::Expired));
        assert_eq!(
            verify(&pk, &sign(&other, &claims(1000)).unwrap(), 1010),
            Err(AssertionError::BadSignature)
        );
        // A forged body with the genuine signature.
        let mut forged = claims(1000);
        forged.perimetre = Perimeter::Nation;
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let sig = t.split_once('.').unwrap().1;
        assert_eq!(
            verify(&pk, &format!("{body}.{sig}"), 1010),
            Err(AssertionError::BadSignature)
        );
        let mut long = claims(1000);
        long.exp = 1000 + 3600;
        assert_eq!(
            verify(&pk, &sign(&k, &long).unwrap(), 1010),
            Err(AssertionError::TooLong)
        );
        let mut aud = claims(1000);
        aud.aud = "autre".into();
        assert_eq!(
            verify(&pk, &sign(&k, &aud).unwrap(), 1010),
            Err(AssertionError::WrongAudience)
        );
        assert_eq!(verify(&pk, "abc", 1010), Err(AssertionError::Malformed));
        assert!(parse_public_key("zz").is_err());
    }

    /// Extreme numbers in a signed token are refused, never an arithmetic overflow.
    #[test]
    fn extreme_windows_are_refused_without_overflow() {
        let k = SigningKey::from_bytes(&[7; 32]);
        let pk = k.verifying_key();
        let mut c = claims(1000);
        (c.iat, c.exp) = (i64::MIN, i64::MAX);
        assert_eq!(
            verify(&pk, &sign(&k, &c).unwrap(), 1010),
            Err(AssertionError::TooLong)
        );
        (c.iat, c.exp) = (i64::MAX - 10, i64::MAX);
        assert_eq!(
            verify(&pk, &sign(&k, &c).unwrap(), i64::MAX - 5).map(|_| ()),
            Ok(())
        );
        assert_eq!(
            verify(&pk, &sign(&k, &c).unwrap(), 1010),
            Err(AssertionError::Expired)
        );
    }
}
