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
    #[error(
        "opération sensible : saisissez à nouveau votre code de second facteur (valable 5 minutes)"
    )]
    StepUpRequired,
    #[error("{0}")]
    Conflict(String),
    #[error("le dossier a été modifié entre-temps : rechargez-le avant de l'enregistrer")]
    Stale,
    /// A business rule or an operator's request refused, in words for people.
    #[error("{0}")]
    Refused(String),
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
            AppError::StepUpRequired => "confirmation_requise",
            AppError::Conflict(_) => "conflit",
            AppError::Stale => "version_perimee",
            AppError::Refused(_) => "refuse",
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
