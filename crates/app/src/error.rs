//! One error type for all use cases, with stable codes.
//!
//! Policy: messages shown to people are French and never contain personal data or internal
//! details. Internal errors carry their detail for the log only; pages and API show a generic
//! message with the request id, so the operator can find the detail.

use parcours_domain::{ValidationErrors, Warning};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("données invalides")]
    Validation(ValidationErrors),
    #[error("un dossier semblable existe déjà dans la structure")]
    DuplicateSuspected {
        existing: Vec<String>,
        warnings: Vec<Warning>,
    },
    #[error("dossier introuvable")]
    NotFound,
    #[error("votre rôle ne donne pas accès à cette ressource")]
    Forbidden,
    #[error("authentification requise")]
    Unauthenticated,
    #[error("identifiant ou mot de passe incorrect")]
    InvalidCredentials,
    #[error("code de vérification incorrect ou déjà utilisé")]
    InvalidCode,
    #[error("trop de tentatives : réessayez dans quelques minutes")]
    Throttled,
    #[error("quota de consultation du jour atteint")]
    QuotaExceeded { break_glass_left: i64 },
    #[error("compte gelé par mesure de sécurité")]
    Frozen,
    #[error("serveur occupé : réessayez dans un instant")]
    Busy,
    #[error("espace disque du serveur plein : rien n'a été enregistré ; prévenez l'exploitant")]
    StorageFull,
    #[error(
        "opération sensible : saisissez à nouveau votre code de second facteur (valable 5 minutes)"
    )]
    StepUpRequired,
    #[error("{0}")]
    Conflict(String),
    #[error("le dossier a été modifié entre-temps : rechargez-le avant de l'enregistrer")]
    Stale,
    /// A business rule or an operator's request refused: which rule (a stable code, in the
    /// API's `regle`), and in words for people.
    #[error("{1}")]
    Refused(Rule, String),
    /// Stored data failed an integrity check (a forged audit entry, a ciphertext that does not
    /// open): never a user's mistake; the detail goes to the log.
    #[error("contrôle d'intégrité en échec : {0}")]
    Integrity(String),
    /// The master key file: missing, too open, malformed, or not to be overwritten (the
    /// operator's business; its message says what to do).
    #[error(transparent)]
    KeyFile(#[from] parcours_vault::KeyFileError),
    /// A file or directory of the instance could not be read or written.
    #[error("{what} : {source}")]
    Io {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("erreur interne")]
    Internal(String),
}

/// The rules a use case refuses by, each with a stable machine code (API field `regle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// No CEJ nor PACEA running in the month.
    NoAllowanceProgramme,
    /// No amounts known for the month.
    NoScale,
    /// A PACEA allowance rule (yearly cap, income, CEJ the same month).
    AllowanceRule,
    /// A setting out of its range (thresholds, k, days, mail addresses).
    InvalidSetting,
    /// Already done, or already in the state asked for.
    AlreadyDone,
    /// The day's break-glass is spent.
    BreakGlassSpent,
    /// Reserved to the structure's direction.
    DirectionOnly,
    /// Reserved to the dossier's référent or the direction.
    ReferentOnly,
    /// An unknown Mission Locale code.
    UnknownStructure,
    /// No NIR recorded for the dossier.
    NoNir,
    /// The account has not finished its enrolment (second factor).
    EnrolmentIncomplete,
    /// The structure requires a passkey.
    PasskeyRequired,
    /// No passkey is registered for the account.
    NoPasskey,
    /// The passkey could not be verified.
    PasskeyInvalid,
    /// A four-eyes request must be approved first.
    NotApproved,
    /// A request cannot be approved by its requester.
    SamePerson,
    /// The act does not apply to this programme.
    WrongProgramme,
    /// An enrolment link used, replaced or expired.
    LinkInvalid,
    /// The instance's state (initialised or not, keys, interrupted rotation).
    Instance,
    /// The dossier was erased (its key destroyed).
    Erased,
    /// The account expired after a long inactivity.
    AccountExpired,
    /// The server's configuration (public address for passkeys).
    Configuration,
    /// Reserved to demonstration instances.
    DemoOnly,
    /// A page form expired (CSRF token).
    FormExpired,
    /// Nothing to pay (no approved IBAN, no payer account).
    NothingToPay,
}

