//! The look of both servers (issue 19): the State design system (DSFR, npm package
//! `@gouvfr/dsfr` 1.15.3, Etalab-2.0) for a State service, a neutral look otherwise.
//!
//! The DSFR's CSS, module script, icons and fonts are vendored in `assets/dsfr` (only the
//! files `dsfr.min.css` refers to, ~2 MB) and served by each binary under `/static/dsfr/`: no
//! CDN, and the CSP stays `script-src 'self'` with no inline script or style.
//!
//! **The switch.** The DSFR, the Marianne font and the « République française » block are
//! reserved to the State's administrations (the DSFR's terms of use). Parcours is meant to be
//! operated by the State as i-Milo was (`PARCOURS_THEME=etat`); any other operator runs the
//! neutral look (`PARCOURS_THEME=neutre`, the default): the pages then link no DSFR file and
//! `/static/dsfr/` answers 404, the same markup styled by the application's own sheet alone.
//! See docs/DESIGN.md.

use include_dir::{include_dir, Dir};
use std::sync::OnceLock;

static DSFR: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/assets/dsfr");

/// Which look the deployment shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// The State design system (a State service).
    Etat,
    /// The application's own sober look (any other operator).
    Neutre,
}

static THEME: OnceLock<Theme> = OnceLock::new();

impl Theme {
    /// `etat` or `neutre` (anything else, or nothing: `neutre`).
    pub fn parse(raw: &str) -> Theme {
        match raw.trim() {
            "etat" | "état" => Theme::Etat,
            _ => Theme::Neutre,
        }
    }

    /// The deployment's theme: set once at start ([`set_theme`]), else `PARCOURS_THEME`.
    pub fn current() -> Theme {
        *THEME.get_or_init(|| Theme::parse(&std::env::var("PARCOURS_THEME").unwrap_or_default()))
    }

    pub fn is_state(self) -> bool {
        self == Theme::Etat
    }
}

/// Sets the theme before the first request (the CLI's `--theme`).
pub fn set_theme(theme: Theme) {
    let _ = THEME.set(theme);
}

/// A file of the DSFR (`dsfr.min.css`, `fonts/Marianne-Regular.woff2`, `icons/…`), with its
/// content type; `None` when unknown or when the deployment is not a State service.
pub fn asset(path: &str) -> Option<(&'static [u8], &'static str)> {
    if !Theme::current().is_state() || path.contains("..") {
        return None;
    }
    let file = DSFR.get_file(path)?;
    let kind = match path.rsplit('.').next().unwrap_or_default() {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "woff2" => "font/woff2",
        _ => return None,
    };
    Some((file.contents(), kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_stylesheet_names_is_served() {
        set_theme(Theme::Etat);
        let css = std::str::from_utf8(asset("dsfr.min.css").unwrap().0).unwrap();
        let mut named = 0;
        for part in css.split("url(").skip(1) {
            let url = part
                .split(')')
                .next()
                .unwrap()
                .trim_matches(|c| c == '"' || c == '\'');
            if url.starts_with("data:") || url.ends_with(".woff") {
                continue; // inline images; .woff is the fallback of browsers without woff2
            }
            named += 1;
            assert!(
                asset(url).is_some(),
                "{url} is named by dsfr.min.css but not served"
            );
        }
        assert!(named > 50, "{named}");
        assert!(asset("dsfr.module.min.js").is_some());
        assert!(asset("../Cargo.toml").is_none());
        assert!(asset("LICENSE.md").is_none());
        assert_eq!(Theme::parse("neutre"), Theme::Neutre);
        assert_eq!(Theme::parse(""), Theme::Neutre);
    }
}
