//! Tiltak (#35) over the API on both databases: made by the improvement group or from an
//! analysis, followed by the person responsible and their organisation's quality advisor, moved
//! to the end, and refused by field, by conflict or as if not there. The policy's matrix test
//! has the cells.

use serde_json::{json, Value};

use crate::helpers::*;

struct People {
    analyst: String,
    leader: String,
    hospital_advisor: String,
    muni_advisor: String,
    nurse: String,
    elsewhere: String,
    stolav: String,
    leader_id: String,
}

async fn people(app: &TestApp) -> People {
    let leader = app.login(HANDLER).await;
    let hospital_advisor = app.login(HOSPITAL_ADVISOR).await;
    let stolav = app.me_org(&hospital_advisor).await;
    let leader_id = app.user_id(&leader).await;
    People {
        analyst: app.login(ANALYST).await,
        leader,
        hospital_advisor,
        muni_advisor: app.login(MUNI_ADVISOR).await,
        nurse: app.login(NURSE).await,
        elsewhere: app.login("kvalitet@hnt.example").await,
        stolav,
        leader_id,
    }
}

fn in_days(app: &TestApp, days: i64) -> String {
    (app.today() + chrono::Duration::days(days)).to_string()
}

fn new_action(app: &TestApp, p: &People) -> Value {
    json!({
        "title": "Epikrise sendes før pasienten forlater avdelingen",
        "description": "Sjekkpunkt i utskrivningslisten: epikrisen er godkjent og sendt.",
        "responsible_organisation_id": p.stolav,
        "responsible_user_id": p.leader_id,
        "due_on": in_days(app, 30),
        "category": "discharge_summary",
        "direction": "hospital_to_municipality",
    })
}

