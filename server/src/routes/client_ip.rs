//! The client's address, for the per-address connection cap (docs/SPEC.md section 12): the TCP
//! peer, unless that peer is one of `--trusted-proxies`, in which case the address the
//! proxies forwarded (`X-Forwarded-For`, read from the right, past every trusted hop).
//! A client cannot pick its own address by sending the header: only a trusted peer's
//! header is read, and only the hops that trusted proxies appended count.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use super::ApiError;
use crate::routes::state::AppState;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<[IpAddr]>);

impl TrustedProxies {
    pub fn new(proxies: &[IpAddr]) -> Self {
        TrustedProxies(proxies.into())
    }

    /// Whether `peer` is one of them.
    pub fn contains(&self, peer: IpAddr) -> bool {
        self.0.contains(&peer)
    }

    /// The client behind `peer`, as the trusted proxies tell it.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.0.contains(&peer) {
            return peer;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.0.contains(&ip) {
                        break;
                    }
                }
                // Garbage: nothing further left can be trusted.
                Err(_) => break,
            }
        }
        client
    }
}

/// The client's address (see the module).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::internal("the server was started without peer addresses"))?;
        Ok(ClientIp(
            state.trusted_proxies.client(peer.ip(), &parts.headers),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn only_a_trusted_peer_forwards_and_only_trusted_hops_are_skipped() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = TrustedProxies::new(&[proxy, inner]);
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        // A stranger's own header is ignored.
        assert_eq!(trusted.client(stranger, &headers("1.2.3.4")), stranger);
        // Through the proxy: the address it appended.
        assert_eq!(
            trusted.client(proxy, &headers("1.2.3.4, 203.0.113.7")),
            "203.0.113.7".parse::<IpAddr>().unwrap(),
            "the client's forged left part is not believed"
        );
        // Through two trusted hops.
        assert_eq!(
            trusted.client(proxy, &headers("203.0.113.7, 10.0.0.2")),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(trusted.client(proxy, &HeaderMap::new()), proxy);
        assert_eq!(trusted.client(proxy, &headers("junk")), proxy);
        assert_eq!(
            TrustedProxies::default().client(proxy, &headers("1.2.3.4")),
            proxy
        );
    }
}
