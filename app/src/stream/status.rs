//! What the dashboard shows about its stream: connection state, mode, attempts,
//! latency, message rate, last update — signals that render the same on the server
//! (initial values) and in the browser (live).

use leptos::prelude::*;

/// Where the stream's connection stands; `as_str` is the `data-state` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// The socket is open and the server has greeted it.
    Connected,
    /// Trying to (re)open the socket; data paused until it opens or polling starts.
    Reconnecting,
    /// Data arrives by HTTP polling (fallback after failed attempts, or real-time off).
    Polling,
    /// Neither the socket nor polling reaches the server.
    Disconnected,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Polling => "polling",
            ConnectionState::Disconnected => "disconnected",
        }
    }

    /// The dot's colour: green connected, yellow reconnecting, red otherwise.
    pub fn colour(self) -> &'static str {
        match self {
            ConnectionState::Connected => "green",
            ConnectionState::Reconnecting => "yellow",
            ConnectionState::Polling | ConnectionState::Disconnected => "red",
        }
    }
}

/// How data is being delivered right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Realtime,
    Polling,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Realtime => "real-time",
            Mode::Polling => "polling",
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
        }
    }
}

impl Default for StreamStatus {
    fn default() -> Self {
        Self::new()
    }
}
