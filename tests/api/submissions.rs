//! Submitting: validation, the national-id guard, idempotency and gap-free references.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn validation_names_every_bad_field_in_norwegian() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let mut body = form(stolav["id"].as_str().unwrap());
    body["kind"] = json!("klage");
    body["harm_class"] = json!("harm");
    body["description"] = json!("");
    body["occurred_at"] = json!("i går");
    let p = app.post("/api/v1/deviations", &nurse, &body).await.problem(422, "validation_failed");
    let fields: BTreeSet<&str> = p["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, BTreeSet::from(["kind", "harm_level", "description", "occurred_at"]));
    assert!(p["fields"].as_array().unwrap().iter().all(|f| !f["message"].as_str().unwrap().is_empty()));

    let mut own = form(&app.me_org(&nurse).await);
    own["category"] = json!("discharge");
    let p = app.post("/api/v1/deviations", &nurse, &own).await.problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["code"], "same_organisation");

    let mut unknown = form(stolav["id"].as_str().unwrap());
    unknown["category"] = json!("weather");
    let p = app.post("/api/v1/deviations", &nurse, &unknown).await.problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["field"], "category");

    let list = app.get("/api/v1/deviations", &nurse).await.expect(200);
    assert!(ids(&list).is_empty(), "refused submissions left rows behind");
}

#[actix_web::test]
async fn national_id_is_refused_in_every_free_text_field() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap().to_owned();
    let id = fnr();
    let spaced = format!("{} {}", &id[..6], &id[6..]);
    for field in ["description", "immediate_actions", "suggested_improvement", "agreement_reference"] {
        let mut body = form(&stolav);
        body[field] = json!(format!("Gjelder pasient {spaced}."));
        let p = app.post("/api/v1/deviations", &nurse, &body).await.problem(422, "national_id_in_text");
        assert_eq!(p["fields"][0]["field"], field);
        assert!(p["detail"].as_str().unwrap().contains("fødselsnummer"));
        assert!(!p.to_string().contains(&id[6..]), "the number is echoed back");
    }
    let dev = app.submit(&nurse, &form(&stolav)).await["id"].as_str().unwrap().to_owned();
    let text = format!("fnr {id}");
    let cases = [
        ("answer", json!({"answer": text}), "answer"),
        ("answer", json!({"answer": "Ok", "actions": text}), "actions"),
        ("reject", json!({"reason": text}), "reason"),
        ("forward", json!({"organisation_id": stolav, "reason": text}), "reason"),
        ("acknowledge", json!({"note": text}), "note"),
        ("comments", json!({"text": text}), "text"),
    ];
    for (action, body, field) in cases {
        let p = app.act(&advisor, &dev, action, &body).await.problem(422, "national_id_in_text");
        assert_eq!(p["fields"][0]["field"], field, "{action}");
    }
    let events = app.get(&format!("/api/v1/deviations/{dev}/events"), &nurse).await.expect(200);
    assert_eq!(events["items"].as_array().unwrap().len(), 1, "a refused action wrote to the timeline");
}

#[actix_web::test]
async fn ordinary_numbers_pass_the_guard() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap().to_owned();
    let id = fnr();
    let wrong_check = format!("{}{}", &id[..10], (id[10..].parse::<u32>().unwrap() + 1) % 10);
    let mut body = form(&stolav);
    body["description"] = json!(format!(
        "Ringte 73 86 80 00 og +47 918 12 345 den 12.03.2026 kl. 14.30. Sak {wrong_check}, konto 1234.56.78903."
    ));
    app.submit(&nurse, &body).await;
}

#[actix_web::test]
async fn idempotency_key_replays_and_refuses_another_body() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap().to_owned();
    let send = |body: Value| {
        app.client
            .post(format!("{}/api/v1/deviations", app.address))
            .bearer_auth(&nurse)
            .header("idempotency-key", "skjema-42")
            .json(&body)
            .send()
    };
    let first = send(form(&stolav)).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send(form(&stolav)).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["reference"], first["reference"]);
    let mut other = form(&stolav);
    other["category"] = json!("medication");
    let resp = send(other).await.unwrap();
    assert_eq!(resp.status(), 422);
    let p: Value = resp.json().await.unwrap();
    assert_eq!(p["code"], "idempotency_key_reused");
    let list = app.get("/api/v1/deviations", &nurse).await.expect(200);
    assert_eq!(ids(&list).len(), 1);
}

#[actix_web::test]
async fn fifty_concurrent_submissions_get_unique_references_without_gaps_on_sqlite() {
    let app = spawn_app_with(|c| c.db_max_connections = 16).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap().to_owned();
    // 20 keys sent twice each, and 10 without a key: 50 requests, 30 deviations.
    let mut requests: Vec<Option<String>> =
        (0..20).flat_map(|k| [Some(format!("k{k}")), Some(format!("k{k}"))]).collect();
    requests.extend((0..10).map(|_| None));
    let futures = requests.iter().map(|key| {
        let mut req =
            app.client.post(format!("{}/api/v1/deviations", app.address)).bearer_auth(&nurse).json(&form(&stolav));
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
            resp.json::<Value>().await.unwrap()
        }
    });
    let results = futures_util::future::join_all(futures).await;

    let mut by_key: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for (key, result) in requests.iter().zip(&results) {
        if let Some(k) = key {
            by_key.entry(k).or_default().insert(result["id"].as_str().unwrap().to_owned());
        }
    }
    assert!(by_key.values().all(|ids| ids.len() == 1), "a retried key made two deviations: {by_key:?}");

    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/deviations?box=sent&limit=7&sort=oldest&cursor={c}"),
            None => "/api/v1/deviations?box=sent&limit=7&sort=oldest".into(),
        };
        let page = app.get(&path, &nurse).await.expect(200);
        all.extend(page["items"].as_array().unwrap().iter().map(|d| d["reference"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(all.len(), 30, "{all:?}");
    let year = app.today().format("%Y");
    let unique: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(unique.len(), 30, "a reference was given twice: {all:?}");
    let numbers = |range: std::ops::RangeInclusive<u32>| -> BTreeSet<String> {
        range.map(|n| format!("SA-{year}-{n:05}")).collect()
    };
    match app.config.db_url().is_sqlite() {
        true => assert_eq!(unique, numbers(1..=30), "SQLite numbers in its shared commit: no gaps"),
        // A retry that lost the race to its twin took a number it then did not use.
        false => assert!(unique.is_subset(&numbers(1..=50)), "PostgreSQL: one number per request at most: {all:?}"),
    }
}
