//! Statistical disclosure control of count tables: primary suppression of small counts, then
//! secondary suppression by Gaussian elimination (the method of Statistics Norway's
//! GaussSuppression, re-implemented), over the whole linear system of the tables published
//! together — inner cells, margins, and every table sharing a margin.
//!
//! Model: a set of *inner cells* (the finest cross-classification, never published as such
//! unless they are also a published cell) with their counts, and the *published cells*, each the
//! sum of a set of inner cells. A cell's vector is the indicator of its inner set; the values
//! published are `x_c · y`. A suppressed cell is exactly disclosed when its vector is a linear
//! combination of published cells' vectors.
//!
//! 1. **Primary** (status `A`): counts of natural persons from 1 to `threshold − 1` (default 11,
//!    the DGFiP rule for counts of persons; docs/INDICATORS.md). Zero is published as 0: an empty
//!    cell is a true 0 and is never written "s".
//! 2. **Secondary** (status `D`): the other cells are candidates, taken in this order — zeros
//!    first, then by decreasing count (large cells are published, small ones suppressed when
//!    needed; a zero never serves as protection, since it would pin the cell it protects). Each
//!    candidate reduces the system by Gaussian elimination (exact arithmetic modulo the prime
//!    2⁶¹ − 1); a candidate whose publication would make some primary cell a linear combination
//!    of published cells is suppressed instead. Hence no primary cell depends linearly on
//!    published ones.
//! 3. **Interval protection**: exact disclosure is not the only risk — a suppressed cell may be
//!    bounded to a narrow range by the published equations and the non-negativity of counts. For
//!    each suppressed cell, the feasible interval given everything published is computed by
//!    linear programming; while one is narrower than `threshold`, one more cell is suppressed: the
//!    smallest publishable non-zero cell sharing a published margin with it (else that margin).
//! 4. Everything else is publishable (`V`).

use serde::Serialize;

/// How many of the nearest candidate cells the interval step tries before suppressing one.
const TRIED: usize = 4;

/// Default minimum count of persons for a publishable cell.
pub const DEFAULT_THRESHOLD: i64 = 11;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    /// Primary suppression: too few persons.
    A,
    /// Secondary suppression: would let a primary cell be recomputed.
    D,
    /// Publishable.
    V,
}

impl Status {
    pub fn suppressed(self) -> bool {
        self != Status::V
    }
}

/// How a cell reads on the wire and on screen: its count, or `s` when suppressed (never 0).
pub fn shown(value: i64, status: Status) -> String {
    if status.suppressed() {
        "s".into()
    } else {
        value.to_string()
    }
}

const P: u64 = (1 << 61) - 1;

fn mul(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(P)) as u64
}

fn sub(a: u64, b: u64) -> u64 {
    if a >= b {
        a - b
    } else {
        a + P - b
    }
}

