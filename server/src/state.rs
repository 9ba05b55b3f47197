//! What every request handler can reach.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::protocol::SymbolInfo;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::backtest::Backtests;
use crate::hub::Hub;
use crate::routes::{Origins, Slots};
use crate::session::Sessions;

/// Per-connection and per-request limits (SPEC section 12).
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub heartbeat: Duration,
    pub max_message_bytes: usize,
    pub max_subscriptions: usize,
    /// Largest HTTP request body (413 beyond).
    pub max_body_bytes: usize,
    /// Client frames per second per connection, and the burst allowed above it.
    pub client_rate: NonZeroU32,
    pub client_burst: NonZeroU32,
}

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub hub: Hub,
    pub symbols: Arc<[SymbolInfo]>,
    pub backtests: Backtests,
    pub sessions: Sessions,
    pub limits: ConnectionLimits,
    /// Which pages may drive the server, and which host names it answers to.
    pub origins: Origins,
    /// Sockets held, in all and per address.
    pub slots: Slots,
    /// When set, `POST /api/publish` needs `Authorization: Bearer <key>`.
    pub api_key: Option<Arc<str>>,
    pub leptos: LeptosOptions,
    pub started: Instant,
    /// Cancelled when the server shuts down; every long task watches it.
    pub shutdown: CancellationToken,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
