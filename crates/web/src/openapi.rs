//! The OpenAPI document of `/api/v1`, generated (issue 17): each operation is the
//! `#[utoipa::path]` attribute beside its handler, and its request body and query parameters
//! are the handler's own types (`ToSchema`, `IntoParams`), so the document cannot describe a
//! body the handler does not take. What is not an operation — the title, the description, the
//! error shape with its stable codes — is `openapi_base.json`. Tests: every route of the router
//! is documented and every documented path is routed (`sessions_cookies_headers_and_openapi`),
//! every error and rule code is listed (`error.rs`), and the property test fuzzes every
//! operation from this document.

use std::sync::OnceLock;
use utoipa::OpenApi;

/// The error answer (its schema in the document is `openapi_base.json`'s `Erreur`, which
/// lists the stable codes).
#[derive(utoipa::ToSchema)]
#[schema(as = Erreur)]
#[allow(dead_code)]
pub struct ApiError {
    code: String,
    message: String,
}

#[derive(OpenApi)]
#[openapi(paths(
    crate::api::login,
    crate::api::logout,
    crate::api::code,
    crate::api::enrol_start,
    crate::api::enrol_confirm,
    crate::api::structures,
    crate::api::list,
    crate::api::create,
    crate::api::search,
    crate::api::show,
    crate::api::update,
    crate::api::openapi,
    crate::api_work::caseload,
    crate::api_work::dossier,
    crate::api_work::situation,
    crate::api_work::situation_history,
    crate::api_work::legal_rep,
    crate::api_work::transfer,
    crate::api_work::add_entry,
    crate::api_work::entry_status,
    crate::api_work::enter_programme,
    crate::api_work::extend_programme,
    crate::api_work::record_week,
    crate::api_work::preview_allowance,
    crate::api_work::decide_allowance,
    crate::api_work::set_iban,
    crate::api_work::month_allowances,
    crate::api_work::batch,
    crate::api_work::companies,
    crate::api_work::create_company,
    crate::api_work::company,
    crate::api_work::add_contact,
    crate::api_work::add_offer,
    crate::api_work::create_immersion,
    crate::api_work::immersion_status,
    crate::api_work::workshops,
    crate::api_work::create_workshop,
    crate::api_work::register,
    crate::api_work::add_phase,
    crate::api_work::evaluate_phase,
    crate::api_work::set_nir,
    crate::api_work::reveal_nir,
    crate::incident::request_api,
    crate::incident::report_api,
    crate::incident::access_request_api,
    crate::incident::access_api,
    crate::incident::erasure_api,
    crate::vigilance::alerts_api,
    crate::vigilance::review_api,
    crate::vigilance::unfreeze_api,
    crate::vigilance::referent_api,
    crate::vigilance::referent_history_api,
    crate::vigilance::quota_api,
    crate::vigilance::break_glass_api,
    crate::vigilance::set_quota_api,
    crate::approvals::batch_request_api,
    crate::approvals::batch_file_api,
    crate::approvals::account_api,
    crate::approvals::reset_api,
    crate::approvals::role_api,
    crate::approvals::requests_api,
    crate::approvals::approve_api,
    crate::approvals::refuse_api,
    crate::approvals::link_api,
    crate::approvals::confirm_api,
    crate::account::password_api,
    crate::account::sessions_api,
    crate::account::end_api,
    crate::account::activity_api,
    crate::account::disable_api,
    crate::account::enable_api,
    crate::account::revoke_api,
    crate::pilotage::api_token
))]
struct ApiDoc;

/// The document as served at `/api/v1/openapi.json` (built once).
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        match serde_json::to_value(ApiDoc::openapi()) {
            Ok(generated) => merge(generated).to_string(),
            // Cannot happen with the derive's types; if it did, say so rather than serve an
            // empty document silently.
            Err(e) => {
                tracing::error!(error = %e, "document OpenAPI non sérialisable");
                String::from("{}")
            }
        }
    })
}

