//! Protection of a hierarchical table by sub-table (the *modular* method of τ-Argus, after
//! de Wolf's HiTaS): what makes disclosure control hold at national scale.
//!
//! A family of one indicator-year is a hierarchical table: units (nation → régions →
//! structures) × groups of values (for the months: months, quarters), with every unit's total.
//! Protected as one linear system ([`crate::sdc::protect_with`]), its cost grows roughly as
//! the cube of the number of structures: about 430 Missions Locales are out of reach. Instead,
//! the table is cut into one *sub-table* per unit that has children:
//!
//! - inner cells: `child × value` (a child's count is the sum over the structures under it);
//! - published cells: `child × group`, each child's total, and the unit's own `unit × group`
//!   and total (its margins).
//!
//! A région's cells belong to two sub-tables: as a child in the nation's, as the margins of its
//! own. Each sub-table is protected ([`crate::sdc::protect_bounded`]) with two things learnt from
//! the others:
//!
//! - the shared cells any other sub-table suppressed, forced suppressed (protected there like
//!   primary cells);
//! - what the other sub-table tells of each suppressed shared cell: its feasible interval there,
//!   rounded inwards to integers. The interval check takes it as the attacker would. Without
//!   it, the method leaks: a région's own sub-table can bound one of its suppressed margins to a
//!   few units, and the nation's sub-table then turns that bound into a narrow interval for
//!   another région's cell (the joint test found such a case on its 17th table).
//!
//! Before the sub-tables, exact disclosure is settled over the **whole** table by the sparse
//! Gaussian elimination ([`crate::sdc::exact`]), which stays cheap at national scale (the linear
//! programs are what is not): a relation spanning sub-tables — the nation's equations pinning
//! the *sum* of two of a région's margins, the région's own pinning the rest — is an exact
//! disclosure that no sub-table sees alone (the joint test found one on its 116th table).
//! Suppressing more cells never makes a cell a linear combination of published ones, so what
//! the sub-tables add keeps it so.
//!
//! A sub-table that adds a suppression to a shared cell, or narrows what is known of one, makes
//! the other protect again, until no sub-table adds anything. Suppressions only grow and bounds
//! only narrow by whole units, so this ends. Every cell then has one status, whichever sub-table
//! it is read from. The totals are shared with the other families of the same indicator-year
//! the same way ([`crate::publish`]).
//!
//! Each sub-table is small (the nation's: its régions; a région's: its structures, at most
//! about 45), and the régions' sub-tables are independent once the nation's shared cells are
//! known: they are protected on one thread per core.
//!
//! What the method still does not capture: an *inequality* relating several shared cells that
//! one sub-table implies (say, a lower bound on the sum of two margins), which a box of
//! intervals does not state (an exact relation is caught by the whole table's elimination).
//! The test `protection_by_sub_table_resists_the_joint_attack` attacks every published cell
//! jointly — one linear program over the whole table, every sub-table together, written in the
//! test — on 120 random hierarchies at each run (600 were run while building it); and
//! `parcours-insight bench-protection --attaque N` attacks a sample of suppressed cells jointly
//! at national scale. docs/BENCHMARKS.md records the figures.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::sdc::{bounded_interval, exact, protect_bounded, Bound, Status};

/// A published cell of a hierarchical table: `(unit, Some(group))`, or `(unit, None)` for the
/// unit's total.
pub type Key = (usize, Option<usize>);

/// One family of one indicator-year, before protection.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Each unit's parent (`None` for the root, the nation).
    pub parent: Vec<Option<usize>>,
    /// The counts: `(leaf unit, value, count)`; leaves are the structures.
    pub rows: Vec<(usize, usize, i64)>,
    /// The column groups, each the values it gathers (a month, a quarter's months, a sex…).
    pub groups: Vec<Vec<usize>>,
}

/// Every non-empty published cell of a table, with its value and status. A cell absent from it
/// is a true 0 (publishable).
pub type Cells = HashMap<Key, (i64, Status)>;