fn field_codes(problem: &Value) -> Vec<String> {
    problem["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}:{}", f["field"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect()
}

#[actix_web::test]
async fn the_improvement_group_makes_an_action_that_its_owner_follows_to_the_end() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let a = app.post("/api/v1/actions", &p.analyst, &new_action(&app, &p)).await.expect(201);
    let id = a["id"].as_str().unwrap().to_owned();
    assert_eq!((a["status"].as_str(), a["version"].as_i64()), (Some("planned"), Some(0)));
    assert_eq!(a["allowed_moves"], json!(["in_progress", "dropped"]));
    assert_eq!(a["responsible_user"]["name"], "Line Leder");
    assert_eq!((a["analysis"].clone(), a["overdue"].clone()), (Value::Null, json!(false)));

    // Who follows it: the group, the person responsible, her organisation's quality advisor.
    for (who, token) in [("analyst", &p.analyst), ("leader", &p.leader), ("advisor", &p.hospital_advisor)] {
        assert_eq!(app.get(&format!("/api/v1/actions/{id}"), token).await.expect(200)["id"], id.as_str(), "{who}");
    }
    for token in [&p.muni_advisor, &p.nurse, &p.elsewhere] {
        app.get(&format!("/api/v1/actions/{id}"), token).await.problem(404, "not_found");
        assert_eq!(app.get("/api/v1/actions", token).await.expect(200)["items"], json!([]));
    }
    let listed = |v: Value| {
        v["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(listed(app.get("/api/v1/actions?view=mine", &p.leader).await.expect(200)), vec![id.clone()]);
    assert_eq!(
        listed(app.get("/api/v1/actions?view=mine", &p.hospital_advisor).await.expect(200)),
        Vec::<String>::new()
    );
    assert_eq!(
        listed(app.get("/api/v1/actions?view=organisation", &p.hospital_advisor).await.expect(200)),
        vec![id.clone()]
    );
    app.get("/api/v1/actions?view=someday", &p.leader).await.expect(400);

    // Forward only; done takes the day it took effect, and that day may be corrected later.
    let status = |to: &str, version: i64| json!({"to": to, "version": version});
    let wrong = app
        .post(&format!("/api/v1/actions/{id}/status"), &p.leader, &status("done", 0))
        .await
        .problem(409, "invalid_transition");
    assert!(wrong["detail"].as_str().unwrap().contains("in_progress"), "{wrong}");
    let a = app.post(&format!("/api/v1/actions/{id}/status"), &p.leader, &status("in_progress", 0)).await.expect(200);
    assert_eq!(a["version"], 1);
    let missing = app
        .post(&format!("/api/v1/actions/{id}/status"), &p.leader, &status("done", 1))
        .await
        .problem(422, "validation_failed");
    assert_eq!(field_codes(&missing), ["effective_on:required"]);
    let effect = in_days(&app, -3);
    let done = json!({"to": "done", "version": 1, "effective_on": effect});
    let a = app.post(&format!("/api/v1/actions/{id}/status"), &p.leader, &done).await.expect(200);
    assert_eq!((a["status"].as_str(), a["effective_on"].as_str()), (Some("done"), Some(effect.as_str())));
    assert_eq!(a["allowed_moves"], json!([]));
    let corrected = app
        .patch(&format!("/api/v1/actions/{id}"), &p.analyst, &json!({"version": 2, "effective_on": in_days(&app, -5)}))
        .await
        .expect(200);
    assert_eq!(corrected["effective_on"].as_str(), Some(in_days(&app, -5).as_str()));
    // A stale version: someone changed it meanwhile.
    app.patch(&format!("/api/v1/actions/{id}"), &p.leader, &json!({"version": 2, "title": "Ny tittel"}))
        .await
        .problem(409, "concurrent_change");
    app.post(
        &format!("/api/v1/actions/{id}/status"),
        &p.leader,
        &json!({"to": "dropped", "version": 3, "reason": "x"}),
    )
    .await
    .problem(409, "invalid_transition");
    let kinds: Vec<String> = app.get(&format!("/api/v1/actions/{id}/events"), &p.leader).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["created", "status_changed", "status_changed", "edited"]);

    // Dropped only with a reason, and then a record nobody edits.
    let other = app.post("/api/v1/actions", &p.analyst, &new_action(&app, &p)).await.expect(201);
    let other = other["id"].as_str().unwrap();
    let unexplained = app
        .post(&format!("/api/v1/actions/{other}/status"), &p.leader, &status("dropped", 0))
        .await
        .problem(422, "validation_failed");
    assert_eq!(field_codes(&unexplained), ["reason:required"]);
    let dropped = json!({"to": "dropped", "version": 0, "reason": "Erstattet av et regionalt tiltak."});
    assert_eq!(
        app.post(&format!("/api/v1/actions/{other}/status"), &p.leader, &dropped).await.expect(200)["drop_reason"],
        "Erstattet av et regionalt tiltak."
    );
    app.patch(&format!("/api/v1/actions/{other}"), &p.analyst, &json!({"version": 1, "title": "Likevel"}))
        .await
        .problem(409, "action_dropped");
}

#[actix_web::test]
async fn what_an_action_cannot_be_is_refused_by_its_field_and_nothing_is_made() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let count = |v: Value| v["items"].as_array().unwrap().len();
    let mut past = new_action(&app, &p);
    past["due_on"] = in_days(&app, -1).into();
    let refused = app.post("/api/v1/actions", &p.analyst, &past).await.problem(422, "validation_failed");
    assert_eq!(field_codes(&refused), ["due_on:in_past"]);
    // Today is not past.
    let mut today = new_action(&app, &p);
    today["due_on"] = in_days(&app, 0).into();
    let today_id = app.post("/api/v1/actions", &p.analyst, &today).await.expect(201)["id"].clone();

    let mut outsider = new_action(&app, &p);
    outsider["responsible_user_id"] = app.user_id(&p.muni_advisor).await.into();
    assert_eq!(
        field_codes(&app.post("/api/v1/actions", &p.analyst, &outsider).await.problem(422, "validation_failed")),
        ["responsible_user_id:not_in_organisation"]
    );
    let mut other_community = new_action(&app, &p);
    other_community["responsible_organisation_id"] = app.me_org(&p.elsewhere).await.into();
    other_community["responsible_user_id"] = app.user_id(&p.elsewhere).await.into();
    // Another helsefellesskap's improvement group decides there.
    app.post("/api/v1/actions", &p.analyst, &other_community).await.problem(403, "forbidden");
    let mut several = new_action(&app, &p);
    several["category"] = "weather".into();
    several["direction"] = "other".into();
    several["title"] = format!("Gjelder {}", fnr()).into();
    let problem = app.post("/api/v1/actions", &p.analyst, &several).await.problem(422, "national_id_in_text");
    assert_eq!(
        field_codes(&problem),
        ["title:national_id_in_text", "category:invalid_value", "direction:invalid_value"]
    );
    assert!(!problem.to_string().contains(&fnr()), "the number is not repeated");

    // Only the improvement group makes actions without an analysis.
    for token in [&p.hospital_advisor, &p.nurse, &p.leader] {
        app.post("/api/v1/actions", token, &new_action(&app, &p)).await.problem(403, "forbidden");
    }
    assert_eq!(count(app.get("/api/v1/actions", &p.analyst).await.expect(200)), 1);

    // Overdue once its day has passed and it is still open.
    app.clock.advance(chrono::Duration::days(2));
    let overdue = app.get("/api/v1/actions?view=overdue", &p.analyst).await.expect(200);
    assert_eq!(overdue["items"].as_array().unwrap().iter().map(|a| a["id"].clone()).collect::<Vec<_>>(), [today_id]);
    assert_eq!(overdue["items"][0]["overdue"], true);
}

#[actix_web::test]
async fn an_action_from_an_analysis_is_followed_by_those_who_work_on_it() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let first = app.submit_to_hospital(&p.nurse).await;
    let muni_id = app.user_id(&p.muni_advisor).await;
    let body = json!({"title": "Epikrise mangler", "deviation_ids": [first["id"]], "participant_ids": [muni_id]});
    let analysis = app.post("/api/v1/analyses", &p.hospital_advisor, &body).await.expect(201);
    let mut input = new_action(&app, &p);
    input["analysis_id"] = analysis["id"].clone();
    // Someone who does not work on the analysis: as if it were not there.
    app.post("/api/v1/actions", &p.elsewhere, &input).await.problem(404, "not_found");
    let a = app.post("/api/v1/actions", &p.hospital_advisor, &input).await.expect(201);
    assert_eq!(a["analysis"]["reference"], analysis["reference"]);
    let id = a["id"].as_str().unwrap();
    // Trondheim's advisor takes part in the analysis, so she follows its actions.
    app.get(&format!("/api/v1/actions/{id}"), &p.muni_advisor).await.expect(200);
    let of_analysis = app
        .get(&format!("/api/v1/actions?analysis_id={}", analysis["id"].as_str().unwrap()), &p.muni_advisor)
        .await
        .expect(200);
    assert_eq!(of_analysis["items"].as_array().unwrap().len(), 1);
    // A closed analysis takes no more actions.
    let mut version = analysis["version"].as_i64().unwrap();
    let aid = analysis["id"].as_str().unwrap();
    version = app
        .patch(
            &format!("/api/v1/analyses/{aid}"),
            &p.hospital_advisor,
            &json!({"version": version, "conclusion": "Rutinen endres."}),
        )
        .await
        .expect(200)["version"]
        .as_i64()
        .unwrap();
    for to in ["in_progress", "concluded", "closed"] {
        version = app
            .post(
                &format!("/api/v1/analyses/{aid}/status"),
                &p.hospital_advisor,
                &json!({"to": to, "version": version}),
            )
            .await
            .expect(200)["version"]
            .as_i64()
            .unwrap();
    }
    app.post("/api/v1/actions", &p.hospital_advisor, &input).await.problem(409, "analysis_closed");
}

