//! Where samavvik may send a webhook (SSRF): in production only `https` to public addresses, so an
//! endpoint cannot make samavvik call into the hospital's own network, the cloud's metadata service
//! or itself. Checked when an endpoint is registered (its URL) and again at every delivery (the
//! addresses its name resolves to then, so a name that later points inward is refused too).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// What may be called besides public `https`: loopback over plain `http`, for tests and a local
/// receiver (`SAMAVVIK_WEBHOOK_ALLOW_LOOPBACK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allow {
    pub loopback: bool,
}

/// Whether `url` has the plain form the contract states (`WebhookUrl` in openapi.yaml): `https://`,
/// a host name (not an address), an optional port, and a path and query without spaces or fragment;
/// or `http://` to 127.0.0.1 or localhost. What a URL parser would quietly repair is refused here.
fn plain(url: &str) -> bool {
    let (rest, loopback_only) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (rest, false),
        (None, Some(rest)) => (rest, true),
        _ => return false,
    };
    let end = rest.find(['/', ':']).unwrap_or(rest.len());
    let (host, rest) = rest.split_at(end);
    let labels: Vec<&str> = host.split('.').collect();
    let host_ok = match loopback_only {
        true => host == "127.0.0.1" || host == "localhost",
        false => {
            // A name, not an address: the last label starts with a letter, as every top-level
            // domain does (a URL parser reads `a.1` as an IPv4 address, or refuses it).
            labels.len() >= 2
                && labels.iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                && labels.last().is_some_and(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
        }
    };
    let path = match rest.strip_prefix(':') {
        Some(port_and_path) => {
            let end = port_and_path.find('/').unwrap_or(port_and_path.len());
            let (port, path) = port_and_path.split_at(end);
            let port_ok = !port.starts_with('0')
                && port.chars().all(|c| c.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p > 0);
            if !port_ok {
                return false;
            }
            path
        }
        None => rest,
    };
    host_ok
        && (path.is_empty() || path.starts_with('/'))
        && !path.chars().any(|c| c.is_whitespace() || c.is_control() || c == '#')
}

/// Why a URL or an address is refused, in words for the admin who typed it.
pub fn check_url(url: &str, allow: Allow) -> Result<Url, &'static str> {
    if !url.starts_with("https://") && !url.starts_with("http://") {
        return Err("Adressen må begynne med https://.");
    }
    if url.contains('@') && url.split('/').nth(2).is_some_and(|authority| authority.contains('@')) {
        return Err(
            "Adressen kan ikke inneholde brukernavn eller passord; mottakeren kjenner igjen samavvik på signaturen.",
        );
    }
    if url.contains('#') {
        return Err("Adressen kan ikke ha et #-fragment.");
    }
    if !plain(url) {
        // The most likely mistakes get their own words before the general rule.
        if let Ok(parsed) = Url::parse(url) {
            let loopback = parsed.host_str().is_some_and(|h| h == "localhost" || h == "127.0.0.1" || h == "[::1]");
            if parsed.scheme() == "http" && !loopback {
                return Err("Adressen må begynne med https://, så hendelsene går kryptert.");
            }
            if parsed.host_str().is_some_and(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().is_ok()) {
                return Err("Bruk mottakerens vertsnavn (for eksempel eqs.stolav.no), ikke en IP-adresse.");
            }
        }
        return Err("Adressen må være på formen https://vert.domene/sti (for eksempel https://eqs.stolav.no/samavvik), uten mellomrom.");
    }
    let parsed = Url::parse(url.trim())
        .map_err(|_| "Adressen er ikke en gyldig URL (for eksempel https://eqs.stolav.no/samavvik).")?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "Adressen kan ikke inneholde brukernavn eller passord; mottakeren kjenner igjen samavvik på signaturen.",
        );
    }
    if parsed.fragment().is_some() {
        return Err("Adressen kan ikke ha et #-fragment.");
    }
    let host = parsed.host_str().ok_or("Adressen mangler vertsnavn.")?;
    let ip = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
    let loopback = ip.is_some_and(|ip| ip.is_loopback()) || host.eq_ignore_ascii_case("localhost");
    match parsed.scheme() {
        "https" => {}
        "http" if allow.loopback && loopback => {}
        "http" => return Err("Adressen må begynne med https://, så hendelsene går kryptert."),
        _ => return Err("Adressen må begynne med https://."),
    }
    if loopback && !allow.loopback {
        return Err("Adressen peker til maskinen samavvik kjører på; bruk mottakerens offentlige adresse.");
    }
    if let Some(ip) = ip {
        if !ip.is_loopback() && !public(ip) {
            return Err("Adressen peker inn i et privat eller reservert nett; bruk mottakerens offentlige adresse.");
        }
    }
    Ok(parsed)
}

