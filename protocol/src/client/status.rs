//! Where a client's stream stands, as the dashboard and `tickwire watch` name it: the
//! connection's state, how data is delivered, and how long each followed stream has
//! been silent. Plain values; the dashboard holds them in signals.

use crate::Topic;

/// Where the stream's connection stands; `as_str` is the `data-state` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// The socket is open and the server has greeted it.
    Connected,
    /// The socket is open, but a stream that should be moving has been silent for
    /// longer than the server's `stale_after_ms` for its kind.
    Stale,
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
            ConnectionState::Stale => "stale",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Polling => "polling",
            ConnectionState::Disconnected => "disconnected",
        }
    }

    /// The dot's colour: green connected, yellow reconnecting or stale, red otherwise.
    pub fn colour(self) -> &'static str {
        match self {
            ConnectionState::Connected => "green",
            ConnectionState::Reconnecting | ConnectionState::Stale => "yellow",
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

/// How long a followed stream has been silent.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamAge {
    pub topic: Topic,
    /// Whole seconds since its last message (or its subscription); `None` before any.
    pub silent_secs: Option<u64>,
    /// It should be moving, the socket is up, and it has been silent for longer than
    /// the server's threshold for its kind.
    pub stale: bool,
}
