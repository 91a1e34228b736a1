//! Human formats of the interface (issue 19): dates `30/11/2026` and « novembre 2026 »,
//! numbers « 3 671 », phones « 06 12 34 56 78 », SIRET « 123 456 789 00012 ». Amounts are
//! `parcours_domain::situation::format_euros`. Times are stored in UTC; a day shown from a
//! timestamp is the UTC day (an act at 00:30 in Paris shows the day before: accepted).

use chrono::{DateTime, Datelike, NaiveDate};

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `2026-08-01` → « août 2026 ».
pub fn month_words(m: NaiveDate) -> String {
    let name = MONTHS.get(m.month0() as usize).copied().unwrap_or("");
    format!("{name} {}", m.year())
}

/// Cents as euros, « 1 234,56 € » (taking a reference, as templates pass their values).
pub fn euros(cents: impl std::borrow::Borrow<i64>) -> String {
    parcours_domain::situation::format_euros(*cents.borrow())
}

/// An appointment's status code as a label (« planifie » → « Planifié »).
pub fn appointment(code: &str) -> &'static str {
    parcours_domain::vocab::AppointmentStatus::parse(code)
        .map(parcours_domain::vocab::AppointmentStatus::label)
        .unwrap_or("")
}

/// A stored month `2026-11` → « novembre 2026 » (anything else as stored).
pub fn month_code(raw: &str) -> String {
    NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d")
        .map(month_words)
        .unwrap_or_else(|_| raw.to_string())
}

/// `2026-11-30` → `30/11/2026`.
pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// A stored `2026-11-30` → `30/11/2026` (anything else as stored).
pub fn iso_date(raw: &str) -> String {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(date)
        .unwrap_or_else(|_| raw.to_string())
}

/// Unix seconds → `30/11/2026` (UTC day).
pub fn day(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|t| date(t.date_naive()))
        .unwrap_or_default()
}

/// `3671` → « 3 671 » (narrow no-break space between thousands, as in French typography).
pub fn number(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(ch);
    }
    out
}

/// A French number in pairs (`0612345678` or `+33612345678` → « 06 12 34 56 78 »); anything
/// else is shown as stored.
pub fn phone(raw: &str) -> String {
    let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
    let national = match digits.strip_prefix("33") {
        Some(rest) if raw.trim_start().starts_with('+') && rest.len() == 9 => format!("0{rest}"),
        _ => digits,
    };
    if national.len() != 10 || !national.starts_with('0') {
        return raw.to_string();
    }
    national
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A SIRET as SIREN + NIC groups: « 123 456 789 00012 ».
pub fn siret(raw: &str) -> String {
    let d: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
    if d.len() != 14 {
        return raw.to_string();
    }
    format!("{} {} {} {}", &d[0..3], &d[3..6], &d[6..9], &d[9..14])
}

/// Minutes as a duration: « 3 h », « 1 h 30 », « 45 min ».
pub fn duration(minutes: impl std::borrow::Borrow<i64>) -> String {
    let minutes = *minutes.borrow();
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_formats() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(date(d), "30/11/2026");
        assert_eq!(month_words(d), "novembre 2026");
        assert_eq!(month_code("2026-08"), "août 2026");
        assert_eq!(day(1_795_996_800), "30/11/2026");
        assert_eq!(iso_date("2026-11-30"), "30/11/2026");
        assert_eq!(iso_date("bientôt"), "bientôt");
        assert_eq!(number(3671), "3\u{202f}671");
        assert_eq!(number(-1_234_567), "-1\u{202f}234\u{202f}567");
        assert_eq!(number(12), "12");
        assert_eq!(phone("0612345678"), "06 12 34 56 78");
        assert_eq!(phone("+33 6 12 34 56 78"), "06 12 34 56 78");
        assert_eq!(phone("12"), "12");
        assert_eq!(siret("12345678900012"), "123 456 789 00012");
        assert_eq!(duration(180), "3 h");
        assert_eq!(duration(90), "1 h 30");
        assert_eq!(duration(45), "45 min");
    }
}
