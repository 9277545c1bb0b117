//! Logging in to the web pages with HelseID: authorization code flow with PAR (RFC 9126), PKCE
//! S256, `state` and `nonce`, client authentication by `private_key_jwt` (RFC 7523), and the
//! organisation the person acts for sent in `authorization_details` as NHN's multi-tenant clients
//! do. The ID token says who the person is; the access token (for our own API) names the
//! organisation HelseID agreed to, which must be the one asked for. `openidconnect` has neither PAR
//! nor client assertions nor RAR, so the few requests are made here, on `jsonwebtoken`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{AccessClaims, Oidc, ALGORITHMS, LEEWAY_SECONDS};
use crate::config::Config;
use crate::error::ApiError;
use crate::keyed;

/// How long a started login may take at the provider.
pub const PENDING_SECONDS: i64 = 15 * 60;

/// samavvik's own client at HelseID, for the pages.
pub struct WebClient {
    pub client_id: String,
    key: EncodingKey,
    alg: Algorithm,
    /// The public key as HelseID Selvbetjening takes it (with `kid`), served at `/oidc/jwks.json`.
    pub public_jwk: Jwk,
    scopes: String,
    pub redirect_uri: String,
    pub after_logout_uri: String,
}

impl WebClient {
    pub fn from_config(c: &Config) -> Result<Self, String> {
        if c.oidc_client_id.trim().is_empty() {
            return Err("SAMAVVIK_OIDC_CLIENT_ID må være web-klientens klient-ID i HelseID".into());
        }
        let file = c.oidc_client_key_file.trim();
        let bytes = std::fs::read(file).map_err(|e| format!("SAMAVVIK_OIDC_CLIENT_KEY_FILE «{file}»: {e}"))?;
        let (key, alg, mut jwk, kid) = match serde_json::from_slice::<Value>(&bytes) {
            Ok(private) => private_jwk(&private),
            Err(_) => pem(&bytes),
        }
        .ok_or_else(|| {
            format!(
                "SAMAVVIK_OIDC_CLIENT_KEY_FILE «{file}» er ikke en privat EC P-256- eller RSA-nøkkel \
                 (PKCS#8 PEM, eller JWK slik HelseID Selvbetjening lager den)"
            )
        })?;
        // The key id HelseID knows the key by: the JWK's own, else its RFC 7638 thumbprint.
        let kid = match kid {
            Some(kid) => kid,
            None => {
                jwk.thumbprint(ThumbprintHash::SHA256).map_err(|e| format!("SAMAVVIK_OIDC_CLIENT_KEY_FILE: {e}"))?
            }
        };
        jwk.common.key_id = Some(kid);
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let base = c.public_base_url.trim_end_matches('/');
        Ok(WebClient {
            client_id: c.oidc_client_id.trim().to_owned(),
            key,
            alg,
            public_jwk: jwk,
            scopes: c.oidc_client_scopes.split_whitespace().collect::<Vec<_>>().join(" "),
            redirect_uri: format!("{base}/logg-inn/helseid/svar"),
            after_logout_uri: format!("{base}/logg-inn"),
        })
    }

    /// A client assertion for the provider (RFC 7523 §3): short-lived, used once.
    fn assertion(&self, issuer: &str, now: DateTime<Utc>) -> Result<String, ApiError> {
        let now = now.timestamp();
        let claims = json!({
            "iss": self.client_id, "sub": self.client_id, "aud": issuer,
            "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "nbf": now, "exp": now + 60,
        });
        let mut header = Header::new(self.alg);
        header.kid = self.public_jwk.common.key_id.clone();
        header.typ = Some("client-authentication+jwt".into());
        encode(&header, &claims, &self.key).map_err(ApiError::internal)
    }

    /// A DPoP proof (RFC 9449) for a token request to `url`, signed with the client's own key as
    /// HelseID's examples do; `nonce` is the one the provider asked for, if it did.
    fn token_proof(&self, url: &str, now: DateTime<Utc>, nonce: Option<&str>) -> Result<String, ApiError> {
        let mut claims = serde_json::Map::new();
        claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
        claims.insert("htm".into(), json!("POST"));
        claims.insert("htu".into(), json!(url));
        claims.insert("iat".into(), json!(now.timestamp()));
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        let mut header = Header::new(self.alg);
        header.typ = Some("dpop+jwt".into());
        let mut public = self.public_jwk.clone();
        public.common.key_id = None;
        public.common.public_key_use = None;
        header.jwk = Some(public);
        encode(&header, &claims, &self.key).map_err(ApiError::internal)
    }
}

