//! Hendelsesanalyse (#34) on both databases: the use cases through the library, the API, the
//! pages over plain HTTP, and the demo's analysis. Who may do what is the policy's, whose matrix test has the cells.

use diesel::prelude::*;
use samavvik::analyses::{self, Content, Fact, NewAnalysis, NewFactor};
use samavvik::auth::{Actor, Caller};
use samavvik::domain::analysis::AnalysisStatus;
use samavvik::error::ApiError;
use samavvik::ids::{AnalysisId, DeviationId, UserId};

use crate::helpers::*;

/// The caller a user's token would make, read from the database.
fn caller(app: &TestApp, email: &str) -> Caller {
    let mut conn = app.conn();
    let user = samavvik::db::users::find_by_email(&mut conn, email).unwrap().unwrap();
    Caller::load(&mut conn, &user.id).unwrap()
}

fn code(result: Result<impl std::fmt::Debug, ApiError>) -> (u16, String, Vec<String>) {
    let e = result.expect_err("refused");
    (e.status.as_u16(), e.code.to_string(), e.fields.iter().map(|f| format!("{}:{}", f.field, f.code)).collect())
}

/// One deviation from Trondheim to St. Olav and one from St. Olav to Trondheim.
async fn two_deviations(app: &TestApp) -> (DeviationId, DeviationId) {
    let to_hospital = app.submit_to_hospital(&app.login(NURSE).await).await;
    let nurse = app.login("sykepleier@stolav.example").await;
    let trondheim = app.organisation(&nurse, "Trondheim kommune").await;
    let to_municipality = app.submit(&nurse, &form(trondheim["id"].as_str().unwrap())).await;
    let id = |d: &serde_json::Value| DeviationId::from(d["id"].as_str().unwrap().to_owned());
    (id(&to_hospital), id(&to_municipality))
}

#[actix_web::test]
async fn an_analysis_links_deviations_of_several_organisations_and_only_its_people_see_it() {
    let app = spawn_app().await;
    let (first, second) = two_deviations(&app).await;
    let advisor = caller(&app, HOSPITAL_ADVISOR);
    let muni = caller(&app, MUNI_ADVISOR);
    let now = app.clock.now_naive();
    let new = NewAnalysis {
        title: "Epikrise mangler ved utskrivning".into(),
        deviation_ids: vec![first.clone(), second.clone()],
        participant_ids: vec![muni.user_id.clone()],
    };
    let mut conn = app.conn();
    let a = analyses::create(&mut conn, &app.config, now, &advisor, &new).unwrap();
    let year = app.today().format("%Y").to_string();
    assert_eq!(a.reference, format!("HA-{year}-0001"));
    assert_eq!((a.status, a.version), (AnalysisStatus::Draft, 0));
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let ids = |v: &[DeviationId]| sorted(v.iter().map(|d| d.to_string()).collect());
    assert_eq!(ids(&a.deviations), ids(&[first.clone(), second.clone()]));
    let people = sorted(a.participants.iter().map(|u| u.to_string()).collect());
    assert_eq!(
        people,
        sorted(vec![advisor.user_id.to_string(), muni.user_id.to_string()]),
        "the one who opens it takes part"
    );
    let again = analyses::create(&mut conn, &app.config, now, &muni, &new).unwrap();
    assert_eq!(again.reference, format!("HA-{year}-0002"), "numbered per helsefellesskap and year");

    // Each linked deviation's timeline says so, to those who see the deviation.
    let token = app.login(HOSPITAL_ADVISOR).await;
    let events = app.get(&format!("/api/v1/deviations/{first}/events"), &token).await.expect(200);
    let linked: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "analysis_linked")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(linked, [a.reference.as_str(), again.reference.as_str()]);

    // Participants and the improvement group of the helsefellesskap; nobody else, not even a
    // colleague of a participant or another helsefellesskap's improvement group.
    let group = caller(&app, ANALYST);
    assert_eq!(analyses::get(&mut conn, &group, &a.id).unwrap().reference, a.reference);
    assert_eq!(analyses::get(&mut conn, &muni, &a.id).unwrap().title, new.title);
    for outsider in [NURSE, HANDLER, "kvalitet@hnt.example", "analytiker@helsefellesskap-nt.example", ADMIN] {
        let who = caller(&app, outsider);
        assert_eq!(code(analyses::get(&mut conn, &who, &a.id)).0, 404, "{outsider}");
        let listed: Vec<String> = analyses::list(&mut conn, &who).unwrap().into_iter().map(|r| r.reference).collect();
        assert!(!listed.contains(&a.reference), "{outsider}");
    }
    let mut machine = advisor.clone();
    machine.actor = Actor::Machine(Default::default());
    assert_eq!(code(analyses::get(&mut conn, &machine, &a.id)).0, 404, "never a machine");
    assert_eq!(analyses::list(&mut conn, &group).unwrap().len(), 2, "the improvement group sees every one");
    let unknown = AnalysisId::generate();
    assert_eq!(code(analyses::get(&mut conn, &advisor, &unknown)).0, 404);
}

