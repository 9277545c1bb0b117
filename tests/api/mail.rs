//! Feedback e-mail: outbox rows written with each change, delivered through a real SMTP server.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::mailserver::SmtpSink;

const SENTINEL: &str = "SENTINEL-7f3a-fritekst";

/// A form whose every free-text field carries the sentinel.
fn sentinel_form(recipient: &str) -> Value {
    let mut f = form(recipient);
    for field in ["description", "immediate_actions", "suggested_improvement", "agreement_reference"] {
        f[field] = json!(format!("{SENTINEL} i {field}"));
    }
    f
}

#[actix_web::test]
async fn the_whole_lifecycle_is_mailed_without_free_text() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(|c| smtp_to(c, sink.port)).await;
    let nurse = app.login(NURSE).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let handler = app.login(HANDLER).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let medisinsk =
        stolav["units"].as_array().unwrap().iter().find(|u| u["name"] == "Medisinsk klinikk").unwrap().clone();

    let d = app.submit(&nurse, &sentinel_form(stolav["id"].as_str().unwrap())).await;
    let (id, reference) = (d["id"].as_str().unwrap(), d["reference"].as_str().unwrap());
    let note = json!({"unit_id": medisinsk["id"], "note": SENTINEL});
    app.act(&advisor, id, "acknowledge", &note).await.expect(200);
    app.act(&handler, id, "answer", &json!({"answer": SENTINEL, "actions": SENTINEL})).await.expect(200);
    app.act(&nurse, id, "comments", &json!({"text": SENTINEL})).await.expect(201);
    app.act(&nurse, id, "close", &json!({"note": SENTINEL})).await.expect(200);

    let delivered = app.worker().deliver_due().await.unwrap();
    let messages = sink.messages();
    assert_eq!(delivered.sent, messages.len());
    let got: BTreeSet<(String, String)> =
        messages.iter().map(|m| (m.to.join(","), m.subject().split(" – ").next().unwrap().to_owned())).collect();
    let want: BTreeSet<(String, String)> = [
        (NURSE, "Avviket er mottatt"),
        ("avvik@stolav.example", "Nytt samhandlingsavvik fra Trondheim kommune"),
        (NURSE, "Avviket er bekreftet mottatt"),
        ("medisinsk-klinikk@stolav.example", "Avvik tildelt dere"),
        (NURSE, "Du har fått svar"),
        ("medisinsk-klinikk@stolav.example", "Ny kommentar i saken"),
        ("leder.medisinsk@stolav.example", "Ny kommentar i saken"),
        ("medisinsk-klinikk@stolav.example", "Avviket er lukket"),
        ("leder.medisinsk@stolav.example", "Avviket er lukket"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(messages.len(), want.len(), "a recipient got the same message twice");
    let link = format!("{}/avvik/{id}", app.config.public_base_url);
    for m in &messages {
        assert!(m.subject().ends_with(reference), "{}", m.subject());
        let text = m.text();
        assert!(text.contains(reference) && text.contains(&link), "{text}");
        assert!(text.contains("Epikrise og sykepleiesammenfatning"));
        assert!(!m.data.contains(SENTINEL) && !text.contains(SENTINEL), "free text leaked into: {}", m.subject());
        // The receipt and the new-case mail are rendered before the number is taken.
        assert!(!m.data.contains("REFERANSE"), "the number's stand-in was left in: {}", m.data);
    }
    // Delivering again sends nothing more.
    assert_eq!(app.worker().deliver_due().await.unwrap().sent, 0);
    assert_eq!(sink.messages().len(), want.len());
}

#[actix_web::test]
async fn every_template_rendered_from_a_sentinel_deviation_is_free_of_it() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap().to_owned();
    let id = app.submit(&nurse, &sentinel_form(&stolav)).await["id"].as_str().unwrap().to_owned();
    let handler = app.login(HANDLER).await;
    app.act(&handler, &id, "answer", &json!({"answer": SENTINEL})).await.expect(200);
    let mut conn = app.conn();
    let row =
        samavvik::db::deviations::find(&mut conn, &samavvik::db::deviations::Scope::All, &id.as_str().into()).unwrap();
    assert!(row.description.contains(SENTINEL) && row.answer.as_deref().unwrap().contains(SENTINEL));
    let data = samavvik::mail::outbox::facts(&mut conn, &app.config, &row, &row.recipient_organisation_id).unwrap();
    for kind in samavvik::mail::templates::KINDS {
        let r = samavvik::mail::templates::render(kind, &data).unwrap();
        for part in [&r.subject, &r.text, &r.html] {
            assert!(!part.contains(SENTINEL), "{kind} leaks free text");
        }
    }
    let queued = samavvik::db::outbox::for_deviation(&mut conn, &id.as_str().into()).unwrap();
    assert!(!queued.is_empty());
    assert!(queued
        .iter()
        .all(|m| !m.subject.contains(SENTINEL) && !m.body_text.contains(SENTINEL) && !m.body_html.contains(SENTINEL)));
    // Rows keep the template's data, rendered only when sent; the data holds no free text either.
    assert!(queued.iter().all(|m| m.subject.is_empty() && !m.data.is_empty() && !m.data.contains(SENTINEL)));
}

