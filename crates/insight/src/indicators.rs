//! Raw computations on the warehouse with DataFusion (definitions: docs/INDICATORS.md): the
//! figures before any suppression (the reference the tests compare with the operational
//! store), and cross-tables of any two breakdowns protected together by [`crate::sdc`]. The
//! dashboards publish through [`crate::publish`].

use datafusion::arrow::array::{Array, Int64Array, StringArray};
use datafusion::error::Result;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use std::path::Path;

use crate::sdc::{protect, Status};

pub use crate::catalogue::{indicator, Indicator, Measure, INDICATORS};

/// A breakdown (a dimension of the fixed hierarchies): its code and its SQL expression.
pub fn dimension(code: &str) -> Option<&'static str> {
    Some(match code {
        "mois" => "f.mois",
        "structure" => "f.structure",
        "tranche_age" => "f.tranche_age",
        "sexe" => "p.sexe",
        "region" => "p.region",
        "departement" => "p.departement",
        "niveau" => "p.niveau",
        "qpv" => "p.qpv",
        "zrr" => "p.zrr",
        "nationalite" => "p.nationalite",
        _ => return None,
    })
}

/// Opens the current version of a warehouse (`DIR/current`): registers `persons`, `facts` (every
/// month file of `facts/`) and
/// (when present) `structures`. The link is resolved once, so a context keeps reading the
/// version it opened while the exporter switches `current` to a new one.
pub async fn open(dir: &Path) -> Result<SessionContext> {
    let ctx = SessionContext::new();
    let cur = std::fs::canonicalize(dir.join("current"))?;
    let p = |f: &str| cur.join(f).to_string_lossy().to_string();
    if cur.join("structures.parquet").exists() {
        ctx.register_parquet(
            "structures",
            &p("structures.parquet"),
            ParquetReadOptions::default(),
        )
        .await?;
    }
    ctx.register_parquet(
        "persons",
        &p("persons.parquet"),
        ParquetReadOptions::default(),
    )
    .await?;
    // One file per month; the schema is declared (a warehouse may hold no fact yet).
    let schema = parcours_warehouse::files::facts_schema();
    ctx.register_parquet(
        "facts",
        &format!("{}/", p("facts")),
        ParquetReadOptions::default().schema(&schema),
    )
    .await?;
    Ok(ctx)
}

/// The indicator by the given breakdowns, before any suppression: one row per combination
/// present, with its count.
pub async fn compute(
    ctx: &SessionContext,
    ind: &Indicator,
    by: &[&str],
) -> Result<Vec<(Vec<String>, i64)>> {
    let dims: Vec<&str> = by.iter().filter_map(|d| dimension(d)).collect();
    let measure = ind.measure.sql();
    let select: Vec<String> = dims
        .iter()
        .enumerate()
        .map(|(i, d)| format!("CAST({d} AS VARCHAR) AS d{i}"))
        .collect();
    let group: Vec<String> = (1..=dims.len()).map(|i| i.to_string()).collect();
    let sql = format!(
        "SELECT {}{}{measure} AS n FROM facts f JOIN persons p ON p.pseudonyme = f.pseudonyme WHERE {} {}",
        select.join(", "),
        if select.is_empty() { "" } else { ", " },
        ind.filter,
        if group.is_empty() { String::new() } else { format!("GROUP BY {}", group.join(", ")) }
    );
    let batches = ctx.sql(&sql).await?.collect().await?;
    let mut out = Vec::new();
    for b in batches {
        let n = b
            .column(dims.len())
            .as_any()
            .downcast_ref::<Int64Array>()
            .cloned();
        let cols: Vec<Option<StringArray>> = (0..dims.len()).map(|i| text_column(&b, i)).collect();
        for r in 0..b.num_rows() {
            let key = cols
                .iter()
                .map(|c| {
                    c.as_ref()
                        .map(|c| c.value(r).to_string())
                        .unwrap_or_default()
                })
                .collect();
            out.push((key, n.as_ref().map(|n| n.value(r)).unwrap_or(0)));
        }
    }
    out.sort();
    Ok(out)
}

/// Column `i` of a result as plain text: strings may come back as views (Utf8View), and keys
/// of other types are cast.
pub(crate) fn text_column(
    b: &datafusion::arrow::record_batch::RecordBatch,
    i: usize,
) -> Option<StringArray> {
    datafusion::arrow::compute::cast(b.column(i), &datafusion::arrow::datatypes::DataType::Utf8)
        .ok()
        .and_then(|a| a.as_any().downcast_ref::<StringArray>().cloned())
}

