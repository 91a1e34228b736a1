//! One form page for every "one act" page of the daily work: a list of fields, re-rendered with
//! the values typed and a French message under each refused field.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parcours_app::AppError;
use parcours_domain::FieldError;
use std::collections::HashMap;

use crate::error::{message, render, WebError};
use crate::request::Req;

/// A form as posted: every field as typed (plus `csrf`).
pub type Posted = HashMap<String, String>;

/// The context of a posted form: an authenticated session and the form's CSRF token.
pub fn posted_ctx(req: &Req, p: &Posted) -> Result<parcours_app::Ctx, WebError> {
    let ctx = req.authenticated()?;
    req.check_csrf(p.get("csrf").map(String::as_str).unwrap_or(""))?;
    Ok(ctx)
}

/// Step-up inside a form: a second-factor code typed with the act (optional when the last one
/// is less than 5 minutes old) is checked first, and the context then carries it.
pub async fn with_code(
    app: &parcours_app::App,
    req: &Req,
    mut ctx: parcours_app::Ctx,
    code: &str,
) -> Result<parcours_app::Ctx, AppError> {
    if code.trim().is_empty() {
        return Ok(ctx);
    }
    let session = req.session.clone().ok_or(AppError::Unauthenticated)?;
    app.confirm_factor(&ctx, &session, code).await?;
    let now = ctx.now.timestamp();
    if let parcours_app::Actor::Account(p) = &mut ctx.actor {
        p.factor_at = Some(now);
    }
    Ok(ctx)
}

/// A wrong or missing second factor, shown on the form's code field.
pub fn code_error(e: AppError) -> AppError {
    match e {
        AppError::InvalidCode | AppError::StepUpRequired | AppError::Throttled => {
            let mut v = parcours_domain::ValidationErrors::default();
            v.push("code", "confirmation_requise", message(&e));
            v.into()
        }
        other => other,
    }
}

/// Turns the posted fields into a use case's input (unknown fields are ignored). Inputs are
/// structs of strings with `#[serde(default)]`; a form that still does not fit (a field of
/// another type) is refused with 422, never silently replaced by an empty input.
pub fn input<T: serde::de::DeserializeOwned + Default>(
    p: &Posted,
    req: &Req,
) -> Result<T, WebError> {
    serde_json::to_value(p)
        .and_then(serde_json::from_value)
        .map_err(|e| {
            tracing::warn!(request_id = %req.request_id, error = %e, "formulaire illisible");
            let mut v = parcours_domain::ValidationErrors::default();
            v.push(
                "formulaire",
                "illisible",
                "Le formulaire envoyé est illisible : rechargez la page et recommencez.",
            );
            WebError::new(v.into(), req)
        })
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub label: std::borrow::Cow<'static, str>,
    /// An input type (`text`, `date`, `time`, `email`, `tel`, `month`), `select` or `textarea`.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub error: Option<String>,
    pub hint: &'static str,
    pub required: bool,
    pub autofocus: bool,
    /// The legend of the fieldset grouping this field with its neighbours ("": none).
    pub group: &'static str,
}

pub fn field(
    name: &'static str,
    label: impl Into<std::borrow::Cow<'static, str>>,
    kind: &'static str,
) -> Field {
    Field {
        name,
        label: label.into(),
        kind,
        value: String::new(),
        options: vec![],
        error: None,
        hint: "",
        required: false,
        autofocus: false,
        group: "",
    }
}

impl Field {
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn hint(mut self, h: &'static str) -> Self {
        self.hint = h;
        self
    }
    pub fn value(mut self, v: impl Into<String>) -> Self {
        self.value = v.into();
        self
    }
    /// Groups the field under a legend with the next fields of the same group.
    pub fn group(mut self, legend: &'static str) -> Self {
        self.group = legend;
        self
    }
    pub fn autofocus(mut self) -> Self {
        self.autofocus = true;
        self
    }
    pub fn options<I: IntoIterator<Item = (S, T)>, S: Into<String>, T: Into<String>>(
        mut self,
        o: I,
    ) -> Self {
        self.kind = "select";
        self.options = o.into_iter().map(|(a, b)| (a.into(), b.into())).collect();
        self
    }
}