/// The action reminders queued so far: (template, recipient, dedupe key), oldest first.
fn reminders(app: &TestApp) -> Vec<(String, String, String)> {
    use diesel::prelude::*;
    use samavvik::db::schema::outbox::dsl as o;
    o::outbox
        .filter(o::template.eq_any(["action_reminder", "action_due"]))
        .order((o::created_at.asc(), o::id.asc()))
        .select((o::template, o::recipient, o::dedupe_key))
        .load(&mut app.conn())
        .unwrap()
}

#[actix_web::test]
async fn the_owner_is_reminded_before_the_due_date_and_on_it_once_each_and_again_for_a_new_date() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let id = app.post("/api/v1/actions", &p.analyst, &new_action(&app, &p)).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let due = app.today() + chrono::Duration::days(30);
    let before = app.config.action_reminder_working_days;
    // Each day until the due date, twice (a second pass, as another instance would run it).
    let mut days = Vec::new();
    while app.today() <= due {
        for _ in 0..2 {
            if samavvik::actions::reminders::enqueue_due(&mut app.conn(), &app.config, &app.clock).unwrap() > 0 {
                days.push(app.today());
            }
        }
        app.clock.advance(chrono::Duration::days(1));
    }
    let first = (0..30)
        .map(|n| due - chrono::Duration::days(30 - n))
        .find(|d| samavvik::actions::reminders::stage(due, *d, before) == 1)
        .unwrap();
    assert_eq!(days, [first, due], "once {before} working days before, once on the day");
    let sent = reminders(&app);
    assert_eq!(
        sent.iter().map(|(t, r, _)| (t.as_str(), r.as_str())).collect::<Vec<_>>(),
        [("action_reminder", HANDLER), ("action_due", HANDLER)]
    );
    // The mail names no title or description (free text), only the facts and the link.
    let data: Vec<String> = {
        use diesel::prelude::*;
        use samavvik::db::schema::outbox::dsl as o;
        o::outbox.filter(o::template.eq("action_due")).select(o::data).load(&mut app.conn()).unwrap()
    };
    assert!(!data[0].contains("Epikrise sendes før") && !data[0].contains("Sjekkpunkt") && data[0].contains(&id));

    // A new due date: its reminders go again; once done, none.
    let version = app.get(&format!("/api/v1/actions/{id}"), &p.leader).await.expect(200)["version"].as_i64().unwrap();
    let new_due = app.today() + chrono::Duration::days(2);
    let moved = json!({"version": version, "due_on": new_due.to_string()});
    app.patch(&format!("/api/v1/actions/{id}"), &p.leader, &moved).await.expect(200);
    assert_eq!(samavvik::actions::reminders::enqueue_due(&mut app.conn(), &app.config, &app.clock).unwrap(), 1);
    let done = json!({"to": "in_progress", "version": version + 1});
    app.post(&format!("/api/v1/actions/{id}/status"), &p.leader, &done).await.expect(200);
    let done = json!({"to": "done", "version": version + 2, "effective_on": app.today().to_string()});
    app.post(&format!("/api/v1/actions/{id}/status"), &p.leader, &done).await.expect(200);
    app.clock.advance(chrono::Duration::days(3));
    assert_eq!(samavvik::actions::reminders::enqueue_due(&mut app.conn(), &app.config, &app.clock).unwrap(), 0);
    assert_eq!(reminders(&app).len(), 3);
}