#[actix_web::test]
async fn smtp_outage_retries_with_backoff_and_delivers_exactly_once() {
    let mut sink = SmtpSink::start().await;
    let app = spawn_app_with(|c| smtp_to(c, sink.port)).await;
    sink.stop();
    let nurse = app.login(NURSE).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let worker = app.worker();

    let first = worker.deliver_due().await.unwrap();
    assert_eq!((first.sent, first.failed), (0, 2));
    let rows = samavvik::db::outbox::for_deviation(&mut app.conn(), &id.as_str().into()).unwrap();
    for r in &rows {
        assert_eq!((r.status.as_str(), r.attempts), ("pending", 1));
        assert!(r.last_error.as_deref().is_some_and(|e| !e.is_empty()));
        let wait = r.next_attempt_at - app.clock.now_naive();
        assert!(wait > Duration::seconds(20) && wait <= Duration::seconds(30), "backoff {wait}");
    }
    // Not due yet: nothing is tried.
    assert_eq!(worker.deliver_due().await.unwrap(), Default::default());

    app.clock.advance(Duration::seconds(31));
    let second = worker.deliver_due().await.unwrap();
    assert_eq!((second.sent, second.failed), (0, 2), "still down");
    let rows = samavvik::db::outbox::for_deviation(&mut app.conn(), &id.as_str().into()).unwrap();
    assert!(rows.iter().all(|r| r.attempts == 2 && r.next_attempt_at - app.clock.now_naive() > Duration::seconds(50)));

    sink.restart().await;
    app.clock.advance(Duration::seconds(61));
    assert_eq!(worker.deliver_due().await.unwrap().sent, 2);
    assert_eq!(worker.deliver_due().await.unwrap().sent, 0);
    assert_eq!(sink.messages().len(), 2);
    let rows = samavvik::db::outbox::for_deviation(&mut app.conn(), &id.as_str().into()).unwrap();
    assert!(rows.iter().all(|r| r.status == "sent" && r.sent_at.is_some()));
}

#[actix_web::test]
async fn failed_mail_is_visible_to_admins_and_can_be_retried() {
    let mut sink = SmtpSink::start().await;
    let app = spawn_app_with(|c| {
        smtp_to(c, sink.port);
        c.mail_max_attempts = 1;
    })
    .await;
    sink.stop();
    let nurse = app.login(NURSE).await;
    app.submit_to_hospital(&nurse).await;
    app.worker().deliver_due().await.unwrap();
    let admin = app.login(ADMIN).await;
    let status = app.get("/api/v1/admin/outbox", &admin).await.expect(200);
    assert_eq!((status["failed"].as_i64(), status["pending"].as_i64()), (Some(2), Some(0)));
    assert!(status["failed_items"].as_array().unwrap().iter().all(|f| f["last_error"].is_string()));
    app.get("/api/v1/admin/outbox", &nurse).await.problem(403, "forbidden");
    app.post("/api/v1/admin/outbox/retry", &nurse, &json!({})).await.problem(403, "forbidden");

    let retried = app.post("/api/v1/admin/outbox/retry", &admin, &json!({})).await.expect(200);
    assert_eq!(retried["requeued"], 2);
    sink.restart().await;
    assert_eq!(app.worker().deliver_due().await.unwrap().sent, 2);
    let status = app.get("/api/v1/admin/outbox", &admin).await.expect(200);
    assert_eq!((status["sent"].as_i64(), status["failed"].as_i64()), (Some(2), Some(0)));
}

