//! Læringsnotat (#36) over the API on both databases: published from a concluded analysis by one
//! who worked on it, only with the tick and without a national id or a patient's name, read by
//! every person of the helsefellesskap — also of an organisation that had no part in the cases —
//! and by no one outside it, taken down by its author or the improvement group.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::patients::{keys, numbers, with_patient};

/// A person of Malvik kommune: of the helsefellesskap, of neither party to the demo's cases.
pub(crate) async fn third_organisation(app: &TestApp) -> String {
    let admin = app.login(ADMIN).await;
    let malvik = app.organisation(&admin, "Malvik kommune").await;
    let user = json!({"name": "Mona Malvik", "email": "sykepleier@malvik.example", "organisation_id": malvik["id"],
                      "unit_id": null, "role": "reporter", "password": DEMO_PASSWORD});
    app.post("/api/v1/users", &admin, &user).await.expect(201);
    app.login("sykepleier@malvik.example").await
}

/// The demo's concluded analysis, as its hospital advisor reads it.
pub(crate) async fn demo_analysis(app: &TestApp) -> String {
    samavvik::seed::seed_demo_cases(&mut app.conn(), &app.config).unwrap();
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let list = app.get("/api/v1/analyses", &advisor).await.expect(200);
    list["items"][0]["id"].as_str().unwrap().to_owned()
}

fn note(analysis: &str, anonymised: bool) -> Value {
    json!({
        "analysis_id": analysis,
        "title": "Legemiddellisten følger pasienten",
        "what_happened": "Hjemmesykepleien fikk ikke vite at en medisin var seponert.",
        "why": "Legemiddellisten ble sendt dagen etter utskrivning.",
        "what_changed": "Listen sendes sammen med epikrisen før pasienten reiser.",
        "anonymised": anonymised,
    })
}

fn titles(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap().to_owned()).collect()
}

fn field_codes(problem: &Value) -> Vec<String> {
    let fields = problem["fields"].as_array().unwrap();
    fields.iter().map(|f| format!("{}:{}", f["field"].as_str().unwrap(), f["code"].as_str().unwrap())).collect()
}

#[actix_web::test]
async fn a_participant_publishes_a_note_that_the_whole_health_community_reads_and_no_one_outside() {
    let app = spawn_app().await;
    let analysis = demo_analysis(&app).await;
    let muni = app.login(MUNI_ADVISOR).await;
    let demo = vec![samavvik::seed::DEMO_NOTE.to_owned()];
    assert_eq!(titles(&app.get("/api/v1/learning-notes", &muni).await.expect(200)), demo);

    // Without the tick, or with a national id in it: refused by the field, the number never
    // repeated, and nothing published.
    let unticked =
        app.post("/api/v1/learning-notes", &muni, &note(&analysis, false)).await.problem(422, "validation_failed");
    assert_eq!(field_codes(&unticked), ["anonymised:required"]);
    let number = numbers("150385", 1).remove(0);
    let mut with_number = note(&analysis, true);
    with_number["why"] = json!(format!("Pasient {number} fikk feil dose."));
    let refused = app.post("/api/v1/learning-notes", &muni, &with_number).await.problem(422, "national_id_in_text");
    assert_eq!(field_codes(&refused), ["why:national_id_in_text"]);
    assert!(!refused.to_string().contains(&number));
    assert_eq!(titles(&app.get("/api/v1/learning-notes", &muni).await.expect(200)), demo);

    let published = app.post("/api/v1/learning-notes", &muni, &note(&analysis, true)).await.expect(201);
    let path = format!("/api/v1/learning-notes/{}", published["id"].as_str().unwrap());
    assert_eq!((published["published"].clone(), published["may_unpublish"].clone()), (json!(true), json!(true)));
    assert_eq!(published["author"]["name"], "Kari Kvalitet");
    assert_eq!(published["author_organisation"]["name"], "Trondheim kommune");

    // Every person of the helsefellesskap reads it — Malvik had no part — without the author's
    // name; the region's analyst too; Nord-Trøndelag does not, and no machine.
    let malvik = third_organisation(&app).await;
    let read = app.get(&path, &malvik).await.expect(200);
    assert_eq!((read["author"].clone(), read["may_unpublish"].clone()), (Value::Null, json!(false)));
    assert_eq!(read["what_changed"], "Listen sendes sammen med epikrisen før pasienten reiser.");
    assert_eq!(titles(&app.get("/api/v1/learning-notes", &malvik).await.expect(200))[0], published["title"]);
    let regional = app.login("analytiker@helse-midt.example").await;
    app.get(&path, &regional).await.expect(200);
    let levanger = app.login("sykepleier@levanger.example").await;
    app.get(&path, &levanger).await.problem(404, "not_found");
    assert_eq!(titles(&app.get("/api/v1/learning-notes", &levanger).await.expect(200)), Vec::<String>::new());

    // Only those who worked on the analysis write one.
    app.post("/api/v1/learning-notes", &malvik, &note(&analysis, true)).await.problem(404, "not_found");

    // Taken down by the improvement group (not by a reader), then gone for readers, still there
    // for the group and the author; once only.
    app.post(&format!("{path}/unpublish"), &malvik, &json!({})).await.problem(403, "forbidden");
    let group = app.login(ANALYST).await;
    let down = app.post(&format!("{path}/unpublish"), &group, &json!({})).await.expect(200);
    assert_eq!((down["published"].clone(), down["may_unpublish"].clone()), (json!(false), json!(false)));
    app.post(&format!("{path}/unpublish"), &muni, &json!({})).await.problem(409, "note_unpublished");
    app.get(&path, &malvik).await.problem(404, "not_found");
    app.get(&path, &muni).await.expect(200);
    assert_eq!(titles(&app.get("/api/v1/learning-notes", &malvik).await.expect(200)), demo);
}

