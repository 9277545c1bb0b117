//! «Var tilbakemeldingen nyttig?» (#37) over the API on both databases: the reporter rates the
//! answer once it is answered, changes it while the case stays answered or closed, and the
//! recipient sees the score — the comment only its quality advisor.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::patients::numbers;

fn rating_path(id: &str) -> String {
    format!("/api/v1/deviations/{id}/rating")
}

async fn put(app: &TestApp, token: &str, id: &str, body: &Value) -> Response {
    app.request(reqwest::Method::PUT, &rating_path(id), Some(token), Some(body)).await
}

#[actix_web::test]
async fn the_reporter_rates_the_answer_and_the_recipient_sees_the_score() {
    let app = spawn_app().await;
    let (nurse, advisor, handler) =
        (app.login(NURSE).await, app.login(HOSPITAL_ADVISOR).await, app.login(HANDLER).await);
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let unrated = app.get(&rating_path(&id), &nurse).await.expect(200);
    assert_eq!((unrated["score"].clone(), unrated["may_rate"].clone()), (Value::Null, json!(false)));
    // Nothing to rate before the answer.
    put(&app, &nurse, &id, &json!({"score": 4})).await.problem(409, "not_answered");

    app.act(&advisor, &id, "answer", &json!({"answer": "Vi har innført sjekkliste ved utskrivning."}))
        .await
        .expect(200);
    assert_eq!(app.get(&rating_path(&id), &nurse).await.expect(200)["may_rate"], true);
    // Refused by the field, the number not repeated; and only the reporter rates.
    let wrong = put(&app, &nurse, &id, &json!({"score": 6})).await.problem(422, "validation_failed");
    assert_eq!(wrong["fields"][0]["field"], "score");
    let number = numbers("150385", 1).remove(0);
    let with_number = json!({"score": 4, "comment": format!("Gjaldt {number}")});
    let refused = put(&app, &nurse, &id, &with_number).await.problem(422, "national_id_in_text");
    assert!(!refused.to_string().contains(&number));
    put(&app, &handler, &id, &json!({"score": 1})).await.problem(403, "forbidden");
    assert_eq!(app.get(&rating_path(&id), &nurse).await.expect(200)["score"], Value::Null, "nothing stored");

    let rated = put(&app, &nurse, &id, &json!({"score": 4, "comment": "Godt svar, men kom sent."})).await.expect(200);
    assert_eq!((rated["score"].as_i64(), rated["comment"].as_str()), (Some(4), Some("Godt svar, men kom sent.")));
    // The recipient: the unit leader sees the score, the quality advisor the comment too; the
    // reporter's own quality advisor and other organisations nothing.
    let seen = app.get(&rating_path(&id), &handler).await.expect(200);
    assert_eq!(
        (seen["score"].as_i64(), seen["comment"].clone(), seen["may_rate"].clone()),
        (Some(4), Value::Null, json!(false))
    );
    assert_eq!(app.get(&rating_path(&id), &advisor).await.expect(200)["comment"], "Godt svar, men kom sent.");
    for outsider in [MUNI_ADVISOR, "kvalitet@hnt.example", ANALYST] {
        let token = app.login(outsider).await;
        app.get(&rating_path(&id), &token).await.problem(404, "not_found");
    }

    // Changed after closing (once, in place), not while reopened.
    app.act(&nurse, &id, "close", &json!({})).await.expect(200);
    app.clock.advance(chrono::Duration::minutes(5));
    let changed = put(&app, &nurse, &id, &json!({"score": 2})).await.expect(200);
    assert_eq!((changed["score"].as_i64(), changed["comment"].clone()), (Some(2), Value::Null));
    assert_eq!(changed["rated_at"], rated["rated_at"], "first given when it was first given");
    assert_ne!(changed["updated_at"], rated["updated_at"]);
    app.act(&nurse, &id, "reopen", &json!({"note": "Svaret sier ikke hva som endres."})).await.expect(200);
    put(&app, &nurse, &id, &json!({"score": 5})).await.problem(409, "not_answered");
    assert_eq!(app.get(&rating_path(&id), &nurse).await.expect(200)["score"], 2);
}

