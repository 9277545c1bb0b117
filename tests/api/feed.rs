//! The change feed a quality system follows: what each organisation gets, the cursor, and the rule
//! a consumer relies on — reading on from the last cursor never misses an event, also when
//! transactions commit out of order.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::*;
use samavvik::db::DbConnection;
use samavvik::deviations::timeline::{record, Entry};
use samavvik::domain::EventKind;
use samavvik::ids::DeviationId;

async fn feed(app: &TestApp, token: &str, after: Option<&str>, limit: usize) -> Value {
    let mut path = format!("/api/v1/feed?limit={limit}");
    if let Some(cursor) = after {
        path.push_str(&format!("&after={cursor}"));
    }
    app.get(&path, token).await.expect(200)
}

/// Everything from `after` on, page by page; returns the events and the last cursor.
async fn read_all(app: &TestApp, token: &str, mut after: Option<String>, limit: usize) -> (Vec<Value>, String) {
    let mut events = Vec::new();
    loop {
        let page = feed(app, token, after.as_deref(), limit).await;
        let items = page["items"].as_array().unwrap().clone();
        after = Some(page["next_cursor"].as_str().unwrap().to_owned());
        if items.is_empty() {
            return (events, after.unwrap());
        }
        events.extend(items);
    }
}

/// Reads from `after` until at least `n` events have come. On PostgreSQL an event shows once every
/// transaction on the server older than its own has ended, so another test's open transaction may
/// hold it back a moment (never reorder or lose it); polled, bounded, never a fixed sleep.
async fn read_at_least(
    app: &TestApp,
    token: &str,
    after: Option<String>,
    limit: usize,
    n: usize,
) -> (Vec<Value>, String) {
    let started = std::time::Instant::now();
    loop {
        let (events, cursor) = read_all(app, token, after.clone(), limit).await;
        if events.len() >= n || started.elapsed() > std::time::Duration::from_secs(30) {
            return (events, cursor);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[actix_web::test]
async fn each_party_reads_what_happened_to_its_deviations_and_nothing_more() {
    let app = spawn_app().await;
    let (nurse, muni, hospital) =
        (app.login(NURSE).await, app.login(MUNI_ADVISOR).await, app.login(HOSPITAL_ADVISOR).await);
    let d = app.submit_to_hospital(&nurse).await;
    let id = d["id"].as_str().unwrap();
    app.act(&hospital, id, "acknowledge", &json!({})).await.expect(200);
    app.act(&hospital, id, "comments", &json!({"text": "Vi ser på epikrisen i dag."})).await.expect(201);

    let (events, _) = read_at_least(&app, &muni, None, 100, 3).await;
    assert_eq!(types(&events), ["submitted", "acknowledged", "commented"]);
    let last = events.last().unwrap();
    assert_eq!(last["deviation_id"], d["id"]);
    assert_eq!(last["reference"], d["reference"]);
    assert_eq!(last["status"], "in_progress");
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains("epikrisen") && !text.contains(d["description"].as_str().unwrap()), "no free text: {text}");

    // The recipient reads the same events under the same ids.
    let (theirs, _) = read_at_least(&app, &hospital, None, 2, 3).await;
    let ids = |e: &[Value]| e.iter().map(|e| e["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&theirs), ids(&events), "read two at a time, the same events in the same order");

    // An organisation that is no party reads nothing (these events are past the horizon now, so
    // they would show); a reporter may not read the feed at all.
    let other = app.login("kvalitet@hnt.example").await;
    assert_eq!(read_all(&app, &other, None, 100).await.0.len(), 0);
    app.get("/api/v1/feed", &nurse).await.problem(403, "forbidden");
}

#[actix_web::test]
async fn a_cursor_goes_on_where_it_stopped_and_a_foreign_or_broken_one_is_refused() {
    let app = spawn_app().await;
    let (nurse, muni, hospital) =
        (app.login(NURSE).await, app.login(MUNI_ADVISOR).await, app.login(HOSPITAL_ADVISOR).await);
    app.submit_to_hospital(&nurse).await;
    let (first, cursor) = read_at_least(&app, &muni, None, 100, 1).await;
    assert_eq!(first[0]["cursor"], cursor.as_str(), "the last event's cursor is the next one");

    let empty = feed(&app, &muni, Some(&cursor), 100).await;
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["next_cursor"], cursor.as_str(), "nothing new: the same cursor");

    app.submit_to_hospital(&nurse).await;
    let (next, _) = read_at_least(&app, &muni, Some(cursor.clone()), 100, 1).await;
    assert_eq!(types(&next), ["submitted"]);

    let foreign = app.get(&format!("/api/v1/feed?after={cursor}"), &hospital).await.problem(422, "validation_failed");
    assert_eq!(foreign["fields"][0]["field"], "after");
    assert_eq!(foreign["fields"][0]["code"], "invalid_cursor");
    assert!(foreign["fields"][0]["message"].as_str().unwrap().contains("annen organisasjon"));
    for bad in ["abc", "%F0%9F%98%80", "MTox"] {
        let p = app.get(&format!("/api/v1/feed?after={bad}"), &muni).await.problem(422, "validation_failed");
        assert_eq!(p["fields"][0]["code"], "invalid_cursor", "{bad}");
    }
    for limit in ["0", "1001"] {
        let p = app.get(&format!("/api/v1/feed?limit={limit}"), &muni).await.problem(422, "validation_failed");
        assert_eq!(p["fields"][0]["field"], "limit");
    }
}

/// An event on `id` written on `conn`, in whatever transaction `conn` has open.
fn comment(app: &TestApp, conn: &mut DbConnection, id: &str) -> Result<String, samavvik::error::ApiError> {
    let entry = Entry::new(EventKind::Commented, None).text(Some("Ny opplysning.".into()));
    let id = DeviationId::from(id.to_owned());
    record(conn, &app.config, &id, chrono::Utc::now().naive_utc(), entry).map(|row| row.id)
}

fn execute(conn: &mut DbConnection, sql: &str) {
    diesel::sql_query(sql).execute(conn).unwrap();
}

#[actix_web::test]
async fn an_event_whose_transaction_commits_late_is_not_passed_by_a_reader() {
    let app = spawn_app().await;
    let (nurse, muni) = (app.login(NURSE).await, app.login(MUNI_ADVISOR).await);
    let (a, b) = (app.submit_to_hospital(&nurse).await, app.submit_to_hospital(&nurse).await);
    let (_, cursor) = read_at_least(&app, &muni, None, 100, 2).await;

    // A writes its event first and keeps its transaction open; B writes after it.
    let (mut first, mut second) = (app.conn(), app.conn());
    execute(&mut first, "BEGIN");
    let early = comment(&app, &mut first, a["id"].as_str().unwrap()).unwrap();
    let late = match &mut second {
        DbConnection::Pg(_) => {
            // PostgreSQL lets B commit before A; its event must wait behind A's.
            let late = second.transaction(|c| comment(&app, c, b["id"].as_str().unwrap())).unwrap();
            let (seen, _) = read_all(&app, &muni, Some(cursor.clone()), 100).await;
            assert_eq!(seen, Vec::<Value>::new(), "B's event is held back while A's, before it, may still come");
            late
        }
        DbConnection::Sqlite(_) => {
            // SQLite lets one transaction write at a time, so B cannot even start: positions are
            // handed out in commit order.
            execute(&mut second, "PRAGMA busy_timeout = 50");
            let refused = second.transaction(|c| comment(&app, c, b["id"].as_str().unwrap()));
            assert!(refused.is_err(), "a second writer must wait for the first");
            execute(&mut first, "COMMIT");
            execute(&mut first, "BEGIN");
            second.transaction(|c| comment(&app, c, b["id"].as_str().unwrap())).unwrap()
        }
    };
    execute(&mut first, "COMMIT");
    // On PostgreSQL the horizon is the whole server's: a transaction of another test may hold it a
    // moment longer, and until it moves on the feed shows neither, never one out of order.
    let (seen, _) = read_at_least(&app, &muni, Some(cursor), 100, 2).await;
    let seen: Vec<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(seen, [early.as_str(), late.as_str()], "both, in the order they were written");
}

#[actix_web::test]
async fn a_consumer_reading_while_many_write_gets_every_event_once() {
    let app = spawn_app().await;
    let (nurse, muni, hospital) =
        (app.login(NURSE).await, app.login(MUNI_ADVISOR).await, app.login(HOSPITAL_ADVISOR).await);
    let mut deviations = Vec::new();
    for _ in 0..8 {
        deviations.push(app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned());
    }
    const WRITES: usize = 12;
    let writers = deviations.iter().enumerate().map(|(i, id)| {
        let (app, token, id) = (&app, if i % 2 == 0 { &muni } else { &hospital }, id.clone());
        async move {
            for n in 0..WRITES {
                let text = json!({"text": format!("Kommentar {n}")});
                app.act(token, &id, "comments", &text).await.expect(201);
            }
        }
    });
    let expected = 8 + 8 * WRITES;
    let done = std::cell::Cell::new(false);
    let consumer = async {
        let (mut got, mut cursor) = (Vec::new(), None::<String>);
        let mut reads = 0;
        let mut since_done = None;
        loop {
            let page = feed(&app, &muni, cursor.as_deref(), 7).await;
            reads += 1;
            cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
            let items = page["items"].as_array().unwrap();
            got.extend(items.iter().cloned());
            // After the writers are done, read on until all has come (or, if something was
            // missed, until it is plain that it never will). On PostgreSQL the horizon is the
            // server's, so a transaction of another test may hold the last events back a moment.
            if done.get() && items.is_empty() {
                let since = since_done.get_or_insert_with(std::time::Instant::now);
                if got.len() >= expected || since.elapsed() > std::time::Duration::from_secs(30) {
                    return (got, reads);
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    let writing = async {
        futures_util::future::join_all(writers).await;
        done.set(true);
    };
    let ((got, reads), ()) = futures_util::join!(consumer, writing);

    let mut conn = app.conn();
    let org = app.me_org(&muni).await;
    use samavvik::db::schema::feed_entries::dsl as f;
    let table: Vec<String> =
        f::feed_entries.filter(f::organisation_id.eq(&org)).select(f::event_id).load(&mut conn).unwrap();
    let ids: Vec<String> = got.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no event twice");
    assert_eq!(unique, table.iter().collect::<HashSet<_>>(), "every event of the table, nothing else");
    assert_eq!(ids.len(), expected);
    // Each deviation's events in the order its timeline has them.
    let mut per_deviation: HashMap<&str, Vec<&str>> = HashMap::new();
    for e in &got {
        per_deviation.entry(e["deviation_id"].as_str().unwrap()).or_default().push(e["type"].as_str().unwrap());
    }
    assert!(per_deviation.values().all(|t| t[0] == "submitted" && t.len() == 1 + WRITES));
    eprintln!("feed: {} events read in {reads} reads while {} writers wrote", ids.len(), deviations.len());
}

#[actix_web::test]
async fn without_helseid_a_quality_system_gets_an_api_key_shown_once_that_can_be_revoked() {
    let app = spawn_app().await;
    let (nurse, muni) = (app.login(NURSE).await, app.login(MUNI_ADVISOR).await);
    let sent = app.submit_to_hospital(&nurse).await;
    let org = app.me_org(&muni).await;
    let clients = format!("/api/v1/organisations/{org}/clients");
    let new = json!({"name": "Compilo", "scopes": ["feed:read", "deviations:read"]});
    let client = app.post(&clients, &muni, &new).await.expect(201);
    let key = client["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("sav_{}_", client["api_key_prefix"].as_str().unwrap())), "{client}");
    assert_eq!(client["helseid_client_id"], Value::Null);
    let listed = app.get(&clients, &muni).await.expect(200);
    assert!(!listed.to_string().contains(&key), "the key is shown once: {listed}");
    assert_eq!(listed["items"][0]["last_used_at"], Value::Null);

    // The key reads the feed and the deviations Trondheim sent, as the client, and nothing more.
    assert_eq!(app.get("/api/v1/me", &key).await.expect(200)["name"], "Compilo");
    let (events, _) = read_at_least(&app, &key, None, 100, 1).await;
    assert_eq!(events[0]["deviation_id"], sent["id"]);
    let path = format!("/api/v1/deviations/{}", sent["id"].as_str().unwrap());
    app.get(&path, &key).await.expect(200);
    let comment = json!({"text": "Registrert i Compilo."});
    let refused = app.post(&format!("{path}/comments"), &key, &comment).await.problem(403, "insufficient_scope");
    assert!(refused["detail"].as_str().unwrap().contains("deviations:write"), "{refused}");
    app.post("/api/v1/deviations", &key, &form(sent["recipient_organisation"]["id"].as_str().unwrap()))
        .await
        .problem(403, "insufficient_scope");
    let listed = app.get(&clients, &muni).await.expect(200);
    assert!(listed["items"][0]["last_used_at"].is_string(), "{listed}");

    // A request's line in the process log names the client, and never the key.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = dir.path().join("serve.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = serve_command(&app, port, dir.path())
        .env("SAMAVVIK_LOG_FORMAT", "json")
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("the samavvik binary");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    let r = reqwest::Client::new().get(format!("{base}/api/v1/feed")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log).unwrap();
    let line = logged.lines().find(|l| l.contains("/api/v1/feed")).unwrap_or_else(|| panic!("no line: {logged}"));
    assert!(line.contains(r#""client":"Compilo""#), "{line}");
    assert!(!logged.contains(&key[4..]), "the key is in the log");

    // A key that is not the one issued, or a revoked one, is refused.
    let forged = format!("{}{}", &key[..key.len() - 1], if key.ends_with('0') { '1' } else { '0' });
    app.get("/api/v1/me", &forged).await.problem(401, "invalid_token");
    let revoke = format!("{clients}/{}", client["id"].as_str().unwrap());
    app.request(reqwest::Method::DELETE, &revoke, Some(&muni), None).await.expect(204);
    app.get("/api/v1/feed", &key).await.problem(401, "invalid_token");
}
