//! Patient identity as an auditor under Normen tries it (#38): no machine reveals a patient, the
//! access log shows every change the database lets through, innsyn finds every look — after
//! erasure and after forwarding too — and reveal rights are exactly the README's table.

use std::process::Command;

use samavvik::config::PatientIdentity;
use samavvik::db::DbConnection;
use samavvik::patients::chain::{self, ChainKey};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::patients::{app_with, count, keys, numbers, one_revealed, with_patient};

fn sql(conn: &mut DbConnection, statement: &str) -> Result<usize, diesel::result::Error> {
    use diesel::RunQueryDsl;
    match conn {
        DbConnection::Pg(c) => diesel::sql_query(statement).execute(c),
        DbConnection::Sqlite(c) => diesel::sql_query(statement).execute(c),
    }
}

/// `samavvik patient-log verify` on the test's database, with the server's secret.
fn verify_command(app: &TestApp) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_samavvik"))
        .args(["patient-log", "verify"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.config.database_url)
        .env("SAMAVVIK_JWT_SECRET", &app.config.jwt_secret)
        .env("SAMAVVIK_SEED_DEMO", "never")
        .output()
        .unwrap()
}

fn verify(app: &TestApp) -> chain::Verification {
    chain::verify(&mut app.conn(), &ChainKey::from_config(&app.config)).unwrap()
}

/// A report with a patient to St. Olav, routed to `unit` there if named: (id, number).
async fn reported(app: &TestApp, birth: &str, unit: Option<&str>) -> (String, String) {
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let mut form = form(stolav["id"].as_str().unwrap());
    if let Some(name) = unit {
        let units = stolav["units"].as_array().unwrap();
        form["recipient_unit_id"] = units.iter().find(|u| u["name"] == name).unwrap()["id"].clone();
    }
    let number = numbers(birth, 1).remove(0);
    let d = app.post("/api/v1/deviations", &nurse, &with_patient(form, &number)).await.expect(201);
    (d["id"].as_str().unwrap().to_owned(), number)
}

fn reveal(id: &str) -> String {
    format!("/api/v1/deviations/{id}/patient/reveal")
}

fn related(id: &str) -> String {
    format!("/api/v1/deviations/{id}/related")
}

