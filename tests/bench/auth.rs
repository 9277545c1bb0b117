//! What HelseID costs per request: `GET` one deviation with a DPoP-bound token from a real OpenID
//! provider (signature, claims, the proof, its replay check in the database) against the same
//! request with a local token, in the same run, on the same database. Figures, not a test:
//!
//!   deploy/bench-auth [sqlite|postgres] [seconds per step, default 5]
//!
//! Each client makes a fresh proof per request, as a real client must; the time to sign proofs is
//! measured apart and printed, since it is the client's cost, not the server's.

#[path = "../api/idp.rs"]
#[allow(dead_code)]
mod idp;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use samavvik::config::{AuthMode, Config, SeedDemo};
use samavvik::db;
use serde_json::json;

const NURSE: &str = "sykepleier@trondheim.example";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(config: Config) -> String {
    let app = samavvik::Application::build(config).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run());
    address
}

struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

/// `clients` loops for `secs`, each sending what `request` builds; rate, p50, p99 and non-200s.
async fn load<F, Fut>(clients: usize, secs: u64, request: F) -> Figures
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = u16>,
{
    let errors = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (request, errors) = (request.clone(), errors.clone());
        tasks.push(actix_web::rt::spawn(async move {
            let mut times = Vec::new();
            while Instant::now() < until {
                let started = Instant::now();
                if request().await != 200 {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                times.push(started.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await.unwrap());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Figures {
        rate: times.len() as f64 / secs as f64,
        p50: at(0.5),
        p99: at(0.99),
        errors: errors.load(Ordering::Relaxed),
    }
}

#[actix_web::main]
async fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let (database_url, pg) = match backend.as_str() {
        "postgres" => {
            let admin = std::env::var("BENCH_PG_URL").unwrap_or("postgres://postgres@127.0.0.1:5432/postgres".into());
            let name = format!("samavvik_bench_auth_{}", std::process::id());
            let mut c = db::DbUrl::parse(&admin).unwrap().connect().unwrap();
            diesel::connection::SimpleConnection::batch_execute(&mut c, &format!("CREATE DATABASE {name}")).unwrap();
            (format!("{}/{name}", admin.rsplit_once('/').unwrap().0), Some((admin, name)))
        }
        _ => (format!("sqlite://{}", dir.path().join("bench.db").display()), None),
    };

    let trondheim = samavvik::seed::demo_org_number_of("trondheim").unwrap();
    let web = idp::Client::new("trondheim-epj");
    let own = idp::Key::new("ES256");
    let key_file = dir.path().join("web.pem");
    std::fs::write(&key_file, &own.pem).unwrap();
    let accounts = json!({ "nurse": idp::person("Siri Sykepleier", "13097248022", "565501872", "4") });
    let provider =
        idp::Provider::start(vec![idp::Key::new("RS256")], json!([web.person_metadata(&trondheim)]), accounts);

    let base = Config {
        database_url: database_url.clone(),
        seed_demo: SeedDemo::Never,
        mail_dir: dir.path().join("mail"),
        mail_worker: false,
        background_jobs: false,
        log_format: samavvik::config::LogFormat::Text,
        ..Config::default()
    };
    let mut conn = db::open_one(&base.db_url()).unwrap();
    samavvik::seed::seed_demo(&mut conn).unwrap();
    use samavvik::db::schema::users;
    diesel::update(users::table.filter(users::email.eq(NURSE)))
        .set(users::hpr_number.eq("565501872"))
        .execute(&mut conn)
        .unwrap();

    let local_port = free_port();
    let local = start(Config { listen: format!("127.0.0.1:{local_port}"), ..base.clone() }).await;
    let oidc_port = free_port();
    let oidc_base = format!("http://127.0.0.1:{oidc_port}");
    let oidc = start(Config {
        listen: format!("127.0.0.1:{oidc_port}"),
        public_base_url: oidc_base.clone(),
        auth_mode: AuthMode::Oidc,
        oidc_issuer: provider.issuer(),
        oidc_audience: idp::AUDIENCE.into(),
        oidc_scopes: idp::READ.into(),
        oidc_client_id: "samavvik-web".into(),
        oidc_client_key_file: key_file.display().to_string(),
        ..base.clone()
    })
    .await;

    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{local}/api/v1/auth/token"))
        .json(&json!({"email": NURSE, "password": samavvik::seed::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let local_token = login["access_token"].as_str().unwrap().to_owned();
    let orgs: serde_json::Value = http
        .get(format!("{local}/api/v1/organisations"))
        .bearer_auth(&local_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stolav =
        orgs["items"].as_array().unwrap().iter().find(|o| o["name"] == "St. Olavs hospital HF").unwrap()["id"].clone();
    let form = json!({
        "kind": "deviation", "recipient_organisation_id": stolav, "category": "discharge_summary",
        "occurred_at": "2026-01-12", "harm_class": "no_harm",
        "description": "Pasienten kom hjem uten epikrise.", "handover_related": true,
    });
    let created: serde_json::Value = http
        .post(format!("{local}/api/v1/deviations"))
        .bearer_auth(&local_token)
        .json(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/deviations/{}", created["id"].as_str().unwrap_or_else(|| panic!("{created}")));
    let dpop_token = web.person_token(&provider, "nurse").await;

    // The client's own cost: proofs signed per second on one core.
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(1) {
        web.proof_at("GET", &format!("{oidc_base}{path}"), Some(&dpop_token), 0);
        n += 1;
    }
    println!("backend {backend}, {secs} s per step; client side: {n} ES256 proofs signed per second on one core");
    println!(
        "| clients | local token req/s | p50 | p99 | errors | DPoP token req/s | p50 | p99 | errors | DPoP ÷ local |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let web = Arc::new(web);
    for clients in [1, 8, 32] {
        let (h, url, t) = (http.clone(), format!("{local}{path}"), local_token.clone());
        let l = load(clients, secs, move || {
            let (h, url, t) = (h.clone(), url.clone(), t.clone());
            async move { h.get(url).bearer_auth(t).send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
        })
        .await;
        let (h, url, t, w) = (http.clone(), format!("{oidc_base}{path}"), dpop_token.clone(), web.clone());
        let d = load(clients, secs, move || {
            let (h, url, t, w) = (h.clone(), url.clone(), t.clone(), w.clone());
            async move {
                let proof = w.proof_at("GET", &url, Some(&t), chrono::Utc::now().timestamp());
                let r = h.get(url).header("authorization", format!("DPoP {t}")).header("dpop", proof).send().await;
                r.map(|r| r.status().as_u16()).unwrap_or(0)
            }
        })
        .await;
        println!(
            "| {clients} | {:.0} | {:.1} ms | {:.1} ms | {} | {:.0} | {:.1} ms | {:.1} ms | {} | {:.2} |",
            l.rate,
            l.p50.as_secs_f64() * 1e3,
            l.p99.as_secs_f64() * 1e3,
            l.errors,
            d.rate,
            d.p50.as_secs_f64() * 1e3,
            d.p99.as_secs_f64() * 1e3,
            d.errors,
            d.rate / l.rate
        );
    }
    let _ = oidc;
    if let Some((admin, name)) = pg {
        let mut c = db::DbUrl::parse(&admin).unwrap().connect().unwrap();
        let _ = diesel::connection::SimpleConnection::batch_execute(
            &mut c,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
    }
}