#[actix_web::test]
async fn what_may_not_be_linked_or_added_is_refused_by_its_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let (first, _) = two_deviations(&app).await;
    // A deviation of the other helsefellesskap (Levanger to its hospital).
    let levanger = app.login("sykepleier@levanger.example").await;
    let hnt = app.organisation(&levanger, "Helse Nord-Trøndelag HF").await;
    let elsewhere = app.submit(&levanger, &form(hnt["id"].as_str().unwrap())).await;
    let elsewhere = DeviationId::from(elsewhere["id"].as_str().unwrap().to_owned());
    let advisor = caller(&app, HOSPITAL_ADVISOR);
    let now = app.clock.now_naive();
    let mut conn = app.conn();
    let new = |ids: Vec<DeviationId>, people: Vec<UserId>, title: &str| NewAnalysis {
        title: title.into(),
        deviation_ids: ids,
        participant_ids: people,
    };
    let create =
        |conn: &mut samavvik::db::DbConnection, n: &NewAnalysis| analyses::create(conn, &app.config, now, &advisor, n);
    assert_eq!(code(create(&mut conn, &new(vec![first.clone(), elsewhere], vec![], "Tittel"))).0, 404, "not seen");
    let stranger = caller(&app, "kvalitet@hnt.example").user_id;
    let refused = code(create(&mut conn, &new(vec![first.clone()], vec![stranger], "Tittel")));
    assert_eq!(refused, (422, "validation_failed".into(), vec!["participant_ids[0]:not_a_party".into()]));
    let refused = code(create(&mut conn, &new(vec![], vec![], " ")));
    assert_eq!(refused.2, ["title:required", "deviation_ids:required"]);
    let number = fnr();
    let refused = code(create(&mut conn, &new(vec![first.clone()], vec![], &format!("Gjelder {number}"))));
    assert_eq!(refused.2, ["title:national_id_in_text"]);
    let reporter = caller(&app, NURSE);
    let n = new(vec![first.clone()], vec![], "Tittel");
    assert_eq!(
        code(analyses::create(&mut conn, &app.config, now, &reporter, &n)).0,
        403,
        "a reporter does not open one"
    );
    let count: i64 = samavvik::db::schema::analyses::table.count().get_result(&mut conn).unwrap();
    assert_eq!(count, 0, "nothing was written");
}

