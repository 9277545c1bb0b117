//! What an attacker tries first: odd bytes where a token is expected, redirects to other sites,
//! framing, and sessions that outlive their logout.

use crate::helpers::*;
use crate::pages::WebClient;

#[actix_web::test]
async fn a_csrf_field_of_multibyte_characters_is_refused_not_a_dropped_connection() {
    let app = spawn_app().await;
    let web = WebClient::new(&app);
    web.csrf("/logg-inn").await; // sets the browser cookie
                                 // 64 bytes, with two-byte characters at odd offsets: slicing by byte offsets would panic.
    let odd = format!("a{}a", "æ".repeat(31));
    assert_eq!(odd.len(), 64);
    for token in [odd.as_str(), "zz", "", &"0".repeat(64), &"ff".repeat(33)] {
        let page = web.post("/logg-inn", &[("csrf", token), ("email", NURSE), ("password", DEMO_PASSWORD)]).await;
        assert_eq!(page.status, 403, "token {token:?}");
    }
}

#[actix_web::test]
async fn login_redirects_only_to_a_path_on_this_site() {
    let app = spawn_app().await;
    for (next, expected) in [
        ("/avvik?boks=sendt", "/avvik?boks=sendt"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("/\r\nSet-Cookie: x=y", "/"),
        ("/\u{7f}", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("avvik", "/"),
    ] {
        let web = WebClient::new(&app);
        let csrf = web.csrf("/logg-inn").await;
        let page = web
            .post("/logg-inn", &[("csrf", &csrf), ("email", NURSE), ("password", DEMO_PASSWORD), ("neste", next)])
            .await;
        assert_eq!(page.status, 303, "neste {next:?}: {}", page.body);
        assert_eq!(page.location.as_deref(), Some(expected), "neste {next:?}");
    }
}

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let token = app.login(NURSE).await;
    for (path, bearer) in [
        ("/logg-inn", None),
        ("/api/v1/me", Some(token.as_str())),
        ("/api/v1/categories", None),
        ("/finnes-ikke", None),
    ] {
        let mut req = app.client.get(format!("{}{path}", app.address));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let h = resp.headers();
        let csp = h.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff", "{path}");
        assert_eq!(h.get("referrer-policy").unwrap(), "same-origin", "{path}");
        assert!(h.get("strict-transport-security").is_none(), "{path}: no HSTS over plain HTTP");
    }
    // Behind a TLS-terminating proxy that says so, HSTS is sent too.
    let resp =
        app.client.get(format!("{}/logg-inn", app.address)).header("x-forwarded-proto", "https").send().await.unwrap();
    assert!(resp.headers().get("strict-transport-security").is_some());
}

#[actix_web::test]
async fn logout_ends_the_session_for_the_api_and_the_pages() {
    let app = spawn_app().await;
    let api_token = app.login(NURSE).await;
    let web = WebClient::new(&app);
    web.login(NURSE).await;
    assert_eq!(web.get("/avvik?boks=sendt").await.status, 200);
    let csrf = web.csrf("/avvik?boks=sendt").await;
    assert_eq!(web.post("/logg-ut", &[("csrf", &csrf)]).await.status, 303);
    // Both the page session and the bearer token issued before are over, on this instance at once.
    assert_eq!(web.get("/avvik?boks=sendt").await.status, 303);
    app.get("/api/v1/me", &api_token).await.problem(401, "session_ended");
    // Logging in again works, and the API's own logout ends that token too.
    let fresh = app.login(NURSE).await;
    app.get("/api/v1/me", &fresh).await.expect(200);
    app.request(reqwest::Method::POST, "/api/v1/auth/logout", Some(&fresh), None).await.expect(204);
    app.get("/api/v1/me", &fresh).await.problem(401, "session_ended");
}

#[actix_web::test]
async fn a_new_password_or_deactivation_ends_the_users_sessions() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let nurse = app.login(NURSE).await;
    let id = app.user_id(&nurse).await;
    app.patch(&format!("/api/v1/users/{id}"), &admin, &serde_json::json!({"password": "et-nytt-langt-passord"}))
        .await
        .expect(200);
    app.get("/api/v1/me", &nurse).await.problem(401, "session_ended");
    let nurse = app.login_with(NURSE, "et-nytt-langt-passord").await;
    app.patch(&format!("/api/v1/users/{id}"), &admin, &serde_json::json!({"active": false})).await.expect(200);
    app.get("/api/v1/me", &nurse).await.problem(401, "invalid_token");
}

#[actix_web::test]
async fn failed_logins_close_the_account_to_guessing_but_not_other_accounts() {
    let app = spawn_app_with(|c| c.login_failures_per_account = 3).await;
    let attempt = |email: &'static str, password: &'static str| {
        let body = serde_json::json!({"email": email, "password": password});
        let app = &app;
        async move { app.request(reqwest::Method::POST, "/api/v1/auth/token", None, Some(&body)).await }
    };
    for _ in 0..3 {
        attempt(NURSE, "feil-passord").await.problem(401, "invalid_credentials");
    }
    // Now even the right password is refused for this account, with a time to wait ...
    let refused = attempt(NURSE, DEMO_PASSWORD).await;
    assert_eq!(refused.headers.get("retry-after").unwrap(), "900");
    refused.problem(429, "too_many_failed_logins");
    // ... while another user from the same address logs in as usual.
    attempt(HANDLER, DEMO_PASSWORD).await.expect(200);
}
