//! Errors as people and programs see them.
//!
//! Pages get a French message and the request id; the API gets `{"code", "message",
//! "request_id", "champs"?}` with a stable `code`. Internal details are logged with the request
//! id and never echoed (a 500 says only "erreur interne" and the reference).

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use parcours_app::AppError;
use serde_json::json;

use crate::request::Req;

pub struct WebError {
    pub error: AppError,
    pub request_id: String,
    pub api: bool,
    pub login: Option<String>,
}

impl WebError {
    pub fn new(error: AppError, req: &Req) -> WebError {
        WebError {
            error,
            request_id: req.request_id.clone(),
            api: req.api,
            login: req.login(),
        }
    }
}

pub fn status(e: &AppError) -> StatusCode {
    match e {
        AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::DuplicateSuspected { .. } | AppError::Conflict(_) | AppError::Stale => {
            StatusCode::CONFLICT
        }
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Forbidden => StatusCode::FORBIDDEN,
        AppError::Unauthenticated | AppError::InvalidCredentials | AppError::InvalidCode => {
            StatusCode::UNAUTHORIZED
        }
        AppError::Throttled | AppError::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Frozen => StatusCode::LOCKED,
        AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        AppError::StepUpRequired => StatusCode::FORBIDDEN,
        AppError::Refused(_) => StatusCode::BAD_REQUEST,
        AppError::Internal(_)
        | AppError::Integrity(_)
        | AppError::Io { .. }
        | AppError::KeyFile(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The French message shown for an error (never internal details).
pub fn message(e: &AppError) -> String {
    match e {
        AppError::Internal(_) | AppError::Integrity(_) | AppError::Io { .. } | AppError::KeyFile(_) => "Erreur interne. Le problème a été enregistré ; communiquez la référence ci-dessous à l'assistance.".into(),
        AppError::Validation(v) => format!("Certains champs sont à corriger : {v}"),
        AppError::NotFound => "Dossier ou page introuvable.".into(),
        AppError::Forbidden => "Votre rôle ne donne pas accès à cette page.".into(),
        AppError::Unauthenticated => "Connectez-vous pour continuer.".into(),
        AppError::InvalidCredentials => "Identifiant ou mot de passe incorrect.".into(),
        AppError::InvalidCode => "Code de vérification incorrect ou déjà utilisé.".into(),
        AppError::Throttled => "Trop de tentatives. Réessayez dans 15 minutes.".into(),
        AppError::QuotaExceeded { break_glass_left } => {
            let mut m = "Vous avez atteint aujourd'hui le nombre de dossiers que vous pouvez consulter hors de votre portefeuille. Votre directeur en est informé.".to_string();
            if *break_glass_left > 0 {
                m.push_str(" En cas de besoin réel, le bris de glace (page « Mon quota ») vous donne quelques consultations de plus, en indiquant le motif.");
            } else {
                m.push_str(" Le quota repart demain ; en cas d'urgence, demandez à votre directeur.");
            }
            m
        }
        AppError::StepUpRequired => "Opération sensible : confirmez d'abord votre identité en saisissant à nouveau le code de votre application d'authentification (page « Mon compte » → « Confirmer mon identité »). La confirmation vaut 5 minutes.".into(),
        AppError::Frozen => "Votre compte est gelé par mesure de sécurité : une activité inhabituelle a été détectée et toutes vos sessions ont été fermées. Appelez la direction de votre Mission Locale ou le délégué à la protection des données (DPO) pour le faire réactiver ; vous vous reconnecterez ensuite avec votre mot de passe et votre code.".into(),
        other => {
            let s = other.to_string();
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => s,
            }
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
    pub request_id: String,
    pub login: Option<String>,
    pub csrf: String,
}

pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(erreur = %e, "rendu de page impossible");
            (StatusCode::INTERNAL_SERVER_ERROR, "Erreur interne.").into_response()
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let st = status(&self.error);
        match &self.error {
            AppError::Internal(detail) | AppError::Integrity(detail) => {
                tracing::error!(request_id = %self.request_id, detail = %detail, code = self.error.code(), "erreur interne");
            }
            e @ (AppError::Io { .. } | AppError::KeyFile(_)) => {
                tracing::error!(request_id = %self.request_id, detail = %e, "erreur de fichier");
            }
            _ => {}
        }
        if self.api {
            let mut body = json!({
                "code": self.error.code(),
                "message": message(&self.error),
                "request_id": self.request_id,
            });
            match &self.error {
                AppError::Validation(v) => body["champs"] = json!(v.0),
                AppError::DuplicateSuspected { existing, .. } => {
                    body["dossiers_existants"] = json!(existing)
                }
                _ => {}
            }
            return (
                st,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response();
        }
        if matches!(self.error, AppError::Unauthenticated) {
            return Redirect::to("/connexion").into_response();
        }
        let page = ErrorPage {
            title: match st {
                StatusCode::NOT_FOUND => "Introuvable".into(),
                StatusCode::FORBIDDEN => "Accès refusé".into(),
                StatusCode::INTERNAL_SERVER_ERROR => "Erreur interne".into(),
                StatusCode::TOO_MANY_REQUESTS => "Quota atteint".into(),
                StatusCode::LOCKED => "Compte gelé".into(),
                _ => "Demande refusée".into(),
            },
            message: message(&self.error),
            request_id: self.request_id,
            login: self.login,
            csrf: String::new(),
        };
        (st, render(&page)).into_response()
    }
}

/// Unknown routes: JSON under /api, a French page elsewhere.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    let request_id = parcours_app::new_request_id();
    if uri.path().starts_with("/api/") {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"code": "introuvable", "message": "Ressource introuvable.", "request_id": request_id}).to_string(),
        )
            .into_response();
    }
    let page = ErrorPage {
        title: "Introuvable".into(),
        message: "Cette page n'existe pas.".into(),
        request_id,
        login: None,
        csrf: String::new(),
    };
    (StatusCode::NOT_FOUND, render(&page)).into_response()
}
