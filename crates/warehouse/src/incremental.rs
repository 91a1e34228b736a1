//! The month files of an incremental export.
//!
//! The operational side re-reads only the persons whose dossier changed since the previous
//! version (plus the new ones and those the k-anonymity guard had generalised or suppressed),
//! and hands over their facts. A month's file is then the previous file without the rows of the
//! *affected* persons (re-read, removed, or suppressed now) plus their new rows; if that is
//! exactly the previous file, the file is reused as is (hard link), otherwise rewritten. The
//! result is row for row what a full export would write; one day of activity rewrites the few
//! months it touched.
//!
//! Whether a month changed is first decided from its digests ([`crate::digests`]): the affected
//! persons' new rows are digested and compared with what was written last time, so a month is
//! read back only when one of them differs (or when the digests are missing or stale).

use foldhash::HashSet;
use std::collections::BTreeMap;
use std::path::Path;

use crate::digests::{person_key, sidecar_of, MonthDigests};
use crate::files::{mentions_any, read_facts, Manifest, MonthFacts, Result};
use crate::Fact;

/// The rows of two sorted lists, sorted (the file order, [`crate::files::sort_facts`]).
fn merge_sorted(a: Vec<Fact>, b: Vec<Fact>) -> Vec<Fact> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x <= y,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}

/// The months of the new version, and how many previous month files had to be read back.
#[derive(Debug)]
pub struct MonthPlan {
    pub months: Vec<MonthFacts>,
    pub read: usize,
}

/// Plans every month of the new version. `fresh` are the facts of the re-read persons (not
/// suppressed), by month file, as [`crate::files::by_month`] gives them; `affected` are the
/// pseudonyms whose previous rows must go.
pub fn plan_months(
    prev_dir: &Path,
    prev: &Manifest,
    affected: &HashSet<String>,
    mut fresh: BTreeMap<String, Vec<Fact>>,
) -> Result<MonthPlan> {
    let mut keys: Vec<u64> = affected.iter().map(|p| person_key(p)).collect();
    keys.sort_unstable();
    keys.dedup();
    let (mut out, mut read) = (Vec::new(), 0);
    for (_, entry) in prev.fact_months() {
        let path = prev_dir.join(&entry.file);
        let added = fresh.remove(&entry.file).unwrap_or_default();
        let reuse = |digests| MonthFacts::Reuse {
            from: path.clone(),
            entry: entry.clone(),
            digests,
        };
        let unchanged = match sidecar_of(&path).and_then(|s| MonthDigests::read(&s, &entry.sha256))
        {
            Some(old) => old.agree_on(&MonthDigests::of_facts(&added), &keys),
            None => added.is_empty() && !mentions_any(&path, affected)?,
        };
        if unchanged {
            out.push(reuse(None));
            continue;
        }
        read += 1;
        // The file is sorted, and so are `added`: the affected persons' old rows are removed
        // and their new rows merged in, in one pass each, without sorting the month again.
        let (kept, removed): (Vec<Fact>, Vec<Fact>) = read_facts(&path)?
            .into_iter()
            .partition(|f| !affected.contains(&*f.pseudonym));
        if removed == added {
            // Unchanged after all: its digests were missing or stale, write them anew.
            let old = merge_sorted(kept, removed);
            out.push(reuse(Some(MonthDigests::of_facts(&old))));
        } else {
            let merged = merge_sorted(kept, added);
            if !merged.is_empty() {
                out.push(MonthFacts::Write {
                    month: entry.file.clone(),
                    facts: merged,
                });
            }
        }
    }
    for (file, facts) in fresh {
        if !facts.is_empty() {
            out.push(MonthFacts::Write { month: file, facts });
        }
    }
    Ok(MonthPlan { months: out, read })
}

#[cfg(test)]
mod tests {
    use super::merge_sorted;
    use crate::files::sort_facts;
    use crate::Fact;

    fn fact(p: u32, v: i64) -> Fact {
        Fact {
            pseudonym: format!("{p:04}").into(),
            month: "2026-01".into(),
            structure: "ML".into(),
            fact: crate::fact::EVENT,
            kind: "k".into(),
            detail: "".into(),
            age_band: "18-21".into(),
            value: v,
            value2: 0,
        }
    }

    #[test]
    fn merging_two_sorted_lists_equals_sorting_them_together() {
        for (n, m) in [(0, 0), (0, 5), (7, 0), (50, 13), (13, 50)] {
            let mut a: Vec<Fact> = (0..n).map(|i| fact(i * 7 % 23, i64::from(i % 3))).collect();
            let mut b: Vec<Fact> = (0..m).map(|i| fact(i * 5 % 23, i64::from(i % 2))).collect();
            sort_facts(&mut a);
            sort_facts(&mut b);
            let mut reference = [a.clone(), b.clone()].concat();
            sort_facts(&mut reference);
            assert_eq!(merge_sorted(a, b), reference, "{n} + {m}");
        }
    }
}
