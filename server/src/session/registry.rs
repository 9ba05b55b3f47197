//! The sessions of one server: what was started, by id, starting more and stopping them.

use std::sync::Arc;

use std::time::Duration;

use protocol::api::{RunNotes, RunNotesPatch, RunOutcome};
use protocol::{
    Control, DecisionAction, Lifecycle, Message, Resync, RunStatus, SessionSnapshot, Side,
    Snapshot, SnapshotData, SymbolInfo, Timestamp, Topic, TopicKind,
};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::brain::EXTERNAL;
use super::paper::{Checkpoint, PaperSession};
use super::request::{plan, SessionPlan};
use super::run::Runner;
use crate::auth::Caller;
use crate::backtest::Account;
use crate::feed::venue::FeedChange;
use crate::hub::{Command, Delivery, Frame, HubError, Unavailable};
use crate::notices;
use crate::refusal::{invalid, RequestError};
use crate::runs::{Info, Listing, Owner, Run, RunBook, RunContext, RunLimits, Table};
use crate::store::StoredRun;
use protocol::api::{SessionInfo, SessionRequest};

struct Entry {
    info: SessionInfo,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Run for Entry {
    type Info = SessionInfo;
    fn info(&self) -> SessionInfo {
        self.info.clone()
    }
    fn info_mut(&mut self) -> &mut SessionInfo {
        &mut self.info
    }
    fn restored(info: SessionInfo) -> Self {
        Entry {
            info,
            stop: CancellationToken::new(),
            task: None,
        }
    }
}

impl Info for SessionInfo {
    const RESUMES: bool = true;
    fn outcome_of(state: &SnapshotData) -> RunOutcome {
        let SnapshotData::Session(s) = state else {
            return RunOutcome::default();
        };
        let (status, final_equity) = match (&s.completed, &s.interrupted) {
            (Some(c), _) => (RunStatus::Complete, Some(c.final_equity)),
            (None, Some(_)) => (RunStatus::Interrupted, s.stats.as_ref().map(|st| st.equity)),
            (None, None) if s.paused => (RunStatus::Paused, None),
            (None, None) => (RunStatus::Running, None),
        };
        RunOutcome {
            status,
            finished: None,
            final_equity,
        }
    }
}

/// What a session whose instance died ends with (docs/SPEC.md section 8).
fn died(_: &Snapshot) -> Message {
    Message::Interrupted(Lifecycle {
        reason: Some("its instance stopped".to_owned()),
    })
}

/// Whether `delivery` shows the session completed.
fn ends_session(delivery: &Delivery) -> bool {
    match delivery {
        Delivery::Message(envelope) => matches!(envelope.message, Message::SessionCompleted(_)),
        Delivery::Control(control) => match &**control {
            Control::Snapshot(s) | Control::Resync(Resync { snapshot: s, .. }) => {
                matches!(&s.data, SnapshotData::Session(s) if s.completed.is_some())
            }
            _ => false,
        },
    }
}

/// How long a `DELETE` through another instance waits for the session to end there.
const REMOTE_STOP_WAIT: Duration = Duration::from_secs(5);

/// Session `id` has ended: it takes no more requests.
fn finished(id: &str) -> RequestError {
    RequestError::Finished {
        kind: "session",
        id: id.to_owned(),
    }
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
        let runs = RunBook::new("session", limits, &context);
        runs.spawn_reaper(&context, died);
        Sessions {
            context,
            feed,
            runs,
        }
    }

