//! Field errors and warnings, with stable codes (for the API) and French messages (for people).

use serde::Serialize;

/// One refused field: `field` is the input name, `code` a stable machine code, `message` French.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// Something worth a second look that does not block the action (e.g. age outside 16–25).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

/// All field errors of one input, collected rather than stopping at the first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_string(),
            code,
            message: message.into(),
        });
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn for_field(&self, field: &str) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == field)
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{} : {}", e.field, e.message))
            .collect();
        write!(f, "{}", parts.join(" ; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// Refuses control characters (other than none at all) and over-long text; trims.
/// Returns `None` when the trimmed value is empty.
pub fn clean_text(
    errors: &mut ValidationErrors,
    field: &str,
    label: &str,
    raw: &str,
    max_chars: usize,
) -> Option<String> {
    let v = raw.trim();
    if v.is_empty() {
        return None;
    }
    if v.chars().any(|c| c.is_control()) {
        errors.push(
            field,
            "caracteres_interdits",
            format!("{label} contient des caractères de contrôle interdits."),
        );
        return None;
    }
    if v.chars().count() > max_chars {
        errors.push(
            field,
            "trop_long",
            format!("{label} dépasse {max_chars} caractères."),
        );
        return None;
    }
    Some(v.to_string())
}
