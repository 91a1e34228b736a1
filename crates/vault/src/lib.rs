//! The key hierarchy of Parcours. Knows no SQL and no HTTP.
//!
//! ```text
//! master key (KEK, versioned, a 0600 file or a KMS; never in the database)
//!   ├── wraps each person's data key (DEK)  ──► encrypts that person's fields
//!   └── wraps the system keys kept in the database's keyring:
//!         index root (HKDF ► one key per blind index), account secrets, audit keys
//! ```
//!
//! Field ciphertext = `0x01 ‖ nonce(12) ‖ AES-256-GCM(DEK, value, AD)` where the
//! associated data binds table, column and record id: a ciphertext copied into another row or
//! column does not decrypt. Rotating the master key re-wraps keys only; erasing a person deletes
//! its wrapped DEK (crypto-shredding), which makes every copy of its fields, in any backup,
//! unreadable.

mod aead;
pub mod assertion;
mod blind;
mod master;

pub use aead::{DataKey, FieldCipherError};
pub use blind::{BlindIndex, IndexKeys};
pub use master::{KeyFileError, MasterKey};

/// Fills a buffer from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // getrandom only fails when the OS has no entropy source at all; nothing sane can go on.
    if let Err(e) = getrandom::getrandom(&mut b) {
        panic!("le générateur aléatoire du système est indisponible : {e}");
    }
    b
}

/// HMAC-SHA256 of `data` under a 32-byte key (for keyed pseudonyms and audit entry MACs).
pub fn hmac_sha256(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 under one key, keyed once: the key's two blocks are hashed when it is made, and
/// each message then costs only its own blocks (a warehouse export computes a million keyed
/// pseudonyms). Gives exactly [`hmac_sha256`] of the concatenated parts.
#[derive(Clone)]
pub struct KeyedMac(hmac::Hmac<sha2::Sha256>);

impl KeyedMac {
    pub fn new(key: &[u8; 32]) -> Self {
        use hmac::Mac;
        match <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key) {
            Ok(m) => Self(m),
            Err(_) => unreachable!("HMAC accepts any key length"),
        }
    }

    /// The MAC of the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        use hmac::Mac;
        let mut m = self.0.clone();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }
}

/// SHA-256 of `data` (audit chain links, session token storage).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_mac_equals_hmac_of_the_concatenation() {
        let key = random_bytes::<32>();
        let other = random_bytes::<32>();
        let keyed = KeyedMac::new(&key);
        for n in [0, 1, 31, 55, 56, 63, 64, 65, 200] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            let (a, b) = data.split_at(n / 3);
            assert_eq!(keyed.mac(&[a, b]), hmac_sha256(&key, &data), "{n} bytes");
            assert_eq!(keyed.mac(&[&data]), hmac_sha256(&key, &data), "{n} bytes");
            assert_ne!(keyed.mac(&[&data]), hmac_sha256(&other, &data), "{n} bytes");
        }
    }
}
