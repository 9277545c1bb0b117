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
    assert_eq!(items[3]["label"], "Epikrise og dokumentasjon");
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
