//! Patient identity (#18): refused unless switched on, sealed apart from the case, shown only to
//! those who handle the case and only on purpose, every look in an append-only log.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use samavvik::config::PatientIdentity;
use samavvik::db::DbConnection;
use samavvik::domain::national_id::parse_patient_id;
use serde_json::{json, Value};

use crate::helpers::*;

/// Valid fødselsnumre of people born on `birth` (ddmmyy, 1900s), as many as asked.
pub(crate) fn numbers(birth: &str, how_many: usize) -> Vec<String> {
    (0..500)
        .flat_map(|n| (0..100).map(move |k| format!("{birth}{n:03}{k:02}")))
        .filter(|candidate| parse_patient_id(candidate).is_ok())
        .take(how_many)
        .collect()
}

/// Patient identity switched on (optional), with test keys.
pub(crate) fn keys(c: &mut samavvik::config::Config) {
    c.patient_identity = PatientIdentity::Optional;
    c.patient_keys = "k1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f".into();
    c.patient_hash_key = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0".into();
}

pub(crate) async fn app_with(mode: PatientIdentity) -> TestApp {
    spawn_app_with(|c| {
        keys(c);
        c.patient_identity = mode;
    })
    .await
}

pub(crate) fn with_patient(mut form: Value, national_id: &str) -> Value {
    form["patient"] = json!({"national_id": national_id, "name": "Kari Nordmann"});
    form
}

/// A report about a patient born on `birth`, whose identity the hospital's advisor has seen once.
pub(crate) async fn one_revealed(app: &TestApp, birth: &str) {
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let number = numbers(birth, 1).remove(0);
    let d = app.post("/api/v1/deviations", &nurse, &with_patient(form(stolav["id"].as_str().unwrap()), &number)).await;
    let id = d.expect(201)["id"].as_str().unwrap().to_owned();
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    app.post(&format!("/api/v1/deviations/{id}/patient/reveal"), &advisor, &json!({"reason": "answer"}))
        .await
        .expect(200);
}

/// Every stored identity opened with `keyring` (each must be sealed with `key`): the numbers, sorted.
fn opened_numbers(conn: &mut DbConnection, keyring: &samavvik::patients::keys::Keyring, key: &str) -> Vec<String> {
    let rows = samavvik::db::patients::sealed_with_other_key(conn, "none", &"".into(), 1000).unwrap();
    let mut opened: Vec<String> = rows
        .into_iter()
        .map(|row| {
            assert_eq!(row.key_id.as_deref(), Some(key));
            let sealed =
                samavvik::patients::keys::Sealed { key_id: row.key_id.unwrap(), ciphertext: row.ciphertext.unwrap() };
            let plain = keyring.open(row.deviation_id.as_str(), &sealed).unwrap();
            serde_json::from_slice::<Value>(&plain).unwrap()["national_id"].as_str().unwrap().to_owned()
        })
        .collect();
    opened.sort();
    opened
}

#[derive(QueryableByName, Debug)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The innsyn answer as CSV, as the privacy officer asks for it for the letter to the patient.
pub(crate) async fn innsyn_csv(app: &TestApp, officer: &str, ask: &Value) -> String {
    let csv = app
        .request_with(
            reqwest::Method::POST,
            "/api/v1/patient-access-log/search",
            Some(officer),
            Some(ask),
            &[("accept", "text/csv")],
        )
        .await;
    csv.body.as_str().unwrap().to_owned()
}

pub(crate) fn count(conn: &mut DbConnection, sql: &str) -> i64 {
    let rows: Vec<Count> = match conn {
        DbConnection::Pg(c) => diesel::sql_query(sql).load(c),
        DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c),
    }
    .unwrap();
    rows[0].n
}

#[derive(QueryableByName, Debug)]
struct Dump {
    #[diesel(sql_type = Text)]
    text: String,
}

/// Every stored column of the tables a number could end up in, as text.
pub(crate) fn dump(conn: &mut DbConnection) -> String {
    let tables = [
        "SELECT CAST(request AS TEXT) AS text FROM idempotency_keys",
        "SELECT description AS text FROM deviations",
        "SELECT details AS text FROM deviations",
        "SELECT COALESCE(ciphertext, '') AS text FROM patient_identities",
        "SELECT COALESCE(patient_hash, '') AS text FROM patient_identities",
        "SELECT COALESCE(reason_text, '') || COALESCE(patient_hash, '') AS text FROM patient_access_log",
        "SELECT COALESCE(text, '') AS text FROM deviation_events",
        "SELECT CAST(data AS TEXT) AS text FROM outbox",
    ];
    let mut all = String::new();
    for sql in tables {
        let rows: Vec<Dump> = match conn {
            DbConnection::Pg(c) => diesel::sql_query(sql).load(c),
            DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        all.extend(rows.into_iter().map(|r| r.text + "\n"));
    }
    all
}

#[actix_web::test]
async fn the_field_is_refused_where_the_deployment_has_not_switched_it_on() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let number = &numbers("010170", 1)[0];
    let body = with_patient(form(stolav["id"].as_str().unwrap()), number);
    let refused = app.post("/api/v1/deviations", &nurse, &body).await.problem(422, "validation_failed");
    assert_eq!(
        (refused["fields"][0]["field"].as_str(), refused["fields"][0]["code"].as_str()),
        (Some("patient"), Some("not_enabled"))
    );
    assert!(!refused.to_string().contains(number.as_str()), "the number is not repeated");
    assert_eq!(app.get("/api/v1/deviations?box=sent", &nurse).await.expect(200)["items"], json!([]));
}