#[actix_web::test]
async fn two_workers_deliver_every_mail_of_200_deviations_exactly_once() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(|c| smtp_to(c, sink.port)).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap().to_owned();
    let body = form(&stolav);
    for _ in 0..10 {
        let batch = (0..20).map(|_| app.post("/api/v1/deviations", &nurse, &body));
        for r in futures_util::future::join_all(batch).await {
            assert_eq!(r.status, 201);
        }
    }
    let (a, b) = (app.worker(), app.worker());
    let (ra, rb) = futures_util::future::join(a.deliver_due(), b.deliver_due()).await;
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.sent + rb.sent, 400, "receipt + new deviation for each of 200");
    assert!(ra.sent > 0 && rb.sent > 0, "one worker did everything: {ra:?} {rb:?}");
    let messages = sink.messages();
    assert_eq!(messages.len(), 400);
    let ids: BTreeSet<String> = messages.iter().map(|m| m.message_id()).collect();
    assert_eq!(ids.len(), 400, "some outbox row was sent twice");
}

#[actix_web::test]
async fn reminders_overdue_and_escalation_each_fire_once() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let d = app.submit_to_hospital(&nurse).await;
    let id = d["id"].as_str().unwrap().to_owned();
    let mut conn = app.conn();
    let run = |conn: &mut samavvik::db::DbConnection| {
        samavvik::mail::reminders::enqueue_due(conn, &app.config, &app.clock).unwrap()
    };
    assert_eq!(run(&mut conn), 0, "nothing is due on day one");

    // Walk forty days, one at a time, as the periodic job would; note the day each mail appears.
    let mut first_seen: BTreeMap<(String, String), i64> = BTreeMap::new();
    for day in 1..=40 {
        app.clock.advance(Duration::days(1));
        run(&mut conn);
        for m in samavvik::db::outbox::for_deviation(&mut conn, &id.as_str().into()).unwrap() {
            first_seen
                .entry((m.template.clone(), m.dedupe_key.split(':').nth(2).unwrap_or("").to_owned()))
                .or_insert(day);
        }
    }
    let reminder_kinds: Vec<&(String, String)> =
        first_seen.keys().filter(|(t, _)| t != "receipt" && t != "new_deviation").collect();
    let expected = ["escalation", "overdue", "reminder"]
        .iter()
        .flat_map(|t| ["acknowledge", "answer"].map(|d| (t.to_string(), d.to_string())))
        .collect::<Vec<_>>();
    assert_eq!(reminder_kinds, expected.iter().collect::<Vec<_>>());
    for deadline in ["acknowledge", "answer"] {
        let day = |t: &str| first_seen[&(t.to_string(), deadline.to_string())];
        assert!(day("reminder") < day("overdue") && day("overdue") < day("escalation"), "{deadline}: {first_seen:?}");
    }
    // Each went out once, to the right people.
    let rows = samavvik::db::outbox::for_deviation(&mut conn, &id.as_str().into()).unwrap();
    let count = |t: &str| rows.iter().filter(|r| r.template == t).count();
    assert_eq!((count("reminder"), count("overdue"), count("escalation")), (2, 2, 2));
    assert!(rows
        .iter()
        .filter(|r| r.template == "escalation")
        .all(|r| r.recipient == "forbedringsgruppa@helsefellesskap.example"));
    assert!(rows.iter().filter(|r| r.template == "overdue").all(|r| r.recipient == "avvik@stolav.example"));
    // Another instance, or a restart, running the job again adds nothing.
    assert_eq!(run(&mut app.conn()), 0);
}

fn next_reminder(conn: &mut samavvik::db::DbConnection, id: &str) -> Option<String> {
    use samavvik::db::schema::deviations::dsl as d;
    d::deviations.find(id).select(d::next_reminder_on).first(conn).unwrap()
}

