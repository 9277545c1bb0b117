//! HelseID (#17) for the API, against a real OpenID provider process (`idp`): DPoP-bound tokens
//! from the provider work; every rule of `auth::oidc` refuses what breaks it, with its own code.

use diesel::prelude::*;
use reqwest::Method;
use samavvik::config::AuthMode;
use samavvik::db::schema::users;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::idp::{self, Client, Key, Provider, AUDIENCE, HELSEID, READ};

const NURSE_PID: &str = "13097248022";
const NURSE_HPR: &str = "565501872";
const ADVISOR_HPR: &str = "565501873";

pub struct World {
    pub app: TestApp,
    pub provider: Provider,
    /// The municipality's client its people log in through (orgnr: Trondheim).
    web: Client,
    /// A quality system's client (client credentials, orgnr: Trondheim), not registered here.
    machine: Client,
    trondheim: String,
    /// Holds samavvik's own client key file.
    _keys: tempfile::TempDir,
}

const WEB_CLIENT: &str = "samavvik-web";

/// samavvik's own web client as the provider registers it: an RSA key handed to samavvik as a
/// private JWK with its key id (as HelseID Selvbetjening does), its two addresses, and DPoP required.
fn web_client_metadata(key: &Key, base: &str) -> Value {
    json!({
        "client_id": WEB_CLIENT, "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "RS256", "jwks": {"keys": [key.public]},
        "grant_types": ["authorization_code"], "response_types": ["code"],
        "redirect_uris": [format!("{base}/logg-inn/helseid/svar")],
        "post_logout_redirect_uris": [format!("{base}/logg-inn")],
        "authorization_details_types": ["helseid_authorization"],
        // The provider refuses its token request without a DPoP proof carrying the provider's nonce.
        "dpop_bound_access_tokens": true,
    })
}

fn org_number(slug: &str) -> String {
    samavvik::seed::demo_org_number_of(slug).unwrap()
}

/// A provider with the nurse (pre-registered here by HPR number), a stranger and a person with a
/// low security level; and samavvik in `oidc` mode pointed at it.
pub async fn world() -> World {
    world_with(|_| {}).await
}

async fn world_with(adjust: impl FnOnce(&mut samavvik::config::Config)) -> World {
    let trondheim = org_number("trondheim");
    let web = Client::new("trondheim-epj");
    let machine = Client::new(idp::CLIENT);
    let accounts = json!({
        "nurse": idp::person("Siri Sykepleier", NURSE_PID, NURSE_HPR, "4"),
        "stranger": idp::person("Ukjent Person", "01017012345", "999999999", "4"),
        "low": idp::person("Lav Sikkerhet", "01017054321", NURSE_HPR, "3"),
        "impostor": idp::person("Falsk Sykepleier", "01017054322", NURSE_HPR, "4"),
        "advisor": idp::person("Kari Kvalitet", "01017054323", ADVISOR_HPR, "4"),
    });
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let own = Key::new("RS256");
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("samavvik-web.json");
    std::fs::write(&key_file, own.private.to_string()).unwrap();
    let clients = json!([
        web.person_metadata(&trondheim),
        machine.machine_metadata(&trondheim),
        web_client_metadata(&own, &base)
    ]);
    let provider = Provider::start(vec![Key::new("RS256")], clients, accounts);
    let issuer = provider.issuer();
    let app = spawn_app_with(|c| {
        c.listen = format!("127.0.0.1:{port}");
        c.public_base_url = base;
        c.auth_mode = AuthMode::Oidc;
        c.oidc_issuer = issuer;
        c.oidc_audience = AUDIENCE.into();
        c.oidc_scopes = READ.into();
        c.oidc_client_id = WEB_CLIENT.into();
        c.oidc_client_key_file = key_file.display().to_string();
        c.oidc_client_scopes = "openid profile".into();
        adjust(c);
    })
    .await;
    let mut conn = app.conn();
    for (email, hpr) in [(NURSE, NURSE_HPR), (MUNI_ADVISOR, ADVISOR_HPR)] {
        let updated = diesel::update(users::table.filter(users::email.eq(email)))
            .set(users::hpr_number.eq(hpr))
            .execute(&mut conn);
        assert_eq!(updated.unwrap(), 1);
    }
    World { app, provider, web, machine, trondheim, _keys: keys }
}