#[actix_web::test]
async fn a_wrong_number_is_refused_by_its_field_without_repeating_it_and_required_means_required() {
    let app = app_with(PatientIdentity::Required).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let form = form(stolav["id"].as_str().unwrap());
    let missing = app.post("/api/v1/deviations", &nurse, &form).await.problem(422, "validation_failed");
    assert_eq!(missing["fields"][0]["field"], "patient.national_id");
    assert_eq!(missing["fields"][0]["code"], "required");
    let good = &numbers("010170", 1)[0];
    let mut wrong = good.clone();
    let last = if wrong.ends_with('0') { "1" } else { "0" };
    wrong.replace_range(10.., last);
    let refused = app.post("/api/v1/deviations", &nurse, &with_patient(form.clone(), &wrong)).await;
    let refused = refused.problem(422, "validation_failed");
    assert_eq!(refused["fields"][0]["field"], "patient.national_id");
    assert_eq!(refused["fields"][0]["code"], "invalid_national_id");
    assert!(!refused.to_string().contains(&wrong[..6]), "{refused}");
    app.post("/api/v1/deviations", &nurse, &with_patient(form, good)).await.expect(201);
}

#[actix_web::test]
async fn only_those_who_handle_the_case_see_the_identity_on_purpose_and_every_look_is_logged() {
    let app = app_with(PatientIdentity::Optional).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let number = numbers("150385", 1).remove(0);
    let d = app.post("/api/v1/deviations", &nurse, &with_patient(form(stolav["id"].as_str().unwrap()), &number)).await;
    let d = d.expect(201);
    let id = d["id"].as_str().unwrap().to_owned();
    assert!(!d.to_string().contains(&number), "not in the answer to the submission");
    let reveal = format!("/api/v1/deviations/{id}/patient/reveal");
    let why = json!({"reason": "investigation"});

    // The receiving quality advisor and handler, and the sending quality advisor: shown, not cached.
    for who in [HOSPITAL_ADVISOR, HANDLER, MUNI_ADVISOR] {
        let token = app.login(who).await;
        let shown = app.post(&reveal, &token, &why).await;
        assert_eq!(shown.headers["cache-control"], "no-store");
        let shown = shown.expect(200);
        assert_eq!(
            (shown["national_id"].as_str(), shown["name"].as_str()),
            (Some(number.as_str()), Some("Kari Nordmann")),
            "{who}"
        );
    }
    // The reporter herself, analysts, admins, and a quality advisor of an organisation that is no
    // party (another helsefellesskap's hospital): as if there were no such deviation.
    for who in [NURSE, ANALYST, ADMIN, "kvalitet@hnt.example"] {
        let token = app.login(who).await;
        app.post(&reveal, &token, &why).await.problem(404, "not_found");
    }
    // A reason is required; «other» needs words, and those words pass the national-id guard.
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    app.post(&reveal, &advisor, &json!({})).await.problem(422, "validation_failed");
    app.post(&reveal, &advisor, &json!({"reason": "curiosity"})).await.problem(422, "validation_failed");
    app.post(&reveal, &advisor, &json!({"reason": "other"})).await.problem(422, "validation_failed");
    let guard = json!({"reason": "other", "text": format!("Gjelder {number}")});
    app.post(&reveal, &advisor, &guard).await.problem(422, "national_id_in_text");

    // Nowhere else: the case, the lists, the timeline.
    for path in [
        format!("/api/v1/deviations/{id}"),
        "/api/v1/deviations?box=received".into(),
        format!("/api/v1/deviations/{id}/events"),
    ] {
        let body = app.get(&path, &advisor).await.expect(200).to_string();
        assert!(!body.contains(&number) && !body.contains("Kari Nordmann"), "{path}");
    }

    let mut conn = app.conn();
    let sql = |result: &str| {
        format!("SELECT COUNT(*) AS n FROM patient_access_log WHERE action = 'reveal' AND result = '{result}'")
    };
    assert_eq!(count(&mut conn, &sql("shown")), 3);
    assert_eq!(count(&mut conn, &sql("refused")), 4);
    assert_eq!(
        count(&mut conn, &format!("SELECT COUNT(*) AS n FROM patient_access_log WHERE deviation_id = '{id}' AND reason = 'investigation' AND patient_hash IS NOT NULL")),
        3
    );
    let stored = dump(&mut conn);
    assert!(!stored.contains(&number) && !stored.contains("Kari Nordmann"), "only sealed at rest");
}