fn reminders_of(conn: &mut samavvik::db::DbConnection, id: &str) -> Vec<String> {
    let rows = samavvik::db::outbox::for_deviation(conn, &id.into()).unwrap();
    rows.into_iter()
        .filter(|r| ["reminder", "overdue", "escalation"].contains(&r.template.as_str()))
        .map(|r| r.dedupe_key)
        .collect()
}

#[actix_web::test]
async fn the_reminder_job_reads_only_deviations_whose_next_reminder_has_come() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let handler = app.login(HANDLER).await;
    let mut conn = app.conn();
    let run = |conn: &mut samavvik::db::DbConnection| {
        samavvik::mail::reminders::enqueue_due(conn, &app.config, &app.clock).unwrap()
    };
    let quiet = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let first = next_reminder(&mut conn, &quiet).expect("a new deviation has a first reminder date");
    assert!(first > app.today().to_string(), "not before its first stage: {first}");
    run(&mut conn);
    assert_eq!(next_reminder(&mut conn, &quiet), Some(first), "not looked at before its day");
    // Without a date the job never reads it, however overdue: proof that it does not scan.
    diesel::update(samavvik::db::schema::deviations::table.find(&quiet))
        .set(samavvik::db::schema::deviations::next_reminder_on.eq(None::<String>))
        .execute(&mut conn)
        .unwrap();

    // Answered, it has nothing to be reminded of; reopened, its new answer deadline is followed.
    let reopened = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    app.act(&handler, &reopened, "answer", &json!({"answer": "Svar"})).await.expect(200);
    run(&mut conn);
    assert_eq!(next_reminder(&mut conn, &reopened), None, "answered: no next reminder");
    app.act(&nurse, &reopened, "reopen", &json!({"note": "Svaret sier ikke hva som endres."})).await.expect(200);
    assert_eq!(next_reminder(&mut conn, &reopened), Some(app.today().to_string()), "a change is looked at at once");
    for _ in 1..=40 {
        app.clock.advance(Duration::days(1));
        run(&mut conn);
    }
    assert_eq!(reminders_of(&mut conn, &quiet), Vec::<String>::new());
    let after_reopening = reminders_of(&mut conn, &reopened);
    let stages: BTreeSet<&str> = after_reopening.iter().map(|key| key.split(':').next().unwrap()).collect();
    assert_eq!(stages, BTreeSet::from(["escalation", "overdue", "reminder"]), "{after_reopening:?}");
    assert!(after_reopening.iter().all(|key| key.contains(":answer:")), "{after_reopening:?}");
    assert_eq!(next_reminder(&mut conn, &reopened), None, "escalated: nothing further");
}

#[actix_web::test]
async fn default_file_transport_writes_readable_eml_files() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let handler = app.login(HANDLER).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    app.act(&handler, &id, "answer", &json!({"answer": "Svar"})).await.expect(200);
    app.act(&nurse, &id, "close", &json!({})).await.expect(200);
    let sent = app.worker().deliver_due().await.unwrap().sent;
    let files: Vec<_> = std::fs::read_dir(&app.config.mail_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(files.len(), sent);
    let subjects: BTreeSet<String> = files
        .iter()
        .map(|p| {
            let raw = std::fs::read(p).unwrap();
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            assert!(m.body_text(0).unwrap().contains("Se saken"));
            m.subject().unwrap().split(" – ").next().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        subjects,
        BTreeSet::from(
            [
                "Avviket er mottatt",
                "Nytt samhandlingsavvik fra Trondheim kommune",
                "Du har fått svar",
                "Avviket er lukket"
            ]
            .map(String::from)
        )
    );
}

#[actix_web::test]
async fn the_worker_inside_serve_delivers_on_its_own() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(|c| {
        smtp_to(c, sink.port);
        c.mail_worker = true;
        c.mail_poll_interval_ms = 50;
    })
    .await;
    let nurse = app.login(NURSE).await;
    let reference = app.submit_to_hospital(&nurse).await["reference"].as_str().unwrap().to_owned();
    let messages = sink.wait_for(2, std::time::Duration::from_secs(20)).await;
    assert!(messages.iter().all(|m| m.subject().ends_with(&reference)));
    let recipients: BTreeSet<String> = messages.iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(recipients, BTreeSet::from([NURSE.to_string(), "avvik@stolav.example".to_string()]));
}

