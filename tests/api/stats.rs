//! Statistics over a known data set with fixed dates across three tertials, on both backends.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::helpers::*;

fn at(s: &str) -> DateTime<Utc> {
    format!("{s}T10:00:00Z").parse().unwrap()
}

struct Data {
    app: TestApp,
    analyst: String,
}

/// Submits at a fixed day, with that day as the day it happened.
async fn submit_on(app: &TestApp, token: &str, day: &str, recipient: &str, category: &str) -> String {
    app.clock.set(at(day));
    let mut f = form(recipient);
    f["occurred_at"] = json!(day);
    f["discovered_at"] = json!(null);
    f["category"] = json!(category);
    app.submit(token, &f).await["id"].as_str().unwrap().to_owned()
}

async fn act_on(app: &TestApp, token: &str, day: &str, id: &str, action: &str, body: Value) {
    app.clock.set(at(day));
    app.act(token, id, action, &body).await.expect(200);
}

async fn known_data() -> Data {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let hospital_nurse = app.login("sykepleier@stolav.example").await;
    let qa = app.login(HOSPITAL_ADVISOR).await;
    let muni_qa = app.login(MUNI_ADVISOR).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap().to_owned();
    let trondheim = app.organisation(&nurse, "Trondheim kommune").await["id"].as_str().unwrap().to_owned();
    let reject = json!({"reason": "Testdata"});

    // 2025-T2: one, closed at once.
    let d = submit_on(&app, &nurse, "2025-06-02", &stolav, "discharge_summary").await;
    act_on(&app, &qa, "2025-06-02", &d, "reject", reject.clone()).await;
    // 2026-T1: three, closed at once.
    for (who, to, cat) in [
        (&nurse, &stolav, "discharge_summary"),
        (&nurse, &stolav, "discharge_summary"),
        (&hospital_nurse, &trondheim, "medication"),
    ] {
        let d = submit_on(&app, who, "2026-02-02", to, cat).await;
        let rejecter = if to == &stolav { &qa } else { &muni_qa };
        act_on(&app, rejecter, "2026-02-03", &d, "reject", reject.clone()).await;
    }
    // 2026-T2: five.
    let answer = json!({"answer": "Svar"});
    let d1 = submit_on(&app, &nurse, "2026-06-01", &stolav, "discharge_summary").await;
    act_on(&app, &qa, "2026-06-03", &d1, "acknowledge", json!({})).await; // 2 working days
    act_on(&app, &qa, "2026-06-08", &d1, "answer", answer.clone()).await; // 5, on time
    let d2 = submit_on(&app, &nurse, "2026-06-01", &stolav, "discharge_summary").await;
    act_on(&app, &qa, "2026-06-02", &d2, "acknowledge", json!({})).await; // 1
    act_on(&app, &qa, "2026-06-29", &d2, "answer", answer.clone()).await; // 20, late (due 22 June)
    let d3 = submit_on(&app, &nurse, "2026-06-01", &stolav, "discharge_summary").await;
    act_on(&app, &qa, "2026-06-10", &d3, "acknowledge", json!({})).await; // 7, never answered
    let d4 = submit_on(&app, &nurse, "2026-07-01", &stolav, "medication").await;
    act_on(&app, &qa, "2026-07-02", &d4, "reject", reject.clone()).await;
    let d5 = submit_on(&app, &hospital_nurse, "2026-08-03", &trondheim, "medication").await;
    act_on(&app, &muni_qa, "2026-08-04", &d5, "answer", answer).await; // 1, on time
    let analyst = app.login(ANALYST).await;
    Data { app, analyst }
}

fn count(stats: &Value, dim: &str, key: &str) -> Value {
    stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"][dim] == key)
        .map(|g| g["count"].clone())
        .unwrap_or(Value::Null)
}