#[actix_web::test]
async fn an_analysis_moves_forward_only_concludes_with_a_conclusion_and_is_closed_for_good() {
    let app = spawn_app().await;
    let (first, second) = two_deviations(&app).await;
    let advisor = caller(&app, HOSPITAL_ADVISOR);
    let now = app.clock.now_naive();
    let mut conn = app.conn();
    let new = NewAnalysis { title: "Tittel".into(), deviation_ids: vec![first.clone()], participant_ids: vec![] };
    let a = analyses::create(&mut conn, &app.config, now, &advisor, &new).unwrap();
    let id = a.id.clone();

    // Content, checked whole; the timeline comes back in date order.
    let content = Content {
        version: 0,
        timeline: Some(vec![
            Fact { date: "12.03.2026".into(), fact: "Utskrevet uten epikrise.".into() },
            Fact { date: "2026-03-10".into(), fact: "Innlagt.".into() },
        ]),
        care_problems: Some(vec!["Epikrisen ble ikke sendt før pasienten kom hjem.".into()]),
        ..Default::default()
    };
    let a = analyses::update(&mut conn, now, &advisor, &id, &content).unwrap();
    assert_eq!(a.timeline.iter().map(|f| f.date.as_str()).collect::<Vec<_>>(), ["2026-03-10", "2026-03-12"]);
    assert_eq!(code(analyses::update(&mut conn, now, &advisor, &id, &content)).1, "concurrent_change", "stale version");
    let bad = Content {
        version: 1,
        timeline: Some(vec![Fact { date: "31.02.2026".into(), fact: " ".into() }]),
        ..Default::default()
    };
    assert_eq!(
        code(analyses::update(&mut conn, now, &advisor, &id, &bad)).2,
        ["timeline[0].fact:required", "timeline[0].date:invalid_date"]
    );

    let factor = |category: &str| NewFactor {
        category: category.into(),
        description: "Ingen fast rutine for epikrise ved helg.".into(),
    };
    assert_eq!(
        code(analyses::add_factor(&mut conn, now, &advisor, &id, &factor("luck"))).2,
        ["category:invalid_value"]
    );
    let a = analyses::add_factor(&mut conn, now, &advisor, &id, &factor("transitions_between_organisations")).unwrap();
    assert_eq!(a.factors.len(), 1);
    let a = analyses::link(&mut conn, &app.config, now, &advisor, &id, &second).unwrap();
    assert_eq!(a.deviations.len(), 2);

    // draft → concluded skips a step: 409 naming the way on.
    let refused = analyses::move_to(&mut conn, now, &advisor, &id, "concluded", a.version).unwrap_err();
    assert_eq!((refused.status.as_u16(), refused.code), (409, "invalid_transition"));
    assert!(refused.detail.contains("in_progress"), "{}", refused.detail);
    let a = analyses::move_to(&mut conn, now, &advisor, &id, "in_progress", a.version).unwrap();
    let refused = analyses::move_to(&mut conn, now, &advisor, &id, "concluded", a.version).unwrap_err();
    assert_eq!((refused.status.as_u16(), refused.detail.contains("konklusjonen")), (409, true));
    let with_conclusion = Content {
        version: a.version,
        conclusion: Some("Fast rutine for epikrise innføres.".into()),
        ..Default::default()
    };
    let a = analyses::update(&mut conn, now, &advisor, &id, &with_conclusion).unwrap();
    let a = analyses::move_to(&mut conn, now, &advisor, &id, "concluded", a.version).unwrap();
    assert_eq!(a.allowed_moves, [AnalysisStatus::FollowUp, AnalysisStatus::Closed]);
    let a = analyses::move_to(&mut conn, now, &advisor, &id, "closed", a.version).unwrap();
    assert!(a.allowed_moves.is_empty());
    let late = Content { version: a.version, title: Some("Ny tittel".into()), ..Default::default() };
    assert_eq!(code(analyses::update(&mut conn, now, &advisor, &id, &late)).1, "analysis_closed");
    assert_eq!(code(analyses::add_factor(&mut conn, now, &advisor, &id, &factor("team"))).1, "analysis_closed");
    let refused = analyses::move_to(&mut conn, now, &advisor, &id, "draft", a.version).unwrap_err();
    assert_eq!(refused.code, "invalid_transition");

    let kinds: Vec<String> = analyses::events(&mut conn, &advisor, &id).unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "edited",
            "factor_added",
            "deviation_linked",
            "status_changed",
            "edited",
            "status_changed",
            "status_changed"
        ]
    );
    assert_eq!(a.deviations.len(), 2);
    assert!(a.deviations.contains(&first) && a.deviations.contains(&second));
}

