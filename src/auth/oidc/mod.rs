//! HelseID (OpenID Connect) for the API: access tokens validated by the rules Norsk helsenett sets
//! for APIs, sender-constrained with DPoP, and turned into a `Caller` (`identity`).
//!
//! A request is taken only when every one of these holds (each refusal has its own test):
//! an asymmetric algorithm from `ALGORITHMS`; `typ` `at+jwt` or `JWT`; a key the provider publishes;
//! `iss` the discovered issuer and `aud` the configured audience exactly; `exp`/`nbf` within
//! `LEEWAY`; the required scopes; and, for a DPoP-bound token, a fresh proof for this method and
//! address by the token's key (`dpop`), never seen before by any instance.

pub mod dpop;
pub mod identity;
pub mod keys;
pub mod login;

use actix_web::http::header;
use actix_web::HttpRequest;
use jsonwebtoken::jwk::AlgorithmParameters;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::config::Config;
use crate::error::ApiError;
use crate::state::AppState;

/// Asymmetric only: a token signed with a shared secret (HS*) or none at all is never taken, and
/// neither is an RSA public key abused as an HMAC secret (its family would not match).
pub const ALGORITHMS: [Algorithm; 5] =
    [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::ES256];

/// Clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;

/// What `oidc` mode needs from the configuration, checked at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub audience: String,
    pub scopes: Vec<String>,
    pub min_security_level: u8,
    pub accept_bearer: bool,
    pub organisation_claim: String,
    /// This service's address as clients see it, for the proofs' `htu`.
    pub public_base_url: String,
}

impl Settings {
    pub fn from_config(c: &Config) -> Result<Self, String> {
        let issuer = c.oidc_issuer.trim().trim_end_matches('/').to_owned();
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|p| issuer.starts_with(p));
        if issuer.is_empty() || !(issuer.starts_with("https://") || loopback) {
            return Err("SAMAVVIK_OIDC_ISSUER må være HelseID-adressen med https:// \
                        (for eksempel https://helseid-sts.test.nhn.no)"
                .into());
        }
        if c.oidc_audience.trim().is_empty() {
            return Err("SAMAVVIK_OIDC_AUDIENCE må være API-ets audience i HelseID (for eksempel nhn:samavvik)".into());
        }
        let scopes = c.oidc_scope_list();
        if scopes.is_empty() {
            return Err("SAMAVVIK_OIDC_SCOPES må nevne minst ett scope som API-et krever".into());
        }
        if !(1..=4).contains(&c.oidc_min_security_level) {
            return Err("SAMAVVIK_OIDC_MIN_SECURITY_LEVEL må være mellom 1 og 4".into());
        }
        if c.oidc_organisation_claim.trim().is_empty() {
            return Err("SAMAVVIK_OIDC_ORGANISATION_CLAIM kan ikke være tom".into());
        }
        login::WebClient::from_config(c)?;
        Ok(Settings {
            issuer,
            audience: c.oidc_audience.trim().to_owned(),
            scopes,
            min_security_level: c.oidc_min_security_level,
            accept_bearer: c.oidc_accept_bearer,
            organisation_claim: c.oidc_organisation_claim.trim().to_owned(),
            public_base_url: c.public_base_url.trim_end_matches('/').to_owned(),
        })
    }
}

/// The `WWW-Authenticate` value for a refusal with this error code (RFC 9449 §7.1).
pub fn challenge(error: &str) -> String {
    let algs: Vec<&str> = ALGORITHMS.iter().map(|a| alg_name(*a)).collect();
    format!("DPoP algs=\"{}\", error=\"{error}\"", algs.join(" "))
}

fn alg_name(a: Algorithm) -> &'static str {
    match a {
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        _ => "ES256",
    }
}

fn invalid_token(detail: &str) -> ApiError {
    ApiError::unauthorized("invalid_token", format!("Tilgangstokenet godtas ikke: {detail}"))
        .challenge(challenge("invalid_token"))
}