/// One sub-table: a unit and its children.
struct Sub {
    inner: Vec<i64>,
    cells: Vec<Vec<usize>>,
    /// The keys of each published cell (several when they gather the same inner cells, as a
    /// région with one structure).
    keys: Vec<Vec<Key>>,
}

impl Table {
    fn units(&self) -> usize {
        self.parent.len()
    }

    /// The units from a leaf up to the root (the leaf first).
    fn chain(&self, leaf: usize) -> Vec<usize> {
        let mut out = vec![leaf];
        let mut u = leaf;
        while let Some(p) = self.parent.get(u).copied().flatten() {
            if out.contains(&p) || out.len() > self.units() {
                break; // a cycle: not a hierarchy; stop rather than loop
            }
            out.push(p);
            u = p;
        }
        out
    }

    /// The value of every non-empty published cell, without protection.
    pub fn sums(&self) -> HashMap<Key, i64> {
        let (inner, cells, keys) = self.whole();
        keys.into_iter()
            .zip(cells)
            .map(|(k, c)| (k, c.iter().map(|&i| inner[i]).sum()))
            .collect()
    }

    /// The whole table as one linear system: inner cells (the rows), and one published cell
    /// per key (the keys returned beside), as [`crate::sdc::protect_with`] takes it. What the
    /// attack of every sub-table together is computed on.
    pub fn whole(&self) -> (Vec<i64>, Vec<Vec<usize>>, Vec<Key>) {
        let of_value = self.groups_of_values();
        let mut members: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
        for (i, &(leaf, v, _)) in self.rows.iter().enumerate() {
            for u in self.chain(leaf) {
                members.entry((u, None)).or_default().push(i);
                for &g in of_value.get(&v).map(Vec::as_slice).unwrap_or(&[]) {
                    members.entry((u, Some(g))).or_default().push(i);
                }
            }
        }
        let inner = self.rows.iter().map(|r| r.2).collect();
        let (keys, cells) = members.into_iter().unzip();
        (inner, cells, keys)
    }

    fn groups_of_values(&self) -> HashMap<usize, Vec<usize>> {
        let mut m: HashMap<usize, Vec<usize>> = HashMap::new();
        for (g, vals) in self.groups.iter().enumerate() {
            for &v in vals {
                m.entry(v).or_default().push(g);
            }
        }
        m
    }

    /// The sub-tables, by unit (only units with rows under them and children).
    fn subs(&self) -> BTreeMap<usize, Sub> {
        let of_value = self.groups_of_values();
        // (unit, child, value) → count.
        let mut inner: BTreeMap<usize, BTreeMap<(usize, usize), i64>> = BTreeMap::new();
        for &(leaf, v, n) in &self.rows {
            let chain = self.chain(leaf);
            for pair in chain.windows(2) {
                *inner
                    .entry(pair[1])
                    .or_default()
                    .entry((pair[0], v))
                    .or_default() += n;
            }
        }
        let mut out = BTreeMap::new();
        for (u, counts) in inner {
            let keys_inner: Vec<(usize, usize)> = counts.keys().copied().collect();
            let values: Vec<i64> = counts.values().copied().collect();
            let mut members: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
            for (i, &(child, v)) in keys_inner.iter().enumerate() {
                for owner in [child, u] {
                    members.entry((owner, None)).or_default().push(i);
                    for &g in of_value.get(&v).map(Vec::as_slice).unwrap_or(&[]) {
                        members.entry((owner, Some(g))).or_default().push(i);
                    }
                }
            }
            let mut cells: Vec<Vec<usize>> = Vec::new();
            let mut keys: Vec<Vec<Key>> = Vec::new();
            let mut index: HashMap<Vec<usize>, usize> = HashMap::new();
            for (key, set) in members {
                let c = *index.entry(set.clone()).or_insert_with(|| {
                    cells.push(set);
                    keys.push(Vec::new());
                    cells.len() - 1
                });
                keys[c].push(key);
            }
            out.insert(
                u,
                Sub {
                    inner: values,
                    cells,
                    keys,
                },
            );
        }
        out
    }
}

