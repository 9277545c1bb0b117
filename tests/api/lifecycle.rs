//! The life of a deviation, end to end over HTTP.

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn whole_life_submit_route_answer_close() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let handler = app.login(HANDLER).await;

    let d = app.submit_to_hospital(&nurse).await;
    let id = d["id"].as_str().unwrap();
    let year = app.today().format("%Y").to_string();
    assert_eq!(d["reference"], format!("SA-{year}-00001"));
    assert_eq!(d["status"], "submitted");
    assert_eq!(d["direction"], "municipality_to_hospital");
    assert_eq!(d["reporting_organisation"]["name"], "Trondheim kommune");
    assert_eq!(d["reporting_unit"]["name"], "Hjemmetjenesten", "defaults to the reporter's unit");
    assert_eq!(d["recipient_unit"], serde_json::Value::Null, "no rule: the triage queue");
    assert!(d["deadlines"]["acknowledge_by"].as_str().unwrap() < d["deadlines"]["answer_by"].as_str().unwrap());
    assert_eq!(d["overdue"], false);

    // The hospital's quality advisor sees it in the received box and routes it to Medisinsk klinikk.
    let received = app.get("/api/v1/deviations?box=received", &advisor).await.expect(200);
    assert_eq!(ids(&received), [id]);
    assert_eq!(
        received["items"][0]["allowed_actions"],
        json!(["acknowledge", "forward", "reject", "answer", "comment"])
    );
    let stolav = app.organisation(&advisor, "St. Olavs hospital HF").await;
    let medisinsk = stolav["units"].as_array().unwrap().iter().find(|u| u["name"] == "Medisinsk klinikk").unwrap();
    let d = app
        .act(&advisor, id, "acknowledge", &json!({"unit_id": medisinsk["id"], "note": "Sendt til Medisinsk klinikk."}))
        .await
        .expect(200);
    assert_eq!(d["status"], "in_progress");
    assert_eq!(d["recipient_unit"]["name"], "Medisinsk klinikk");

    // The unit's handler answers.
    let d = app
        .act(&handler, id, "answer", &json!({"answer": "Rutinen for epikrise er gjennomgått med sengeposten.", "actions": "Sjekkliste ved utskrivning."}))
        .await
        .expect(200);
    assert_eq!(d["status"], "answered");
    assert_eq!(d["handler"]["name"], "Line Leder");

    // The reporter sees the answer and closes.
    let seen = app.get(&format!("/api/v1/deviations/{id}"), &nurse).await.expect(200);
    assert_eq!(seen["answer"], "Rutinen for epikrise er gjennomgått med sengeposten.");
    assert_eq!(seen["answer_actions"], "Sjekkliste ved utskrivning.");
    assert_eq!(seen["allowed_actions"], json!(["close", "reopen", "comment"]));
    let d = app.act(&nurse, id, "close", &json!({})).await.expect(200);
    assert_eq!(d["status"], "closed");
    assert!(d["closed_at"].is_string());

    let events = app.get(&format!("/api/v1/deviations/{id}/events"), &nurse).await.expect(200);
    let steps: Vec<(&str, &str, &str)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["actor"]["name"].as_str().unwrap(), e["to_status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("submitted", "Siri Sykepleier", "submitted"),
            ("acknowledged", "Kristian Kvalitet", "in_progress"),
            ("answered", "Line Leder", "answered"),
            ("closed", "Siri Sykepleier", "closed"),
        ]
    );
    assert!(events["items"].as_array().unwrap().iter().all(|e| e["at"].is_string()));
    assert_eq!(events["items"][1]["unit"]["name"], "Medisinsk klinikk");
    // Illegal now: a closed deviation cannot be answered again.
    app.act(&handler, id, "answer", &json!({"answer": "Mer"})).await.problem(409, "invalid_transition");
}

