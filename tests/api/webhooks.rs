//! Webhooks to a real receiver that verifies every signature with the Standard Webhooks reference
//! library for Python: what a message holds, retries with the same id, Retry-After, 410, timeouts,
//! redirects, private addresses, secret rotation, the delivery log, and a kill -9 mid-delivery.
//! The worker is called by the tests, on the server's clock, so what is due when is deterministic.

use std::time::Duration as StdDuration;

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::receiver::Receiver;

const WAIT: StdDuration = StdDuration::from_secs(30);

/// A server that may send to the receiver on 127.0.0.1. The receiver answers at once unless told to
/// be slow, so a timeout of 15 s (the default) is only reached on purpose, also on a loaded machine.
async fn loopback_app_with_timeout(seconds: u64) -> TestApp {
    spawn_app_with(|c| {
        c.webhook_worker = false;
        c.webhook_allow_loopback = true;
        c.webhook_timeout_seconds = seconds;
    })
    .await
}

async fn loopback_app() -> TestApp {
    loopback_app_with_timeout(15).await
}

/// Registers a webhook for the caller's organisation; returns it (with its secret).
async fn register(app: &TestApp, token: &str, url: &str, types: &[&str]) -> Value {
    let org = app.me_org(token).await;
    let body = json!({ "url": url, "description": "EQS", "event_types": types });
    app.post(&format!("/api/v1/organisations/{org}/webhooks"), token, &body).await.expect(201)
}

async fn deliver(app: &TestApp) -> samavvik::integration::webhooks::delivery::Rounds {
    app.webhooks().deliver_due().await.expect("a delivery round")
}

async fn deliveries(app: &TestApp, token: &str, hook: &Value) -> Vec<Value> {
    let path = format!(
        "/api/v1/organisations/{}/webhooks/{}/deliveries",
        hook["organisation_id"].as_str().unwrap(),
        hook["id"].as_str().unwrap()
    );
    app.get(&path, token).await.expect(200)["items"].as_array().unwrap().clone()
}

fn body(message: &Value) -> Value {
    serde_json::from_str(message["body"].as_str().unwrap()).unwrap()
}

#[actix_web::test]
async fn a_webhook_gets_a_secret_once_and_thin_signed_messages_about_its_organisations_events() {
    let app = loopback_app().await;
    let receiver = Receiver::start().await;
    let (advisor, muni, nurse) =
        (app.login(HOSPITAL_ADVISOR).await, app.login(MUNI_ADVISOR).await, app.login(NURSE).await);
    let hook = register(&app, &advisor, &receiver.url("stolav", "ok"), &[]).await;
    let secret = hook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{hook}");
    let path = format!("/api/v1/organisations/{}/webhooks", hook["organisation_id"].as_str().unwrap());
    let listed = app.get(&path, &advisor).await.expect(200);
    assert!(listed["items"][0].get("secret").is_none(), "the secret is shown once: {listed}");
    receiver.secrets("stolav", &[secret]).await;
    // The municipality's own endpoint only wants answers.
    let muni_hook = register(&app, &muni, &receiver.url("trondheim", "ok"), &["answered"]).await;
    receiver.secrets("trondheim", &[muni_hook["secret"].as_str().unwrap()]).await;

    let deviation = app.submit_to_hospital(&nurse).await;
    assert_eq!(deliver(&app).await.sent, 1);
    let got = receiver.wait_for("stolav", 1, WAIT).await;
    assert_eq!(got[0]["verified"], json!([0]), "signed with the endpoint's secret: {got:?}");
    assert_eq!(got[0]["content_type"], "application/json");
    let message = body(&got[0]);
    assert_eq!(message["type"], "submitted");
    let mut keys: Vec<&str> = message["data"].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["deviation_id", "id", "occurred_at", "organisation_id", "reference", "status"]);
    assert_eq!(message["data"]["deviation_id"], deviation["id"]);
    assert_eq!(message["data"]["reference"], deviation["reference"]);
    // Thin: nothing the nurse wrote.
    assert!(!got[0]["body"].as_str().unwrap().contains("epikrise"), "{got:?}");
    // The same event in the feed carries the same id.
    let feed = app.get("/api/v1/feed", &advisor).await.expect(200);
    assert_eq!(feed["items"][0]["id"], message["data"]["id"]);
    assert!(receiver.messages("trondheim").is_empty(), "submitted is not among its types");

    let id = deviation["id"].as_str().unwrap();
    app.act(&advisor, id, "acknowledge", &json!({})).await.expect(200);
    app.act(&advisor, id, "answer", &json!({ "answer": "Epikrisen sendes nå samme dag." })).await.expect(200);
    deliver(&app).await;
    let muni_got = receiver.wait_for("trondheim", 1, WAIT).await;
    assert_eq!(body(&muni_got[0])["type"], "answered");
    assert_eq!(muni_got[0]["verified"], json!([0]));
    let stolav_got = receiver.wait_for("stolav", 3, WAIT).await;
    let ids: std::collections::HashSet<&str> = stolav_got.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "one webhook-id per message");
    assert!(!ids.contains(muni_got[0]["id"].as_str().unwrap()), "each endpoint's message has its own id");

    // A test message, and the log.
    let test_path = format!("{path}/{}/test", hook["id"].as_str().unwrap());
    let queued = app.post(&test_path, &advisor, &json!({})).await.expect(202);
    deliver(&app).await;
    let with_test = receiver.wait_for("stolav", 4, WAIT).await;
    assert_eq!(with_test[3]["id"], queued["id"]);
    assert_eq!(body(&with_test[3])["type"], "test");
    let log = deliveries(&app, &advisor, &hook).await;
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|d| d["status"] == "sent" && d["attempts"][0]["status_code"] == 200), "{log:?}");

    // Only the organisation's own advisor (or an admin) sees its webhooks.
    app.get(&path, &muni).await.problem(403, "forbidden");
    app.get(&path, &nurse).await.problem(403, "forbidden");
}

