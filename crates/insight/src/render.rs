//! The formats of a [`Published`] table: CSV (semicolon, UTF-8 with BOM, for Excel), XLSX, and
//! the bars of the server-rendered SVG chart. Each reads only what the pipeline published: a
//! suppressed cell has no value here, only its `s`.

use crate::publish::{Cell, Published, Row};
use parcours_domain::spreadsheet::csv_field;

/// The rows of a table in reading order: the children, the node itself, the comparison.
pub fn all_rows(p: &Published) -> Vec<(&Row, &'static str)> {
    let mut out: Vec<(&Row, &'static str)> = p.lignes.iter().map(|r| (r, "")).collect();
    out.push((&p.ensemble, "Ensemble"));
    if let Some(c) = &p.comparaison {
        out.push((c, "Pour comparaison"));
    }
    out
}

/// The header: the perimeter column, the breakdown's columns, the total, the previous year.
pub fn header(p: &Published) -> Vec<String> {
    let mut h = vec!["Périmètre".to_string()];
    h.extend(p.colonnes.iter().map(|c| c.libelle.clone()));
    h.push(format!("Total {}", p.annee));
    if p.ensemble.annee_precedente.is_some() {
        h.push(format!(
            "Total {}",
            p.annee.parse::<i32>().map(|y| y - 1).unwrap_or(0)
        ));
    }
    h
}

fn row_label(r: &Row, tag: &str) -> String {
    if tag.is_empty() {
        r.libelle.clone()
    } else {
        format!("{tag} — {}", r.libelle)
    }
}

fn row_cells(r: &Row) -> Vec<&Cell> {
    let mut v: Vec<&Cell> = r.cellules.iter().collect();
    v.push(&r.total);
    if let Some(c) = &r.annee_precedente {
        v.push(c);
    }
    v
}

pub const NOTE: &str = "« s » : secret statistique — moins de jeunes que le seuil de diffusion, ou cellule masquée pour qu'aucune autre ne puisse être recalculée.";

/// Semicolon CSV, UTF-8 with BOM (Excel opens it as is).
pub fn to_csv(p: &Published) -> String {
    let mut out = String::from("\u{feff}");
    let line = |fields: Vec<String>| -> String {
        let f: Vec<String> = fields.iter().map(|x| csv_field(x)).collect();
        format!("{}\r\n", f.join(";"))
    };
    out.push_str(&line(header(p)));
    for (r, tag) in all_rows(p) {
        let mut f = vec![row_label(r, tag)];
        f.extend(row_cells(r).iter().map(|c| c.affiche.clone()));
        out.push_str(&line(f));
    }
    out.push_str("\r\n");
    out.push_str(&line(vec![format!(
        "{} — {} — {} — seuil de diffusion : {}",
        p.libelle, p.annee, p.perimetre.libelle, p.seuil
    )]));
    out.push_str(&line(vec![NOTE.to_string()]));
    out
}

/// XLSX workbook of one table: numbers as numbers, suppressed cells as the text `s`.
pub fn to_xlsx(p: &Published) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    write_table(wb.add_worksheet().set_name("Tableau")?, p)?;
    wb.save_to_buffer()
}

/// The name of the sheet of the `i`-th table of a workbook (Excel: 31 characters at most, no
/// `[]:*?/\`).
pub fn sheet_name(i: usize, p: &Published) -> String {
    let clean: String = p
        .libelle
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .collect();
    format!("{:02} {clean}", i + 1).chars().take(31).collect()
}

/// XLSX workbook of several tables (an export of a whole perimeter): a first sheet that says
/// what the workbook holds and the definitions, then one sheet per table.
pub fn to_xlsx_book(tables: &[Published]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let about = wb.add_worksheet().set_name("Lisez-moi")?;
    if let Some(first) = tables.first() {
        about.write_string_with_format(
            0,
            0,
            format!(
                "Pilotage — {} — {} — seuil de diffusion : {}",
                first.perimetre.libelle, first.annee, first.seuil
            ),
            &bold,
        )?;
        about.write_string(1, 0, format!("Entrepôt : {}", first.entrepot))?;
    }
    about.write_string(2, 0, NOTE)?;
    for (h, c) in ["Feuille", "Indicateur", "Unité", "Définition"]
        .iter()
        .zip(0u16..)
    {
        about.write_string_with_format(4, c, *h, &bold)?;
    }
    for (i, t) in tables.iter().enumerate() {
        let r = 5 + i as u32;
        about.write_string(r, 0, sheet_name(i, t))?;
        about.write_string(r, 1, t.libelle)?;
        about.write_string(r, 2, t.unite)?;
        about.write_string(r, 3, t.definition)?;
    }
    about.set_column_width(0, 34)?;
    about.set_column_width(1, 40)?;
    for (i, t) in tables.iter().enumerate() {
        write_table(wb.add_worksheet().set_name(sheet_name(i, t))?, t)?;
    }
    wb.save_to_buffer()
}

fn write_table(
    ws: &mut rust_xlsxwriter::Worksheet,
    p: &Published,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let bold = rust_xlsxwriter::Format::new().set_bold();
    ws.write_string_with_format(
        0,
        0,
        format!("{} — {} — {}", p.libelle, p.annee, p.perimetre.libelle),
        &bold,
    )?;
    for (c, h) in header(p).iter().enumerate() {
        ws.write_string_with_format(2, c as u16, h, &bold)?;
    }
    let mut row = 3u32;
    for (r, tag) in all_rows(p) {
        ws.write_string(row, 0, row_label(r, tag))?;
        for (c, cell) in row_cells(r).iter().enumerate() {
            let col = (c + 1) as u16;
            match cell.valeur {
                Some(v) => ws.write_number(row, col, v as f64)?,
                None => ws.write_string(row, col, &cell.affiche)?,
            };
        }
        row += 1;
    }
    ws.write_string(row + 1, 0, format!("Seuil de diffusion : {}", p.seuil))?;
    ws.write_string(row + 2, 0, NOTE)?;
    ws.set_column_width(0, 40)?;
    Ok(())
}

/// One bar of the chart.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    /// Length in the chart's units (0 for a suppressed value).
    pub length: u32,
    pub shown: String,
    pub suppressed: bool,
    pub y: u32,
}

/// Width of the longest bar.
pub const BAR_MAX: u32 = 420;
/// Height of one bar's line.
pub const BAR_STEP: u32 = 26;

/// The bars of the chart: the rows' totals when the node has children, otherwise the node's
/// cells of the breakdown.
pub fn bars(p: &Published) -> Vec<Bar> {
    let items: Vec<(String, &Cell)> = if p.lignes.is_empty() {
        p.colonnes
            .iter()
            .zip(&p.ensemble.cellules)
            .map(|(c, v)| (c.libelle.clone(), v))
            .collect()
    } else {
        p.lignes
            .iter()
            .map(|r| (r.libelle.clone(), &r.total))
            .collect()
    };
    let max = items
        .iter()
        .filter_map(|(_, c)| c.valeur)
        .max()
        .unwrap_or(0)
        .max(1);
    items
        .into_iter()
        .enumerate()
        .map(|(i, (label, c))| Bar {
            label,
            length: c
                .valeur
                .map(|v| ((v.max(0) as f64 / max as f64) * BAR_MAX as f64).round() as u32)
                .unwrap_or(0),
            shown: c.affiche.clone(),
            suppressed: c.valeur.is_none(),
            y: i as u32 * BAR_STEP,
        })
        .collect()
}

/// A file name made of ASCII letters, digits, `-`, `_` and `.` only (the rest becomes `_`).
pub fn safe_file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
