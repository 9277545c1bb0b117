use diesel::connection::SimpleConnection;
use reqwest::{Method, StatusCode};
use samavvik::clock::Clock;
use samavvik::config::{Config, SeedDemo};
use samavvik::db::{self, DbUrl};
use samavvik::seed;
use serde_json::Value;

pub const DEMO_PASSWORD: &str = seed::DEMO_PASSWORD;
pub const NURSE: &str = "sykepleier@trondheim.example";
pub const MUNI_ADVISOR: &str = "kvalitet@trondheim.example";
pub const HOSPITAL_ADVISOR: &str = "kvalitet@stolav.example";
pub const HANDLER: &str = "leder.medisinsk@stolav.example";
pub const ANALYST: &str = "analytiker@helsefellesskap.example";
pub const ADMIN: &str = "admin@samavvik.example";

pub struct TestApp {
    pub address: String,
    pub config: Config,
    /// The server's clock: tests move it forward instead of waiting.
    pub clock: Clock,
    pub client: reqwest::Client,
    /// Holds the SQLite file and the mail folder for as long as the app lives.
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Response {
    /// Asserts the status and returns the body, printing the body when it differs.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }

    /// Asserts a problem+json error with this status and code; returns the problem.
    pub fn problem(self, status: u16, code: &str) -> Value {
        let content_type = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(content_type, "application/problem+json", "body: {}", self.body);
        let body = self.expect(status);
        assert_eq!(body["code"], code, "problem: {body}");
        assert_eq!(body["status"], status);
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "problem without detail: {body}");
        body
    }
}

/// A SQLite file in `dir`, or a new PostgreSQL database (admin URL, name) next to TEST_DATABASE_URL.
fn fresh_database(dir: &tempfile::TempDir) -> (String, Option<(String, String)>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("samavvik_t_{}", uuid::Uuid::new_v4().simple());
            let DbUrl::Postgres(_) = DbUrl::parse(&admin_url).expect("TEST_DATABASE_URL") else {
                panic!("TEST_DATABASE_URL must be a postgres:// URL");
            };
            let mut conn = DbUrl::parse(&admin_url).unwrap().connect().expect("connect to TEST_DATABASE_URL");
            conn.batch_execute(&format!("CREATE DATABASE {name}")).expect("create test database");
            let base = admin_url.rsplit_once('/').expect("URL with a database").0;
            (format!("{base}/{name}"), Some((admin_url, name)))
        }
        _ => (format!("sqlite://{}", dir.path().join("samavvik.db").display()), None),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut conn) = DbUrl::parse(admin_url).unwrap().connect() {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server with the demo data, after letting the test adjust the configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    if std::env::var_os("RUST_LOG").is_some() {
        samavvik::telemetry::init(samavvik::config::LogFormat::Text);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (database_url, postgres) = fresh_database(&dir);
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url,
        seed_demo: SeedDemo::Never,
        mail_dir: dir.path().join("mail"),
        // Tests deliver mail and run jobs by calling them, so what happens when is deterministic.
        mail_worker: false,
        background_jobs: false,
        ..Config::default()
    };
    adjust(&mut config);
    let mut conn = db::open_one(&config.db_url()).expect("open test database");
    seed::seed_demo(&mut conn).expect("seed demo data");
    drop(conn);
    let clock = Clock::default();
    let app = samavvik::Application::build_with_clock(config.clone(), clock.clone()).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run());
    TestApp { address, config, clock, client: reqwest::Client::new(), _dir: dir, postgres }
}

impl TestApp {
    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Response {
        self.request_with(method, path, token, body, &[]).await
    }

