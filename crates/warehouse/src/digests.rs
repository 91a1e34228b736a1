//! Per-person digests of a month file, so that an incremental export can tell which months
//! changed without reading them back.
//!
//! Beside each `facts/AAAA-MM.parquet`, a version holds `empreintes/AAAA-MM.bin`: for every
//! person with rows in that month, a 64-bit key of the pseudonym and a 64-bit digest of the
//! person's rows (in file order), sorted. An incremental export re-reads the changed dossiers;
//! for each month it compares, person by affected person, the digest of the new rows with the
//! one written last time. Only when one differs is the previous file read back, merged and
//! rewritten; otherwise it is hard-linked as it is (with its digests). One day of activity thus
//! reads and rewrites the month it touched, not every month the re-read persons ever appear in.
//!
//! The digests are SipHash-1-3 with fixed keys: they are computed from the published rows of
//! the month file beside them and tell nothing that file does not. They are not a security
//! mechanism, only a change detector; what keeps them honest:
//! - the file records the SHA-256 of the month file it describes and a probe digest of fixed
//!   input: a sidecar that does not match its month file, or written by another hash function,
//!   is ignored (the month is then read back, as without digests);
//! - keys that collide, or digests that differ, only ever cause a month to be read back and
//!   compared row by row; reuse requires every affected key to carry exactly the same digests
//!   on both sides (a false "unchanged" needs a 64-bit digest collision on rows that differ).

use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};

use siphasher::sip::SipHasher13;

use crate::Fact;

const MAGIC: &[u8; 8] = b"PCEMPR01";
const HEADER: usize = 8 + 8 + 64 + 8;
const PERSON_KEYS: (u64, u64) = (0x7061_7263_6f75_7273, 0x7065_7273_6f6e_6e65);
const ROW_KEYS: (u64, u64) = (0x7061_7263_6f75_7273, 0x6c69_676e_6573_2121);

/// Directory of the sidecars inside a version.
pub const DIR: &str = "empreintes";

/// The sidecar of a month file, given the month file's path inside a version
/// (`V/facts/2026-11.parquet` → `V/empreintes/2026-11.bin`).
pub fn sidecar_of(month_path: &Path) -> Option<PathBuf> {
    let stem = month_path.file_stem()?;
    let version = month_path.parent()?.parent()?;
    let mut name = stem.to_os_string();
    name.push(".bin");
    Some(version.join(DIR).join(name))
}

/// The 64-bit key of a pseudonym.
pub fn person_key(pseudonym: &str) -> u64 {
    let mut h = SipHasher13::new_with_keys(PERSON_KEYS.0, PERSON_KEYS.1);
    h.write(pseudonym.as_bytes());
    h.finish()
}

fn text(h: &mut SipHasher13, s: &str) {
    h.write(&(s.len() as u64).to_le_bytes());
    h.write(s.as_bytes());
}

fn row(h: &mut SipHasher13, f: &Fact) {
    for s in [
        &*f.month,
        &f.structure,
        f.fact,
        &f.kind,
        &f.detail,
        &f.age_band,
    ] {
        text(h, s);
    }
    h.write(&f.value.to_le_bytes());
    h.write(&f.value2.to_le_bytes());
}

/// Digest of a fixed row: tells whether a sidecar was written by this very function.
fn probe() -> u64 {
    let mut h = SipHasher13::new_with_keys(ROW_KEYS.0, ROW_KEYS.1);
    let f = Fact {
        pseudonym: "".into(),
        month: "2000-01".into(),
        structure: "s".into(),
        fact: crate::fact::EVENT,
        kind: "k".into(),
        detail: "d".into(),
        age_band: "a".into(),
        value: -1,
        value2: 1 << 40,
    };
    row(&mut h, &f);
    h.finish()
}

/// The digests of one month: `(person key, digest of the person's rows)`, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonthDigests(Vec<(u64, u64)>);

