//! Blind indexes (the CipherSweet design): for each searchable field, a key derived from the index
//! root with HKDF and the index name (domain separation), an HMAC-SHA256 of the normalised value,
//! truncated to a few bits so that every value shares its index entry with others.
//!
//! Sizing (CipherSweet's rule, C = R / 2^L collisions per value, aim 2 ≤ C < √R): designed for
//! R ≈ 2^20 dossiers per deployment (a large region over ten years). With L = 18 bits, C ≈ 4 at
//! 2^20 rows: a stolen index says "one of about four people, or more", and a search fetches a
//! handful of false positives that are decrypted and filtered out. Low-entropy fields (birth date,
//! sex) are only ever indexed inside a compound index (nom + date de naissance).

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::DataKey;

/// The searchable indexes, with their stable numeric code (stored) and truncation in bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlindIndex {
    Nom,
    Prenom,
    Email,
    Telephone,
    NomDateNaissance,
}

impl BlindIndex {
    pub const ALL: [BlindIndex; 5] = [
        BlindIndex::Nom,
        BlindIndex::Prenom,
        BlindIndex::Email,
        BlindIndex::Telephone,
        BlindIndex::NomDateNaissance,
    ];

    pub fn code(self) -> i64 {
        match self {
            BlindIndex::Nom => 1,
            BlindIndex::Prenom => 2,
            BlindIndex::Email => 3,
            BlindIndex::Telephone => 4,
            BlindIndex::NomDateNaissance => 5,
        }
    }

    fn name(self) -> &'static str {
        match self {
            BlindIndex::Nom => "jeunes.nom",
            BlindIndex::Prenom => "jeunes.prenom",
            BlindIndex::Email => "jeunes.email",
            BlindIndex::Telephone => "jeunes.telephone",
            BlindIndex::NomDateNaissance => "jeunes.nom+date_naissance",
        }
    }

    pub fn bits(self) -> u32 {
        18
    }
}

/// Per-index HMAC keys, derived once from the index root key.
#[derive(Clone)]
pub struct IndexKeys {
    keys: Vec<(BlindIndex, Hmac<Sha256>)>,
}

impl std::fmt::Debug for IndexKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IndexKeys(<redacted>)")
    }
}

impl IndexKeys {
    pub fn derive(root: &DataKey) -> IndexKeys {
        let hk = Hkdf::<Sha256>::new(Some(b"parcours/blind-index/v1"), root.expose());
        let keys = BlindIndex::ALL
            .iter()
            .map(|&ix| {
                let mut k = zeroize::Zeroizing::new([0u8; 32]);
                // 32 bytes is far below HKDF-SHA256's 255*32 limit: cannot fail.
                if hk.expand(ix.name().as_bytes(), k.as_mut()).is_err() {
                    unreachable!("HKDF output length is valid");
                }
                let mac = match <Hmac<Sha256> as Mac>::new_from_slice(k.as_ref()) {
                    Ok(m) => m,
                    Err(_) => unreachable!("HMAC accepts any key length"),
                };
                (ix, mac)
            })
            .collect();
        IndexKeys { keys }
    }

    /// The truncated blind index of an already-normalised value, as a non-negative integer.
    pub fn compute(&self, ix: BlindIndex, normalised: &str) -> i64 {
        let Some((_, mac)) = self.keys.iter().find(|(k, _)| *k == ix) else {
            unreachable!("every index has a key");
        };
        let mut mac = mac.clone();
        mac.update(normalised.as_bytes());
        let out = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&out[..8]);
        (u64::from_be_bytes(first) >> (64 - ix.bits())) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_truncated_and_separated() {
        let a = IndexKeys::derive(&DataKey::generate());
        let b = IndexKeys::derive(&DataKey::generate());
        let v = a.compute(BlindIndex::Nom, "martin");
        assert_eq!(v, a.compute(BlindIndex::Nom, "martin"));
        assert!((0..(1 << 18)).contains(&v));
        // Same value, other index or other key: unrelated outputs (equal with prob. 2^-18).
        assert_ne!(v, a.compute(BlindIndex::Prenom, "martin"));
        assert_ne!(v, b.compute(BlindIndex::Nom, "martin"));
    }

    #[test]
    fn truncation_makes_collisions() {
        // 2^18 buckets: 600 000 distinct values cannot all have distinct indexes.
        let k = IndexKeys::derive(&DataKey::generate());
        let mut seen = std::collections::HashSet::new();
        let mut collisions = 0;
        for i in 0..600_000 {
            if !seen.insert(k.compute(BlindIndex::Email, &format!("p{i}@x.fr"))) {
                collisions += 1;
            }
        }
        assert!(collisions > 300_000);
    }
}