    pub async fn request_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let method_name = method.clone();
        let mut req = self.client.request(method, format!("{}{path}", self.address));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request failed");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        crate::contract::check_response(method_name.as_str(), path, status.as_u16(), content_type, &body);
        Response { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn login(&self, email: &str) -> String {
        self.login_with(email, DEMO_PASSWORD).await
    }

    pub async fn login_with(&self, email: &str, password: &str) -> String {
        let body = serde_json::json!({"email": email, "password": password});
        let resp = self.request(Method::POST, "/api/v1/auth/token", None, Some(&body)).await.expect(200);
        resp["access_token"].as_str().expect("access_token").to_owned()
    }

    /// The id of the organisation with this exact name.
    pub async fn organisation(&self, token: &str, name: &str) -> Value {
        let list = self.get("/api/v1/organisations", token).await.expect(200);
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("no organisation named {name}"))
            .clone()
    }
}

impl TestApp {
    /// A direct connection to the app's database, for running jobs and checking rows.
    pub fn conn(&self) -> db::DbConnection {
        self.config.db_url().connect().expect("connect to the test database")
    }

    /// A delivery worker on its own pool, as a separate `mail-worker` process would have.
    pub fn worker(&self) -> samavvik::mail::worker::Worker {
        let pool = db::open(&self.config.db_url(), 4).expect("pool");
        samavvik::mail::worker::Worker::new(pool, &self.config, self.clock.clone()).expect("worker")
    }

    /// A webhook deliverer on its own pool, on the server's clock.
    pub fn webhooks(&self) -> samavvik::integration::webhooks::delivery::Deliverer {
        let pool = db::open(&self.config.db_url(), 4).expect("pool");
        samavvik::integration::webhooks::delivery::Deliverer::new(
            pool,
            std::sync::Arc::new(self.config.clone()),
            self.clock.clone(),
        )
        .expect("deliverer")
    }

    pub async fn submit_with_key(&self, token: &str, body: &Value, key: &str) -> Response {
        self.request_with(Method::POST, "/api/v1/deviations", Some(token), Some(body), &[("idempotency-key", key)])
            .await
    }

    pub async fn submit(&self, token: &str, body: &Value) -> Value {
        self.post("/api/v1/deviations", token, body).await.expect(201)
    }

    /// A municipal nurse's report to St. Olavs about a missing discharge summary.
    pub async fn submit_to_hospital(&self, nurse: &str) -> Value {
        let stolav = self.organisation(nurse, "St. Olavs hospital HF").await;
        self.submit(nurse, &form(stolav["id"].as_str().unwrap())).await
    }

    pub async fn act(&self, token: &str, id: &str, action: &str, body: &Value) -> Response {
        self.post(&format!("/api/v1/deviations/{id}/{action}"), token, body).await
    }

    pub async fn me_org(&self, token: &str) -> String {
        self.get("/api/v1/me", token).await.expect(200)["organisation"]["id"].as_str().unwrap().to_owned()
    }

    /// Today in Norway by the server's clock: the day references, deadlines and filters use.
    pub fn today(&self) -> chrono::NaiveDate {
        samavvik::domain::calendar::oslo_today(self.clock.now())
    }

    pub async fn user_id(&self, token: &str) -> String {
        self.get("/api/v1/me", token).await.expect(200)["id"].as_str().unwrap().to_owned()
    }
}

/// The database a backend-specific test needs, or a visible skip: the line goes to stderr and to
/// `target/tmp/skipped-tests.txt`, which `.ci/run` prints and checks after each pass.
pub fn requires(backend: &str, test: &str) -> bool {
    let on_postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"));
    let current = if on_postgres { "postgres" } else { "sqlite" };
    if current == backend {
        return true;
    }
    let line = format!("SKIPPED on {current}: {test} (needs {backend})\n");
    eprint!("{line}");
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(file) {
        let _ = std::io::Write::write_all(&mut f, line.as_bytes());
    }
    false
}

/// Configures the app to send through the test SMTP server on `port`.
pub fn smtp_to(config: &mut Config, port: u16) {
    config.mail_transport = samavvik::config::MailTransport::Smtp;
    config.smtp_tls = samavvik::config::SmtpTls::None;
    config.smtp_host = "127.0.0.1".into();
    config.smtp_port = port;
    config.smtp_timeout_seconds = 5;
}

