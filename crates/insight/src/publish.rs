//! The one publication pipeline: every figure the insight server shows — page, chart, JSON,
//! CSV, XLSX, command line — is a [`Published`] table built here, after disclosure control.
//! No other path reads the warehouse for publication, so suppression cannot be bypassed by
//! choosing another format.
//!
//! For one indicator and one calendar year, every family of breakdowns
//! ([`crate::catalogue`]) is one hierarchical table: inner cells `structure × value`, published
//! cells `unit × group` and each unit's total, for every unit of the hierarchy (nation,
//! régions, structures). It is protected by sub-table ([`crate::modular`]: the nation and its
//! régions, each région and its structures), which keeps national scale within reach. Families
//! share the units' totals; they are protected in turn, and a unit total suppressed in one
//! family is forced suppressed in all (protected like a primary cell there), until no family
//! adds a suppression — so a unit total reads the same everywhere and no family publishes what
//! another hides. A [`Published`] table is then a *view* of a family (a node of the hierarchy,
//! its children as rows): drilling down or across never yields a table protected on its own,
//! which is what makes differencing useless.
//!
//! The values of suppressed cells never leave this module: a [`Cell`] holds `None` for them.

use datafusion::arrow::array::{Array, Int64Array};
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use parcours_vault::assertion::Perimeter;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::catalogue::{
    breakdown, families, family_expr, indicator, month_label, quarter_of, value_label, Indicator,
    Measure,
};
use crate::indicators::text_column;
use crate::links::{Learnt, Shared};
use crate::modular::{protect_table_watching, Bounds, Cells, Key, Table};
use crate::sdc::Status;

/// The hierarchy: unit 0 is the nation, then the régions, then the structures.
#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub niveau: &'static str,
    pub code: String,
    pub libelle: String,
    #[serde(skip)]
    pub parent: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Hierarchy {
    pub units: Vec<Unit>,
    /// Units containing each structure code (the structure, its région, the nation).
    pub chain: HashMap<String, Vec<usize>>,
}

impl Hierarchy {
    /// From `structures.parquet` rows (code, name, région); structure codes met in the facts
    /// but absent from it are placed in a région "(non renseignée)".
    pub fn new(structures: &[(String, String, String)], extra_codes: &[String]) -> Hierarchy {
        let mut rows: Vec<(String, String, String)> = structures.to_vec();
        for c in extra_codes {
            if !rows.iter().any(|r| &r.0 == c) {
                rows.push((c.clone(), c.clone(), "(non renseignée)".into()));
            }
        }
        let regions: BTreeSet<String> = rows.iter().map(|r| r.2.clone()).collect();
        let mut units = vec![Unit {
            niveau: "nation",
            code: "nation".into(),
            libelle: "France entière".into(),
            parent: None,
        }];
        let mut region_index = HashMap::new();
        for r in regions {
            region_index.insert(r.clone(), units.len());
            units.push(Unit {
                niveau: "region",
                code: r.clone(),
                libelle: r,
                parent: Some(0),
            });
        }
        rows.sort();
        let mut chain = HashMap::new();
        for (code, name, region) in rows {
            let ri = region_index.get(&region).copied().unwrap_or(0);
            chain.insert(code.clone(), vec![units.len(), ri, 0]);
            units.push(Unit {
                niveau: "structure",
                code,
                libelle: name,
                parent: Some(ri),
            });
        }
        Hierarchy { units, chain }
    }

    pub fn find(&self, niveau: &str, code: &str) -> Option<usize> {
        self.units
            .iter()
            .position(|u| u.niveau == niveau && (niveau == "nation" || u.code == code))
    }

    pub fn children(&self, u: usize) -> Vec<usize> {
        (0..self.units.len())
            .filter(|&i| self.units[i].parent == Some(u))
            .collect()
    }

    /// Whether a perimeter may see a unit: the nation sees all; a région its structures; a
    /// structure only itself (and, for comparison, its région's totals — see [`view`]).
    pub fn allowed(&self, perimeter: &Perimeter, u: usize) -> bool {
        let Some(unit) = self.units.get(u) else {
            return false;
        };
        match perimeter {
            Perimeter::Nation => true,
            Perimeter::Region(r) => {
                (unit.niveau == "region" && &unit.code == r)
                    || (unit.niveau == "structure"
                        && unit
                            .parent
                            .and_then(|p| self.units.get(p))
                            .is_some_and(|p| &p.code == r))
            }
            Perimeter::Structure(s) => unit.niveau == "structure" && &unit.code == s,
        }
    }

