//! Logging in with e-mail and password, for the API and the pages alike, and the two limits on
//! guessing: per client address (at the route) and per account (here).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_governor::{GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError};
use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderMap;
use actix_web::web;

use crate::db::{self, users::UserRow};
use crate::directory::users;
use crate::error::ApiError;
use crate::state::AppState;

/// How long failed logins count against an account.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failed logins per account, forgotten `FAILURE_WINDOW` after the last one. Each instance counts
/// its own, so behind N instances an attacker gets at most N times the limit.
pub type Failures = moka::sync::Cache<String, u32>;

pub fn failures() -> Failures {
    moka::sync::Cache::builder().max_capacity(100_000).time_to_live(FAILURE_WINDOW).build()
}

/// The active user with this e-mail and password. One answer for every kind of failure, so the
/// endpoint does not tell which addresses exist; after too many failures for one address, that
/// account is closed to password guessing for a while, whoever guesses and from where.
pub async fn authenticate(state: &AppState, email: &str, password: String) -> Result<UserRow, ApiError> {
    let account = email.trim().to_lowercase();
    let limit = state.config.login_failures_per_account;
    if state.login_failures.get(&account).is_some_and(|n| n >= limit) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_failed_logins",
            "For mange mislykkede innlogginger for denne kontoen. Vent et kvarter og prøv igjen.",
        )
        .retry_after(FAILURE_WINDOW.as_secs() as u32));
    }
    let lookup = account.clone();
    let user = db::run(&state.pool, move |c| Ok(db::users::find_by_email(c, &lookup)?)).await?;
    // Argon2 is deliberately expensive: verify on the blocking pool, without holding a connection.
    let verified = web::block(move || users::authenticate(user, &password)).await.map_err(ApiError::internal)?;
    match &verified {
        Ok(_) => state.login_failures.invalidate(&account),
        Err(_) => {
            state.login_failures.entry(account).and_upsert_with(|n| n.map_or(1, |n| n.into_value().saturating_add(1)));
        }
    }
    verified
}

pub type LoginLimit = GovernorConfig<ClientIp, actix_governor::governor::middleware::NoOpMiddleware>;

/// Login attempts per client address: a burst of `per_minute`, refilled over a minute.
pub fn login_limiter(per_minute: u32, trusted_proxies: &[IpAddr]) -> anyhow::Result<LoginLimit> {
    let per_minute = per_minute.clamp(1, 60_000);
    GovernorConfigBuilder::default()
        .period(Duration::from_millis(60_000 / u64::from(per_minute)))
        .burst_size(per_minute)
        .key_extractor(ClientIp { trusted: Arc::new(trusted_proxies.to_vec()) })
        .finish()
        .ok_or_else(|| anyhow::anyhow!("SAMAVVIK_LOGIN_ATTEMPTS_PER_MINUTE gir ingen gyldig grense"))
}

/// The client's address: the peer, or — when the peer is one of our trusted reverse proxies — the
/// nearest address in `X-Forwarded-For` that is not itself a trusted proxy. Without trusted
/// proxies the header is ignored, since any client can write it.
#[derive(Clone)]
pub struct ClientIp {
    trusted: Arc<Vec<IpAddr>>,
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<IpAddr, Self::KeyExtractionError> {
        let peer = req.peer_addr().map(|a| a.ip()).ok_or_else(|| SimpleKeyExtractionError::new("no peer address"))?;
        Ok(client_ip(peer, req.headers(), &self.trusted))
    }
}

pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|a| a.trim().parse().ok())
        .collect();
    forwarded.into_iter().rev().find(|a| !trusted.contains(a)).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HeaderName::from_static("x-forwarded-for"), HeaderValue::from_str(xff).unwrap());
        h
    }

    #[test]
    fn the_forwarded_address_counts_only_behind_a_trusted_proxy() {
        let (proxy, client, spoofed): (IpAddr, IpAddr, IpAddr) =
            ("10.0.0.2".parse().unwrap(), "192.0.2.7".parse().unwrap(), "198.51.100.1".parse().unwrap());
        let h = headers("198.51.100.1, 192.0.2.7");
        assert_eq!(client_ip(client, &h, &[]), client, "no trusted proxy: the header is ignored");
        assert_eq!(client_ip(client, &h, &[proxy]), client, "a direct client cannot claim another address");
        assert_eq!(client_ip(proxy, &h, &[proxy]), client, "the address our proxy saw, not what the client wrote");
        assert_ne!(client_ip(proxy, &h, &[proxy]), spoofed);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }
}
