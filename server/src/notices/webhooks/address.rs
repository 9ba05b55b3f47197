//! Where a webhook may post (docs/SECURITY.md, "Webhooks"): only to public addresses,
//! checked after the name is resolved and on the very addresses connected to, so a
//! user cannot make the server reach its own loopback, a private network or a cloud
//! metadata address (server-side request forgery), not even through DNS that answers
//! differently the second time. `--webhooks-allow-private` lifts the rule (a receiver
//! on the same host or network, and the tests).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Why a webhook's address was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("must be an http:// or https:// URL with a host, got `{0}`")]
    NotHttp(String),
    #[error("`{host}` resolves to {ip}, a {range} address: only public addresses may be reached (--webhooks-allow-private lifts this)")]
    Private {
        host: String,
        ip: IpAddr,
        range: &'static str,
    },
    #[error("`{0}` does not resolve: {1}")]
    Unresolved(String, String),
}

/// The range `ip` is in when it is not a public unicast address.
pub fn private_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_range(v4),
            None => v6_range(v6),
        },
    }
}

fn v4_range(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("broadcast, multicast or reserved")
    } else if ip.is_documentation()
        || (a == 198 && (18..20).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
    {
        Some("documentation, benchmarking or protocol")
    } else {
        None
    }
}

fn v6_range(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_unique_local() {
        Some("private (unique local)")
    } else if ip.is_unicast_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.segments()[0] == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some("documentation")
    } else {
        None
    }
}

/// Checks `url`'s form, and (unless `allow_private`) that every address its host
/// resolves to now is public.
pub async fn check(url: &Url, allow_private: bool) -> Result<(), Refused> {
    let host = match (url.scheme(), url.host_str()) {
        ("http" | "https", Some(host)) if !host.is_empty() => host,
        _ => return Err(Refused::NotHttp(url.to_string())),
    };
    if allow_private {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    for addr in resolve(host, port).await? {
        refuse_private(host, addr.ip())?;
    }
    Ok(())
}

fn refuse_private(host: &str, ip: IpAddr) -> Result<(), Refused> {
    match private_range(ip) {
        Some(range) => Err(Refused::Private {
            host: host.to_owned(),
            ip,
            range,
        }),
        None => Ok(()),
    }
}

/// How long a name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, Refused> {
    // An IP literal in brackets (`[::1]`) resolves as the bare address.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let unresolved = |why: String| Refused::Unresolved(host.to_owned(), why);
    match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((bare, port))).await {
        Ok(Ok(addrs)) => Ok(addrs.collect()),
        Ok(Err(e)) => Err(unresolved(e.to_string())),
        Err(_) => Err(unresolved(format!("no answer within {RESOLVE_TIMEOUT:?}"))),
    }
}

/// The resolver webhook requests connect through: a name whose addresses are not all
/// public is refused, so the address checked is the address reached.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve(&host, 0).await?;
            for addr in &addrs {
                refuse_private(&host, addr.ip())?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_not_public() {
        for (ip, range) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("0.0.0.0", "unspecified"),
            ("::1", "loopback"),
            ("fd00::1", "private (unique local)"),
            ("fe80::1", "link-local"),
            ("::ffff:127.0.0.1", "loopback"),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(private_range(ip), Some(range), "{ip}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert_eq!(private_range(public.parse().unwrap()), None, "{public}");
        }
    }

    #[tokio::test]
    async fn a_name_is_refused_for_what_it_resolves_to() {
        let url = Url::parse("http://localhost:9/hook").unwrap();
        let refused = check(&url, false).await.unwrap_err();
        assert!(
            matches!(&refused, Refused::Private { host, range: "loopback", .. } if host == "localhost"),
            "{refused}"
        );
        assert!(check(&url, true).await.is_ok());
        let ftp = Url::parse("ftp://example.com/x").unwrap();
        assert!(matches!(check(&ftp, true).await, Err(Refused::NotHttp(_))));
    }
}