#[actix_web::test]
async fn the_tertial_report_goes_to_the_committee_once_after_the_tertial() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(|c| {
        smtp_to(c, sink.port);
        c.committee_recipients = "asu@helsefellesskap.example, leder.asu@trondheim.example".into();
    })
    .await;
    app.clock.set("2026-09-01T08:00:00Z".parse().unwrap());
    let mut conn = app.conn();
    let run = |c: &mut samavvik::db::DbConnection| {
        samavvik::mail::reminders::enqueue_tertial_report(c, &app.config, &app.clock).unwrap()
    };
    assert_eq!(run(&mut conn), 2);
    app.clock.advance(Duration::days(3));
    assert_eq!(run(&mut conn), 0, "once per tertial");
    app.worker().deliver_due().await.unwrap();
    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    for m in &messages {
        assert_eq!(m.subject(), "Tertialrapport for samhandlingsavvik 2026-T2");
        assert!(m.text().contains("/statistikk/rapport/2026-T2.html"));
    }
}

#[actix_web::test]
async fn the_recipients_notice_names_the_acknowledgement_and_the_answer_deadline() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let d = app.submit_to_hospital(&nurse).await;
    let norwegian = |iso: &Value| {
        let date = chrono::NaiveDate::parse_from_str(iso.as_str().unwrap(), "%Y-%m-%d").unwrap();
        date.format("%d.%m.%Y").to_string()
    };
    let (acknowledge, answer) = (norwegian(&d["deadlines"]["acknowledge_by"]), norwegian(&d["deadlines"]["answer_by"]));
    assert_ne!(acknowledge, answer);
    app.worker().deliver_due().await.unwrap();
    let notice = std::fs::read_dir(&app.config.mail_dir)
        .unwrap()
        .map(|e| {
            mail_parser::MessageParser::default()
                .parse(&std::fs::read(e.unwrap().path()).unwrap())
                .unwrap()
                .into_owned()
        })
        .find(|m| m.subject().unwrap().starts_with("Nytt samhandlingsavvik"))
        .expect("the recipient's notice");
    let text = notice.body_text(0).unwrap();
    assert!(text.contains(&format!("Bekreft mottaket innen {acknowledge}, og svar innen {answer}.")), "{text}");
    assert!(text.contains(&format!("Bekreft mottak innen: {acknowledge}")), "{text}");
    assert!(text.contains(&format!("Svarfrist: {answer}")), "{text}");
}

/// What an outbox row came to: (recipient, status, attempts).
fn outcomes(app: &TestApp, id: &str) -> BTreeSet<(String, String, i32)> {
    samavvik::db::outbox::for_deviation(&mut app.conn(), &id.into())
        .unwrap()
        .into_iter()
        .map(|r| (r.recipient, r.status, r.attempts))
        .collect()
}

#[actix_web::test]
async fn delivery_over_starttls_with_auth_to_a_relay_with_its_own_ca() {
    use crate::mailserver::{Behaviour, TestCa};
    let ca = TestCa::new();
    let auth = ("samavvik".to_owned(), "relay-passord".to_owned());
    let sink = SmtpSink::start_with(Behaviour { tls: Some(ca.clone()), auth: Some(auth), ..Default::default() }).await;
    let configure = |c: &mut samavvik::config::Config, password: &str, ca_file: &str| {
        smtp_to(c, sink.port);
        c.smtp_tls = samavvik::config::SmtpTls::Starttls;
        c.smtp_username = "samavvik".into();
        c.smtp_password = password.into();
        c.smtp_ca_file = ca_file.into();
    };
    let ca_file = ca.ca_pem.to_str().unwrap().to_owned();
    let app = spawn_app_with(|c| configure(c, "relay-passord", &ca_file)).await;
    let id = app.submit_to_hospital(&app.login(NURSE).await).await["id"].as_str().unwrap().to_owned();
    assert_eq!(app.worker().deliver_due().await.unwrap().sent, 2);
    assert_eq!(sink.messages().len(), 2);
    assert!(outcomes(&app, &id).iter().all(|(_, status, _)| status == "sent"));

    // A wrong password is refused by the relay (535, permanent), and without the CA the
    // certificate is not trusted: neither delivers.
    for (password, ca_file) in [("feil", ca_file.as_str()), ("relay-passord", "")] {
        let app = spawn_app_with(|c| configure(c, password, ca_file)).await;
        app.submit_to_hospital(&app.login(NURSE).await).await;
        let round = app.worker().deliver_due().await.unwrap();
        assert_eq!((round.sent, round.failed), (0, 2), "password {password}, CA {ca_file:?}");
    }
    assert_eq!(sink.messages().len(), 2);
}