fn inv(a: u64) -> u64 {
    // Fermat: a^(p-2).
    let (mut base, mut e, mut r) = (a, P - 2, 1u64);
    while e > 0 {
        if e & 1 == 1 {
            r = mul(r, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    r
}

/// A basis vector of the published cells' span: reduced against the vectors before it (zero at
/// their pivots), scaled so that its pivot (first non-zero position) holds 1, and stored sparse
/// (the cells of hierarchical tables touch few inner cells). Reducing a vector against the
/// basis in insertion order zeroes every pivot.
struct Sparse {
    pivot: usize,
    entries: Vec<(usize, u64)>,
}

impl Sparse {
    /// `v` scaled so that its first non-zero entry is 1 (`None` for the zero vector).
    fn normalised(v: &[u64]) -> Option<Sparse> {
        let pivot = v.iter().position(|&x| x != 0)?;
        let k = inv(v[pivot]);
        let entries = v
            .iter()
            .enumerate()
            .filter(|(_, &x)| x != 0)
            .map(|(j, &x)| (j, mul(k, x)))
            .collect();
        Some(Sparse { pivot, entries })
    }

    /// `v -= v[pivot] · self`, keeping `nnz` (the count of non-zero entries of `v`) true.
    fn eliminate_from(&self, v: &mut [u64], nnz: &mut usize) {
        let f = v[self.pivot];
        if f == 0 {
            return;
        }
        for &(j, y) in &self.entries {
            let before = v[j];
            let after = sub(before, mul(f, y));
            v[j] = after;
            match (before == 0, after == 0) {
                (true, false) => *nnz += 1,
                (false, true) => *nnz -= 1,
                _ => {}
            }
        }
    }

    /// Whether `v` (with `nnz` non-zero entries) is a multiple of this vector.
    fn divides(&self, v: &[u64], nnz: usize) -> bool {
        let f = v[self.pivot];
        f != 0 && nnz == self.entries.len() && self.entries.iter().all(|&(j, y)| v[j] == mul(f, y))
    }
}

/// Protects the published cells `cells` (each a list of inner-cell indices) of counts `inner`.
/// Returns one status per cell.
pub fn protect(inner: &[i64], cells: &[Vec<usize>], threshold: i64) -> Vec<Status> {
    protect_with(inner, cells, threshold, &[])
}

/// [`protect`], with cells that must be suppressed whatever their value (`forced`): the cells
/// this table shares with another table that suppressed them. They are protected like primary
/// cells (nothing published here may recompute them), so that the tables of one family can be
/// published side by side (see [`crate::publish`]).
pub fn protect_with(
    inner: &[i64],
    cells: &[Vec<usize>],
    threshold: i64,
    forced: &[usize],
) -> Vec<Status> {
    protect_bounded(inner, cells, threshold, forced, &[])
}

/// What an attacker knows of a cell beyond this table's equations: its value lies in
/// `lo..=hi` (learnt from another table sharing it). See [`crate::modular`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    pub cell: usize,
    pub lo: f64,
    pub hi: f64,
}

/// [`protect_with`], the interval check taking `bounds` into account as the attacker would.
pub fn protect_bounded(
    inner: &[i64],
    cells: &[Vec<usize>],
    threshold: i64,
    forced: &[usize],
    bounds: &[Bound],
) -> Vec<Status> {
    let mut status = gauss(inner, cells, threshold, forced);
    let values: Vec<i64> = cells
        .iter()
        .map(|c| c.iter().map(|&i| inner.get(i).copied().unwrap_or(0)).sum())
        .collect();
    let sets: Vec<std::collections::HashSet<usize>> =
        cells.iter().map(|c| c.iter().copied().collect()).collect();
    let mut checked = vec![false; cells.len()];
    let narrow = |(lo, hi): (f64, f64)| hi - lo < threshold as f64 - 1e-6;
    loop {
        // The first suppressed cell (primaries first) still too narrowly bounded.
        let mut order: Vec<usize> = (0..cells.len())
            .filter(|&i| status[i].suppressed() && !checked[i])
            .collect();
        order.sort_by_key(|&i| (status[i] != Status::A, i));
        // Inner cells of some suppressed cell: the others are fixed in the quick check.
        let mut free = vec![false; inner.len()];
        for (c, st) in cells.iter().zip(&status) {
            if st.suppressed() {
                for &i in c {
                    if let Some(f) = free.get_mut(i) {
                        *f = true;
                    }
                }
            }
        }
        let mut weak = None;
        for i in order {
            // The quick check solves a restriction of the attacker's program (its interval
            // lies inside the true one): wide there means wide. Only cells it finds narrow
            // get the full program, which decides.
            if narrow(interval(
                inner,
                cells,
                &status,
                &cells[i],
                Some(&free),
                bounds,
            )) && narrow(interval(inner, cells, &status, &cells[i], None, bounds))
            {
                weak = Some(i);
                break;
            }
            checked[i] = true;
        }
        let Some(w) = weak else { return status };
        // Margins containing it, then the cells inside those margins that do not overlap it,
        // the nearest first (the smallest margin they share with it, then the smallest count):
        // a cell of the same row or quarter can open a way for it to move, a cell across the
        // table rarely does. The few nearest are tried, and the one that widens its interval
        // most (by the quick check) is suppressed — taking the nearest blindly suppressed most
        // of a région's cells, each useless suppression needing protection in turn.
        let margins: Vec<usize> = (0..cells.len())
            .filter(|&m| m != w && sets[w].is_subset(&sets[m]))
            .collect();
        let mut near: Vec<(usize, i64, usize)> = (0..cells.len())
            .filter(|&d| status[d] == Status::V && values[d] > 0 && d != w)
            .filter(|&d| sets[d].is_disjoint(&sets[w]))
            .filter_map(|d| {
                let shared = margins
                    .iter()
                    .filter(|&&m| d != m && sets[d].is_subset(&sets[m]))
                    .map(|&m| sets[m].len())
                    .min()?;
                Some((shared, values[d], d))
            })
            .collect();
        near.sort_unstable();
        let mut best: Option<(f64, usize)> = None;
        for &(_, _, d) in near.iter().take(TRIED) {
            status[d] = Status::D;
            let mut wider = free.clone();
            for &i in &cells[d] {
                if let Some(f) = wider.get_mut(i) {
                    *f = true;
                }
            }
            let (lo, hi) = interval(inner, cells, &status, &cells[w], Some(&wider), bounds);
            status[d] = Status::V;
            if best.is_none_or(|(width, _)| hi - lo > width + 1e-9) {
                best = Some((hi - lo, d));
            }
        }
        let candidate = best.map(|(_, d)| d).or_else(|| {
            margins
                .iter()
                .copied()
                .filter(|&m| status[m] == Status::V)
                .min_by_key(|&m| (sets[m].len(), m))
        });
        match candidate {
            Some(d) => {
                status[d] = Status::D;
                // New suppressions widen intervals: what was wide stays wide.
            }
            None => {
                // Nothing left to suppress around it: it is as protected as the tables allow.
                checked[w] = true;
            }
        }
    }
}

/// Minimum and maximum of the sum of `target`'s inner cells, given the values of the
/// publishable cells and non-negative inner counts (linear programming). Unbounded above when
/// nothing published bounds it.
pub fn feasible_interval(
    inner: &[i64],
    cells: &[Vec<usize>],
    status: &[Status],
    target: &[usize],
) -> (f64, f64) {
    interval(inner, cells, status, target, None, &[])
}

/// [`feasible_interval`], with what is known of some cells from other tables.
pub fn bounded_interval(
    inner: &[i64],
    cells: &[Vec<usize>],
    status: &[Status],
    target: &[usize],
    bounds: &[Bound],
) -> (f64, f64) {
    interval(inner, cells, status, target, None, bounds)
}

/// [`feasible_interval`]; with `free`, every inner cell outside it is fixed to its true value
/// (a restriction of the same program, with only the free cells as variables: its interval
/// lies inside the true one). `target`'s cells must be free. `bounds` add what is known of some
/// cells' values from elsewhere.
fn interval(
    inner: &[i64],
    cells: &[Vec<usize>],
    status: &[Status],
    target: &[usize],
    free: Option<&[bool]>,
    bounds: &[Bound],
) -> (f64, f64) {
    use microlp::{ComparisonOp, OptimizationDirection, Problem, SolveOutcome};
    let is_free = |i: usize| i < inner.len() && free.is_none_or(|f| f.get(i) == Some(&true));
    let in_target: std::collections::HashSet<usize> = target.iter().copied().collect();
    // The target's fixed part (none when `target` is free, as required) is a constant.
    let constant: i64 = target
        .iter()
        .filter(|&&i| !is_free(i))
        .map(|&i| inner.get(i).copied().unwrap_or(0))
        .sum();
    let solve = |dir| {
        let mut p = Problem::new(dir);
        let mut var = std::collections::HashMap::new();
        for i in (0..inner.len()).filter(|&i| is_free(i)) {
            let objective = if in_target.contains(&i) { 1.0 } else { 0.0 };
            var.insert(i, p.add_var(objective, (0.0, f64::INFINITY)));
        }
        for (c, s) in cells.iter().zip(status) {
            if *s != Status::V {
                continue;
            }
            let mut rhs: i64 = 0;
            let mut terms = Vec::new();
            for &i in c {
                if let Some(&v) = var.get(&i) {
                    terms.push((v, 1.0));
                    rhs += inner[i];
                }
            }
            if !terms.is_empty() {
                p.add_constraint(terms, ComparisonOp::Eq, rhs as f64);
            }
        }
        for b in bounds {
            let Some(c) = cells.get(b.cell) else { continue };
            let mut fixed: i64 = 0;
            let mut terms = Vec::new();
            for &i in c {
                match var.get(&i) {
                    Some(&v) => terms.push((v, 1.0)),
                    None => fixed += inner.get(i).copied().unwrap_or(0),
                }
            }
            if terms.is_empty() {
                continue;
            }
            if b.lo.is_finite() && b.lo > fixed as f64 {
                p.add_constraint(terms.clone(), ComparisonOp::Ge, b.lo - fixed as f64);
            }
            if b.hi.is_finite() {
                p.add_constraint(terms, ComparisonOp::Le, b.hi - fixed as f64);
            }
        }
        match p.solve() {
            Ok(SolveOutcome::Solution(s)) => Some(s.objective()),
            _ => None,
        }
    };
    let lo = solve(OptimizationDirection::Minimize).unwrap_or(0.0);
    let hi = solve(OptimizationDirection::Maximize).unwrap_or(f64::INFINITY);
    (lo + constant as f64, hi + constant as f64)
}

/// Primary suppression, then secondary suppression by Gaussian elimination, without the
/// interval step: no suppressed cell is a linear combination of published ones (exact
/// disclosure), and suppressing more cells keeps it so.
pub fn exact(inner: &[i64], cells: &[Vec<usize>], threshold: i64, forced: &[usize]) -> Vec<Status> {
    gauss(inner, cells, threshold, forced)
}

/// Primary suppression, then secondary suppression by Gaussian elimination.
fn gauss(inner: &[i64], cells: &[Vec<usize>], threshold: i64, forced: &[usize]) -> Vec<Status> {
    let n = inner.len();
    let value = |c: &Vec<usize>| {
        c.iter()
            .map(|&i| inner.get(i).copied().unwrap_or(0))
            .sum::<i64>()
    };
    let vector = |c: &Vec<usize>| {
        let mut v = vec![0u64; n];
        for &i in c {
            if i < n {
                v[i] = 1;
            }
        }
        v
    };
    let values: Vec<i64> = cells.iter().map(value).collect();
    let mut status: Vec<Status> = values
        .iter()
        .map(|&v| {
            if v > 0 && v < threshold {
                Status::A
            } else {
                Status::V
            }
        })
        .collect();
    for &f in forced {
        if f < status.len() && status[f] == Status::V {
            status[f] = Status::D;
        }
    }
    // Exact arithmetic modulo P. Reducing a vector is one pass over the basis (see
    // [`Sparse`]), touching only the basis vectors' non-zero entries.
    let mut basis: Vec<Sparse> = Vec::new();
    // Residuals of the suppressed cells against the published basis, with their non-zero
    // counts (a residual never becomes zero: that would mean the cell is disclosed).
    let mut primaries: Vec<(Vec<u64>, usize)> = (0..cells.len())
        .filter(|&i| status[i].suppressed())
        .map(|i| {
            let v = vector(&cells[i]);
            let nnz = v.iter().filter(|&&x| x != 0).count();
            (v, nnz)
        })
        .collect();
    if primaries.is_empty() {
        return status;
    }
    let mut order: Vec<usize> = (0..cells.len())
        .filter(|&i| !status[i].suppressed())
        .collect();
    order.sort_by_key(|&i| (values[i] != 0, std::cmp::Reverse(values[i]), i));
    for i in order {
        let mut r = vector(&cells[i]);
        let mut nnz = r.iter().filter(|&&x| x != 0).count();
        for b in &basis {
            if nnz == 0 {
                break;
            }
            b.eliminate_from(&mut r, &mut nnz);
        }
        let Some(r) = Sparse::normalised(&r) else {
            continue; // already determined by what is published: publishing it reveals nothing
        };
        // Publishing `r` reveals a suppressed cell whose residual is a multiple of it.
        if primaries.iter().any(|(p, nnz)| r.divides(p, *nnz)) {
            status[i] = Status::D;
        } else {
            for (p, nnz) in &mut primaries {
                r.eliminate_from(p, nnz);
            }
            basis.push(r);
        }
    }
    status
}

/// A two-way table with its margins, as published cells over inner cells `rows × cols`
/// (inner index `r * cols + c`): the inner cells, the row totals, the column totals and the
/// grand total. Returns the cells in that order.
pub fn two_way_cells(rows: usize, cols: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = (0..rows * cols).map(|i| vec![i]).collect();
    out.extend((0..rows).map(|r| (0..cols).map(|c| r * cols + c).collect()));
    out.extend((0..cols).map(|c| (0..rows).map(|r| r * cols + c).collect()));
    out.push((0..rows * cols).collect());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_small_cell_gets_a_partner_in_its_row_and_column() {
        // 2 × 3 table; one small cell.
        let inner = [3, 40, 50, 60, 70, 80];
        let cells = two_way_cells(2, 3);
        let st = protect(&inner, &cells, 11);
        assert_eq!(st[0], Status::A);
        let suppressed: Vec<usize> = (0..st.len()).filter(|&i| st[i].suppressed()).collect();
        // The primary, one cell of its row, one of its column, and the diagonal one.
        assert_eq!(suppressed.len(), 4, "{st:?}");
        assert!(
            st[6..].iter().all(|s| *s == Status::V),
            "margins stay published: {st:?}"
        );
    }

    #[test]
    fn zeros_are_published_and_never_protect() {
        let inner = [0, 5, 30, 30];
        let cells = two_way_cells(2, 2);
        let st = protect(&inner, &cells, 11);
        assert_eq!(st[0], Status::V, "a true zero is published");
        assert_eq!(st[1], Status::A);
        assert_eq!(shown(0, st[0]), "0");
        assert_eq!(shown(5, st[1]), "s");
        // Row 0 = 0 + 5 is published: the 5 can only hide behind suppressed margins.
        assert!(st[4].suppressed() || st[7].suppressed(), "{st:?}");
    }

    /// The dense elimination this module used before the sparse one, kept as the reference:
    /// the secondary suppressions of both must be identical.
    fn gauss_dense(inner: &[i64], cells: &[Vec<usize>], threshold: i64) -> Vec<Status> {
        let n = inner.len();
        let vector = |c: &Vec<usize>| {
            let mut v = vec![0u64; n];
            for &i in c {
                v[i] = 1;
            }
            v
        };
        let eliminate = |v: &mut [u64], pivot: usize, b: &[u64]| {
            let f = v[pivot];
            if f != 0 {
                let k = mul(f, inv(b[pivot]));
                for (x, y) in v.iter_mut().zip(b) {
                    *x = sub(*x, mul(k, *y));
                }
            }
        };
        let values: Vec<i64> = cells
            .iter()
            .map(|c| c.iter().map(|&i| inner[i]).sum())
            .collect();
        let mut status: Vec<Status> = values
            .iter()
            .map(|&v| {
                if v > 0 && v < threshold {
                    Status::A
                } else {
                    Status::V
                }
            })
            .collect();
        let mut basis: Vec<(usize, Vec<u64>)> = Vec::new();
        let mut primaries: Vec<Vec<u64>> = (0..cells.len())
            .filter(|&i| status[i].suppressed())
            .map(|i| vector(&cells[i]))
            .collect();
        let mut order: Vec<usize> = (0..cells.len())
            .filter(|&i| !status[i].suppressed())
            .collect();
        order.sort_by_key(|&i| (values[i] != 0, std::cmp::Reverse(values[i]), i));
        for i in order {
            let mut r = vector(&cells[i]);
            for (pivot, b) in &basis {
                eliminate(&mut r, *pivot, b);
            }
            let Some(pivot) = r.iter().position(|&x| x != 0) else {
                continue;
            };
            let reveals = primaries.iter().any(|p| {
                let mut q = p.clone();
                eliminate(&mut q, pivot, &r);
                q.iter().all(|&x| x == 0)
            });
            if reveals {
                status[i] = Status::D;
            } else {
                for p in &mut primaries {
                    eliminate(p, pivot, &r);
                }
                basis.push((pivot, r));
            }
        }
        status
    }

    #[test]
    fn sparse_elimination_suppresses_exactly_what_dense_elimination_did() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut compared = 0;
        for _ in 0..60 {
            // A hierarchy: structures in régions, months with quarters and the year.
            let structures = rng.random_range(2..9);
            let regions = rng.random_range(1..=structures.min(3));
            let months = rng.random_range(2..=12);
            let inner: Vec<i64> = (0..structures * months)
                .map(|_| match rng.random_range(0..4) {
                    0 => 0,
                    1 => rng.random_range(1..11),
                    _ => rng.random_range(11..200),
                })
                .collect();
            let mut units: Vec<Vec<usize>> = vec![(0..structures).collect()];
            for r in 0..regions {
                units.push((0..structures).filter(|s| s % regions == r).collect());
            }
            units.extend((0..structures).map(|s| vec![s]));
            let mut cells = Vec::new();
            for u in &units {
                let of = |ms: std::ops::Range<usize>| -> Vec<usize> {
                    u.iter()
                        .flat_map(|&s| ms.clone().map(move |m| s * months + m))
                        .collect()
                };
                for m in 0..months {
                    cells.push(of(m..m + 1));
                }
                for q in 0..months.div_ceil(3) {
                    cells.push(of(q * 3..(q * 3 + 3).min(months)));
                }
                cells.push(of(0..months));
            }
            let sparse = gauss(&inner, &cells, 11, &[]);
            assert_eq!(sparse, gauss_dense(&inner, &cells, 11), "{inner:?}");
            compared += usize::from(sparse.contains(&Status::D));
        }
        assert!(compared > 20, "too few tables needed secondary suppression");
    }

    #[test]
    fn the_quick_interval_check_lies_inside_the_true_interval() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut strictly_inside = 0;
        for _ in 0..25 {
            let (rows, cols) = (rng.random_range(2..6), rng.random_range(2..6));
            let inner: Vec<i64> = (0..rows * cols)
                .map(|_| match rng.random_range(0..3) {
                    0 => rng.random_range(1..11),
                    _ => rng.random_range(11..90),
                })
                .collect();
            // Some inner cells are not published on their own (as when a group gathers
            // several values): fixing them is what makes the restriction narrower.
            let cells: Vec<Vec<usize>> = two_way_cells(rows, cols)
                .into_iter()
                .filter(|c| c.len() > 1 || rng.random_bool(0.7))
                .collect();
            let status = gauss(&inner, &cells, 11, &[]);
            // Free: a random superset of the suppressed cells' inner cells.
            let mut free: Vec<bool> = (0..inner.len()).map(|_| rng.random_bool(0.3)).collect();
            for (c, st) in cells.iter().zip(&status) {
                if st.suppressed() {
                    for &i in c {
                        free[i] = true;
                    }
                }
            }
            for (c, st) in cells.iter().zip(&status) {
                if !st.suppressed() {
                    continue;
                }
                let (lo, hi) = feasible_interval(&inner, &cells, &status, c);
                let (qlo, qhi) = interval(&inner, &cells, &status, c, Some(&free), &[]);
                assert!(
                    qlo >= lo - 1e-6 && qhi <= hi + 1e-6,
                    "{qlo}..{qhi} ⊄ {lo}..{hi}"
                );
                let truth: i64 = c.iter().map(|&i| inner[i]).sum();
                assert!(qlo <= truth as f64 + 1e-6 && truth as f64 <= qhi + 1e-6);
                if qhi - qlo < hi - lo - 1e-6 {
                    strictly_inside += 1;
                }
            }
        }
        assert!(
            strictly_inside > 0,
            "the restriction never mattered: the test proves nothing"
        );
    }

    #[test]
    fn nothing_to_protect() {
        let inner = [20, 30, 40, 50];
        assert!(protect(&inner, &two_way_cells(2, 2), 11)
            .iter()
            .all(|s| *s == Status::V));
    }
}
