//! Every deviation route × every role × own and other organisation, with the exact status.

use serde_json::{json, Value};

use crate::helpers::*;

const MALVIK_REPORTER: &str = "sykepleier@malvik.example";
const MALVIK_ADVISOR: &str = "kvalitet@malvik.example";

async fn add_malvik_users(app: &TestApp) {
    let admin = app.login(ADMIN).await;
    let malvik = app.organisation(&admin, "Malvik kommune").await;
    for (email, role) in [(MALVIK_REPORTER, "reporter"), (MALVIK_ADVISOR, "quality_advisor")] {
        let body = json!({"name": email, "email": email, "organisation_id": malvik["id"], "role": role, "password": DEMO_PASSWORD});
        app.post("/api/v1/users", &admin, &body).await.expect(201);
    }
}

/// The request body that would succeed for `route`.
fn body_for(route: &str, malvik_id: &str) -> Value {
    match route {
        "forward" => json!({"organisation_id": malvik_id, "reason": "Gjelder Malvik."}),
        "reject" => json!({"reason": "Ikke samhandling."}),
        "answer" => json!({"answer": "Rutinen er endret."}),
        "comments" => json!({"text": "En kommentar."}),
        _ => json!({}),
    }
}

#[actix_web::test]
async fn permission_matrix() {
    let app = spawn_app().await;
    add_malvik_users(&app).await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let malvik_id = app.organisation(&nurse, "Malvik kommune").await["id"].as_str().unwrap().to_owned();

    let users = [
        NURSE,
        MUNI_ADVISOR,
        "sykepleier@stolav.example",
        HOSPITAL_ADVISOR,
        HANDLER,
        ANALYST,
        ADMIN,
        MALVIK_REPORTER,
        MALVIK_ADVISOR,
    ];
    //                 nurse, muni QA, hosp nurse, hosp QA, handler, analyst, admin, other org ×2
    let matrix: [(&str, [u16; 9]); 9] = [
        ("GET", [200, 200, 200, 200, 200, 200, 404, 404, 404]),
        ("events", [200, 200, 200, 200, 200, 200, 404, 404, 404]),
        ("acknowledge", [403, 403, 403, 200, 403, 403, 404, 404, 404]),
        ("forward", [403, 403, 403, 200, 403, 403, 404, 404, 404]),
        ("reject", [403, 403, 403, 200, 403, 403, 404, 404, 404]),
        ("answer", [403, 403, 403, 200, 200, 403, 404, 404, 404]),
        ("close", [200, 200, 403, 403, 403, 403, 404, 404, 404]),
        ("reopen", [200, 200, 403, 403, 403, 403, 404, 404, 404]),
        ("comments", [201, 201, 201, 201, 201, 403, 404, 404, 404]),
    ];
    let mut tokens = Vec::new();
    for u in users {
        tokens.push(app.login(u).await);
    }
    let mut failures = Vec::new();
    for (route, expected) in matrix {
        for ((user, token), want) in users.iter().zip(&tokens).zip(expected) {
            // A fresh deviation in the state where the action is possible, so only the caller decides.
            let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
            if matches!(route, "close" | "reopen") {
                app.act(&advisor, &id, "answer", &json!({"answer": "Svar."})).await.expect(200);
            }
            let resp = match route {
                "GET" => app.get(&format!("/api/v1/deviations/{id}"), token).await,
                "events" => app.get(&format!("/api/v1/deviations/{id}/events"), token).await,
                _ => app.act(token, &id, route, &body_for(route, &malvik_id)).await,
            };
            if resp.status.as_u16() != want {
                failures.push(format!("{route} as {user}: got {}, want {want}: {}", resp.status, resp.body));
            }
        }
    }
    assert!(failures.is_empty(), "permission matrix mismatches:\n{}", failures.join("\n"));
}

#[actix_web::test]
async fn other_organisations_see_nothing_in_lists_and_denials_are_logged() {
    let app = spawn_app().await;
    add_malvik_users(&app).await;
    let nurse = app.login(NURSE).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let outsider = app.login(MALVIK_ADVISOR).await;
    for mailbox in ["sent", "received", "all"] {
        let list = app.get(&format!("/api/v1/deviations?box={mailbox}"), &outsider).await.expect(200);
        assert!(ids(&list).is_empty(), "{mailbox} leaks: {list}");
    }
    app.get(&format!("/api/v1/deviations/{id}"), &outsider).await.problem(404, "not_found");
    // Same answer for an id that does not exist at all.
    let missing = uuid::Uuid::new_v4();
    app.get(&format!("/api/v1/deviations/{missing}"), &outsider).await.problem(404, "not_found");

    let log = samavvik::db::access_log::for_deviation(&mut app.conn(), &id.as_str().into()).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].outcome, "denied");
    assert_eq!(log[0].action, "read");
    assert_eq!(log[0].user_id.as_str(), app.user_id(&outsider).await);
}