    /// Tells the owners of the sessions running here on a venue market when its feed
    /// goes down and comes back, until the server stops.
    pub fn tell_of_feeds(&self, mut changes: broadcast::Receiver<FeedChange>) {
        let sessions = self.clone();
        let shutdown = self.context.shutdown.clone();
        tokio::spawn(async move {
            loop {
                let change = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    change = changes.recv() => change,
                };
                match change {
                    Ok(change) => sessions.tell_of_feed(&change),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "feed changes went untold");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    fn tell_of_feed(&self, change: &FeedChange) {
        let hub = &self.context.hub;
        let owners = self.runs.owners_of_active(hub, |e| {
            change.topic.strip_prefix("market:") == Some(e.info.symbol.as_str())
        });
        let notice = notices::feed_changed(
            change.venue,
            &change.symbol,
            &change.topic,
            change.up,
            change.reason.as_deref(),
        );
        for owner in owners {
            self.context.notices.send(owner.as_deref(), notice.clone());
        }
    }

    /// The page of sessions `listing` asks for that `caller` may see, newest first.
    pub async fn list(
        &self,
        caller: &Caller,
        listing: &Listing,
    ) -> Result<Vec<SessionInfo>, RequestError> {
        self.runs.list(caller, listing, &self.context.hub).await
    }

    /// The state of run `id` on `topic` (see [`RunBook::state`]).
    pub async fn state(&self, id: &str, topic: &Topic) -> Result<Snapshot, RequestError> {
        self.runs.state(id, topic, &self.context.hub).await
    }

    /// The kept record of run `id` (see [`RunBook::kept_record`]).
    pub async fn kept_record(&self, id: &str) -> Result<Option<(Vec<Frame>, bool)>, RequestError> {
        self.runs.kept_record(id).await
    }

    /// `table` of a run `caller` may reach, as CSV.
    pub async fn export(
        &self,
        caller: &Caller,
        id: &str,
        table: Table,
    ) -> Result<String, RequestError> {
        self.runs.export(caller, id, table, &self.context.hub).await
    }

    /// Sets the title, notes or tags of a session `caller` may reach.
    pub async fn annotate(
        &self,
        caller: &Caller,
        id: &str,
        patch: RunNotesPatch,
    ) -> Result<SessionInfo, RequestError> {
        self.runs
            .annotate(caller, id, patch, &self.context.hub)
            .await
    }

    /// Takes up every session the last stop of this server cut off: it trades on from
    /// its last checkpoint. One that cannot (its market is no longer fed) is marked
    /// `interrupted`.
    pub async fn recover(&self) {
        let hub = &self.context.hub;
        for row in self.runs.unfinished(hub).await {
            if let Err(e) = self.resume(&row).await {
                tracing::warn!(id = row.id, error = %e, "a cut-off session does not resume");
                if let Err(e) = self.runs.interrupt(&row, hub).await {
                    tracing::warn!(id = row.id, error = %e, "a cut-off session is not marked interrupted");
                }
            }
        }
    }

    async fn resume(&self, row: &StoredRun) -> Result<(), RequestError> {
        let store = self
            .context
            .store
            .as_ref()
            .ok_or_else(|| invalid("store", "none"))?;
        let request: SessionRequest =
            serde_json::from_str(&row.request).map_err(|e| invalid("request", e))?;
        let plan = plan(request, &self.feed)?;
        let checkpoint: Option<Checkpoint> = row
            .checkpoint
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| invalid("checkpoint", e))?;
        let mut info: SessionInfo =
            serde_json::from_value(row.info.clone()).map_err(|e| invalid("info", e))?;
        info.running = true;
        info.outcome = RunOutcome {
            status: RunStatus::Running,
            ..RunOutcome::default()
        };
        info.notes = row.notes.clone();
        let stop = self.context.shutdown.child_token();
        let entry = Entry {
            info: info.clone(),
            stop: stop.clone(),
            task: None,
        };
        self.runs
            .adopt(store, row, entry, &self.context.hub, true)
            .await?;
        let session = match checkpoint {
            Some(c) => {
                PaperSession::resume(plan.id.clone(), plan.symbol.clone(), plan.brain.clone(), c)
            }
            None => fresh(&plan),
        };
        tracing::info!(id = row.id, "cut off by the last stop: resumes");
        let owner = row.owner.as_deref().map(Arc::from);
        self.spawn(plan, info, session, owner, stop, true);
        Ok(())
    }

    /// The session with this id, wherever it runs, if `caller` may see it.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<SessionInfo, RequestError> {
        self.runs.info(caller, id, &self.context.hub).await
    }

    /// Who started the session with this id (see [`RunBook::owner`]).
    pub async fn owner(&self, id: &str) -> Result<Owner, HubError> {
        self.runs.owner(id, &self.context.hub).await
    }

    /// Validates and starts a session, as `caller`'s.
    pub async fn start(
        &self,
        caller: &Caller,
        request: SessionRequest,
    ) -> Result<SessionInfo, RequestError> {
        let mut kept = request.clone();
        let plan = plan(request, &self.feed)?;
        kept.id = Some(plan.id.clone());
        let Account { cash, commission } = plan.account;
        let id = plan.id.clone();
        let info = SessionInfo {
            session_id: id.clone(),
            topic: plan.topic.to_string(),
            trading_topic: Topic::trading(&plan.symbol).to_string(),
            stream_url: format!("/api/ws/stream/session/{id}"),
            symbol: plan.symbol.to_string(),
            strategy: plan.brain.name().to_owned(),
            params: plan.brain.params(),
            cash,
            commission,
            running: true,
            created: Timestamp::from_datetime(chrono::Utc::now()),
            outcome: RunOutcome {
                status: RunStatus::Running,
                ..RunOutcome::default()
            },
            notes: RunNotes::default(),
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
            .insert(&id, plan.topic.clone(), caller, entry, &kept, hub)
            .await?;
        let session = fresh(&plan);
        self.spawn(plan, info.clone(), session, caller.owner(), stop, false);
        Ok(info)
    }

    /// Runs `session` in the background until it is stopped or the server stops.
    fn spawn(
        &self,
        plan: SessionPlan,
        info: SessionInfo,
        session: PaperSession,
        owner: Option<Arc<str>>,
        stop: CancellationToken,
        resumed: bool,
    ) {
        let hub = &self.context.hub;
        let id = plan.id.clone();
        let runner = Runner {
            hub: hub.clone(),
            store: self.context.store.clone(),
            notices: self.context.notices.clone(),
            owner,
            info,
            topic: plan.topic,
            symbol: plan.symbol,
            interval: plan.interval,
            stop,
            shutdown: self.context.shutdown.clone(),
            resumed,
        };
        let sessions = self.clone();
        let ended = id.clone();
        let task = self.context.tasks.spawn(async move {
            runner.run(session).await;
            sessions.mark_stopped(&ended);
        });
        // Started while the book was unlocked: the session exists until retention ends.
        let _ = self.runs.with(&id, hub, |e| e.task = Some(task));
    }

    fn mark_stopped(&self, id: &str) {
        let hub = &self.context.hub;
        let _ = self.runs.with(id, hub, |e| e.info.running = false);
        self.runs.finish(id, hub);
    }

    /// Hands an outside agent's thinking or decision (docs/SPEC.md section 5) to the session it
    /// drives, wherever it runs; returns the open time of the bar it is about. Refused
    /// when the session is not `external`, not running, paused, or has no bar waiting
    /// for a decision (the topic says: the last closed candle is decided already).
    pub async fn from_agent(
        &self,
        caller: &Caller,
        id: &str,
        command: Command,
    ) -> Result<Timestamp, RequestError> {
        let info = self.get(caller, id).await?;
        let not_now = |why: String| RequestError::NotNow {
            kind: "session",
            id: id.to_owned(),
            why,
        };
        if info.strategy != EXTERNAL {
            return Err(not_now(format!(
                "is driven by `{}`, not by an outside agent (start one with \"strategy\": \"{EXTERNAL}\")",
                info.strategy
            )));
        }
        let (topic, state) = self.taking(id, &info).await?;
        let Some(bar) = state.candles.iter().rev().find(|c| c.closed) else {
            return Err(not_now(
                "has seen no closed bar yet: the first decision is due when one closes".to_owned(),
            ));
        };
        if state
            .decisions
            .last()
            .is_some_and(|d| d.bar_time >= bar.open_time)
        {
            return Err(not_now(format!(
                "has decided on its last bar ({}) already: the next decision is due when the next bar closes",
                bar.open_time
            )));
        }
        self.context
            .hub
            .command(&topic, command)
            .await
            .map_err(|_| finished(id))?;
        Ok(bar.open_time)
    }

    /// The topic and state of session `id` (`info` its listing) if it takes requests
    /// now: running, not paused.
    async fn taking(
        &self,
        id: &str,
        info: &SessionInfo,
    ) -> Result<(Topic, SessionSnapshot), RequestError> {
        let topic = Topic::new(TopicKind::Session, id).map_err(|e| invalid("id", e))?;
        let SnapshotData::Session(state) = self.context.hub.snapshot(&topic).await?.data else {
            return Err(finished(id));
        };
        if !info.running || state.completed.is_some() {
            return Err(finished(id));
        }
        if state.paused {
            return Err(RequestError::NotNow {
                kind: "session",
                id: id.to_owned(),
                why: "is paused: resume it first".to_owned(),
            });
        }
        Ok((topic, state))
    }

    /// An order `caller` places by hand on session `id` (owner or admin; any
    /// instance): refused at once when the session's state says it cannot be taken.
    pub async fn manual(
        &self,
        caller: &Caller,
        id: &str,
        action: DecisionAction,
    ) -> Result<(), RequestError> {
        let info = self.get(caller, id).await?;
        let not_now = |why: &str| RequestError::NotNow {
            kind: "session",
            id: id.to_owned(),
            why: why.to_owned(),
        };
        let (topic, state) = self.taking(id, &info).await?;
        let held = state.open_positions.last().map(|p| p.opened.side);
        match (action, held) {
            (DecisionAction::Close, None) => return Err(not_now("has no open position to close")),
            (DecisionAction::Buy, Some(Side::Long)) => return Err(not_now("is long already")),
            (DecisionAction::Sell, Some(Side::Short)) => return Err(not_now("is short already")),
            _ => {}
        }
        let by = caller.sub().map(str::to_owned);
        self.context
            .hub
            .command(&topic, Command::Manual { action, by })
            .await
            .map_err(|_| finished(id))
    }

    /// Stops a session of `caller`'s (its position is closed at the last price); waits
    /// for it to finish.
    pub async fn stop(&self, caller: &Caller, id: &str) -> Result<SessionInfo, RequestError> {
        let hub = &self.context.hub;
        if !self.runs.is_here(id, hub) {
            return self.stop_elsewhere(caller, id).await;
        }
        let (task, info) = self.runs.reach(caller, id, hub, |e| {
            e.stop.cancel();
            (e.task.take(), e.info.clone())
        })?;
        if let Some(task) = task {
            let _ = task.await;
        }
        // Forgotten already when finished runs are not retained: it did stop.
        Ok(self.get(caller, id).await.unwrap_or(SessionInfo {
            running: false,
            ..info
        }))
    }

    /// Stops a session of `caller`'s if it runs, then forgets it everywhere (memory,
    /// cluster, store): it is listed and found no more. Returns what it was when it
    /// ended.
    pub async fn forget(&self, caller: &Caller, id: &str) -> Result<SessionInfo, RequestError> {
        let info = self.stop(caller, id).await?;
        let topic = Topic::new(TopicKind::Session, id).map_err(|e| invalid("id", e))?;
        self.runs.erase(id, &topic, &self.context.hub).await?;
        Ok(info)
    }

    /// Stops a session another instance runs: the command goes there, and this follows
    /// the session's topic until it says it completed (a few seconds at most).
    async fn stop_elsewhere(&self, caller: &Caller, id: &str) -> Result<SessionInfo, RequestError> {
        let info = self.get(caller, id).await?;
        if !info.running {
            return Ok(info);
        }
        let hub = &self.context.hub;
        let topic = Topic::new(TopicKind::Session, id).map_err(|e| invalid("id", e))?;
        let (outbox, mut rx) = hub.typed_outbox();
        hub.subscribe(&topic, None, None, &outbox).await?;
        let sent = hub.command(&topic, Command::Stop).await;
        let completed = async {
            while !ends_session(&rx.frames.recv().await) {}
            true
        };
        let stopped = sent.is_ok()
            && tokio::time::timeout(REMOTE_STOP_WAIT, completed)
                .await
                .unwrap_or(false);
        hub.unsubscribe(&topic, &outbox);
        if !stopped {
            return Err(Unavailable.into());
        }
        Ok(SessionInfo {
            running: false,
            ..info
        })
    }
}

/// A new session of `plan`'s, at its starting cash.
fn fresh(plan: &SessionPlan) -> PaperSession {
    let Account { cash, commission } = plan.account;
    PaperSession::new(
        plan.id.clone(),
        plan.symbol.clone(),
        plan.brain.clone(),
        cash,
        commission,
    )
}
