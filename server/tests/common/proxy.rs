//! A fault-injecting TCP proxy for the chaos tests: it sits between real clients and the
//! real server and, on command, cuts every connection, stalls them (TCP stays up,
//! nothing moves either way: a half-open peer) or throttles what the server sends to a
//! trickle. It knows nothing of WebSockets: bytes in, bytes out.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What the proxy does to the bytes it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything at once.
    None,
    /// Forward nothing in either direction; connections stay open.
    Stall,
    /// Forward server → client at this many bytes per second (client → server at once).
    Throttle { bytes_per_sec: usize },
}

pub struct Proxy {
    /// Where clients connect instead of the server.
    pub addr: SocketAddr,
    fault: watch::Sender<Fault>,
    /// One token per live connection; cancelling it closes both sides.
    connections: Arc<Mutex<Vec<CancellationToken>>>,
    /// One token per live connection; cancelling it silences it for good.
    silencers: Arc<Mutex<Vec<CancellationToken>>>,
    stop: CancellationToken,
}

impl Proxy {
    /// Listens on a free port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("an address");
        let (fault, faults) = watch::channel(Fault::None);
        let connections: Arc<Mutex<Vec<CancellationToken>>> = Arc::default();
        let silencers: Arc<Mutex<Vec<CancellationToken>>> = Arc::default();
        let stop = CancellationToken::new();
        let (live, stopping) = (connections.clone(), stop.clone());
        let quiet = silencers.clone();
        tokio::spawn(async move {
            loop {
                let client = tokio::select! {
                    _ = stopping.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((client, _)) => client,
                        Err(_) => continue,
                    },
                };
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let cut = stopping.child_token();
                live.lock().unwrap().push(cut.clone());
                let silence = CancellationToken::new();
                quiet.lock().unwrap().push(silence.clone());
                tokio::spawn(carry(client, server, faults.clone(), cut, silence));
            }
        });
        Proxy {
            addr,
            fault,
            connections,
            silencers,
            stop,
        }
    }

    /// Applies `fault` to every connection, live and future.
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// Silences every live connection for good: both sides stay open and nothing moves
    /// either way (a peer that vanished without a word); later connections go through.
    pub fn silence(&self) {
        for token in self.silencers.lock().unwrap().drain(..) {
            token.cancel();
        }
    }

    /// Closes every live connection at once; later connections go through.
    pub fn cut(&self) {
        for token in self.connections.lock().unwrap().drain(..) {
            token.cancel();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Carries one connection both ways until either side closes or it is cut.
async fn carry(
    client: TcpStream,
    server: TcpStream,
    faults: watch::Receiver<Fault>,
    cut: CancellationToken,
    silence: CancellationToken,
) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::select! {
        _ = cut.cancelled() => {}
        _ = pump(client_read, server_write, faults.clone(), false, &silence) => {}
        _ = pump(server_read, client_write, faults, true, &silence) => {}
    }
}

/// Copies `from` into `to`, obeying the current fault; `downstream` is server → client.
async fn pump(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin,
    mut faults: watch::Receiver<Fault>,
    downstream: bool,
    silence: &CancellationToken,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if silence.is_cancelled() {
            // Holding both halves open, moving nothing, until the connection is cut.
            return std::future::pending().await;
        }
        let fault = *faults.borrow_and_update();
        let chunk = match fault {
            Fault::Stall => {
                // Read nothing: the sender's window closes, as with a dead peer.
                if faults.changed().await.is_err() {
                    return;
                }
                continue;
            }
            Fault::Throttle { bytes_per_sec } if downstream => (bytes_per_sec / 10).max(1),
            _ => buf.len(),
        };
        let n = tokio::select! {
            read = from.read(&mut buf[..chunk]) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            // A fault applied while waiting for bytes takes effect at once.
            _ = faults.changed() => continue,
            _ = silence.cancelled() => continue,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        if matches!(fault, Fault::Throttle { .. }) && downstream {
            // A slow network, not a synchronisation: a tenth of the rate every 100 ms.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
