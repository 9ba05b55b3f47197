//! A run book's side in the store (docs/STORE.md): a run is kept from its start to its
//! end, brought back into memory when it is asked for after the book forgot it (its
//! topic rebuilt from its kept record, exactly as it was), annotated, deleted, and,
//! after a restart, taken up again or marked `interrupted`.

use std::sync::Arc;
use std::time::Instant;

use protocol::api::{Listed, RunNotes, RunNotesPatch, RunOutcome};
use protocol::{Lifecycle, Message, RunStatus, Snapshot, Timestamp, Topic};
use serde::Serialize;

use super::{Entry, Owner, Run, RunBook};
use crate::auth::Caller;
use crate::hub::{Frame, Hub, HubError, RunRecord, Unavailable};
use crate::refusal::{invalid, RequestError};
use crate::store::{Ended, NewRun, Store, StoreError, StoredRun};

/// Bounds of what a user writes on a run.
const MAX_TITLE: usize = 200;
const MAX_NOTES: usize = 10_000;
const MAX_TAGS: usize = 20;
const MAX_TAG: usize = 40;

/// What a run cut off by a stop or a crash ends with.
pub const INTERRUPTED: &str = "the server stopped before the run ended";

/// A store error where the hub's vocabulary is expected (access checks): the run's
/// owner cannot be known now, so the request is refused, not guessed.
fn away(e: StoreError) -> HubError {
    tracing::warn!(error = %e, "the store did not answer");
    HubError::Unavailable(Unavailable)
}

