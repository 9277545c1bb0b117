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

#[actix_web::test]
async fn the_mapping_goes_out_to_a_spreadsheet_and_back_with_errors_by_line() {
    let app = spawn_app().await;
    let muni = app.login(MUNI_ADVISOR).await;
    let org = app.me_org(&muni).await;
    let json_path = format!("/api/v1/organisations/{org}/category-mapping");
    let csv_path = format!("{json_path}.csv");
    let entries: Vec<Value> = codes(&app, &muni)
        .await
        .iter()
        .map(|c| json!({"category": c, "local": {"code": format!("K-{c}"), "label": format!("Lokal; {c}")}}))
        .collect();
    app.request(reqwest::Method::PUT, &json_path, Some(&muni), Some(&json!({"entries": entries}))).await.expect(200);

    let http = reqwest::Client::new();
    let exported = http.get(format!("{}{csv_path}", app.address)).bearer_auth(&muni).send().await.unwrap();
    assert_eq!(exported.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = exported.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "category;kind;local_code;local_label");
    assert_eq!(lines.len(), entries.len() + 1);
    assert!(csv.contains("\"Lokal; "), "a label with the delimiter in it is quoted: {csv}");

    let put = |body: String| {
        let (http, url, token) = (&http, format!("{}{csv_path}", app.address), &muni);
        async move {
            let r = http
                .put(url)
                .bearer_auth(token)
                .header("content-type", "application/octet-stream")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    // As the spreadsheet saved it again, with commas: a label changed, one category not in use.
    let mut rows: Vec<String> = vec!["category,kind,local_code,local_label".into()];
    for (i, e) in entries.iter().enumerate() {
        let c = e["category"].as_str().unwrap();
        rows.push(match i {
            0 => format!("{c},,K-NY,Ny epikrise"),
            1 => format!("{c},,,"),
            _ => format!("{c},,K-{c},Lokal {c}"),
        });
    }
    let (status, body) = put(rows.join("\r\n")).await;
    assert_eq!(status, 200, "{body}");
    let saved = app.get(&json_path, &muni).await.expect(200);
    assert_eq!(saved["entries"].as_array().unwrap().iter().filter(|e| e["local"].is_null()).count(), 1);
    assert!(saved.to_string().contains("Ny epikrise"));

    // A wrong line is named by its number in the file; nothing is saved.
    let mut broken = rows.clone();
    broken[3] = "medisinering,,M1,Medisiner".into();
    let (status, body) = put(broken.join("\n")).await;
    assert_eq!(status, 422, "{body}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["fields"][0]["field"], "lines[4].category", "{problem}");
    assert_eq!(app.get(&json_path, &muni).await.expect(200), saved, "nothing saved");
    let (status, _) = put("kategori;kode\nx;y".into()).await;
    assert_eq!(status, 422);
    let r = http.put(format!("{}{csv_path}", app.address)).bearer_auth(&muni).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 415);
}
