use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn everyone_logged_in_sees_the_organisations_with_units() {
    let app = spawn_app().await;
    let token = app.login(NURSE).await;
    let list = app.get("/api/v1/organisations", &token).await.expect(200);
    let items = list["items"].as_array().unwrap();
    // St. Olavs, the improvement group and 20 municipalities.
    assert_eq!(items.len(), 22);
    let stolav = app.organisation(&token, "St. Olavs hospital HF").await;
    assert_eq!(stolav["kind"], "hospital");
    let units: Vec<&str> = stolav["units"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert!(units.contains(&"Medisinsk klinikk"), "{units:?}");
    let municipalities = app.get("/api/v1/organisations?kind=municipality", &token).await.expect(200);
    assert_eq!(municipalities["items"].as_array().unwrap().len(), 20);
    app.get("/api/v1/organisations?kind=planet", &token).await.problem(422, "validation_failed");
}

#[actix_web::test]
async fn admin_creates_organisation_unit_and_user_who_can_log_in() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let org = app
        .post(
            "/api/v1/organisations",
            &admin,
            &json!({"name": "Namsos kommune", "kind": "municipality", "org_number": "974 760 673", "mailbox": "avvik@namsos.example"}),
        )
        .await
        .expect(201);
    assert_eq!(org["org_number"], "974760673");
    let org_id = org["id"].as_str().unwrap();
    let unit = app
        .post(&format!("/api/v1/organisations/{org_id}/units"), &admin, &json!({"name": "Hjemmetjenesten"}))
        .await
        .expect(201);
    let user = app
        .post(
            "/api/v1/users",
            &admin,
            &json!({"name": "Nina Namsos", "email": "Nina@Namsos.example", "organisation_id": org_id,
                    "unit_id": unit["id"], "role": "reporter", "password": "et-langt-passord"}),
        )
        .await
        .expect(201);
    assert_eq!(user["email"], "nina@namsos.example");
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    let token = app.login_with("nina@namsos.example", "et-langt-passord").await;
    let me = app.get("/api/v1/me", &token).await.expect(200);
    assert_eq!(me["organisation"]["name"], "Namsos kommune");
    assert_eq!(me["unit"]["name"], "Hjemmetjenesten");

    // Deactivating the organisation hides it from the form's list.
    app.patch(&format!("/api/v1/organisations/{org_id}"), &admin, &json!({"active": false})).await.expect(200);
    let list = app.get("/api/v1/organisations", &admin).await.expect(200);
    assert!(list["items"].as_array().unwrap().iter().all(|o| o["id"] != org_id));
    let all = app.get("/api/v1/organisations?include_inactive=true", &admin).await.expect(200);
    assert!(all["items"].as_array().unwrap().iter().any(|o| o["id"] == org_id));
}

#[actix_web::test]
async fn organisation_number_is_checked_and_unique() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let body = |n: &str| json!({"name": "Testkommune", "kind": "municipality", "org_number": n, "mailbox": "avvik@test.example"});
    let p = app.post("/api/v1/organisations", &admin, &body("974760674")).await.problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["field"], "org_number");
    assert_eq!(p["fields"][0]["code"], "invalid_org_number");
    app.post("/api/v1/organisations", &admin, &body("974760673")).await.expect(201);
    app.post("/api/v1/organisations", &admin, &body("974760673")).await.problem(409, "org_number_taken");
    let p = app
        .post(
            "/api/v1/organisations",
            &admin,
            &json!({"name": " ", "kind": "planet", "org_number": "984851006", "mailbox": "ikke-epost"}),
        )
        .await
        .problem(422, "validation_failed");
    let fields: Vec<&str> = p["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"mailbox"), "{fields:?}");
    // Nothing was written by the refused requests.
    let list = app.get("/api/v1/organisations", &admin).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().iter().filter(|o| o["name"] == "Testkommune").count(), 1);
}

#[actix_web::test]
async fn user_rules_unit_in_own_organisation_and_unique_email() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let trondheim = app.organisation(&admin, "Trondheim kommune").await;
    let stolav = app.organisation(&admin, "St. Olavs hospital HF").await;
    let user = |email: &str, unit: &serde_json::Value, role: &str| json!({"name": "Test", "email": email, "organisation_id": trondheim["id"], "unit_id": unit, "role": role});
    let p = app
        .post("/api/v1/users", &admin, &user("a@trondheim.example", &stolav["units"][0]["id"], "reporter"))
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["code"], "unknown_unit");
    let p = app.post("/api/v1/users", &admin, &user("a@trondheim.example", &json!(null), "boss")).await;
    assert_eq!(p.problem(422, "validation_failed")["fields"][0]["field"], "role");
    app.post("/api/v1/users", &admin, &user(NURSE, &json!(null), "reporter")).await.problem(409, "email_taken");
}