impl World {
    /// A request as a HelseID client makes it: the token and a fresh proof by the client's key.
    async fn call(&self, client: &Client, method: Method, path: &str, token: &str, body: Option<&Value>) -> Response {
        let proof = self.proof(client, method.as_str(), path, token);
        self.send(method, path, &format!("DPoP {token}"), Some(&proof), body).await
    }

    fn proof(&self, client: &Client, method: &str, path: &str, token: &str) -> String {
        let url = format!("{}{}", self.app.address, path.split('?').next().unwrap());
        client.proof_at(method, &url, Some(token), self.app.clock.now().timestamp())
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        auth: &str,
        proof: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut headers = vec![("authorization", auth)];
        if let Some(p) = proof {
            headers.push(("dpop", p));
        }
        self.app.request_with(method, path, None, body, &headers).await
    }

    /// A token minted with the provider's own key for the nurse, with these claims changed.
    fn minted(&self, changes: Value) -> String {
        let mut claims = self.provider.claims(json!({
            "sub": "nurse",
            "cnf": {"jkt": self.web.dpop.public_jwk().thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).unwrap()},
            format!("{HELSEID}client/claims/orgnr_parent"): self.trondheim,
            format!("{HELSEID}identity/pid"): NURSE_PID,
            format!("{HELSEID}identity/security_level"): "4",
            format!("{HELSEID}hpr/hpr_number"): NURSE_HPR,
        }));
        for (k, v) in changes.as_object().unwrap() {
            match v {
                Value::Null => claims.as_object_mut().unwrap().remove(k),
                v => claims.as_object_mut().unwrap().insert(k.clone(), v.clone()),
            };
        }
        self.provider.mint(&claims)
    }
}