#[actix_web::test]
async fn the_case_page_asks_the_reporter_and_shows_the_recipient_the_score() {
    let app = spawn_app().await;
    let (nurse, advisor) = (app.login(NURSE).await, app.login(HOSPITAL_ADVISOR).await);
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    app.act(&advisor, &id, "answer", &json!({"answer": "Vi har innført sjekkliste ved utskrivning."}))
        .await
        .expect(200);

    let web = crate::pages::WebClient::new(&app);
    web.login(NURSE).await;
    let page = web.get(&format!("/avvik/{id}")).await;
    assert!(
        page.body.contains("Var tilbakemeldingen nyttig?") && page.body.contains("rating-score-5"),
        "{}",
        page.body
    );
    let csrf = web.csrf(&format!("/avvik/{id}")).await;
    let path = format!("/avvik/{id}/vurdering");
    // No score chosen: 422, the error linked, the comment kept.
    let refused = web.post(&path, &[("csrf", csrf.as_str()), ("comment", "Svaret kom fort.")]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("href=\"#rating-score-1\"") && refused.body.contains("Svaret kom fort."));
    let saved = web.post(&path, &[("csrf", csrf.as_str()), ("score", "5"), ("comment", "Svaret kom fort.")]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let after = web.get(saved.location.as_deref().unwrap()).await;
    assert!(after.body.contains("Vurderingen din er lagret") && after.body.contains("5 av 5"), "{}", after.body);

    let leader = crate::pages::WebClient::new(&app);
    leader.login(HANDLER).await;
    let seen = leader.get(&format!("/avvik/{id}")).await;
    assert!(
        seen.body.contains("5 av 5") && !seen.body.contains("Svaret kom fort.") && !seen.body.contains("form-rating")
    );
}

#[actix_web::test]
async fn the_feedback_statistics_are_what_the_rows_give_and_hide_small_groups() {
    let app = spawn_app().await;
    let (nurse, advisor) = (app.login(NURSE).await, app.login(HOSPITAL_ADVISOR).await);
    let mut ids = Vec::new();
    for _ in 0..4 {
        let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
        app.act(&advisor, &id, "answer", &json!({"answer": "Rutinen er gjennomgått."})).await.expect(200);
        ids.push(id);
    }
    // One the other way: a group of one, shown without figures.
    let hospital_nurse = app.login("sykepleier@stolav.example").await;
    let trondheim = app.organisation(&hospital_nurse, "Trondheim kommune").await;
    let back = app.submit(&hospital_nurse, &form(trondheim["id"].as_str().unwrap())).await;
    let muni = app.login(MUNI_ADVISOR).await;
    app.act(&muni, back["id"].as_str().unwrap(), "answer", &json!({"answer": "Vi ser på det."})).await.expect(200);
    for (id, score) in ids.iter().zip([5, 2]) {
        put(&app, &nurse, id, &json!({"score": score})).await.expect(200);
    }
    let analyst = app.login(ANALYST).await;
    let now = |stats: &Value| stats["tertials"].as_array().unwrap().last().unwrap().clone();
    let stats = app.get("/api/v1/stats/feedback", &analyst).await.expect(200);
    assert_eq!(stats["tertials"].as_array().unwrap().len(), 3);
    let t = now(&stats);
    let to_hospital = &t["by_direction"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["direction"] == "municipality_to_hospital")
        .unwrap()
        .clone();
    assert_eq!(to_hospital["answered"], 4);
    assert_eq!(to_hospital["within_deadline_share"], 1.0);
    assert_eq!(to_hospital["rated_share"], 0.5);
    assert_eq!(to_hospital["median_rating"], Value::Null, "two ratings: fewer than the threshold");
    let other = t["by_recipient"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["direction"] == "hospital_to_municipality")
        .unwrap()
        .clone();
    assert_eq!((other["suppressed"].clone(), other["answered"].clone()), (json!(true), Value::Null));
    assert_eq!(other["recipient_organisation"]["name"], "Trondheim kommune");

    // A third rating: now a median (2, 4, 5 → 4).
    put(&app, &nurse, &ids[2], &json!({"score": 4})).await.expect(200);
    let t = now(&app.get("/api/v1/stats/feedback", &analyst).await.expect(200));
    let g = t["by_recipient"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["direction"] == "municipality_to_hospital")
        .unwrap()
        .clone();
    assert_eq!((g["rated_share"].as_f64(), g["median_rating"].as_f64()), (Some(0.75), Some(4.0)));
    assert_eq!(g["recipient_organisation"]["name"], "St. Olavs hospital HF");
    // The tertial report says the same.
    let tertial = samavvik::domain::period::Period::tertial_of(app.today()).to_string();
    let resp = app.client.get(format!("{}/api/v1/reports/{tertial}.html", app.address)).bearer_auth(&analyst).send();
    let html = resp.await.unwrap().text().await.unwrap();
    let section = html.split("<h2>Tilbakemelding</h2>").nth(1).expect("the section").split("<h2>").next().unwrap();
    assert!(
        section
            .contains("<td>St. Olavs hospital HF (Kommune → sykehus)</td><td>4</td><td>100 %</td><td>75 %</td><td>4"),
        "{section}"
    );
    assert!(
        section.contains("<td>Trondheim kommune (Sykehus → kommune)</td><td colspan=\"4\">under 3</td>"),
        "{section}"
    );
    app.get("/api/v1/stats/feedback?tertial=2026-T02", &analyst).await.problem(422, "validation_failed");
    app.get("/api/v1/stats/feedback", &nurse).await.problem(403, "forbidden");
}