/// The verified claims of an access token.
#[derive(Debug)]
pub struct AccessClaims(pub Map<String, Value>);

impl AccessClaims {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    /// `scope` as HelseID writes it (one space-separated string), or as a list.
    pub fn scopes(&self) -> Vec<&str> {
        match self.0.get("scope") {
            Some(Value::String(s)) => s.split(' ').filter(|s| !s.is_empty()).collect(),
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    pub fn bound_key(&self) -> Option<&str> {
        self.0.get("cnf").and_then(|c| c.get("jkt")).and_then(Value::as_str)
    }
}

pub struct Oidc {
    pub settings: Settings,
    pub keys: keys::ProviderKeys,
    pub identities: identity::Identities,
    pub web: login::WebClient,
    /// The pages' Content-Security-Policy, which lets a login or logout form lead to the provider.
    pub page_csp: actix_web::http::header::HeaderValue,
}

impl Oidc {
    pub fn new(config: &Config, clock: Clock) -> Result<Self, String> {
        let settings = Settings::from_config(config)?;
        let keys = keys::ProviderKeys::new(&settings.issuer, clock)?;
        let web = login::WebClient::from_config(config)?;
        let page_csp = crate::headers::strict_with_provider(&settings.issuer)
            .ok_or_else(|| "SAMAVVIK_OIDC_ISSUER kan ikke stå i en HTTP-header".to_owned())?;
        Ok(Oidc { settings, keys, identities: identity::identities(), web, page_csp })
    }

    /// The claims of a token that passes every rule in the module's comment but DPoP.
    pub async fn validate(&self, token: &str) -> Result<AccessClaims, ApiError> {
        let header = decode_header(token).map_err(|_| invalid_token("det er ikke en gyldig JWT."))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid_token("algoritmen er ikke tillatt."));
        }
        let typ = header.typ.as_deref().unwrap_or("JWT").to_ascii_lowercase();
        if !["at+jwt", "application/at+jwt", "jwt"].contains(&typ.as_str()) {
            return Err(invalid_token("typ må være at+jwt eller JWT."));
        }
        let kid = header.kid.as_deref().ok_or_else(|| invalid_token("tokenet mangler kid."))?;
        let jwk = self.keys.key(kid).await?.ok_or_else(|| invalid_token("nøkkelen er ukjent for HelseID."))?;
        if !matches!(jwk.algorithm, AlgorithmParameters::RSA(_) | AlgorithmParameters::EllipticCurve(_)) {
            return Err(invalid_token("nøkkelen er ikke en offentlig nøkkel."));
        }
        if jwk.common.key_algorithm.is_some_and(|a| a.to_string() != alg_name(header.alg)) {
            return Err(invalid_token("algoritmen passer ikke til nøkkelen."));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid_token("nøkkelen kan ikke brukes."))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => invalid_token("det er utløpt."),
                K::ImmatureSignature => invalid_token("det er ikke gyldig ennå."),
                K::InvalidIssuer => invalid_token("det er utstedt av en annen (iss)."),
                K::InvalidAudience | K::MissingRequiredClaim(_) => {
                    invalid_token("det er ikke laget for samavvik (aud), eller mangler påkrevde felt.")
                }
                _ => invalid_token("signaturen eller innholdet stemmer ikke."),
            }
        })?;
        Ok(AccessClaims(data.claims))
    }
}

