//! Text for spreadsheets (the CSV files Excel opens: payment batches, dashboard exports).

/// A CSV field for Excel (semicolon separated): quoted when needed, and neutralised when it
/// would start a formula (`=`, `+`, `-`, `@`, tab, carriage return: CSV injection).
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_separators_quoted() {
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("\t=1"), "'\t=1");
        assert_eq!(csv_field("a;b"), "\"a;b\"");
        assert_eq!(csv_field("dit \"x\""), "\"dit \"\"x\"\"\"");
        assert_eq!(csv_field("Lyon"), "Lyon");
    }
}