#[actix_web::test]
async fn a_4xx_reply_is_retried_later_and_delivered_once() {
    let sink = SmtpSink::start_with(crate::mailserver::Behaviour { tempfail: 2, ..Default::default() }).await;
    let app = spawn_app_with(|c| smtp_to(c, sink.port)).await;
    let id = app.submit_to_hospital(&app.login(NURSE).await).await["id"].as_str().unwrap().to_owned();
    let worker = app.worker();
    assert_eq!(worker.deliver_due().await.unwrap().failed, 2);
    assert!(outcomes(&app, &id).iter().all(|(_, status, attempts)| status == "pending" && *attempts == 1));
    app.clock.advance(Duration::seconds(31));
    assert_eq!(worker.deliver_due().await.unwrap().sent, 2);
    assert_eq!(sink.messages().len(), 2);
}

#[actix_web::test]
async fn a_5xx_reply_is_failed_at_once_visible_to_admins_and_not_retried() {
    let behaviour = crate::mailserver::Behaviour { reject: vec![NURSE.to_owned()], ..Default::default() };
    let sink = SmtpSink::start_with(behaviour).await;
    let app = spawn_app_with(|c| smtp_to(c, sink.port)).await;
    let id = app.submit_to_hospital(&app.login(NURSE).await).await["id"].as_str().unwrap().to_owned();
    let worker = app.worker();
    let round = worker.deliver_due().await.unwrap();
    assert_eq!((round.sent, round.failed), (1, 1));
    let expected: BTreeSet<(String, String, i32)> =
        [(NURSE.to_owned(), "failed".to_owned(), 1), ("avvik@stolav.example".to_owned(), "sent".to_owned(), 0)].into();
    assert_eq!(outcomes(&app, &id), expected);
    let admin = app.login(ADMIN).await;
    let status = app.get("/api/v1/admin/outbox", &admin).await.expect(200);
    assert_eq!(status["failed"], 1);
    assert!(status["failed_items"][0]["last_error"].as_str().unwrap().contains("550"), "{status}");
    // Not retried, however long we wait.
    app.clock.advance(Duration::hours(3));
    assert_eq!(worker.deliver_due().await.unwrap(), Default::default());
    assert_eq!(sink.messages().len(), 1);
}

#[actix_web::test]
async fn a_server_that_goes_away_mid_session_gets_the_mail_later_once() {
    let sink = SmtpSink::start_with(crate::mailserver::Behaviour { drop: 2, ..Default::default() }).await;
    let app = spawn_app_with(|c| smtp_to(c, sink.port)).await;
    let id = app.submit_to_hospital(&app.login(NURSE).await).await["id"].as_str().unwrap().to_owned();
    let worker = app.worker();
    assert_eq!(worker.deliver_due().await.unwrap().failed, 2);
    app.clock.advance(Duration::seconds(31));
    assert_eq!(worker.deliver_due().await.unwrap().sent, 2);
    assert_eq!(worker.deliver_due().await.unwrap(), Default::default());
    let messages = sink.messages();
    let ids: BTreeSet<String> = messages.iter().map(|m| m.message_id()).collect();
    assert_eq!((messages.len(), ids.len()), (2, 2), "each delivered once");
    assert!(outcomes(&app, &id).iter().all(|(_, status, attempts)| status == "sent" && *attempts == 1));
}