#[actix_web::test]
async fn a_failing_receiver_gets_the_same_id_until_it_answers_and_retry_after_is_honoured() {
    let app = loopback_app().await;
    let receiver = Receiver::start().await;
    let (advisor, nurse) = (app.login(HOSPITAL_ADVISOR).await, app.login(NURSE).await);
    let hook = register(&app, &advisor, &receiver.url("flaky", "fail/2"), &[]).await;
    receiver.secrets("flaky", &[hook["secret"].as_str().unwrap()]).await;
    app.submit_to_hospital(&nurse).await;

    assert_eq!(deliver(&app).await.failed, 1);
    assert_eq!(deliver(&app).await, Default::default(), "not due again at once");
    app.clock.advance(Duration::seconds(7));
    assert_eq!(deliver(&app).await.failed, 1);
    app.clock.advance(Duration::minutes(7));
    assert_eq!(deliver(&app).await.sent, 1);
    let got = receiver.wait_for("flaky", 3, WAIT).await;
    assert!(got.iter().all(|m| m["id"] == got[0]["id"] && m["verified"] == json!([0])), "{got:?}");
    let log = deliveries(&app, &advisor, &hook).await;
    let codes: Vec<&Value> = log[0]["attempts"].as_array().unwrap().iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(200)]);

    // Redeliver sends it once more, under the same id.
    let redeliver = format!(
        "/api/v1/organisations/{}/webhooks/{}/deliveries/{}/redeliver",
        hook["organisation_id"].as_str().unwrap(),
        hook["id"].as_str().unwrap(),
        log[0]["id"].as_str().unwrap()
    );
    app.post(&redeliver, &advisor, &json!({})).await.expect(202);
    deliver(&app).await;
    assert_eq!(receiver.wait_for("flaky", 4, WAIT).await[3]["id"], got[0]["id"]);

    // 503 with Retry-After: an hour, though the schedule would try again in seconds.
    let patient = register(&app, &advisor, &receiver.url("busy", "retry-after/3600"), &[]).await;
    receiver.secrets("busy", &[patient["secret"].as_str().unwrap()]).await;
    app.submit_to_hospital(&nurse).await;
    deliver(&app).await;
    receiver.wait_for("busy", 1, WAIT).await;
    app.clock.advance(Duration::minutes(30));
    deliver(&app).await;
    assert_eq!(receiver.messages("busy").len(), 1, "Retry-After is honoured");
    app.clock.advance(Duration::minutes(31));
    deliver(&app).await;
    let busy = receiver.wait_for("busy", 2, WAIT).await;
    assert_eq!(busy[1]["id"], busy[0]["id"]);
}