/// The caller of an API request in `oidc` mode.
pub async fn authenticate(state: &AppState, oidc: &Oidc, req: &HttpRequest) -> Result<crate::auth::Caller, ApiError> {
    let (scheme, token) = authorization(req)?;
    let claims = oidc.validate(&token).await?;
    match (scheme, claims.bound_key()) {
        (Scheme::DPoP, Some(jkt)) => {
            let proof =
                single_header(req, "dpop")?.ok_or_else(|| dpop::invalid("forespørselen mangler DPoP-bevis."))?;
            let url = format!("{}{}", oidc.settings.public_base_url, req.path());
            let proof = dpop::verify(&proof, req.method().as_str(), &url, &token, state.clock.now())?;
            if proof.jkt != jkt {
                return Err(dpop::invalid("beviset er laget med en annen nøkkel enn tokenet er bundet til."));
            }
            identity::remember_proof(state, proof).await?;
        }
        (Scheme::DPoP, None) => return Err(invalid_token("tokenet er ikke bundet til en DPoP-nøkkel (cnf.jkt).")),
        (Scheme::Bearer, Some(_)) => {
            return Err(invalid_token("tokenet er bundet til en nøkkel og må sendes med DPoP, ikke Bearer."));
        }
        (Scheme::Bearer, None) if !oidc.settings.accept_bearer => {
            return Err(invalid_token("tjenesten krever DPoP-bundne tokener."));
        }
        (Scheme::Bearer, None) => {}
    }
    let scopes = claims.scopes();
    if let Some(missing) = oidc.settings.scopes.iter().find(|s| !scopes.contains(&s.as_str())) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("Tilgangstokenet mangler scopet «{missing}», som samavvik krever."),
        )
        .challenge(format!(
            "{}, scope=\"{}\"",
            challenge("insufficient_scope"),
            oidc.settings.scopes.join(" ")
        )));
    }
    identity::caller(state, oidc, &claims).await
}

enum Scheme {
    DPoP,
    Bearer,
}

fn missing_token() -> ApiError {
    ApiError::unauthorized("missing_token", "Du må logge inn for å bruke denne tjenesten.")
        .challenge(challenge("invalid_request").replace(", error=\"invalid_request\"", ""))
}

fn authorization(req: &HttpRequest) -> Result<(Scheme, String), ApiError> {
    let value = single_header(req, header::AUTHORIZATION.as_str())?.ok_or_else(missing_token)?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing_token)?;
    let token = token.trim();
    if token.is_empty() {
        return Err(missing_token());
    }
    match scheme {
        s if s.eq_ignore_ascii_case("dpop") => Ok((Scheme::DPoP, token.to_owned())),
        s if s.eq_ignore_ascii_case("bearer") => Ok((Scheme::Bearer, token.to_owned())),
        _ => Err(missing_token()),
    }
}

