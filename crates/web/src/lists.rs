//! Lists people can work with (issue 19): a page of at most [`PER_PAGE`] rows, the page links,
//! and the query string that keeps the filters and the sort from one page to the next.
//! Server-side, so that it works without a script and the URL says what is shown.

/// Rows per page.
pub const PER_PAGE: usize = 50;

/// One page of a list.
pub struct Paged<T> {
    pub rows: Vec<T>,
    /// 1-based.
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    /// First and last row shown, 1-based (0, 0 when empty).
    pub first: usize,
    pub last: usize,
}

/// Cuts `all` to page `page` (1-based; out of range: the nearest page).
pub fn paginate<T>(all: Vec<T>, page: usize) -> Paged<T> {
    let total = all.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = page.clamp(1, pages);
    let start = (page - 1) * PER_PAGE;
    let rows: Vec<T> = all.into_iter().skip(start).take(PER_PAGE).collect();
    let (first, last) = if rows.is_empty() {
        (0, 0)
    } else {
        (start + 1, start + rows.len())
    };
    Paged {
        rows,
        page,
        pages,
        total,
        first,
        last,
    }
}

/// `a=1&b=2` from pairs, empty values left out, each value percent-encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_queries() {
        let p = paginate((1..=120).collect::<Vec<_>>(), 3);
        assert_eq!(
            (p.page, p.pages, p.total, p.first, p.last),
            (3, 3, 120, 101, 120)
        );
        assert_eq!(p.rows.first(), Some(&101));
        let p = paginate((1..=120).collect::<Vec<_>>(), 99);
        assert_eq!(p.page, 3);
        let p = paginate(Vec::<i32>::new(), 1);
        assert_eq!((p.page, p.pages, p.first, p.last), (1, 1, 0, 0));
        assert_eq!(
            query(&[("mois", "2026-11"), ("tri", ""), ("q", "é a")]),
            "mois=2026-11&q=%C3%A9%20a"
        );
    }
}
