//! Bearer tokens. `local` mode signs its own HS256 tokens; the `TokenVerifier` trait is the seam
//! where an OpenID Connect verifier (JWKS, e.g. HelseID) plugs in without touching handlers.

use chrono::Utc;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::ApiError;
use crate::ids::UserId;

/// Leeway for clock skew between issuer and us.
const LEEWAY_SECONDS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The user's session epoch when the token was issued (see `users.session_epoch`).
    #[serde(default)]
    pub sep: i32,
}

/// What a verified token says about its bearer: the local user id.
#[derive(Debug, Clone)]
pub struct Verified {
    pub user_id: UserId,
    /// The session epoch the token was issued in, for tokens this service issued itself.
    pub session_epoch: Option<i32>,
}

pub trait TokenVerifier: Send + Sync {
    fn verify(&self, token: &str) -> Result<Verified, ApiError>;
}

pub struct LocalTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub ttl_seconds: i64,
}

impl LocalTokens {
    pub fn new(config: &Config) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        LocalTokens {
            encoding: EncodingKey::from_secret(config.jwt_secret.as_bytes()),
            decoding: DecodingKey::from_secret(config.jwt_secret.as_bytes()),
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl_seconds: config.token_ttl_minutes * 60,
        }
    }

    pub fn issue(&self, user_id: &UserId, session_epoch: i32) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + self.ttl_seconds,
            jti: uuid::Uuid::new_v4().to_string(),
            sep: session_epoch,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(ApiError::internal)
    }
}

impl TokenVerifier for LocalTokens {
    fn verify(&self, token: &str) -> Result<Verified, ApiError> {
        let invalid = |cause: jsonwebtoken::errors::Error| {
            use jsonwebtoken::errors::ErrorKind;
            let expired = matches!(cause.kind(), ErrorKind::ExpiredSignature);
            let e = if expired {
                ApiError::unauthorized("token_expired", "Innloggingen er utløpt. Logg inn på nytt.")
            } else {
                ApiError::unauthorized("invalid_token", "Innloggingen er ugyldig. Logg inn på nytt.")
            };
            e.with_cause(cause)
        };
        let header = decode_header(token).map_err(invalid)?;
        if header.typ.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("JWT")) {
            return Err(ApiError::unauthorized("invalid_token", "Innloggingen er ugyldig. Logg inn på nytt."));
        }
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(invalid)?;
        Ok(Verified { user_id: UserId::from(data.claims.sub), session_epoch: Some(data.claims.sep) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> LocalTokens {
        LocalTokens::new(&Config::default())
    }

    #[test]
    fn round_trips() {
        let t = tokens();
        let token = t.issue(&UserId::from("user-1"), 0).unwrap();
        assert_eq!(t.verify(&token).unwrap().user_id.as_str(), "user-1");
    }

    #[test]
    fn refuses_other_audience_and_issuer() {
        let other = LocalTokens::new(&Config { jwt_audience: "other".into(), ..Config::default() });
        let token = other.issue(&UserId::from("user-1"), 0).unwrap();
        assert_eq!(tokens().verify(&token).unwrap_err().code, "invalid_token");
        let other = LocalTokens::new(&Config { jwt_issuer: "evil".into(), ..Config::default() });
        assert!(tokens().verify(&other.issue(&UserId::from("u"), 0).unwrap()).is_err());
    }

    #[test]
    fn refuses_expired_beyond_leeway() {
        let t = tokens();
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: "u".into(),
            iss: "samavvik".into(),
            aud: "samavvik-api".into(),
            iat: now - 120,
            nbf: now - 120,
            exp: now - 10,
            jti: "j".into(),
            sep: 0,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &t.encoding).unwrap();
        assert_eq!(t.verify(&token).unwrap_err().code, "token_expired");
    }
}