#[actix_web::test]
async fn the_pages_make_an_action_from_an_analysis_and_its_owner_follows_it_to_done() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let first = app.submit_to_hospital(&p.nurse).await;
    let body = json!({"title": "Epikrise mangler", "deviation_ids": [first["id"]]});
    let analysis = app.post("/api/v1/analyses", &p.hospital_advisor, &body).await.expect(201);
    let aid = analysis["id"].as_str().unwrap();
    let web = crate::pages::WebClient::new(&app);
    web.login(HOSPITAL_ADVISOR).await;
    let csrf = web.csrf(&format!("/analyser/{aid}")).await;
    let page = web.get(&format!("/analyser/{aid}")).await.body;
    assert!(page.contains("Nytt tiltak") && page.contains(&format!("value=\"{}\"", p.leader_id)), "{page}");

    // Refused by its fields, with what was typed kept.
    let past = (app.today() - chrono::Duration::days(1)).format("%d.%m.%Y").to_string();
    let refused = web
        .post(
            &format!("/analyser/{aid}/tiltak"),
            &[
                ("csrf", &csrf),
                ("title", "Sjekkpunkt ved utreise"),
                ("due_on", &past),
                ("category", "discharge_summary"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    for needle in [
        "href=\"#action-description\"",
        "href=\"#action-responsible_user_id\"",
        "href=\"#action-due_on\"",
        "value=\"Sjekkpunkt ved utreise\"",
    ] {
        assert!(refused.body.contains(needle), "{needle}: {}", refused.body);
    }
    let due = (app.today() + chrono::Duration::days(20)).format("%d.%m.%Y").to_string();
    let made = web
        .post(
            &format!("/analyser/{aid}/tiltak"),
            &[
                ("csrf", &csrf),
                ("title", "Sjekkpunkt ved utreise"),
                ("description", "Epikrisen sendes før pasienten forlater avdelingen."),
                ("responsible_user_id", &p.leader_id),
                ("due_on", &due),
                ("category", "discharge_summary"),
                ("direction", "hospital_to_municipality"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let location = made.location.unwrap();
    assert!(location.starts_with("/tiltak/") && location.ends_with("?gjort=opprettet"), "{location}");
    let id = location.trim_start_matches("/tiltak/").split('?').next().unwrap().to_owned();
    assert!(web.get(&format!("/analyser/{aid}")).await.body.contains(&format!("href=\"/tiltak/{id}\"")));

    // The owner finds it under «Mine», starts it, and reports it done with the day it took effect.
    let owner = crate::pages::WebClient::new(&app);
    owner.login(HANDLER).await;
    let mine = owner.get("/tiltak?vis=mine").await.body;
    assert!(mine.contains(&format!("href=\"/tiltak/{id}\"")) && mine.contains("Sjekkpunkt ved utreise"), "{mine}");
    let token = owner.csrf(&format!("/tiltak/{id}")).await;
    let moved =
        owner.post(&format!("/tiltak/{id}/status"), &[("csrf", &token), ("version", "0"), ("to", "in_progress")]).await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let undated =
        owner.post(&format!("/tiltak/{id}/status"), &[("csrf", &token), ("version", "1"), ("to", "done")]).await;
    assert_eq!(undated.status, 422);
    assert!(
        undated.body.contains("id=\"status-effective_on-error\"")
            && undated.body.contains("href=\"#status-effective_on\"")
    );
    let effect = app.today().format("%d.%m.%Y").to_string();
    let done = owner
        .post(
            &format!("/tiltak/{id}/status"),
            &[("csrf", &token), ("version", "1"), ("to", "done"), ("effective_on", &effect)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = owner.get(&format!("/tiltak/{id}")).await.body;
    assert!(page.contains("Gjennomført") && page.contains(&effect), "{page}");

    // Someone who does not follow it: as if it were not there.
    let other = crate::pages::WebClient::new(&app);
    other.login("kvalitet@hnt.example").await;
    assert_eq!(other.get(&format!("/tiltak/{id}")).await.status, 404);
    assert!(!other.get("/tiltak").await.body.contains(&id));
}

#[actix_web::test]
async fn the_effect_counts_equal_the_fixtures_own_rows_and_small_counts_are_suppressed() {
    use chrono::{Datelike, NaiveDate};
    use diesel::prelude::*;
    use samavvik::db::schema::deviations::dsl as d;
    let app = spawn_app().await;
    let p = people(&app).await;
    let today = app.today();
    let first_of = |day: NaiveDate| day.with_day(1).unwrap();
    // It took effect on the first day of last month: the window starts a tertial before that one.
    let effective = first_of(first_of(today) - chrono::Duration::days(1));
    let window = samavvik::stats::effect::window(Some(effective), today);
    let month_start = |m: &samavvik::domain::period::Period| m.start();
    let (a, b) = (month_start(&window[0]), month_start(&window[1]));
    let c = effective;
    // (month, category, how many), each submitted mid-month at noon UTC, all municipality → hospital.
    let fixture = [
        (a, "discharge_summary", 4),
        (a, "medication", 3),
        (b, "discharge_summary", 1),
        (c, "discharge_summary", 5),
        (c, "medication", 2),
    ];
    let stolav = app.organisation(&p.nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap().to_owned();
    for (month, category, n) in fixture {
        for _ in 0..n {
            let mut body = form(&stolav);
            body["category"] = category.into();
            let id = app.submit(&p.nurse, &body).await["id"].as_str().unwrap().to_owned();
            let at = month.with_day(15).unwrap().and_hms_opt(12, 0, 0).unwrap();
            diesel::update(d::deviations.find(&id)).set(d::submitted_at.eq(at)).execute(&mut app.conn()).unwrap();
        }
    }
    let mut body = new_action(&app, &p);
    body["direction"] = "municipality_to_hospital".into();
    let id = app.post("/api/v1/actions", &p.analyst, &body).await.expect(201)["id"].as_str().unwrap().to_owned();
    let before = app.get(&format!("/api/v1/actions/{id}/effect"), &p.leader).await.expect(200);
    assert_eq!((before["effective_on"].clone(), before["median_after"].clone()), (Value::Null, Value::Null));
    app.post(&format!("/api/v1/actions/{id}/status"), &p.leader, &json!({"to": "in_progress", "version": 0}))
        .await
        .expect(200);
    let done = json!({"to": "done", "version": 1, "effective_on": effective.to_string()});
    app.post(&format!("/api/v1/actions/{id}/status"), &p.leader, &done).await.expect(200);

    let effect = app.get(&format!("/api/v1/actions/{id}/effect"), &p.leader).await.expect(200);
    let months = effect["months"].as_array().unwrap();
    assert_eq!(months.len(), window.len());
    let month = |day: NaiveDate| months.iter().find(|m| m["month"] == day.format("%Y-%m").to_string()).unwrap().clone();
    for m in months {
        let key = m["month"].as_str().unwrap();
        // The fixture's own count for the month, by category and in all.
        let own = |cat: Option<&str>| -> i64 {
            fixture
                .iter()
                .filter(|(mo, c, _)| mo.format("%Y-%m").to_string() == key && cat.is_none_or(|x| x == *c))
                .map(|(.., n)| *n)
                .sum()
        };
        assert_eq!(m["total"], own(None), "{key}");
        let count = own(Some("discharge_summary"));
        match count {
            1 | 2 => assert_eq!((m["count"].clone(), m["suppressed"].clone()), (Value::Null, json!(true)), "{key}"),
            n => assert_eq!(m["count"], n, "{key}"),
        }
        assert_eq!(
            m["after"],
            NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d").unwrap() >= effective,
            "{key}"
        );
    }
    assert_eq!(month(a)["rate_per_1000"], 571.4); // 4 of 7
    assert_eq!(month(c)["rate_per_1000"], 714.3); // 5 of 7
    assert_eq!(month(b)["rate_per_1000"], Value::Null, "suppressed: one deviation");
    // The medians leave the suppressed month out.
    assert_eq!((effect["median_before"].as_f64(), effect["median_after"].as_f64()), (Some(571.4), Some(714.3)));
    assert!(effect["note"].as_str().unwrap().contains("ikke bevis"));
    app.get(&format!("/api/v1/actions/{id}/effect"), &p.elsewhere).await.problem(404, "not_found");
}

#[actix_web::test]
async fn the_demos_current_tertial_report_shows_tiltak_og_effekt_in_html_and_xlsx() {
    let app = spawn_app().await;
    assert!(samavvik::seed::seed_demo_cases(&mut app.conn(), &app.config).unwrap());
    let analyst = app.login(ANALYST).await;
    let tertial = samavvik::domain::period::Period::tertial_of(app.today()).to_string();
    let get = |file: String| {
        let (app, token) = (&app, analyst.clone());
        async move {
            let resp = app
                .client
                .get(format!("{}/api/v1/reports/{file}", app.address))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{file}");
            resp.bytes().await.unwrap().to_vec()
        }
    };
    let html = String::from_utf8(get(format!("{tertial}.html")).await).unwrap();
    let section = html.split("<h2>Tiltak og effekt</h2>").nth(1).expect("the section is there");
    let section = section.split("<h2>").next().unwrap();
    assert!(
        section.contains("Epikrisen sendes før pasienten forlater avdelingen") && section.contains("ikke bevis"),
        "{section}"
    );
    assert!(section.contains("<svg") && section.contains("Virkning "), "{section}");

    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(get(format!("{tertial}.xlsx")).await)).unwrap();
    let lessons = book.worksheet_range("Læring").unwrap();
    assert_eq!(lessons.rows().nth(1).unwrap()[0].to_string(), samavvik::seed::DEMO_NOTE);
    let sheet = book.worksheet_range("Tiltak og effekt").unwrap();
    let rows: Vec<_> = sheet.rows().skip(1).filter(|r| r[0].to_string().starts_with("Epikrisen sendes")).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().any(|r| r[8] == "ja") && rows.iter().any(|r| r[8] == "nei"));

    // No category name is cut at a chart's left edge: every right-aligned label has room.
    let re = regex::Regex::new(r#"<text x="([0-9.]+)" y="[0-9.]+" text-anchor="end">([^<]*)</text>"#).unwrap();
    for svg in html.split("<svg").skip(1) {
        let svg = svg.split("</svg>").next().unwrap();
        for c in re.captures_iter(svg) {
            let (x, label): (f64, &str) = (c[1].parse().unwrap(), &c[2]);
            assert!(x >= label.chars().count() as f64 * 6.0, "«{label}» at x = {x} would be cut");
        }
    }
}