#[actix_web::test]
async fn forward_restarts_the_deadlines_for_the_new_recipient() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let d = app.submit_to_hospital(&nurse).await;
    let id = d["id"].as_str().unwrap();
    app.clock.advance(Duration::days(3));
    let malvik = app.organisation(&advisor, "Malvik kommune").await;
    let p = app.act(&advisor, id, "forward", &json!({"organisation_id": malvik["id"], "reason": " "})).await;
    assert_eq!(p.problem(422, "validation_failed")["fields"][0]["field"], "reason");
    let trondheim = app.organisation(&advisor, "Trondheim kommune").await;
    let p = app.act(&advisor, id, "forward", &json!({"organisation_id": trondheim["id"], "reason": "Tilbake"})).await;
    assert_eq!(p.problem(422, "validation_failed")["fields"][0]["code"], "same_organisation");

    let f = app
        .act(
            &advisor,
            id,
            "forward",
            &json!({"organisation_id": malvik["id"], "reason": "Gjelder Malvik sin hjemmetjeneste."}),
        )
        .await
        .expect(200);
    assert_eq!(f["status"], "submitted");
    assert_eq!(f["recipient_organisation"]["name"], "Malvik kommune");
    assert_eq!(f["direction"], "municipality_to_municipality");
    assert!(f["deadlines"]["acknowledge_by"].as_str() > d["deadlines"]["acknowledge_by"].as_str());
    assert!(f["received_at"].as_str() > d["received_at"].as_str());
    // The hospital no longer holds it; Malvik does.
    app.get(&format!("/api/v1/deviations/{id}"), &advisor).await.problem(404, "not_found");
    let malvik_admin = app.login(ADMIN).await;
    let malvik_qa = json!({"name": "Mona Malvik", "email": "kvalitet@malvik.example", "organisation_id": malvik["id"],
                           "role": "quality_advisor", "password": "et-langt-passord"});
    app.post("/api/v1/users", &malvik_admin, &malvik_qa).await.expect(201);
    let mona = app.login_with("kvalitet@malvik.example", "et-langt-passord").await;
    let received = app.get("/api/v1/deviations?box=received", &mona).await.expect(200);
    assert_eq!(ids(&received), [id]);
    let events = app.get(&format!("/api/v1/deviations/{id}/events"), &mona).await.expect(200);
    let last = &events["items"][1];
    assert_eq!(last["kind"], "forwarded");
    assert_eq!(last["text"], "Gjelder Malvik sin hjemmetjeneste.");
    assert_eq!(last["organisation"]["name"], "Malvik kommune");
}

#[actix_web::test]
async fn reject_needs_a_reason_and_ends_the_case() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    app.act(&advisor, &id, "reject", &json!({})).await.problem(422, "validation_failed");
    let d = app
        .act(
            &advisor,
            &id,
            "reject",
            &json!({"reason": "Ikke et samhandlingsavvik: gjelder intern rutine i kommunen."}),
        )
        .await
        .expect(200);
    assert_eq!(d["status"], "rejected");
    assert_eq!(d["allowed_actions"], json!(["comment"]));
    app.act(&advisor, &id, "acknowledge", &json!({})).await.problem(409, "invalid_transition");
    app.act(&nurse, &id, "reopen", &json!({})).await.problem(409, "invalid_transition");
}

#[actix_web::test]
async fn reopen_within_thirty_days_only() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    app.act(&advisor, &id, "answer", &json!({"answer": "Beklager, vi ser på rutinen."})).await.expect(200);
    app.clock.advance(Duration::days(10));
    let d = app.act(&nurse, &id, "reopen", &json!({"note": "Svaret sier ikke hva som endres."})).await.expect(200);
    assert_eq!(d["status"], "in_progress");
    assert!(d["deadlines"]["answer_by"].as_str().unwrap() > "2026-01-01");
    app.act(&advisor, &id, "answer", &json!({"answer": "Ny sjekkliste innføres 1. mars."})).await.expect(200);
    app.clock.advance(Duration::days(31));
    app.act(&nurse, &id, "reopen", &json!({})).await.problem(409, "reopen_window_passed");
    let events = app.get(&format!("/api/v1/deviations/{id}/events"), &nurse).await.expect(200);
    let kinds: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["submitted", "answered", "reopened", "answered"]);
}

#[actix_web::test]
async fn answered_deviations_close_themselves_after_fourteen_days() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let old = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let recent = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    app.act(&advisor, &old, "answer", &json!({"answer": "Tatt opp med avdelingen."})).await.expect(200);
    app.clock.advance(Duration::days(10));
    app.act(&advisor, &recent, "answer", &json!({"answer": "Tatt opp med avdelingen."})).await.expect(200);
    app.clock.advance(Duration::days(5));

    let mut conn = app.conn();
    assert_eq!(samavvik::jobs::auto_close_due(&mut conn, &app.config, &app.clock).unwrap(), 1);
    // Running again (another instance, a restart) changes nothing.
    assert_eq!(samavvik::jobs::auto_close_due(&mut conn, &app.config, &app.clock).unwrap(), 0);

    let d = app.get(&format!("/api/v1/deviations/{old}"), &nurse).await.expect(200);
    assert_eq!(d["status"], "closed");
    let r = app.get(&format!("/api/v1/deviations/{recent}"), &nurse).await.expect(200);
    assert_eq!(r["status"], "answered");
    let events = app.get(&format!("/api/v1/deviations/{old}/events"), &nurse).await.expect(200);
    let last = events["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "auto_closed");
    assert_eq!(last["actor"], serde_json::Value::Null, "made by the system");
    assert_eq!(last["from_status"], "answered");
}