    /// The unit a perimeter lands on.
    pub fn home(&self, perimeter: &Perimeter) -> Option<usize> {
        match perimeter {
            Perimeter::Nation => Some(0),
            Perimeter::Region(r) => self.find("region", r),
            Perimeter::Structure(s) => self.find("structure", s),
        }
    }
}

/// One family of one indicator-year, protected.
#[derive(Debug, Clone, Default)]
pub struct Family {
    /// Column groups: code, label, and the values they gather.
    pub groups: Vec<(String, String, Vec<String>)>,
    /// `(unit, group)` → value and status (absent: 0, publishable).
    pub cells: HashMap<(usize, usize), (i64, Status)>,
    /// Unit totals.
    pub totals: Vec<(i64, Status)>,
}

impl Family {
    fn cell(&self, u: usize, g: usize) -> (i64, Status) {
        self.cells.get(&(u, g)).copied().unwrap_or((0, Status::V))
    }
    fn total(&self, u: usize) -> (i64, Status) {
        self.totals.get(u).copied().unwrap_or((0, Status::V))
    }
}

/// Every family of one indicator-year.
pub type Families = BTreeMap<&'static str, Family>;

/// The rows `(structure, value, measure)` of an indicator for one year, for each of the given
/// family expressions: one `GROUPING SETS` query, so the facts are scanned and joined to the
/// persons once per indicator-year rather than once per family (at a million dossiers, a dozen
/// scans made the first table of an indicator take tens of seconds).
async fn cubes(
    ctx: &SessionContext,
    ind: &Indicator,
    year: &str,
    exprs: &[&str],
    measure: &str,
) -> Result<Vec<Vec<(String, String, i64)>>> {
    let mut out = vec![Vec::new(); exprs.len()];
    if exprs.is_empty() {
        return Ok(out);
    }
    // A value that is missing reads "" inside its own grouping set, so NULL in column `v{i}`
    // only ever means "row of another set".
    let value = |e: &str| format!("COALESCE(CAST({e} AS VARCHAR), '')");
    let structure = "CAST(f.structure AS VARCHAR)";
    let columns: Vec<String> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{} AS v{i}", value(e)))
        .collect();
    let sets: Vec<String> = exprs
        .iter()
        .map(|e| format!("({structure}, {})", value(e)))
        .collect();
    let sql = format!(
        "SELECT {structure} AS s, {}, {measure} AS n \
         FROM facts f JOIN persons p ON p.pseudonyme = f.pseudonyme \
         WHERE ({}) AND f.mois LIKE '{year}-%' GROUP BY GROUPING SETS ({})",
        columns.join(", "),
        ind.filter,
        sets.join(", ")
    );
    let k = exprs.len();
    for b in ctx.sql(&sql).await?.collect().await? {
        let text = |i: usize| text_column(&b, i);
        let n = datafusion::arrow::compute::cast(
            b.column(k + 1),
            &datafusion::arrow::datatypes::DataType::Int64,
        )?;
        let values: Vec<Option<_>> = (1..=k).map(text).collect();
        let (Some(s), Some(n)) = (text(0), n.as_any().downcast_ref::<Int64Array>()) else {
            return Err(DataFusionError::Internal("colonnes inattendues".into()));
        };
        for r in 0..b.num_rows() {
            if s.is_null(r) {
                continue;
            }
            let set = values
                .iter()
                .position(|v| v.as_ref().is_some_and(|v| !v.is_null(r)));
            let (Some(i), Some(Some(v))) = (set, set.map(|i| &values[i])) else {
                return Err(DataFusionError::Internal(
                    "ensemble de regroupement inconnu".into(),
                ));
            };
            out[i].push((s.value(r).to_string(), v.value(r).to_string(), n.value(r)));
        }
    }
    for rows in &mut out {
        rows.sort();
    }
    Ok(out)
}

/// The column groups of a family, from the values present.
fn groups_of(family: &str, values: &BTreeSet<String>) -> Vec<(String, String, Vec<String>)> {
    let mut out: Vec<(String, String, Vec<String>)> = values
        .iter()
        .map(|v| {
            let label = if family == "mois" {
                month_label(v)
            } else {
                value_label(family, v)
            };
            (v.clone(), label, vec![v.clone()])
        })
        .collect();
    if family == "mois" {
        let mut quarters: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for v in values {
            quarters.entry(quarter_of(v)).or_default().push(v.clone());
        }
        for (q, months) in quarters {
            out.push((q.clone(), format!("{q} (trimestre)"), months));
        }
    }
    out
}

