//! Property test of the JSON API against its OpenAPI document (issue 17): every operation the
//! document lists is called, as a conseiller, a directrice and a DPO, with inputs generated from
//! its schema — plausible values, hostile strings, wrong types, missing and extra fields,
//! bodies that are not objects, path ids of the caller's own data, of another structure's and
//! garbage. No answer may be a 5xx; every refusal is the API's JSON error shape; the sessions
//! are still usable at the end (the generator did not just get itself locked out).
//! Deterministic (fixed seed): a failure prints the request that caused it.

use crate::support::*;
use axum::http::{Method, StatusCode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Calls per operation and role.
const CASES: usize = 12;

const HOSTILE: &[&str] = &[
    "",
    " ",
    "'; DROP TABLE jeunes; --",
    "<script>alert(1)</script>",
    "\u{0}",
    "../../../etc/passwd",
    "%00",
    "😀🇫🇷",
    "\u{202e}gnp.exe",
    "2026-02-30",
    "9999-99-99",
    "-1",
    "99999999999999999999999",
    "NaN",
    "1e309",
    "null",
    "2026-13",
    "FR76 3000 6000 0112 3456 7890 180",
];

struct Ids {
    mine: Vec<String>,
    theirs: Vec<String>,
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, v: &'a [T]) -> &'a T {
    &v[rng.random_range(0..v.len())]
}

fn hostile(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..10) {
        0 => "x".repeat(rng.random_range(1000..20_000)),
        1 => (0..rng.random_range(1..40))
            .map(|_| char::from_u32(rng.random_range(1..0x2FFFF)).unwrap_or('?'))
            .collect(),
        _ => pick(rng, HOSTILE).to_string(),
    }
}

/// A plausible value for a field, by its name (so that deeper code runs), else hostile.
fn plausible(rng: &mut ChaCha8Rng, name: &str, ids: &Ids) -> Value {
    let today = chrono::Utc::now().date_naive();
    let s = match name {
        n if n.starts_with("date") => today.format("%Y-%m-%d").to_string(),
        "mois" => today.format("%Y-%m").to_string(),
        "heure" => "10:30".into(),
        "iban" => "FR76 3000 6000 0112 3456 7890 189".into(),
        "siret" => "120 027 016 00019".into(),
        "sexe" => pick(rng, &["F", "M"]).to_string(),
        "duree" | "montant_demande" | "revenus" => rng.random_range(0..2000).to_string(),
        n if n.contains("jeune") || n == "entreprise" || n == "dossier" || n == "id" => {
            pick(rng, &ids.mine).clone()
        }
        _ => pick(
            rng,
            &[
                "Martin",
                "entretien_individuel",
                "cej",
                "pacea",
                "logement",
                "ok",
            ],
        )
        .to_string(),
    };
    Value::String(s)
}

fn wrong_type(rng: &mut ChaCha8Rng) -> Value {
    pick(
        rng,
        &[
            Value::Null,
            json!(true),
            json!(i64::MAX),
            json!(-1),
            json!(1.5e308),
            json!([]),
            json!({}),
            json!([1, "a", null]),
            json!({"$ne": null}),
        ],
    )
    .clone()
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn value(rng: &mut ChaCha8Rng, doc: &Value, schema: &Value, name: &str, ids: &Ids) -> Value {
    let schema = resolve(doc, schema);
    if rng.random_bool(0.15) {
        return wrong_type(rng);
    }
    if let Some(e) = schema["enum"].as_array() {
        if rng.random_bool(0.7) && !e.is_empty() {
            return pick(rng, e).clone();
        }
    }
    // A flattened body (`allOf`): the union of its parts' fields.
    if let Some(parts) = schema["allOf"].as_array() {
        let mut m = serde_json::Map::new();
        for p in parts {
            if let Value::Object(o) = value(rng, doc, p, name, ids) {
                m.extend(o);
            }
        }
        return Value::Object(m);
    }
    // One of several shapes (an `Option` of a schema): any of them.
    if let Some(alts) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        if !alts.is_empty() {
            let alt = pick(rng, alts);
            return value(rng, doc, alt, name, ids);
        }
    }
    // OpenAPI 3.1 writes a nullable type as a list: `["integer", "null"]`.
    let ty = match &schema["type"] {
        Value::Array(types) => types
            .iter()
            .filter_map(|t| t.as_str())
            .find(|t| *t != "null")
            .unwrap_or("string"),
        t => t.as_str().unwrap_or(if schema["properties"].is_object() {
            "object"
        } else {
            "string"
        }),
    };
    match ty {
        "object" => {
            let mut m = serde_json::Map::new();
            if let Some(props) = schema["properties"].as_object() {
                for (k, s) in props {
                    if rng.random_bool(0.85) {
                        m.insert(k.clone(), value(rng, doc, s, k, ids));
                    }
                }
            }
            if rng.random_bool(0.1) {
                m.insert("champ_inconnu".into(), json!(hostile(rng)));
            }
            Value::Object(m)
        }
        "array" => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| value(rng, doc, &schema["items"], name, ids))
                .collect(),
        ),
        "integer" | "number" => {
            json!(*pick(
                rng,
                &[0i64, 1, -1, 7, 52, 100_000, i64::MAX, i64::MIN]
            ))
        }
        "boolean" => json!(rng.random_bool(0.5)),
        _ => {
            if rng.random_bool(0.6) {
                plausible(rng, name, ids)
            } else {
                Value::String(hostile(rng))
            }
        }
    }
}