impl<T: Run + Send + 'static> RunBook<T> {
    /// Whether the store keeps a run with this id (its id stays taken).
    pub(super) async fn is_kept(&self, id: &str) -> Result<bool, RequestError> {
        match &self.store {
            Some(store) => Ok(store.get(self.kind, id).await?.is_some()),
            None => Ok(false),
        }
    }

    /// Keeps a run that is starting.
    pub(super) async fn keep_new(
        &self,
        id: &str,
        caller: &Caller,
        value: &T,
        request: &impl Serialize,
        hub: &Hub,
    ) -> Result<(), RequestError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let info = value.info();
        let owner = caller.owner();
        let run = NewRun {
            kind: self.kind,
            id,
            owner: owner.as_deref(),
            instance: hub.instance(),
            strategy: info.strategy(),
            symbol: info.symbol(),
            created_ms: info.created().unix_ms(),
            info: serde_json::to_string(&info).map_err(StoreError::from)?,
            request: serde_json::to_string(request).map_err(StoreError::from)?,
        };
        store.insert(run, info.outcome().status).await?;
        Ok(())
    }

    /// Forgets the row of a run that could not start after all.
    pub(super) async fn unkeep(&self, id: &str) {
        if let Some(store) = &self.store {
            if let Err(e) = store.delete(self.kind, id).await {
                tracing::warn!(kind = self.kind, id, error = %e, "a run that did not start is still kept");
            }
        }
    }

    /// Keeps how a run ended (`info` holds its outcome).
    pub(super) fn keep_end(&self, store: &Store, id: &str, info: &T::Info, cut: bool) {
        let outcome = info.outcome();
        let info_json = match serde_json::to_string(info) {
            Ok(json) => json,
            Err(e) => {
                tracing::error!(kind = self.kind, id, error = %e, "a run's end is not kept");
                return;
            }
        };
        let ended = Ended {
            status: outcome.status,
            finished_ms: outcome.finished.map(|t| t.unix_ms()),
            final_equity: outcome.final_equity,
            record_cut: cut,
            info: info_json,
        };
        store.end(self.kind, id, ended);
    }

    /// Keeps a dead instance's run `id` as `interrupted` (its `record` is the cluster's).
    pub(super) fn keep_death(&self, id: &str, record: &RunRecord, now_ms: i64) {
        let Some(store) = &self.store else {
            return;
        };
        let Ok(mut info) = serde_json::from_value::<T::Info>(record.info.clone()) else {
            tracing::warn!(
                kind = self.kind,
                id,
                "a dead run's listing is unreadable: not kept"
            );
            return;
        };
        *info.outcome_mut() = RunOutcome {
            status: RunStatus::Interrupted,
            finished: Some(Timestamp::from_unix_ms(now_ms)),
            final_equity: None,
        };
        self.keep_end(store, id, &info, false);
    }

    /// The kept run `id` with its listing filled in (outcome and notes from its row).
    fn listing(&self, row: &StoredRun) -> Result<T::Info, StoreError> {
        let mut info: T::Info = serde_json::from_value(row.info.clone())?;
        let outcome = info.outcome_mut();
        outcome.status = row.status;
        outcome.finished = row.finished_ms.map(Timestamp::from_unix_ms);
        outcome.final_equity = row.final_equity;
        *info.notes_mut() = row.notes.clone();
        Ok(info)
    }

    /// Listings of kept rows.
    pub(super) fn listings(&self, rows: &[StoredRun]) -> Vec<T::Info> {
        rows.iter()
            .filter_map(|row| match self.listing(row) {
                Ok(info) => Some(info),
                Err(e) => {
                    tracing::warn!(kind = self.kind, id = row.id, error = %e, "a kept run is unreadable: not listed");
                    None
                }
            })
            .collect()
    }

    /// The kept run `id`, back in memory as a finished run (its topic too, unless this
    /// instance has it): its owner and listing. `None` if the store has no such run.
    pub(super) async fn bring_back(
        &self,
        id: &str,
        hub: &Hub,
    ) -> Result<Option<(Option<String>, T::Info)>, HubError> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        let Some(row) = store.get(self.kind, id).await.map_err(away)? else {
            return Ok(None);
        };
        let info = self.listing(&row).map_err(away)?;
        if row.finished_ms.is_some() && !self.is_here(id, hub) {
            match self
                .adopt(store, &row, T::restored(info.clone()), hub, false)
                .await
            {
                Ok(_) => self.finish_restored(id, hub),
                Err(e) => {
                    tracing::warn!(kind = self.kind, id, error = %e, "a kept run is listed but its topic is not brought back");
                }
            }
        }
        Ok(Some((row.owner, info)))
    }

    /// Takes a kept run into the book (unfinished) with `value`, its topic rebuilt from
    /// its kept record and recorded on; with `follow`, what it records next is kept too
    /// (a run that goes on: taken up, or ended `interrupted`).
    pub async fn adopt(
        &self,
        store: &Store,
        row: &StoredRun,
        value: T,
        hub: &Hub,
        follow: bool,
    ) -> Result<Topic, RequestError> {
        let topic: Topic = format!("{}:{}", self.kind, row.id)
            .parse()
            .map_err(|e| invalid("id", e))?;
        let frames: Vec<Frame> = store
            .messages(self.kind, &row.id)
            .await?
            .into_iter()
            .map(Frame::from)
            .collect();
        hub.restore(&topic, frames, row.record_cut)
            .await
            .map_err(|e| invalid("record", e))?;
        if follow {
            // On Redis the replica records from here; in memory it holds the record.
            hub.record(&topic).await?;
            let kept = hub
                .held(&topic)
                .map_or(0, |(snapshot, _)| snapshot.last_seq);
            store.follow(self.kind, &row.id, &topic, hub, kept);
        }
        let mut entries = self.lock(hub);
        entries.entry(row.id.clone()).or_insert_with(|| Entry {
            value,
            topic: topic.clone(),
            owner: row.owner.as_deref().map(Arc::from),
            finished: None,
            request: None,
            held_bytes: 0,
        });
        Ok(topic)
    }

    /// Marks a run brought back for reading finished, without keeping an end again.
    fn finish_restored(&self, id: &str, hub: &Hub) {
        let mut entries = self.lock(hub);
        if let Some(e) = entries.get_mut(id) {
            e.finished.get_or_insert_with(Instant::now);
            e.held_bytes = hub.held_bytes(&e.topic);
        }
        self.trim(&mut entries, id, hub);
    }

    /// The runs of this kind the store kept as running when this server last stopped:
    /// cut off by a stop or a crash (in a cluster, only this instance's share is ever
    /// taken up: runs of a live instance are never touched).
    pub async fn unfinished(&self, hub: &Hub) -> Vec<StoredRun> {
        let Some(store) = &self.store else {
            return Vec::new();
        };
        match store.unfinished(self.kind).await {
            Ok(rows) => rows
                .into_iter()
                .filter(|row| row.instance == hub.instance())
                .collect(),
            Err(e) => {
                tracing::warn!(kind = self.kind, error = %e, "cut-off runs not looked for");
                Vec::new()
            }
        }
    }

    /// Marks `interrupted` every run of this kind the last stop of this server cut off
    /// (a crash: a stop with time to spare ends them so itself).
    pub async fn interrupt_unfinished(&self, hub: &Hub) {
        for row in self.unfinished(hub).await {
            if let Err(e) = self.interrupt(&row, hub).await {
                tracing::warn!(kind = self.kind, id = row.id, error = %e, "a cut-off run is not marked interrupted");
            }
        }
    }

    /// Ends a run cut off mid-way: its topic comes back as it was, `interrupted` is
    /// published on it (and kept), and it is finished.
    pub async fn interrupt(&self, row: &StoredRun, hub: &Hub) -> Result<(), RequestError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let info = self.listing(row)?;
        let topic = self.adopt(store, row, T::restored(info), hub, true).await?;
        let reason = Some(INTERRUPTED.to_owned());
        if let Err(e) = hub
            .publish(&topic, Message::Interrupted(Lifecycle { reason }))
            .await
        {
            tracing::warn!(%topic, error = %e, "could not publish a cut-off run's end");
        }
        self.finish(&row.id, hub);
        tracing::info!(
            kind = self.kind,
            id = row.id,
            "cut off by the last stop: interrupted"
        );
        Ok(())
    }

    /// Replaces what `patch` names of the notes of run `id`, if `caller` may reach it;
    /// the run's listing after.
    pub async fn annotate(
        &self,
        caller: &Caller,
        id: &str,
        patch: RunNotesPatch,
        hub: &Hub,
    ) -> Result<T::Info, RequestError> {
        let mut info = self.info(caller, id, hub).await?;
        let notes = patched(info.notes_mut().clone(), patch)?;
        if let Some(store) = &self.store {
            if !store.annotate(self.kind, id, &notes).await? {
                return Err(self.not_found(id));
            }
        }
        let _ = self.with(id, hub, |value| {
            *value.info_mut().notes_mut() = notes.clone();
        });
        *info.notes_mut() = notes;
        Ok(info)
    }

    /// Forgets run `id` everywhere (memory, cluster, store), if `caller` may reach it
    /// and it has ended: a `GET` after it answers 404.
    pub async fn delete(&self, caller: &Caller, id: &str, hub: &Hub) -> Result<(), RequestError> {
        let info = self.info(caller, id, hub).await?;
        let running = self.lock(hub).get(id).is_some_and(|e| e.finished.is_none());
        if running || (!info.outcome().status.is_over() && !self.is_here(id, hub)) {
            return Err(RequestError::NotNow {
                kind: self.kind,
                id: id.to_owned(),
                why: "is still running: stop it first".to_owned(),
            });
        }
        let topic: Topic = format!("{}:{id}", self.kind)
            .parse()
            .map_err(|e| invalid("id", e))?;
        self.erase(id, &topic, hub).await
    }

    /// Forgets run `id` (ended) in the store, then in memory and the cluster.
    pub async fn erase(&self, id: &str, topic: &Topic, hub: &Hub) -> Result<(), RequestError> {
        if let Some(store) = &self.store {
            // Nothing of it still queued is written after it is gone.
            store.flush().await;
            store.delete(self.kind, id).await?;
        }
        self.forget(id, topic, hub);
        Ok(())
    }

    /// The kept record of run `id` (its frames, and whether it was cut), read from the
    /// store: a run's record does not live only with the instance that ran it. None
    /// without a store, or for a run it does not keep.
    pub async fn kept_record(&self, id: &str) -> Result<Option<(Vec<Frame>, bool)>, RequestError> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        let Some(row) = store.get(self.kind, id).await? else {
            return Ok(None);
        };
        let frames = store.messages(self.kind, id).await?;
        Ok(Some((
            frames.into_iter().map(Frame::from).collect(),
            row.record_cut,
        )))
    }

    /// `topic`'s state for run `id`: the hub's, or, when the hub holds nothing of it (a
    /// cluster whose Redis dropped a finished run's topic), its kept record folded.
    pub async fn state(
        &self,
        id: &str,
        topic: &Topic,
        hub: &Hub,
    ) -> Result<Snapshot, RequestError> {
        let held = hub.snapshot(topic).await?;
        if held.last_seq > 0 {
            return Ok(held);
        }
        match self.kept_record(id).await? {
            Some((frames, _)) if !frames.is_empty() => {
                Hub::fold_record(topic, frames).map_err(|e| invalid("record", e))
            }
            _ => Ok(held),
        }
    }

    /// Who started the kept run `id`, if the store has it (brought back to memory).
    pub(super) async fn kept_owner(&self, id: &str, hub: &Hub) -> Result<Owner, HubError> {
        Ok(match self.bring_back(id, hub).await? {
            Some((owner, _)) => Owner::of_run(owner.map(Arc::from)),
            None => Owner::NotARun,
        })
    }
}