#[actix_web::test]
async fn the_api_opens_an_analysis_and_answers_outsiders_as_if_it_were_not_there() {
    let app = spawn_app().await;
    let (first, second) = two_deviations(&app).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let muni = caller(&app, MUNI_ADVISOR).user_id;
    let new = serde_json::json!({"title": "Epikrise mangler", "deviation_ids": [first], "participant_ids": [muni]});
    let a = app.post("/api/v1/analyses", &advisor, &new).await.expect(201);
    let path = format!("/api/v1/analyses/{}", a["id"].as_str().unwrap());
    assert_eq!(a["status"], "draft");
    assert_eq!(a["deviations"][0]["id"], first.as_str());
    assert!(a["participants"].as_array().unwrap().iter().any(|p| p["organisation"]["name"] == "Trondheim kommune"));
    let linked = app.post(&format!("{path}/deviations"), &advisor, &serde_json::json!({"deviation_id": second})).await;
    assert_eq!(linked.expect(200)["deviations"].as_array().unwrap().len(), 2);
    let factor =
        serde_json::json!({"category": "transitions_between_organisations", "description": "Ingen fast rutine."});
    app.post(&format!("{path}/factors"), &advisor, &factor).await.expect(201);
    let content = serde_json::json!({"version": 0, "timeline": [{"date": "2026-03-10", "fact": "Innlagt."}]});
    let edited = app.patch(&path, &advisor, &content).await.expect(200);
    app.patch(&path, &advisor, &content).await.problem(409, "concurrent_change");
    let conclude = serde_json::json!({"to": "concluded", "version": edited["version"]});
    app.post(&format!("{path}/status"), &advisor, &conclude).await.problem(409, "invalid_transition");
    let events = app.get(&format!("{path}/events"), &advisor).await.expect(200);
    assert_eq!(events["items"][0]["kind"], "created");
    let group = app.login(ANALYST).await;
    assert_eq!(app.get("/api/v1/analyses", &group).await.expect(200)["items"][0]["reference"], a["reference"]);
    for outsider in [NURSE, "kvalitet@hnt.example"] {
        let token = app.login(outsider).await;
        app.get(&path, &token).await.problem(404, "not_found");
        assert_eq!(app.get("/api/v1/analyses", &token).await.expect(200)["items"], serde_json::json!([]));
    }
    let nurse = app.login(NURSE).await;
    app.post("/api/v1/analyses", &nurse, &new).await.problem(403, "forbidden");
}

/// The analysis as stored, read as the hospital's advisor.
fn stored(app: &TestApp, id: &str) -> analyses::Analysis {
    analyses::get(&mut app.conn(), &caller(app, HOSPITAL_ADVISOR), &AnalysisId::from(id.to_owned())).unwrap()
}

/// The page of the analysis a 303 leads to, and its id.
fn analysis_at(location: &Option<String>) -> String {
    let location = location.as_deref().expect("a redirect");
    let id = location.trim_start_matches("/analyser/").split('?').next().unwrap();
    assert!(location.starts_with("/analyser/") && id.len() == 36, "{location}");
    id.to_owned()
}

