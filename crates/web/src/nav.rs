//! What each role sees: its home page and its menu (issue 19). One table says which pages a
//! role may use; the menu shows only those, `/` sends each role to its home, and the forms a
//! role could fill but never submit (a "Premier accueil" for a pilote) are refused before they
//! are shown. The use cases still authorise every action: this table only keeps the interface
//! from leading anyone to a refusal.

use parcours_domain::Role;
use std::fmt;

use Role::{Admin, Conseiller, Directeur, Dpo, Pilote};

/// One menu entry: where it leads, its label, the roles it is for.
pub struct Item {
    pub href: &'static str,
    pub label: &'static str,
    roles: &'static [Role],
}

/// The menu, in order. Every entry is a page that answers its roles without a refusal
/// (tested: each role's browser journey follows every entry of its menu).
pub const MENU: &[Item] = &[
    Item {
        href: "/direction",
        label: "Ma structure",
        roles: &[Directeur],
    },
    Item {
        href: "/portefeuille",
        label: "Mon portefeuille",
        roles: &[Conseiller],
    },
    Item {
        href: "/recherche",
        label: "Rechercher",
        roles: &[Conseiller, Directeur],
    },
    Item {
        href: "/jeunes",
        label: "Mes dossiers",
        roles: &[Conseiller],
    },
    Item {
        href: "/jeunes/nouveau",
        label: "Premier accueil",
        roles: &[Conseiller, Directeur],
    },
    Item {
        href: "/allocations",
        label: "Allocations",
        roles: &[Conseiller, Directeur],
    },
    Item {
        href: "/allocations/lot",
        label: "Lot de paiement",
        roles: &[Directeur],
    },
    Item {
        href: "/entreprises",
        label: "Entreprises",
        roles: &[Conseiller, Directeur],
    },
    Item {
        href: "/ateliers",
        label: "Ateliers",
        roles: &[Conseiller, Directeur],
    },
    Item {
        href: "/pilotage",
        label: "Pilotage",
        roles: &[Pilote, Directeur, Conseiller],
    },
    Item {
        href: "/quota",
        label: "Mon quota",
        roles: &[Conseiller],
    },
    Item {
        href: "/alertes",
        label: "Alertes",
        roles: &[Directeur, Dpo],
    },
    Item {
        href: "/administration/demandes",
        label: "Demandes",
        roles: &[Admin, Directeur, Dpo],
    },
    Item {
        href: "/incidents",
        label: "Incidents",
        roles: &[Dpo, Directeur, Admin],
    },
    Item {
        href: "/structures",
        label: "Structures",
        roles: &[Admin, Pilote, Dpo, Directeur, Conseiller],
    },
    Item {
        href: "/compte",
        label: "Mon compte",
        roles: &[Conseiller, Directeur, Pilote, Dpo, Admin],
    },
];

/// The page a role lands on after logging in and when it follows "Accueil".
pub fn home(role: Role) -> &'static str {
    match role {
        Conseiller => "/portefeuille",
        Directeur => "/direction",
        Pilote => "/pilotage",
        Dpo => "/alertes",
        Admin => "/administration/demandes",
    }
}

/// Whether the interface offers `href` (a menu entry) to `role`.
pub fn offers(role: Role, href: &str) -> bool {
    MENU.iter()
        .any(|i| i.href == href && i.roles.contains(&role))
}

/// The logged-in person as the page header shows her: her login, her role's menu, and which
/// entry is the current page (`aria-current="page"`). Displays as the login.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub login: String,
    pub role: Role,
    pub path: String,
}

/// A menu entry as rendered.
pub struct Link {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

impl Viewer {
    pub fn menu(&self) -> Vec<Link> {
        // The current entry is the longest one the path starts with ("/jeunes/nouveau" is not
        // "/jeunes").
        let current = MENU
            .iter()
            .filter(|i| i.roles.contains(&self.role))
            .filter(|i| {
                self.path == i.href
                    || self
                        .path
                        .strip_prefix(i.href)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .map(|i| i.href)
            .max_by_key(|h| h.len());
        MENU.iter()
            .filter(|i| i.roles.contains(&self.role))
            .map(|i| Link {
                href: i.href,
                label: i.label,
                current: Some(i.href) == current,
            })
            .collect()
    }

    pub fn home(&self) -> &'static str {
        home(self.role)
    }

    pub fn role_label(&self) -> &'static str {
        self.role.label()
    }
}

impl fmt::Display for Viewer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.login)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(role: Role, path: &str) -> Viewer {
        Viewer {
            login: "x".into(),
            role,
            path: path.into(),
        }
    }

    #[test]
    fn every_home_is_in_its_roles_menu() {
        for role in Role::ALL {
            assert!(
                offers(role, home(role)),
                "{role:?}'s home is not in its menu"
            );
        }
    }

    #[test]
    fn the_current_entry_is_the_longest_match() {
        let m = viewer(Conseiller, "/jeunes/nouveau").menu();
        let current: Vec<_> = m.iter().filter(|l| l.current).map(|l| l.href).collect();
        assert_eq!(current, ["/jeunes/nouveau"]);
        let m = viewer(Conseiller, "/jeunes/abc/modifier").menu();
        let current: Vec<_> = m.iter().filter(|l| l.current).map(|l| l.href).collect();
        assert_eq!(current, ["/jeunes"]);
        let m = viewer(Conseiller, "/jeunesse").menu();
        assert!(m.iter().all(|l| !l.current));
    }

    #[test]
    fn a_pilote_sees_no_dossier_page() {
        let m = viewer(Pilote, "/pilotage").menu();
        let hrefs: Vec<_> = m.iter().map(|l| l.href).collect();
        assert_eq!(hrefs, ["/pilotage", "/structures", "/compte"]);
    }
}
