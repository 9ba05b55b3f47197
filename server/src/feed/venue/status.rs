//! What `/api/ws/health` says of each venue feed (`feeds`, docs/SPEC.md section 5):
//! per symbol, its connection's state, why, and how old its last print is.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;

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
}

struct Entry {
    status: FeedStatus,
    last_print: Option<Instant>,
}

/// Every venue feed's symbols, shared by the feeds (writers) and health (reader).
#[derive(Clone, Default)]
pub struct FeedStatuses {
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl FeedStatuses {
    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a symbol, reconnecting until its connection opens; returns its index.
    pub fn add(&self, venue: &'static str, symbol: &str, topic: &str) -> usize {
        let mut entries = self.lock();
        entries.push(Entry {
            status: FeedStatus {
                venue,
                symbol: symbol.to_owned(),
                topic: topic.to_owned(),
                state: FeedState::Reconnecting,
                reason: Some("connecting".to_owned()),
                last_print_age_ms: None,
            },
            last_print: None,
        });
        entries.len() - 1
    }

    /// Sets the state of the symbols at `indices` (one connection's).
    pub fn set(&self, indices: &[usize], state: FeedState, reason: Option<String>) {
        let mut entries = self.lock();
        for &i in indices {
            if let Some(entry) = entries.get_mut(i) {
                entry.status.state = state;
                entry.status.reason = reason.clone();
            }
        }
    }

    /// A print of the symbol at `index` came now.
    pub fn printed(&self, index: usize) {
        if let Some(entry) = self.lock().get_mut(index) {
            entry.last_print = Some(Instant::now());
        }
    }

    /// Every symbol, as of now.
    pub fn snapshot(&self) -> Vec<FeedStatus> {
        self.lock()
            .iter()
            .map(|entry| {
                let mut status = entry.status.clone();
                status.last_print_age_ms = entry
                    .last_print
                    .map(|at| u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX));
                status
            })
            .collect()
    }
}
