//! Bad input gets a 4xx problem+json, never a 500.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

async fn raw(app: &TestApp, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> Response {
    let mut req = app.client.post(format!("{}/api/v1/auth/token", app.address)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(serde_json::Value::Null);
    Response { status, headers, body }
}

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    raw(&app, Some("application/json"), "{\"email\": ").await.problem(400, "malformed_json");
    raw(&app, Some("application/json"), "not json").await.problem(400, "malformed_json");
}

#[actix_web::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app().await;
    raw(&app, Some("text/plain"), "{}").await.problem(415, "unsupported_media_type");
    raw(&app, None, "{}").await.problem(415, "unsupported_media_type");
}

#[actix_web::test]
async fn unknown_and_missing_fields_are_named() {
    let app = spawn_app().await;
    let p = raw(&app, Some("application/json"), r#"{"email":"a@b.no","password":"x","admin":true}"#)
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["field"], "admin");
    assert_eq!(p["fields"][0]["code"], "unknown_field");
    let p = raw(&app, Some("application/json"), r#"{"email":"a@b.no"}"#).await.problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["field"], "password");
    assert_eq!(p["fields"][0]["code"], "required");
}

#[actix_web::test]
async fn oversized_body_is_413() {
    let app = spawn_app_with(|c| c.max_body_bytes = 1024).await;
    let big = format!(r#"{{"email":"a@b.no","password":"{}"}}"#, "x".repeat(4096));
    raw(&app, Some("application/json"), big).await.problem(413, "payload_too_large");
}

#[actix_web::test]
async fn unknown_route_and_wrong_method_are_problems() {
    let app = spawn_app().await;
    app.request(Method::GET, "/api/v1/nothing-here", None, None).await.problem(404, "unknown_route");
    app.request(Method::DELETE, "/api/v1/categories", None, None).await.problem(405, "method_not_allowed");
}

#[actix_web::test]
async fn bad_query_parameter_is_400() {
    let app = spawn_app().await;
    let token = app.login(ADMIN).await;
    app.get("/api/v1/organisations?include_inactive=maybe", &token).await.problem(400, "invalid_query");
}

#[actix_web::test]
async fn bodies_must_be_objects_and_optional_bodies_must_still_parse() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let p =
        app.act(&advisor, &id, "acknowledge", &serde_json::json!([null, null])).await.problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["code"], "not_an_object");
    app.act(&advisor, &id, "answer", &serde_json::json!({"answer": "Svar"})).await.expect(200);
    // A close with a malformed note is refused, not read as "no note".
    let p = app.act(&nurse, &id, "close", &serde_json::json!({"note": {}})).await.problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["code"], "invalid_type");
    // With no body at all, close works.
    let resp = app
        .client
        .post(format!("{}/api/v1/deviations/{id}/close", app.address))
        .bearer_auth(&nurse)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// A value of the wrong shape is named by its field, in whatever depth, and never repeated back.
#[actix_web::test]
async fn a_malformed_id_or_type_names_its_field_without_repeating_the_value() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let mut body = form("01017000027");
    let problem = app.post("/api/v1/deviations", &nurse, &body).await.problem(422, "validation_failed");
    assert_eq!(problem["fields"][0]["field"], "recipient_organisation_id");
    assert_eq!(problem["fields"][0]["code"], "invalid_id");
    assert!(!problem.to_string().contains("01017000027"), "{problem}");

    body = form(app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap());
    body["handover_related"] = "ja".into();
    let problem = app.post("/api/v1/deviations", &nurse, &body).await.problem(422, "validation_failed");
    assert_eq!(
        (problem["fields"][0]["field"].as_str(), problem["fields"][0]["code"].as_str()),
        (Some("handover_related"), Some("invalid_type"))
    );

    let rules = serde_json::json!({ "rules": [{ "category": "medication", "unit_id": "avd-7" }] });
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let org = app.me_org(&advisor).await;
    let problem = app
        .request(Method::PUT, &format!("/api/v1/organisations/{org}/routing"), Some(&advisor), Some(&rules))
        .await
        .problem(422, "validation_failed");
    assert_eq!(problem["fields"][0]["field"], "rules[0].unit_id");
}

/// Every refusal a case action can give names the field in words a nurse reads: no code, no
/// snake_case, a sentence. (The form's own messages are checked the same way in deviations::form.)
#[actix_web::test]
async fn no_error_of_a_case_action_shows_a_code() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let long = "x".repeat(2001);
    let nobody = "0190a1b2-0000-7000-8000-000000000000";
    let tries = [
        (&advisor, "acknowledge", json!({"unit_id": nobody})),
        (&advisor, "acknowledge", json!({"handler_id": nobody})),
        (&advisor, "acknowledge", json!({"note": long})),
        (&advisor, "acknowledge", json!({"category": "medisinering"})),
        (&advisor, "forward", json!({"organisation_id": "", "reason": ""})),
        (&advisor, "forward", json!({"organisation_id": nobody, "reason": "Feil mottaker."})),
        (&advisor, "reject", json!({"reason": " "})),
        (&advisor, "answer", json!({"answer": "", "actions": long})),
        (&nurse, "comments", json!({"text": ""})),
    ];
    let codes =
        ["deviation", "harm", "low", "severe", "submitted", "answered", "closed", "required", "length", "email"];
    let mut messages = vec![];
    for (who, action, body) in tries {
        let problem = app.act(who, &id, action, &body).await.problem(422, "validation_failed");
        for f in problem["fields"].as_array().unwrap() {
            messages.push((action, f["field"].clone(), f["message"].as_str().unwrap().to_owned()));
        }
    }
    assert!(messages.len() >= 10, "{messages:?}");
    for (action, field, m) in &messages {
        let words: Vec<&str> = m.split(|c: char| !c.is_alphanumeric() && c != '_').collect();
        assert!(!m.contains('_') && !words.iter().any(|w| codes.contains(w)), "{action} {field}: a code in «{m}»");
        assert!(m.ends_with('.') && m.chars().next().is_some_and(char::is_uppercase), "{action} {field}: «{m}»");
    }
    // Nothing was half done: the case is as it was sent.
    let d = app.get(&format!("/api/v1/deviations/{id}"), &nurse).await.expect(200);
    assert_eq!((d["status"].as_str(), d["reported_category"].is_null()), (Some("submitted"), true));
}
