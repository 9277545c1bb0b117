//! Two helsefellesskap in one deployment: cases stay inside one, each one's analysts and reports see
//! their own, and the region's analyst sees them side by side.

use crate::helpers::*;

const LEVANGER_NURSE: &str = "sykepleier@levanger.example";
const NT_ADVISOR: &str = "kvalitet@hnt.example";
const NT_ANALYST: &str = "analytiker@helsefellesskap-nt.example";
const REGIONAL_ANALYST: &str = "analytiker@helse-midt.example";

#[actix_web::test]
async fn a_deviation_stays_inside_its_helsefellesskap() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let levanger = app.login(LEVANGER_NURSE).await;
    // Each sees the organisations of their own helsefellesskap as recipients.
    let names = |list: serde_json::Value| -> Vec<String> {
        list["items"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_owned()).collect()
    };
    let nt_orgs = names(app.get("/api/v1/organisations", &levanger).await.expect(200));
    assert!(nt_orgs.contains(&"Helse Nord-Trøndelag HF".to_owned()), "{nt_orgs:?}");
    assert!(!nt_orgs.contains(&"St. Olavs hospital HF".to_owned()), "{nt_orgs:?}");
    let hnt = app.organisation(&levanger, "Helse Nord-Trøndelag HF").await;
    assert!(!names(app.get("/api/v1/organisations", &nurse).await.expect(200))
        .contains(&"Helse Nord-Trøndelag HF".to_owned()));

    let p = app
        .post("/api/v1/deviations", &nurse, &form(hnt["id"].as_str().unwrap()))
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["fields"][0]["field"], "recipient_organisation_id");
    assert_eq!(p["fields"][0]["code"], "other_health_community");
    // Within Nord-Trøndelag it goes through.
    app.submit(&levanger, &form(hnt["id"].as_str().unwrap())).await;
}

#[actix_web::test]
async fn a_deployment_may_allow_cases_across_and_they_count_where_they_were_reported() {
    let app = spawn_app_with(|c| c.allow_cross_community_cases = true).await;
    let nurse = app.login(NURSE).await;
    let hnt = app.organisation(&nurse, "Helse Nord-Trøndelag HF").await;
    let d = app.submit(&nurse, &form(hnt["id"].as_str().unwrap())).await;
    let id = d["id"].as_str().unwrap();
    // The receiving hospital handles it; St. Olav's analysts count it, Nord-Trøndelag's do not.
    app.get(&format!("/api/v1/deviations/{id}"), &app.login(NT_ADVISOR).await).await.expect(200);
    app.get(&format!("/api/v1/deviations/{id}"), &app.login(ANALYST).await).await.expect(200);
    app.get(&format!("/api/v1/deviations/{id}"), &app.login(NT_ANALYST).await).await.problem(404, "not_found");
}

#[actix_web::test]
async fn analysts_see_their_own_helsefellesskap_and_the_region_sees_them_side_by_side() {
    let app = spawn_app().await;
    let stolav_case = app.submit_to_hospital(&app.login(NURSE).await).await["id"].as_str().unwrap().to_owned();
    let levanger = app.login(LEVANGER_NURSE).await;
    let hnt = app.organisation(&levanger, "Helse Nord-Trøndelag HF").await;
    for _ in 0..2 {
        app.submit(&levanger, &form(hnt["id"].as_str().unwrap())).await;
    }
    let (stolav_analyst, nt_analyst, regional) =
        (app.login(ANALYST).await, app.login(NT_ANALYST).await, app.login(REGIONAL_ANALYST).await);
    let count = |list: serde_json::Value| list["items"].as_array().unwrap().len();
    assert_eq!(count(app.get("/api/v1/deviations", &stolav_analyst).await.expect(200)), 1);
    assert_eq!(count(app.get("/api/v1/deviations", &nt_analyst).await.expect(200)), 2);
    assert_eq!(count(app.get("/api/v1/deviations", &regional).await.expect(200)), 3);
    app.get(&format!("/api/v1/deviations/{stolav_case}"), &nt_analyst).await.problem(404, "not_found");
    app.get(&format!("/api/v1/deviations/{stolav_case}"), &regional).await.expect(200);

    let today = app.today();
    let period = format!("from={}&to={today}", today - chrono::Duration::days(1));
    let stats = |token: &str, extra: &str| {
        let path = format!("/api/v1/stats?{period}{extra}");
        let app = &app;
        let token = token.to_owned();
        async move { app.get(&path, &token).await }
    };
    assert_eq!(stats(&stolav_analyst, "").await.expect(200)["total"], 1);
    assert_eq!(stats(&nt_analyst, "").await.expect(200)["total"], 2);
    let region = stats(&regional, "&group_by=health_community").await.expect(200);
    assert_eq!(region["total"], 3);
    let rows: Vec<(String, i64)> = region["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["label"]["health_community"].as_str().unwrap().to_owned(), g["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [("Helsefellesskapet Nord-Trøndelag".to_owned(), 2), ("Helsefellesskapet St. Olav".to_owned(), 1)]
    );
    // One helsefellesskap's analyst cannot read the other's figures.
    let nt_id = region["groups"][0]["key"]["health_community"].as_str().unwrap().to_owned();
    stats(&stolav_analyst, &format!("&health_community_id={nt_id}")).await.problem(403, "forbidden");
    assert_eq!(stats(&regional, &format!("&health_community_id={nt_id}")).await.expect(200)["total"], 2);
}

#[actix_web::test]
async fn each_helsefellesskap_mails_its_report_to_its_own_committee() {
    use diesel::connection::SimpleConnection;
    let app = spawn_app_with(|c| c.committee_recipients = "asu@helsefellesskap.example".into()).await;
    app.conn()
        .batch_execute(
            "UPDATE health_communities SET committee_recipients = 'asu@helsefellesskap-nt.example' \
             WHERE name = 'Helsefellesskapet Nord-Trøndelag'",
        )
        .unwrap();
    app.clock.set("2026-09-01T08:00:00Z".parse().unwrap());
    let queued = samavvik::mail::reminders::enqueue_tertial_report(&mut app.conn(), &app.config, &app.clock).unwrap();
    assert_eq!(queued, 2);
    app.worker().deliver_due().await.unwrap();
    let mut sent: Vec<(String, String)> = std::fs::read_dir(&app.config.mail_dir)
        .unwrap()
        .map(|e| {
            let raw = std::fs::read(e.unwrap().path()).unwrap();
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let to = m.to().unwrap().first().unwrap().address().unwrap().to_owned();
            (to, m.body_text(0).unwrap().lines().next().unwrap().to_owned())
        })
        .collect();
    sent.sort();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0, "asu@helsefellesskap-nt.example");
    assert!(sent[0].1.contains("Helsefellesskapet Nord-Trøndelag"), "{}", sent[0].1);
    assert_eq!(sent[1].0, "asu@helsefellesskap.example");
    assert!(sent[1].1.contains("Helsefellesskapet St. Olav"), "{}", sent[1].1);
}