#[actix_web::test]
async fn related_deviations_are_found_by_the_keyed_hash_within_what_the_caller_may_see() {
    let app = app_with(PatientIdentity::Optional).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let form = form(stolav["id"].as_str().unwrap());
    let [same, other] = <[String; 2]>::try_from(numbers("020290", 2)).unwrap();
    let first = app.post("/api/v1/deviations", &nurse, &with_patient(form.clone(), &same)).await.expect(201);
    let second = app.post("/api/v1/deviations", &nurse, &with_patient(form.clone(), &same)).await.expect(201);
    app.post("/api/v1/deviations", &nurse, &with_patient(form.clone(), &other)).await.expect(201);
    app.post("/api/v1/deviations", &nurse, &form).await.expect(201);
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let related = app.get(&format!("/api/v1/deviations/{}/related", first["id"].as_str().unwrap()), &advisor).await;
    let related = related.expect(200);
    assert_eq!(related["items"].as_array().unwrap().len(), 1, "{related}");
    assert_eq!(related["items"][0]["reference"], second["reference"]);
    assert!(!related.to_string().contains(&same));
    // Someone who cannot see the deviation learns nothing, and the try is logged.
    let analyst = app.login(ANALYST).await;
    app.get(&format!("/api/v1/deviations/{}/related", first["id"].as_str().unwrap()), &analyst)
        .await
        .problem(404, "not_found");
    let mut conn = app.conn();
    let logged = "SELECT COUNT(*) AS n FROM patient_access_log WHERE action = 'related'";
    assert_eq!(count(&mut conn, logged), 2);
}

#[actix_web::test]
async fn the_access_log_refuses_changes_except_the_retention_purge() {
    let app = app_with(PatientIdentity::Optional).await;
    one_revealed(&app, "030303").await;

    let mut conn = app.conn();
    let all = "SELECT COUNT(*) AS n FROM patient_access_log";
    assert_eq!(count(&mut conn, all), 1);
    for sql in ["UPDATE patient_access_log SET reason = 'other'", "DELETE FROM patient_access_log"] {
        let refused = diesel::sql_query(sql).execute(&mut conn);
        assert!(refused.is_err_and(|e| e.to_string().contains("append-only")), "{sql}");
    }
    if let DbConnection::Pg(c) = &mut conn {
        assert!(diesel::sql_query("TRUNCATE patient_access_log").execute(c).is_err(), "TRUNCATE too");
    }
    assert_eq!(count(&mut conn, all), 1);
    // The retention job's path: a cut-off, the rows before it, the cut-off removed; in one transaction.
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        diesel::sql_query("INSERT INTO patient_access_log_purge (before) VALUES ('2100-01-01 00:00:00')").execute(c)?;
        diesel::sql_query("DELETE FROM patient_access_log").execute(c)?;
        diesel::sql_query("DELETE FROM patient_access_log_purge").execute(c)?;
        Ok(())
    })
    .unwrap();
    assert_eq!(count(&mut conn, all), 0);
}

#[actix_web::test]
async fn a_retried_submission_is_recognised_by_the_hash_and_the_key_keeps_no_number() {
    let app = app_with(PatientIdentity::Optional).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let [one, two] = <[String; 2]>::try_from(numbers("040404", 2)).unwrap();
    let form = form(stolav["id"].as_str().unwrap());
    let key = "4f1d8a7e-retry-with-patient";
    let first = app.submit_with_key(&nurse, &with_patient(form.clone(), &one), key).await.expect(201);
    let again = app.submit_with_key(&nurse, &with_patient(form.clone(), &one), key).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.expect(201)["id"], first["id"]);
    let other = app.submit_with_key(&nurse, &with_patient(form, &two), key).await;
    other.problem(422, "idempotency_key_reused");
    let stored = dump(&mut app.conn());
    assert!(!stored.contains(&one) && !stored.contains(&two));
}