#[actix_web::test]
async fn no_machine_reveals_or_links_a_patient_whatever_its_scopes_and_each_try_names_the_machine() {
    let app = app_with(PatientIdentity::Optional).await;
    let (id, number) = reported(&app, "111111", None).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let clients = format!("/api/v1/organisations/{}/clients", app.me_org(&advisor).await);
    let mut keys = Vec::new();
    for (name, scopes) in
        [("EQS", json!(["deviations:read", "deviations:write"])), ("EQS lese", json!(["deviations:read"]))]
    {
        let client = app.post(&clients, &advisor, &json!({"name": name, "scopes": scopes})).await.expect(201);
        keys.push(client["api_key"].as_str().unwrap().to_owned());
    }
    for key in &keys {
        app.get(&format!("/api/v1/deviations/{id}"), key).await.expect(200);
        let refused = app.post(&reveal(&id), key, &json!({"reason": "analysis"})).await.problem(403, "forbidden");
        assert!(!refused.to_string().contains(&number));
        app.get(&related(&id), key).await.problem(403, "forbidden");
        // A bad reason from a machine is refused as a machine, and logged all the same.
        app.post(&reveal(&id), key, &json!({"reason": "x"})).await.problem(403, "forbidden");
    }
    // The person still sees it.
    app.post(&reveal(&id), &advisor, &json!({"reason": "analysis"})).await.expect(200);

    let mut conn = app.conn();
    let machine = "SELECT COUNT(*) AS n FROM patient_access_log l JOIN users u ON u.id = l.user_id \
                   WHERE l.actor_kind = 'machine' AND l.result = 'refused' AND u.machine";
    assert_eq!(count(&mut conn, machine), 6, "every try, with the machine as the actor");
    let person = "SELECT COUNT(*) AS n FROM patient_access_log WHERE actor_kind = 'person' AND result = 'shown'";
    assert_eq!(count(&mut conn, person), 1);

    // The privacy officer's innsyn names them as machines.
    let officer = app.login("personvern@stolav.example").await;
    let today = app.today().to_string();
    let found = app
        .post(
            "/api/v1/patient-access-log/search",
            &officer,
            &json!({"national_id": number, "from": today, "to": today}),
        )
        .await
        .expect(200);
    let kinds: Vec<&str> =
        found["items"].as_array().unwrap().iter().map(|i| i["actor_kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "machine").count(), 6, "{found}");
    assert!(found["items"].as_array().unwrap().iter().any(|i| i["user"]["name"] == "EQS lese"), "{found}");
}

/// The ways past the triggers an auditor tried, each on a log of its own.
enum Tampering {
    /// A row changed with the triggers off (a superuser, or the file edited).
    Changed,
    /// The purge switched on by an insert, and the oldest rows deleted.
    PurgeByInsert,
    /// A forged row, backdated, appended after the head.
    Forged,
}

#[actix_web::test]
async fn the_access_log_refuses_replace_and_its_chain_names_the_first_row_changed_removed_or_forged() {
    for tampering in [Tampering::Changed, Tampering::PurgeByInsert, Tampering::Forged] {
        let app = app_with(PatientIdentity::Optional).await;
        for birth in ["121212", "131212", "141212"] {
            one_revealed(&app, birth).await;
        }
        let whole = verify(&app);
        assert_eq!((whole.first_break.clone(), whole.verified, whole.rows), (None, 3, 3), "{whole:?}");
        let mut conn = app.conn();
        let all = "SELECT COUNT(*) AS n FROM patient_access_log";

        // REPLACE on SQLite (which fires no delete trigger) and an upsert on PostgreSQL: refused.
        let first = "(SELECT id FROM patient_access_log ORDER BY seq LIMIT 1)";
        let columns = "(id, at, user_id, role, organisation_id, action, result, actor_kind, seq)";
        let replace = match conn {
            DbConnection::Sqlite(_) => format!(
                "INSERT OR REPLACE INTO patient_access_log {columns} SELECT id, at, 'someone', 'handler', organisation_id, \
                 'reveal', 'shown', 'person', seq FROM patient_access_log WHERE id = {first}"
            ),
            DbConnection::Pg(_) => format!(
                "INSERT INTO patient_access_log {columns} SELECT id, at, 'someone', 'handler', organisation_id, \
                 'reveal', 'shown', 'person', seq FROM patient_access_log WHERE id = {first} \
                 ON CONFLICT (id) DO UPDATE SET user_id = 'someone'"
            ),
        };
        let refused = sql(&mut conn, &replace);
        assert!(refused.is_err_and(|e| e.to_string().contains("append-only")), "REPLACE is refused");
        assert_eq!(count(&mut conn, all), 3);
        assert_eq!(verify(&app).first_break, None);

        let broken_at = match tampering {
            Tampering::Changed => {
                let (off, on) = match conn {
                    DbConnection::Sqlite(_) => (
                        "DROP TRIGGER patient_access_log_no_update",
                        "CREATE TRIGGER patient_access_log_no_update BEFORE UPDATE ON patient_access_log \
                         BEGIN SELECT RAISE(ABORT, 'patient_access_log is append-only'); END",
                    ),
                    DbConnection::Pg(_) => (
                        "ALTER TABLE patient_access_log DISABLE TRIGGER patient_access_log_append_only",
                        "ALTER TABLE patient_access_log ENABLE TRIGGER patient_access_log_append_only",
                    ),
                };
                sql(&mut conn, off).unwrap();
                sql(&mut conn, "UPDATE patient_access_log SET reason = 'other' WHERE seq = 2").unwrap();
                sql(&mut conn, on).unwrap();
                2
            }
            Tampering::PurgeByInsert => {
                sql(&mut conn, "INSERT INTO patient_access_log_purge (before) VALUES ('2100-01-01 00:00:00')").unwrap();
                sql(&mut conn, "DELETE FROM patient_access_log WHERE seq <= 2").unwrap();
                sql(&mut conn, "DELETE FROM patient_access_log_purge").unwrap();
                assert_eq!(count(&mut conn, all), 1, "the database let it through");
                3
            }
            Tampering::Forged => {
                sql(
                    &mut conn,
                    "INSERT INTO patient_access_log (id, at, user_id, role, organisation_id, action, result, actor_kind, \
                     seq, prev_hash, row_hash, key_id) SELECT 'forged', '2020-01-01 08:00:00', user_id, role, \
                     organisation_id, 'reveal', 'shown', 'person', seq + 1, row_hash, row_hash, key_id \
                     FROM patient_access_log WHERE seq = 3",
                )
                .unwrap();
                4
            }
        };
        let found = verify(&app);
        let at = found.first_break.as_ref().unwrap_or_else(|| panic!("a break is found: {found:?}"));
        assert_eq!(at.seq, Some(broken_at), "{found:?}");

        // The command says so too, and fails.
        let out = verify_command(&app);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains(&format!("BRUDD ved rad {broken_at}")), "{stdout}");
    }
}

#[actix_web::test]
async fn the_retention_purge_keeps_the_chain_whole_and_the_command_says_so() {
    let app = app_with(PatientIdentity::Optional).await;
    one_revealed(&app, "151212").await;
    one_revealed(&app, "161212").await;
    app.clock.advance(chrono::Duration::days(800));
    one_revealed(&app, "171212").await;
    let mut conn = app.conn();
    assert_eq!(samavvik::patients::purge_access_log(&mut conn, &app.config, app.clock.now_naive()).unwrap(), 2);
    let v = verify(&app);
    assert_eq!((v.first_break.clone(), v.rows), (None, 2), "the newest look and the purge's record: {v:?}");
    let out = verify_command(&app);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Kjeden er hel."), "{stdout}");
}

async fn innsyn(app: &TestApp, officer: &str, number: &str, from: &str) -> Vec<Value> {
    let today = app.today().to_string();
    let ask = json!({"national_id": number, "from": from, "to": today});
    let found = app.post("/api/v1/patient-access-log/search", officer, &ask).await.expect(200);
    found["items"].as_array().unwrap().clone()
}

fn results(items: &[Value]) -> Vec<(String, String)> {
    items.iter().map(|i| (i["action"].as_str().unwrap().to_owned(), i["result"].as_str().unwrap().to_owned())).collect()
}

#[actix_web::test]
async fn innsyn_finds_every_look_before_and_after_erasure_and_after_forwarding() {
    let app = app_with(PatientIdentity::Optional).await;
    let start = app.today().to_string();
    let (id, number) = reported(&app, "181212", None).await;
    let (advisor, analyst, nurse) =
        (app.login(HOSPITAL_ADVISOR).await, app.login(ANALYST).await, app.login(NURSE).await);
    app.post(&reveal(&id), &advisor, &json!({"reason": "investigation"})).await.expect(200);
    app.post(&reveal(&id), &analyst, &json!({"reason": "analysis"})).await.problem(404, "not_found");
    app.post(&reveal(&id), &advisor, &json!({"reason": "bad"})).await.problem(422, "validation_failed");
    app.get(&related(&id), &advisor).await.expect(200);
    let officer = app.login("personvern@stolav.example").await;
    let before = results(&innsyn(&app, &officer, &number, &start).await);
    let expected: Vec<(String, String)> =
        [("reveal", "shown"), ("reveal", "refused"), ("reveal", "invalid"), ("related", "shown")]
            .map(|(a, r)| (a.to_owned(), r.to_owned()))
            .to_vec();
    assert_eq!(before, expected);

    // Answered, closed and erased; then one more try.
    app.act(&advisor, &id, "answer", &json!({"answer": "Rutinen er rettet."})).await.expect(200);
    app.act(&nurse, &id, "close", &json!({})).await.expect(200);
    app.clock.advance(chrono::Duration::days(31));
    let mut conn = app.conn();
    assert_eq!(samavvik::patients::erase_due(&mut conn, &app.config, app.clock.now_naive()).unwrap(), 1);
    app.post(&reveal(&id), &advisor, &json!({"reason": "investigation"})).await.problem(410, "patient_identity_erased");
    app.post(&reveal(&id), &analyst, &json!({"reason": "analysis"})).await.problem(404, "not_found");
    let after = results(&innsyn(&app, &officer, &number, &start).await);
    let mut expected_after = expected.clone();
    expected_after.extend([("reveal".into(), "erased".into()), ("reveal".into(), "refused".into())]);
    assert_eq!(after, expected_after, "nothing vanishes at erasure, and later tries are found too");

    // Forwarded away: the looks St. Olav's people made while it was theirs are still St. Olav's.
    let (other, his) = reported(&app, "191212", None).await;
    app.post(&reveal(&other), &advisor, &json!({"reason": "investigation"})).await.expect(200);
    let malvik = app.organisation(&advisor, "Malvik kommune").await;
    let forward = json!({"organisation_id": malvik["id"], "reason": "Gjelder Malvik sin hjemmetjeneste."});
    app.act(&advisor, &other, "forward", &forward).await.expect(200);
    let today = app.today().to_string();
    let found = innsyn(&app, &officer, &his, &today).await;
    assert_eq!(results(&found), [("reveal".to_owned(), "shown".to_owned())]);
    assert_eq!(found[0]["user"]["name"], "Kristian Kvalitet");
}

#[actix_web::test]
async fn reveal_rights_are_the_readme_table_and_nobody_else_sees_the_patient() {
    let app = app_with(PatientIdentity::Optional).await;
    let (id, number) = reported(&app, "201212", Some("Medisinsk klinikk")).await;
    let admin = app.login(ADMIN).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let trondheim = app.organisation(&nurse, "Trondheim kommune").await;
    let other_unit = stolav["units"].as_array().unwrap().iter().find(|u| u["name"] != "Medisinsk klinikk").unwrap();
    let mut people = Vec::new();
    for (email, org, unit) in [
        ("annen.enhet@stolav.example", &stolav["id"], &other_unit["id"]),
        ("leder@trondheim.example", &trondheim["id"], &Value::Null),
    ] {
        let user = json!({"name": "Hanne Handler", "email": email, "organisation_id": org, "unit_id": unit,
                          "role": "handler", "password": "et-langt-passord"});
        app.post("/api/v1/users", &admin, &user).await.expect(201);
        people.push(app.login_with(email, "et-langt-passord").await);
    }
    let why = json!({"reason": "answer"});
    // The README's table: «reveal patient» for these, and for no one else.
    for who in [HOSPITAL_ADVISOR, HANDLER, MUNI_ADVISOR] {
        let token = app.login(who).await;
        assert_eq!(app.post(&reveal(&id), &token, &why).await.expect(200)["national_id"], number.as_str(), "{who}");
        app.get(&related(&id), &token).await.expect(200);
    }
    // A handler of another unit of the hospital and a handler of the reporter's municipality read
    // the case (and may comment) but do not see the patient; the reporter neither.
    for token in people.iter().chain([&nurse]) {
        app.get(&format!("/api/v1/deviations/{id}"), token).await.expect(200);
        app.post(&reveal(&id), token, &why).await.problem(404, "not_found");
        app.get(&related(&id), token).await.problem(404, "not_found");
    }
    let refused = "SELECT COUNT(*) AS n FROM patient_access_log WHERE result = 'refused'";
    assert_eq!(count(&mut app.conn(), refused), 6);

    // A handler's own report, from another unit than her own: hers to see.
    let line = app.login(HANDLER).await;
    let units = stolav["units"].as_array().unwrap();
    let mut own = with_patient(form(trondheim["id"].as_str().unwrap()), &numbers("251212", 1)[0]);
    own["reporting_unit_id"] = units.iter().find(|u| u["name"] != "Medisinsk klinikk").unwrap()["id"].clone();
    let own = app.post("/api/v1/deviations", &line, &own).await.expect(201);
    let own = own["id"].as_str().unwrap();
    app.post(&reveal(own), &line, &why).await.expect(200);
    app.get(&related(own), &line).await.expect(200);
}

#[actix_web::test]
async fn erasure_leaves_the_hash_only_where_innsyn_needs_it_for_the_log_s_own_time() {
    let app = app_with(PatientIdentity::Optional).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let number = numbers("211212", 1).remove(0);
    let form = with_patient(form(stolav["id"].as_str().unwrap()), &number);
    let d = app.submit_with_key(&nurse, &form, "erase-me-too").await.expect(201);
    let id = d["id"].as_str().unwrap();
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    app.act(&advisor, id, "reject", &json!({"reason": "Gjelder intern rutine."})).await.expect(200);
    let keyring = samavvik::patients::keys::Keyring::from_config(&app.config).unwrap().unwrap();
    let hash = keyring.hash(&number);
    let mut conn = app.conn();
    let keyed = format!("SELECT COUNT(*) AS n FROM idempotency_keys WHERE request LIKE '%{hash}%'");
    assert_eq!(count(&mut conn, &keyed), 1, "the key remembers the hash while the identity is kept");
    app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(samavvik::patients::erase_due(&mut conn, &app.config, app.clock.now_naive()).unwrap(), 0);
    app.clock.advance(chrono::Duration::days(31));
    assert_eq!(samavvik::patients::erase_due(&mut conn, &app.config, app.clock.now_naive()).unwrap(), 1);
    assert_eq!(count(&mut conn, &keyed), 0, "erasure takes it from the idempotency key too");
    let linked = format!("SELECT COUNT(*) AS n FROM patient_log_links WHERE patient_hash = '{hash}'");
    assert_eq!(count(&mut conn, &linked), 1, "kept for innsyn");
    // Until the log's own retention time; then the purge takes the link with the last rows.
    app.clock.advance(chrono::Duration::days(app.config.patient_access_log_retention_days + 1));
    samavvik::patients::purge_access_log(&mut conn, &app.config, app.clock.now_naive()).unwrap();
    assert_eq!(count(&mut conn, &linked), 0);
}

#[actix_web::test]
async fn every_attempt_is_logged_the_reason_cannot_name_the_patient_and_csv_cells_are_not_formulas() {
    let app = app_with(PatientIdentity::Optional).await;
    let (id, number) = reported(&app, "221212", None).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let start = app.today().to_string();
    // The name or the number in the reason: 422 naming the field, never the words.
    for text in ["Ringte kari om epikrisen", "Gjelder NORDMANN"] {
        let why = json!({"reason": "other", "text": text});
        let refused = app.post(&reveal(&id), &advisor, &why).await.problem(422, "validation_failed");
        assert_eq!(refused["fields"][0]["code"], "patient_identity_in_text", "{refused}");
        assert!(!refused.to_string().to_lowercase().contains("kari"), "{refused}");
    }
    let formula = json!({"reason": "other", "text": "=1+1 ringte avdelingen"});
    app.post(&reveal(&id), &advisor, &formula).await.expect(200);

    let officer = app.login("personvern@stolav.example").await;
    let today = app.today().to_string();
    let ask = json!({"national_id": number, "from": start, "to": today});
    let text = crate::patients::innsyn_csv(&app, &officer, &ask).await;
    assert!(text.contains(",'=1+1 ringte avdelingen,") && !text.contains(",=1+1"), "{text}");
    let mut conn = app.conn();
    let invalid = "SELECT COUNT(*) AS n FROM patient_access_log WHERE result = 'invalid' AND reason_text IS NULL";
    assert_eq!(count(&mut conn, invalid), 2, "refused for the text, which is not kept");
    assert!(!crate::patients::dump(&mut conn).to_lowercase().contains("ringte kari"));

    // Every sealed identity is as long as any other, whatever the name.
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let mut long = with_patient(form(stolav["id"].as_str().unwrap()), &numbers("231212", 1)[0]);
    long["patient"]["name"] = "Å".repeat(200).into();
    app.post("/api/v1/deviations", &nurse, &long).await.expect(201);
    let lengths = "SELECT COUNT(DISTINCT LENGTH(ciphertext)) AS n FROM patient_identities";
    assert_eq!(count(&mut conn, lengths), 1);
}

#[actix_web::test]
async fn with_the_mode_off_a_try_is_logged_and_innsyn_still_answers_from_the_log() {
    let app = spawn_app_with(|c| {
        keys(c);
        c.patient_identity = PatientIdentity::Off;
    })
    .await;
    let d = app.submit_to_hospital(&app.login(NURSE).await).await;
    let id = d["id"].as_str().unwrap();
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    app.post(&reveal(id), &advisor, &json!({"reason": "answer"})).await.problem(404, "not_found");
    app.get(&related(id), &advisor).await.problem(404, "not_found");
    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM patient_access_log WHERE result = 'not_enabled'"), 2);
    let officer = app.login("personvern@stolav.example").await;
    let today = app.today().to_string();
    let ask = json!({"national_id": numbers("241212", 1)[0], "from": today, "to": today});
    let found = app.post("/api/v1/patient-access-log/search", &officer, &ask).await.expect(200);
    assert_eq!(found["items"], json!([]));
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM patient_access_log WHERE action = 'innsyn'"), 1);
    assert_eq!(verify(&app).first_break, None);
}
