//! Which web pages may drive this server (docs/SPEC.md section 12, "Origins"). A browser sends
//! `Origin` with every WebSocket upgrade and every state-changing request; unless it is
//! one of the server's own origins or in `--allowed-origins`, the request is refused with
//! 403 before a handler runs, so a page the user happens to visit cannot open a socket
//! to the local server or start, pause or cancel anything. Requests without `Origin`
//! (curl, the CLI, producers) are judged by their credentials alone.
//!
//! DNS rebinding (an attacker's name resolving to 127.0.0.1) is stopped by `Host`: a
//! request naming a host that is none of the server's own is refused. Own origins come
//! from the bound address (`localhost` too when it is a loopback one) and `--public-url`,
//! never from the request.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// The origins and host names this server answers to.
#[derive(Clone, Debug)]
pub struct Origins {
    /// `scheme://host[:port]`, lowercase, default ports left out (as browsers send them).
    allowed: Arc<HashSet<String>>,
    /// Host names (without port) a request's `Host` may name; `None` = any.
    hosts: Option<Arc<HashSet<String>>>,
}

/// An origin flag that is not `scheme://host[:port]`.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an origin: expected scheme://host[:port], e.g. https://trading.example.com")]
pub struct BadOrigin(String);

impl Origins {
    /// The server bound at `addr`, reachable at `public_url` too, letting pages of
    /// `extra` drive it.
    pub fn new(
        addr: SocketAddr,
        public_url: Option<&str>,
        extra: &[String],
    ) -> Result<Self, BadOrigin> {
        let mut allowed = HashSet::new();
        let mut hosts = HashSet::new();
        let ip = addr.ip();
        let mut own_hosts = vec![host_of_ip(ip)];
        if ip.is_loopback() || ip.is_unspecified() {
            own_hosts.extend([
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "[::1]".to_owned(),
            ]);
        }
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
        // Bound to every interface without a public URL, the server cannot know the
        // names it is reached by: `Host` is not checked then (origins still are).
        let check_hosts = !ip.is_unspecified() || public_url.is_some();
        Ok(Origins {
            allowed: Arc::new(allowed),
            hosts: check_hosts.then(|| Arc::new(hosts)),
        })
    }

    /// Why `headers` of a `method` request may not proceed, if they may not.
    fn refusal(&self, method: &Method, headers: &HeaderMap) -> Option<String> {
        if let (Some(hosts), Some(host)) = (&self.hosts, headers.get(header::HOST)) {
            let host = host.to_str().unwrap_or("").to_ascii_lowercase();
            if !hosts.contains(&host_name(&host)) {
                return Some(format!(
                    "host `{host}` is not this server's (start it with --public-url to serve that name)"
                ));
            }
        }
        // Reading is judged by credentials alone; a socket upgrade or a state-changing
        // method drives the server.
        let drives = method != Method::GET && method != Method::HEAD && method != Method::OPTIONS
            || headers.contains_key(header::UPGRADE);
        if !drives {
            return None;
        }
        let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("");
        match normalise(origin) {
            Ok(o) if self.allowed.contains(&o) => None,
            _ => Some(format!(
                "origin `{origin}` may not use this server (see --allowed-origins)"
            )),
        }
    }
}

/// The guard, as axum middleware.
pub async fn guard(State(origins): State<Origins>, request: Request, next: Next) -> Response {
    match origins.refusal(request.method(), request.headers()) {
        None => next.run(request).await,
        Some(why) => ApiError::new(StatusCode::FORBIDDEN, why).into_response(),
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
            &["https://desk.example.com".into()],
        )
        .unwrap();
        let post = |origin: &str| {
            o.refusal(
                &Method::POST,
                &headers(&[(header::HOST, "127.0.0.1:3000"), (header::ORIGIN, origin)]),
            )
        };
        assert_eq!(post("http://127.0.0.1:3000"), None);
        assert_eq!(post("http://localhost:3000"), None);
        assert_eq!(post("https://DESK.example.com:443"), None);
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
        assert_eq!(o.refusal(&Method::GET, &get), None);
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
        )
        .unwrap();
        let get = |host: &str| o.refusal(&Method::GET, &headers(&[(header::HOST, host)]));
        assert_eq!(get("localhost:3000"), None);
        assert_eq!(get("127.0.0.1:9999"), None, "a local proxy's port");
        assert_eq!(get("t.example.com"), None);
        assert!(get("evil.example:3000").is_some());
    }

    #[test]
    fn origins_must_be_scheme_host_and_port() {
        assert!(normalise("desk.example.com").is_err());
        assert!(normalise("ftp://x").is_err());
        assert!(normalise("https://x/path").is_err());
        assert_eq!(normalise("http://X:80/").unwrap(), "http://x");
    }
}
