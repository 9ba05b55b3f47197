//! The hub's counters, shared by every connection and read by the health endpoint.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Live counters; every field only grows except `connections`.
#[derive(Debug, Default)]
pub struct HubStats {
    connections: AtomicU64,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    dropped: AtomicU64,
    slow_consumer_disconnects: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct StatsSnapshot {
    pub connections: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub dropped: u64,
    pub slow_consumer_disconnects: u64,
}

/// Keeps `connections` counted while it lives.
pub struct ConnectionGuard<'a>(&'a HubStats);

impl Drop for ConnectionGuard<'_> {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

impl HubStats {
    /// Counts a connection until the guard drops.
    pub fn connection(&self) -> ConnectionGuard<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self)
    }

    pub(super) fn published(&self) {
        self.messages_in.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn delivered(&self, n: u64) {
        self.messages_out.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a connection closed for falling behind.
    pub fn slow_consumer_disconnected(&self) {
        self.slow_consumer_disconnects
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            connections: self.connections.load(Ordering::Relaxed),
            messages_in: self.messages_in.load(Ordering::Relaxed),
            messages_out: self.messages_out.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            slow_consumer_disconnects: self.slow_consumer_disconnects.load(Ordering::Relaxed),
        }
    }
}
