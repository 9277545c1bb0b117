//! Category mapping: each organisation's own codes for the unified categories, validated whole,
//! and carried as `local_category` on every deviation that organisation reads.

use serde_json::{json, Value};

use crate::helpers::*;

async fn codes(app: &TestApp, token: &str) -> Vec<String> {
    let list = app.get("/api/v1/categories", token).await.expect(200);
    let items = list["items"].as_array().or(list.as_array()).unwrap().clone();
    items.iter().map(|c| c["code"].as_str().unwrap().to_owned()).collect()
}

#[actix_web::test]
async fn an_organisation_files_each_deviation_under_its_own_category_once_all_are_mapped() {
    let app = spawn_app().await;
    let (nurse, muni, hospital) =
        (app.login(NURSE).await, app.login(MUNI_ADVISOR).await, app.login(HOSPITAL_ADVISOR).await);
    let org = app.me_org(&muni).await;
    let path = format!("/api/v1/organisations/{org}/category-mapping");
    assert_eq!(app.get(&path, &muni).await.expect(200), json!({"entries": []}));
    let sent = app.submit_to_hospital(&nurse).await;
    assert_eq!(sent["local_category"], Value::Null, "no mapping yet");

    // Every refusal names what to mend.
    let codes = codes(&app, &muni).await;
    let mut entries: Vec<Value> = codes
        .iter()
        .map(|c| json!({"category": c, "local": {"code": format!("TK-{c}"), "label": format!("Trondheim {c}")}}))
        .collect();
    let unknown = json!({"entries": [{"category": "medisinering", "local": null}]});
    let p =
        app.request(reqwest::Method::PUT, &path, Some(&muni), Some(&unknown)).await.problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["field"], "entries[0].category");
    assert_eq!(p["fields"][0]["code"], "unknown_category");
    assert!(p["fields"][0]["message"].as_str().unwrap().contains("«medisinering»"), "{p}");
    let incomplete = json!({"entries": entries[1..]});
    let p = app
        .request(reqwest::Method::PUT, &path, Some(&muni), Some(&incomplete))
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["field"], "entries");
    assert!(p["fields"][0]["message"].as_str().unwrap().contains(codes[0].as_str()), "{p}");
    let mut twice = entries.clone();
    twice.push(entries[0].clone());
    let p = app.request(reqwest::Method::PUT, &path, Some(&muni), Some(&json!({"entries": twice}))).await;
    assert_eq!(p.problem(422, "validation_failed")["fields"][0]["code"], "duplicate");
    let mut with_id = entries.clone();
    with_id[0]["local"]["label"] = json!(format!("Epikrise {}", fnr()));
    let p = app.request(reqwest::Method::PUT, &path, Some(&muni), Some(&json!({"entries": with_id}))).await;
    assert_eq!(p.problem(422, "national_id_in_text")["fields"][0]["field"], "entries[0].local.label");
    app.request(reqwest::Method::PUT, &path, Some(&nurse), Some(&json!({"entries": entries})))
        .await
        .problem(403, "forbidden");

    // Whole: one category not in use here, one with its own code for improvement proposals.
    let last = entries.len() - 1;
    entries[last]["local"] = Value::Null;
    entries.push(json!({"category": "discharge_summary", "kind": "improvement_proposal",
        "local": {"code": "TK-FORB-1", "label": "Forbedring: epikrise"}}));
    let saved =
        app.request(reqwest::Method::PUT, &path, Some(&muni), Some(&json!({"entries": entries}))).await.expect(200);
    assert_eq!(saved, app.get(&path, &muni).await.expect(200));
    assert_eq!(saved["entries"].as_array().unwrap().len(), codes.len() + 1);

    // Trondheim reads its own code on the case and in its lists; St. Olavs, with none, reads null.
    let case = format!("/api/v1/deviations/{}", sent["id"].as_str().unwrap());
    let mine = app.get(&case, &muni).await.expect(200);
    assert_eq!(mine["local_category"], json!({"code": "TK-discharge_summary", "label": "Trondheim discharge_summary"}));
    let list = app.get("/api/v1/deviations", &muni).await.expect(200);
    assert_eq!(list["items"][0]["local_category"]["code"], "TK-discharge_summary");
    assert_eq!(app.get(&case, &hospital).await.expect(200)["local_category"], Value::Null);
    let mut proposal = form(sent["recipient_organisation"]["id"].as_str().unwrap());
    proposal["kind"] = json!("improvement_proposal");
    let proposal = app.submit(&nurse, &proposal).await;
    assert_eq!(proposal["local_category"]["code"], "TK-FORB-1", "the kind's own line goes first");
}
