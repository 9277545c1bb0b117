//! Mailboxes, filters, search, sorting and pages; routing rules.

use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn mailboxes_filters_and_search() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let hospital_nurse = app.login("sykepleier@stolav.example").await;
    let advisor = app.login(MUNI_ADVISOR).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap().to_owned();
    let trondheim = app.organisation(&nurse, "Trondheim kommune").await["id"].as_str().unwrap().to_owned();

    let sent = app.submit(&nurse, &form(&stolav)).await["id"].as_str().unwrap().to_owned();
    let mut medication = form(&stolav);
    medication["category"] = json!("medication");
    medication["description"] = json!("Feil dose Marevan i legemiddellisten.");
    let sent_medication = app.submit(&nurse, &medication).await["id"].as_str().unwrap().to_owned();
    let received = app.submit(&hospital_nurse, &form(&trondheim)).await["id"].as_str().unwrap().to_owned();

    let get = |q: &'static str| {
        let advisor = advisor.clone();
        let app = &app;
        async move { ids(&app.get(&format!("/api/v1/deviations?{q}"), &advisor).await.expect(200)) }
    };
    assert_eq!(get("box=sent").await, [sent_medication.clone(), sent.clone()]);
    assert_eq!(get("box=received").await, vec![received.clone()]);
    assert_eq!(get("box=all&sort=oldest").await, [sent.clone(), sent_medication.clone(), received.clone()]);
    assert_eq!(get("category=medication").await, vec![sent_medication.clone()]);
    assert_eq!(get("direction=hospital_to_municipality").await, vec![received.clone()]);
    assert_eq!(get("status=submitted,answered&box=received").await, vec![received.clone()]);
    assert_eq!(get("q=MAREVAN").await, vec![sent_medication.clone()]);
    assert_eq!(get("q=100%25").await, Vec::<String>::new());
    let reference = app.get(&format!("/api/v1/deviations/{received}"), &advisor).await.expect(200)["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ids(&app.get(&format!("/api/v1/deviations?q={reference}"), &advisor).await.expect(200)),
        vec![received.clone()]
    );
    let today = app.today();
    let from_tomorrow = format!("box=all&from={}", today.succ_opt().unwrap());
    assert!(ids(&app.get(&format!("/api/v1/deviations?{from_tomorrow}"), &advisor).await.expect(200)).is_empty());
    let yesterday_to_today = format!("from={}&to={}", today.pred_opt().unwrap(), today);
    assert_eq!(ids(&app.get(&format!("/api/v1/deviations?{yesterday_to_today}"), &advisor).await.expect(200)).len(), 3);
    let nobody = "box=received&counterpart_organisation_id=0193a5c2-7b1e-7c3d-9f00-1a2b3c4d5e6f";
    assert_eq!(get(nobody).await, Vec::<String>::new());
    // An empty cursor is the first page; an id that is no id is refused, without repeating it.
    assert_eq!(get("box=received&cursor=").await.len(), get("box=received").await.len());
    let not_an_id = app.get("/api/v1/deviations?counterpart_organisation_id=01017000027", &advisor).await;
    let problem = not_an_id.problem(400, "invalid_query");
    assert!(!problem.to_string().contains("01017000027"), "{problem}");

    for bad in ["box=inbox", "status=open", "limit=0", "limit=101", "sort=random", "cursor=xyz", "from=01.01.2026"] {
        app.get(&format!("/api/v1/deviations?{bad}"), &advisor).await.problem(422, "validation_failed");
    }
    app.get("/api/v1/deviations?colour=red", &advisor).await.problem(400, "invalid_query");
}

#[actix_web::test]
async fn routing_table_decides_the_unit_when_the_form_does_not() {
    let app = spawn_app().await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&advisor, "St. Olavs hospital HF").await;
    let org = stolav["id"].as_str().unwrap();
    let unit =
        |name: &str| stolav["units"].as_array().unwrap().iter().find(|u| u["name"] == name).unwrap()["id"].clone();
    let path = format!("/api/v1/organisations/{org}/routing");
    let table = json!({"default_unit_id": unit("Akuttmottak"), "rules": [{"category": "discharge_summary", "unit_id": unit("Utskrivningskoordinator")}]});
    let saved = app.request(reqwest::Method::PUT, &path, Some(&advisor), Some(&table)).await.expect(200);
    assert_eq!(saved, table);
    assert_eq!(app.get(&path, &advisor).await.expect(200), table);

    let by_rule = app.submit(&nurse, &form(org)).await;
    assert_eq!(by_rule["recipient_unit"]["name"], "Utskrivningskoordinator");
    let mut medication = form(org);
    medication["category"] = json!("medication");
    assert_eq!(app.submit(&nurse, &medication).await["recipient_unit"]["name"], "Akuttmottak");
    medication["recipient_unit_id"] = unit("Ortopedi");
    assert_eq!(app.submit(&nurse, &medication).await["recipient_unit"]["name"], "Ortopedi");

    // Only the organisation's own quality advisor (or an admin) maintains it.
    let other = app.login(MUNI_ADVISOR).await;
    app.get(&path, &other).await.problem(403, "forbidden");
    app.request(reqwest::Method::PUT, &path, Some(&other), Some(&table)).await.problem(403, "forbidden");
    let bad = json!({"rules": [{"category": "weather", "unit_id": unit("Ortopedi")}]});
    let p =
        app.request(reqwest::Method::PUT, &path, Some(&advisor), Some(&bad)).await.problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["field"], "rules[0].category");
    let trondheim_unit = app.organisation(&advisor, "Trondheim kommune").await["units"][0]["id"].clone();
    let foreign = json!({"default_unit_id": trondheim_unit});
    app.request(reqwest::Method::PUT, &path, Some(&advisor), Some(&foreign)).await.problem(422, "validation_failed");
    assert_eq!(app.get(&path, &advisor).await.expect(200), table, "a refused update changed the table");
}
