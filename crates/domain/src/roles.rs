//! Account roles. Only conseiller and directeur see identities of young people, and only those
//! of their own structure.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Conseiller,
    Directeur,
    Pilote,
    Dpo,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Conseiller,
        Role::Directeur,
        Role::Pilote,
        Role::Dpo,
        Role::Admin,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Conseiller => "conseiller",
            Role::Directeur => "directeur",
            Role::Pilote => "pilote",
            Role::Dpo => "dpo",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == s.trim())
    }

    /// French label shown in pages.
    pub fn label(self) -> &'static str {
        match self {
            Role::Conseiller => "Conseiller·ère",
            Role::Directeur => "Directeur·rice",
            Role::Pilote => "Pilotage",
            Role::Dpo => "Délégué·e à la protection des données",
            Role::Admin => "Administration technique",
        }
    }

    /// Whether the role may read identities of young people (of its own structure only).
    pub fn reads_identities(self) -> bool {
        matches!(self, Role::Conseiller | Role::Directeur)
    }

    /// Whether the account must be attached to a structure (pilote: a region or the nation).
    pub fn needs_structure(self) -> bool {
        matches!(self, Role::Conseiller | Role::Directeur)
    }
}