fn challenge(r: &Response) -> String {
    r.headers.get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[actix_web::test]
async fn a_nurse_with_a_dpop_bound_token_from_the_provider_reads_and_reports() {
    let w = world().await;
    let token = w.web.person_token(&w.provider, "nurse").await;
    let me = w.call(&w.web, Method::GET, "/api/v1/me", &token, None).await.expect(200);
    assert_eq!(me["email"], NURSE, "the pre-registered user, found by HPR number: {me}");
    assert_eq!(me["organisation"]["name"], "Trondheim kommune");
    let stolav = w.call(&w.web, Method::GET, "/api/v1/organisations", &token, None).await.expect(200);
    let stolav = stolav["items"].as_array().unwrap().iter().find(|o| o["name"] == "St. Olavs hospital HF").unwrap();
    let created = w
        .call(&w.web, Method::POST, "/api/v1/deviations", &token, Some(&form(stolav["id"].as_str().unwrap())))
        .await
        .expect(201);
    assert_eq!(created["status"], "submitted");

    // The user is now linked to the provider's subject: another person who claims the same HPR
    // number does not get it.
    let impostor = w.web.person_token(&w.provider, "impostor").await;
    w.call(&w.web, Method::GET, "/api/v1/me", &impostor, None).await.problem(403, "not_registered");

    // Local passwords and tokens are off.
    let local = w
        .app
        .request(Method::POST, "/api/v1/auth/token", None, Some(&json!({"email": NURSE, "password": DEMO_PASSWORD})))
        .await;
    local.problem(404, "local_login_disabled");
}

#[actix_web::test]
async fn a_dpop_proof_must_be_fresh_and_made_for_this_request_by_the_tokens_key() {
    let w = world().await;
    let token = w.web.person_token(&w.provider, "nurse").await;
    let path = "/api/v1/me";
    let proof = w.proof(&w.web, "GET", path, &token);
    let auth = format!("DPoP {token}");
    w.send(Method::GET, path, &auth, Some(&proof), None).await.expect(200);

    let refused = |r: Response, why: &str| {
        assert!(challenge(&r).contains("error=\"invalid_dpop_proof\""), "{why}: {:?}", r.headers);
        let body = r.problem(401, "invalid_dpop_proof");
        assert!(body["detail"].as_str().unwrap().contains(why), "{body}");
    };
    refused(w.send(Method::GET, path, &auth, Some(&proof), None).await, "brukt før");
    let other_url = w.proof(&w.web, "GET", "/api/v1/categories", &token);
    refused(w.send(Method::GET, path, &auth, Some(&other_url), None).await, "annen adresse");
    let other_method = w.proof(&w.web, "POST", path, &token);
    refused(w.send(Method::GET, path, &auth, Some(&other_method), None).await, "annen metode");
    let old =
        w.web.proof_at("GET", &format!("{}{path}", w.app.address), Some(&token), w.app.clock.now().timestamp() - 120);
    refused(w.send(Method::GET, path, &auth, Some(&old), None).await, "for gammelt");
    let other_token = w.proof(&w.web, "GET", path, "another token");
    refused(w.send(Method::GET, path, &auth, Some(&other_token), None).await, "ath");
    let other_key = w.proof(&w.machine, "GET", path, &token);
    refused(w.send(Method::GET, path, &auth, Some(&other_key), None).await, "annen nøkkel");
    refused(w.send(Method::GET, path, &auth, None, None).await, "mangler DPoP-bevis");

    // The bound token as a plain bearer token is refused even where bearer tokens are taken.
    let r = w.send(Method::GET, path, &format!("Bearer {token}"), None, None).await;
    assert!(challenge(&r).starts_with("DPoP "), "{:?}", r.headers);
    r.problem(401, "invalid_token");
}

#[actix_web::test]
async fn tokens_that_break_a_rule_are_refused_each_with_its_reason() {
    let w = world().await;
    let path = "/api/v1/me";
    let go = |token: String| {
        let w = &w;
        async move {
            let proof = w.proof(&w.web, "GET", path, &token);
            w.send(Method::GET, path, &format!("DPoP {token}"), Some(&proof), None).await
        }
    };
    // The control: a token minted the same way, unchanged, is taken.
    go(w.minted(json!({}))).await.expect(200);

    let now = chrono::Utc::now().timestamp();
    for (changes, why) in [
        (json!({"iss": "https://helseid-sts.nhn.no"}), "iss"),
        (json!({"aud": "nhn:other-api"}), "aud"),
        (json!({"aud": null}), "aud"),
        (json!({"exp": now - 31}), "utløpt"),
        (json!({"nbf": now + 60}), "ikke gyldig ennå"),
    ] {
        let r = go(w.minted(changes.clone())).await;
        assert!(challenge(&r).contains("error=\"invalid_token\""), "{changes}: {:?}", r.headers);
        let body = r.problem(401, "invalid_token");
        assert!(body["detail"].as_str().unwrap().contains(why), "{changes}: {body}");
    }
    // Within the 30 s leeway an expired token still works.
    go(w.minted(json!({"exp": now - 20}))).await.expect(200);

    // Unsigned, or signed with the provider's public key as an HMAC secret.
    let claims = w.provider.claims(json!({"sub": "nurse"}));
    let b64 = |v: &Value| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v.to_string());
    let kid = w.provider.keys[0].kid();
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})), b64(&claims));
    let body = go(none).await.problem(401, "invalid_token");
    assert!(
        body["detail"].as_str().unwrap().contains("gyldig JWT")
            || body["detail"].as_str().unwrap().contains("algoritmen"),
        "{body}"
    );
    let public_pem = rsa_public_pem(&w.provider.keys[0]);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    header.typ = Some("at+jwt".into());
    let hs =
        jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(public_pem.as_bytes())).unwrap();
    let body = go(hs).await.problem(401, "invalid_token");
    assert!(body["detail"].as_str().unwrap().contains("algoritmen"), "{body}");
    // Another typ (an ID token, say) is not an access token.
    let id_token = w.provider.keys[0].sign("JOSE+JSON", &w.provider.claims(json!({"sub": "nurse"})));
    go(id_token).await.problem(401, "invalid_token");

    // Valid tokens that say too little.
    let r = go(w.minted(json!({"scope": "openid profile"}))).await;
    assert!(challenge(&r).contains("insufficient_scope"), "{:?}", r.headers);
    r.problem(403, "insufficient_scope");
    let body = go(w.minted(json!({format!("{HELSEID}identity/security_level"): "3"})))
        .await
        .problem(403, "security_level_too_low");
    assert!(body["detail"].as_str().unwrap().contains("nivå 4"), "{body}");
    let body = go(w.minted(json!({format!("{HELSEID}client/claims/orgnr_parent"): "912345679"})))
        .await
        .problem(403, "unknown_organisation");
    assert!(body["detail"].as_str().unwrap().contains("912345679"), "the message names the number: {body}");
    let body = go(w.minted(json!({"cnf": null}))).await.problem(401, "invalid_token");
    assert!(body["detail"].as_str().unwrap().contains("cnf.jkt"), "{body}");
    let no_token = w.app.request(Method::GET, path, None, None).await;
    assert!(challenge(&no_token).starts_with("DPoP algs="), "{:?}", no_token.headers);
    no_token.problem(401, "missing_token");
}

