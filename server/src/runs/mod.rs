//! The book of one kind of run (backtests, sessions) on one server: entries by id, a cap
//! on how many are active at once (`--max-backtests`, `--max-sessions`: 429 beyond), and
//! how long a finished one is kept (`--retain-runs`) before it leaves listings and
//! memory, its topic with it (docs/SPEC.md section 12). Every run started is tracked, so
//! shutdown can wait for all of them to publish their ends.
//!
//! On Redis the book is this instance's share of the cluster's runs (docs/SPEC.md section 8):
//! each run is also recorded in Redis, so any instance lists it, checks its owner and
//! routes commands to it, and a run whose instance died is marked `interrupted` (its
//! end published on its topic) by whichever instance notices first.
//!
//! With a store (docs/STORE.md) every run is also kept there from its start: the book
//! in memory is then a cache of the recent ones, and a run it has forgotten (after
//! `--retain-runs`, or a restart) is brought back from the store when it is asked for
//! (`kept`).

mod export;
mod kept;
mod listing;

pub use export::Table;
pub use kept::INTERRUPTED;
pub use listing::Listing;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use protocol::api::{Listed, RunOutcome};
use protocol::{Message, RunStatus, Snapshot, SnapshotData, Timestamp, Topic};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Caller;
use crate::hub::{Hub, HubError, RunRecord};
use crate::notices::{self, Notices};
use crate::refusal::RequestError;
use crate::store::Store;

/// Who a topic's run belongs to, as access is decided on it (`crate::access`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// No run of the cluster has this topic (a market or trading topic, or no such run).
    NotARun,
    /// A run started in anonymous mode: no one's in token mode but the admins'.
    Anonymous,
    /// A run started by this token `sub`.
    User(Arc<str>),
}

impl Owner {
    /// The owner of a run started by `sub` (none in anonymous mode).
    fn of_run(sub: Option<Arc<str>>) -> Self {
        sub.map_or(Owner::Anonymous, Owner::User)
    }
}

/// How many runs of a kind may be active (in all, and per user in token mode), and how
/// long a finished one is kept.
#[derive(Clone, Copy, Debug)]
pub struct RunLimits {
    pub max_active: usize,
    pub max_per_user: usize,
    pub retain: Duration,
    /// The most bytes of records and history the finished runs may hold; past it the
    /// longest-finished are forgotten early (`--retain-runs-bytes`).
    pub retain_bytes: usize,
}

/// What a run needs from the server around it: the hub, the store (none with
/// `--database-url none`), the shutdown signal (every run stops on it) and the tracker
/// shutdown waits on.
#[derive(Clone)]
pub struct RunContext {
    pub hub: Hub,
    /// Where the runs' owners are told of their ends, fills and feeds.
    pub notices: Notices,
    pub store: Option<Store>,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
}

/// What a book keeps per run: its own state, and the info listings show (on every
/// instance, so it travels as JSON).
pub trait Run {
    type Info: Info;
    fn info(&self) -> Self::Info;
    fn info_mut(&mut self) -> &mut Self::Info;
    /// A finished run of this kind brought back from the store.
    fn restored(info: Self::Info) -> Self;
}

/// A run kind's listing (`RunInfo`, `SessionInfo`): what the book reads to list and
/// filter runs and fills in as they end and as their users annotate them (`Listed`),
/// and how the kind ends.
pub trait Info: Listed + Clone + Serialize + DeserializeOwned + Send + 'static {
    /// A run of this kind cut off by its server's stop resumes when it starts again
    /// (sessions), rather than ending `interrupted` (backtests).
    const RESUMES: bool = false;
    /// How a run of this kind stands, from its topic's state (`finished` left unset).
    fn outcome_of(state: &SnapshotData) -> RunOutcome;
}

struct Entry<T> {
    value: T,
    topic: Topic,
    /// The `sub` of who started it (none in anonymous mode).
    owner: Option<Arc<str>>,
    finished: Option<Instant>,
    /// The request that started it, as JSON, when no store keeps it.
    request: Option<Arc<str>>,
    /// What its topic holds once it has finished (its engine alone wrote there, and
    /// writes no more): counted once, not at every later run's end.
    held_bytes: usize,
}