#[actix_web::test]
async fn the_identity_is_erased_on_time_after_closing_and_a_reopened_case_keeps_it() {
    let app = app_with(PatientIdentity::Optional).await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let form = form(stolav["id"].as_str().unwrap());
    let [a, b] = <[String; 2]>::try_from(numbers("050505", 2)).unwrap();
    let rejected = app.post("/api/v1/deviations", &nurse, &with_patient(form.clone(), &a)).await.expect(201);
    let reopened = app.post("/api/v1/deviations", &nurse, &with_patient(form, &b)).await.expect(201);
    let (rejected, reopened) = (rejected["id"].as_str().unwrap(), reopened["id"].as_str().unwrap());
    app.act(&advisor, rejected, "reject", &json!({"reason": "Gjelder intern rutine."})).await.expect(200);
    app.act(&advisor, reopened, "answer", &json!({"answer": "Rutinen er rettet."})).await.expect(200);
    app.act(&nurse, reopened, "close", &json!({})).await.expect(200);

    // 29 days after: kept; the reporter reopens the second one.
    app.clock.advance(chrono::Duration::days(29));
    let now = || app.clock.now_naive();
    let mut conn = app.conn();
    assert_eq!(samavvik::patients::erase_due(&mut conn, &app.config, now()).unwrap(), 0);
    app.act(&nurse, reopened, "reopen", &json!({"note": "Det skjedde igjen."})).await.expect(200);
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(samavvik::patients::erase_due(&mut conn, &app.config, now()).unwrap(), 1, "only the one still closed");
    assert_eq!(samavvik::patients::erase_due(&mut conn, &app.config, now()).unwrap(), 0, "once");

    let reveal = |id: &str| format!("/api/v1/deviations/{id}/patient/reveal");
    let why = json!({"reason": "investigation"});
    app.post(&reveal(rejected), &advisor, &why).await.problem(410, "patient_identity_erased");
    assert_eq!(app.post(&reveal(reopened), &advisor, &why).await.expect(200)["national_id"], b.as_str());
    let events = app.get(&format!("/api/v1/deviations/{rejected}/events"), &nurse).await.expect(200);
    let last = events["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["kind"].as_str(), last["text"].as_str()), (Some("patient_identity_erased"), None));
    let gone = "SELECT COUNT(*) AS n FROM patient_identities WHERE erased_at IS NOT NULL AND ciphertext IS NULL AND patient_hash IS NULL AND key_id IS NULL";
    assert_eq!(count(&mut conn, gone), 1);
    let logged = "SELECT COUNT(*) AS n FROM patient_access_log WHERE result = 'erased'";
    assert_eq!(count(&mut conn, logged), 1);
}

#[actix_web::test]
async fn the_case_page_shows_the_identity_once_on_purpose() {
    let app = app_with(PatientIdentity::Optional).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let number = numbers("060606", 1).remove(0);
    let d = app.post("/api/v1/deviations", &nurse, &with_patient(form(stolav["id"].as_str().unwrap()), &number)).await;
    let id = d.expect(201)["id"].as_str().unwrap().to_owned();
    let case = format!("/avvik/{id}");

    let reporter = crate::pages::WebClient::new(&app);
    reporter.login(NURSE).await;
    assert!(!reporter.get(&case).await.body.contains("Vis pasientidentitet"), "not for the reporter");

    let advisor = crate::pages::WebClient::new(&app);
    advisor.login(HOSPITAL_ADVISOR).await;
    let page = advisor.get(&case).await.body;
    assert!(page.contains("Vis pasientidentitet") && !page.contains(&number));
    let csrf = advisor.csrf(&case).await;
    let why = format!("{case}/pasient");
    let refused = advisor.post(&why, &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("Velg hvorfor du trenger å se pasientidentiteten.") && !refused.body.contains(&number)
    );
    let shown = advisor.post(&why, &[("csrf", &csrf), ("reason", "answer")]).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains(&number) && shown.body.contains("Visningen er logget"), "{}", shown.body);
    assert!(!advisor.get(&case).await.body.contains(&number), "shown on that response only");
}

#[actix_web::test]
async fn rotation_reseals_every_identity_with_the_active_key_and_can_run_again() {
    let app = app_with(PatientIdentity::Optional).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let form = form(stolav["id"].as_str().unwrap());
    let ids = numbers("070707", 3);
    for n in &ids {
        app.post("/api/v1/deviations", &nurse, &with_patient(form.clone(), n)).await.expect(201);
    }
    // The next key is added and made active; the old one stays until the rotation is done.
    let mut config = app.config.clone();
    config.patient_keys =
        format!("{},k2={}", config.patient_keys, "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f91");
    let keyring = samavvik::patients::keys::Keyring::from_config(&config).unwrap().unwrap();
    assert_eq!(keyring.active(), "k2");
    let mut conn = app.conn();
    let done = samavvik::patients::rotate(&mut conn, &keyring, 2).unwrap();
    assert_eq!((done.rotated, done.skipped, done.failed), (3, 0, 0), "in batches of two");
    assert_eq!(samavvik::patients::rotate(&mut conn, &keyring, 2).unwrap().rotated, 0, "nothing left");
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM patient_identities WHERE key_id = 'k2'"), 3);

    // Every identity opens with the new key alone, and is the one submitted.
    let mut only_new = config.clone();
    only_new.patient_keys = "k2=a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f91".into();
    let new = samavvik::patients::keys::Keyring::from_config(&only_new).unwrap().unwrap();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(opened_numbers(&mut conn, &new, "k2"), expected);
}

