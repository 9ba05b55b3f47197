//! The sessions of one server: what was started, by id, starting more and stopping them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use app::protocol::{SymbolInfo, Topic};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::paper::PaperSession;
use super::request::{plan, SessionRequest};
use super::run::Runner;
use crate::backtest::Account;
use crate::hub::Hub;
use crate::request::RequestError;

/// A session as listed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionInfo {
    pub session_id: String,
    pub topic: String,
    pub trading_topic: String,
    pub stream_url: String,
    pub symbol: String,
    pub strategy: String,
    pub params: BTreeMap<String, f64>,
    pub cash: f64,
    pub commission: f64,
    pub running: bool,
}

struct Entry {
    info: SessionInfo,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

/// The sessions of one server.
#[derive(Clone)]
pub struct Sessions {
    hub: Hub,
    feed: Arc<[SymbolInfo]>,
    entries: Arc<Mutex<BTreeMap<String, Entry>>>,
}

impl Sessions {
    pub fn new(hub: Hub, feed: Arc<[SymbolInfo]>) -> Self {
        Sessions {
            hub,
            feed,
            entries: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn list(&self) -> Vec<SessionInfo> {
        self.lock().values().map(|e| e.info.clone()).collect()
    }

    /// The session with this id.
    pub fn get(&self, id: &str) -> Result<SessionInfo, RequestError> {
        self.lock()
            .get(id)
            .map(|e| e.info.clone())
            .ok_or_else(|| not_found(id))
    }

    /// Validates and starts a session.
    pub fn start(&self, request: SessionRequest) -> Result<SessionInfo, RequestError> {
        let plan = plan(request, &self.feed)?;
        let Account { cash, commission } = plan.account;
        let id = plan.id.clone();
        let info = SessionInfo {
            session_id: id.clone(),
            topic: plan.topic.to_string(),
            trading_topic: Topic::trading(&plan.symbol).to_string(),
            stream_url: format!("/api/ws/stream/session/{id}"),
            symbol: plan.symbol.to_string(),
            strategy: plan.strategy.name().to_owned(),
            params: plan.strategy.params(),
            cash,
            commission,
            running: true,
        };
        let mut entries = self.lock();
        if entries.contains_key(&id) || self.hub.snapshot(&plan.topic).last_seq > 0 {
            return Err(RequestError::Exists {
                kind: "session",
                id,
            });
        }
        let stop = CancellationToken::new();
        let session = PaperSession::new(
            id.clone(),
            plan.symbol.clone(),
            plan.strategy,
            cash,
            commission,
        );
        let runner = Runner {
            hub: self.hub.clone(),
            info: info.clone(),
            topic: plan.topic,
            symbol: plan.symbol,
            interval: plan.interval,
            stop: stop.clone(),
        };
        let sessions = self.clone();
        let task = tokio::spawn(async move {
            runner.run(session).await;
            sessions.mark_stopped(&id);
        });
        entries.insert(
            info.session_id.clone(),
            Entry {
                info: info.clone(),
                stop,
                task: Some(task),
            },
        );
        Ok(info)
    }

    fn mark_stopped(&self, id: &str) {
        if let Some(e) = self.lock().get_mut(id) {
            e.info.running = false;
        }
    }

    /// Stops a session (its position is closed at the last price); waits for it to finish.
    pub async fn stop(&self, id: &str) -> Result<SessionInfo, RequestError> {
        let task = {
            let mut entries = self.lock();
            let entry = entries.get_mut(id).ok_or_else(|| not_found(id))?;
            entry.stop.cancel();
            entry.task.take()
        };
        if let Some(task) = task {
            let _ = task.await;
        }
        self.get(id)
    }
}

fn not_found(id: &str) -> RequestError {
    RequestError::NotFound {
        kind: "session",
        id: id.to_owned(),
    }
}
