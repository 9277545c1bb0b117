//! The provider's signing keys: discovery (`/.well-known/openid-configuration`, kept a day) and the
//! JWKS it names. Keys stay cached while the provider is down; a token naming a key we do not know
//! fetches the set again, at most once a minute, so a key rotation needs no restart and a flood of
//! made-up key ids cannot make us hammer the provider.

use std::sync::RwLock;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::Deserialize;

use crate::clock::Clock;
use crate::error::ApiError;

const DISCOVERY_TTL: Duration = Duration::hours(24);
const REFETCH_INTERVAL: Duration = Duration::seconds(60);

#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

#[derive(Default)]
struct Cached {
    discovery: Option<(Discovery, DateTime<Utc>)>,
    keys: JwkSet,
    last_fetch: Option<DateTime<Utc>>,
}

pub struct ProviderKeys {
    issuer: String,
    http: reqwest::Client,
    clock: Clock,
    cached: RwLock<Cached>,
    /// One fetch at a time: requests that miss together wait for the same answer.
    fetching: tokio::sync::Mutex<()>,
}

fn unavailable(cause: impl Into<anyhow::Error>) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "identity_provider_unavailable",
        "Innloggingstjenesten (HelseID) svarer ikke akkurat nå. Prøv igjen om litt.",
    )
    .with_cause(cause)
    .retry_after(30)
}

impl ProviderKeys {
    pub fn new(issuer: &str, clock: Clock) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP-klient for SAMAVVIK_OIDC_ISSUER: {e}"))?;
        Ok(ProviderKeys {
            issuer: issuer.trim_end_matches('/').to_owned(),
            http,
            clock,
            cached: RwLock::new(Cached::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn cached_key(&self, kid: &str) -> Option<Jwk> {
        self.cached.read().ok()?.keys.find(kid).cloned()
    }

    /// The key with this id, from the cache or — if it is new to us and we have not asked for a
    /// minute — from the provider. `Ok(None)` when the provider does not know it either.
    pub async fn key(&self, kid: &str) -> Result<Option<Jwk>, ApiError> {
        if let Some(key) = self.cached_key(kid) {
            return Ok(Some(key));
        }
        let _one = self.fetching.lock().await;
        if let Some(key) = self.cached_key(kid) {
            return Ok(Some(key));
        }
        let now = self.clock.now();
        let recent = self.cached.read().ok().and_then(|c| c.last_fetch).is_some_and(|t| now - t < REFETCH_INTERVAL);
        if recent {
            return Ok(None);
        }
        self.refresh(now).await?;
        Ok(self.cached_key(kid))
    }

    /// The provider's metadata, fetched when missing or a day old.
    pub async fn discovery(&self) -> Result<Discovery, ApiError> {
        let now = self.clock.now();
        if let Some((d, at)) = self.cached.read().ok().and_then(|c| c.discovery.clone()) {
            if now - at < DISCOVERY_TTL {
                return Ok(d);
            }
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let d: Discovery = self.get_json(&url).await?;
        // OpenID Connect Discovery §4.3: the document must name the issuer we asked.
        if d.issuer != self.issuer {
            return Err(ApiError::internal(anyhow::anyhow!(
                "the provider at {} calls itself {}, not SAMAVVIK_OIDC_ISSUER",
                url,
                d.issuer
            )));
        }
        if let Ok(mut c) = self.cached.write() {
            c.discovery = Some((d.clone(), now));
        }
        Ok(d)
    }

    async fn refresh(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        // Counted as a fetch even when it fails, so a provider that is down is asked once a minute.
        if let Ok(mut c) = self.cached.write() {
            c.last_fetch = Some(now);
        }
        let discovery = self.discovery().await?;
        let keys: JwkSet = self.get_json(&discovery.jwks_uri).await?;
        if let Ok(mut c) = self.cached.write() {
            c.keys = keys;
        }
        Ok(())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, ApiError> {
        let response = self.http.get(url).send().await.map_err(unavailable)?;
        if !response.status().is_success() {
            return Err(unavailable(anyhow::anyhow!("{url}: HTTP {}", response.status())));
        }
        response.json().await.map_err(unavailable)
    }
}