/// A two-way table with margins, protected: the value and status of every cell.
#[derive(Debug, Clone)]
pub struct Table {
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// `cells[r][c]`, then row totals, column totals and the grand total.
    pub cells: Vec<Vec<(i64, Status)>>,
    pub row_totals: Vec<(i64, Status)>,
    pub col_totals: Vec<(i64, Status)>,
    pub total: (i64, Status),
}

/// Builds and protects the two-way table `row_dim × col_dim` of a counting indicator (facts,
/// not distinct persons: margins of distinct counts are not sums, and are published as their
/// own tables).
pub async fn table(
    ctx: &SessionContext,
    ind: &Indicator,
    row_dim: &str,
    col_dim: &str,
    threshold: i64,
) -> Result<Table> {
    let mut t = linked_tables(ctx, ind, &[(row_dim, col_dim)], threshold).await?;
    t.pop()
        .ok_or_else(|| datafusion::error::DataFusionError::Internal("aucun tableau".into()))
}

/// Several two-way tables of one counting indicator, protected **together**: the finest
/// cross-classification of all their dimensions is the set of inner cells, and every cell and
/// margin of every table is a published cell of one linear system. Tables sharing a margin (the
/// month totals of `mois × structure` and `mois × tranche_age`, say) cannot be played against
/// each other, and neither can two overlapping queries of the fixed hierarchies.
pub async fn linked_tables(
    ctx: &SessionContext,
    ind: &Indicator,
    pairs: &[(&str, &str)],
    threshold: i64,
) -> Result<Vec<Table>> {
    use std::collections::HashMap;
    let mut dims: Vec<&str> = Vec::new();
    for (r, c) in pairs {
        for d in [*r, *c] {
            if !dims.contains(&d) {
                dims.push(d);
            }
        }
    }
    let cube = compute(ctx, ind, &dims).await?;
    let inner: Vec<i64> = cube.iter().map(|(_, n)| *n).collect();
    let pos = |d: &str| dims.iter().position(|x| *x == d).unwrap_or(0);
    // Published cells, deduplicated by their inner set (a shared margin is one cell).
    let mut cells: Vec<Vec<usize>> = Vec::new();
    let mut index: HashMap<Vec<usize>, usize> = HashMap::new();
    let mut cell_of = |set: Vec<usize>, cells: &mut Vec<Vec<usize>>| -> usize {
        *index.entry(set.clone()).or_insert_with(|| {
            cells.push(set);
            cells.len() - 1
        })
    };
    struct Layout {
        rows: Vec<String>,
        cols: Vec<String>,
        inner: Vec<Vec<usize>>,
        row_totals: Vec<usize>,
        col_totals: Vec<usize>,
        total: usize,
    }
    let mut layouts = Vec::new();
    for (r, c) in pairs {
        let (ri, ci) = (pos(r), pos(c));
        let mut rows: Vec<String> = cube.iter().map(|(k, _)| k[ri].clone()).collect();
        let mut cols: Vec<String> = cube.iter().map(|(k, _)| k[ci].clone()).collect();
        rows.sort();
        rows.dedup();
        cols.sort();
        cols.dedup();
        let members = |f: &dyn Fn(&Vec<String>) -> bool| -> Vec<usize> {
            cube.iter()
                .enumerate()
                .filter(|(_, (k, _))| f(k))
                .map(|(i, _)| i)
                .collect()
        };
        let inner_cells = rows
            .iter()
            .map(|rv| {
                cols.iter()
                    .map(|cv| cell_of(members(&|k| &k[ri] == rv && &k[ci] == cv), &mut cells))
                    .collect()
            })
            .collect();
        let row_totals = rows
            .iter()
            .map(|rv| cell_of(members(&|k| &k[ri] == rv), &mut cells))
            .collect();
        let col_totals = cols
            .iter()
            .map(|cv| cell_of(members(&|k| &k[ci] == cv), &mut cells))
            .collect();
        let total = cell_of((0..cube.len()).collect(), &mut cells);
        layouts.push(Layout {
            rows,
            cols,
            inner: inner_cells,
            row_totals,
            col_totals,
            total,
        });
    }
    let st = protect(&inner, &cells, threshold);
    let value = |i: usize| cells[i].iter().map(|&k| inner[k]).sum::<i64>();
    let at = |i: usize| (value(i), st[i]);
    Ok(layouts
        .into_iter()
        .map(|l| Table {
            cells: l
                .inner
                .iter()
                .map(|row| row.iter().map(|&i| at(i)).collect())
                .collect(),
            row_totals: l.row_totals.iter().map(|&i| at(i)).collect(),
            col_totals: l.col_totals.iter().map(|&i| at(i)).collect(),
            total: at(l.total),
            rows: l.rows,
            cols: l.cols,
        })
        .collect())
}