/// Whether an address is on the public internet: not private, loopback, link-local (where cloud
/// metadata lives), shared (CGNAT), multicast, documentation or otherwise reserved.
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64, which reaches IPv4 space
}

/// Resolves as the system does, then keeps only the addresses a delivery may go to. Names that
/// resolve to nothing allowed fail the attempt (and it is retried like any other failure).
pub struct Resolver {
    pub allow: Allow,
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                found.into_iter().filter(|a| public(a.ip()) || (allow.loopback && a.ip().is_loopback())).collect();
            if allowed.is_empty() {
                return Err(format!("{host} peker ikke til en offentlig adresse").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTION: Allow = Allow { loopback: false };
    const TESTS: Allow = Allow { loopback: true };

    #[test]
    fn production_takes_public_https_only() {
        assert!(check_url("https://eqs.stolav.no/hook", PRODUCTION).is_ok());
        assert!(check_url("https://eqs.stolav.no:8443/samavvik?kilde=samavvik", PRODUCTION).is_ok());
        for refused in [
            "http://eqs.stolav.no/hook",
            "ftp://eqs.stolav.no/",
            "https://user:pw@eqs.stolav.no/",
            "https://127.0.0.1/hook",
            "https://localhost/hook",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.10/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://0x7f.1/",
            "https://93.184.216.34/hook",
            "https://eqs.stolav.1/",
            "HTTPS://eqs.stolav.no/",
            "https://eqs.stolav.no/a b",
            "https://eqs.stolav.no:0/",
            "https://eqs.stolav.no:123456/",
            "https://eqs.stolav.no:65536/",
            "https://nodots/",
            "https://eqs.stolav.no/#x",
            "not a url",
        ] {
            assert!(check_url(refused, PRODUCTION).is_err(), "{refused} should be refused");
        }
    }

    /// A name that resolves inward is refused at delivery, whatever it looked like when registered.
    #[actix_web::test]
    async fn the_resolver_gives_no_address_the_rules_forbid() {
        let name = |n: &str| n.parse::<Name>().unwrap();
        assert!(Resolver { allow: PRODUCTION }.resolve(name("localhost")).await.is_err());
        let allowed: Vec<SocketAddr> = Resolver { allow: TESTS }.resolve(name("localhost")).await.unwrap().collect();
        assert!(!allowed.is_empty() && allowed.iter().all(|a| a.ip().is_loopback()), "{allowed:?}");
    }

    #[test]
    fn the_likely_mistakes_are_named() {
        assert!(check_url("http://eqs.stolav.no/x", PRODUCTION).unwrap_err().contains("https://"));
        assert!(check_url("https://10.0.0.1/x", PRODUCTION).unwrap_err().contains("IP-adresse"));
        assert!(check_url("https://[fd00::1]/x", PRODUCTION).unwrap_err().contains("IP-adresse"));
    }

    #[test]
    fn tests_may_use_plain_http_to_loopback_but_still_not_private_networks() {
        assert!(check_url("http://127.0.0.1:8099/hook", TESTS).is_ok());
        assert!(check_url("http://localhost:8099/hook", TESTS).is_ok());
        assert!(check_url("http://10.0.0.1/hook", TESTS).is_err());
        assert!(check_url("https://192.168.0.1/hook", TESTS).is_err());
        assert!(check_url("http://eqs.stolav.no/hook", TESTS).is_err());
    }
}