#[actix_web::test]
async fn a_note_is_written_only_once_the_analysis_is_concluded_and_never_names_its_patient() {
    let app = spawn_app_with(keys).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let number = numbers("010203", 1).remove(0);
    let case = app.submit(&nurse, &with_patient(form(stolav["id"].as_str().unwrap()), &number)).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let new = json!({"title": "Medisinlisten", "deviation_ids": [case["id"]]});
    let a = app.post("/api/v1/analyses", &advisor, &new).await.expect(201);
    let analysis = a["id"].as_str().unwrap();
    app.post("/api/v1/learning-notes", &advisor, &note(analysis, true)).await.problem(409, "analysis_not_concluded");

    let path = format!("/api/v1/analyses/{analysis}");
    let a =
        app.post(&format!("{path}/status"), &advisor, &json!({"to": "in_progress", "version": 0})).await.expect(200);
    let a = app.patch(&path, &advisor, &json!({"version": a["version"], "conclusion": "Rutinen mangler."})).await;
    let a = a.expect(200);
    app.post(&format!("{path}/status"), &advisor, &json!({"to": "concluded", "version": a["version"]}))
        .await
        .expect(200);

    // The patient's surname in two fields, in another case: both fields named, the name not.
    let mut naming = note(analysis, true);
    naming["what_happened"] = json!("Fru NORDMANN fikk ikke medisinene sine.");
    naming["what_changed"] = json!("Vi ringer nordmann-familien; listen sendes.");
    let refused = app.post("/api/v1/learning-notes", &advisor, &naming).await.problem(422, "validation_failed");
    assert_eq!(
        field_codes(&refused),
        ["what_happened:patient_identity_in_text", "what_changed:patient_identity_in_text"]
    );
    assert!(!refused.to_string().to_lowercase().contains("nordmann"), "{refused}");
    let lists = app.get("/api/v1/learning-notes", &advisor).await.expect(200);
    assert_eq!(titles(&lists), Vec::<String>::new());

    // Each check opened the identity and is in the patient's log; a clean note passes.
    app.post("/api/v1/learning-notes", &advisor, &note(analysis, true)).await.expect(201);
    let privacy = app.login("personvern@stolav.example").await;
    let today = app.today().to_string();
    let ask = json!({"national_id": number, "from": today, "to": today});
    let log = app.post("/api/v1/patient-access-log/search", &privacy, &ask).await;
    let log = log.expect(200);
    let guards: Vec<&Value> = log["items"].as_array().unwrap().iter().filter(|e| e["action"] == "guard").collect();
    assert_eq!(guards.len(), 2, "{log}");
    assert!(guards.iter().all(|g| g["result"] == "checked" && g["user"]["name"] == "Kristian Kvalitet"));
}