/// The family of an operation, from its handler's module.
fn tag(module: &str) -> &'static str {
    match module.trim_start_matches("crate::") {
        "api" => "Session et dossiers",
        "api_work" => "Travail quotidien",
        "vigilance" => "Vigilance",
        "account" => "Comptes",
        "approvals" => "Quatre yeux",
        "incident" => "Après une fuite",
        "pilotage" => "Pilotage",
        _ => "Autres",
    }
}

/// The generated paths and schemas, inside the hand-written frame (info, error shape).
fn merge(generated: serde_json::Value) -> serde_json::Value {
    let mut doc: serde_json::Value = serde_json::from_str(include_str!("openapi_base.json"))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "openapi_base.json illisible");
            serde_json::Value::Object(Default::default())
        });
    doc["openapi"] = generated["openapi"].clone();
    doc["paths"] = generated["paths"].clone();
    // utoipa tags each operation with its handler's module: name the families in French.
    // Every operation may also answer any error of the API — not connected, not allowed, not
    // found, invalid, frozen, over quota, database unavailable, disk full — always in the
    // `Erreur` shape, whose `code` says which: that is the `default` answer of each.
    let default = serde_json::json!({
        "description": "Erreur : le champ `code` dit laquelle (voir le schéma Erreur), `message` l'explique en français.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Erreur"}}}
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        for op in paths.values_mut().filter_map(|p| p.as_object_mut()) {
            for o in op.values_mut() {
                let module = o["tags"][0].as_str().unwrap_or_default().to_string();
                o["tags"] = serde_json::json!([tag(&module)]);
                if let Some(responses) = o["responses"].as_object_mut() {
                    responses
                        .entry("default")
                        .or_insert_with(|| default.clone());
                }
                // What the control-character guard refuses before any handler (lib.rs): no
                // control character in a path segment, no NUL in a query value.
                // (`get_mut`: indexing a JSON map mutably would insert a null where nothing was.)
                let params = o.get_mut("parameters").and_then(|v| v.as_array_mut());
                for p in params.into_iter().flatten() {
                    let pattern = match p["in"].as_str() {
                        Some("path") => "^[^\\u0000-\\u001f\\u007f]*$",
                        Some("query") => "^[^\\u0000]*$",
                        _ => continue,
                    };
                    if let Some(schema) = p.get_mut("schema").and_then(|v| v.as_object_mut()) {
                        if schema.get("type").and_then(|t| t.as_str()) == Some("string") {
                            schema
                                .entry("pattern")
                                .or_insert_with(|| serde_json::json!(pattern));
                        }
                    }
                }
            }
        }
    }
    if let Some(schemas) = generated["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            // The frame's error schema (with its enums of codes) wins over the generated stub.
            if doc["components"]["schemas"].get(name).is_none() {
                doc["components"]["schemas"][name] = schema.clone();
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The generated document is OpenAPI, every operation has its answers, and a body the
    /// handler takes is described by the handler's own type (a reference to its schema).
    #[test]
    fn the_generated_document_describes_the_handlers_types() {
        let doc: serde_json::Value = serde_json::from_str(super::document()).unwrap();
        if let Ok(p) = std::env::var("PARCOURS_DUMP_OPENAPI") {
            std::fs::write(p, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        }
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() > 60, "{} paths", paths.len());
        let entry = &doc["paths"]["/api/v1/jeunes/{id}/entrees"]["post"];
        let body = &entry["requestBody"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(body, "#/components/schemas/EntryInput");
        let schema = &doc["components"]["schemas"]["EntryInput"]["properties"];
        for field in ["kind", "date", "date_fin", "note"] {
            assert!(schema.get(field).is_some(), "EntryInput lacks {field}");
        }
        assert!(doc["components"]["schemas"]["Erreur"]["properties"]["code"]["enum"].is_array());
        assert_eq!(entry["tags"][0], "Travail quotidien");
        // Every operation documents its error answers.
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                assert_eq!(
                    op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Erreur",
                    "{method} {path}"
                );
            }
        }
    }
}
