//! Faults: the real `samavvik serve` binary is killed with SIGKILL in the middle of a submission
//! load while mail is due, then restarted on the same database. Nothing acknowledged may be lost,
//! nothing may be stored twice, and every due mail must arrive exactly once.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use samavvik::db::schema::{deviations, outbox};
use serde_json::Value;
use tokio::sync::Notify;

use crate::helpers::*;
use crate::mailserver::SmtpSink;

const CLIENTS: usize = 16;
/// Acknowledged submissions before the kill.
const KILL_AFTER: usize = 60;

/// The binary Cargo built for these tests, on `app`'s database, mailing to the test's SMTP server.
async fn start(app: &TestApp, port: u16, smtp_port: u16, mail_worker: bool, dir: &std::path::Path) -> ServeProcess {
    let env = [
        ("SAMAVVIK_MAIL_WORKER", mail_worker.to_string()),
        ("SAMAVVIK_MAIL_TRANSPORT", "smtp".to_owned()),
        ("SAMAVVIK_SMTP_HOST", "127.0.0.1".to_owned()),
        ("SAMAVVIK_SMTP_PORT", smtp_port.to_string()),
        ("SAMAVVIK_SMTP_TLS", "none".to_owned()),
    ];
    ServeProcess::start(app, port, dir, &env).await
}

enum Outcome {
    Acknowledged(String),
    /// The connection broke before a complete 201 arrived: the client cannot know.
    Unknown,
}

async fn submit(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> Result<reqwest::Response, reqwest::Error> {
    client
        .post(format!("{base}/api/v1/deviations"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
}

#[actix_web::test]
async fn kill_9_under_load_loses_nothing_and_mails_every_due_message_once() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let body = form(app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap());
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = start(&app, port, sink.port, false, dir.path()).await;

    let outcomes: Arc<Mutex<Vec<(String, Outcome)>>> = Default::default();
    let (acked, enough) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (outcomes, acked, enough) = (outcomes.clone(), acked.clone(), enough.clone());
            let (base, token, body) = (server.base(), nurse.clone(), body.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                loop {
                    let key = uuid::Uuid::new_v4().to_string();
                    let outcome = match submit(&client, &base, &token, &key, &body).await {
                        Ok(r) if r.status() == 201 => match r.json::<Value>().await {
                            Ok(v) => Outcome::Acknowledged(v["id"].as_str().unwrap().to_owned()),
                            Err(_) => Outcome::Unknown,
                        },
                        Ok(r) => panic!("submission answered {} under load", r.status()),
                        Err(_) => Outcome::Unknown,
                    };
                    let stop = matches!(outcome, Outcome::Unknown);
                    outcomes.lock().unwrap().push((key, outcome));
                    if stop {
                        return;
                    }
                    if acked.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                        enough.notify_one();
                    }
                }
            })
        })
        .collect();
    enough.notified().await;
    server.kill_9();
    for c in clients {
        c.await.unwrap();
    }
    drop(server);

    // Restart on the same database, now with the mail worker, and let every client retry.
    let server = start(&app, free_port(), sink.port, true, dir.path()).await;
    let client = reqwest::Client::new();
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let (mut acknowledged, mut found, mut lost, mut duplicated) = (0, 0, 0, 0);
    let (mut in_flight_stored, mut in_flight_absent) = (0, 0);
    let mut ids = std::collections::BTreeSet::new();
    for (key, outcome) in &outcomes {
        let r = submit(&client, &server.base(), &nurse, key, &body).await.unwrap();
        assert_eq!(r.status(), 201, "retry of {key}");
        let replayed = r.headers().get("idempotent-replayed").is_some();
        let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        match outcome {
            Outcome::Acknowledged(first) => {
                acknowledged += 1;
                if replayed && *first == id {
                    found += 1;
                } else if !replayed {
                    lost += 1;
                }
            }
            Outcome::Unknown if replayed => in_flight_stored += 1,
            Outcome::Unknown => in_flight_absent += 1,
        }
        if !ids.insert(id) {
            duplicated += 1;
        }
    }
    let stored: i64 = deviations::table.count().get_result(&mut app.conn()).unwrap();
    duplicated += stored as usize - ids.len().min(stored as usize);

    // Every mail that was due when the server died, and every one the retries added, exactly once.
    let due: i64 = outbox::table.count().get_result(&mut app.conn()).unwrap();
    sink.wait_for(due as usize, Duration::from_secs(60)).await;
    // The worker marks a row sent just after the sink has it; wait (bounded) for the last marks.
    let started = Instant::now();
    let pending = loop {
        let pending: i64 = outbox::table
            .filter(outbox::status.ne(samavvik::db::outbox::SENT))
            .count()
            .get_result(&mut app.conn())
            .unwrap();
        if pending == 0 || started.elapsed() > Duration::from_secs(30) {
            break pending;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let messages = sink.messages();
    let delivered: std::collections::BTreeSet<String> = messages.iter().map(|m| m.message_id()).collect();
    println!(
        "kill -9: submissions acknowledged {acknowledged}, found after restart {found}, lost {lost}, duplicated {duplicated}, \
         in flight {in_flight_stored} stored before the kill and {in_flight_absent} not (each stored once by its retry); mails due {due}, delivered {}, duplicated {}",
        delivered.len(),
        messages.len() - delivered.len()
    );
    assert!(acknowledged >= KILL_AFTER);
    assert_eq!((found, lost, duplicated), (acknowledged, 0, 0));
    assert_eq!(stored as usize, outcomes.len(), "one deviation per idempotency key");
    assert_eq!((delivered.len(), messages.len(), pending), (due as usize, due as usize, 0));
}

/// A TCP proxy in front of PostgreSQL that can fail like a database that went away: every open
/// connection is cut and new ones are refused until `restore`.
/// It runs on its own runtime: the service connects to it from blocking code (migrations, the
/// pool), which would starve a proxy sharing the test's single thread.
struct Proxy {
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let listener = {
            let _inside = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener).unwrap()
        };
        let port = listener.local_addr().unwrap().port();
        let proxy = Proxy { port, runtime: Some(runtime), tasks: Default::default() };
        proxy.serve(listener, upstream);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener, upstream: String) {
        let tasks = self.tasks.clone();
        let rt = self.runtime.as_ref().unwrap().handle().clone();
        let spawner = rt.clone();
        let accept = rt.spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let pipe = spawner.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    fn outage(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    async fn restore(&self, upstream: String) {
        let port = self.port;
        let listener = self.runtime.as_ref().unwrap().spawn(async move {
            loop {
                // The old listener closes as its aborted task is dropped; the port frees within moments.
                match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                    Ok(l) => break l,
                    Err(_) => tokio::task::yield_now().await,
                }
            }
        });
        self.serve(listener.await.unwrap(), upstream);
    }
}