fn path_param(rng: &mut ChaCha8Rng, ids: &Ids) -> String {
    match rng.random_range(0..6) {
        0..=2 => pick(rng, &ids.mine).clone(),
        3 => pick(rng, &ids.theirs).clone(),
        4 => uuid_like(rng),
        _ => hostile(rng),
    }
}

fn uuid_like(rng: &mut ChaCha8Rng) -> String {
    let h = format!("{:032x}", rng.random::<u128>());
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Every operation of the document: (method, path template, operation).
fn operations(doc: &Value) -> Vec<(Method, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (m, op) in item.as_object().unwrap() {
            let method = match m.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "delete" => Method::DELETE,
                "patch" => Method::PATCH,
                _ => continue,
            };
            // The session's own endpoints would log the fuzzer out: their hostile input is
            // the A5/A6 acceptance tests' subject.
            if path.starts_with("/api/v1/session") {
                continue;
            }
            let mut op = op.clone();
            if let Some(common) = item["parameters"].as_array() {
                let mut all = common.clone();
                all.extend(op["parameters"].as_array().cloned().unwrap_or_default());
                op["parameters"] = Value::Array(all);
            }
            out.push((method, path.clone(), op));
        }
    }
    out
}

async fn fuzz(
    c: &mut Client,
    role: &str,
    doc: &Value,
    ids: &Ids,
    rng: &mut ChaCha8Rng,
    seen: &mut BTreeMap<u16, usize>,
) {
    for (method, template, op) in operations(doc) {
        for _ in 0..CASES {
            let mut uri = template.clone();
            let mut query = Vec::new();
            for p in op["parameters"].as_array().cloned().unwrap_or_default() {
                let name = p["name"].as_str().unwrap();
                if p["in"] == "path" {
                    let v = if name == "n" {
                        pick(rng, &["1", "2", "0", "-1", "99999999999999999999", "x"]).to_string()
                    } else {
                        path_param(rng, ids)
                    };
                    uri = uri.replace(&format!("{{{name}}}"), &enc(&v));
                } else if p["in"] == "query" && rng.random_bool(0.7) {
                    let v = match value(rng, doc, &p["schema"], name, ids) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    query.push(format!("{}={}", enc(name), enc(&v)));
                }
            }
            if !query.is_empty() {
                uri = format!("{uri}?{}", query.join("&"));
            }
            let body = op["requestBody"]["content"]["application/json"]["schema"].clone();
            let mut sent = Vec::new();
            let r = if body.is_null() {
                c.send(method.clone(), &uri, None, vec![]).await
            } else {
                let bytes = match rng.random_range(0..20) {
                    0 => b"{\"kind\": ".to_vec(),
                    1 => vec![0xff, 0xfe, b'{', b'}'],
                    2 => json!([hostile(rng)]).to_string().into_bytes(),
                    _ => value(rng, doc, &body, "", ids).to_string().into_bytes(),
                };
                sent = bytes.iter().take(300).copied().collect();
                c.send(method.clone(), &uri, Some("application/json"), bytes)
                    .await
            };
            *seen.entry(r.status.as_u16()).or_default() += 1;
            let shown: String = uri.chars().take(300).collect();
            assert!(
                !r.status.is_server_error(),
                "{role}: {method} {shown} with {} answered {}: {}",
                String::from_utf8_lossy(&sent),
                r.status,
                r.body
            );
            if r.status.is_client_error() && r.status != StatusCode::NOT_FOUND {
                let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|_| {
                    panic!(
                        "{role}: {method} {shown}: a {} that is not JSON: {}",
                        r.status, r.body
                    )
                });
                assert!(
                    v["code"].is_string(),
                    "{role}: {method} {shown}: a {} without a code: {}",
                    r.status,
                    r.body
                );
            }
        }
    }
}