#[actix_web::test]
async fn the_pages_open_edit_and_conclude_an_analysis_and_keep_what_was_typed_when_refused() {
    let app = spawn_app().await;
    let (first, second) = two_deviations(&app).await;
    let web = crate::pages::WebClient::new(&app);
    web.login(HOSPITAL_ADVISOR).await;

    // Both cases chosen in a box: the new page names them, and the menu offers the analyses.
    let new = web.get(&format!("/analyser/ny?avvik={first}&avvik={second}")).await;
    assert_eq!(new.status, 200, "{}", new.body);
    assert!(new.body.contains("disse 2 avvikene") && new.body.contains("href=\"/analyser\""), "{}", new.body);
    let csrf = web.csrf("/analyser").await;
    let both = format!("{first},{second}");
    let untitled = web.post("/analyser/ny", &[("csrf", &csrf), ("avvik", &both), ("title", "  ")]).await;
    assert_eq!(untitled.status, 422);
    assert!(untitled.body.contains("Skriv en kort tittel") && untitled.body.contains("href=\"#title\""));
    let created = web.post("/analyser/ny", &[("csrf", &csrf), ("avvik", &both), ("title", "Epikrise mangler")]).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let id = analysis_at(&created.location);
    let page = web.get(created.location.as_deref().unwrap()).await;
    assert!(page.body.contains("Hendelsesanalysen er opprettet") && page.body.contains("Utkast"), "{}", page.body);

    // A wrong date: 422, the error by its row, and every row as it was typed.
    let version = |body: &str| {
        let re = regex::Regex::new(r#"name="version" value="(\d+)""#).unwrap();
        re.captures(body).unwrap()[1].to_owned()
    };
    let v = version(&page.body);
    let content = |date: &'static str, v: String| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("version".into(), v),
            ("title".into(), "Epikrise mangler ved utskrivning".into()),
            ("date-0".into(), "12.05.2026".into()),
            ("fact-0".into(), "Pasienten skrives ut uten epikrise.".into()),
            ("date-2".into(), date.into()),
            ("fact-2".into(), "Hjemmetjenesten ringer sykehuset.".into()),
            ("problem-1".into(), "Legemiddelendringer ble ikke kjent.".into()),
            ("conclusion".into(), "Meldingene må sendes før overgangen.".into()),
        ]
    };
    let pairs = |fields: &[(String, String)]| fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
    let post = |path: String, fields: Vec<(String, String)>| {
        let web = &web;
        async move {
            let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            web.post(&path, &borrowed).await
        }
    };
    let wrong = post(format!("/analyser/{id}/innhold"), pairs(&content("31.02.2026", v.clone()))).await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body.contains("id=\"date-1-error\"") && wrong.body.contains("href=\"#date-1\""), "{}", wrong.body);
    assert!(wrong.body.contains("value=\"31.02.2026\"") && wrong.body.contains("Hjemmetjenesten ringer sykehuset."));
    assert!(wrong.body.contains("Legemiddelendringer ble ikke kjent.") && wrong.body.contains("før overgangen."));
    assert_eq!(stored(&app, &id).timeline, Vec::<Fact>::new(), "nothing stored");
    let saved = post(format!("/analyser/{id}/innhold"), pairs(&content("13.05.2026", v.clone()))).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = stored(&app, &id);
    assert_eq!(stored.timeline.iter().map(|f| f.date.as_str()).collect::<Vec<_>>(), ["2026-05-12", "2026-05-13"]);
    assert_eq!(stored.care_problems, ["Legemiddelendringer ble ikke kjent."]);
    // The same form again, from before that save: someone changed it meanwhile (409), text kept.
    let stale = post(format!("/analyser/{id}/innhold"), pairs(&content("14.05.2026", v))).await;
    assert_eq!(stale.status, 409);
    assert!(stale.body.contains("Noen andre endret analysen") && stale.body.contains("value=\"14.05.2026\""));

    // A factor without a category: named, the description kept; then added.
    let factor = |category: &'static str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("category".into(), category.into()),
            ("description".into(), "Ingen felles sjekkpunkt før overgangen.".into()),
        ]
    };
    let unnamed = post(format!("/analyser/{id}/faktor"), factor("")).await;
    assert_eq!(unnamed.status, 422);
    assert!(unnamed.body.contains("href=\"#factor-category\"") && unnamed.body.contains(">Ingen felles sjekkpunkt"));
    assert_eq!(post(format!("/analyser/{id}/faktor"), factor("transitions_between_organisations")).await.status, 303);
    let page = web.get(&format!("/analyser/{id}")).await;
    assert!(page.body.contains("Overganger mellom virksomheter"), "{}", page.body);

    // The municipal advisor is offered as a participant; someone from elsewhere is not taken.
    let muni = caller(&app, MUNI_ADVISOR);
    let outsider = caller(&app, "kvalitet@hnt.example");
    assert!(page.body.contains(&format!("value=\"{}\"", muni.user_id)));
    assert!(!page.body.contains(&format!("value=\"{}\"", outsider.user_id)));
    let refused = post(
        format!("/analyser/{id}/deltaker"),
        vec![("csrf".into(), csrf.clone()), ("user_id".into(), outsider.user_id.to_string())],
    )
    .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("href=\"#participant-user\""), "{}", refused.body);
    let added = post(
        format!("/analyser/{id}/deltaker"),
        vec![("csrf".into(), csrf.clone()), ("user_id".into(), muni.user_id.to_string())],
    )
    .await;
    assert_eq!(added.status, 303);

    // Status: forward only, with the version read; a closed analysis offers no forms.
    let mut body = web.get(&format!("/analyser/{id}")).await.body;
    for to in ["in_progress", "concluded", "closed"] {
        let moved = post(
            format!("/analyser/{id}/status"),
            vec![("csrf".into(), csrf.clone()), ("version".into(), version(&body)), ("to".into(), to.into())],
        )
        .await;
        assert_eq!(moved.status, 303, "{to}: {}", moved.body);
        body = web.get(&format!("/analyser/{id}")).await.body;
    }
    assert!(body.contains("Avsluttet") && !body.contains("/innhold\"") && !body.contains("/faktor\""), "{body}");
    let late = post(format!("/analyser/{id}/faktor"), factor("team")).await;
    assert_eq!(late.status, 409);
    assert!(late.body.contains("Analysen er avsluttet"));

    // Someone of an unrelated organisation: as if it were not there, on every page of it.
    let other = crate::pages::WebClient::new(&app);
    other.login("kvalitet@hnt.example").await;
    assert_eq!(other.get(&format!("/analyser/{id}")).await.status, 404);
    let token = other.csrf("/analyser").await;
    assert_eq!(
        other
            .post(&format!("/analyser/{id}/faktor"), &[("csrf", &token), ("category", "team"), ("description", "x")])
            .await
            .status,
        404
    );
    assert_eq!(other.get(&format!("/analyser/ny?avvik={first}")).await.status, 404, "a case they cannot see");
    assert!(!other.get("/analyser").await.body.contains(&id));
    // The nurse does not start analyses.
    let nurse = crate::pages::WebClient::new(&app);
    nurse.login(NURSE).await;
    assert_eq!(nurse.get(&format!("/analyser/ny?avvik={first}")).await.status, 403);
}