#[actix_web::test]
async fn the_pages_publish_a_note_from_the_analysis_keep_what_was_typed_and_show_it_under_laering() {
    let app = spawn_app().await;
    let analysis = demo_analysis(&app).await;
    let web = crate::pages::WebClient::new(&app);
    web.login(MUNI_ADVISOR).await;
    let page = web.get(&format!("/analyser/{analysis}")).await;
    assert!(page.body.contains("Skriv læringsnotat") && page.body.contains(samavvik::seed::DEMO_NOTE), "{}", page.body);
    let csrf = web.csrf("/laering").await;
    let path = format!("/analyser/{analysis}/laeringsnotat");
    let fields = [
        ("csrf", csrf.as_str()),
        ("title", "Ring før utskrivning"),
        ("what_happened", "Pasienten kom hjem uten at hjemmesykepleien visste om det."),
        ("why", "Ingen rutine for å varsle."),
        ("what_changed", "Avdelingen ringer hjemmesykepleien dagen før."),
    ];
    // Without the tick: 422, the error by the box, everything typed still there.
    let refused = web.post(&path, &fields).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("href=\"#note-anonymised\"") && refused.body.contains("Ingen rutine for å varsle."));
    let mut ticked = fields.to_vec();
    ticked.push(("anonymised", "ja"));
    let published = web.post(&path, &ticked).await;
    assert_eq!(published.status, 303, "{}", published.body);
    let note = web.get(published.location.as_deref().unwrap()).await;
    assert!(note.body.contains("Læringsnotatet er publisert") && note.body.contains("Ta ned notatet"), "{}", note.body);

    // A reader of another organisation finds it under Læring, and may not take it down.
    let reader = crate::pages::WebClient::new(&app);
    reader.login("sykepleier@stolav.example").await;
    let list = reader.get("/laering").await;
    assert!(list.body.contains("Ring før utskrivning") && list.body.contains("aria-current=\"page\">Læring"));
    let one = reader.get(published.location.as_deref().unwrap().split('?').next().unwrap()).await;
    assert_eq!(one.status, 200);
    assert!(one.body.contains("Avdelingen ringer hjemmesykepleien dagen før.") && !one.body.contains("Ta ned"));
    assert!(!one.body.contains("Kari Kvalitet"), "the author is named only to those who may take it down");

    // The author takes it down: gone from the list.
    let down = published.location.as_deref().unwrap().replace("?gjort=publisert", "/ta-ned");
    let taken = web.post(&down, &[("csrf", csrf.as_str())]).await;
    assert_eq!(taken.status, 303, "{}", taken.body);
    assert!(!reader.get("/laering").await.body.contains("Ring før utskrivning"));
}

/// The path and query of a link the service made for its public address, on the test server.
fn on_test_server(app: &TestApp, link: &str) -> String {
    let at = link.find("/nyhetsbrev/").unwrap();
    format!("{}{}", app.address, &link[at..])
}

