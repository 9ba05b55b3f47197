//! The sweeps of one server: started, by id, kept with the run history (a run book of
//! kind `sweep`: `--max-sweeps`, `--max-sweeps-per-user`, retention and the store as
//! for backtests), and their results.

use std::path::PathBuf;
use std::time::Duration;

use protocol::api::{
    Listed, RunNotes, RunNotesPatch, RunOutcome, SweepCreated, SweepInfo, SweepRequest,
    SweepResultsPage,
};
use protocol::sweep::{SweepEntry, SweepResults};
use protocol::{Lifecycle, Message, RunStatus, Snapshot, SnapshotData, Timestamp, Topic};

use super::live::{spawn, Landed};
use super::request::{plan, SweepLimits};
use super::spread;
use crate::auth::Caller;
use crate::hub::HubError;
use crate::refusal::{invalid, RequestError};
use crate::runs::{Info, Listing, Owner, Run, RunBook, RunContext, RunLimits};

/// A sweep in the book: its listing, and its results as they land (empty for a sweep
/// brought back from the store: its results are read from its kept record).
pub struct SweepRun {
    info: SweepInfo,
    landed: Landed,
}

impl Run for SweepRun {
    type Info = SweepInfo;
    fn info(&self) -> SweepInfo {
        self.info.clone()
    }
    fn info_mut(&mut self) -> &mut SweepInfo {
        &mut self.info
    }
    fn restored(info: SweepInfo) -> Self {
        SweepRun {
            info,
            landed: Landed::default(),
        }
    }
}

impl Info for SweepInfo {
    fn outcome_of(state: &SnapshotData) -> RunOutcome {
        let SnapshotData::Sweep(sweep) = state else {
            return RunOutcome::default();
        };
        RunOutcome {
            status: sweep.status,
            finished: None,
            final_equity: sweep
                .top
                .first()
                .and_then(|best| best.final_equity)
                .filter(|_| sweep.status.is_over()),
        }
    }
}

/// What a sweep whose instance died ends with (docs/SPEC.md section 8).
fn died(_: &Snapshot) -> Message {
    Message::Interrupted(Lifecycle {
        reason: Some("the instance running this sweep stopped".to_owned()),
    })
}

/// The sweeps of one server.
#[derive(Clone)]
pub struct Sweeps {
    context: RunContext,
    data_dir: Option<PathBuf>,
    runs: RunBook<SweepRun>,
    limits: SweepLimits,
    max_pause: Duration,
}

impl Sweeps {
    pub fn new(
        context: RunContext,
        data_dir: Option<PathBuf>,
        runs: RunLimits,
        limits: SweepLimits,
        max_pause: Duration,
    ) -> Self {
        let book = RunBook::new("sweep", runs, &context);
        book.spawn_reaper(&context, died);
        if let Some(queue) = context.hub.work_queue().filter(|_| limits.workers > 0) {
            let shutdown = context.shutdown.clone();
            context
                .tasks
                .spawn(spread::serve(queue, limits.workers, shutdown));
        }
        Sweeps {
            context,
            data_dir,
            runs: book,
            limits,
            max_pause,
        }
    }

    /// Validates `request` and starts it in the background, as `caller`'s.
    pub async fn start(
        &self,
        caller: &Caller,
        request: SweepRequest,
    ) -> Result<SweepCreated, RequestError> {
        let kept = request.clone();
        let (data_dir, limits) = (self.data_dir.clone(), self.limits);
        let plan = tokio::task::spawn_blocking(move || plan(request, data_dir.as_deref(), limits))
            .await
            .map_err(|e| invalid("data", format!("could not be loaded: {e}")))??;
        let work = &plan.work;
        let info = SweepInfo {
            sweep_id: plan.id.clone(),
            topic: plan.topic.to_string(),
            strategy: <&str>::from(work.strategy).to_owned(),
            symbol: plan.symbol.clone(),
            dataset: kept.dataset.clone(),
            bars: work.bars.len(),
            combos: work.grid.combos(),
            objective: work.objective,
            top_n: plan.top_n,
            cash: work.account.cash,
            commission: work.account.commission,
            created: Timestamp::from_datetime(chrono::Utc::now()),
            outcome: RunOutcome {
                status: if plan.start_paused {
                    RunStatus::Paused
                } else {
                    RunStatus::Running
                },
                ..RunOutcome::default()
            },
            notes: RunNotes::default(),
        };
        let landed = Landed::default();
        let run = SweepRun {
            info,
            landed: landed.clone(),
        };
        let hub = &self.context.hub;
        self.runs
            .insert(&plan.id, plan.topic.clone(), caller, run, &kept, hub)
            .await?;
        let created = SweepCreated {
            sweep_id: plan.id.clone(),
            topic: plan.topic.to_string(),
            combos: work.grid.combos(),
        };
        let (runs, hub, id) = (self.runs.clone(), hub.clone(), plan.id.clone());
        spawn(&self.context, plan, landed, self.max_pause, move || {
            runs.finish(&id, &hub);
        });
        Ok(created)
    }

