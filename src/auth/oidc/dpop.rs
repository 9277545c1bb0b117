//! DPoP proofs (RFC 9449 §4.3): the caller shows, on every request, that it holds the private key
//! the access token is bound to. Written by hand — no maintained crate verifies RSA proofs, which
//! HelseID's clients use — on top of `jsonwebtoken`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, ThumbprintHash};
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{challenge, ALGORITHMS};
use crate::error::ApiError;

/// How far a proof's `iat` may be from our clock, either way. A proof is made for one request, so
/// this is clock skew plus the time the request takes to arrive.
pub const IAT_WINDOW: Duration = Duration::seconds(60);

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    ath: Option<String>,
}

/// A proof that passed every check but the replay check, which needs the database.
#[derive(Debug)]
pub struct Proof {
    /// The proof key's JWK SHA-256 thumbprint (RFC 7638), to compare with the token's `cnf.jkt`.
    pub jkt: String,
    /// What the replay cache keeps: a hash of key and `jti`, so no proof content is stored.
    pub replay_key: String,
    pub expires_at: DateTime<Utc>,
}

pub fn invalid(detail: &str) -> ApiError {
    ApiError::unauthorized("invalid_dpop_proof", format!("DPoP-beviset godtas ikke: {detail}"))
        .challenge(challenge("invalid_dpop_proof"))
}

/// The base64url SHA-256 of the access token: what a proof's `ath` must be.
pub fn token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// Checks a proof for a request to `method` `url` (without query or fragment) carrying
/// `access_token`, at `now`.
pub fn verify(proof: &str, method: &str, url: &str, access_token: &str, now: DateTime<Utc>) -> Result<Proof, ApiError> {
    let header = decode_header(proof).map_err(|_| invalid("beviset er ikke en gyldig JWT."))?;
    if header.typ.as_deref() != Some("dpop+jwt") {
        return Err(invalid("typ må være dpop+jwt."));
    }
    if !ALGORITHMS.contains(&header.alg) {
        return Err(invalid("algoritmen er ikke tillatt."));
    }
    let jwk = header.jwk.ok_or_else(|| invalid("beviset mangler nøkkel (jwk)."))?;
    if !matches!(jwk.algorithm, AlgorithmParameters::RSA(_) | AlgorithmParameters::EllipticCurve(_)) {
        return Err(invalid("nøkkelen må være en offentlig RSA- eller EC-nøkkel."));
    }
    // §4.3 item 6: the header must not carry a private key. `Jwk` drops unknown members, so look
    // at the header as sent.
    if private_key_in_header(proof) {
        return Err(invalid("beviset inneholder en privat nøkkel."));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid("nøkkelen kan ikke leses."))?;
    let mut validation = Validation::new(header.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = decode::<ProofClaims>(proof, &key, &validation)
        .map_err(|_| invalid("signaturen eller innholdet stemmer ikke."))?
        .claims;
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(invalid("jti mangler eller er for lang."));
    }
    if !claims.htm.eq(method) {
        return Err(invalid("beviset er laget for en annen metode (htm)."));
    }
    if without_query(&claims.htu) != url {
        return Err(invalid("beviset er laget for en annen adresse (htu)."));
    }
    let iat = DateTime::<Utc>::from_timestamp(claims.iat, 0).ok_or_else(|| invalid("iat er ugyldig."))?;
    if (now - iat).abs() > IAT_WINDOW {
        return Err(invalid("beviset er for gammelt eller fra fremtiden (iat)."));
    }
    if claims.ath.as_deref() != Some(token_hash(access_token).as_str()) {
        return Err(invalid("beviset hører ikke til dette tilgangstokenet (ath)."));
    }
    let jkt = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|_| invalid("nøkkelen kan ikke leses."))?;
    let replay_key = hex::encode(Sha256::digest(format!("{jkt}\n{}", claims.jti)));
    Ok(Proof { jkt, replay_key, expires_at: iat + IAT_WINDOW + IAT_WINDOW })
}

pub(super) fn private_key_in_header(proof: &str) -> bool {
    let Some(raw) = proof.split('.').next().and_then(|h| URL_SAFE_NO_PAD.decode(h).ok()) else {
        return true;
    };
    let Ok(header) = serde_json::from_slice::<serde_json::Value>(&raw) else {
        return true;
    };
    ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|m| header.get("jwk").and_then(|k| k.get(m)).is_some())
}

/// The request's address as a proof names it: without query and fragment (§4.3 item 9).
pub fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}
