//! What `/api/ws/health` says of each venue feed (`feeds`, docs/SPEC.md section 5):
//! per symbol, its connection's state, why, how old its last print is, and what was
//! dropped or missed; `/metrics` renders the same counts.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::broadcast;

/// A feed connection's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedState {
    /// The socket is open and reading.
    Connected,
    /// Between two attempts, or opening.
    Reconnecting,
    /// Not trying any more until something changes (the venue refuses this location,
    /// or a symbol it does not know): `reason` says which.
    Down,
}

/// One symbol of one venue feed, as health shows it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FeedStatus {
    #[schema(value_type = String)]
    pub venue: &'static str,
    /// As the venue names it.
    pub symbol: String,
    pub topic: String,
    pub state: FeedState,
    /// Why it is not connected (or what it last recovered from); none when all is well.
    pub reason: Option<String>,
    /// Milliseconds since its last trade print; none before the first.
    pub last_print_age_ms: Option<u64>,
    /// Frames and prints its connection dropped (malformed, unknown, a repeated or
    /// older trade id): the connection's count, shared by the markets of one `--feed`.
    pub dropped: u64,
    /// Times its connection was opened again after the first.
    pub reconnects: u64,
    /// Times prints of this market were missed (its trade ids skipped, or the venue's
    /// heartbeat named a later trade) and its candles rebuilt from REST.
    pub gaps: u64,
}

struct Entry {
    status: FeedStatus,
    /// It was connected once: leaving `connected` from then on is news.
    was_connected: bool,
    last_print: Option<Instant>,
    /// The connection it is read on.
    connection: usize,
}

/// What one connection counted.
#[derive(Default)]
struct Counts {
    dropped: u64,
    reconnects: u64,
}

#[derive(Default)]
struct Books {
    entries: Vec<Entry>,
    connections: Vec<Counts>,
}

/// A symbol's feed went down after it had been connected, or came back.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedChange {
    pub venue: &'static str,
    pub symbol: String,
    /// Its market topic (`market:BTCUSDT`).
    pub topic: String,
    pub up: bool,
    /// Why it is down (none once up).
    pub reason: Option<String>,
}

/// Changes kept for a slow listener before the oldest are lost to it.
const CHANGES: usize = 256;

/// Every venue feed's symbols, shared by the feeds (writers) and health (reader); the
/// changes that users hear of go out on [`FeedStatuses::changes`].
#[derive(Clone)]
pub struct FeedStatuses {
    books: Arc<Mutex<Books>>,
    changes: broadcast::Sender<FeedChange>,
}

impl Default for FeedStatuses {
    fn default() -> Self {
        FeedStatuses {
            books: Arc::default(),
            changes: broadcast::channel(CHANGES).0,
        }
    }
}

impl FeedStatuses {
    fn lock(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The feeds' changes from now on: down after being connected, and back.
    pub fn changes(&self) -> broadcast::Receiver<FeedChange> {
        self.changes.subscribe()
    }

    /// A new connection's counts; returns its index.
    pub fn connection(&self) -> usize {
        let mut books = self.lock();
        books.connections.push(Counts::default());
        books.connections.len() - 1
    }

    /// Adds a symbol read on `connection`, reconnecting until it opens; returns its
    /// index.
    pub fn add(&self, connection: usize, venue: &'static str, symbol: &str, topic: &str) -> usize {
        let entries = &mut self.lock().entries;
        entries.push(Entry {
            status: FeedStatus {
                venue,
                symbol: symbol.to_owned(),
                topic: topic.to_owned(),
                state: FeedState::Reconnecting,
                reason: Some("connecting".to_owned()),
                last_print_age_ms: None,
                dropped: 0,
                reconnects: 0,
                gaps: 0,
            },
            last_print: None,
            connection,
            was_connected: false,
        });
        entries.len() - 1
    }

    /// `connection` dropped a frame or a print.
    pub fn dropped(&self, connection: usize) {
        if let Some(counts) = self.lock().connections.get_mut(connection) {
            counts.dropped += 1;
        }
    }

    /// `connection` was opened again.
    pub fn reconnected(&self, connection: usize) {
        if let Some(counts) = self.lock().connections.get_mut(connection) {
            counts.reconnects += 1;
        }
    }

    /// Prints of the symbol at `index` were missed.
    pub fn gap(&self, index: usize) {
        if let Some(entry) = self.lock().entries.get_mut(index) {
            entry.status.gaps += 1;
        }
    }

    /// Sets the state of the symbols at `indices` (one connection's).
    pub fn set(&self, indices: &[usize], state: FeedState, reason: Option<String>) {
        let entries = &mut self.lock().entries;
        let up = state == FeedState::Connected;
        for &i in indices {
            if let Some(entry) = entries.get_mut(i) {
                let was_up = entry.status.state == FeedState::Connected;
                if entry.was_connected && was_up != up {
                    // No listener: nobody to tell.
                    let _ = self.changes.send(FeedChange {
                        venue: entry.status.venue,
                        symbol: entry.status.symbol.clone(),
                        topic: entry.status.topic.clone(),
                        up,
                        reason: reason.clone(),
                    });
                }
                entry.was_connected |= up;
                entry.status.state = state;
                entry.status.reason = reason.clone();
            }
        }
    }

    /// A print of the symbol at `index` came now.
    pub fn printed(&self, index: usize) {
        if let Some(entry) = self.lock().entries.get_mut(index) {
            entry.last_print = Some(Instant::now());
        }
    }

    /// Every symbol, as of now.
    pub fn snapshot(&self) -> Vec<FeedStatus> {
        let books = self.lock();
        books
            .entries
            .iter()
            .map(|entry| {
                let mut status = entry.status.clone();
                if let Some(counts) = books.connections.get(entry.connection) {
                    status.dropped = counts.dropped;
                    status.reconnects = counts.reconnects;
                }
                status.last_print_age_ms = entry
                    .last_print
                    .map(|at| u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX));
                status
            })
            .collect()
    }
}