#[actix_web::test]
async fn the_privacy_officer_answers_innsyn_with_exactly_that_patients_accesses_and_sees_unusual_days() {
    let app = spawn_app_with(|c| {
        keys(c);
        c.patient_reveals_per_day_alert = 1;
    })
    .await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let form = form(stolav["id"].as_str().unwrap());
    let [kari, ola] = <[String; 2]>::try_from(numbers("080808", 2)).unwrap();
    let hers = app.post("/api/v1/deviations", &nurse, &with_patient(form.clone(), &kari)).await.expect(201);
    let his = app.post("/api/v1/deviations", &nurse, &with_patient(form, &ola)).await.expect(201);
    let reveal = |d: &Value| format!("/api/v1/deviations/{}/patient/reveal", d["id"].as_str().unwrap());
    let (advisor, handler, analyst) =
        (app.login(HOSPITAL_ADVISOR).await, app.login(HANDLER).await, app.login(ANALYST).await);
    app.post(&reveal(&hers), &advisor, &json!({"reason": "investigation"})).await.expect(200);
    app.post(&reveal(&hers), &handler, &json!({"reason": "answer"})).await.expect(200);
    app.post(&reveal(&hers), &analyst, &json!({"reason": "analysis"})).await.problem(404, "not_found");
    app.post(&reveal(&his), &advisor, &json!({"reason": "investigation"})).await.expect(200);

    let officer = app.login("personvern@stolav.example").await;
    // A privacy officer reads the log, not the cases.
    app.get(&format!("/api/v1/deviations/{}", hers["id"].as_str().unwrap()), &officer).await.problem(404, "not_found");
    app.post(&reveal(&hers), &officer, &json!({"reason": "investigation"})).await.problem(404, "not_found");
    let today = samavvik::domain::calendar::oslo_today(app.clock.now()).to_string();
    let ask = json!({"national_id": kari, "from": today, "to": today});
    app.post("/api/v1/patient-access-log/search", &advisor, &ask).await.problem(403, "forbidden");
    let found = app.post("/api/v1/patient-access-log/search", &officer, &ask).await.expect(200);
    let items = found["items"].as_array().unwrap();
    let seen: Vec<(&str, &str)> =
        items.iter().map(|i| (i["role"].as_str().unwrap(), i["result"].as_str().unwrap())).collect();
    // Her own try above is there too: refused tries are accesses to account for.
    let expected =
        [("quality_advisor", "shown"), ("handler", "shown"), ("analyst", "refused"), ("privacy_officer", "refused")];
    assert_eq!(seen, expected, "{found}");
    assert!(items.iter().all(|i| i["deviation"]["reference"] == hers["reference"]), "only hers");
    assert_eq!(items[0]["user"]["name"], "Kristian Kvalitet");
    assert!(!found.to_string().contains(&kari));
    // As CSV for the letter to the patient.
    let text = innsyn_csv(&app, &officer, &ask).await;
    assert!(text.starts_with("tidspunkt,person,rolle,aktør,organisasjon,avvik,handling,begrunnelse"), "{text}");
    assert_eq!(text.lines().count(), 5);
    // The question itself is logged.
    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM patient_access_log WHERE action = 'innsyn'"), 2);

    // Routine control: per person and day, more than the threshold (1 here) flagged.
    let summary =
        app.get(&format!("/api/v1/patient-access-log/summary?from={today}&to={today}"), &officer).await.expect(200);
    let day_of =
        |name: &str| summary["items"].as_array().unwrap().iter().find(|i| i["user"]["name"] == name).unwrap().clone();
    let (kristian, line) = (day_of("Kristian Kvalitet"), day_of("Line Leder"));
    assert_eq!((kristian["reveals"].as_u64(), kristian["unusual"].as_bool()), (Some(2), Some(true)), "{summary}");
    assert_eq!((line["reveals"].as_u64(), line["unusual"].as_bool()), (Some(1), Some(false)));
    assert_eq!(summary["threshold"], 1);
    assert!(
        summary["items"].as_array().unwrap().iter().all(|i| i["user"]["name"] != "Anders Analytiker"),
        "only her own organisation's people"
    );
}

#[actix_web::test]
async fn the_access_log_is_deleted_after_its_retention_time_by_the_job_only() {
    let app = app_with(PatientIdentity::Optional).await;
    one_revealed(&app, "090909").await;
    let mut conn = app.conn();
    let all = "SELECT COUNT(*) AS n FROM patient_access_log";
    app.clock.advance(chrono::Duration::days(729));
    assert_eq!(samavvik::patients::purge_access_log(&mut conn, &app.config, app.clock.now_naive()).unwrap(), 0);
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(samavvik::patients::purge_access_log(&mut conn, &app.config, app.clock.now_naive()).unwrap(), 1);
    let only = "SELECT COUNT(*) AS n FROM patient_access_log WHERE action = 'purge' AND actor_kind = 'system'";
    assert_eq!((count(&mut conn, all), count(&mut conn, only)), (1, 1), "what is left is the purge's own record");
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM patient_access_log_purge"), 0, "the cut-off is gone again");
}

/// The service as a process of its own, logging at debug into `dir/serve.log`, mailing into
/// `dir/mail`, on the test's database, with the same keys.
struct Process {
    child: std::process::Child,
    base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    async fn start(app: &TestApp, dir: &std::path::Path) -> Process {
        Self::start_with(app, dir, &[]).await
    }

