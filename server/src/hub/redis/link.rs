//! The command connection to Redis: one multiplexed connection shared by every caller,
//! replaced in the background (with backoff) when it breaks, so a call either answers
//! within [`CALL_TIMEOUT`] or fails at once while Redis is away — never hangs.
//!
//! Each connection learns the server's `run_id` and whether its persistence is durable
//! (`appendonly yes` + `appendfsync always`): the scripts use both to tell a restarted
//! Redis that may have lost its last writes (see `scripts.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The longest a call to Redis may take before the caller hears "redis unavailable".
pub const CALL_TIMEOUT: Duration = Duration::from_millis(1500);
/// Reconnect backoff (this link's, and the listener's pub/sub connection's): from the
/// first delay, doubling up to the cap.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(100);
pub const BACKOFF_CAP: Duration = Duration::from_secs(2);

/// What a connection learnt about the server at its start.
#[derive(Clone, Debug)]
pub struct ServerInfo {
    /// Changes every time Redis restarts.
    pub run_id: String,
    /// Every acknowledged write survives a restart.
    pub durable: bool,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No connection, or no answer in time.
    #[error("redis unavailable")]
    Unavailable,
    /// Redis answered with an error (a script refusing, for one).
    #[error("redis refused: {0}")]
    Refused(RedisError),
}

#[derive(Clone)]
struct Live {
    conn: MultiplexedConnection,
    server: Arc<ServerInfo>,
    generation: u64,
}

/// A handle on the shared connection; cheap to clone.
#[derive(Clone)]
pub struct Link {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    live: Mutex<Option<Live>>,
    generations: AtomicU64,
    lost: Notify,
}

impl Link {
    /// Starts connecting to `client`'s server in the background (until `shutdown`).
    pub fn open(client: Client, shutdown: CancellationToken) -> Link {
        let link = Link {
            inner: Arc::new(Inner {
                client,
                live: Mutex::new(None),
                generations: AtomicU64::new(0),
                lost: Notify::new(),
            }),
        };
        let keeper = link.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = keeper.keep_connected() => {}
            }
        });
        link
    }

    /// Whether a connection is up.
    pub fn is_up(&self) -> bool {
        self.current().is_some()
    }

    /// Runs `call` on the connection, within [`CALL_TIMEOUT`].
    pub async fn call<T>(
        &self,
        call: impl AsyncFnOnce(&mut MultiplexedConnection, &ServerInfo) -> Result<T, RedisError>,
    ) -> Result<T, CallError> {
        let Some(mut live) = self.current() else {
            return Err(CallError::Unavailable);
        };
        match tokio::time::timeout(CALL_TIMEOUT, call(&mut live.conn, &live.server)).await {
            Ok(Ok(value)) => Ok(value),
            // An error Redis answered (a known kind, or a script's own code such as
            // `FENCED`, which the client calls an extension) is an answer: the link is fine.
            Ok(Err(e)) if e.code().is_some() && !is_loading(&e) => Err(CallError::Refused(e)),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis call failed");
                if !is_loading(&e) {
                    self.lost(live.generation);
                }
                Err(CallError::Unavailable)
            }
            Err(_) => {
                tracing::warn!("redis did not answer in time");
                self.lost(live.generation);
                Err(CallError::Unavailable)
            }
        }
    }

    fn current(&self) -> Option<Live> {
        self.inner
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Drops connection `generation` (if still current) and wakes the reconnect loop.
    fn lost(&self, generation: u64) {
        let mut live = self.inner.live.lock().unwrap_or_else(|p| p.into_inner());
        if live.as_ref().is_some_and(|l| l.generation == generation) {
            *live = None;
            self.inner.lost.notify_one();
        }
    }

    async fn keep_connected(&self) {
        loop {
            let mut delay = BACKOFF_FIRST;
            let mut failures = 0u32;
            let live = loop {
                match self.connect().await {
                    Ok(live) => break live,
                    Err(e) => {
                        if failures == 0 {
                            tracing::warn!(error = %e, "cannot reach redis; retrying with backoff");
                        }
                        failures += 1;
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(BACKOFF_CAP);
                    }
                }
            };
            tracing::info!(run_id = %live.server.run_id, durable = live.server.durable, "connected to redis");
            *self.inner.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(live);
            self.inner.lost.notified().await;
        }
    }

    async fn connect(&self) -> Result<Live, RedisError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT));
        let mut conn = self
            .inner
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let server = Arc::new(server_info(&mut conn).await?);
        Ok(Live {
            conn,
            server,
            generation: self.inner.generations.fetch_add(1, Ordering::Relaxed) + 1,
        })
    }
}

/// Redis answers `LOADING` while it reads its data back after a restart: not a broken
/// connection, just not yet.
fn is_loading(e: &RedisError) -> bool {
    e.code() == Some("LOADING")
}

/// The server's `run_id` and persistence. A server that hides `CONFIG` (managed Redis
/// often does) counts as not durable: the safe assumption.
async fn server_info(conn: &mut MultiplexedConnection) -> Result<ServerInfo, RedisError> {
    let info: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
    let run_id = info
        .lines()
        .find_map(|line| line.strip_prefix("run_id:"))
        .map(|id| id.trim().to_owned())
        .unwrap_or_default();
    let config = async |name: &str, conn: &mut MultiplexedConnection| -> Option<String> {
        let pair: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query_async(conn)
            .await
            .ok()?;
        pair.into_iter().nth(1)
    };
    let durable = config("appendonly", conn).await.as_deref() == Some("yes")
        && config("appendfsync", conn).await.as_deref() == Some("always");
    Ok(ServerInfo { run_id, durable })
}