/// What is known of a cell's value from the equations of the tables that publish it: its
/// feasible interval, rounded inwards to integers (counts are integers; an attacker rounds too).
pub type Bounds = HashMap<Key, (f64, f64)>;

/// Protects a hierarchical table by sub-table (see the module's documentation), the cells of
/// `forced` suppressed whatever their value, and `known` what other tables (the other
/// families) tell of some cells. Returns every non-empty published cell, and what this table
/// tells of its suppressed totals (for the other families).
pub fn protect_table(
    table: &Table,
    threshold: i64,
    forced: &[Key],
    known: &Bounds,
) -> (Cells, Bounds) {
    protect_table_watching(table, threshold, forced, known, &HashSet::new())
}

/// [`protect_table`], also telling what the table says of the suppressed cells of `watch`
/// (cells another indicator publishes too: see [`crate::catalogue::LINKS`]).
pub fn protect_table_watching(
    table: &Table,
    threshold: i64,
    forced: &[Key],
    known: &Bounds,
    watch: &HashSet<Key>,
) -> (Cells, Bounds) {
    let subs = table.subs();
    let mut suppressed: HashMap<Key, Status> = forced.iter().map(|&k| (k, Status::D)).collect();
    // Exact disclosure first, over the whole table: the Gaussian elimination is sparse and
    // stays cheap at national scale, and a relation spanning several sub-tables (the nation's
    // equations pinning the sum of two of a région's margins, the région's own equations
    // pinning the rest) is seen there. The sub-tables then only add suppressions, which keeps
    // it so.
    let (inner, cells, keys) = table.whole();
    let forced_cells: Vec<usize> = (0..keys.len())
        .filter(|&c| suppressed.contains_key(&keys[c]))
        .collect();
    for (key, st) in keys
        .iter()
        .zip(exact(&inner, &cells, threshold, &forced_cells))
    {
        if st.suppressed() {
            suppressed.insert(*key, st);
        }
    }
    let mut bounds: Bounds = known.clone();
    // Top-down: a unit's sub-table before its children's (the nation's shared cells first).
    let depth = |u: usize| table.chain(u).len();
    let mut levels: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &u in subs.keys() {
        levels.entry(depth(u)).or_default().push(u);
    }
    // The sub-tables holding each key (one or two).
    let holders = |key: Key| -> Vec<usize> {
        let (w, _) = key;
        [Some(w), table.parent.get(w).copied().flatten()]
            .into_iter()
            .flatten()
            .filter(|h| subs.contains_key(h))
            .collect()
    };
    let mut dirty: HashSet<usize> = subs.keys().copied().collect();
    let mut statuses: HashMap<usize, Vec<Status>> = HashMap::new();
    while !dirty.is_empty() {
        for units in levels.values() {
            let todo: Vec<usize> = units
                .iter()
                .copied()
                .filter(|u| dirty.contains(u))
                .collect();
            if todo.is_empty() {
                continue;
            }
            for u in &todo {
                dirty.remove(u);
            }
            // The sub-tables of one level share no cell: one thread per core.
            let done = protect_level(&subs, &todo, &suppressed, &bounds, threshold, watch);
            for (u, st, learnt) in done {
                let Some(sub) = subs.get(&u) else { continue };
                for (keys, s) in sub.keys.iter().zip(&st) {
                    if !s.suppressed() {
                        continue;
                    }
                    for &key in keys {
                        if suppressed.insert(key, *s).is_none() {
                            // Shared: the other sub-table holding this cell protects again.
                            dirty.extend(holders(key).into_iter().filter(|&h| h != u));
                        }
                    }
                }
                for (key, (lo, hi)) in learnt {
                    let b = bounds.entry(key).or_insert((0.0, f64::INFINITY));
                    if lo > b.0 + 0.5 || hi < b.1 - 0.5 {
                        *b = (b.0.max(lo), b.1.min(hi));
                        // Narrower than the other sub-table assumed: it checks again.
                        dirty.extend(holders(key).into_iter().filter(|&h| h != u));
                    }
                }
                statuses.insert(u, st);
            }
        }
    }
    let mut out = Cells::new();
    for (u, sub) in &subs {
        let Some(st) = statuses.get(u) else { continue };
        for ((keys, cell), s) in sub.keys.iter().zip(&sub.cells).zip(st) {
            let value: i64 = cell.iter().map(|&i| sub.inner[i]).sum();
            for &key in keys {
                let s = suppressed.get(&key).copied().unwrap_or(*s);
                let entry = out.entry(key).or_insert((value, s));
                // A primary cell is primary in every sub-table; a shared cell suppressed in
                // one is suppressed in both (the fixpoint above).
                if s == Status::A || (s.suppressed() && entry.1 == Status::V) {
                    entry.1 = s;
                }
            }
        }
    }
    let totals = bounds
        .into_iter()
        .filter(|(k, _)| {
            (k.1.is_none() || watch.contains(k)) && out.get(k).is_some_and(|c| c.1.suppressed())
        })
        .collect();
    (out, totals)
}