#[actix_web::test]
async fn non_admins_get_403_on_admin_routes() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let trondheim = app.organisation(&admin, "Trondheim kommune").await;
    let org_id = trondheim["id"].as_str().unwrap();
    let unit_id = trondheim["units"][0]["id"].as_str().unwrap();
    let user_id = app.get("/api/v1/me", &app.login(NURSE).await).await.expect(200)["id"].as_str().unwrap().to_owned();
    for who in [NURSE, MUNI_ADVISOR, HOSPITAL_ADVISOR, HANDLER, ANALYST] {
        let token = app.login(who).await;
        let org = json!({"name": "X", "kind": "other", "org_number": "974760673", "mailbox": "x@x.example"});
        app.post("/api/v1/organisations", &token, &org).await.problem(403, "forbidden");
        app.patch(&format!("/api/v1/organisations/{org_id}"), &token, &json!({"name": "X"}))
            .await
            .problem(403, "forbidden");
        app.post(&format!("/api/v1/organisations/{org_id}/units"), &token, &json!({"name": "X"}))
            .await
            .problem(403, "forbidden");
        app.patch(&format!("/api/v1/units/{unit_id}"), &token, &json!({"name": "X"})).await.problem(403, "forbidden");
        app.get("/api/v1/users", &token).await.problem(403, "forbidden");
        let new_user = json!({"name": "X", "email": "x@x.example", "organisation_id": org_id, "role": "admin"});
        app.post("/api/v1/users", &token, &new_user).await.problem(403, "forbidden");
        app.patch(&format!("/api/v1/users/{user_id}"), &token, &json!({"role": "admin"}))
            .await
            .problem(403, "forbidden");
    }
    // And the same calls succeed for the admin, so the 403s above are about the role.
    app.get("/api/v1/users", &admin).await.expect(200);
    app.patch(&format!("/api/v1/units/{unit_id}"), &admin, &json!({"mailbox": null})).await.expect(200);
}

#[actix_web::test]
async fn patch_of_unknown_ids_is_404() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let missing = uuid::Uuid::new_v4();
    app.patch(&format!("/api/v1/organisations/{missing}"), &admin, &json!({"name": "X"}))
        .await
        .problem(404, "not_found");
    app.patch(&format!("/api/v1/units/{missing}"), &admin, &json!({"name": "X"})).await.problem(404, "not_found");
    app.patch(&format!("/api/v1/users/{missing}"), &admin, &json!({"name": "X"})).await.problem(404, "not_found");
    app.post(&format!("/api/v1/organisations/{missing}/units"), &admin, &json!({"name": "X"}))
        .await
        .problem(404, "not_found");
}

#[actix_web::test]
async fn renames_show_at_once_on_cases_and_a_deactivated_user_is_refused_at_once() {
    let app = spawn_app().await;
    let (admin, nurse) = (app.login(ADMIN).await, app.login(NURSE).await);
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/deviations/{id}");
    // Read once so the names and the caller are known (and cached) before they change.
    let before = app.get(&path, &nurse).await.expect(200);
    let org = before["recipient_organisation"]["id"].as_str().unwrap();
    app.patch(&format!("/api/v1/organisations/{org}"), &admin, &json!({"name": "St. Olavs hospital (nytt navn)"}))
        .await
        .expect(200);
    let reporter = before["reporter"]["id"].as_str().unwrap();
    app.patch(&format!("/api/v1/users/{reporter}"), &admin, &json!({"name": "Kari Nytt Navn"})).await.expect(200);
    let after = app.get(&path, &nurse).await.expect(200);
    assert_eq!(after["recipient_organisation"]["name"], "St. Olavs hospital (nytt navn)");
    assert_eq!(after["reporter"]["name"], "Kari Nytt Navn");

    app.patch(&format!("/api/v1/users/{reporter}"), &admin, &json!({"active": false})).await.expect(200);
    app.get(&path, &nurse).await.problem(401, "invalid_token");
}