/// `notes` with what `patch` gives replaced, each within its bounds (422 naming the
/// field otherwise). An empty title or notes clears it.
fn patched(mut notes: RunNotes, patch: RunNotesPatch) -> Result<RunNotes, RequestError> {
    let text = |field: &'static str, value: String, max: usize| {
        let value = value.trim().to_owned();
        if value.chars().count() > max {
            return Err(invalid(field, format!("is longer than {max} characters")));
        }
        Ok((!value.is_empty()).then_some(value))
    };
    if let Some(title) = patch.title {
        notes.title = text("title", title, MAX_TITLE)?;
    }
    if let Some(text_) = patch.notes {
        notes.notes = text("notes", text_, MAX_NOTES)?;
    }
    if let Some(tags) = patch.tags {
        if tags.len() > MAX_TAGS {
            return Err(invalid("tags", format!("holds more than {MAX_TAGS} tags")));
        }
        let mut kept: Vec<String> = Vec::with_capacity(tags.len());
        for tag in tags {
            let tag = tag.trim().to_owned();
            if tag.is_empty() || tag.chars().count() > MAX_TAG || tag.chars().any(char::is_control)
            {
                return Err(invalid(
                    "tags",
                    format!("each tag is 1 to {MAX_TAG} printable characters"),
                ));
            }
            if !kept.contains(&tag) {
                kept.push(tag);
            }
        }
        notes.tags = kept;
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_replaces_what_it_names_and_keeps_the_rest() {
        let notes = RunNotes {
            title: Some("a".into()),
            notes: Some("b".into()),
            tags: vec!["x".into()],
        };
        let patch = RunNotesPatch {
            title: Some(" ".into()),
            tags: Some(vec!["y".into(), "y".into(), " z ".into()]),
            ..RunNotesPatch::default()
        };
        let notes = patched(notes, patch).expect("valid");
        assert_eq!(notes.title, None, "an empty title clears it");
        assert_eq!(notes.notes.as_deref(), Some("b"));
        assert_eq!(notes.tags, ["y", "z"]);
    }

    #[test]
    fn a_patch_past_its_bounds_names_the_field() {
        let long = RunNotesPatch {
            title: Some("t".repeat(MAX_TITLE + 1)),
            ..RunNotesPatch::default()
        };
        assert!(
            matches!(patched(RunNotes::default(), long), Err(RequestError::Invalid(f)) if f.field == "title")
        );
        let many = RunNotesPatch {
            tags: Some((0..=MAX_TAGS).map(|i| i.to_string()).collect()),
            ..RunNotesPatch::default()
        };
        assert!(
            matches!(patched(RunNotes::default(), many), Err(RequestError::Invalid(f)) if f.field == "tags")
        );
    }
}