#[actix_web::test]
async fn a_database_outage_gives_503_with_retry_after_and_the_service_recovers() {
    // A connection to lose needs a server: this runs in the PostgreSQL suite of .ci/run.
    if !requires("postgres", "faults::a_database_outage") {
        return;
    }
    let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
    let upstream = admin_url.split('@').nth(1).and_then(|h| h.split('/').next()).unwrap().to_owned();
    let proxy = Proxy::start(upstream.clone()).await;
    let port = proxy.port;
    let app = spawn_app_with(|c| {
        c.database_url = c.database_url.replacen(&upstream, &format!("127.0.0.1:{port}"), 1);
        c.db_max_connections = 4;
    })
    .await;
    let nurse = app.login(NURSE).await;
    let body = form(app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap());
    app.submit(&nurse, &body).await;

    proxy.outage();
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let (client, base, token, body) =
                (reqwest::Client::new(), app.address.clone(), nurse.clone(), body.clone());
            tokio::spawn(async move {
                let key = uuid::Uuid::new_v4().to_string();
                let r = submit(&client, &base, &token, &key, &body).await.unwrap();
                let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
                (key, r.status().as_u16(), retry_after, r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut keys = Vec::new();
    for a in attempts {
        let (key, status, retry_after, problem) = a.await.unwrap();
        assert_eq!((status, problem["code"].as_str()), (503, Some("service_unavailable")), "{problem}");
        assert!(retry_after.is_some_and(|s| s.parse::<u32>().is_ok()), "503 without Retry-After");
        keys.push(key);
    }
    let ready = app.client.get(format!("{}/ready", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    proxy.restore(upstream).await;
    let started = Instant::now();
    while app.client.get(format!("{}/ready", app.address)).send().await.unwrap().status() != 200 {
        assert!(started.elapsed() < Duration::from_secs(30), "did not recover after the database came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Nothing from the outage was half-stored: each retry is a first submission, not a replay.
    let client = reqwest::Client::new();
    for key in &keys {
        let r = submit(&client, &app.address, &nurse, key, &body).await.unwrap();
        assert_eq!(r.status(), 201);
        assert!(r.headers().get("idempotent-replayed").is_none(), "a refused submission had been stored");
    }
    let stored: i64 = deviations::table.count().get_result(&mut app.conn()).unwrap();
    assert_eq!(stored as usize, 1 + keys.len());
    println!(
        "database outage: {} submissions refused with 503 + Retry-After, 0 stored, all 8 stored once after recovery",
        keys.len()
    );
}