#[actix_web::test]
async fn tertial_figures_are_exact() {
    let Data { app, analyst } = known_data().await;
    let s = app.get("/api/v1/stats?period=2026-T2&group_by=direction", &analyst).await.expect(200);
    assert_eq!(s["total"], 5);
    assert_eq!(count(&s, "direction", "municipality_to_hospital"), 4);
    assert_eq!(count(&s, "direction", "hospital_to_municipality"), 1);
    assert_eq!(s["acknowledge_days"], json!({"n": 4, "median": 1.5, "p90": 5.5}));
    assert_eq!(s["answer_days"], json!({"n": 3, "median": 5.0, "p90": 17.0}));
    assert_eq!((s["answered"].as_i64(), s["answered_within_deadline"].as_i64()), (Some(3), Some(2)));
    assert!((s["within_deadline_share"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!((s["backlog_at_end"].as_i64(), s["overdue_at_end"].as_i64()), (Some(1), Some(1)));
    assert_eq!(s["previous"], json!({"period": "2026-T1", "total": 3, "change_percent": 66.7}));
    assert_eq!(s["same_period_last_year"], json!({"period": "2025-T2", "total": 1, "change_percent": 400.0}));
    assert_eq!((s["from"].as_str(), s["to"].as_str()), (Some("2026-05-01"), Some("2026-08-31")));

    let by_cat = app.get("/api/v1/stats?period=2026-T2&group_by=category,direction", &analyst).await.expect(200);
    let first = &by_cat["groups"][0];
    assert_eq!(first["key"], json!({"category": "discharge_summary", "direction": "municipality_to_hospital"}));
    assert_eq!(first["label"]["category"], "Epikrise og sykepleiesammenfatning");
    assert_eq!(first["count"], 3);
    let t1 = app.get("/api/v1/stats?period=2026-T1", &analyst).await.expect(200);
    assert_eq!((t1["total"].as_i64(), t1["backlog_at_end"].as_i64()), (Some(3), Some(0)));
    let month = app.get("/api/v1/stats?period=2026-06", &analyst).await.expect(200);
    assert_eq!(month["total"], 3);
    let range = app.get("/api/v1/stats?from=2026-06-01&to=2026-07-01", &analyst).await.expect(200);
    assert_eq!(range["total"], 4);
}

#[actix_web::test]
async fn small_cells_per_organisation_are_suppressed_and_access_is_scoped() {
    let Data { app, analyst } = known_data().await;
    let s = app.get("/api/v1/stats?period=2026-T2&group_by=reporting_organisation", &analyst).await.expect(200);
    let groups = s["groups"].as_array().unwrap();
    let trondheim = groups.iter().find(|g| g["label"]["reporting_organisation"] == "Trondheim kommune").unwrap();
    assert_eq!((trondheim["count"].as_i64(), trondheim["suppressed"].as_bool()), (Some(4), Some(false)));
    let stolav = groups.iter().find(|g| g["label"]["reporting_organisation"] == "St. Olavs hospital HF").unwrap();
    assert_eq!((stolav["count"].clone(), stolav["suppressed"].as_bool()), (Value::Null, Some(true)));

    let muni_qa = app.login(MUNI_ADVISOR).await;
    let own = app.get("/api/v1/stats?period=2026-T2", &muni_qa).await.expect(200);
    assert_eq!(own["total"], 5, "every deviation involves Trondheim");
    let stolav_id = app.organisation(&muni_qa, "St. Olavs hospital HF").await["id"].as_str().unwrap().to_owned();
    app.get(&format!("/api/v1/stats?period=2026-T2&organisation_id={stolav_id}"), &muni_qa)
        .await
        .problem(403, "forbidden");
    let nurse = app.login(NURSE).await;
    app.get("/api/v1/stats?period=2026-T2", &nurse).await.problem(403, "forbidden");
    let malvik = app.organisation(&analyst, "Malvik kommune").await["id"].as_str().unwrap().to_owned();
    let none = app.get(&format!("/api/v1/stats?period=2026-T2&organisation_id={malvik}"), &analyst).await.expect(200);
    assert_eq!(none["total"], 0);
    app.get("/api/v1/stats?period=2026-T4", &analyst).await.problem(422, "validation_failed");
    app.get("/api/v1/stats?period=2026-T2&group_by=colour", &analyst).await.problem(422, "validation_failed");
}

async fn download(app: &TestApp, token: &str, file: &str) -> (String, Vec<u8>) {
    let resp =
        app.client.get(format!("{}/api/v1/reports/{file}", app.address)).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{file}");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    (ct, resp.bytes().await.unwrap().to_vec())
}

#[actix_web::test]
async fn csv_xlsx_and_html_match_the_json() {
    let Data { app, analyst } = known_data().await;
    let json = app.get("/api/v1/stats?period=2026-T2&group_by=category", &analyst).await.expect(200);

    let (ct, csv_bytes) = download(&app, &analyst, "2026-T2.csv").await;
    assert!(ct.starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv_bytes.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let find = |breakdown: &str, key: &str| rows.iter().find(|r| &r[1] == breakdown && &r[2] == key).unwrap().clone();
    assert_eq!(&find("key_figures", "total")[4], "5");
    assert_eq!(&find("key_figures", "answer_days_p90")[4], "17");
    assert_eq!(
        find("category", "discharge_summary")[4].parse::<i64>().unwrap(),
        count(&json, "category", "discharge_summary").as_i64().unwrap()
    );
    let stolav = rows.iter().find(|r| &r[1] == "reporting_organisation" && &r[3] == "St. Olavs hospital HF").unwrap();
    assert_eq!((&stolav[4], &stolav[5]), ("", "skjult"));

    let (_, xlsx) = download(&app, &analyst, "2026-T2.xlsx").await;
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    let key = book.worksheet_range("Nøkkeltall").unwrap();
    let value_of = |label: &str| key.rows().find(|r| r[0] == label).map(|r| r[1].clone()).unwrap();
    assert_eq!(value_of("Meldte avvik"), calamine::Data::Float(5.0));
    assert_eq!(value_of("Tid til svar, median (virkedager)"), calamine::Data::Float(5.0));
    assert!(matches!(value_of("Fra og med"), calamine::Data::DateTime(_)));
    let cats = book.worksheet_range("Kategori").unwrap();
    let discharge = cats.rows().find(|r| r[0] == "discharge_summary").unwrap();
    assert_eq!(discharge[2], calamine::Data::Float(3.0));
    let by_org = book.worksheet_range("Meldt av").unwrap();
    let hidden = by_org.rows().find(|r| r[1] == "St. Olavs hospital HF").unwrap();
    assert_eq!(hidden[2].to_string(), "skjult");

    let (ct, html) = download(&app, &analyst, "2026-T2.html").await;
    assert!(ct.starts_with("text/html"));
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("<svg") && html.matches("<svg").count() >= 5);
    assert!(html.contains("Samhandlingsavvik 2026-T2") && html.contains("Kommune → sykehus"));
    assert!(
        html.contains("flere enn i 2026-T1"),
        "summary: {}",
        html.split("class=\"lead\">").nth(1).unwrap_or("").split("</p>").next().unwrap_or("")
    );
    assert!(html.contains("&lt;3"), "suppressed cells");

    let nurse = app.login(NURSE).await;
    let resp = app
        .client
        .get(format!("{}/api/v1/reports/2026-T2.html", app.address))
        .bearer_auth(&nurse)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = app
        .client
        .get(format!("{}/api/v1/reports/2026-T2.pdf", app.address))
        .bearer_auth(&analyst)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[actix_web::test]
async fn generated_data_is_consistent_and_counted() {
    let app = spawn_app().await;
    let mut conn = app.conn();
    assert_eq!(samavvik::generate::generate(&mut conn, 400, 1, 7, false).unwrap(), 400);
    // A second run adds to the first instead of colliding on references.
    assert_eq!(samavvik::generate::generate(&mut conn, 200, 1, 8, false).unwrap(), 200);
    let analyst = app.login(ANALYST).await;
    let today = app.today();
    let from = today - chrono::Duration::days(400);
    let s = app.get(&format!("/api/v1/stats?from={from}&to={today}&group_by=status"), &analyst).await.expect(200);
    assert_eq!(s["total"], 600);
    assert!(s["answer_days"]["n"].as_u64().unwrap() > 300, "most are answered: {}", s["answer_days"]);
    // Both directions, several categories, every status a real one.
    let by_dir =
        app.get(&format!("/api/v1/stats?from={from}&to={today}&group_by=direction"), &analyst).await.expect(200);
    assert_eq!(by_dir["groups"].as_array().unwrap().len(), 2);
    let statuses: Vec<&str> =
        s["groups"].as_array().unwrap().iter().map(|g| g["key"]["status"].as_str().unwrap()).collect();
    assert!(statuses.iter().all(|st| ["submitted", "in_progress", "answered", "closed", "rejected"].contains(st)));
}

async fn export(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/api/v1/exports/deviations?{query}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The values of one column, sorted, without the empty ones.
fn column(rows: &[csv::StringRecord], headers: &csv::StringRecord, name: &str) -> Vec<String> {
    let i = headers.iter().position(|h| h == name).unwrap();
    let mut values: Vec<String> = rows.iter().map(|r| r[i].to_owned()).filter(|v| !v.is_empty()).collect();
    values.sort_by_key(|v| (v.len(), v.clone()));
    values
}

#[actix_web::test]
async fn the_export_has_a_row_for_each_deviation_the_statistics_count_and_no_free_text() {
    let Data { app, analyst } = known_data().await;
    let resp = export(&app, &analyst, "period=2026-T2").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(resp.headers()["content-disposition"], "attachment; filename=\"samhandlingsavvik-2026-T2.csv\"");
    let bytes = resp.bytes().await.unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(!text.contains("Pasienten kom hjem") && !text.contains("Svar") && !text.contains("@"), "{text}");
    let mut reader = csv::Reader::from_reader(bytes.as_ref());
    let headers = reader.headers().unwrap().clone();
    let expected: Vec<&str> = samavvik::export::COLUMNS.iter().map(|c| c.0).collect();
    assert_eq!(headers.iter().collect::<Vec<_>>(), expected);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    // The statistics of 2026-T2 (tertial_figures_are_exact): five deviations, acknowledged in
    // 1, 1, 2 and 7 working days, answered in 1, 5 and 20, two of the answers on time.
    assert_eq!(rows.len(), 5);
    assert_eq!(column(&rows, &headers, "acknowledge_working_days"), ["1", "1", "2", "7"]);
    assert_eq!(column(&rows, &headers, "answer_working_days"), ["1", "5", "20"]);
    assert_eq!(column(&rows, &headers, "answered_on_time"), ["true", "true", "false"]);
    assert_eq!(
        column(&rows, &headers, "recipient_organisation").iter().filter(|o| *o == "St. Olavs hospital HF").count(),
        4
    );
    // Submitted 10:00 UTC on 1 June: noon in Norway, said with its offset.
    assert_eq!(column(&rows, &headers, "submitted_at")[0], "2026-06-01T12:00:00+02:00");

    let file = tempfile::NamedTempFile::new().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_samavvik"))
        .args(["export", "--period", "2026-T2", "--output", file.path().to_str().unwrap()])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.config.database_url)
        .env("SAMAVVIK_JWT_SECRET", &app.config.jwt_secret)
        .env("SAMAVVIK_SEED_DEMO", "never")
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read(file.path()).unwrap(), bytes.as_ref(), "the command writes what the API sends");

    let resp = export(&app, &analyst, "from=2026-06-01&to=2026-06-30&format=xlsx").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"samhandlingsavvik-2026-06-01_2026-06-30.xlsx\""
    );
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(resp.bytes().await.unwrap().to_vec())).unwrap();
    let sheet = book.worksheet_range("Avvik").unwrap();
    assert_eq!(sheet.height(), 1 + 3, "the header and June's three");
    assert_eq!(sheet.rows().next().unwrap()[0], calamine::Data::String("Referanse".into()));
    assert!(matches!(sheet.rows().nth(1).unwrap()[1], calamine::Data::DateTime(_)));

    let muni_qa = app.login(MUNI_ADVISOR).await;
    let own = export(&app, &muni_qa, "period=2026-T1").await.text().await.unwrap();
    assert_eq!(own.lines().count(), 1 + 3, "a quality advisor gets what their organisation sent or received");
    let nurse = app.login(NURSE).await;
    app.get("/api/v1/exports/deviations?period=2026-T2", &nurse).await.problem(403, "forbidden");
    let p = app
        .get("/api/v1/exports/deviations?period=2026-T2&format=pdf", &analyst)
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["field"], "format");
    app.get("/api/v1/exports/deviations", &analyst).await.problem(422, "validation_failed");
}
