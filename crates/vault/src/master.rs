//! The master key (key-encryption key), versioned, read from a file that only its owner may read.
//!
//! File format (one line): `parcours-master-key v<version> <base64 of 32 bytes>`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::io::Write;
use std::path::Path;

use crate::{DataKey, FieldCipherError};

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("fichier de clé maîtresse introuvable : {0} (lancez « parcours init » ou indiquez PARCOURS_MASTER_KEY_FILE)")]
    Missing(String),
    #[error("le fichier de clé maîtresse {path} est lisible par d'autres que son propriétaire (mode {mode:o}) : corrigez avec « chmod 600 {path} »")]
    TooOpen { path: String, mode: u32 },
    #[error("fichier de clé maîtresse illisible ou mal formé : {0}")]
    Malformed(String),
    #[error("le fichier de clé maîtresse {0} existe déjà ; il n'est jamais écrasé")]
    Exists(String),
    #[error("erreur d'écriture du fichier de clé : {0}")]
    Io(String),
}

/// The versioned master key. Its bytes are zeroed on drop and never printed.
pub struct MasterKey {
    version: u32,
    key: DataKey,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey(v{}, <redacted>)", self.version)
    }
}

impl MasterKey {
    pub fn generate(version: u32) -> MasterKey {
        MasterKey {
            version,
            key: DataKey::generate(),
        }
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// Reads the key file, refusing it when group or others may read or write it.
    pub fn load(path: &Path) -> Result<MasterKey, KeyFileError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|_| KeyFileError::Missing(shown.clone()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyFileError::TooOpen { path: shown, mode });
            }
        }
        let _ = meta;
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| KeyFileError::Malformed(e.to_string()))?,
        );
        let mut parts = text.split_whitespace();
        let (Some("parcours-master-key"), Some(v), Some(b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyFileError::Malformed(shown));
        };
        let version: u32 = v
            .strip_prefix('v')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| KeyFileError::Malformed(shown.clone()))?;
        let bytes = zeroize::Zeroizing::new(
            STANDARD
                .decode(b64)
                .map_err(|_| KeyFileError::Malformed(shown.clone()))?,
        );
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyFileError::Malformed(shown.clone()))?;
        Ok(MasterKey {
            version,
            key: DataKey::from_bytes(arr),
        })
    }

    /// Writes the key to a new file created with mode 0600; never overwrites.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyFileError> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyFileError::Exists(path.display().to_string())
            } else {
                KeyFileError::Io(e.to_string())
            }
        })?;
        let line = zeroize::Zeroizing::new(format!(
            "parcours-master-key v{} {}\n",
            self.version,
            STANDARD.encode(self.key.expose())
        ));
        f.write_all(line.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| KeyFileError::Io(e.to_string()))
    }

    /// Wraps a key: `version(4, big endian) ‖ nonce ‖ AEAD(KEK, key, "parcours/wrap/v1" ‖ context)`.
    /// The context (e.g. "dek:<person id>") binds the wrapped key to its owner.
    pub fn wrap(&self, key: &DataKey, context: &str) -> Vec<u8> {
        let mut out = self.version.to_be_bytes().to_vec();
        out.extend(self.key.seal(key.expose(), &wrap_ad(self.version, context)));
        out
    }

    /// The master-key version a wrapped key was produced with.
    pub fn wrapped_version(wrapped: &[u8]) -> Option<u32> {
        wrapped
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
    }

    pub fn unwrap_key(&self, wrapped: &[u8], context: &str) -> Result<DataKey, FieldCipherError> {
        if MasterKey::wrapped_version(wrapped) != Some(self.version) {
            return Err(FieldCipherError::Misplaced);
        }
        let plain = self
            .key
            .open(&wrapped[4..], &wrap_ad(self.version, context))?;
        let arr: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| FieldCipherError::Format)?;
        Ok(DataKey::from_bytes(arr))
    }
}

fn wrap_ad(version: u32, context: &str) -> Vec<u8> {
    let mut ad = b"parcours/wrap/v1".to_vec();
    ad.extend_from_slice(&version.to_be_bytes());
    ad.extend_from_slice(context.as_bytes());
    ad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trip_and_permissions() {
        let dir = std::env::temp_dir().join(format!("parcours-vault-{}", hex_rand()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let p = dir.join("master.key");
        let mk = MasterKey::generate(3);
        mk.write_new(&p).expect("write");
        assert!(matches!(mk.write_new(&p), Err(KeyFileError::Exists(_))));
        let back = MasterKey::load(&p).expect("load");
        assert_eq!(back.version(), 3);
        let dek = DataKey::generate();
        let w = mk.wrap(&dek, "dek:a");
        assert_eq!(
            back.unwrap_key(&w, "dek:a").map(|k| *k.expose()),
            Ok(*dek.expose())
        );
        assert!(back.unwrap_key(&w, "dek:b").is_err());
        assert!(MasterKey::generate(3).unwrap_key(&w, "dek:a").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).expect("chmod");
            assert!(matches!(
                MasterKey::load(&p),
                Err(KeyFileError::TooOpen { .. })
            ));
        }
        assert!(matches!(
            MasterKey::load(&dir.join("nope")),
            Err(KeyFileError::Missing(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn hex_rand() -> String {
        crate::random_bytes::<8>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