/// A family as a hierarchical table over the units of `h` (see [`crate::modular`]). Every
/// structure code of the facts is a unit ([`Hierarchy::new`] adds the unknown ones).
fn table(
    h: &Hierarchy,
    rows: &[(String, String, i64)],
    groups: &[(String, String, Vec<String>)],
) -> Table {
    let mut values: HashMap<&str, usize> = HashMap::new();
    for (_, v, _) in rows {
        let next = values.len();
        values.entry(v.as_str()).or_insert(next);
    }
    Table {
        parent: h.units.iter().map(|u| u.parent).collect(),
        rows: rows
            .iter()
            .filter_map(|(s, v, n)| {
                let leaf = *h.chain.get(s)?.first()?;
                Some((leaf, *values.get(v.as_str())?, *n))
            })
            .collect(),
        groups: groups
            .iter()
            .map(|(_, _, vals)| {
                vals.iter()
                    .filter_map(|v| values.get(v.as_str()).copied())
                    .collect()
            })
            .collect(),
    }
}

/// A family's published cells as a [`Family`].
fn family_of(h: &Hierarchy, groups: &[(String, String, Vec<String>)], cells: Cells) -> Family {
    let mut f = Family {
        groups: groups.to_vec(),
        totals: vec![(0, Status::V); h.units.len()],
        ..Family::default()
    };
    for ((u, g), cell) in cells {
        match g {
            Some(g) => {
                f.cells.insert((u, g), cell);
            }
            None => {
                if let Some(t) = f.totals.get_mut(u) {
                    *t = cell;
                }
            }
        }
    }
    f
}

/// Protects every family of an indicator-year together (see the module's documentation).
pub async fn protect_indicator(
    ctx: &SessionContext,
    h: &Hierarchy,
    ind: &Indicator,
    year: &str,
    threshold: i64,
    basis: Option<&Families>,
    guard: Option<&Families>,
) -> Result<Families> {
    protect_shared(
        ctx,
        h,
        ind,
        year,
        threshold,
        basis,
        guard,
        &Shared::default(),
    )
    .await
    .map(|(f, _)| f)
}

