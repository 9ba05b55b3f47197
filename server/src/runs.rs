//! The book of one kind of run (backtests, sessions) on one server: entries by id, a cap
//! on how many are active at once (`--max-backtests`, `--max-sessions`: 429 beyond), and
//! how long a finished one is kept (`--retain-runs`) before it leaves listings and
//! memory, its topic with it (SPEC section 12). Every run started is tracked, so
//! shutdown can wait for all of them to publish their ends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use app::protocol::Topic;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Caller;
use crate::hub::{Hub, HubError};
use crate::request::RequestError;

/// How many runs of a kind may be active, and how long a finished one is kept.
#[derive(Clone, Copy, Debug)]
pub struct RunLimits {
    pub max_active: usize,
    pub retain: Duration,
}

/// What a run needs from the server around it: the hub, the shutdown signal (every run
/// stops on it) and the tracker shutdown waits on.
#[derive(Clone)]
pub struct RunContext {
    pub hub: Hub,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
}

struct Entry<T> {
    value: T,
    topic: Topic,
    /// The `sub` of who started it (none in anonymous mode).
    owner: Option<Arc<str>>,
    finished: Option<Instant>,
}

/// Runs of one kind, by id.
pub struct RunBook<T> {
    kind: &'static str,
    limits: RunLimits,
    entries: Arc<Mutex<BTreeMap<String, Entry<T>>>>,
}

impl<T> Clone for RunBook<T> {
    fn clone(&self) -> Self {
        RunBook {
            kind: self.kind,
            limits: self.limits,
            entries: self.entries.clone(),
        }
    }
}

impl<T> RunBook<T> {
    /// An empty book of `kind` runs ("backtest", "session": the word errors use).
    pub fn new(kind: &'static str, limits: RunLimits) -> Self {
        RunBook {
            kind,
            limits,
            entries: Arc::default(),
        }
    }

    /// Adds an active run on `topic` started by `caller`, unless its id is taken (here,
    /// or by a topic the hub still has) or the active ones are at the cap. The topic is
    /// kept while the run is. In token mode it starts afresh: whoever subscribed to the
    /// name before the run existed (allowed by their token's `topics` then) is not its
    /// subscriber; the owner starts a run paused to see it from its first message.
    pub async fn insert(
        &self,
        id: &str,
        topic: Topic,
        caller: &Caller,
        value: T,
        hub: &Hub,
    ) -> Result<(), RequestError> {
        let taken = hub.last_seq(&topic).await.map_err(HubError::from)? > 0;
        {
            let mut entries = self.lock(hub);
            if taken || entries.contains_key(id) {
                return Err(RequestError::Exists {
                    kind: self.kind,
                    id: id.to_owned(),
                });
            }
            let active = entries.values().filter(|e| e.finished.is_none()).count();
            if active >= self.limits.max_active {
                return Err(RequestError::TooMany {
                    kind: self.kind,
                    limit: self.limits.max_active,
                });
            }
            let entry = Entry {
                value,
                topic: topic.clone(),
                owner: caller.owner(),
                finished: None,
            };
            entries.insert(id.to_owned(), entry);
        }
        let fresh = async {
            if caller.sub().is_some() {
                hub.drop_topic(&topic).await?;
            }
            hub.keep(&topic).await
        };
        if let Err(e) = fresh.await {
            self.lock(hub).remove(id);
            return Err(e.into());
        }
        Ok(())
    }

    /// Marks the run finished: it no longer counts against the cap, and is forgotten
    /// once retained long enough.
    pub fn finish(&self, id: &str, hub: &Hub) {
        if let Some(e) = self.lock(hub).get_mut(id) {
            e.finished.get_or_insert_with(Instant::now);
        }
    }

    /// `f` of the run with this id.
    pub fn with<R>(
        &self,
        id: &str,
        hub: &Hub,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, RequestError> {
        match self.lock(hub).get_mut(id) {
            Some(e) => Ok(f(&mut e.value)),
            None => Err(RequestError::NotFound {
                kind: self.kind,
                id: id.to_owned(),
            }),
        }
    }

    /// `f` of the run with this id, if `caller` may reach it (403 if not).
    pub fn reach<R>(
        &self,
        caller: &Caller,
        id: &str,
        hub: &Hub,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, RequestError> {
        match self.lock(hub).get_mut(id) {
            Some(e) if caller.may_reach(e.owner.as_deref()) => Ok(f(&mut e.value)),
            Some(_) => Err(RequestError::Forbidden {
                kind: self.kind,
                id: id.to_owned(),
            }),
            None => Err(RequestError::NotFound {
                kind: self.kind,
                id: id.to_owned(),
            }),
        }
    }

    /// Who started the run with this id (`None`: no such run; `Some(None)`: an
    /// anonymous one).
    pub fn owner(&self, id: &str, hub: &Hub) -> Option<Option<Arc<str>>> {
        self.lock(hub).get(id).map(|e| e.owner.clone())
    }

    /// `f` of every run `caller` may reach, in id order.
    pub fn map<R>(&self, caller: &Caller, hub: &Hub, f: impl FnMut(&T) -> R) -> Vec<R> {
        self.lock(hub)
            .values()
            .filter(|e| caller.may_reach(e.owner.as_deref()))
            .map(|e| &e.value)
            .map(f)
            .collect()
    }

    /// The entries, with the finished runs past their retention dropped first (their
    /// topics too: a later run with the same id starts a new epoch).
    fn lock(&self, hub: &Hub) -> MutexGuard<'_, BTreeMap<String, Entry<T>>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let retain = self.limits.retain;
        entries.retain(|_, e| match e.finished {
            Some(at) if at.elapsed() >= retain => {
                hub.forget(&e.topic);
                false
            }
            _ => true,
        });
        entries
    }
}