#[actix_web::test]
async fn a_handler_answers_only_what_is_routed_to_their_unit() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let handler = app.login(HANDLER).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let stolav = app.organisation(&advisor, "St. Olavs hospital HF").await;
    let ortopedi = stolav["units"].as_array().unwrap().iter().find(|u| u["name"] == "Ortopedi").unwrap().clone();
    app.act(&advisor, &id, "acknowledge", &json!({"unit_id": ortopedi["id"]})).await.expect(200);
    app.act(&handler, &id, "answer", &json!({"answer": "Svar"})).await.problem(403, "forbidden");
    // Assigned by name, the handler may answer.
    let handler_id = app.user_id(&handler).await;
    let id2 = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let d = app.act(&advisor, &id2, "acknowledge", &json!({"handler_id": handler_id})).await.expect(200);
    assert_eq!(d["recipient_unit"]["name"], "Medisinsk klinikk", "the handler's unit");
    assert_eq!(d["handler"]["name"], "Line Leder");
    app.act(&handler, &id2, "answer", &json!({"answer": "Svar"})).await.expect(200);
}

#[actix_web::test]
async fn analysts_read_everything_de_identified() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let handler = app.login(HANDLER).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    app.act(&handler, &id, "answer", &json!({"answer": "Et svar med detaljer."})).await.expect(200);
    let analyst = app.login(ANALYST).await;
    let d = app.get(&format!("/api/v1/deviations/{id}"), &analyst).await.expect(200);
    assert_eq!(d["deidentified"], true);
    for field in
        ["description", "immediate_actions", "suggested_improvement", "answer", "reporter", "handler", "discovered_at"]
    {
        assert_eq!(d[field], Value::Null, "{field} leaks to analysts");
    }
    assert_eq!(d["category"], "discharge_summary");
    assert_eq!(d["reporting_organisation"]["name"], "Trondheim kommune");
    let list = app.get("/api/v1/deviations?box=all&q=epikrise", &analyst).await.expect(200);
    assert!(ids(&list).is_empty(), "analysts cannot search the free text");
    let events = app.get(&format!("/api/v1/deviations/{id}/events"), &analyst).await.expect(200);
    assert!(events["items"].as_array().unwrap().iter().all(|e| e["actor"].is_null() && e["text"].is_null()));
    assert!(!serde_json::to_string(&events).unwrap().contains("detaljer"));
}

/// Tiltak (#35): each operation × each role, on an action the improvement group made with the
/// hospital's unit leader responsible. Those who do not follow it get 404, as for a case.
#[actix_web::test]
async fn action_permission_matrix() {
    let app = spawn_app().await;
    add_malvik_users(&app).await;
    let analyst = app.login(ANALYST).await;
    let leader = app.login(HANDLER).await;
    let users = [
        NURSE,
        MUNI_ADVISOR,
        "sykepleier@stolav.example",
        HOSPITAL_ADVISOR,
        HANDLER,
        ANALYST,
        ADMIN,
        MALVIK_REPORTER,
        MALVIK_ADVISOR,
    ];
    let body = json!({
        "title": "Sjekkpunkt for epikrise",
        "description": "Epikrisen sendes før pasienten reiser.",
        "responsible_organisation_id": app.me_org(&leader).await,
        "responsible_user_id": app.user_id(&leader).await,
        "due_on": (app.today() + chrono::Duration::days(14)).to_string(),
        "category": "discharge_summary",
    });
    //                 nurse, muni QA, hosp nurse, hosp QA, handler, analyst, admin, other org ×2
    let matrix: [(&str, [u16; 9]); 5] = [
        ("GET", [404, 404, 404, 200, 200, 200, 404, 404, 404]),
        ("events", [404, 404, 404, 200, 200, 200, 404, 404, 404]),
        ("PATCH", [404, 404, 404, 200, 200, 200, 404, 404, 404]),
        ("status", [404, 404, 404, 200, 200, 200, 404, 404, 404]),
        ("create", [403, 403, 403, 403, 403, 201, 403, 403, 403]),
    ];
    let mut tokens = Vec::new();
    for u in users {
        tokens.push(app.login(u).await);
    }
    let mut failures = Vec::new();
    for (op, expected) in matrix {
        for ((user, token), want) in users.iter().zip(&tokens).zip(expected) {
            let id = app.post("/api/v1/actions", &analyst, &body).await.expect(201)["id"].as_str().unwrap().to_owned();
            let resp = match op {
                "GET" => app.get(&format!("/api/v1/actions/{id}"), token).await,
                "events" => app.get(&format!("/api/v1/actions/{id}/events"), token).await,
                "PATCH" => {
                    app.patch(&format!("/api/v1/actions/{id}"), token, &json!({"version": 0, "title": "Ny"})).await
                }
                "status" => {
                    app.post(
                        &format!("/api/v1/actions/{id}/status"),
                        token,
                        &json!({"to": "in_progress", "version": 0}),
                    )
                    .await
                }
                _ => app.post("/api/v1/actions", token, &body).await,
            };
            if resp.status.as_u16() != want {
                failures.push(format!("{op} as {user}: got {}, want {want}: {}", resp.status, resp.body));
            }
        }
    }
    assert!(failures.is_empty(), "action permission matrix mismatches:\n{}", failures.join("\n"));
}
