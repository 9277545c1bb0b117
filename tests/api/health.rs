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
