use crate::helpers::spawn_app;

#[actix_web::test]
async fn health_ready_openapi_and_categories_answer() {
    let app = spawn_app().await;
    for path in ["/health", "/ready", "/openapi.yaml", "/api/v1/categories"] {
        let resp = app.client.get(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert!(resp.headers().contains_key("x-request-id"), "{path} lacks x-request-id");
    }
}

#[actix_web::test]
async fn categories_are_the_unified_list_in_norwegian() {
    let app = spawn_app().await;
    let resp = app.client.get(format!("{}/api/v1/categories", app.address)).send().await.unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    let codes: Vec<&str> = items.iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "admission_referral",
            "notification_during_stay",
            "discharge",
            "discharge_summary",
            "medication",
            "assistive_devices",
            "electronic_messaging",
            "coordination",
            "availability",
            "patient_information",
            "other"
        ]
    );
    assert_eq!(items[3]["label"], "Epikrise og sykepleiesammenfatning");
    assert!(items.iter().all(|c| !c["description"].as_str().unwrap().is_empty()));
}

#[actix_web::test]
async fn request_ids_differ_per_request() {
    let app = spawn_app().await;
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let a = app.client.get(format!("{}/health", app.address)).send().await.unwrap();
    let b = app.client.get(format!("{}/health", app.address)).send().await.unwrap();
    assert_ne!(id(&a), id(&b));
}

/// The Dockerfile's HEALTHCHECK, run the way docker runs a shell-form command: `/bin/sh -c`.
fn dockerfile_healthcheck(port: u16) -> std::process::ExitStatus {
    let dockerfile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/Dockerfile")).unwrap();
    let line = dockerfile.lines().find(|l| l.starts_with("HEALTHCHECK")).expect("a HEALTHCHECK line");
    let command = line.split_once(" CMD ").expect("HEALTHCHECK … CMD …").1;
    assert!(!command.trim_start().starts_with('['), "shell form expected: {command}");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_samavvik")).parent().unwrap();
    std::process::Command::new("/bin/sh")
        .args(["-c", command])
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("SAMAVVIK_LISTEN", format!("0.0.0.0:{port}"))
        .status()
        .unwrap()
}

#[actix_web::test]
async fn the_container_health_check_passes_on_a_running_server_and_fails_on_a_stopped_one() {
    let app = spawn_app().await;
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let healthy = actix_web::rt::task::spawn_blocking(move || dockerfile_healthcheck(port)).await.unwrap();
    assert!(healthy.success(), "{healthy:?}");
    // A port nobody listens on: bind one, then let it go.
    let free = crate::helpers::free_port();
    let stopped = actix_web::rt::task::spawn_blocking(move || dockerfile_healthcheck(free)).await.unwrap();
    assert!(!stopped.success());
}

const METRICS_TOKEN: &str = "metrics-token-for-the-tests-0123456789";

fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
}

#[actix_web::test]
async fn odd_method_names_share_one_label_so_the_series_stay_bounded() {
    let app = crate::helpers::spawn_app_with(|c| c.metrics_token = METRICS_TOKEN.into()).await;
    for i in 0..2000 {
        let method = reqwest::Method::from_bytes(format!("X{i:04}ODD").as_bytes()).unwrap();
        let resp = app.client.request(method, format!("{}/nope", app.address)).send().await.unwrap();
        assert!(resp.status().is_client_error());
    }
    let url = format!("{}/metrics", app.address);
    let text = app.client.get(&url).bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(!text.contains("ODD"), "a client's method name became a label");
    let methods: std::collections::BTreeSet<&str> =
        text.lines().filter_map(|l| l.split("method=\"").nth(1)?.split('"').next()).collect();
    assert!(
        methods.iter().all(|m| ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"].contains(m)),
        "{methods:?}"
    );
    let other = text
        .lines()
        .filter(|l| l.starts_with("samavvik_http_requests_total{") && l.contains("method=\"other\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    assert!(other >= 2000.0, "{other}");
}

#[actix_web::test]
async fn metrics_answer_only_with_the_token_and_count_by_route_pattern() {
    let app = crate::helpers::spawn_app_with(|c| c.metrics_token = METRICS_TOKEN.into()).await;
    let nurse = app.login(crate::helpers::NURSE).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    app.get(&format!("/api/v1/deviations/{id}"), &nurse).await.expect(200);
    let url = format!("{}/metrics", app.address);
    let refused = app.client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let wrong = app.client.get(&url).bearer_auth("metrics-token-for-the-tests-0123456780").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let scraped = app.client.get(&url).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = scraped.text().await.unwrap();
    // The pattern, never the id: a path may carry what someone typed.
    assert!(!text.contains(&id), "a concrete path reached the metrics");
    let get_one = r#"samavvik_http_requests_total{route="/api/v1/deviations/{id}",method="GET",status="200"}"#;
    assert!(metric(&text, get_one).is_some_and(|n| n >= 1.0), "{text}");
    let posted =
        r#"samavvik_http_request_duration_seconds_count{route="/api/v1/deviations",method="POST",status="201"}"#;
    assert!(metric(&text, posted).is_some_and(|n| n >= 1.0), "{text}");
    assert!(metric(&text, r#"samavvik_submissions_total{kind="deviation"}"#).is_some_and(|n| n >= 1.0));
    // This app's database: the submission queued its mails, none sent yet.
    assert!(metric(&text, r#"samavvik_outbox_pending{channel="mail"}"#).is_some_and(|n| n >= 2.0), "{text}");
    assert!(metric(&text, r#"samavvik_outbox_oldest_pending_age_seconds{channel="mail"}"#).is_some());
    assert!(metric(&text, "samavvik_db_pool_connections_max").is_some_and(|n| n >= 1.0));
}

#[actix_web::test]
async fn without_a_token_metrics_are_only_on_their_own_address() {
    let port = crate::helpers::free_port();
    let app = crate::helpers::spawn_app_with(|c| c.metrics_listen = format!("127.0.0.1:{port}")).await;
    let main = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap();
    assert_eq!(main.status(), 404, "not on the public port");
    let own = app.client.get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap();
    assert_eq!(own.status(), 200);
    assert!(own.text().await.unwrap().contains("# TYPE samavvik_outbox_pending gauge"));
}
