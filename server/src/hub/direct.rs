//! Notices sent to connections rather than published on a topic (`POST /api/notify`):
//! to one connection, to every connection of one user, or to all. Every connection of
//! this instance hears each one and keeps those meant for it; on Redis they go through
//! the events channel, so each instance's connections hear them all.

use protocol::Notice;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Direct notices kept for a connection that has not taken them yet; one that falls
/// further behind misses the oldest.
const KEPT: usize = 64;

/// Who a direct notice is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipients {
    /// The connection with this `connection_id` (its `connected` frame's).
    Connection(String),
    /// Every connection of this user (a token's `sub`; `anonymous` in anonymous mode).
    User(String),
    Everyone,
}

impl Recipients {
    /// Whether the connection `id` of `user` is among them.
    pub fn include(&self, id: &str, user: &str) -> bool {
        match self {
            Recipients::Connection(wanted) => wanted == id,
            Recipients::User(wanted) => wanted == user,
            Recipients::Everyone => true,
        }
    }
}

/// A notice and who it is for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Direct {
    pub to: Recipients,
    pub notice: Notice,
}

/// Where this instance's connections hear direct notices.
#[derive(Clone)]
pub struct Directs(broadcast::Sender<Direct>);

impl Default for Directs {
    fn default() -> Self {
        Directs(broadcast::channel(KEPT).0)
    }
}

impl Directs {
    /// Hands `direct` to this instance's connections.
    pub fn deliver(&self, direct: Direct) {
        // No connection: nobody to tell.
        let _ = self.0.send(direct);
    }

    /// The direct notices from now on, for one connection.
    pub fn listen(&self) -> broadcast::Receiver<Direct> {
        self.0.subscribe()
    }
}