/// A sub-table protected: its unit, its cells' statuses, and what it tells of its suppressed
/// shared cells.
type Protected = (usize, Vec<Status>, Vec<(Key, (f64, f64))>);

/// Protects the sub-tables `units` (which share no cell), with the cells already suppressed
/// forced and what is known of the shared cells, on one thread per core. Returns each
/// sub-table's statuses and what it tells of its suppressed shared cells and totals.
fn protect_level(
    subs: &BTreeMap<usize, Sub>,
    units: &[usize],
    suppressed: &HashMap<Key, Status>,
    known: &Bounds,
    threshold: i64,
    watch: &HashSet<Key>,
) -> Vec<Protected> {
    let one = |u: usize| -> Option<Protected> {
        let sub = subs.get(&u)?;
        let forced: Vec<usize> = (0..sub.cells.len())
            .filter(|&c| sub.keys[c].iter().any(|k| suppressed.contains_key(k)))
            .collect();
        let bounds: Vec<Bound> = (0..sub.cells.len())
            .filter_map(|c| {
                let (lo, hi) = sub.keys[c].iter().filter_map(|k| known.get(k)).fold(
                    None,
                    |acc: Option<(f64, f64)>, &(lo, hi)| {
                        Some(acc.map_or((lo, hi), |(a, b)| (a.max(lo), b.min(hi))))
                    },
                )?;
                Some(Bound { cell: c, lo, hi })
            })
            .collect();
        let st = protect_bounded(&sub.inner, &sub.cells, threshold, &forced, &bounds);
        // What this sub-table tells of the cells it shares (with the sub-table above or below,
        // or, for totals, with the other families).
        let mut learnt = Vec::new();
        for (c, keys) in sub.keys.iter().enumerate() {
            let shared: Vec<Key> = keys
                .iter()
                .copied()
                .filter(|&(w, g)| {
                    g.is_none() || w == u || subs.contains_key(&w) || watch.contains(&(w, g))
                })
                .collect();
            if !st[c].suppressed() || shared.is_empty() {
                continue;
            }
            let (lo, hi) = bounded_interval(&sub.inner, &sub.cells, &st, &sub.cells[c], &bounds);
            let rounded = ((lo - 1e-6).ceil(), (hi + 1e-6).floor());
            learnt.extend(shared.into_iter().map(|k| (k, rounded)));
        }
        Some((u, st, learnt))
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(units.len())
        .max(1);
    if threads == 1 {
        return units.iter().filter_map(|&u| one(u)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&u) = units.get(i) else { break };
                        out.extend(one(u));
                    }
                    out
                })
            })
            .collect();
        let mut out: Vec<_> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        out.sort_by_key(|(u, _, _)| *u);
        out
    })
}