fn disabled_mails(app: &TestApp) -> Vec<String> {
    use samavvik::db::schema::outbox::dsl as o;
    o::outbox.filter(o::template.eq("webhook_disabled")).select(o::recipient).load(&mut app.conn()).unwrap()
}

#[actix_web::test]
async fn a_410_or_three_days_of_failures_switch_the_endpoint_off_and_its_advisors_are_told() {
    let app = loopback_app().await;
    let receiver = Receiver::start().await;
    let (advisor, nurse) = (app.login(HOSPITAL_ADVISOR).await, app.login(NURSE).await);
    let gone = register(&app, &advisor, &receiver.url("gone", "gone"), &[]).await;
    let down = register(&app, &advisor, &receiver.url("down", "fail/1000"), &[]).await;
    app.submit_to_hospital(&nurse).await;
    deliver(&app).await;
    let path = |h: &Value| {
        format!(
            "/api/v1/organisations/{}/webhooks/{}",
            h["organisation_id"].as_str().unwrap(),
            h["id"].as_str().unwrap()
        )
    };
    let after = app.get(&path(&gone), &advisor).await.expect(200);
    assert_eq!(after["enabled"], false);
    assert!(after["disabled_reason"].as_str().unwrap().contains("410"), "{after}");
    assert_eq!(disabled_mails(&app), [HOSPITAL_ADVISOR], "the advisor hears of it once");

    // The other one fails for the whole schedule (about three days), then is switched off too.
    let max = samavvik::integration::webhooks::delivery::MAX_ATTEMPTS as usize;
    for _ in 1..max {
        app.clock.advance(Duration::hours(25));
        deliver(&app).await;
    }
    let tried = receiver.wait_for("down", max, WAIT).await;
    assert_eq!(tried.len(), max);
    let after = app.get(&path(&down), &advisor).await.expect(200);
    assert_eq!(after["enabled"], false, "{after}");
    let log = deliveries(&app, &advisor, &down).await;
    assert_eq!(log[0]["status"], "failed");
    assert_eq!(log[0]["attempts"].as_array().unwrap().len(), max);
    assert_eq!(disabled_mails(&app).len(), 2);

    // Off means nothing new is queued for it; on again, it receives.
    app.submit_to_hospital(&nurse).await;
    app.clock.advance(Duration::hours(25));
    deliver(&app).await;
    assert_eq!(receiver.messages("down").len(), max);
    app.patch(&path(&down), &advisor, &json!({ "enabled": true, "url": receiver.url("down", "ok") })).await.expect(200);
    app.submit_to_hospital(&nurse).await;
    deliver(&app).await;
    assert_eq!(receiver.wait_for("down", max + 1, WAIT).await.len(), max + 1);
}