/// Runs of one kind, by id.
pub struct RunBook<T> {
    kind: &'static str,
    limits: RunLimits,
    store: Option<Store>,
    notices: Notices,
    entries: Arc<Mutex<BTreeMap<String, Entry<T>>>>,
}

impl<T> Clone for RunBook<T> {
    fn clone(&self) -> Self {
        RunBook {
            kind: self.kind,
            limits: self.limits,
            store: self.store.clone(),
            notices: self.notices.clone(),
            entries: self.entries.clone(),
        }
    }
}

impl<T: Run + Send + 'static> RunBook<T> {
    /// An empty book of `kind` runs ("backtest", "session": the word errors use), kept
    /// in the context's store if there is one; their owners hear of their ends.
    pub fn new(kind: &'static str, limits: RunLimits, context: &RunContext) -> Self {
        RunBook {
            kind,
            limits,
            store: context.store.clone(),
            notices: context.notices.clone(),
            entries: Arc::default(),
        }
    }

    /// Adds an active run on `topic` started by `caller`, unless its id is taken (here,
    /// by another instance, or by a topic the hub still has) or the active ones are at
    /// the cap. The topic is kept while the run is. In token mode it starts afresh:
    /// whoever subscribed to the name before the run existed (allowed by their token's
    /// `topics` then) is not its subscriber; the owner starts a run paused to see it
    /// from its first message.
    pub async fn insert(
        &self,
        id: &str,
        topic: Topic,
        caller: &Caller,
        value: T,
        request: &impl Serialize,
        hub: &Hub,
    ) -> Result<(), RequestError> {
        let taken = hub.last_seq(&topic).await? > 0 || self.is_kept(id).await?;
        self.check_room(id, taken, caller.owner().as_deref(), hub)?;
        let record = self.record(caller.owner().as_deref(), &value, None, hub)?;
        if !hub.claim_run(self.kind, id, record).await? {
            return Err(self.exists(id));
        }
        if let Err(e) = self.keep_new(id, caller, &value, request, hub).await {
            hub.forget_run(self.kind, id);
            return Err(e);
        }
        {
            let mut entries = self.lock(hub);
            if entries.contains_key(id) {
                return Err(self.exists(id));
            }
            let entry = Entry {
                value,
                topic: topic.clone(),
                owner: caller.owner(),
                finished: None,
                request: match self.store {
                    Some(_) => None,
                    None => serde_json::to_string(request).ok().map(Arc::from),
                },
                held_bytes: 0,
            };
            entries.insert(id.to_owned(), entry);
        }
        let fresh = async {
            if caller.sub().is_some() {
                hub.drop_topic(&topic).await?;
            }
            hub.keep(&topic).await?;
            hub.record(&topic).await
        };
        if let Err(e) = fresh.await {
            self.lock(hub).remove(id);
            hub.forget_run(self.kind, id);
            self.unkeep(id).await;
            return Err(e.into());
        }
        if let Some(store) = &self.store {
            store.follow(self.kind, id, &topic, hub, 0);
        }
        Ok(())
    }

    /// Refuses a taken id, a server at its cap, or (token mode) a user at theirs.
    fn check_room(
        &self,
        id: &str,
        taken: bool,
        owner: Option<&str>,
        hub: &Hub,
    ) -> Result<(), RequestError> {
        let entries = self.lock(hub);
        if taken || entries.contains_key(id) {
            return Err(self.exists(id));
        }
        let active = || entries.values().filter(|e| e.finished.is_none());
        if active().count() >= self.limits.max_active {
            return Err(RequestError::TooMany {
                kind: self.kind,
                limit: self.limits.max_active,
            });
        }
        if let Some(owner) = owner {
            let theirs = active().filter(|e| e.owner.as_deref() == Some(owner));
            if theirs.count() >= self.limits.max_per_user {
                return Err(RequestError::TooManyOfYours {
                    kind: self.kind,
                    limit: self.limits.max_per_user,
                });
            }
        }
        Ok(())
    }

    fn exists(&self, id: &str) -> RequestError {
        RequestError::Exists {
            kind: self.kind,
            id: id.to_owned(),
        }
    }

    fn not_found(&self, id: &str) -> RequestError {
        RequestError::NotFound {
            kind: self.kind,
            id: id.to_owned(),
        }
    }

    fn forbidden(&self, id: &str) -> RequestError {
        RequestError::Forbidden {
            kind: self.kind,
            id: id.to_owned(),
        }
    }

    /// The cluster's record of a run of this instance's.
    fn record(
        &self,
        owner: Option<&str>,
        value: &T,
        finished_ms: Option<i64>,
        hub: &Hub,
    ) -> Result<RunRecord, RequestError> {
        let info = serde_json::to_value(value.info())
            .map_err(|e| crate::refusal::invalid("info", format!("cannot be recorded: {e}")))?;
        Ok(RunRecord {
            owner: owner.map(str::to_owned),
            instance: hub.instance().to_owned(),
            info,
            finished_ms,
        })
    }

    /// The owners (none: anonymous) of this instance's active runs that `which` picks,
    /// each once.
    pub fn owners_of_active(&self, hub: &Hub, which: impl Fn(&T) -> bool) -> Vec<Option<Arc<str>>> {
        let mut owners: Vec<Option<Arc<str>>> = self
            .lock(hub)
            .values()
            .filter(|e| e.finished.is_none() && which(&e.value))
            .map(|e| e.owner.clone())
            .collect();
        owners.sort();
        owners.dedup();
        owners
    }

    /// Marks the run finished: it no longer counts against the cap, and is forgotten
    /// once retained long enough.
    pub fn finish(&self, id: &str, hub: &Hub) {
        let mut entries = self.lock(hub);
        let Some(e) = entries.get_mut(id) else {
            return;
        };
        e.finished.get_or_insert_with(Instant::now);
        e.held_bytes = hub.held_bytes(&e.topic);
        let now = chrono::Utc::now();
        let held = hub.held(&e.topic);
        let info = e.value.info_mut();
        if let Some((snapshot, _)) = &held {
            if let Some(notice) = notices::run_ended(&e.topic, &snapshot.data) {
                self.notices.send(e.owner.as_deref(), notice);
            }
            let outcome = T::Info::outcome_of(&snapshot.data);
            let resumes = T::Info::RESUMES && outcome.status == RunStatus::Interrupted;
            *info.outcome_mut() = RunOutcome {
                finished: (!resumes).then(|| Timestamp::from_datetime(now)),
                ..outcome
            };
        }
        if let Some(store) = &self.store {
            let cut = held.as_ref().is_some_and(|(_, cut)| *cut);
            self.keep_end(store, id, info, cut);
        }
        let now_ms = now.timestamp_millis();
        if let Ok(record) = self.record(e.owner.as_deref(), &e.value, Some(now_ms), hub) {
            hub.record_run(self.kind, id, record);
        }
        self.trim(&mut entries, id, hub);
    }

    /// While the finished runs hold more than `--retain-runs-bytes`, forgets the one
    /// that finished longest ago, never `newest` (what just ended stays to be seen).
    fn trim(&self, entries: &mut BTreeMap<String, Entry<T>>, newest: &str, hub: &Hub) {
        let mut finished: Vec<(Instant, String, usize)> = entries
            .iter()
            .filter_map(|(id, e)| Some((e.finished?, id.clone(), e.held_bytes)))
            .collect();
        let mut held: usize = finished.iter().map(|(_, _, bytes)| bytes).sum();
        finished.sort();
        for (_, id, bytes) in finished {
            if held <= self.limits.retain_bytes {
                break;
            }
            if id == newest {
                continue;
            }
            if let Some(e) = entries.remove(&id) {
                hub.forget(&e.topic);
                hub.forget_run(self.kind, &id);
                held -= bytes;
                tracing::info!(
                    kind = self.kind,
                    id,
                    "forgotten early: finished runs hold more than --retain-runs-bytes"
                );
            }
        }
    }

    /// Forgets the run with this id now, as its retention would later: it leaves the
    /// listings, and its topic and its record go (a later run with the id starts a
    /// new epoch).
    pub fn forget(&self, id: &str, topic: &Topic, hub: &Hub) {
        self.lock(hub).remove(id);
        hub.forget(topic);
        hub.forget_run(self.kind, id);
    }

    /// `f` of the run with this id, here.
    pub fn with<R>(
        &self,
        id: &str,
        hub: &Hub,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, RequestError> {
        match self.lock(hub).get_mut(id) {
            Some(e) => Ok(f(&mut e.value)),
            None => Err(self.not_found(id)),
        }
    }

    /// `f` of the run with this id, if it runs here and `caller` may reach it (403 if
    /// not; 404 if it does not run here).
    pub fn reach<R>(
        &self,
        caller: &Caller,
        id: &str,
        hub: &Hub,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, RequestError> {
        match self.lock(hub).get_mut(id) {
            Some(e) if caller.may_reach(e.owner.as_deref()) => Ok(f(&mut e.value)),
            Some(_) => Err(self.forbidden(id)),
            None => Err(self.not_found(id)),
        }
    }

    /// The info of the run with this id, wherever in the cluster it runs, if `caller`
    /// may reach it.
    pub async fn info(
        &self,
        caller: &Caller,
        id: &str,
        hub: &Hub,
    ) -> Result<T::Info, RequestError> {
        match self.reach(caller, id, hub, |value| value.info()) {
            Err(RequestError::NotFound { .. }) => {}
            here => return here,
        }
        let (owner, info) = match hub.run_elsewhere(self.kind, id).await? {
            Some(record) => {
                let info = serde_json::from_value(record.info)
                    .map_err(|e| crate::refusal::invalid("info", format!("unreadable: {e}")))?;
                (record.owner, info)
            }
            None => match self.bring_back(id, hub).await? {
                Some(kept) => kept,
                None => return Err(self.not_found(id)),
            },
        };
        if !caller.may_reach(owner.as_deref()) {
            return Err(self.forbidden(id));
        }
        Ok(info)
    }

    /// The request that started run `id`, as JSON, if `caller` may reach the run: from
    /// memory, else from the store (in a cluster without a store, only the instance
    /// that ran it knows it).
    pub async fn request(
        &self,
        caller: &Caller,
        id: &str,
        hub: &Hub,
    ) -> Result<Arc<str>, RequestError> {
        self.info(caller, id, hub).await?;
        if let Some(request) = self.lock(hub).get(id).and_then(|e| e.request.clone()) {
            return Ok(request);
        }
        let kept = match &self.store {
            Some(store) => store.get(self.kind, id).await?,
            None => None,
        };
        kept.map(|row| Arc::from(row.request))
            .ok_or_else(|| RequestError::NotNow {
                kind: self.kind,
                id: id.to_owned(),
                why: "ran on another instance, and no store keeps its request".to_owned(),
            })
    }

    /// Whether the run with this id runs on this instance.
    pub fn is_here(&self, id: &str, hub: &Hub) -> bool {
        self.lock(hub).contains_key(id)
    }

    /// Who started the run with this id, wherever it runs.
    pub async fn owner(&self, id: &str, hub: &Hub) -> Result<Owner, HubError> {
        if let Some(owner) = self.lock(hub).get(id).map(|e| e.owner.clone()) {
            return Ok(Owner::of_run(owner));
        }
        match hub.run_elsewhere(self.kind, id).await? {
            Some(r) => Ok(Owner::of_run(r.owner.map(Arc::from))),
            None => self.kept_owner(id, hub).await,
        }
    }

    /// The page of runs `listing` asks for that `caller` may reach, newest first: from
    /// the store when there is one (every run it keeps), else from every instance's
    /// memory (only this instance's while Redis is away).
    pub async fn list(
        &self,
        caller: &Caller,
        listing: &Listing,
        hub: &Hub,
    ) -> Result<Vec<T::Info>, RequestError> {
        let Some(store) = &self.store else {
            return listing.apply(self.held(caller, hub).await);
        };
        let filter = listing.filter(caller.producer())?;
        // What ended a moment ago is listed as ended.
        store.flush().await;
        match store.list(self.kind, &filter).await? {
            Some(rows) => Ok(self.listings(&rows)),
            None => Err(listing::no_such_run(
                filter.before.as_deref().unwrap_or_default(),
            )),
        }
    }

    /// `table` of run `id` as CSV, from its whole record, if `caller` may reach it.
    pub async fn export(
        &self,
        caller: &Caller,
        id: &str,
        table: Table,
        hub: &Hub,
    ) -> Result<String, RequestError> {
        self.info(caller, id, hub).await?;
        let topic: Topic = format!("{}:{id}", self.kind)
            .parse()
            .map_err(|e| crate::refusal::invalid("id", e))?;
        let recorded = hub.recorded(&topic).await?;
        export::csv(topic.kind(), table, &recorded.messages).map_err(|e| {
            crate::refusal::invalid("record", format!("cannot be written as CSV: {e}"))
        })
    }

    /// The info of every run in the cluster's memory `caller` may reach.
    async fn held(&self, caller: &Caller, hub: &Hub) -> Vec<T::Info> {
        let mut infos: Vec<T::Info> = self
            .lock(hub)
            .values()
            .filter(|e| caller.may_reach(e.owner.as_deref()))
            .map(|e| e.value.info())
            .collect();
        match hub.runs_elsewhere(self.kind).await {
            Ok(records) => infos.extend(
                records
                    .into_iter()
                    .filter(|(_, r)| caller.may_reach(r.owner.as_deref()))
                    .filter_map(|(_, r)| serde_json::from_value(r.info).ok()),
            ),
            Err(e) => {
                tracing::warn!(kind = self.kind, error = %e, "listing this instance's runs only");
            }
        }
        infos
    }

    /// On Redis, every lease period: marks the runs of dead instances finished,
    /// publishing `death(their state)` on their topics, and forgets the records of runs
    /// finished longer than the retention (their topics too).
    pub fn spawn_reaper(&self, context: &RunContext, death: fn(&Snapshot) -> Message) {
        let Some(period) = context.hub.lease_period() else {
            return;
        };
        let (book, hub, shutdown) = (self.clone(), context.hub.clone(), context.shutdown.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                if let Err(e) = book.reap(&hub, death).await {
                    tracing::debug!(kind = book.kind, error = %e, "runs not reaped this time");
                }
            }
        });
    }

    async fn reap(&self, hub: &Hub, death: fn(&Snapshot) -> Message) -> Result<(), HubError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let retain_ms = i64::try_from(self.limits.retain.as_millis()).unwrap_or(i64::MAX);
        for (id, record) in hub.runs_elsewhere(self.kind).await? {
            let Ok(topic) = format!("{}:{id}", self.kind).parse::<Topic>() else {
                continue;
            };
            match record.finished_ms {
                None => {
                    if hub.reap_run(self.kind, &id, &record, now_ms).await? {
                        tracing::warn!(
                            kind = self.kind,
                            id,
                            instance = record.instance,
                            "its instance died: marked interrupted"
                        );
                        let end = death(&hub.snapshot(&topic).await?);
                        if let Err(e) = hub.publish(&topic, end).await {
                            tracing::warn!(%topic, error = %e, "could not publish a dead run's end");
                        }
                        // Its owner hears of it here: its own instance cannot tell them.
                        if let Ok(ended) = hub.snapshot(&topic).await {
                            if let Some(notice) = notices::run_ended(&topic, &ended.data) {
                                self.notices.send(record.owner.as_deref(), notice);
                            }
                        }
                        self.keep_death(&id, &record, now_ms);
                    }
                }
                Some(at) if now_ms.saturating_sub(at) >= retain_ms => {
                    hub.forget_run(self.kind, &id);
                    hub.forget(&topic);
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The entries, with the finished runs past their retention dropped first (their
    /// topics and records too: a later run with the same id starts a new epoch).
    fn lock(&self, hub: &Hub) -> MutexGuard<'_, BTreeMap<String, Entry<T>>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let retain = self.limits.retain;
        entries.retain(|id, e| match e.finished {
            Some(at) if at.elapsed() >= retain => {
                hub.forget(&e.topic);
                hub.forget_run(self.kind, id);
                false
            }
            _ => true,
        });
        entries
    }
}
