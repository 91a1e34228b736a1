//! The vocabulary and rules of Parcours, with no I/O.
//!
//! Everything here is pure: validation of what people type (with French messages), the
//! normalisation that blind indexes rely on, roles. Time is always a parameter (`today`), never
//! read from the clock, so rules are testable at their boundaries.

pub mod generalise;
pub mod ids;
pub mod import;
pub mod jeune;
pub mod normalize;
pub mod phone;
pub mod roles;
pub mod rules;
pub mod situation;
pub mod spreadsheet;
pub mod structure;
pub mod timeline;
pub mod validation;
pub mod vocab;

pub use jeune::{Identity, JeuneInput, Sexe};
pub use roles::Role;
pub use validation::{FieldError, ValidationErrors, Warning};
