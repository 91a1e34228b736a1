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

/// A vector reduced against the basis, with its first non-zero position.
struct Basis {
    vectors: Vec<(usize, Vec<u64>)>,
}

impl Basis {
    fn reduce(&self, mut v: Vec<u64>) -> Vec<u64> {
        for (pivot, b) in &self.vectors {
            let f = v[*pivot];
            if f != 0 {
                let k = mul(f, inv(b[*pivot]));
                for (x, y) in v.iter_mut().zip(b) {
                    if *y != 0 {
                        *x = sub(*x, mul(k, *y));
                    }
                }
            }
        }
        v
    }
}

fn eliminate(v: &mut [u64], pivot: usize, b: &[u64]) {
    let f = v[pivot];
    if f != 0 {
        let k = mul(f, inv(b[pivot]));
        for (x, y) in v.iter_mut().zip(b) {
            if *y != 0 {
                *x = sub(*x, mul(k, *y));
            }
        }
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
    let mut status = gauss(inner, cells, threshold, forced);
    let values: Vec<i64> = cells
        .iter()
        .map(|c| c.iter().map(|&i| inner.get(i).copied().unwrap_or(0)).sum())
        .collect();
    let sets: Vec<std::collections::HashSet<usize>> =
        cells.iter().map(|c| c.iter().copied().collect()).collect();
    let mut checked = vec![false; cells.len()];
    loop {
        // The first suppressed cell (primaries first) still too narrowly bounded.
        let mut order: Vec<usize> = (0..cells.len())
            .filter(|&i| status[i].suppressed() && !checked[i])
            .collect();
        order.sort_by_key(|&i| (status[i] != Status::A, i));
        let mut weak = None;
        for i in order {
            let (lo, hi) = feasible_interval(inner, cells, &status, &cells[i]);
            if hi - lo < threshold as f64 - 1e-6 {
                weak = Some(i);
                break;
            }
            checked[i] = true;
        }
        let Some(w) = weak else { return status };
        // Margins containing it, then the cells inside those margins that do not overlap it.
        let margins: Vec<usize> = (0..cells.len())
            .filter(|&m| m != w && sets[w].is_subset(&sets[m]))
            .collect();
        let candidate = (0..cells.len())
            .filter(|&d| status[d] == Status::V && values[d] > 0 && d != w)
            .filter(|&d| {
                sets[d].is_disjoint(&sets[w])
                    && margins
                        .iter()
                        .any(|&m| sets[d].is_subset(&sets[m]) && d != m)
            })
            .min_by_key(|&d| (values[d], d))
            .or_else(|| {
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
    use microlp::{ComparisonOp, OptimizationDirection, Problem, SolveOutcome};
    let solve = |dir| {
        let mut p = Problem::new(dir);
        let vars: Vec<_> = (0..inner.len())
            .map(|i| {
                p.add_var(
                    if target.contains(&i) { 1.0 } else { 0.0 },
                    (0.0, f64::INFINITY),
                )
            })
            .collect();
        for (c, s) in cells.iter().zip(status) {
            if *s == Status::V {
                let v: i64 = c.iter().map(|&i| inner.get(i).copied().unwrap_or(0)).sum();
                let terms: Vec<_> = c
                    .iter()
                    .filter(|&&i| i < vars.len())
                    .map(|&i| (vars[i], 1.0))
                    .collect();
                p.add_constraint(terms, ComparisonOp::Eq, v as f64);
            }
        }
        match p.solve() {
            Ok(SolveOutcome::Solution(s)) => Some(s.objective()),
            _ => None,
        }
    };
    let lo = solve(OptimizationDirection::Minimize).unwrap_or(0.0);
    let hi = solve(OptimizationDirection::Maximize).unwrap_or(f64::INFINITY);
    (lo, hi)
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
    let mut basis = Basis {
        vectors: Vec::new(),
    };
    // Residuals of the primary cells against the published basis.
    let mut primaries: Vec<Vec<u64>> = (0..cells.len())
        .filter(|&i| status[i].suppressed())
        .map(|i| vector(&cells[i]))
        .collect();
    if primaries.is_empty() {
        return status;
    }
    let mut order: Vec<usize> = (0..cells.len())
        .filter(|&i| !status[i].suppressed())
        .collect();
    order.sort_by_key(|&i| (values[i] != 0, std::cmp::Reverse(values[i]), i));
    for i in order {
        let r = basis.reduce(vector(&cells[i]));
        let Some(pivot) = r.iter().position(|&x| x != 0) else {
            continue; // already determined by what is published: publishing it reveals nothing
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
            basis.vectors.push((pivot, r));
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

    #[test]
    fn nothing_to_protect() {
        let inner = [20, 30, 40, 50];
        assert!(protect(&inner, &two_way_cells(2, 2), 11)
            .iter()
            .all(|s| *s == Status::V));
    }
}