    async fn start_with(app: &TestApp, dir: &std::path::Path, settings: &[(&str, &str)]) -> Process {
        let port = free_port();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("serve.log")).unwrap();
        let mut command = serve_command(app, port, dir);
        command.envs(settings.iter().copied());
        let child = command
            .env("SAMAVVIK_MAIL_WORKER", "true")
            .env("SAMAVVIK_MAIL_TRANSPORT", "file")
            .env("SAMAVVIK_MAIL_DIR", dir.join("mail"))
            .env("SAMAVVIK_PATIENT_IDENTITY", "optional")
            .env("SAMAVVIK_PATIENT_KEYS", &app.config.patient_keys)
            .env("SAMAVVIK_PATIENT_HASH_KEY", &app.config.patient_hash_key)
            .env("SAMAVVIK_LOG_FORMAT", "json")
            .env("RUST_LOG", "debug")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the samavvik binary");
        let process = Process { child, base: format!("http://127.0.0.1:{port}") };
        wait_ready(&process.base).await;
        process
    }

    /// A JSON call; the body as text, whatever it is.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        accept: &str,
    ) -> (u16, String) {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("accept", accept);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn token(&self, email: &str) -> String {
        let body = json!({"email": email, "password": DEMO_PASSWORD});
        let resp =
            reqwest::Client::new().post(format!("{}/api/v1/auth/token", self.base)).json(&body).send().await.unwrap();
        resp.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
    }
}

/// Every way a number is written: plain, grouped, dotted, hyphenated.
fn spellings(n: &str) -> Vec<String> {
    let (birth, person) = n.split_at(6);
    let dotted = format!("{}.{}.{}", &birth[..2], &birth[2..4], &birth[4..]);
    vec![n.to_owned(), format!("{birth} {person}"), format!("{dotted} {person}"), format!("{birth}-{person}")]
}