type ClientKey = (EncodingKey, Algorithm, Jwk, Option<String>);

/// A PKCS#8 PEM key: EC P-256 signs ES256, RSA RS256.
fn pem(pem: &[u8]) -> Option<ClientKey> {
    [Algorithm::ES256, Algorithm::RS256].into_iter().find_map(|alg| {
        let key = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem).ok()?,
            _ => EncodingKey::from_rsa_pem(pem).ok()?,
        };
        Some((Jwk::from_encoding_key(&key, alg).ok()?, key, alg)).map(|(jwk, key, alg)| (key, alg, jwk, None))
    })
}

/// A private JWK (RFC 7518 §6.2.2, §6.3.2), as HelseID Selvbetjening hands it out, turned into the
/// DER the signer takes: PKCS#8 for EC P-256, PKCS#1 for RSA. Its `alg` (RS256, PS256, ES256) and
/// `kid` are kept.
fn private_jwk(v: &Value) -> Option<ClientKey> {
    let field = |name: &str| v.get(name).and_then(Value::as_str).and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    let named_alg = v.get("alg").and_then(Value::as_str).and_then(|a| a.parse::<Algorithm>().ok());
    let (key, alg) = match v.get("kty").and_then(Value::as_str)? {
        "EC" if v.get("crv").and_then(Value::as_str) == Some("P-256") => {
            let (d, x, y) = (field("d")?, field("x")?, field("y")?);
            if d.len() != 32 || x.len() != 32 || y.len() != 32 {
                return None;
            }
            // PKCS#8 with the SEC 1 key and its public point, as `openssl genpkey` writes it.
            let mut der =
                hex::decode("308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420").ok()?;
            der.extend(&d);
            der.extend([0xa1, 0x44, 0x03, 0x42, 0x00, 0x04]);
            der.extend(&x);
            der.extend(&y);
            (EncodingKey::from_ec_der(&der), Algorithm::ES256)
        }
        "RSA" => {
            let parts = ["n", "e", "d", "p", "q", "dp", "dq", "qi"].map(field);
            let mut body = der_integer(&[0]);
            for part in parts {
                body.extend(der_integer(&part?));
            }
            let alg =
                named_alg.filter(|a| matches!(a, Algorithm::RS256 | Algorithm::PS256)).unwrap_or(Algorithm::RS256);
            (EncodingKey::from_rsa_der(&der_sequence(body)), alg)
        }
        _ => return None,
    };
    let jwk = Jwk::from_encoding_key(&key, alg).ok()?;
    let kid = v.get("kid").and_then(Value::as_str).map(str::to_owned);
    Some((key, alg, jwk, kid))
}

fn der_length(n: usize) -> Vec<u8> {
    match n {
        0..=0x7f => vec![n as u8],
        _ => {
            let bytes: Vec<u8> = n.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
            let mut out = vec![0x80 | bytes.len() as u8];
            out.extend(bytes);
            out
        }
    }
}

/// A DER INTEGER of a non-negative big-endian number.
fn der_integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
    let mut value = match trimmed.first() {
        None => vec![0],
        Some(b) if b & 0x80 != 0 => [vec![0], trimmed].concat(),
        Some(_) => trimmed,
    };
    let mut out = vec![0x02];
    out.extend(der_length(value.len()));
    out.append(&mut value);
    out
}

fn der_sequence(body: Vec<u8>) -> Vec<u8> {
    let mut out = vec![0x30];
    out.extend(der_length(body.len()));
    out.extend(body);
    out
}

/// A login on its way through the provider, kept in a signed cookie until the answer comes back.
#[derive(Debug, Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub org_number: String,
    pub next: String,
    pub started: i64,
}

fn random() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn refused(detail: &str) -> ApiError {
    ApiError::new(actix_web::http::StatusCode::BAD_REQUEST, "login_failed", detail.to_owned())
}

fn provider_error(cause: impl Into<anyhow::Error>) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::BAD_GATEWAY,
        "identity_provider_unavailable",
        "HelseID svarte ikke som ventet. Prøv å logge inn igjen om litt.",
    )
    .with_cause(cause)
}