/// The public half of an RSA key as PEM, as an attacker would take it from the JWKS.
fn rsa_public_pem(key: &Key) -> String {
    let out = std::process::Command::new("node")
        .args(["-e", "const c=require('crypto');process.stdout.write(c.createPublicKey({key:JSON.parse(process.argv[1]),format:'jwk'}).export({type:'spki',format:'pem'}))"])
        .arg(key.public.to_string())
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[actix_web::test]
async fn a_key_rotation_at_the_provider_needs_no_restart_and_cached_keys_outlive_the_provider() {
    let mut w = world().await;
    let old_key = w.provider.keys[0].clone();
    let before = w.web.person_token(&w.provider, "nurse").await;
    w.call(&w.web, Method::GET, "/api/v1/me", &before, None).await.expect(200);

    // The provider now signs with a new key and still publishes the old one.
    w.provider = w.provider.restart_with(vec![Key::new("RS256"), old_key]);
    let after = w.web.person_token(&w.provider, "nurse").await;
    // Keys were fetched less than a minute ago: an unknown key id does not make us ask again.
    let body = w.call(&w.web, Method::GET, "/api/v1/me", &after, None).await.problem(401, "invalid_token");
    assert!(body["detail"].as_str().unwrap().contains("ukjent"), "{body}");
    w.app.clock.advance(chrono::Duration::seconds(61));
    w.call(&w.web, Method::GET, "/api/v1/me", &after, None).await.expect(200);
    w.call(&w.web, Method::GET, "/api/v1/me", &before, None).await.expect(200);

    // The provider goes down: tokens signed with cached keys keep working; one naming a key we
    // have never seen cannot be checked, which is the provider's outage, not the caller's fault.
    let port = w.provider.port;
    let stranger = Key::new("RS256");
    let unknown = stranger.sign("at+jwt", &w.provider.claims(json!({"sub": "nurse"})));
    w.provider.stop();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the provider is down");
    w.call(&w.web, Method::GET, "/api/v1/me", &after, None).await.expect(200);
    w.app.clock.advance(chrono::Duration::seconds(61));
    w.call(&w.web, Method::GET, "/api/v1/me", &unknown, None).await.problem(503, "identity_provider_unavailable");
    w.call(&w.web, Method::GET, "/api/v1/me", &before, None).await.expect(200);
}

#[actix_web::test]
async fn only_people_their_organisation_registered_get_in() {
    let w = world().await;
    let stranger = w.web.person_token(&w.provider, "stranger").await;
    let body = w.call(&w.web, Method::GET, "/api/v1/me", &stranger, None).await.problem(403, "not_registered");
    assert!(body["detail"].as_str().unwrap().contains("Trondheim kommune"), "names the organisation: {body}");
    let low = w.web.person_token(&w.provider, "low").await;
    w.call(&w.web, Method::GET, "/api/v1/me", &low, None).await.problem(403, "security_level_too_low");

    // A machine client (no person in the token) must be registered for its organisation.
    let token = w.machine.machine_token(&w.provider).await;
    let body = w.call(&w.machine, Method::GET, "/api/v1/me", &token, None).await.problem(403, "unknown_client");
    assert!(body["detail"].as_str().unwrap().contains(idp::CLIENT), "names the client: {body}");
}

#[actix_web::test]
async fn plain_bearer_tokens_are_taken_only_where_configured() {
    let w = world_with(|c| c.oidc_accept_bearer = true).await;
    let unbound = w.minted(json!({"cnf": null}));
    w.send(Method::GET, "/api/v1/me", &format!("Bearer {unbound}"), None, None).await.expect(200);
    let w = world().await;
    let unbound = w.minted(json!({"cnf": null}));
    w.send(Method::GET, "/api/v1/me", &format!("Bearer {unbound}"), None, None).await.problem(401, "invalid_token");
}

#[actix_web::test]
async fn the_persons_national_identity_number_is_stored_and_logged_nowhere() {
    let w = world().await;
    // samavvik as a process of its own on the same database, logging everything it logs at debug.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = dir.path().join("serve.log");
    let file = std::fs::File::create(&log).unwrap();
    let c = &w.app.config;
    let mut child = serve_command(&w.app, port, dir.path())
        .env("PUBLIC_BASE_URL", &base)
        .env("SAMAVVIK_AUTH_MODE", "oidc")
        .env("SAMAVVIK_OIDC_ISSUER", &c.oidc_issuer)
        .env("SAMAVVIK_OIDC_AUDIENCE", &c.oidc_audience)
        .env("SAMAVVIK_OIDC_SCOPES", &c.oidc_scopes)
        .env("SAMAVVIK_OIDC_CLIENT_ID", &c.oidc_client_id)
        .env("SAMAVVIK_OIDC_CLIENT_KEY_FILE", &c.oidc_client_key_file)
        .env("SAMAVVIK_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("the samavvik binary");
    wait_ready(&base).await;
    let http = reqwest::Client::new();
    let call = |token: String, path: &'static str| {
        let (http, base, web) = (&http, &base, &w.web);
        async move {
            let proof = web.proof_at("GET", &format!("{base}{path}"), Some(&token), chrono::Utc::now().timestamp());
            let r = http
                .get(format!("{base}{path}"))
                .header("authorization", format!("DPoP {token}"))
                .header("dpop", proof);
            r.send().await.unwrap().status().as_u16()
        }
    };
    let nurse = w.web.person_token(&w.provider, "nurse").await;
    let status = call(nurse.clone(), "/api/v1/me").await;
    assert_eq!(status, 200, "the first login links her; log: {}", std::fs::read_to_string(&log).unwrap());
    assert_eq!(call(nurse, "/api/v1/deviations").await, 200);
    let stranger = w.web.person_token(&w.provider, "stranger").await;
    assert_eq!(call(stranger, "/api/v1/me").await, 403);
    let _ = child.kill();
    let _ = child.wait();

    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("/api/v1/me"), "the log has a line per request: {logged}");
    let stored = stored_database(&w.app);
    assert!(stored.contains("user_identities"), "the dump is the database");
    for pid in [NURSE_PID, "01017012345"] {
        assert!(!logged.contains(pid), "a fødselsnummer is in the log");
        assert!(!stored.contains(pid), "a fødselsnummer is in the database");
    }
    let mut conn = w.app.conn();
    let hashes: Vec<Option<String>> = samavvik::db::schema::user_identities::table
        .select(samavvik::db::schema::user_identities::pid_hash)
        .load(&mut conn)
        .unwrap();
    assert_eq!(hashes.len(), 1, "one link, made at the first login; none for the stranger");
    assert!(hashes[0].as_deref().is_some_and(|h| h.len() == 64), "a keyed hash in its place");
}