/// A header that may appear at most once (§4.3 item 1 for `DPoP`).
fn single_header(req: &HttpRequest, name: &str) -> Result<Option<String>, ApiError> {
    let mut values = req.headers().get_all(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(invalid_token(&format!("headeren {name} kan bare sendes én gang.")));
    }
    first.map(|v| v.to_str().map(str::to_owned).map_err(|_| missing_token())).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthMode;

    /// A throwaway P-256 key for these tests only.
    const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQghpGScYWuQwwhRKxC
tHfDze7ZDuo1JkCIzlO7VELffMehRANCAATlhIVED8nifJWrqq8L4WkIBtSTp0wC
LPdNtFSCiE+Uug7mR0Ss2l2zEpJ8dfaGdmcriz7JxXXJYQt8FLEKzVb9
-----END PRIVATE KEY-----
";

    fn oidc(adjust: impl FnOnce(&mut Config)) -> Result<Settings, String> {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("client.pem");
        std::fs::write(&key, TEST_KEY).unwrap();
        let mut c = Config {
            auth_mode: AuthMode::Oidc,
            oidc_issuer: "https://helseid-sts.test.nhn.no".into(),
            oidc_audience: "nhn:samavvik".into(),
            oidc_scopes: "nhn:samavvik/api".into(),
            oidc_client_id: "samavvik-web".into(),
            oidc_client_key_file: key.display().to_string(),
            ..Config::default()
        };
        adjust(&mut c);
        c.check()?;
        Settings::from_config(&c)
    }

    #[test]
    fn bad_settings_stop_start_up_naming_the_setting() {
        assert!(oidc(|_| {}).is_ok());
        assert!(oidc(|c| c.oidc_issuer = "http://helseid-sts.test.nhn.no".into()).unwrap_err().contains("OIDC_ISSUER"));
        assert!(oidc(|c| c.oidc_issuer = String::new()).unwrap_err().contains("OIDC_ISSUER"));
        assert!(
            oidc(|c| c.oidc_issuer = "http://127.0.0.1:4000".into()).is_ok(),
            "a provider on this machine, for tests"
        );
        assert!(oidc(|c| c.oidc_audience = " ".into()).unwrap_err().contains("OIDC_AUDIENCE"));
        assert!(oidc(|c| c.oidc_scopes = ", ".into()).unwrap_err().contains("OIDC_SCOPES"));
        assert!(oidc(|c| c.oidc_min_security_level = 5).unwrap_err().contains("OIDC_MIN_SECURITY_LEVEL"));
        assert!(oidc(|c| c.oidc_organisation_claim = String::new()).unwrap_err().contains("ORGANISATION_CLAIM"));
        assert!(oidc(|c| c.oidc_client_id = String::new()).unwrap_err().contains("OIDC_CLIENT_ID"));
        assert!(oidc(|c| c.oidc_client_key_file = "/nowhere.pem".into()).unwrap_err().contains("OIDC_CLIENT_KEY_FILE"));
        assert!(oidc(|c| c.oidc_client_key_file = "/etc/hostname".into()).unwrap_err().contains("PEM"));
        let s = oidc(|c| c.oidc_scopes = "a, b c".into()).unwrap();
        assert_eq!(s.scopes, ["a", "b", "c"]);
    }

    #[test]
    fn the_web_clients_key_is_read_from_pem_or_from_a_private_jwk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k.pem"), TEST_KEY).unwrap();
        let from_pem = login::WebClient::from_config(&Config {
            oidc_client_id: "samavvik-web".into(),
            oidc_client_key_file: dir.path().join("k.pem").display().to_string(),
            ..Config::default()
        })
        .unwrap();
        // The same key as HelseID Selvbetjening would hand it out.
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "selvbetjening-1", "alg": "ES256",
            "d": "hpGScYWuQwwhRKxCtHfDze7ZDuo1JkCIzlO7VELffMc",
            "x": "5YSFRA_J4nyVq6qvC-FpCAbUk6dMAiz3TbRUgohPlLo",
            "y": "DuZHRKzaXbMSknx19oZ2ZyuLPsnFdclhC3wUsQrNVv0",
        });
        std::fs::write(dir.path().join("k.json"), jwk.to_string()).unwrap();
        let c = Config {
            oidc_client_id: "samavvik-web".into(),
            oidc_client_key_file: dir.path().join("k.json").display().to_string(),
            ..Config::default()
        };
        let from_jwk = login::WebClient::from_config(&c).unwrap();
        assert_eq!(from_jwk.public_jwk.algorithm, from_pem.public_jwk.algorithm, "the same public key");
        assert_eq!(from_jwk.public_jwk.common.key_id.as_deref(), Some("selvbetjening-1"), "HelseID's key id");
        let thumbprint = from_pem.public_jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).unwrap();
        assert_eq!(from_pem.public_jwk.common.key_id, Some(thumbprint), "a PEM key goes by its thumbprint");
        let mut broken = jwk.clone();
        broken["d"] = serde_json::json!("AAAA");
        std::fs::write(dir.path().join("k.json"), broken.to_string()).unwrap();
        assert!(login::WebClient::from_config(&c).is_err());
    }

    #[test]
    fn a_proof_carrying_a_private_key_is_refused() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let header = serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "secret"}});
        let proof = format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(header.to_string()));
        assert!(dpop::private_key_in_header(&proof));
        let header = serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}});
        assert!(!dpop::private_key_in_header(&format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(header.to_string()))));
    }
}