#[derive(Template)]
#[template(path = "acte.html")]
pub struct ActPage {
    pub login: Option<crate::nav::Viewer>,
    pub csrf: String,
    pub title: String,
    /// Whose page it is (« Bénédicte FERRAND »), in the heading only: never in the tab title,
    /// which browsers keep in their history and sync (docs/DESIGN.md).
    pub person: String,
    pub back: String,
    pub action: String,
    pub fields: Vec<Field>,
    pub hidden: Vec<(String, String)>,
    pub general_error: Option<String>,
    pub submit: &'static str,
    pub info_title: String,
    pub info: Vec<(String, String)>,
    /// A second, secondary submit: `name="etape"` with this value and label.
    pub secondary: Option<(&'static str, &'static str)>,
    /// False when the act cannot be done at all: the page explains, with `next_steps`.
    pub show_form: bool,
    /// Links to what to do instead (href, label).
    pub next_steps: Vec<(String, String)>,
    /// A table under the form (a history).
    pub table: Option<Table>,
}

/// A simple table: caption, headers, rows; `numeric` columns are right-aligned.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub caption: String,
    pub headers: Vec<String>,
    pub numeric: Vec<usize>,
    pub rows: Vec<Vec<String>>,
}

impl ActPage {
    pub fn new(
        req: &Req,
        title: impl Into<String>,
        back: impl Into<String>,
        action: impl Into<String>,
        fields: Vec<Field>,
    ) -> ActPage {
        ActPage {
            login: req.login(),
            csrf: req.csrf(),
            title: title.into(),
            person: String::new(),
            back: back.into(),
            action: action.into(),
            fields,
            hidden: vec![],
            general_error: None,
            submit: "Enregistrer",
            info_title: String::new(),
            info: vec![],
            secondary: None,
            show_form: true,
            next_steps: vec![],
            table: None,
        }
    }

    /// The fields in runs of the same group: (legend, fields); "" for ungrouped fields.
    pub fn groups(&self) -> Vec<(&'static str, Vec<&Field>)> {
        let mut out: Vec<(&'static str, Vec<&Field>)> = Vec::new();
        for f in &self.fields {
            match out.last_mut() {
                Some((g, fs)) if *g == f.group && !g.is_empty() => fs.push(f),
                _ => out.push((f.group, vec![f])),
            }
        }
        out
    }

    /// True when a field carries an error (the title then starts with « Erreur — »).
    pub fn has_errors(&self) -> bool {
        self.fields.iter().any(|f| f.error.is_some())
    }

    /// Puts the posted values back and the field errors under their fields.
    pub fn refill(mut self, p: &Posted, errors: &[FieldError]) -> ActPage {
        for f in &mut self.fields {
            if let Some(v) = p.get(f.name) {
                f.value = v.clone();
            }
            f.error = errors
                .iter()
                .find(|e| e.field == f.name)
                .map(|e| e.message.clone());
        }
        let unplaced: Vec<&FieldError> = errors
            .iter()
            .filter(|e| !self.fields.iter().any(|f| f.name == e.field))
            .collect();
        if !unplaced.is_empty() {
            self.general_error = Some(
                unplaced
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        self
    }

    pub fn respond(self) -> Response {
        render(&self)
    }

    /// After a failed act: validation errors, conflicts, refusals and stale versions re-render
    /// the form (422 / 409 / 400); anything else is the usual error page.
    pub fn failed(self, req: &Req, p: &Posted, e: AppError) -> Result<Response, WebError> {
        let (errors, general, st) = match e {
            AppError::Validation(v) => (
                v.0,
                Some("Rien n'a été enregistré : corrigez les champs signalés.".to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            e @ (AppError::Conflict(_) | AppError::Stale) => {
                (vec![], Some(message(&e)), StatusCode::CONFLICT)
            }
            e @ AppError::Refused(..) => (vec![], Some(message(&e)), StatusCode::BAD_REQUEST),
            other => return Err(WebError::new(other, req)),
        };
        let mut page = self.refill(p, &errors);
        if page.general_error.is_none() {
            page.general_error = general;
        }
        Ok((st, page.respond()).into_response())
    }
}

/// Vocabulary list as select options.
pub fn opts<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|x| (code(*x).to_string(), label(*x).to_string()))
        .collect()
}