#[actix_web::test]
async fn comments_from_both_sides_are_on_the_timeline() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let handler = app.login(HANDLER).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let c = app.act(&nurse, &id, "comments", &json!({"text": "Pasienten er nå stabil."})).await.expect(201);
    assert_eq!(c["kind"], "commented");
    assert_eq!(c["actor"]["name"], "Siri Sykepleier");
    app.act(&handler, &id, "comments", &json!({"text": "Takk, vi ser på saken."})).await.expect(201);
    let events = app.get(&format!("/api/v1/deviations/{id}/events"), &handler).await.expect(200);
    assert_eq!(events["items"].as_array().unwrap().len(), 3);
    let d = app.get(&format!("/api/v1/deviations/{id}"), &nurse).await.expect(200);
    assert_eq!(d["status"], "submitted", "comments do not change the status");
}

#[actix_web::test]
async fn overdue_is_visible_and_filterable() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let late = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let acked = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    app.act(&advisor, &acked, "acknowledge", &json!({})).await.expect(200);
    // Ten calendar days always hold more than five working days.
    app.clock.advance(Duration::days(10));
    let fresh = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let overdue = app.get("/api/v1/deviations?box=received&overdue=true", &advisor).await.expect(200);
    assert_eq!(ids(&overdue), [late]);
    assert_eq!(overdue["items"][0]["overdue"], true);
    let on_time = app.get("/api/v1/deviations?box=received&overdue=false", &advisor).await.expect(200);
    assert_eq!(ids(&on_time), [fresh, acked]);
}

#[actix_web::test]
async fn the_recipient_may_change_the_category_on_acknowledge_and_statistics_count_the_new_one() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let d = app.submit_to_hospital(&nurse).await;
    let (id, chosen) = (d["id"].as_str().unwrap().to_owned(), d["category"].as_str().unwrap().to_owned());
    assert_eq!(d["reported_category"], Value::Null);

    // An unknown code is refused and nothing changes: not acknowledged, not re-categorised.
    let refused = app.act(&advisor, &id, "acknowledge", &json!({"category": "medisinering"})).await;
    let refused = refused.problem(422, "validation_failed");
    assert_eq!(refused["fields"][0]["field"], "category");
    assert_eq!(refused["fields"][0]["code"], "unknown_category");
    let unchanged = app.get(&format!("/api/v1/deviations/{id}"), &advisor).await.expect(200);
    assert_eq!(
        (unchanged["status"].as_str(), unchanged["category"].as_str()),
        (Some("submitted"), Some(chosen.as_str()))
    );

    let d = app.act(&advisor, &id, "acknowledge", &json!({"category": "medication"})).await.expect(200);
    assert_eq!(d["category"], "medication");
    assert_eq!(d["reported_category"], chosen.as_str(), "the reporter's choice is kept");
    let events = app.get(&format!("/api/v1/deviations/{id}/events"), &nurse).await.expect(200);
    assert_eq!(events["items"][1]["kind"], "acknowledged");
    assert_eq!(events["items"][1]["category"], "medication");
    assert_eq!(events["items"][0]["category"], Value::Null);

    // A second case acknowledged with its own category is not counted as changed.
    let other = app.submit_to_hospital(&nurse).await;
    let other_id = other["id"].as_str().unwrap();
    let same = json!({"category": other["category"]});
    assert_eq!(app.act(&advisor, other_id, "acknowledge", &same).await.expect(200)["reported_category"], Value::Null);

    let today = samavvik::domain::calendar::oslo_today(app.clock.now());
    let s = app.get(&format!("/api/v1/stats?from={today}&to={today}&group_by=category"), &advisor).await.expect(200);
    assert_eq!((s["total"].as_i64(), s["recategorised"].as_i64()), (Some(2), Some(1)));
    let counted: Vec<&str> =
        s["groups"].as_array().unwrap().iter().map(|g| g["key"]["category"].as_str().unwrap()).collect();
    assert!(counted.contains(&"medication"), "counted under the new category: {counted:?}");
}