/// Pushes the authorization request (PAR) and returns where to send the browser, with what to
/// remember until it comes back.
pub async fn start(
    oidc: &Oidc,
    web: &WebClient,
    org_number: &str,
    next: String,
    now: DateTime<Utc>,
) -> Result<(String, Pending), ApiError> {
    let discovery = oidc.keys.discovery().await?;
    let (Some(par), Some(authorize)) =
        (discovery.pushed_authorization_request_endpoint.as_deref(), discovery.authorization_endpoint.as_deref())
    else {
        return Err(provider_error(anyhow::anyhow!("the provider offers no PAR or authorization endpoint")));
    };
    let pending = Pending {
        state: random(),
        nonce: random(),
        verifier: random(),
        org_number: org_number.to_owned(),
        next,
        started: now.timestamp(),
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
    let details = json!([{
        "type": "helseid_authorization",
        "practitioner_role": {"organization": {"identifier": {
            "system": "urn:oid:1.0.6523", "type": "ENH", "value": format!("NO:ORGNR:{org_number}"),
        }}},
    }])
    .to_string();
    let assertion = web.assertion(&oidc.settings.issuer, now)?;
    let form = [
        ("client_id", web.client_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", &web.redirect_uri),
        ("scope", &web.scopes),
        ("state", &pending.state),
        ("nonce", &pending.nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("resource", &oidc.settings.audience),
        ("authorization_details", &details),
        ("prompt", "login"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", &assertion),
    ];
    let answer: Value = post_form(oidc, par, &form).await?;
    let request_uri = answer
        .get("request_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| provider_error(anyhow::anyhow!("PAR gave no request_uri")))?;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &web.client_id)
        .append_pair("request_uri", request_uri)
        .finish();
    Ok((format!("{authorize}?{query}"), pending))
}

async fn post_form(oidc: &Oidc, url: &str, form: &[(&str, &str)]) -> Result<Value, ApiError> {
    answer(url, send_form(oidc, url, form, None).await?).await
}

async fn send_form(
    oidc: &Oidc,
    url: &str,
    form: &[(&str, &str)],
    proof: Option<String>,
) -> Result<reqwest::Response, ApiError> {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let mut request = oidc.keys.http().post(url).header("content-type", "application/x-www-form-urlencoded");
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.body(body).send().await.map_err(provider_error)
}

async fn answer(url: &str, response: reqwest::Response) -> Result<Value, ApiError> {
    let status = response.status();
    let answer: Value = response.json().await.map_err(provider_error)?;
    if !status.is_success() {
        // The provider's own words stay in our log; the person gets ours.
        return Err(provider_error(anyhow::anyhow!(
            "{url}: HTTP {status}: {}",
            answer.get("error").cloned().unwrap_or_default()
        )));
    }
    Ok(answer)
}

/// The token request with a DPoP proof, as HelseID requires of every call to its token endpoint.
/// A provider that wants a nonce in the proof (HelseID does) answers 400 `use_dpop_nonce` with the
/// nonce in `DPoP-Nonce`; the request is then made once more with it (RFC 9449 §8), with a fresh
/// client assertion since an assertion is good for one use.
async fn post_token_request(
    oidc: &Oidc,
    web: &WebClient,
    url: &str,
    grant: &[(&str, &str)],
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let attempt = |nonce: Option<String>| async move {
        let assertion = web.assertion(&oidc.settings.issuer, now)?;
        let mut form = grant.to_vec();
        form.extend([
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", &assertion),
        ]);
        let proof = web.token_proof(url, now, nonce.as_deref())?;
        send_form(oidc, url, &form, Some(proof)).await
    };
    let first = attempt(None).await?;
    let nonce = first.headers().get("dpop-nonce").and_then(|v| v.to_str().ok()).map(str::to_owned);
    match (first.status(), nonce) {
        (reqwest::StatusCode::BAD_REQUEST, Some(nonce)) => answer(url, attempt(Some(nonce)).await?).await,
        _ => answer(url, first).await,
    }
}

/// What the provider's redirect back carries.
#[derive(Debug, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// The person and organisation of a finished login, as claims `identity::caller` takes, and the
/// ID token for the provider's logout.
pub async fn finish(
    oidc: &Oidc,
    web: &WebClient,
    pending: &Pending,
    callback: &Callback,
    now: DateTime<Utc>,
) -> Result<(AccessClaims, String), ApiError> {
    if callback.state.as_deref() != Some(pending.state.as_str()) {
        return Err(refused(
            "Innloggingen kunne ikke fullføres: svaret hører ikke til innloggingen du startet her. Prøv igjen.",
        ));
    }
    if now.timestamp() - pending.started > PENDING_SECONDS {
        return Err(refused("Innloggingen tok for lang tid. Prøv igjen."));
    }
    match callback.error.as_deref() {
        Some("access_denied") => return Err(refused("Innloggingen ble avbrutt. Du kan prøve igjen.")),
        Some(_) => return Err(refused("HelseID avviste innloggingen. Prøv igjen, eller kontakt brukerstøtte.")),
        None => {}
    }
    // RFC 9207: an answer from another issuer is not ours.
    if callback.iss.as_deref().is_some_and(|iss| iss != oidc.settings.issuer) {
        return Err(refused("Innloggingen kom fra en annen utsteder enn HelseID. Prøv igjen."));
    }
    let code = callback.code.as_deref().ok_or_else(|| refused("Svaret fra HelseID manglet kode. Prøv igjen."))?;
    let discovery = oidc.keys.discovery().await?;
    let token_endpoint = discovery
        .token_endpoint
        .as_deref()
        .ok_or_else(|| provider_error(anyhow::anyhow!("the provider names no token endpoint")))?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", web.redirect_uri.as_str()),
        ("code_verifier", &pending.verifier),
        ("resource", &oidc.settings.audience),
    ];
    let tokens = post_token_request(oidc, web, token_endpoint, &form, now).await?;
    let id_token =
        tokens.get("id_token").and_then(Value::as_str).ok_or_else(|| provider_error(anyhow::anyhow!("no id_token")))?;
    let access_token = tokens
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or_else(|| provider_error(anyhow::anyhow!("no access_token")))?;
    let mut person = id_token_claims(oidc, web, id_token, &pending.nonce).await?;
    let access = oidc.validate(access_token).await.map_err(|e| provider_error(anyhow::anyhow!("{e:?}")))?;
    let claim = &oidc.settings.organisation_claim;
    if access.text(claim) != Some(pending.org_number.as_str()) {
        return Err(refused(
            "HelseID ga ikke innlogging for organisasjonen du valgte. Velg organisasjonen på nytt, eller kontakt administratoren der.",
        ));
    }
    person.insert(claim.clone(), Value::String(pending.org_number.clone()));
    Ok((AccessClaims(person), id_token.to_owned()))
}

/// The ID token's claims, once signature, issuer, audience, time and nonce hold.
async fn id_token_claims(
    oidc: &Oidc,
    web: &WebClient,
    token: &str,
    nonce: &str,
) -> Result<Map<String, Value>, ApiError> {
    let invalid = |why: &str| provider_error(anyhow::anyhow!("ID token refused: {why}"));
    let header = decode_header(token).map_err(|_| invalid("not a JWT"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(invalid("algorithm"));
    }
    let kid = header.kid.as_deref().ok_or_else(|| invalid("no kid"))?;
    let jwk = oidc.keys.key(kid).await?.ok_or_else(|| invalid("unknown key"))?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid("key"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&oidc.settings.issuer]);
    validation.set_audience(&[&web.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECONDS;
    let claims = decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| invalid(&e.to_string()))?.claims;
    if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
        return Err(invalid("nonce"));
    }
    Ok(claims)
}

/// Where the browser goes to end the provider's session too, and comes back to the login page.
pub async fn logout_url(oidc: &Oidc, web: &WebClient, id_token: Option<&str>) -> Option<String> {
    let end = oidc.keys.discovery().await.ok()?.end_session_endpoint?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("client_id", &web.client_id).append_pair("post_logout_redirect_uri", &web.after_logout_uri);
    if let Some(hint) = id_token {
        query.append_pair("id_token_hint", hint);
    }
    Some(format!("{end}?{}", query.finish()))
}

/// A value signed with the service's secret, for a cookie the browser keeps but must not change.
pub fn seal(secret: &str, value: &impl Serialize) -> Result<String, ApiError> {
    let json = serde_json::to_vec(value).map_err(ApiError::internal)?;
    let body = URL_SAFE_NO_PAD.encode(&json);
    Ok(format!("{body}.{}", keyed::tag(secret.as_bytes(), LOGIN_COOKIE, body.as_bytes())))
}

pub fn open<T: serde::de::DeserializeOwned>(secret: &str, sealed: &str) -> Option<T> {
    let (body, tag) = sealed.split_once('.')?;
    keyed::verify(secret.as_bytes(), LOGIN_COOKIE, body.as_bytes(), tag).then_some(())?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

const LOGIN_COOKIE: &[u8] = b"samavvik-oidc-login\n";
