//! Indicators that publish the same cells, protected together.
//!
//! `sorties_emploi_durable` counts the exits whose category is "emploi durable": its total of
//! a unit *is* the cell `(unit, emploi_durable)` of `sorties × categorie`. Protected one by
//! one, each indicator chose its own suppressions and a cell hidden in one was read in the
//! other (the test `linked_indicators_resist_the_joint_attack` pinned a suppressed 71 that
//! way). [`crate::catalogue::LINKS`] declares such pairs (a test finds them from the filters);
//! this module protects each pair as one system, the way [`crate::publish`] protects the
//! families of one indicator:
//!
//! 1. the whole (`sorties`) is protected with the part's suppressed totals forced in its
//!    shared column, and what the part's tables tell of them as known bounds;
//! 2. the part (`sorties_emploi_durable`) is protected with the whole's suppressed cells of
//!    that column forced as its totals, and what the whole's tables tell of them;
//! 3. again, until neither adds a suppression nor narrows a bound (suppressions only grow and
//!    bounds only narrow by whole units, so this ends).
//!
//! The shared cells then read the same in both indicators, and each side was protected knowing
//! what the other publishes of them.

use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use std::collections::{BTreeMap, BTreeSet};

use crate::catalogue::{indicator, Link};
use crate::modular::{Bounds, Key};
use crate::publish::{protect_shared, Families, Hierarchy};

/// What the other indicator of a link imposes on this one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shared {
    /// Unit totals to suppress (the part's side), and what is known of them.
    pub totals: BTreeSet<usize>,
    pub total_bounds: Bounds,
    /// The shared column (the whole's side): family and value code.
    pub column: Option<(&'static str, &'static str)>,
    /// Units whose cell of that column must be suppressed, and what is known of them.
    pub cells: BTreeSet<usize>,
    pub cell_bounds: BTreeMap<usize, (f64, f64)>,
}

/// What an indicator's protection tells of its suppressed shared cells.
#[derive(Debug, Clone, Default)]
pub struct Learnt {
    /// Suppressed unit totals.
    pub totals: Bounds,
    /// Suppressed cells of the watched column, by unit.
    pub column: BTreeMap<usize, (f64, f64)>,
}

/// Narrows `map[key]` to `b`; true when it narrowed by at least one unit (counts are whole).
pub(crate) fn narrow<K: Eq + std::hash::Hash>(
    map: &mut std::collections::HashMap<K, (f64, f64)>,
    key: K,
    (lo, hi): (f64, f64),
) -> bool {
    let b = map.entry(key).or_insert((0.0, f64::INFINITY));
    if lo > b.0 + 0.5 || hi < b.1 - 0.5 {
        *b = (b.0.max(lo), b.1.min(hi));
        return true;
    }
    false
}

fn narrow_unit(map: &mut BTreeMap<usize, (f64, f64)>, u: usize, (lo, hi): (f64, f64)) -> bool {
    let b = map.entry(u).or_insert((0.0, f64::INFINITY));
    if lo > b.0 + 0.5 || hi < b.1 - 0.5 {
        *b = (b.0.max(lo), b.1.min(hi));
        return true;
    }
    false
}

/// Protects both indicators of `link` for `year` together: (whole, part).
pub async fn protect_linked(
    ctx: &SessionContext,
    h: &Hierarchy,
    link: &Link,
    year: &str,
    threshold: i64,
) -> Result<(Families, Families)> {
    let (Some(whole), Some(part)) = (indicator(link.whole), indicator(link.part)) else {
        return Err(DataFusionError::Plan(format!(
            "lien entre indicateurs inconnus : {link:?}"
        )));
    };
    let mut to_whole = Shared {
        column: Some((link.family, link.value)),
        ..Shared::default()
    };
    let mut to_part = Shared::default();
    loop {
        let (fw, lw) =
            protect_shared(ctx, h, whole, year, threshold, None, None, &to_whole).await?;
        let column = fw.get(link.family).and_then(|f| {
            f.groups
                .iter()
                .position(|g| g.0 == link.value)
                .map(|g| (f, g))
        });
        if let Some((f, g)) = column {
            for (&(u, gg), &(_, st)) in &f.cells {
                if gg == g && st.suppressed() {
                    to_part.totals.insert(u);
                }
            }
        }
        for (&u, &b) in &lw.column {
            narrow(&mut to_part.total_bounds, (u, None) as Key, b);
        }
        let (fp, lp) = protect_shared(ctx, h, part, year, threshold, None, None, &to_part).await?;
        let mut changed = false;
        if let Some(f) = fp.values().next() {
            for (u, &(_, st)) in f.totals.iter().enumerate() {
                if st.suppressed() {
                    changed |= to_whole.cells.insert(u);
                }
            }
        }
        for (&(u, _), &b) in lp.totals.iter().filter(|(k, _)| k.1.is_none()) {
            changed |= narrow_unit(&mut to_whole.cell_bounds, u, b);
        }
        if !changed {
            // The part was protected knowing every suppression and bound of the whole, and
            // the whole knowing the part's (unchanged since): the shared cells read the same
            // on both sides.
            return Ok((fw, fp));
        }
    }
}