#[actix_web::test]
async fn names_and_addresses_set_by_an_admin_refuse_a_national_id_without_echoing_it() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let fnr = fnr();
    let spaced = format!("{} {}", &fnr[..6], &fnr[6..]);
    let stolav = app.organisation(&admin, "St. Olavs hospital HF").await;
    let (org_id, unit_id) = (stolav["id"].as_str().unwrap(), stolav["units"][0]["id"].as_str().unwrap());
    let user_id = app.user_id(&app.login(NURSE).await).await;
    let attempts = [
        (
            "POST",
            "/api/v1/organisations".to_owned(),
            json!({"name": format!("Kommune {spaced}"), "kind": "municipality", "org_number": "974760673", "mailbox": "a@b.example"}),
            "name",
        ),
        (
            "PATCH",
            format!("/api/v1/organisations/{org_id}"),
            json!({"mailbox": format!("{fnr}@stolav.example")}),
            "mailbox",
        ),
        ("POST", format!("/api/v1/organisations/{org_id}/units"), json!({"name": format!("Post {fnr}")}), "name"),
        ("PATCH", format!("/api/v1/units/{unit_id}"), json!({"mailbox": format!("p.{fnr}@stolav.example")}), "mailbox"),
        (
            "POST",
            "/api/v1/users".to_owned(),
            json!({"email": format!("{fnr}@stolav.example"), "name": "Ny", "organisation_id": org_id, "role": "reporter"}),
            "email",
        ),
        ("PATCH", format!("/api/v1/users/{user_id}"), json!({"name": format!("Kari {spaced}")}), "name"),
    ];
    for (method, path, body, field) in attempts {
        let resp = app.request(method.parse().unwrap(), &path, Some(&admin), Some(&body)).await;
        let p = resp.problem(422, "national_id_in_text");
        assert_eq!(p["fields"][0]["field"], field, "{method} {path}");
        assert!(!p.to_string().contains(&fnr[6..]), "the number was echoed: {p}");
    }
    // Nothing of it was stored.
    let after = app.organisation(&admin, "St. Olavs hospital HF").await;
    assert_eq!(after, stolav);
}

/// A quality advisor acknowledging a case names its handler from this list: the active handlers and
/// quality advisors of her own organisation, nobody else's, and the list is hers alone to read.
#[actix_web::test]
async fn a_quality_advisor_lists_whom_she_can_assign_and_assigns_one() {
    let app = spawn_app().await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let org = app.me_org(&advisor).await;
    let list = app.get(&format!("/api/v1/organisations/{org}/handlers"), &advisor).await.expect(200);
    let people = list["items"].as_array().unwrap();
    assert!(people.iter().all(|p| matches!(p["role"].as_str(), Some("handler" | "quality_advisor"))));
    let handler = people.iter().find(|p| p["role"] == "handler").expect("St. Olav has a handler");
    let names: Vec<&str> = people.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "by name: {names:?}");

    let nurse = app.login(NURSE).await;
    let case = app.submit_to_hospital(&nurse).await;
    let done = app
        .act(&advisor, case["id"].as_str().unwrap(), "acknowledge", &serde_json::json!({ "handler_id": handler["id"] }))
        .await
        .expect(200);
    assert_eq!(done["handler"]["id"], handler["id"]);

    let municipality = app.me_org(&nurse).await;
    app.get(&format!("/api/v1/organisations/{municipality}/handlers"), &advisor).await.problem(403, "forbidden");
    app.get(&format!("/api/v1/organisations/{org}/handlers"), &nurse).await.problem(403, "forbidden");
    let handler_token = app.login(HANDLER).await;
    app.get(&format!("/api/v1/organisations/{org}/handlers"), &handler_token).await.problem(403, "forbidden");
}

#[actix_web::test]
async fn a_unit_may_have_an_organisation_number_of_its_own() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let stolav = app.organisation(&admin, "St. Olavs hospital HF").await;
    let path = format!("/api/v1/organisations/{}/units", stolav["id"].as_str().unwrap());
    let bad = app.post(&path, &admin, &json!({"name": "Klinikk for rus", "org_number": "987654321"})).await;
    let body = bad.problem(422, "validation_failed");
    assert_eq!(body["fields"][0]["code"], "invalid_org_number");
    let unit =
        app.post(&path, &admin, &json!({"name": "Klinikk for rus", "org_number": "987 654 325"})).await.expect(201);
    assert_eq!(unit["org_number"], "987654325");
    app.post(&path, &admin, &json!({"name": "Klinikk for psykisk helse", "org_number": "987654325"}))
        .await
        .problem(409, "already_exists");
    let cleared = app
        .patch(&format!("/api/v1/units/{}", unit["id"].as_str().unwrap()), &admin, &json!({"org_number": null}))
        .await
        .expect(200);
    assert_eq!(cleared["org_number"], serde_json::Value::Null);
}