#[actix_web::test]
async fn timeouts_dropped_connections_and_redirects_fail_and_private_addresses_are_refused() {
    let app = loopback_app_with_timeout(2).await;
    let receiver = Receiver::start().await;
    let (advisor, nurse) = (app.login(HOSPITAL_ADVISOR).await, app.login(NURSE).await);
    let slow = register(&app, &advisor, &receiver.url("slow", "slow/5"), &[]).await;
    let close = register(&app, &advisor, &receiver.url("close", "close"), &[]).await;
    let redirect = register(&app, &advisor, &receiver.url("redirect", "redirect"), &[]).await;
    app.submit_to_hospital(&nurse).await;
    assert_eq!(deliver(&app).await.failed, 3);
    let first = |log: Vec<Value>| log[0]["attempts"][0].clone();
    let timed_out = first(deliveries(&app, &advisor, &slow).await);
    assert_eq!(timed_out["status_code"], Value::Null);
    assert!(timed_out["error"].as_str().unwrap().contains("tidsfristen"), "{timed_out}");
    assert!(first(deliveries(&app, &advisor, &close).await)["error"].as_str().is_some());
    let redirected = first(deliveries(&app, &advisor, &redirect).await);
    assert_eq!(redirected["status_code"], 302);
    assert!(receiver.messages("redirect").iter().all(|m| m["path"] == "/redirect/redirect"), "not followed");

    let org = app.me_org(&advisor).await;
    for url in ["http://10.0.0.5/hook", "https://192.168.1.20/hook", "https://169.254.169.254/", "ftp://127.0.0.1/"] {
        let refused = app
            .post(&format!("/api/v1/organisations/{org}/webhooks"), &advisor, &json!({ "url": url }))
            .await
            .problem(422, "validation_failed");
        assert_eq!(refused["fields"][0]["field"], "url", "{url}: {refused}");
    }
    let unknown = app
        .post(
            &format!("/api/v1/organisations/{org}/webhooks"),
            &advisor,
            &json!({ "url": receiver.url("x", "ok"), "event_types": ["sent"] }),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(unknown["fields"][0]["field"], "event_types[0]");
}

#[actix_web::test]
async fn production_takes_only_https_to_public_addresses() {
    let app = spawn_app_with(|c| c.webhook_worker = false).await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let org = app.me_org(&advisor).await;
    let refused = app
        .post(&format!("/api/v1/organisations/{org}/webhooks"), &advisor, &json!({ "url": "http://127.0.0.1:9/hook" }))
        .await
        .problem(422, "validation_failed");
    assert!(refused["fields"][0]["message"].as_str().unwrap().contains("https"), "{refused}");
    app.post(
        &format!("/api/v1/organisations/{org}/webhooks"),
        &advisor,
        &json!({ "url": "https://eqs.stolav.example/samavvik" }),
    )
    .await
    .expect(201);
}

#[actix_web::test]
async fn during_a_rotation_both_secrets_sign_until_the_old_one_expires() {
    let app = loopback_app().await;
    let receiver = Receiver::start().await;
    let (advisor, nurse) = (app.login(HOSPITAL_ADVISOR).await, app.login(NURSE).await);
    let hook = register(&app, &advisor, &receiver.url("rot", "ok"), &[]).await;
    let old = hook["secret"].as_str().unwrap().to_owned();
    let path = format!(
        "/api/v1/organisations/{}/webhooks/{}/rotate-secret",
        hook["organisation_id"].as_str().unwrap(),
        hook["id"].as_str().unwrap()
    );
    let rotated = app.post(&path, &advisor, &json!({})).await.expect(200);
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["previous_secret_expires_at"].is_string(), "{rotated}");
    receiver.secrets("rot", &[&old, &new]).await;
    app.submit_to_hospital(&nurse).await;
    deliver(&app).await;
    let got = receiver.wait_for("rot", 1, WAIT).await;
    assert_eq!(got[0]["verified"], json!([0, 1]), "both secrets sign during the rotation: {got:?}");

    app.clock.advance(Duration::hours(25));
    app.submit_to_hospital(&nurse).await;
    deliver(&app).await;
    let got = receiver.wait_for("rot", 2, WAIT).await;
    assert_eq!(got[1]["verified"], json!([1]), "only the new one after the rotation: {got:?}");
}

#[actix_web::test]
async fn a_server_killed_mid_delivery_delivers_after_restart_with_the_same_id() {
    let app = loopback_app().await;
    let receiver = Receiver::start().await;
    let (advisor, nurse) = (app.login(HOSPITAL_ADVISOR).await, app.login(NURSE).await);
    let hook = register(&app, &advisor, &receiver.url("crash", "hang-once"), &[]).await;
    receiver.secrets("crash", &[hook["secret"].as_str().unwrap()]).await;
    app.submit_to_hospital(&nurse).await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let start = || {
        serve_command(&app, port, dir.path())
            .env("SAMAVVIK_WEBHOOK_ALLOW_LOOPBACK", "true")
            .env("SAMAVVIK_WEBHOOK_TIMEOUT_SECONDS", "3")
            .env("SAMAVVIK_MAIL_WORKER", "false")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start samavvik serve")
    };
    let mut server = start();
    // The receiver holds the first request open; the server is killed while it waits.
    let first = receiver.wait_for("crash", 1, WAIT).await;
    server.kill().unwrap();
    server.wait().unwrap();
    let mut server = start();
    // The dead worker's lease (twice the timeout and 5 s: 11 s) runs out; then the message goes again.
    let again = receiver.wait_for("crash", 2, WAIT).await;
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(again[1]["id"], first[0]["id"], "the same webhook-id after the restart");
    assert_eq!(again[1]["verified"], json!([0]));
}
