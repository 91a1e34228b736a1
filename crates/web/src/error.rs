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
    /// Boxed: every handler's `Result` carries it, keep its error small.
    pub login: Option<Box<crate::nav::Viewer>>,
}

impl WebError {
    pub fn new(error: AppError, req: &Req) -> WebError {
        WebError {
            error,
            request_id: req.request_id.clone(),
            api: req.api,
            login: req.login().map(Box::new),
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
        AppError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        AppError::StepUpRequired => StatusCode::FORBIDDEN,
        AppError::Refused(..) => StatusCode::BAD_REQUEST,
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
    pub login: Option<crate::nav::Viewer>,
    pub csrf: String,
}

pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendu de page impossible");
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
            // The operator must act (free space): said loudly, once per refused request.
            AppError::StorageFull => {
                tracing::error!(request_id = %self.request_id, "disque de la base de données plein : écriture refusée");
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
                AppError::Refused(rule, _) => body["regle"] = json!(rule.code()),
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
            login: self.login.map(|b| *b),
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

#[cfg(test)]
mod tests {
    //! The error mapping, on its own: every variant's status and stable code, and no internal
    //! detail in what a person or a program receives.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use axum::body::to_bytes;

    fn req(api: bool) -> Req {
        Req {
            request_id: "req-123".into(),
            client: String::new(),
            session: None,
            now: chrono::Utc::now(),
            api,
            trace: parcours_app::Trace::default(),
            path: "/".into(),
        }
    }

    fn every_variant() -> Vec<(AppError, StatusCode, &'static str)> {
        let mut v = parcours_domain::ValidationErrors::default();
        v.push("nom", "requis", "Le nom est obligatoire.");
        vec![
            (
                AppError::Validation(v),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
            ),
            (AppError::NotFound, StatusCode::NOT_FOUND, "introuvable"),
            (AppError::Forbidden, StatusCode::FORBIDDEN, "interdit"),
            (
                AppError::Unauthenticated,
                StatusCode::UNAUTHORIZED,
                "non_authentifie",
            ),
            (
                AppError::InvalidCode,
                StatusCode::UNAUTHORIZED,
                "code_invalide",
            ),
            (
                AppError::Throttled,
                StatusCode::TOO_MANY_REQUESTS,
                "trop_de_tentatives",
            ),
            (AppError::Frozen, StatusCode::LOCKED, "compte_gele"),
            (
                AppError::Busy,
                StatusCode::SERVICE_UNAVAILABLE,
                "serveur_occupe",
            ),
            (
                AppError::StorageFull,
                StatusCode::INSUFFICIENT_STORAGE,
                "stockage_plein",
            ),
            (
                AppError::StepUpRequired,
                StatusCode::FORBIDDEN,
                "confirmation_requise",
            ),
            (
                AppError::Conflict("déjà".into()),
                StatusCode::CONFLICT,
                "conflit",
            ),
            (
                AppError::Refused(parcours_app::Rule::AlreadyDone, "non".into()),
                StatusCode::BAD_REQUEST,
                "refuse",
            ),
            (
                AppError::Internal("SELECT secret FROM x".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
                "erreur_interne",
            ),
            (
                AppError::Integrity("entrée n° 42 falsifiée".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
                "integrite",
            ),
            (
                AppError::io(
                    "/srv/parcours/entrepot",
                    std::io::Error::other("disque plein"),
                ),
                StatusCode::INTERNAL_SERVER_ERROR,
                "fichier",
            ),
        ]
    }

    /// The OpenAPI document names every error code and every rule code the API can answer.
    #[test]
    fn the_openapi_document_lists_every_error_and_rule_code() {
        let doc: serde_json::Value = serde_json::from_str(crate::openapi::document()).unwrap();
        let schema = &doc["components"]["schemas"]["Erreur"]["properties"];
        let listed = |k: &str| -> Vec<String> {
            schema[k]["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        let codes = listed("code");
        for (e, _, code) in every_variant() {
            assert!(
                codes.iter().any(|c| c == code),
                "{code} ({e:?}) missing from openapi.json"
            );
        }
        let rules = listed("regle");
        for r in parcours_app::Rule::ALL {
            assert!(
                rules.iter().any(|c| c == r.code()),
                "{} missing from openapi.json",
                r.code()
            );
        }
    }

    #[tokio::test]
    async fn each_error_has_its_status_code_and_hides_internal_details() {
        for (e, st, code) in every_variant() {
            assert_eq!(status(&e), st, "{code}");
            assert_eq!(e.code(), code);
            let internal = st == StatusCode::INTERNAL_SERVER_ERROR;
            let detail = e.to_string();
            let r = WebError::new(e, &req(true)).into_response();
            assert_eq!(r.status(), st, "{code}");
            let body: serde_json::Value =
                serde_json::from_slice(&to_bytes(r.into_body(), usize::MAX).await.unwrap())
                    .unwrap();
            assert_eq!(body["code"], code);
            assert_eq!(body["request_id"], "req-123");
            let message = body["message"].as_str().unwrap();
            assert!(!message.is_empty());
            if internal {
                for secret in ["SELECT", "42", "/srv", "disque"] {
                    assert!(
                        !message.contains(secret),
                        "{code}: internal detail in the answer: {message} ({detail})"
                    );
                }
            }
            if code == "validation" {
                assert_eq!(body["champs"][0]["field"], "nom", "{body}");
            }
            if code == "refuse" {
                assert_eq!(body["regle"], "deja_fait", "the rule's code: {body}");
            } else {
                assert!(body.get("regle").is_none(), "{body}");
            }
        }
    }

    #[tokio::test]
    async fn pages_get_a_french_page_and_the_login_page_for_no_session() {
        let r = WebError::new(AppError::Unauthenticated, &req(false)).into_response();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/connexion");
        let r = WebError::new(AppError::Internal("détail".into()), &req(false)).into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let html =
            String::from_utf8(to_bytes(r.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
        assert!(html.contains("req-123") && html.contains("Erreur interne"));
        assert!(!html.contains("détail"));
    }
}