    /// Sets the title, notes or tags of a sweep `caller` may reach.
    pub async fn annotate(
        &self,
        caller: &Caller,
        id: &str,
        patch: RunNotesPatch,
    ) -> Result<SweepInfo, RequestError> {
        self.runs
            .annotate(caller, id, patch, &self.context.hub)
            .await
    }

    /// Forgets a finished sweep `caller` may reach, everywhere: its listing, record,
    /// topic and results.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), RequestError> {
        self.runs.delete(caller, id, &self.context.hub).await
    }

    /// Marks `interrupted` every sweep the last stop of this server cut off.
    pub async fn recover(&self) {
        self.runs.interrupt_unfinished(&self.context.hub).await;
    }

    /// The sweeps `caller` may see, as `listing` pages and filters them.
    pub async fn list(
        &self,
        caller: &Caller,
        listing: &Listing,
    ) -> Result<Vec<SweepInfo>, RequestError> {
        self.runs.list(caller, listing, &self.context.hub).await
    }

    /// The sweep with this id, wherever it runs, if `caller` may see it.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<SweepInfo, RequestError> {
        self.runs.info(caller, id, &self.context.hub).await
    }

    /// The state of sweep `id` on `topic`.
    pub async fn state(&self, id: &str, topic: &Topic) -> Result<Snapshot, RequestError> {
        self.runs.state(id, topic, &self.context.hub).await
    }

    /// Who started the sweep with this id.
    pub async fn owner(&self, id: &str) -> Result<Owner, HubError> {
        self.runs.owner(id, &self.context.hub).await
    }

    /// The results of sweep `id` by index, from `offset`, at most `limit`: as they
    /// landed on this instance, or read back from its kept record.
    pub async fn results(
        &self,
        caller: &Caller,
        id: &str,
        offset: u64,
        limit: usize,
    ) -> Result<SweepResultsPage, RequestError> {
        let info = self.get(caller, id).await?;
        // A page is taken under the lock: a request copies what it answers, not every
        // result landed.
        let over = info.outcome().status.is_over();
        let here = self
            .runs
            .with(id, &self.context.hub, |run| {
                let landed = run.landed.lock().ok()?;
                (!landed.is_empty() || !over).then(|| page_of(&landed, offset, limit))
            })
            .ok()
            .flatten();
        let (done, results) = match here {
            Some(page) => page,
            None => page_of(&self.kept_results(id).await?, offset, limit),
        };
        Ok(SweepResultsPage {
            sweep_id: info.sweep_id,
            objective: info.objective,
            combos: info.combos,
            done,
            results,
        })
    }

    /// The results in sweep `id`'s kept record (none when nothing keeps it).
    async fn kept_results(&self, id: &str) -> Result<Vec<SweepEntry>, RequestError> {
        let Some((frames, _)) = self.runs.kept_record(id).await? else {
            return Err(RequestError::NotNow {
                kind: "sweep",
                id: id.to_owned(),
                why: "has no results kept on this server".to_owned(),
            });
        };
        let mut results = Vec::new();
        for frame in frames {
            let envelope: protocol::Envelope = match serde_json::from_str(frame.as_str()) {
                Ok(envelope) => envelope,
                Err(e) => {
                    tracing::warn!(id, error = %e, "a kept sweep frame does not parse");
                    continue;
                }
            };
            if let Message::SweepResult(SweepResults { results: batch }) = envelope.message {
                results.extend(batch);
            }
        }
        Ok(results)
    }
}

/// How many of `entries` there are, and those from index `offset` on, at most `limit`,
/// by index.
fn page_of(entries: &[SweepEntry], offset: u64, limit: usize) -> (u64, Vec<SweepEntry>) {
    let mut from: Vec<&SweepEntry> = entries.iter().filter(|e| e.index >= offset).collect();
    from.sort_unstable_by_key(|entry| entry.index);
    from.truncate(limit);
    (entries.len() as u64, from.into_iter().cloned().collect())
}