impl Rule {
    /// Stable code, part of the API contract.
    pub fn code(self) -> &'static str {
        match self {
            Rule::NoAllowanceProgramme => "aucun_dispositif_allocation",
            Rule::NoScale => "bareme_absent",
            Rule::AllowanceRule => "regle_allocation",
            Rule::InvalidSetting => "parametre_invalide",
            Rule::AlreadyDone => "deja_fait",
            Rule::BreakGlassSpent => "bris_de_glace_epuise",
            Rule::DirectionOnly => "reserve_direction",
            Rule::ReferentOnly => "reserve_referent",
            Rule::UnknownStructure => "structure_inconnue",
            Rule::NoNir => "nir_absent",
            Rule::EnrolmentIncomplete => "inscription_incomplete",
            Rule::PasskeyRequired => "cle_acces_exigee",
            Rule::NoPasskey => "cle_acces_absente",
            Rule::PasskeyInvalid => "cle_acces_invalide",
            Rule::NotApproved => "approbation_requise",
            Rule::SamePerson => "meme_personne",
            Rule::WrongProgramme => "dispositif_inadapte",
            Rule::LinkInvalid => "lien_invalide",
            Rule::Instance => "etat_instance",
            Rule::Erased => "dossier_efface",
            Rule::AccountExpired => "compte_expire",
            Rule::Configuration => "configuration",
            Rule::DemoOnly => "demonstration_seulement",
            Rule::FormExpired => "formulaire_expire",
            Rule::NothingToPay => "rien_a_verser",
        }
    }

    pub const ALL: &'static [Rule] = &[
        Rule::NoAllowanceProgramme,
        Rule::NoScale,
        Rule::AllowanceRule,
        Rule::InvalidSetting,
        Rule::AlreadyDone,
        Rule::BreakGlassSpent,
        Rule::DirectionOnly,
        Rule::ReferentOnly,
        Rule::UnknownStructure,
        Rule::NoNir,
        Rule::EnrolmentIncomplete,
        Rule::PasskeyRequired,
        Rule::NoPasskey,
        Rule::PasskeyInvalid,
        Rule::NotApproved,
        Rule::SamePerson,
        Rule::WrongProgramme,
        Rule::LinkInvalid,
        Rule::Instance,
        Rule::Erased,
        Rule::AccountExpired,
        Rule::Configuration,
        Rule::DemoOnly,
        Rule::FormExpired,
        Rule::NothingToPay,
    ];
}

impl AppError {
    /// Stable machine code, part of the API contract.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation",
            AppError::DuplicateSuspected { .. } => "doublon_probable",
            AppError::NotFound => "introuvable",
            AppError::Forbidden => "interdit",
            AppError::Unauthenticated => "non_authentifie",
            AppError::InvalidCredentials => "identifiants_invalides",
            AppError::InvalidCode => "code_invalide",
            AppError::Throttled => "trop_de_tentatives",
            AppError::QuotaExceeded { .. } => "quota_atteint",
            AppError::Frozen => "compte_gele",
            AppError::Busy => "serveur_occupe",
            AppError::StorageFull => "stockage_plein",
            AppError::StepUpRequired => "confirmation_requise",
            AppError::Conflict(_) => "conflit",
            AppError::Stale => "version_perimee",
            AppError::Refused(..) => "refuse",
            AppError::Integrity(_) => "integrite",
            AppError::Io { .. } => "fichier",
            AppError::KeyFile(_) => "fichier_de_cle",
            AppError::Internal(_) => "erreur_interne",
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> AppError {
        AppError::Internal(e.to_string())
    }

    /// A file error, with what was being done (kept as the error's source).
    pub fn io(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> AppError {
        AppError::Io {
            what: what.into(),
            source: Box::new(source),
        }
    }
}

impl From<parcours_store::StoreError> for AppError {
    fn from(e: parcours_store::StoreError) -> Self {
        use parcours_store::StoreError as S;
        match e {
            S::NotFound => AppError::NotFound,
            S::Conflict(what) => AppError::Conflict(format!("Cette valeur existe déjà : {what}.")),
            S::Stale => AppError::Stale,
            S::Busy => AppError::Busy,
            S::Full => AppError::StorageFull,
            S::Db(d) => AppError::Internal(d),
        }
    }
}

impl From<parcours_vault::FieldCipherError> for AppError {
    fn from(e: parcours_vault::FieldCipherError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<ValidationErrors> for AppError {
    fn from(e: ValidationErrors) -> Self {
        AppError::Validation(e)
    }
}

impl From<parcours_store::SqlxError> for AppError {
    fn from(e: parcours_store::SqlxError) -> Self {
        AppError::from(parcours_store::StoreError::from(e))
    }
}

#[cfg(test)]
mod tests {
    use super::Rule;

    #[test]
    fn rule_codes_are_distinct_snake_case() {
        let mut codes: Vec<&str> = Rule::ALL.iter().map(|r| r.code()).collect();
        assert!(codes
            .iter()
            .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')));
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Rule::ALL.len());
    }
}
