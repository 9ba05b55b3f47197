//! Which web pages may drive this server (docs/SPEC.md section 12, "Origins"). A browser sends
//! `Origin` with every WebSocket upgrade and every state-changing request; unless it is
//! one of the server's own origins or in `--allowed-origins`, the request is refused with
//! 403 before a handler runs, so a page the user happens to visit cannot open a socket
//! to the local server or start, pause or cancel anything. Requests without `Origin`
//! (curl, the CLI, producers) are judged by their credentials alone.
//!
//! DNS rebinding (an attacker's name resolving to 127.0.0.1) is stopped by `Host`,
//! whatever address the server is bound to: a request naming a host name that is none
//! of the server's own is refused (403), and one naming no host at all is malformed
//! (400). The server's names are `localhost`, `--public-url`'s host and
//! `--allowed-hosts`; an IP literal is always accepted, since rebinding needs a name.
//! Own origins come from the bound address, those names, and the request's own
//! (checked) `Host` — a page is same-origin with the server it was served by.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// The origins and host names this server answers to.
#[derive(Clone, Debug)]
pub struct Origins {
    /// `scheme://host[:port]`, lowercase, default ports left out (as browsers send them).
    allowed: Arc<HashSet<String>>,
    /// Host names (without port) a request's `Host` may name, besides IP literals.
    hosts: Arc<HashSet<String>>,
}

/// An origin flag that is not `scheme://host[:port]`.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an origin: expected scheme://host[:port], e.g. https://trading.example.com")]
pub struct BadOrigin(String);

impl Origins {
    /// The server bound at `addr`, reachable at `public_url` and by the names in
    /// `allowed_hosts` too, letting pages of `extra` drive it.
    pub fn new(
        addr: SocketAddr,
        public_url: Option<&str>,
        allowed_hosts: &[String],
        extra: &[String],
    ) -> Result<Self, BadOrigin> {
        let mut allowed = HashSet::new();
        let mut hosts = HashSet::new();
        let ip = addr.ip();
        let mut own_hosts = vec![host_of_ip(ip), "localhost".to_owned()];
        if ip.is_loopback() || ip.is_unspecified() {
            own_hosts.extend(["127.0.0.1".to_owned(), "[::1]".to_owned()]);
        }
        own_hosts.extend(allowed_hosts.iter().map(|h| h.trim().to_ascii_lowercase()));
        for host in own_hosts {
            allowed.insert(normalise(&format!("http://{host}:{}", addr.port()))?);
            hosts.insert(host);
        }
        if let Some(url) = public_url {
            let origin = normalise(url)?;
            hosts.insert(host_name(&origin));
            allowed.insert(origin);
        }
        for origin in extra {
            allowed.insert(normalise(origin)?);
        }
        Ok(Origins {
            allowed: Arc::new(allowed),
            hosts: Arc::new(hosts),
        })
    }

    /// Why `headers` of a `method` request may not proceed, if they may not.
    fn refusal(&self, method: &Method, headers: &HeaderMap) -> Option<ApiError> {
        let Some(host) = headers.get(header::HOST) else {
            return Some(ApiError::bad_request(
                "the request names no `Host`: HTTP/1.1 requires one",
            ));
        };
        let host = host.to_str().unwrap_or("").to_ascii_lowercase();
        let name = host_name(&host);
        if !(is_ip_literal(&name) || self.hosts.contains(&name)) {
            return Some(ApiError::forbidden(format!(
                "host `{host}` is not this server's (name it with --public-url or --allowed-hosts)"
            )));
        }
        // Reading is judged by credentials alone; a socket upgrade or a state-changing
        // method drives the server.
        let drives = method != Method::GET && method != Method::HEAD && method != Method::OPTIONS
            || headers.contains_key(header::UPGRADE);
        if !drives {
            return None;
        }
        let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("");
        let same_origin = normalise(&format!("http://{host}")).ok();
        match normalise(origin) {
            Ok(o) if self.allowed.contains(&o) || Some(&o) == same_origin.as_ref() => None,
            _ => Some(ApiError::forbidden(format!(
                "origin `{origin}` may not use this server (see --allowed-origins)"
            ))),
        }
    }
}

/// The guard, as axum middleware.
pub async fn guard(State(origins): State<Origins>, request: Request, next: Next) -> Response {
    match origins.refusal(request.method(), request.headers()) {
        None => next.run(request).await,
        Some(refused) => refused.into_response(),
    }
}

/// `127.0.0.1` or `[::1]`: an address, not a name (nothing to rebind).
fn is_ip_literal(host: &str) -> bool {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => host.parse::<std::net::Ipv4Addr>().is_ok(),
    }
}