/// [`protect_indicator`] with what a linked indicator imposes on this one (cells to suppress,
/// what is known of them: [`crate::links`]), returning what this one tells of them.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn protect_shared(
    ctx: &SessionContext,
    h: &Hierarchy,
    ind: &Indicator,
    year: &str,
    threshold: i64,
    basis: Option<&Families>,
    guard: Option<&Families>,
    shared: &Shared,
) -> Result<(Families, Learnt)> {
    if year.len() != 4 || !year.chars().all(|c| c.is_ascii_digit()) {
        return Err(DataFusionError::Plan("année invalide".into()));
    }
    // The data of each family.
    let fams: Vec<(&str, &str)> = families(ind.measure)
        .into_iter()
        .filter_map(|fam| family_expr(fam, ind.measure).map(|e| (fam, e)))
        .collect();
    let exprs: Vec<&str> = fams.iter().map(|(_, e)| *e).collect();
    let all = cubes(ctx, ind, year, &exprs, ind.measure.sql()).await?;
    let mut data = Vec::new();
    for ((fam, _), rows) in fams.into_iter().zip(all) {
        let values: BTreeSet<String> = rows.iter().map(|r| r.1.clone()).collect();
        let groups = groups_of(fam, &values);
        let t = table(h, &rows, &groups);
        data.push((fam, groups, t));
    }
    let mut out = Families::new();
    if let Some(basis) = basis {
        // A sum or a ratio: the basis count's pattern, cell by cell (same facts, same groups),
        // joined with the guard count's for a ratio.
        let factor = match ind.measure {
            Measure::Ratio { factor, .. } => Some(factor),
            _ => None,
        };
        let none = Families::new();
        for (fam, groups, t) in data {
            let b = basis.get(fam).cloned().unwrap_or_default();
            let gd = guard.unwrap_or(&none).get(fam).cloned().unwrap_or_default();
            let of_group = |f: &Family, u: usize, code: &str| {
                f.groups
                    .iter()
                    .position(|g| g.0 == code)
                    .map(|g| f.cell(u, g))
                    .unwrap_or((0, Status::V))
            };
            // The published value and status from the numerator, the basis and the guard.
            let cell = |num: i64, (den, st): (i64, Status), (_, gst): (i64, Status)| {
                let st = if st.suppressed() { st } else { gst };
                match factor {
                    Some(k) if den > 0 => ((2 * num * k + den) / (2 * den), st),
                    Some(_) => (0, st),
                    None => (num, st),
                }
            };
            let cells: Cells = t
                .sums()
                .into_iter()
                .map(|((u, g), num)| {
                    let c = match g {
                        Some(g) => {
                            let code = &groups[g].0;
                            cell(num, of_group(&b, u, code), of_group(&gd, u, code))
                        }
                        None => cell(num, b.total(u), gd.total(u)),
                    };
                    ((u, g), c)
                })
                .collect();
            out.insert(fam, family_of(h, &groups, cells));
        }
        return Ok((out, Learnt::default()));
    }
    // The unit totals suppressed in some family, and what the families tell of them: each
    // family is protected with both, until no family adds a suppression or narrows a total.
    // A linked indicator's totals and bounds start the loop (see `crate::links`).
    let mut forced: BTreeSet<usize> = shared.totals.clone();
    let mut known: Bounds = shared.total_bounds.clone();
    loop {
        out.clear();
        let mut suppressed_totals: BTreeSet<usize> = BTreeSet::new();
        let mut learnt = known.clone();
        let mut column = BTreeMap::new();
        let mut narrowed = false;
        for (fam, groups, t) in &data {
            let mut forced_keys: Vec<Key> = forced.iter().map(|&u| (u, None)).collect();
            let mut known_here = known.clone();
            let mut watch = std::collections::HashSet::new();
            // The column another indicator publishes too: forced where it suppressed it, with
            // what it tells of it, and watched (what this table tells of it goes back).
            let linked = shared
                .column
                .filter(|(family, _)| family == fam)
                .and_then(|(_, value)| groups.iter().position(|g| g.0 == value));
            if let Some(g) = linked {
                forced_keys.extend(shared.cells.iter().map(|&u| (u, Some(g))));
                for (&u, &b) in &shared.cell_bounds {
                    crate::links::narrow(&mut known_here, (u, Some(g)), b);
                }
                watch.extend((0..h.units.len()).map(|u| (u, Some(g))));
            }
            let (cells, bounds) =
                protect_table_watching(t, threshold, &forced_keys, &known_here, &watch);
            for (&(u, g), &(_, st)) in &cells {
                if g.is_none() && st.suppressed() {
                    suppressed_totals.insert(u);
                }
            }
            for (key, b) in bounds {
                match key {
                    (u, Some(_)) => {
                        column.insert(u, b);
                    }
                    (_, None) => narrowed |= crate::links::narrow(&mut learnt, key, b),
                }
            }
            out.insert(fam, family_of(h, groups, cells));
        }
        if suppressed_totals.is_subset(&forced) && !narrowed {
            // Every family suppresses exactly `forced` (a primary total is primary everywhere,
            // the same value), knowing what the others tell of them: the totals read the same
            // in every table.
            return Ok((
                out,
                Learnt {
                    totals: known,
                    column,
                },
            ));
        }
        forced.extend(suppressed_totals);
        known = learnt;
    }
}

/// A published cell: the value only when publishable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// `None` when suppressed: the value never leaves the pipeline.
    pub valeur: Option<i64>,
    /// `A` primary suppression, `D` secondary, `V` publishable.
    pub statut: Status,
    /// As shown: the number, or `s`.
    pub affiche: String,
}