#[actix_web::test]
async fn no_number_is_found_anywhere_but_sealed() {
    let app = app_with(PatientIdentity::Optional).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(&app, dir.path()).await;
    let numbers = numbers("111111", 4);
    let (nurse, advisor, officer, admin) = (
        server.token(NURSE).await,
        server.token(HOSPITAL_ADVISOR).await,
        server.token("personvern@stolav.example").await,
        server.token(ADMIN).await,
    );
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    let json_ = "application/json";
    let (_, orgs) = server.call(get.clone(), "/api/v1/organisations?kind=hospital", &nurse, None, json_).await;
    let stolav: Value = serde_json::from_str(&orgs).unwrap();
    let stolav = stolav["items"].as_array().unwrap().iter().find(|o| o["name"] == "St. Olavs hospital HF").unwrap()
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut seen = String::new();

    // Through the API: two reports, one with a wrong number (refused, not repeated).
    let mut ids = vec![];
    for n in &numbers[..2] {
        let (status, body) =
            server.call(post.clone(), "/api/v1/deviations", &nurse, Some(&with_patient(form(&stolav), n)), json_).await;
        assert_eq!(status, 201, "{body}");
        ids.push(serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_owned());
        seen += &body;
    }
    let mut wrong = numbers[2].clone();
    wrong.replace_range(10.., if wrong.ends_with('0') { "1" } else { "0" });
    let (status, body) = server
        .call(post.clone(), "/api/v1/deviations", &nurse, Some(&with_patient(form(&stolav), &wrong)), json_)
        .await;
    assert_eq!(status, 422);
    seen += &body;
    // Through the web form: one sent, one refused for its text.
    let web = crate::pages::WebClient::at(&server.base);
    web.login(NURSE).await;
    let csrf = web.csrf("/avvik/ny").await;
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("kind", "deviation"),
        ("category", "medication"),
        ("recipient_organisation_id", stolav.as_str()),
        ("occurred_at", "2026-01-12"),
        ("description", "Legemiddellisten manglet."),
        ("harm_class", "no_harm"),
        ("handover_related", "false"),
        ("patient.national_id", numbers[3].as_str()),
    ];
    let sent = web.post("/avvik/ny", &fields).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    fields.retain(|(k, _)| *k != "description");
    let refused = web.post("/avvik/ny", &fields).await;
    assert_eq!(refused.status, 422);
    seen += &refused.body;

    // Looks: reveal, related, the case page's button, innsyn.
    for id in &ids {
        let (status, _) = server
            .call(
                post.clone(),
                &format!("/api/v1/deviations/{id}/patient/reveal"),
                &advisor,
                Some(&json!({"reason": "investigation"})),
                json_,
            )
            .await;
        assert_eq!(status, 200);
        seen += &server.call(get.clone(), &format!("/api/v1/deviations/{id}/related"), &advisor, None, json_).await.1;
        seen += &server.call(get.clone(), &format!("/api/v1/deviations/{id}"), &advisor, None, json_).await.1;
        seen += &server.call(get.clone(), &format!("/api/v1/deviations/{id}/events"), &nurse, None, json_).await.1;
        server
            .call(post.clone(), &format!("/api/v1/deviations/{id}/acknowledge"), &advisor, Some(&json!({})), json_)
            .await;
        server
            .call(
                post.clone(),
                &format!("/api/v1/deviations/{id}/answer"),
                &advisor,
                Some(&json!({"answer": "Rettet."})),
                json_,
            )
            .await;
    }
    let innsyn = json!({"national_id": numbers[0], "from": "2026-01-01", "to": "2026-12-31"});
    seen +=
        &server.call(post.clone(), "/api/v1/patient-access-log/search", &officer, Some(&innsyn), "text/csv").await.1;
    // Every list and export.
    let today = samavvik::domain::calendar::oslo_today(app.clock.now());
    let tertial = samavvik::domain::period::Period::tertial_of(today).to_string();
    for path in [
        "/api/v1/deviations?box=sent".to_owned(),
        "/api/v1/deviations?box=received".to_owned(),
        format!("/api/v1/stats?from={today}&to={today}&group_by=category"),
        format!("/api/v1/reports/{tertial}.csv"),
        format!("/api/v1/reports/{tertial}.html"),
    ] {
        seen += &server.call(get.clone(), &path, &advisor, None, "*/*").await.1;
    }
    seen += &format!(
        "{:?}",
        server.call(get.clone(), &format!("/api/v1/reports/{tertial}.xlsx"), &advisor, None, "*/*").await.1.as_bytes()
    );
    seen += &web.get("/avvik?boks=sendt").await.body;
    // A number typed where it does not belong: refused, and neither the answer nor the log repeats it.
    for path in [
        format!("/api/v1/stats?period={}", numbers[0]),
        format!("/api/v1/stats?period={tertial}&group_by={}", numbers[0]),
        format!("/api/v1/deviations?status={}", numbers[0]),
        format!("/api/v1/deviations?q={}", numbers[0]),
    ] {
        seen += &server.call(get.clone(), &path, &advisor, None, json_).await.1;
    }
    // The jobs, and every queued mail delivered by the process's worker.
    let mut conn = app.conn();
    samavvik::jobs::auto_close_due(&mut conn, &app.config, &app.clock).unwrap();
    samavvik::patients::erase_due(&mut conn, &app.config, app.clock.now_naive()).unwrap();
    let started = std::time::Instant::now();
    loop {
        let (_, outbox) = server.call(get.clone(), "/api/v1/admin/outbox", &admin, None, json_).await;
        let outbox: Value = serde_json::from_str(&outbox).unwrap();
        if outbox["pending"] == 0 && outbox["sent"].as_i64() > Some(0) {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "mail not delivered: {outbox}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut mails = 0;
    for entry in std::fs::read_dir(dir.path().join("mail")).unwrap() {
        seen += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
        mails += 1;
    }
    assert!(mails >= 4, "{mails} mails");
    drop(server);
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(log.contains("samavvik lytter"), "the process's log, at debug, is read");
    assert!(log.contains("/api/v1/deviations/{id}/patient/reveal"), "with a line per request, by route template");
    seen += &log;

    let stored = stored_database(&app);
    assert!(stored.contains("patient_access_log"), "the dump is the database");
    let all = seen + &stored;
    for n in numbers.iter().chain([&wrong]) {
        for spelling in spellings(n) {
            assert!(!all.contains(&spelling), "«{spelling}» found");
        }
    }
}

#[actix_web::test]
async fn rotation_while_reports_come_in_loses_no_identity() {
    let app = app_with(PatientIdentity::Optional).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let form = form(stolav["id"].as_str().unwrap());
    let numbers = numbers("121212", 40);
    let mut config = app.config.clone();
    config.patient_keys =
        format!("{},k2={}", config.patient_keys, "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f91");
    let keyring = std::sync::Arc::new(samavvik::patients::keys::Keyring::from_config(&config).unwrap().unwrap());
    // The server keeps sealing with k1 (it has not restarted) while the rotation runs beside it.
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (started, running) = std::sync::mpsc::channel();
    let rotating = {
        let (keyring, url, finished) = (keyring.clone(), app.config.db_url(), finished.clone());
        std::thread::spawn(move || {
            let mut conn = samavvik::db::open_one(&url).unwrap();
            let (mut rotated, mut runs) = (0, 0);
            // Round after round for as long as reports come in, and once more after.
            loop {
                let last = finished.load(std::sync::atomic::Ordering::SeqCst);
                rotated += samavvik::patients::rotate(&mut conn, &keyring, 3).unwrap().rotated;
                runs += 1;
                let _ = started.send(());
                if last {
                    return (rotated, runs);
                }
            }
        })
    };
    running.recv().unwrap();
    let bodies: Vec<Value> = numbers.iter().map(|n| with_patient(form.clone(), n)).collect();
    let submissions = bodies.iter().map(|body| app.post("/api/v1/deviations", &nurse, body));
    for done in futures_util::future::join_all(submissions).await {
        done.expect(201);
    }
    finished.store(true, std::sync::atomic::Ordering::SeqCst);
    let (during, runs) = rotating.join().unwrap();
    assert!(runs > 1, "the rotation ran beside the reports");
    let mut conn = app.conn();
    let after = samavvik::patients::rotate(&mut conn, &keyring, 7).unwrap();
    assert_eq!(during + after.rotated, 40, "each re-sealed once: {during} during, {} after", after.rotated);
    assert_eq!(after.failed, 0);
    let mut expected = numbers.clone();
    expected.sort();
    assert_eq!(opened_numbers(&mut conn, &keyring, "k2"), expected, "every identity there, and the right one");
}

#[actix_web::test]
async fn erasure_killed_halfway_finishes_after_a_restart_and_erases_each_identity_once() {
    let app = app_with(PatientIdentity::Optional).await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let form = form(stolav["id"].as_str().unwrap());
    const CASES: usize = 600;
    // People born on the first days of January 1990, as many as it takes.
    let numbers: Vec<String> = (1..=28).flat_map(|day| numbers(&format!("{day:02}0190"), 500)).take(CASES).collect();
    assert_eq!(numbers.len(), CASES);
    let mut ids = vec![];
    for chunk in numbers.chunks(50) {
        let bodies: Vec<Value> = chunk.iter().map(|n| with_patient(form.clone(), n)).collect();
        let made =
            futures_util::future::join_all(bodies.iter().map(|b| app.post("/api/v1/deviations", &nurse, b))).await;
        let made: Vec<String> = made.into_iter().map(|r| r.expect(201)["id"].as_str().unwrap().to_owned()).collect();
        let reason = json!({"reason": "Gjelder intern rutine."});
        for done in futures_util::future::join_all(made.iter().map(|id| app.act(&advisor, id, "reject", &reason))).await
        {
            done.expect(200);
        }
        ids.extend(made);
    }
    // The process runs the erasure job at once (retention 0 days); it is killed while erasing.
    let dir = tempfile::tempdir().unwrap();
    let jobs = [
        ("SAMAVVIK_BACKGROUND_JOBS", "true"),
        ("SAMAVVIK_JOB_INTERVAL_SECONDS", "1"),
        ("SAMAVVIK_PATIENT_IDENTITY_RETENTION_DAYS", "0"),
    ];
    let mut conn = app.conn();
    let erased = "SELECT COUNT(*) AS n FROM patient_identities WHERE erased_at IS NOT NULL";
    let mut first = Process::start_with(&app, dir.path(), &jobs).await;
    let started = std::time::Instant::now();
    while count(&mut conn, erased) == 0 {
        let log = || std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the job did not start erasing: {}", log());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let at_kill = count(&mut conn, erased) as usize;
    println!("erasure: killed with {at_kill} of {CASES} erased");
    assert!(at_kill < CASES, "killed halfway, not after");

    let _second = Process::start_with(&app, dir.path(), &jobs).await;
    let started = std::time::Instant::now();
    while count(&mut conn, erased) < CASES as i64 {
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "the rest was not erased");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let kept = "SELECT COUNT(*) AS n FROM patient_identities WHERE ciphertext IS NOT NULL OR patient_hash IS NOT NULL";
    assert_eq!(count(&mut conn, kept), 0);
    let events = "SELECT COUNT(*) AS n FROM deviation_events WHERE kind = 'patient_identity_erased'";
    assert_eq!(count(&mut conn, events), CASES as i64, "one event per erasure, none twice");
    let twice = "SELECT COUNT(*) AS n FROM (SELECT deviation_id FROM deviation_events WHERE kind = 'patient_identity_erased' GROUP BY deviation_id HAVING COUNT(*) > 1) t";
    assert_eq!(count(&mut conn, twice), 0);
}

#[actix_web::test]
async fn a_changed_or_swapped_identity_gives_a_clear_error_and_is_logged() {
    let app = app_with(PatientIdentity::Optional).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let form = form(stolav["id"].as_str().unwrap());
    let [one, two] = <[String; 2]>::try_from(numbers("140414", 2)).unwrap();
    let a = app.post("/api/v1/deviations", &nurse, &with_patient(form.clone(), &one)).await.expect(201);
    let b = app.post("/api/v1/deviations", &nurse, &with_patient(form, &two)).await.expect(201);
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let mut conn = app.conn();
    // Someone with database access moves one patient's sealed identity onto the other case.
    let swap = format!(
        "UPDATE patient_identities SET ciphertext = (SELECT ciphertext FROM patient_identities WHERE deviation_id = '{a}') WHERE deviation_id = '{b}'"
    );
    diesel::sql_query(swap).execute(&mut conn).unwrap();
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let why = json!({"reason": "investigation"});
    let moved = app.post(&format!("/api/v1/deviations/{b}/patient/reveal"), &advisor, &why).await;
    let moved = moved.problem(500, "patient_identity_unreadable");
    assert!(!moved.to_string().contains(&one) && !moved.to_string().contains(&two));
    // The untouched one still opens; a key name the service does not have is the same clear error.
    app.post(&format!("/api/v1/deviations/{a}/patient/reveal"), &advisor, &why).await.expect(200);
    diesel::sql_query(format!("UPDATE patient_identities SET key_id = 'gone' WHERE deviation_id = '{a}'"))
        .execute(&mut conn)
        .unwrap();
    app.post(&format!("/api/v1/deviations/{a}/patient/reveal"), &advisor, &why)
        .await
        .problem(500, "patient_identity_unreadable");
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM patient_access_log WHERE result = 'unreadable'"), 2);
}
