//! The code is held to `openapi.yaml`: every response the suite sees is validated against the
//! spec's schema for its route and status, every operation in the spec is routed, and every route
//! the app registers is in the spec.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::Value;

use crate::helpers::*;

pub static SPEC: LazyLock<Value> = LazyLock::new(|| {
    let yaml = include_str!("../../openapi.yaml");
    serde_norway::from_str(yaml).expect("openapi.yaml parses")
});

static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = LazyLock::new(Default::default);

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The spec path template matching a concrete path, e.g. /api/v1/deviations/{id}.
pub fn template_for(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    let paths = SPEC["paths"].as_object().unwrap();
    // Prefer literal segments over parameters (so /deviations/x/events never matches /deviations/{id}).
    let mut candidates: Vec<&String> = paths
        .keys()
        .filter(|t| {
            let ts: Vec<&str> = t.split('/').collect();
            ts.len() == segments.len() && ts.iter().zip(&segments).all(|(t, s)| segment_matches(t, s))
        })
        .collect();
    candidates.sort_by_key(|t| t.matches('{').count());
    candidates.first().map(|t| t.to_string())
}

/// A template segment matches a parameter with its literal suffix ({tertial}.csv), or itself.
fn segment_matches(template: &str, segment: &str) -> bool {
    match template.strip_prefix('{').and_then(|t| t.split_once('}')) {
        Some((_, suffix)) => segment.len() > suffix.len() && segment.ends_with(suffix),
        None => template == segment,
    }
}

fn validator(pointer: &str) -> Arc<jsonschema::Validator> {
    let mut cache = VALIDATORS.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(pointer.to_owned())
        .or_insert_with(|| {
            let mut doc = SPEC.clone();
            // A URI fragment: braces of path templates must be percent-encoded.
            doc["$ref"] = Value::String(format!("#{}", pointer.replace('{', "%7B").replace('}', "%7D")));
            Arc::new(jsonschema::draft202012::new(&doc).unwrap_or_else(|e| panic!("schema at {pointer}: {e}")))
        })
        .clone()
}

/// Panics when a response does not match what the spec says for its route and status.
pub fn check_response(method: &str, path: &str, status: u16, content_type: &str, body: &Value) {
    let path = path.split('?').next().unwrap();
    let Some(template) = template_for(path) else {
        assert_eq!(body["code"], "unknown_route", "{path} answered {status} but is not in openapi.yaml");
        return;
    };
    let method = method.to_lowercase();
    let operation = &SPEC["paths"][&template][&method];
    if operation.is_null() {
        assert_eq!(status, 405, "{method} {template} answered {status} but is not in openapi.yaml");
        return;
    }
    let mut pointer = format!("/paths/{}/{method}/responses/{status}", escape(&template));
    let mut response = &operation["responses"][status.to_string()];
    assert!(!response.is_null(), "{method} {template}: status {status} is not documented; body {body}");
    if let Some(r) = response["$ref"].as_str() {
        pointer = r.trim_start_matches('#').to_owned();
        response = SPEC.pointer(&pointer).unwrap();
    }
    let Some(content) = response["content"].as_object() else {
        return;
    };
    let media = content_type.split(';').next().unwrap_or("").trim();
    assert!(content.contains_key(media), "{method} {template} {status}: content type {media} not in the spec");
    if media.contains("json") {
        let v = validator(&format!("{pointer}/content/{}/schema", escape(media)));
        let errors: Vec<String> = v.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(
            errors.is_empty(),
            "{method} {template} {status} does not match openapi.yaml:\n{}\nbody: {body}",
            errors.join("\n")
        );
    }
}

#[actix_web::test]
async fn every_operation_in_the_spec_is_routed() {
    let app = spawn_app().await;
    let mut count = 0;
    for (template, ops) in SPEC["paths"].as_object().unwrap() {
        let path = template.replace("{id}", &uuid::Uuid::new_v4().to_string()).replace("{tertial}", "1999-T1");
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = app.client.request(m, format!("{}{path}", app.address)).send().await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert!(
                status != 405 && body["code"] != "unknown_route",
                "{method} {template} is in the spec but not routed"
            );
            count += 1;
        }
    }
    assert!(count >= 32, "only {count} operations found");
}