#[actix_web::test]
async fn the_demo_holds_one_concluded_analysis_of_deviations_from_two_organisations_and_makes_it_once() {
    let app = spawn_app().await;
    let mut conn = app.conn();
    assert!(samavvik::seed::seed_demo_cases(&mut conn, &app.config).unwrap());
    assert!(!samavvik::seed::seed_demo_cases(&mut conn, &app.config).unwrap(), "not twice");
    let advisor = caller(&app, HOSPITAL_ADVISOR);
    let listed = analyses::list(&mut conn, &advisor).unwrap();
    assert_eq!(listed.len(), 1);
    let a = analyses::get(&mut conn, &advisor, &listed[0].id).unwrap();
    assert_eq!((a.status, a.deviations.len(), a.factors.len()), (AnalysisStatus::Concluded, 2, 2));
    assert!(a.conclusion.is_some() && a.timeline.len() == 3);
    assert!(a.participants.contains(&caller(&app, MUNI_ADVISOR).user_id));
    let token = app.login(HOSPITAL_ADVISOR).await;
    let mut senders = Vec::new();
    for d in &a.deviations {
        let deviation = app.get(&format!("/api/v1/deviations/{d}"), &token).await.expect(200);
        senders.push(deviation["reporting_organisation"]["name"].as_str().unwrap().to_owned());
        let events = app.get(&format!("/api/v1/deviations/{d}/events"), &token).await.expect(200);
        assert!(events["items"].as_array().unwrap().iter().any(|e| e["kind"] == "analysis_linked"));
    }
    senders.sort();
    assert_eq!(senders, ["St. Olavs hospital HF", "Trondheim kommune"]);
    // Its action is done, with the day it took effect inside the demo's range.
    let actions = app.get(&format!("/api/v1/actions?analysis_id={}", a.id), &token).await.expect(200);
    let action = &actions["items"][0];
    assert_eq!((action["status"].as_str(), actions["items"].as_array().unwrap().len()), (Some("done"), 1));
    let effect = chrono::NaiveDate::parse_from_str(action["effective_on"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert!(effect < app.today() && effect > app.today() - chrono::Duration::days(30), "{effect}");
}
