//! What the dashboard shows about its stream: connection state, mode, attempts,
//! latency, message rate, last update — signals that render the same on the server
//! (initial values) and in the browser (live). The values themselves are
//! `protocol::client`'s, shared with the machine that sets them.

use leptos::prelude::*;

pub use protocol::client::{ConnectionState, Mode, StreamAge};

/// This tab's part in sharing the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TabRole {
    /// No sharing here: this tab has its own socket.
    Alone,
    /// This tab holds the socket for every tab of the origin.
    Leader,
    /// Another tab holds the socket; this one talks through it.
    Follower,
}

impl TabRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TabRole::Alone => "alone",
            TabRole::Leader => "leader",
            TabRole::Follower => "follower",
        }
    }
}

/// The stream's observable state. `Copy`: every field is a signal.
#[derive(Clone, Copy)]
pub struct StreamStatus {
    pub state: RwSignal<ConnectionState>,
    pub mode: RwSignal<Mode>,
    /// The user's real-time toggle (off: polling only).
    pub realtime: RwSignal<bool>,
    /// Consecutive failed connection attempts (reset by every successful connection).
    pub failures: RwSignal<u32>,
    /// Reconnection attempts so far in this page's life.
    pub reconnects: RwSignal<u32>,
    /// Round trip of the last application ping, in ms.
    pub latency_ms: RwSignal<Option<f64>>,
    /// Messages received in the last second.
    pub rate: RwSignal<f64>,
    /// When the last message arrived (ms since the Unix epoch).
    pub last_update_ms: RwSignal<Option<f64>>,
    pub last_error: RwSignal<Option<String>>,
    /// The socket URL.
    pub endpoint: RwSignal<String>,
    /// The build the server runs, once it has said.
    pub server_build: RwSignal<Option<String>>,
    /// Every followed stream's silence, refreshed once a second.
    pub streams: RwSignal<Vec<StreamAge>>,
    /// This tab's part in sharing one socket among the origin's tabs.
    pub tab_role: RwSignal<TabRole>,
    /// While this tab leads: how many other tabs stream through it.
    pub tab_followers: RwSignal<usize>,
}

impl StreamStatus {
    pub fn new() -> Self {
        StreamStatus {
            state: RwSignal::new(ConnectionState::Reconnecting),
            mode: RwSignal::new(Mode::Realtime),
            realtime: RwSignal::new(true),
            failures: RwSignal::new(0),
            reconnects: RwSignal::new(0),
            latency_ms: RwSignal::new(None),
            rate: RwSignal::new(0.0),
            last_update_ms: RwSignal::new(None),
            last_error: RwSignal::new(None),
            endpoint: RwSignal::new("/api/ws".to_owned()),
            server_build: RwSignal::new(None),
            streams: RwSignal::new(Vec::new()),
            tab_role: RwSignal::new(TabRole::Alone),
            tab_followers: RwSignal::new(0),
        }
    }
}

impl Default for StreamStatus {
    fn default() -> Self {
        Self::new()
    }
}