/// A complete, valid form to `recipient`.
pub fn form(recipient: &str) -> Value {
    serde_json::json!({
        "kind": "deviation",
        "category": "discharge_summary",
        "recipient_organisation_id": recipient,
        "occurred_at": "2026-01-12",
        "discovered_at": "2026-01-13T08:15",
        "description": "Pasienten kom hjem fra Medisinsk klinikk uten epikrise og uten oppdatert legemiddelliste.",
        "immediate_actions": "Ringte sengeposten og fikk legemiddellisten på telefon.",
        "suggested_improvement": "Send epikrise elektronisk samme dag som utskrivning.",
        "harm_class": "near_miss",
        "handover_related": true,
        "agreement_reference": "Tjenesteavtale 3, punkt 6.2"
    })
}

pub fn ids(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect()
}

/// A valid fødselsnummer, computed (so no real person's number sits in the test code).
pub fn fnr() -> String {
    (0..1000)
        .map(|n| format!("010170{n:03}00"))
        .filter_map(|base| {
            let mut d: Vec<u32> = base[..9].chars().map(|c| c.to_digit(10).unwrap()).collect();
            d.extend([0, 0]);
            (0..100).find_map(|k| {
                d[9] = k / 10;
                d[10] = k % 10;
                samavvik::domain::national_id::is_national_id(&d).then(|| d.iter().map(|x| x.to_string()).collect())
            })
        })
        .next()
        .unwrap()
}

/// Everything the app's database holds, for a search: SQLite's files byte by byte, or
/// PostgreSQL's dump.
pub fn stored_database(app: &TestApp) -> String {
    match &app.config.database_url {
        url if url.starts_with("postgres") => {
            let out = std::process::Command::new("pg_dump").arg(url).output().expect("pg_dump (postgresql-client)");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
        url => {
            let path = url.trim_start_matches("sqlite://");
            let mut bytes = std::fs::read(path).unwrap();
            bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}

/// A port nobody listens on just now, for a server that must know its address before it starts.
/// A port that is free now, for a server the test starts a moment later. Chosen below the kernel's
/// ephemeral range (32768 and up on Linux): a port from `bind(0)` is also what outgoing
/// connections get, so another test's client could take it in the seconds before the server binds.
pub fn free_port() -> u16 {
    loop {
        let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// `samavvik serve` as a process of its own, the binary Cargo built for these tests, on `app`'s
/// database, listening on `port`, with the settings such tests share (no demo seeding, no
/// background jobs); the test adds its own.
pub fn serve_command(app: &TestApp, port: u16, dir: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_samavvik"));
    command
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.config.database_url)
        .env("SAMAVVIK_LISTEN", format!("127.0.0.1:{port}"))
        .env("SAMAVVIK_JWT_SECRET", &app.config.jwt_secret)
        .env("SAMAVVIK_SEED_DEMO", "never")
        .env("SAMAVVIK_BACKGROUND_JOBS", "false")
        .env("SAMAVVIK_MAIL_POLL_INTERVAL_MS", "20");
    command
}

/// Ready when /ready answers 200: polled, bounded, never a fixed sleep.
pub async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/ready")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "samavvik serve did not become ready");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// One `samavvik serve` process on `app`'s database, ready when returned; killed when dropped.
pub struct ServeProcess {
    child: std::process::Child,
    pub port: u16,
}

impl ServeProcess {
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn start(app: &TestApp, port: u16, dir: &std::path::Path, env: &[(&str, String)]) -> ServeProcess {
        let mut command = serve_command(app, port, dir);
        command.env("RUST_LOG", "warn").stdout(std::process::Stdio::null()).stderr(std::process::Stdio::inherit());
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let child = command.spawn().expect("the samavvik binary");
        wait_ready(&format!("http://127.0.0.1:{port}")).await;
        ServeProcess { child, port }
    }

    pub fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