#[actix_web::test]
async fn the_newsletter_goes_once_to_each_subscriber_with_a_one_click_unsubscribe_that_only_its_owner_has() {
    let sink = crate::mailserver::SmtpSink::start().await;
    let app = spawn_app_with(|c| smtp_to(c, sink.port)).await;
    demo_analysis(&app).await;
    let (muni, nurse, levanger) =
        (app.login(MUNI_ADVISOR).await, app.login(NURSE).await, app.login("sykepleier@levanger.example").await);
    let off = app.get("/api/v1/me/newsletter", &muni).await.expect(200);
    assert_eq!(off, json!({"subscribed": false, "since": null}));
    let subscribe = json!({"subscribed": true});
    for token in [&muni, &nurse, &levanger] {
        let on = app.request(reqwest::Method::PUT, "/api/v1/me/newsletter", Some(token), Some(&subscribe));
        assert_eq!(on.await.expect(200)["subscribed"], true);
    }

    // Only the improvement group sends it; to the subscribers of its helsefellesskap alone.
    app.post("/api/v1/newsletters", &muni, &json!({})).await.problem(403, "forbidden");
    let group = app.login(ANALYST).await;
    let bad =
        app.post("/api/v1/newsletters", &group, &json!({"tertial": "2026-05"})).await.problem(422, "validation_failed");
    assert_eq!(bad["fields"][0]["field"], "tertial");
    let sent = app.post("/api/v1/newsletters", &group, &json!({})).await.expect(202);
    assert_eq!(
        (sent["queued"].as_u64(), sent["health_community"]["name"].as_str()),
        (Some(2), Some("Helsefellesskapet St. Olav"))
    );
    app.worker().deliver_due().await.unwrap();
    let letters: Vec<_> = sink.messages().into_iter().filter(|m| m.subject().starts_with("Nyhetsbrev")).collect();
    let mut to: Vec<String> = letters.iter().map(|m| m.to.join(",")).collect();
    to.sort();
    assert_eq!(to, [MUNI_ADVISOR, NURSE]);
    let letter = &letters[0];
    let text = letter.text();
    for part in [
        "Nøkkeltall",
        "Meldte avvik: 2",
        samavvik::seed::DEMO_NOTE,
        "Epikrisen sendes før pasienten forlater avdelingen",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    // No free text from the deviations, in either part.
    assert!(
        !text.contains("Pasienten kom hjem fra medisinsk klinikk") && !text.contains("Innleggelsesrapporten"),
        "{text}"
    );
    assert!(letter.data.contains("multipart/alternative") && letter.data.contains("text/html"));
    assert_eq!(letter.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    let header = letter.header("List-Unsubscribe").unwrap();
    let link = header.trim_start_matches('<').trim_end_matches('>').to_owned();
    assert!(text.contains(&link), "the link is in the text too");
    let url = on_test_server(&app, &link);

    // Tampered: refused, and still subscribed. Read: asks, without unsubscribing.
    let tampered = url.replace("signatur=", "signatur=0");
    let client = reqwest::Client::new();
    let refused = client.post(&tampered).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("Lenken virker ikke"));
    let asked = client.get(&url).send().await.unwrap();
    assert_eq!(asked.status(), 200);
    assert!(asked.text().await.unwrap().contains("Meld meg av nyhetsbrevet"));
    let owner = if letter.to.join(",") == NURSE { &nurse } else { &muni };
    assert_eq!(app.get("/api/v1/me/newsletter", owner).await.expect(200)["subscribed"], true);

    // One click, as a mail program does it, without logging in; then the link is spent.
    let done = client.post(&url).form(&[("List-Unsubscribe", "One-Click")]).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Du er meldt av"));
    assert_eq!(app.get("/api/v1/me/newsletter", owner).await.expect(200)["subscribed"], false);
    let replayed = client.post(&url).send().await.unwrap();
    assert_eq!(replayed.status(), 410);
    // Subscribed again: the old link does not end the new subscription.
    app.clock.advance(chrono::Duration::seconds(5));
    app.request(reqwest::Method::PUT, "/api/v1/me/newsletter", Some(owner), Some(&subscribe)).await.expect(200);
    assert_eq!(client.post(&url).send().await.unwrap().status(), 400);
    assert_eq!(app.get("/api/v1/me/newsletter", owner).await.expect(200)["subscribed"], true);

    // Sent again on demand: a new issue, once more to each.
    let again = app.post("/api/v1/newsletters", &group, &json!({"tertial": null})).await.expect(202);
    assert_eq!(again["queued"], 2);
}
