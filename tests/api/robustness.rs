//! Whatever arrives, a worker answers with a complete HTTP response below 500 and lives on. Every
//! route of `openapi.yaml` and every page gets path segments, query values, bodies, form fields and
//! headers made of random bytes, overlong strings, invalid UTF-8, NUL bytes and huge numbers, over a
//! raw socket (an HTTP client library would refuse to send much of it).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::helpers::*;

const PAGES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/logg-inn"),
    ("POST", "/logg-inn"),
    ("POST", "/logg-ut"),
    ("GET", "/avvik"),
    ("GET", "/avvik/ny"),
    ("POST", "/avvik/ny"),
    ("GET", "/avvik/{id}"),
    ("POST", "/avvik/{id}/{action}"),
    ("GET", "/analyser"),
    ("GET", "/analyser/ny"),
    ("POST", "/analyser/ny"),
    ("GET", "/analyser/{id}"),
    ("POST", "/analyser/{id}/{action}"),
    ("GET", "/tiltak"),
    ("GET", "/tiltak/{id}"),
    ("POST", "/tiltak/{id}/{action}"),
    ("GET", "/statistikk"),
    ("GET", "/statistikk/rapport/{file}"),
];

/// A path, the header lines, and a body with its content type.
type Case = (String, Vec<u8>, Option<(&'static str, Vec<u8>)>);

/// A small deterministic generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Values for path segments and query strings (percent-encoded where raw bytes cannot go).
fn nasty_segments(rng: &mut Rng) -> Vec<String> {
    let random: String = rng.bytes(24).iter().map(|b| format!("%{b:02X}")).collect();
    vec![
        random,
        "%FF%FE%00".into(),
        "%00".into(),
        "%0A%0DSet-Cookie:x".into(),
        "a".repeat(5000),
        "99999999999999999999999999999".into(),
        "-1".into(),
        "%C3%A6".repeat(40),
        "..%2F..%2Fetc%2Fpasswd".into(),
        "2026-T9".into(),
        "x.xlsx".into(),
    ]
}

/// Bodies: JSON that parses but says nonsense, JSON that does not parse, forms, bytes.
fn nasty_bodies(rng: &mut Rng, csrf: &str) -> Vec<(&'static str, Vec<u8>)> {
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    let big = "9".repeat(400);
    vec![
        (json, rng.bytes(300)),
        (json, b"{\"description\": \"\xff\xfe invalid utf-8\"}".to_vec()),
        (json, b"{\"description\": \"nul \\u0000 byte\", \"kind\": \"\\u0000\"}".to_vec()),
        (json, format!("{{\"limit\": {big}, \"occurred_at\": {big}, \"harm_class\": 1e999999}}").into_bytes()),
        (json, format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes()),
        (json, format!("{{\"description\": \"{}\", \"recipient_organisation_id\": \"{}\"}}", "æ".repeat(20_000), "a".repeat(3000)).into_bytes()),
        (json, b"{\"a\":".to_vec()),
        (json, b"null".to_vec()),
        // Valid shapes whose text holds a NUL, which PostgreSQL refuses to store or compare.
        (json, b"{\"email\": \"a\\u0000@b.example\", \"password\": \"x\", \"text\": \"a\\u0000\", \"reason\": \"\\u0000\", \"answer\": \"\\u0000\", \"note\": \"\\u0000\"}".to_vec()),
        (json, b"{\"name\": \"Navn\\u0000\", \"email\": \"x\\u0000@y.example\", \"kind\": \"municipality\", \"org_number\": \"974760673\", \"mailbox\": \"a@b.example\", \"role\": \"reporter\"}".to_vec()),
        (form, format!("csrf={csrf}&text=a%00b&answer=%00&reason=%00&note=%00&email=a%00%40b.example&password=x").into_bytes()),
        (form, format!("csrf={csrf}&title=a%00b&avvik=%00&date-0=%00&fact-0=a%00&problem-99999999999999999999=x&conclusion=%00&version=99999999999&category=%00&description=a%00&user_id=%00&to=%00&due_on=%00&effective_on=99.99.9999&reason=%00&responsible_user_id=%00&direction=%00").into_bytes()),
        (form, format!("csrf={csrf}&email=%FF%00&password={}&neste=%0A//x", "p".repeat(5000)).into_bytes()),
        (form, format!("csrf={csrf}&category=%FF&occurred_at={big}&description=%00&harm_class=harm&recipient_organisation_id=%C3").into_bytes()),
        (form, format!("csrf={csrf}&%FF%FE=%FF&&&=&csrf=a{}a", "æ".repeat(31)).into_bytes()),
        (form, rng.bytes(200)),
        ("text/plain; charset=\u{0}", b"hello".to_vec()),
    ]
}

/// Headers whose values are bytes a client library would refuse.
fn nasty_headers(rng: &mut Rng, token: &str, cookies: &str) -> Vec<Vec<u8>> {
    let mut random = rng.bytes(40);
    random.retain(|b| *b != b'\r' && *b != b'\n');
    vec![
        format!("Authorization: Bearer {token}\r\nCookie: {cookies}\r\n").into_bytes(),
        [b"Authorization: Bearer ".as_slice(), &random, b"\r\n"].concat(),
        [
            b"Authorization: ".as_slice(),
            &[0xff, 0xfe, 0x00, b' ', 0x80],
            b"\r\nCookie: samavvik_session=\xff\xfe; samavvik_csrf=\x00\r\n",
        ]
        .concat(),
        format!("Authorization: Bearer {token}\r\nIdempotency-Key: {}\r\nCookie: {cookies}\r\n", "k".repeat(10_000))
            .into_bytes(),
        [
            format!("Authorization: Bearer {token}\r\nIdempotency-Key: ").as_bytes(),
            &[0xc3, 0x28, 0xff],
            b"\r\nX-Forwarded-For: \xff, 1.2.3.4\r\nX-Forwarded-Proto: \x00\r\n",
        ]
        .concat(),
        format!("Authorization: DPoP {token}\r\nContent-Length: 99999999999999999999\r\n").into_bytes(),
    ]
}

/// Sends one raw request and checks the reply is a whole HTTP response; returns its status.
fn exchange(port: u16, request: &[u8]) -> Result<u16, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The server may answer and close before it has read a body it refuses; that is fine.
    let _ = stream.write_all(request);
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).map_err(|e| format!("reading the reply: {e}"))?;
    let head_end = reply.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no complete response head")?;
    let head = String::from_utf8_lossy(&reply[..head_end]).to_lowercase();
    let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).ok_or(format!("no status line: {head}"))?;
    let body = &reply[head_end + 4..];
    if let Some(len) = head.lines().find_map(|l| l.strip_prefix("content-length: ")) {
        let len: usize = len.trim().parse().map_err(|_| "bad content-length")?;
        if body.len() != len {
            return Err(format!("body of {} bytes, content-length {len}", body.len()));
        }
    } else if head.contains("transfer-encoding: chunked") && !body.ends_with(b"0\r\n\r\n") {
        return Err("chunked body without its last chunk".into());
    }
    Ok(status)
}