impl Cell {
    fn of((v, st): (i64, Status)) -> Cell {
        Cell {
            valeur: (!st.suppressed()).then_some(v),
            statut: st,
            affiche: crate::sdc::shown(v, st),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub code: String,
    pub libelle: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub niveau: &'static str,
    pub code: String,
    pub libelle: String,
    /// Whether the reader may open this unit (drill-down).
    pub ouvrable: bool,
    pub cellules: Vec<Cell>,
    pub total: Cell,
    /// The same unit's total the year before (comparison year on year).
    pub annee_precedente: Option<Cell>,
}

/// A published table: one indicator, one year, one breakdown, one node of the hierarchy.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub indicateur: &'static str,
    pub libelle: &'static str,
    pub definition: &'static str,
    pub unite: &'static str,
    pub annee: String,
    pub ventilation: &'static str,
    pub ventilation_libelle: &'static str,
    pub seuil: i64,
    pub perimetre: Unit,
    pub colonnes: Vec<Column>,
    /// The node's children (régions of the nation, structures of a région; none for a
    /// structure).
    pub lignes: Vec<Row>,
    /// The node itself.
    pub ensemble: Row,
    /// For a structure: its région, for comparison.
    pub comparaison: Option<Row>,
    /// Version of the warehouse the figures come from (its export time).
    pub entrepot: String,
}

/// What a reader asks for.
#[derive(Debug, Clone)]
pub struct Query {
    pub indicateur: String,
    pub annee: String,
    pub ventilation: String,
    pub niveau: String,
    pub code: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    BadRequest(String),
    #[error("ce périmètre n'est pas le vôtre")]
    OutOfScope,
    #[error("entrepôt : {0}")]
    Engine(#[from] DataFusionError),
}

/// The day a warehouse version was exported, as readers say it: `v-20261201T054625.054Z-…` →
/// « 01/12/2026 » (the version id itself when it does not follow that form).
pub fn data_date(version: &str) -> String {
    let d = version
        .strip_prefix("v-")
        .and_then(|v| v.get(..8))
        .unwrap_or("");
    if d.len() == 8 && d.chars().all(|c| c.is_ascii_digit()) {
        format!("{}/{}/{}", &d[6..8], &d[4..6], &d[0..4])
    } else {
        version.to_string()
    }
}

/// A warehouse version, open, with the protected families computed on demand and kept.
pub struct Warehouse {
    pub ctx: SessionContext,
    pub hierarchy: Hierarchy,
    pub years: Vec<String>,
    pub version: String,
    pub threshold: i64,
    cache: tokio::sync::Mutex<HashMap<(&'static str, String), Arc<Families>>>,
}

impl Warehouse {
    /// Opens `DIR/current` (manifest checksums verified by the caller or here).
    pub async fn open(dir: &std::path::Path, threshold: i64) -> Result<Warehouse> {
        let ctx = crate::indicators::open(dir).await?;
        // A warehouse exported before structures.parquet existed: structures by code only.
        let structures = string_rows(
            &ctx,
            "SELECT CAST(code AS VARCHAR), CAST(nom AS VARCHAR), CAST(region AS VARCHAR) FROM structures",
        )
        .await
        .unwrap_or_default();
        let codes: Vec<String> = string_rows(
            &ctx,
            "SELECT DISTINCT CAST(structure AS VARCHAR), '' AS b, '' AS c FROM facts",
        )
        .await?
        .into_iter()
        .map(|r| r.0)
        .collect();
        let mut years: Vec<String> = string_rows(
            &ctx,
            "SELECT DISTINCT CAST(mois AS VARCHAR), '' AS b, '' AS c FROM facts",
        )
        .await?
        .into_iter()
        .filter_map(|r| r.0.get(..4).map(str::to_string))
        .filter(|y| y.chars().all(|c| c.is_ascii_digit()))
        .collect();
        years.sort();
        years.dedup();
        let version = std::fs::read_link(dir.join("current"))
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default();
        Ok(Warehouse {
            ctx,
            hierarchy: Hierarchy::new(&structures, &codes),
            years,
            version,
            threshold,
            cache: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The protected families of an indicator-year (computed once per warehouse version).
    pub async fn families(&self, ind: &'static Indicator, year: &str) -> Result<Arc<Families>> {
        let key = (ind.code, year.to_string());
        if let Some(f) = self.cache.lock().await.get(&key) {
            return Ok(f.clone());
        }
        if let Some(link) = crate::catalogue::link_of(ind.code) {
            // Both indicators of a link at once (see `crate::links`).
            let (whole, part) = crate::links::protect_linked(
                &self.ctx,
                &self.hierarchy,
                link,
                year,
                self.threshold,
            )
            .await?;
            let (whole, part) = (Arc::new(whole), Arc::new(part));
            let mut cache = self.cache.lock().await;
            cache.insert((link.whole, year.to_string()), whole.clone());
            cache.insert((link.part, year.to_string()), part.clone());
            return Ok(if ind.code == link.whole { whole } else { part });
        }
        let (basis, guard) = match ind.measure {
            Measure::Sum { basis, .. } => (Some(basis), None),
            Measure::Ratio { basis, guard, .. } => (Some(basis), guard),
            _ => (None, None),
        };
        let basis = match basis.and_then(indicator) {
            Some(b) => Some(Box::pin(self.families(b, year)).await?),
            None => None,
        };
        let guard = match guard.and_then(indicator) {
            Some(g) => Some(Box::pin(self.families(g, year)).await?),
            None => None,
        };
        let fams = Arc::new(
            protect_indicator(
                &self.ctx,
                &self.hierarchy,
                ind,
                year,
                self.threshold,
                basis.as_deref(),
                guard.as_deref(),
            )
            .await?,
        );
        self.cache.lock().await.insert(key, fams.clone());
        Ok(fams)
    }

    /// Protects every indicator of every year now (what a reader's first table would
    /// otherwise wait for). The server runs it before swapping a new version in, so readers only
    /// ever get views. Returns how many indicator-years are ready.
    pub async fn warm_up(&self) -> usize {
        let mut n = 0;
        for ind in crate::catalogue::INDICATORS {
            for y in &self.years {
                if self.families(ind, y).await.is_ok() {
                    n += 1;
                }
            }
        }
        n
    }

    /// The one entry point of publication.
    pub async fn publish(
        &self,
        perimeter: &Perimeter,
        q: &Query,
    ) -> std::result::Result<Published, PublishError> {
        let bad = |m: &str| PublishError::BadRequest(m.to_string());
        let ind = indicator(&q.indicateur).ok_or_else(|| bad("indicateur inconnu"))?;
        let b = breakdown(&q.ventilation).ok_or_else(|| bad("ventilation inconnue"))?;
        if family_expr(b.family, ind.measure).is_none() {
            return Err(bad(
                "cette ventilation ne s'applique pas à un nombre de jeunes (un jeune y compterait plusieurs fois)",
            ));
        }
        if !self.years.contains(&q.annee) {
            return Err(bad("année absente de l'entrepôt"));
        }
        let h = &self.hierarchy;
        let node = h
            .find(&q.niveau, &q.code)
            .ok_or_else(|| bad("périmètre inconnu"))?;
        if !h.allowed(perimeter, node) {
            return Err(PublishError::OutOfScope);
        }
        let fams = self.families(ind, &q.annee).await?;
        let fam = fams.get(b.family).cloned().unwrap_or_default();
        let previous_year = q
            .annee
            .parse::<i32>()
            .ok()
            .map(|y| (y - 1).to_string())
            .filter(|y| self.years.contains(y));
        let previous = match &previous_year {
            Some(y) => Some(self.families(ind, y).await?),
            None => None,
        };
        let group_idx: Vec<usize> = (0..fam.groups.len())
            .filter(|&g| match b.code {
                "aucune" => false,
                "mois" => fam.groups[g].0.len() == 7,
                "trimestre" => fam.groups[g].0.starts_with('T'),
                _ => true,
            })
            .collect();
        let row = |u: usize| -> Row {
            let unit = &h.units[u];
            Row {
                niveau: unit.niveau,
                code: unit.code.clone(),
                libelle: unit.libelle.clone(),
                ouvrable: h.allowed(perimeter, u),
                cellules: group_idx
                    .iter()
                    .map(|&g| Cell::of(fam.cell(u, g)))
                    .collect(),
                total: Cell::of(fam.total(u)),
                annee_precedente: previous.as_ref().map(|p| {
                    Cell::of(
                        p.get(b.family)
                            .map(|f| f.total(u))
                            .unwrap_or((0, Status::V)),
                    )
                }),
            }
        };
        let unit = h.units[node].clone();
        let comparaison = (unit.niveau == "structure")
            .then_some(unit.parent)
            .flatten()
            .map(row);
        Ok(Published {
            indicateur: ind.code,
            libelle: ind.label,
            definition: ind.definition,
            unite: ind.unit,
            annee: q.annee.clone(),
            ventilation: b.code,
            ventilation_libelle: b.label,
            seuil: self.threshold,
            colonnes: group_idx
                .iter()
                .map(|&g| Column {
                    code: fam.groups[g].0.clone(),
                    libelle: fam.groups[g].1.clone(),
                })
                .collect(),
            lignes: h.children(node).into_iter().map(row).collect(),
            ensemble: row(node),
            comparaison,
            perimetre: unit,
            entrepot: self.version.clone(),
        })
    }
}

/// Rows of three text columns.
async fn string_rows(ctx: &SessionContext, sql: &str) -> Result<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for b in ctx.sql(sql).await?.collect().await? {
        let col = |i: usize| text_column(&b, i);
        let (Some(a), Some(c), Some(d)) = (col(0), col(1), col(2)) else {
            continue;
        };
        for r in 0..b.num_rows() {
            if !a.is_null(r) {
                out.push((
                    a.value(r).to_string(),
                    c.value(r).to_string(),
                    d.value(r).to_string(),
                ));
            }
        }
    }
    Ok(out)
}
