use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn token_works_on_me() {
    let app = spawn_app().await;
    let token = app.login(NURSE).await;
    let me = app.get("/api/v1/me", &token).await.expect(200);
    assert_eq!(me["email"], NURSE);
    assert_eq!(me["role"], "reporter");
    assert_eq!(me["organisation"]["name"], "Trondheim kommune");
    assert_eq!(me["organisation"]["kind"], "municipality");
    assert_eq!(me["unit"]["name"], "Hjemmetjenesten");
}

#[actix_web::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    let wrong = app
        .request(Method::POST, "/api/v1/auth/token", None, Some(&json!({"email": NURSE, "password": "feil-passord"})))
        .await
        .problem(401, "invalid_credentials");
    let unknown = app
        .request(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(&json!({"email": "ingen@example.no", "password": "feil-passord"})),
        )
        .await
        .problem(401, "invalid_credentials");
    assert_eq!(wrong, unknown);
}

#[actix_web::test]
async fn email_is_case_insensitive() {
    let app = spawn_app().await;
    let token = app.login_with("Sykepleier@Trondheim.EXAMPLE", DEMO_PASSWORD).await;
    app.get("/api/v1/me", &token).await.expect(200);
}

fn claims(app: &TestApp, aud: &str, exp_offset: i64) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": "x", "iss": app.config.jwt_issuer, "aud": aud, "iat": now, "nbf": now - 60, "exp": now + exp_offset, "jti": "j"})
}

fn sign(app: &TestApp, mut claims: serde_json::Value, sub: &str) -> String {
    claims["sub"] = json!(sub);
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(app.config.jwt_secret.as_bytes()))
        .unwrap()
}

#[actix_web::test]
async fn forged_or_stale_tokens_get_401() {
    let app = spawn_app().await;
    let sub = app.user_id(&app.login(NURSE).await).await;
    // Control: a correctly made token for the same user works, so the failures below are the claims'.
    let good = sign(&app, claims(&app, &app.config.jwt_audience, 300), &sub);
    app.get("/api/v1/me", &good).await.expect(200);

    let expired = sign(&app, claims(&app, &app.config.jwt_audience, -30), &sub);
    app.get("/api/v1/me", &expired).await.problem(401, "token_expired");

    let wrong_audience = sign(&app, claims(&app, "another-api", 300), &sub);
    app.get("/api/v1/me", &wrong_audience).await.problem(401, "invalid_token");

    let mut no_nbf = claims(&app, &app.config.jwt_audience, 300);
    no_nbf.as_object_mut().unwrap().remove("nbf");
    app.get("/api/v1/me", &sign(&app, no_nbf, &sub)).await.problem(401, "invalid_token");

    let b64 = |v: &serde_json::Value| base64url(&serde_json::to_vec(v).unwrap());
    let mut payload = claims(&app, &app.config.jwt_audience, 300);
    payload["sub"] = json!(sub);
    let alg_none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&payload));
    app.get("/api/v1/me", &alg_none).await.problem(401, "invalid_token");

    // Tampered: the payload of a good token swapped for another user's, signature kept.
    let parts: Vec<&str> = good.split('.').collect();
    let mut other = payload.clone();
    other["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], b64(&other), parts[2]);
    app.get("/api/v1/me", &tampered).await.problem(401, "invalid_token");

    let other_secret = encode(
        &Header::new(Algorithm::HS256),
        &payload,
        &EncodingKey::from_secret(b"another-secret-that-is-long-enough-0123456789"),
    )
    .unwrap();
    app.get("/api/v1/me", &other_secret).await.problem(401, "invalid_token");

    app.request(Method::GET, "/api/v1/me", None, None).await.problem(401, "missing_token");
}

/// Base64url without padding, as JWTs use it.
fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[actix_web::test]
async fn deactivated_user_loses_access_at_once() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let nurse = app.login(NURSE).await;
    let id = app.get("/api/v1/me", &nurse).await.expect(200)["id"].as_str().unwrap().to_owned();
    app.patch(&format!("/api/v1/users/{id}"), &admin, &json!({"active": false})).await.expect(200);
    app.get("/api/v1/me", &nurse).await.problem(401, "invalid_token");
    app.request(Method::POST, "/api/v1/auth/token", None, Some(&json!({"email": NURSE, "password": DEMO_PASSWORD})))
        .await
        .problem(401, "invalid_credentials");
}

#[actix_web::test]
async fn login_is_rate_limited_per_client() {
    let app = spawn_app_with(|c| c.login_attempts_per_minute = 3).await;
    let body = json!({"email": NURSE, "password": "feil-passord"});
    for _ in 0..3 {
        app.request(Method::POST, "/api/v1/auth/token", None, Some(&body)).await.problem(401, "invalid_credentials");
    }
    let limited = app.request(Method::POST, "/api/v1/auth/token", None, Some(&body)).await;
    assert!(limited.headers.contains_key("retry-after") || limited.headers.contains_key("x-ratelimit-after"));
    limited.problem(429, "too_many_requests");
}