impl MonthDigests {
    /// Digests of rows in file order (sorted by pseudonym first, see
    /// [`crate::files::sort_facts`]).
    pub fn of_facts(facts: &[Fact]) -> Self {
        let mut out = Vec::new();
        for person in facts.chunk_by(|a, b| a.pseudonym == b.pseudonym) {
            let mut h = SipHasher13::new_with_keys(ROW_KEYS.0, ROW_KEYS.1);
            for f in person {
                row(&mut h, f);
            }
            out.push((person_key(&person[0].pseudonym), h.finish()));
        }
        out.sort_unstable();
        Self(out)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn with_key(&self, key: u64) -> &[(u64, u64)] {
        let from = self.0.partition_point(|e| e.0 < key);
        let to = self.0.partition_point(|e| e.0 <= key);
        &self.0[from..to]
    }

    /// Whether the rows of the persons keyed `keys` (sorted) are the same here and in `new`,
    /// and `new` has rows of nobody else.
    pub fn agree_on(&self, new: &MonthDigests, keys: &[u64]) -> bool {
        new.0.iter().all(|(k, _)| keys.binary_search(k).is_ok())
            && keys.iter().all(|k| self.with_key(*k) == new.with_key(*k))
    }

    /// Writes the sidecar of a month file whose SHA-256 (hex) is `sha256`.
    pub fn write(&self, path: &Path, sha256: &str) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(HEADER + 16 * self.0.len());
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&probe().to_le_bytes());
        let mut sha = [b'0'; 64];
        for (d, s) in sha.iter_mut().zip(sha256.bytes()) {
            *d = s;
        }
        buf.extend_from_slice(&sha);
        buf.extend_from_slice(&(self.0.len() as u64).to_le_bytes());
        for (k, d) in &self.0 {
            buf.extend_from_slice(&k.to_le_bytes());
            buf.extend_from_slice(&d.to_le_bytes());
        }
        let mut f = std::fs::File::create(path)?;
        f.write_all(&buf)?;
        f.sync_all()
    }

    /// Reads the sidecar at `path` if it describes the month file of SHA-256 `sha256` and was
    /// written by this digest function; `None` otherwise (missing, truncated, stale, foreign).
    pub fn read(path: &Path, sha256: &str) -> Option<Self> {
        let b = std::fs::read(path).ok()?;
        let word = |at: usize| -> Option<u64> {
            Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
        };
        if b.get(..8)? != MAGIC || word(8)? != probe() || b.get(16..80)? != sha256.as_bytes() {
            return None;
        }
        let n = usize::try_from(word(80)?).ok()?;
        if b.len() != HEADER.checked_add(n.checked_mul(16)?)? {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let at = HEADER + 16 * i;
            out.push((word(at)?, word(at + 8)?));
        }
        out.is_sorted().then_some(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(p: &str, kind: &str, value: i64) -> Fact {
        Fact {
            pseudonym: p.into(),
            month: "2026-11".into(),
            structure: "ML1".into(),
            fact: crate::fact::EVENT,
            kind: kind.into(),
            detail: "".into(),
            age_band: "18-21".into(),
            value,
            value2: 0,
        }
    }

    #[test]
    fn digests_tell_a_changed_person_and_survive_a_round_trip() {
        let mut rows = vec![fact("a", "x", 1), fact("a", "y", 2), fact("b", "x", 1)];
        crate::files::sort_facts(&mut rows);
        let d = MonthDigests::of_facts(&rows);
        assert_eq!(d.len(), 2);
        let keys = |ps: &[&str]| {
            let mut k: Vec<u64> = ps.iter().map(|p| person_key(p)).collect();
            k.sort_unstable();
            k
        };
        // "a" re-read with the same rows: the month agrees; with one row changed, or gone, not.
        let same = MonthDigests::of_facts(&rows[..2]);
        assert!(d.agree_on(&same, &keys(&["a"])));
        let changed = MonthDigests::of_facts(&[fact("a", "x", 1), fact("a", "y", 3)]);
        assert!(!d.agree_on(&changed, &keys(&["a"])));
        assert!(!d.agree_on(&MonthDigests::default(), &keys(&["a"])));
        // A person absent before and still absent agrees; one who appears does not.
        assert!(d.agree_on(&MonthDigests::default(), &keys(&["c"])));
        let new = MonthDigests::of_facts(&[fact("c", "x", 1)]);
        assert!(!d.agree_on(&new, &keys(&["c"])));
        // Rows of a person not declared affected never count as agreeing.
        assert!(!d.agree_on(&same, &keys(&["b"])));

        let dir = std::env::temp_dir().join(format!("empreintes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("2026-11.bin");
        let sha = "ab".repeat(32);
        d.write(&path, &sha).unwrap();
        assert_eq!(MonthDigests::read(&path, &sha), Some(d.clone()));
        assert_eq!(MonthDigests::read(&path, &"cd".repeat(32)), None, "stale");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(MonthDigests::read(&path, &sha), None, "truncated");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
