//! The accept loop (docs/SPEC.md section 12): every TCP connection takes a place in the
//! [`Admission`] before it is served, or is told 503 and closed; each is served by hyper
//! with a timer, so that a connection that sends its headers too slowly
//! (`--header-timeout-secs`) or idles between requests (`--keepalive-secs`) is closed,
//! and one that waits is the first to give its place to a newcomer when the server is
//! full. A connection that becomes a socket keeps its place for as long as the socket
//! lives (the upgrade takes its [`ConnectionPlace`] along).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::admission::{Admission, ConnectionPlace, Full, Place};
use crate::routes::{ApiError, TrustedProxies};
use protocol::api::ErrorBody;

/// How long a connection may take over what it must send.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// From accepting a connection (or finishing an answer) to a request's complete
    /// headers.
    pub header: Duration,
    /// From finishing an answer to the next request's complete headers.
    pub keepalive: Duration,
}

/// Where a connection stands, for its deadline.
#[derive(Clone, Copy)]
enum Phase {
    /// No request in progress since `since`; `served` once it has answered one.
    Waiting {
        since: Instant,
        served: bool,
    },
    Busy,
}

/// Serves `app` on `listener` until `shutdown`, then lets the connections finish
/// their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    admission: Admission,
    trusted: TrustedProxies,
    timeouts: Timeouts,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was taken:
                // back off a moment rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // A trusted proxy carries many clients: its connections count in all only.
        let counted = (!trusted.contains(peer.ip())).then_some(peer.ip());
        let place = match admission.admit(counted, true) {
            Ok(place) => place,
            Err(full) => {
                refuse(&tcp, full);
                continue;
            }
        };
        // No Nagle: a frame is written when the connection decides (`--write-delay-ms`),
        // never held by the kernel for the peer's delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        connections.spawn(connection(
            tcp,
            peer,
            app.clone(),
            place,
            timeouts,
            shutdown.clone(),
        ));
    }
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Tells a connection that found no place why, in the one write a fresh socket's empty
/// send buffer takes at once, and closes it.
fn refuse(tcp: &TcpStream, full: Full) {
    // The 503 a refused socket upgrade gets, written by hand: there is no connection
    // to serve it on.
    let refusal = ApiError::from(full);
    let body = ErrorBody {
        error: refusal.error,
        details: refusal.details,
    };
    let body = serde_json::to_string(&body).unwrap_or_default();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tcp.try_write(answer.as_bytes());
    tracing::debug!(%full, "connection refused");
}

/// Serves one connection until it ends, times out, is taken back or the server stops.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    place: Arc<Place>,
    timeouts: Timeouts,
    shutdown: CancellationToken,
) {
    let (phase_tx, mut phase) = watch::channel(Phase::Waiting {
        since: Instant::now(),
        served: false,
    });
    let service = {
        let place = place.clone();
        let phase_tx = Arc::new(phase_tx);
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            place.set_waiting(false);
            phase_tx.send_replace(Phase::Busy);
            request.extensions_mut().insert(ConnectInfo(peer));
            request
                .extensions_mut()
                .insert(ConnectionPlace(place.clone()));
            let (app, place, phase_tx) = (app.clone(), place.clone(), phase_tx.clone());
            async move {
                let response = app
                    .oneshot(request.map(Body::new))
                    .await
                    .unwrap_or_else(|never: Infallible| match never {});
                // A socket stays busy for good; anything else waits for the next request.
                if response.status() != StatusCode::SWITCHING_PROTOCOLS {
                    place.set_waiting(true);
                    phase_tx.send_replace(Phase::Waiting {
                        since: Instant::now(),
                        served: true,
                    });
                }
                Ok::<_, Infallible>(response)
            }
        })
    };
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header)
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    tokio::pin!(served);
    let evicted = place.evicted().clone();
    let mut closing = false;
    loop {
        let deadline = match *phase.borrow_and_update() {
            Phase::Waiting { since, served } => Some(
                since
                    + if served {
                        timeouts.keepalive
                    } else {
                        timeouts.header
                    },
            ),
            Phase::Busy => None,
        };
        let expiry = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now));
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(error = %e, "connection ended");
                }
                return;
            }
            _ = evicted.cancelled() => {
                tracing::debug!(%peer, "idle connection closed for a newcomer");
                return;
            }
            _ = expiry, if deadline.is_some() => {
                tracing::debug!(%peer, "connection closed: nothing asked in time");
                return;
            }
            changed = phase.changed() => {
                if changed.is_err() {
                    // The service is gone with the connection's state: only its end is left.
                    let _ = served.as_mut().await;
                    return;
                }
            }
            _ = shutdown.cancelled(), if !closing => {
                served.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}
