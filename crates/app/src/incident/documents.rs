//! The documents of an incident report: the CNIL notification draft (Art. 33), the letters to
//! the persons and to minors' legal representatives (Art. 34), printable, a mailing list and
//! the list of dossiers touched (ids only). French, plain words; rendered by askama (every
//! value escaped).

use askama::Template;
use std::path::{Path, PathBuf};

use super::{CategoryLine, IncidentReport, Letter, PersonTouched};
use crate::{AppError, Result};

fn date_fr(ts: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(ts, 0)
        .map(|t| t.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "incident/cnil.html")]
struct CnilDraft<'a> {
    r: &'a IncidentReport,
    date: String,
    persons: usize,
    letters: usize,
    minors: usize,
    categories: &'a [CategoryLine],
}

#[derive(Template)]
#[template(path = "incident/lettres.html")]
struct Letters<'a> {
    r: &'a IncidentReport,
    date: String,
    letters: &'a [Letter],
}

/// The rendered documents.
pub struct Documents {
    pub cnil_html: String,
    pub letters_html: String,
    pub mailing_csv: String,
    pub persons_csv: String,
}

fn csv_of<I: IntoIterator<Item = Vec<String>>>(header: &[&str], rows: I) -> Result<String> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    w.write_record(header).map_err(AppError::internal)?;
    for r in rows {
        w.write_record(&r).map_err(AppError::internal)?;
    }
    let bytes = w.into_inner().map_err(AppError::internal)?;
    String::from_utf8(bytes).map_err(AppError::internal)
}

pub fn render(r: &IncidentReport) -> Result<Documents> {
    let date = date_fr(r.generated_at);
    let cnil_html = CnilDraft {
        r,
        date: date.clone(),
        persons: r.persons.len(),
        letters: r.letters.len(),
        minors: r
            .letters
            .iter()
            .filter(|l| l.quality == "jeune" && l.minor)
            .count(),
        categories: &r.categories,
    }
    .render()
    .map_err(AppError::internal)?;
    let letters_html = Letters {
        r,
        date,
        letters: &r.letters,
    }
    .render()
    .map_err(AppError::internal)?;
    let mailing_csv = csv_of(
        &[
            "destinataire",
            "qualite",
            "adresse",
            "code_postal",
            "commune",
            "email",
            "telephone",
            "dossier",
        ],
        r.letters.iter().map(|l| {
            vec![
                l.recipient.clone(),
                l.quality.clone(),
                l.address.clone(),
                l.postcode.clone(),
                l.town.clone(),
                l.email.clone(),
                l.phone.clone(),
                l.jeune_id.clone(),
            ]
        }),
    )?;
    let persons_csv = csv_of(
        &[
            "dossier",
            "mission_locale",
            "lectures",
            "modifications",
            "exports",
            "categories",
            "premier_acces",
            "dernier_acces",
            "efface",
        ],
        r.persons.iter().map(|p: &PersonTouched| {
            vec![
                p.jeune_id.clone(),
                p.structure.clone(),
                p.reads.to_string(),
                p.changes.to_string(),
                p.exports.to_string(),
                p.categories.join(" | "),
                p.first.map(date_fr).unwrap_or_default(),
                p.last.map(date_fr).unwrap_or_default(),
                if p.erased { "oui" } else { "non" }.into(),
            ]
        }),
    )?;
    Ok(Documents {
        cnil_html,
        letters_html,
        mailing_csv,
        persons_csv,
    })
}

/// Writes the documents into `dir` (created, readable by its owner only): they hold names and
/// addresses. Returns the files written.
pub fn write_folder(r: &IncidentReport, dir: &Path) -> Result<Vec<PathBuf>> {
    let docs = render(r)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| AppError::io(format!("dossier {}", dir.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| AppError::io(format!("droits de {}", dir.display()), e))?;
    }
    let mut out = Vec::new();
    for (name, text) in [
        ("notification-cnil.html", &docs.cnil_html),
        ("lettres.html", &docs.letters_html),
        ("publipostage.csv", &docs.mailing_csv),
        ("personnes.csv", &docs.persons_csv),
    ] {
        let path = dir.join(name);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        use std::io::Write;
        opts.open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| AppError::io(format!("fichier {}", path.display()), e))?;
        out.push(path);
    }
    Ok(out)
}