per_backend! {
#[tokio::test]
async fn every_documented_operation_survives_generated_hostile_input(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_ml_b();
    inst.add_user("conseiller.b", "conseiller", Some("ML-B"));
    inst.add_user("directrice.a", "directeur", Some("ML-A"));
    inst.add_user("dpo.national", "dpo", None);
    inst.ok(&["import", "jeunes", "--structure", "ML-A", &format!("{FIXTURES}/valid.csv")]);
    // Generous thresholds: the subject here is the input, not the quotas (their own tests
    // exceed them); a frozen session would only test the freeze.
    inst.ok(&[
        "vigilance", "seuils", "--fenetre-dossiers", "100000", "--sondes", "100000",
        "--recherches", "100000",
    ]);
    let app = inst.app().await;
    let doc: Value = serde_json::from_str(
        &Client::new(app.clone()).get("/api/v1/openapi.json").await.body,
    )
    .unwrap();
    let mut c = Client::new(app.clone());
    let secret = c.login("conseiller.a", None, 0).await;
    let mut mine = Vec::new();
    for (nom, prenom, sexe) in [("Payet", "Océane", "F"), ("Santoni", "Lisa", "F"), ("Nguyen", "Bao", "M")] {
        mine.push(new_jeune(&mut c, nom, prenom, sexe).await);
    }
    let found = c.get("/api/v1/jeunes/recherche?nom=santoni").await.json();
    for d in found["dossiers"].as_array().unwrap() {
        mine.push(d["id"].as_str().unwrap().to_string());
    }
    let co = c
        .json(Method::POST, "/api/v1/entreprises", json!({"siret": "120 027 016 00019", "nom": "Boulangerie"}))
        .await;
    mine.push(co.json()["id"].as_str().unwrap().to_string());
    let mut other = Client::new(app.clone());
    other.login("conseiller.b", None, 0).await;
    let theirs = vec![new_jeune(&mut other, "Ailleurs", "Inès", "F").await];
    let ids = Ids { mine, theirs };

    // PARCOURS_FUZZ_SEED explores other inputs locally; CI keeps the fixed one.
    let seed = std::env::var("PARCOURS_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(17);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen = BTreeMap::new();
    fuzz(&mut c, "conseiller", &doc, &ids, &mut rng, &mut seen).await;
    let mut d = Client::new(app.clone());
    d.login("directrice.a", None, 0).await;
    fuzz(&mut d, "directrice", &doc, &ids, &mut rng, &mut seen).await;
    let mut p = Client::new(app.clone());
    p.login("dpo.national", None, 0).await;
    fuzz(&mut p, "dpo", &doc, &ids, &mut rng, &mut seen).await;
    eprintln!("{b}: answers by status {seen:?}");
    let ok: usize = seen.iter().filter(|(s, _)| **s < 300).map(|(_, n)| n).sum();
    assert!(ok * 20 >= seen.values().sum::<usize>(), "{b}: fewer than 5 % accepted, the generator tests little: {seen:?}");
    // Still usable: nobody was locked out by the generated input.
    let _ = secret;
    assert_eq!(c.get("/api/v1/portefeuille").await.status, StatusCode::OK, "{b}");
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    assert_eq!(d.get(&format!("/api/v1/allocations?mois={month}")).await.status, StatusCode::OK, "{b}");
    assert!(inst.run(&["audit", "verify"]).status.success(), "{b}");
}
}