fn request(method: &str, path: &str, headers: &[u8], body: Option<&(&str, Vec<u8>)>) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n").into_bytes();
    r.extend_from_slice(headers);
    match body {
        Some((content_type, bytes)) if !headers.windows(15).any(|w| w.eq_ignore_ascii_case(b"content-length:")) => {
            r.extend_from_slice(
                format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", bytes.len()).as_bytes(),
            );
            r.extend_from_slice(bytes);
        }
        _ => r.extend_from_slice(b"\r\n"),
    }
    r
}

fn operations() -> Vec<(String, String)> {
    let spec: serde_json::Value = serde_norway::from_str(samavvik::api::OPENAPI_YAML).unwrap();
    let mut ops: Vec<(String, String)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .filter(|(m, _)| ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()))
        .collect();
    ops.extend(PAGES.iter().map(|(m, p)| (m.to_string(), p.to_string())));
    ops
}

/// Fills each `{param}` with `value`.
fn fill(template: &str, value: &str) -> String {
    let re = regex::Regex::new(r"\{[^}]+\}").unwrap();
    re.replace_all(template, value).into_owned()
}

#[actix_web::test]
async fn no_input_gets_a_server_error_or_a_broken_response() {
    // A quality advisor can reach the most handlers; an admin the rest of the API.
    let app = spawn_app_with(|c| c.login_attempts_per_minute = 60_000).await;
    let nurse = app.login(NURSE).await;
    let existing = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();
    let tokens = [app.login(HOSPITAL_ADVISOR).await, app.login(ADMIN).await];
    let secret = "robusthet";
    let login_page = app
        .client
        .get(format!("{}/logg-inn", app.address))
        .header("cookie", format!("samavvik_csrf={secret}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = regex::Regex::new(r#"name="csrf" value="([0-9a-f]{64})""#).unwrap().captures(&login_page).unwrap()[1]
        .to_owned();
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();

    let id = existing.clone();
    let failures = actix_web::rt::task::spawn_blocking(move || {
        let mut rng = Rng(0x5a3a_7ad1_c0ff_ee11);
        let mut failures = Vec::new();
        let mut sent = 0;
        for (method, template) in operations() {
            for token in &tokens {
                let cookies = format!("samavvik_session={token}; samavvik_csrf={secret}");
                let good = fill(&template, &id).replace("{action}", "answer");
                let mut cases: Vec<Case> = Vec::new();
                for segment in nasty_segments(&mut rng) {
                    let path = format!("{}?cursor={segment}&limit={segment}&period={segment}&box={segment}&q={segment}&from={segment}&status={segment}", fill(&template, &segment));
                    cases.push((path, nasty_headers(&mut rng, token, &cookies)[0].clone(), None));
                }
                // A GET with a body is answered too, but actix then waits a second for the client to
                // go away; bodies go where handlers read them.
                let takes_body = method != "GET";
                for body in nasty_bodies(&mut rng, &csrf).into_iter().filter(|_| takes_body) {
                    cases.push((good.clone(), nasty_headers(&mut rng, token, &cookies)[0].clone(), Some(body)));
                }
                for headers in nasty_headers(&mut rng, token, &cookies) {
                    cases.push((good.clone(), headers, takes_body.then(|| ("application/json", b"{}".to_vec()))));
                }
                for (path, headers, body) in cases {
                    sent += 1;
                    let raw = request(&method, &path, &headers, body.as_ref());
                    match exchange(port, &raw) {
                        Ok(status) if status < 500 => {}
                        Ok(status) => failures.push(format!("{method} {template}: {status} for {}", String::from_utf8_lossy(&raw[..raw.len().min(300)]))),
                        Err(e) => failures.push(format!("{method} {template}: {e} for {}", String::from_utf8_lossy(&raw[..raw.len().min(300)]))),
                    }
                }
            }
        }
        println!("robustness: {sent} requests, {} failures", failures.len());
        failures
    })
    .await
    .unwrap();
    assert!(
        failures.is_empty(),
        "{} failures, first ones:\n{}",
        failures.len(),
        failures.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
    // And the workers are all still there.
    for _ in 0..8 {
        assert_eq!(app.client.get(format!("{}/health", app.address)).send().await.unwrap().status(), 200);
    }
    app.get(&format!("/api/v1/deviations/{existing}"), &nurse).await.expect(200);
}
