//! The two limits on password guessing: per client address (a governor on the login routes) and
//! per account (counted by `login::authenticate`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_governor::{GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError};
use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderMap;

/// How long failed logins count against an account.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failed logins per account, forgotten `FAILURE_WINDOW` after the last one. Each instance counts
/// its own, so behind N instances an attacker gets at most N times the limit.
pub type Failures = moka::sync::Cache<String, u32>;

pub fn failures() -> Failures {
    moka::sync::Cache::builder().max_capacity(100_000).time_to_live(FAILURE_WINDOW).build()
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
