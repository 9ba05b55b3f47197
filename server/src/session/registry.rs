//! The sessions of one server: what was started, by id, starting more and stopping them.

use std::collections::BTreeMap;
use std::sync::Arc;

use app::protocol::{SymbolInfo, Topic};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::paper::PaperSession;
use super::request::{plan, SessionRequest};
use super::run::Runner;
use crate::auth::Caller;
use crate::backtest::Account;
use crate::request::RequestError;
use crate::runs::{RunBook, RunContext, RunLimits};

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
    context: RunContext,
    feed: Arc<[SymbolInfo]>,
    runs: RunBook<Entry>,
}

impl Sessions {
    pub fn new(context: RunContext, feed: Arc<[SymbolInfo]>, limits: RunLimits) -> Self {
        Sessions {
            context,
            feed,
            runs: RunBook::new("session", limits),
        }
    }

    /// Every session retained that `caller` may see, in id order.
    pub fn list(&self, caller: &Caller) -> Vec<SessionInfo> {
        self.runs.map(caller, &self.context.hub, |e| e.info.clone())
    }

    /// The session with this id, if `caller` may see it.
    pub fn get(&self, caller: &Caller, id: &str) -> Result<SessionInfo, RequestError> {
        self.runs
            .reach(caller, id, &self.context.hub, |e| e.info.clone())
    }

    /// Who started the session with this id (see [`RunBook::owner`]).
    pub fn owner(&self, id: &str) -> Option<Option<Arc<str>>> {
        self.runs.owner(id, &self.context.hub)
    }

    /// Validates and starts a session, as `caller`'s.
    pub async fn start(
        &self,
        caller: &Caller,
        request: SessionRequest,
    ) -> Result<SessionInfo, RequestError> {
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
        // Stopped by a client, or by shutdown.
        let stop = self.context.shutdown.child_token();
        let entry = Entry {
            info: info.clone(),
            stop: stop.clone(),
            task: None,
        };
        let hub = &self.context.hub;
        self.runs
            .insert(&id, plan.topic.clone(), caller, entry, hub)
            .await?;
        let session = PaperSession::new(
            id.clone(),
            plan.symbol.clone(),
            plan.strategy,
            cash,
            commission,
        );
        let runner = Runner {
            hub: hub.clone(),
            info: info.clone(),
            topic: plan.topic,
            symbol: plan.symbol,
            interval: plan.interval,
            stop,
        };
        let sessions = self.clone();
        let ended = id.clone();
        let task = self.context.tasks.spawn(async move {
            runner.run(session).await;
            sessions.mark_stopped(&ended);
        });
        // Started while the book was unlocked: the session exists until retention ends.
        let _ = self.runs.with(&id, hub, |e| e.task = Some(task));
        Ok(info)
    }

    fn mark_stopped(&self, id: &str) {
        let hub = &self.context.hub;
        let _ = self.runs.with(id, hub, |e| e.info.running = false);
        self.runs.finish(id, hub);
    }

    /// Stops a session of `caller`'s (its position is closed at the last price); waits
    /// for it to finish.
    pub async fn stop(&self, caller: &Caller, id: &str) -> Result<SessionInfo, RequestError> {
        let (task, info) = self.runs.reach(caller, id, &self.context.hub, |e| {
            e.stop.cancel();
            (e.task.take(), e.info.clone())
        })?;
        if let Some(task) = task {
            let _ = task.await;
        }
        // Forgotten already when finished runs are not retained: it did stop.
        Ok(self.get(caller, id).unwrap_or(SessionInfo {
            running: false,
            ..info
        }))
    }
}