/// Every `web::resource("…")` in src/api/mod.rs with its methods, as the app registers them.
fn registered_routes() -> BTreeSet<(String, String)> {
    let source = include_str!("../../src/api/mod.rs");
    let resource =
        regex::Regex::new(r#"web::resource\("([^"]+)"\)((?:\s*\.(?:wrap|route|app_data)\((?:[^()]|\([^()]*\))*\))*)"#)
            .unwrap();
    let method = regex::Regex::new(r"\.route\((get|post|put|patch|delete)\(\)").unwrap();
    let top_level = ["/health", "/ready", "/metrics", "/openapi.yaml", "/docs"];
    resource
        .captures_iter(source)
        .flat_map(|c| {
            let path = c[1].to_owned();
            let top = top_level.iter().any(|t| path == *t || path.starts_with(&format!("{t}/")));
            let full = if top { path } else { format!("/api/v1{path}") };
            method.captures_iter(&c[2]).map(move |m| (m[1].to_owned(), full.clone())).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_registered_route_is_in_the_spec() {
    let routes = registered_routes();
    assert!(routes.len() >= 27, "the route scan found only {routes:?}");
    let spec: BTreeSet<(String, String)> = SPEC["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| (m.clone(), p.clone())))
        .collect();
    let missing: Vec<_> = routes.difference(&spec).collect();
    assert!(missing.is_empty(), "routes without an openapi.yaml entry: {missing:?}");
    let unrouted: Vec<_> = spec.difference(&routes).collect();
    assert!(unrouted.is_empty(), "openapi.yaml operations the source does not register: {unrouted:?}");
}

/// The form's optional answers are defined once in code (`form::DETAILS`); the contract must offer
/// each of them, as strict as the server, in the form and in every deviation read back.
#[test]
fn every_optional_answer_of_the_form_is_in_the_contract() {
    let schemas = &SPEC["components"]["schemas"];
    for detail in samavvik::deviations::form::DETAILS {
        let asked = &schemas["NewDeviation"]["properties"][detail.name];
        assert_eq!(asked["maxLength"], detail.max, "NewDeviation.{} maxLength", detail.name);
        assert!(schemas["Deviation"]["properties"][detail.name].is_object(), "Deviation.{}", detail.name);
        let required = schemas["Deviation"]["required"].as_array().unwrap();
        assert!(required.iter().any(|r| r == detail.name), "Deviation requires {}", detail.name);
    }
}

/// Every problem code and field error code the server can produce is one the contract lists, so a
/// generated client can switch on them. Read from the source, where each is written once.
#[test]
fn every_error_code_in_the_source_is_in_the_contract() {
    let listed = |schema: &str| -> BTreeSet<String> {
        SPEC["components"]["schemas"][schema]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let (problems, fields) = (listed("ProblemCode"), listed("FieldErrorCode"));
    let problem_at =
        regex::Regex::new(r#"(?:ApiError::new\(\s*[^,]+,|(?:bad_request|unauthorized|conflict)\()\s*"([a-z_]+)""#)
            .unwrap();
    let field_at = regex::Regex::new(r#"(?:ApiError::field|\.add|FieldError::new)\(\s*[^,]+,\s*"([a-z_]+)""#).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src")).unwrap().flatten().flat_map(walk) {
        // Only what the service answers: not unit tests, not the CLI's generators.
        let source = std::fs::read_to_string(&entry).unwrap();
        let source = source.split("#[cfg(test)]").next().unwrap();
        if ["generate.rs", "bench.rs", "seed.rs"].iter().any(|f| entry.ends_with(f)) {
            continue;
        }
        for c in problem_at.captures_iter(source) {
            assert!(problems.contains(&c[1]), "problem code {} ({}) is not in ProblemCode", &c[1], entry.display());
            seen += 1;
        }
        for c in field_at.captures_iter(source) {
            assert!(fields.contains(&c[1]), "field code {} ({}) is not in FieldErrorCode", &c[1], entry.display());
            seen += 1;
        }
    }
    assert!(seen > 60, "the scan found only {seen} codes");
}

fn walk(entry: std::fs::DirEntry) -> Vec<std::path::PathBuf> {
    let path = entry.path();
    if path.is_dir() {
        std::fs::read_dir(&path).unwrap().flatten().flat_map(walk).collect()
    } else {
        vec![path].into_iter().filter(|p| p.extension().is_some_and(|e| e == "rs")).collect()
    }
}