fn host_of_ip(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `host` of `scheme://host:port` or of `host:port` (IPv6 in brackets kept whole).
fn host_name(authority: &str) -> String {
    let rest = authority.split_once("://").map_or(authority, |(_, r)| r);
    match rest.strip_prefix('[') {
        Some(v6) => format!("[{}]", v6.split(']').next().unwrap_or("")),
        None => rest.split(':').next().unwrap_or("").to_owned(),
    }
}

/// `Https://Example.com:443/` → `https://example.com`: what a browser would send.
fn normalise(origin: &str) -> Result<String, BadOrigin> {
    let bad = || BadOrigin(origin.to_owned());
    let lower = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, authority) = lower.split_once("://").ok_or_else(bad)?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return Err(bad()),
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad());
    }
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    Ok(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(name.clone(), value.parse().unwrap());
        }
        h
    }

    #[test]
    fn own_and_listed_origins_drive_the_server_others_do_not() {
        let o = Origins::new(
            "127.0.0.1:3000".parse().unwrap(),
            None,
            &[],
            &["https://desk.example.com".into()],
        )
        .unwrap();
        let post = |origin: &str| {
            o.refusal(
                &Method::POST,
                &headers(&[(header::HOST, "127.0.0.1:3000"), (header::ORIGIN, origin)]),
            )
        };
        assert!(post("http://127.0.0.1:3000").is_none());
        assert!(post("http://localhost:3000").is_none());
        assert!(post("https://DESK.example.com:443").is_none());
        assert!(
            post("http://127.0.0.1:8080").is_some(),
            "another local port"
        );
        assert!(post("https://evil.example").is_some());
        assert!(post("null").is_some());
        // Reading is not driving: a cross-site GET is judged by its credentials alone.
        let get = headers(&[
            (header::HOST, "127.0.0.1:3000"),
            (header::ORIGIN, "https://evil.example"),
        ]);
        assert!(o.refusal(&Method::GET, &get).is_none());
        // …but a cross-site socket upgrade is refused.
        let upgrade = headers(&[
            (header::HOST, "127.0.0.1:3000"),
            (header::ORIGIN, "https://evil.example"),
            (header::UPGRADE, "websocket"),
        ]);
        assert!(o.refusal(&Method::GET, &upgrade).is_some());
    }

    #[test]
    fn a_rebound_host_name_is_refused_and_the_public_url_is_accepted() {
        let o = Origins::new(
            "127.0.0.1:3000".parse().unwrap(),
            Some("https://t.example.com/"),
            &[],
            &[],
        )
        .unwrap();
        let get = |host: &str| o.refusal(&Method::GET, &headers(&[(header::HOST, host)]));
        assert!(get("localhost:3000").is_none());
        assert!(get("127.0.0.1:9999").is_none(), "a local proxy's port");
        assert!(get("t.example.com").is_none());
        assert!(get("evil.example:3000").is_some());
    }

    #[test]
    fn bound_to_every_interface_names_are_checked_and_addresses_accepted() {
        let anywhere = |allowed_hosts: &[String]| {
            Origins::new("0.0.0.0:3000".parse().unwrap(), None, allowed_hosts, &[]).unwrap()
        };
        let o = anywhere(&[]);
        let status = |o: &Origins, host: Option<&str>| {
            let h = host.map_or_else(HeaderMap::new, |host| headers(&[(header::HOST, host)]));
            o.refusal(&Method::GET, &h).map(|e| e.status.as_u16())
        };
        assert_eq!(status(&o, Some("192.168.1.5:3000")), None);
        assert_eq!(status(&o, Some("[2001:db8::5]:3000")), None);
        assert_eq!(status(&o, Some("localhost:3000")), None);
        assert_eq!(status(&o, Some("evil.example:3000")), Some(403));
        assert_eq!(status(&o, Some("desk.example.com")), Some(403));
        assert_eq!(status(&o, None), Some(400), "no Host at all");
        let named = anywhere(&["Desk.example.com".into()]);
        assert_eq!(status(&named, Some("desk.example.com:3000")), None);
        assert_eq!(status(&named, Some("evil.example")), Some(403));
        // A page served by a LAN address drives the server it came from.
        let lan_post = headers(&[
            (header::HOST, "192.168.1.5:3000"),
            (header::ORIGIN, "http://192.168.1.5:3000"),
        ]);
        assert!(o.refusal(&Method::POST, &lan_post).is_none());
        let cross = headers(&[
            (header::HOST, "192.168.1.5:3000"),
            (header::ORIGIN, "http://192.168.1.6:3000"),
        ]);
        assert!(o.refusal(&Method::POST, &cross).is_some());
    }

    #[test]
    fn origins_must_be_scheme_host_and_port() {
        assert!(normalise("desk.example.com").is_err());
        assert!(normalise("ftp://x").is_err());
        assert!(normalise("https://x/path").is_err());
        assert_eq!(normalise("http://X:80/").unwrap(), "http://x");
    }
}
