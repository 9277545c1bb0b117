//! A real OpenID provider for the HelseID tests — panva's oidc-provider (npm) run by Node with
//! `tests/oidc/provider.mjs` — and a client that gets tokens from it the way a HelseID client does:
//! private_key_jwt, PKCE, DPoP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const AUDIENCE: &str = "nhn:samavvik";
pub const READ: &str = "nhn:samavvik/api";
pub const HELSEID: &str = "helseid://claims/";
pub const CLIENT: &str = "kvalitetssystem";
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// oidc-provider, installed once per test run under the target directory (like axe-core), with
/// the script beside it: an ES module finds its imports from where it lies.
fn script() -> &'static Path {
    static SCRIPT: OnceLock<PathBuf> = OnceLock::new();
    SCRIPT.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oidc-provider");
        if !dir.join("node_modules/oidc-provider/package.json").exists() {
            let ok = Command::new("npm")
                .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .arg("oidc-provider@9.13.3")
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "could not install oidc-provider from npm into {dir:?}");
        }
        let script = dir.join("provider.mjs");
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/provider.mjs"), &script).unwrap();
        script
    })
}

fn node(args: &[&str]) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(script()).args(args);
    cmd
}

/// A key pair made by Node: the private JWK (for the provider), the public JWK and PKCS#8 PEM.
#[derive(Clone)]
pub struct Key {
    pub private: Value,
    pub public: Value,
    pub pem: String,
    pub alg: Algorithm,
}

impl Key {
    pub fn new(alg: &str) -> Key {
        let out = node(&["keygen", alg]).output().expect("node");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        Key {
            private: v["private"].clone(),
            public: v["public"].clone(),
            pem: v["pem"].as_str().unwrap().to_owned(),
            alg: alg.parse().unwrap(),
        }
    }

    pub fn kid(&self) -> &str {
        self.public["kid"].as_str().unwrap()
    }

    pub fn encoding(&self) -> EncodingKey {
        match self.alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(self.pem.as_bytes()).unwrap(),
            _ => EncodingKey::from_rsa_pem(self.pem.as_bytes()).unwrap(),
        }
    }

    /// A JWT signed with this key, with `kid` and `typ`.
    pub fn sign(&self, typ: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid().to_owned());
        header.typ = Some(typ.to_owned());
        encode(&header, claims, &self.encoding()).unwrap()
    }

    /// The public key alone, as a DPoP proof carries it.
    pub fn public_jwk(&self) -> Jwk {
        let mut v = self.public.clone();
        let o = v.as_object_mut().unwrap();
        for m in ["kid", "alg", "use"] {
            o.remove(m);
        }
        serde_json::from_value(v).unwrap()
    }
}

