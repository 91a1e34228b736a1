//! Normalisation used before blind indexing and for comparisons: case, accents, apostrophes,
//! hyphens and repeated spaces must not matter when an advisor searches ("N'Diaye" = "ndiaye",
//! "Éloïse-Dubreuil" = "eloise dubreuil").

/// Folds a name or text: transliterate to ASCII (é→e, œ→oe, ç→c), lower case, drop apostrophes,
/// turn every other non-alphanumeric character into a space, collapse spaces.
pub fn fold(s: &str) -> String {
    let ascii = deunicode::deunicode(s);
    let mut out = String::with_capacity(ascii.len());
    let mut pending_space = false;
    for c in ascii.chars() {
        if c == '\'' || c == '`' {
            continue;
        }
        if c.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// The words of a folded name worth indexing on their own ("de la fuente alvarez" gives
/// "fuente" and "alvarez"; one- and two-letter particles are skipped).
pub fn tokens(folded: &str) -> Vec<String> {
    let words: Vec<&str> = folded.split(' ').filter(|w| w.len() >= 3).collect();
    if words.len() <= 1 {
        return Vec::new();
    }
    let mut v: Vec<String> = words.into_iter().map(str::to_string).collect();
    v.sort();
    v.dedup();
    v
}

/// E-mail addresses compare case-insensitively.
pub fn email(s: &str) -> String {
    s.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_case_apostrophes_and_spaces() {
        assert_eq!(fold("Éloïse-Dubreuil"), "eloise dubreuil");
        assert_eq!(fold("N'Diaye"), "ndiaye");
        assert_eq!(fold("n’diaye"), "ndiaye");
        assert_eq!(fold("ÇELIK"), "celik");
        assert_eq!(fold("Jean  Baptiste"), "jean baptiste");
        assert_eq!(fold("  Bœuf "), "boeuf");
        assert_eq!(fold("De La Fuente Álvarez"), "de la fuente alvarez");
    }

    #[test]
    fn tokens_of_compound_names() {
        assert_eq!(tokens("de la fuente alvarez"), vec!["alvarez", "fuente"]);
        assert!(tokens("martin").is_empty());
    }
}