#[actix_web::test]
async fn a_quality_system_registered_by_its_organisation_sees_what_the_organisation_sees() {
    let w = world().await;
    let nurse = w.web.person_token(&w.provider, "nurse").await;
    let orgs = w.call(&w.web, Method::GET, "/api/v1/organisations", &nurse, None).await.expect(200);
    let id_of = |name: &str| {
        orgs["items"].as_array().unwrap().iter().find(|o| o["name"] == name).unwrap()["id"].as_str().unwrap().to_owned()
    };
    let (stolav, trondheim) = (id_of("St. Olavs hospital HF"), id_of("Trondheim kommune"));
    let sent = w.call(&w.web, Method::POST, "/api/v1/deviations", &nurse, Some(&form(&stolav))).await.expect(201);
    let machine = w.machine.machine_token(&w.provider).await;
    w.call(&w.machine, Method::GET, "/api/v1/me", &machine, None).await.problem(403, "unknown_client");

    // Trondheim's quality advisor, logged in with HelseID, registers the quality system.
    let advisor = w.web.person_token(&w.provider, "advisor").await;
    let clients = format!("/api/v1/organisations/{trondheim}/clients");
    let bad = json!({"name": "EQS", "helseid_client_id": idp::CLIENT, "scopes": ["deviations:delete"]});
    let body = w.call(&w.web, Method::POST, &clients, &advisor, Some(&bad)).await.problem(422, "validation_failed");
    assert_eq!(body["fields"][0]["field"], "scopes");
    let read = json!({"name": "Kvalitetssystemet", "helseid_client_id": idp::CLIENT, "scopes": ["deviations:read"]});
    let client = w.call(&w.web, Method::POST, &clients, &advisor, Some(&read)).await.expect(201);
    assert_eq!(client["scopes"], json!(["deviations:read"]));
    w.call(&w.web, Method::POST, &clients, &advisor, Some(&read)).await.problem(409, "client_taken");
    w.call(&w.web, Method::POST, &clients, &nurse, Some(&read)).await.problem(403, "forbidden");

    // It reads what Trondheim sent, and nothing it could not.
    let me = w.call(&w.machine, Method::GET, "/api/v1/me", &machine, None).await.expect(200);
    assert_eq!(me["name"], "Kvalitetssystemet");
    let path = format!("/api/v1/deviations/{}", sent["id"].as_str().unwrap());
    w.call(&w.machine, Method::GET, &path, &machine, None).await.expect(200);
    let list = w.call(&w.machine, Method::GET, "/api/v1/deviations", &machine, None).await.expect(200);
    assert!(ids(&list).contains(&sent["id"].as_str().unwrap().to_owned()));
    let comment = json!({"text": "Registrert i kvalitetssystemet."});
    let body = w
        .call(&w.machine, Method::POST, &format!("{path}/comments"), &machine, Some(&comment))
        .await
        .problem(403, "insufficient_scope");
    assert!(body["detail"].as_str().unwrap().contains("deviations:write"), "{body}");
    w.call(&w.machine, Method::GET, "/api/v1/feed", &machine, None).await.problem(403, "insufficient_scope");
    w.call(&w.machine, Method::GET, &format!("/api/v1/organisations/{trondheim}/clients"), &machine, None)
        .await
        .problem(403, "forbidden");
    let listed = w.call(&w.web, Method::GET, &clients, &advisor, None).await.expect(200);
    assert!(listed["items"][0]["last_used_at"].is_string(), "{listed}");

    // Revoked, it is refused at once; registered again with write access, it may comment but not report.
    let revoke = format!("{clients}/{}", client["id"].as_str().unwrap());
    w.call(&w.web, Method::DELETE, &revoke, &advisor, None).await.expect(204);
    w.call(&w.machine, Method::GET, "/api/v1/me", &machine, None).await.problem(403, "unknown_client");
    let write = json!({"name": "Kvalitetssystemet", "helseid_client_id": idp::CLIENT, "scopes": ["feed:read", "deviations:write"]});
    let again = w.call(&w.web, Method::POST, &clients, &advisor, Some(&write)).await.expect(201);
    assert_eq!(again["scopes"], json!(["deviations:read", "deviations:write", "feed:read"]));
    // Polled: on PostgreSQL another test's open transaction may hold the newest events back a moment.
    let started = std::time::Instant::now();
    loop {
        let feed = w.call(&w.machine, Method::GET, "/api/v1/feed", &machine, None).await.expect(200);
        if feed["items"].as_array().unwrap().iter().any(|e| e["deviation_id"] == sent["id"]) {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the feed never showed it: {feed}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    w.call(&w.machine, Method::POST, &format!("{path}/comments"), &machine, Some(&comment)).await.expect(201);
    w.call(&w.machine, Method::POST, "/api/v1/deviations", &machine, Some(&form(&stolav)))
        .await
        .problem(403, "forbidden");
    let handlers = w
        .call(&w.web, Method::GET, &format!("/api/v1/organisations/{trondheim}/handlers"), &advisor, None)
        .await
        .expect(200);
    assert!(!handlers.to_string().contains("Kvalitetssystemet"), "a machine is never given a case: {handlers}");
}

/// The CSRF token of the page's (first) form.
fn csrf(html: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf" value="([0-9a-f]+)""#).unwrap();
    re.captures(html).unwrap_or_else(|| panic!("no csrf in {html}"))[1].to_owned()
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").unwrap_or_else(|| panic!("no redirect: {}", r.status())).to_str().unwrap().to_owned()
}

impl World {
    /// A browser at the login page: chooses `organisation` and is sent to the provider.
    async fn start_login(&self, browser: &reqwest::Client, organisation: &str) -> String {
        let page = browser.get(format!("{}/logg-inn?neste=/avvik/ny", self.app.address)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("Logg inn med HelseID") && !html.contains("Passord"), "{html}");
        let org = self.org_id(organisation);
        let form = [("csrf", csrf(&html)), ("organisation_id", org), ("neste", "/avvik/ny".into())];
        let r = browser.post(format!("{}/logg-inn/helseid", self.app.address)).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let to = location(&r);
        assert!(to.starts_with(&format!("{}/auth?", self.provider.issuer())) && to.contains("request_uri="), "{to}");
        to
    }

    fn org_id(&self, name: &str) -> String {
        use samavvik::db::schema::organisations;
        let mut conn = self.app.conn();
        organisations::table.filter(organisations::name.eq(name)).select(organisations::id).first(&mut conn).unwrap()
    }
}

#[actix_web::test]
async fn a_nurse_logs_in_to_the_pages_with_helseid_for_her_organisation_and_out_again() {
    let w = world().await;
    let browser = idp::browser();
    let authorize = w.start_login(&browser, "Trondheim kommune").await;
    let back = idp::log_in_at_provider(&browser, &w.provider.issuer(), &authorize, "nurse").await;
    assert!(back.starts_with(&format!("{}/logg-inn/helseid/svar?", w.app.address)), "{back}");
    let r = browser.get(&back).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(location(&r), "/avvik/ny");
    let form = browser.get(format!("{}/avvik/ny", w.app.address)).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains("Siri Sykepleier"), "signed in as the pre-registered nurse");

    // The answer cannot be used twice, or in another browser.
    let again = browser.get(&back).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("Innloggingen kunne ikke fullføres"));

    // Logging out ends our session and sends the browser to the provider's, which comes back.
    let r = browser.post(format!("{}/logg-ut", w.app.address)).form(&[("csrf", csrf(&html))]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let end = location(&r);
    assert!(
        end.starts_with(&format!("{}/session/end?", w.provider.issuer())) && end.contains("id_token_hint="),
        "{end}"
    );
    let after = browser.get(format!("{}/avvik/ny", w.app.address)).send().await.unwrap();
    assert_eq!(after.status(), 303, "the session is gone");
    assert!(location(&after).starts_with("/logg-inn"));
}

#[actix_web::test]
async fn a_login_that_goes_wrong_at_the_provider_ends_on_a_page_that_says_so() {
    let w = world().await;
    // Cancelled at the provider.
    let browser = idp::browser();
    w.start_login(&browser, "Trondheim kommune").await;
    let cancelled = browser
        .get(format!("{}/logg-inn/helseid/svar?error=access_denied&state=x", w.app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 400);
    let html = cancelled.text().await.unwrap();
    assert!(html.contains("svaret hører ikke til") && html.contains("Logg inn med HelseID"), "a wrong state: {html}");

    // Cancelled at the provider's login page: the answer carries our state and access_denied.
    let browser = idp::browser();
    let authorize = w.start_login(&browser, "Trondheim kommune").await;
    let interaction = location(&browser.get(&authorize).send().await.unwrap());
    let issuer = w.provider.issuer();
    let absolute = |to: String| if to.starts_with('/') { format!("{issuer}{to}") } else { to };
    let mut to = absolute(format!("{interaction}/abort"));
    while to.starts_with(&issuer) {
        to = absolute(location(&browser.get(&to).send().await.unwrap()));
    }
    assert!(to.contains("error=access_denied"), "{to}");
    let r = browser.get(&to).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Innloggingen ble avbrutt"));

    // A person chooses an organisation that has not registered her.
    let browser = idp::browser();
    let authorize = w.start_login(&browser, "St. Olavs hospital HF").await;
    let back = idp::log_in_at_provider(&browser, &w.provider.issuer(), &authorize, "nurse").await;
    let r = browser.get(&back).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("ikke registrert som bruker i St. Olavs hospital HF"), "{html}");

    // No organisation chosen.
    let browser = idp::browser();
    let page = browser.get(format!("{}/logg-inn", w.app.address)).send().await.unwrap().text().await.unwrap();
    let form = [("csrf", csrf(&page)), ("organisation_id", String::new())];
    let r = browser.post(format!("{}/logg-inn/helseid", w.app.address)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Velg organisasjonen"));
}

#[actix_web::test]
async fn where_the_organisation_allows_it_a_stranger_asks_for_access_and_waits_for_an_admin() {
    use samavvik::db::schema::{organisations, outbox};
    let w = world().await;
    let mut conn = w.app.conn();
    diesel::update(organisations::table.filter(organisations::name.eq("Trondheim kommune")))
        .set(organisations::self_enrolment.eq(true))
        .execute(&mut conn)
        .unwrap();
    let stranger = w.web.person_token(&w.provider, "stranger").await;
    for _ in 0..2 {
        let body = w.call(&w.web, Method::GET, "/api/v1/me", &stranger, None).await.problem(403, "pending_approval");
        assert!(body["detail"].as_str().unwrap().contains("Trondheim kommune"), "{body}");
    }
    let waiting: Vec<(String, bool, bool, String)> = users::table
        .filter(users::pending.eq(true))
        .select((users::id, users::active, users::machine, users::role))
        .load(&mut conn)
        .unwrap();
    assert_eq!(waiting.len(), 1, "one request, however often she tries: {waiting:?}");
    let (id, active, machine, role) = waiting[0].clone();
    assert!(!active && !machine && role == "reporter");
    let mails: Vec<(String, String)> = outbox::table
        .filter(outbox::template.eq("access_request"))
        .select((outbox::recipient, outbox::template))
        .load(&mut conn)
        .unwrap();
    assert_eq!(mails, vec![(ADMIN.to_owned(), "access_request".to_owned())], "the admins are told");

    // The admin approves (activates) her; from then on she is a reporter in Trondheim.
    let patch: samavvik::directory::users::UserPatch =
        serde_json::from_value(json!({"active": true, "email": "ny.sykepleier@trondheim.example"})).unwrap();
    samavvik::directory::users::update(&mut conn, &id.clone().into(), patch).unwrap();
    let me = w.call(&w.web, Method::GET, "/api/v1/me", &stranger, None).await.expect(200);
    assert_eq!((me["name"].as_str(), me["role"].as_str()), (Some("Ukjent Person"), Some("reporter")));
    assert_eq!(me["email"], "ny.sykepleier@trondheim.example");
}

#[actix_web::test]
async fn a_person_registered_by_e_mail_is_found_by_it_and_keeps_the_hpr_number_helseid_gives() {
    let w = world().await;
    let token = w.minted(json!({
        "sub": "sondre",
        "email": "Sykepleier@stolav.example",
        format!("{HELSEID}client/claims/orgnr_parent"): org_number("stolav"),
        format!("{HELSEID}hpr/hpr_number"): "123456789",
        format!("{HELSEID}identity/pid"): "01017054324",
    }));
    let me = w.call(&w.web, Method::GET, "/api/v1/me", &token, None).await.expect(200);
    assert_eq!(me["name"], "Sondre Sykepleier");
    let mut conn = w.app.conn();
    let hpr: Option<String> = users::table
        .filter(users::email.eq("sykepleier@stolav.example"))
        .select(users::hpr_number)
        .first(&mut conn)
        .unwrap();
    assert_eq!(hpr.as_deref(), Some("123456789"));
}

#[actix_web::test]
async fn a_client_of_one_unit_speaks_for_that_unit() {
    use samavvik::db::schema::units;
    let w = world().await;
    let mut conn = w.app.conn();
    let trondheim = w.org_id("Trondheim kommune");
    diesel::update(units::table.filter(units::name.eq("Sykehjem")).filter(units::organisation_id.eq(trondheim)))
        .set(units::org_number.eq("987654325"))
        .execute(&mut conn)
        .unwrap();
    let as_advisor = |child: &str| {
        w.minted(json!({
            "sub": "advisor",
            format!("{HELSEID}client/claims/orgnr_child"): child,
            format!("{HELSEID}hpr/hpr_number"): ADVISOR_HPR,
            format!("{HELSEID}identity/pid"): "01017054323",
        }))
    };
    let me = w.call(&w.web, Method::GET, "/api/v1/me", &as_advisor("987654325"), None).await.expect(200);
    assert_eq!(me["unit"]["name"], "Sykehjem", "a user without a unit acts for the client's unit: {me}");
    let body = w
        .call(&w.web, Method::GET, "/api/v1/me", &as_advisor("987654333"), None)
        .await
        .problem(403, "unknown_organisation");
    assert!(body["detail"].as_str().unwrap().contains("987654333 er ikke en enhet i Trondheim kommune"), "{body}");
    // The nurse's admin put her in a unit: that stays hers.
    let nurse = w.minted(json!({format!("{HELSEID}client/claims/orgnr_child"): "987654325"}));
    let me = w.call(&w.web, Method::GET, "/api/v1/me", &nurse, None).await.expect(200);
    assert_eq!(me["unit"]["name"], "Hjemmetjenesten");
}