pub struct Provider {
    child: Child,
    pub port: u16,
    pub keys: Vec<Key>,
    config: Value,
    _dir: tempfile::TempDir,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Provider {
    /// A provider signing with `keys[0]`, knowing these clients and accounts.
    pub fn start(keys: Vec<Key>, clients: Value, accounts: Value) -> Provider {
        let config = json!({
            "port": 0,
            "audience": AUDIENCE,
            "scopes": READ,
            "clients": clients,
            "accounts": accounts,
        });
        Self::run(0, keys, config)
    }

    fn run(port: u16, keys: Vec<Key>, mut config: Value) -> Provider {
        config["port"] = json!(port);
        config["jwks"] = json!({ "keys": keys.iter().map(|k| k.private.clone()).collect::<Vec<_>>() });
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("provider.json");
        std::fs::write(&file, config.to_string()).unwrap();
        let log = dir.path().join("provider.log");
        let mut child = node(&["serve", file.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("listening ").and_then(|p| p.parse().ok());
        let port = port.unwrap_or_else(|| {
            let _ = child.wait();
            panic!("provider did not start: {line:?}\n{}", std::fs::read_to_string(&log).unwrap_or_default())
        });
        Provider { child, port, keys, config, _dir: dir }
    }

    /// Takes the provider down: its address stops answering.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The same provider, on the same address, now signing with `keys[0]` (a key rotation).
    pub fn restart_with(self, keys: Vec<Key>) -> Provider {
        let (port, config) = (self.port, self.config.clone());
        drop(self);
        Self::run(port, keys, config)
    }

    /// A token signed by the provider's own key with claims of the test's choosing, for the
    /// refusals a real provider would never issue.
    pub fn mint(&self, claims: &Value) -> String {
        self.keys[0].sign("at+jwt", claims)
    }

    /// HelseID-shaped access-token claims, valid now, for these extra claims.
    pub fn claims(&self, extra: Value) -> Value {
        let now = chrono::Utc::now().timestamp();
        let mut c = json!({
            "iss": self.issuer(), "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300,
            "scope": READ, "client_id": CLIENT, "jti": uuid::Uuid::new_v4().to_string(),
        });
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }
}

/// A registered client of the provider, with its key for private_key_jwt and one for DPoP.
pub struct Client {
    pub id: String,
    pub key: Key,
    pub dpop: Key,
}

/// A browser of its own: the provider's session cookies stay with one login.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap()
}

impl Client {
    pub fn new(id: &str) -> Client {
        Client { id: id.to_owned(), key: Key::new("ES256"), dpop: Key::new("ES256") }
    }

    /// The provider's registration of a machine client (client credentials).
    pub fn machine_metadata(&self, orgnr: &str) -> Value {
        json!({
            "client_id": self.id, "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256", "jwks": {"keys": [self.key.public]},
            "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": [],
            "orgnr_parent": orgnr,
        })
    }

    /// The provider's registration of a client persons log in through (authorization code).
    pub fn person_metadata(&self, orgnr: &str) -> Value {
        json!({
            "client_id": self.id, "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256", "jwks": {"keys": [self.key.public]},
            "grant_types": ["authorization_code"], "response_types": ["code"], "redirect_uris": [REDIRECT],
            "orgnr_parent": orgnr,
        })
    }

    fn assertion(&self, provider: &Provider) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": self.id, "sub": self.id, "aud": provider.issuer(),
            "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 60,
        });
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key.kid().to_owned());
        encode(&header, &claims, &self.key.encoding()).unwrap()
    }

    /// A DPoP proof for `method` `url`, made at `iat`, for `token` (None: the token request).
    pub fn proof_at(&self, method: &str, url: &str, token: Option<&str>, iat: i64) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.dpop.public_jwk());
        let mut claims = json!({ "jti": uuid::Uuid::new_v4().to_string(), "htm": method, "htu": url, "iat": iat });
        if let Some(t) = token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(t.as_bytes())));
        }
        encode(&header, &claims, &self.dpop.encoding()).unwrap()
    }

    async fn token_request(&self, provider: &Provider, form: &[(&str, &str)]) -> Value {
        let url = format!("{}/token", provider.issuer());
        let proof = self.proof_at("POST", &url, None, chrono::Utc::now().timestamp());
        let assertion = self.assertion(provider);
        let mut form = form.to_vec();
        form.extend([
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", &assertion),
        ]);
        let r = browser().post(url).header("DPoP", proof).form(&form).send().await.unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "token request refused: {body}");
        assert_eq!(body["token_type"], "DPoP", "{body}");
        body
    }

    /// A DPoP-bound access token for the client itself (client credentials).
    pub async fn machine_token(&self, provider: &Provider) -> String {
        let body = self.token_request(provider, &[("grant_type", "client_credentials"), ("scope", READ)]).await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A DPoP-bound access token for the person `subject`, through the provider's login page
    /// (authorization code with PKCE; the provider's development login takes any password).
    pub async fn person_token(&self, provider: &Provider, subject: &str) -> String {
        let issuer = provider.issuer();
        let http = browser();
        let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let state = uuid::Uuid::new_v4().simple().to_string();
        let scope = format!("openid profile {READ}");
        let query = [
            ("client_id", self.id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", &scope),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", &state),
            ("nonce", &state),
            ("resource", AUDIENCE),
        ];
        let url = reqwest::Url::parse_with_params(&format!("{issuer}/auth"), query).unwrap();
        let location = log_in_at_provider(&http, &issuer, url.as_str(), subject).await;
        assert!(location.starts_with(REDIRECT), "expected the code, got {location}");
        let url = reqwest::Url::parse(&location).unwrap();
        let code = url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap();
        let body = self
            .token_request(
                provider,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &verifier),
                    ("resource", AUDIENCE),
                ],
            )
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }
}

/// Follows an authorization request through the provider's login and consent pages as `subject`;
/// returns where the provider finally sends the browser (the client's redirect URI).
pub async fn log_in_at_provider(http: &reqwest::Client, issuer: &str, authorize: &str, subject: &str) -> String {
    let r = http.get(authorize).send().await.unwrap();
    let mut location = next(issuer, &r);
    assert!(location.contains("/interaction/"), "expected the login page, got {location}");
    // Consent is asked once per client and person; a second login goes straight back.
    for prompt in ["login", "consent"] {
        if !location.contains("/interaction/") {
            break;
        }
        let form = [("prompt", prompt), ("login", subject), ("password", "x")];
        let r = http.post(&location).form(&form).send().await.unwrap();
        let back = next(issuer, &r);
        let r = http.get(&back).send().await.unwrap();
        location = next(issuer, &r);
    }
    location
}

fn next(issuer: &str, r: &reqwest::Response) -> String {
    assert!(r.status().is_redirection(), "expected a redirect, got {}", r.status());
    let to = r.headers()["location"].to_str().unwrap();
    match to.starts_with('/') {
        true => format!("{issuer}{to}"),
        false => to.to_owned(),
    }
}

/// A HelseID person's claims as the provider's account store holds them.
pub fn person(name: &str, pid: &str, hpr: &str, level: &str) -> Value {
    json!({
        "name": name,
        format!("{HELSEID}identity/pid"): pid,
        format!("{HELSEID}identity/security_level"): level,
        format!("{HELSEID}hpr/hpr_number"): hpr,
    })
}
