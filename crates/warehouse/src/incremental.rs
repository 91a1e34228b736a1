//! The month files of an incremental export.
//!
//! The operational side re-reads only the persons whose dossier changed since the previous
//! version (plus the new ones and those the k-anonymity guard had generalised or suppressed),
//! and hands over their facts. A month's file is then the previous file without the rows of the
//! *affected* persons (re-read, removed, or suppressed now) plus their new rows; if that is
//! exactly the previous file, the file is reused as is (hard link), otherwise rewritten. The
//! result is row for row what a full export would write; one day of activity rewrites the few
//! months it touched.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use crate::files::{mentions_any, read_facts, sort_facts, Manifest, MonthFacts, Result};
use crate::Fact;

/// Plans every month of the new version. `fresh` are the facts of the re-read persons (not
/// suppressed), by month file, as [`crate::files::by_month`] gives them; `affected` are the
/// pseudonyms whose previous rows must go.
pub fn plan_months(
    prev_dir: &Path,
    prev: &Manifest,
    affected: &HashSet<String>,
    mut fresh: BTreeMap<String, Vec<Fact>>,
) -> Result<Vec<MonthFacts>> {
    let mut out = Vec::new();
    for (_, entry) in prev.fact_months() {
        let path = prev_dir.join(&entry.file);
        let added = fresh.remove(&entry.file).unwrap_or_default();
        let reuse = MonthFacts::Reuse {
            from: path.clone(),
            entry: entry.clone(),
        };
        if added.is_empty() && !mentions_any(&path, affected)? {
            out.push(reuse);
            continue;
        }
        let old = read_facts(&path)?;
        let mut merged: Vec<Fact> = old
            .iter()
            .filter(|f| !affected.contains(&f.pseudonym))
            .cloned()
            .collect();
        merged.extend(added);
        sort_facts(&mut merged);
        if merged == old {
            out.push(reuse);
        } else if !merged.is_empty() {
            out.push(MonthFacts::Write {
                month: entry.file.clone(),
                facts: merged,
            });
        }
    }
    for (file, facts) in fresh {
        if !facts.is_empty() {
            out.push(MonthFacts::Write { month: file, facts });
        }
    }
    Ok(out)
}
