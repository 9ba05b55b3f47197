//! The backtests of one server: what was started, by id, and starting more.

use std::path::PathBuf;
use std::time::Duration;

use protocol::api::{
    BacktestRequest, Bar, RunBars, RunInfo, RunNotes, RunNotesPatch, RunOutcome, StartedRun,
};
use protocol::{Lifecycle, Message, RunStatus, Snapshot, SnapshotData, Timestamp, Topic};

use super::live::run::spawn;
use super::request::{plan, Plan};
use crate::auth::Caller;
use crate::hub::{Frame, HubError};
use crate::refusal::{invalid, RequestError};
use crate::runs::{Info, Listing, Owner, Run, RunBook, RunContext, RunLimits, Table};

impl Run for RunInfo {
    type Info = RunInfo;
    fn info(&self) -> RunInfo {
        self.clone()
    }
    fn info_mut(&mut self) -> &mut RunInfo {
        self
    }
    fn restored(info: RunInfo) -> Self {
        info
    }
}

impl Info for RunInfo {
    fn outcome_of(state: &SnapshotData) -> RunOutcome {
        let SnapshotData::Backtest(run) = state else {
            return RunOutcome::default();
        };
        let final_equity = run
            .complete
            .as_ref()
            .map(|c| c.final_equity)
            .or_else(|| run.equity.last().map(|point| point.1));
        RunOutcome {
            status: run.status,
            finished: None,
            final_equity: final_equity.filter(|_| run.status.is_over()),
        }
    }
}

/// What a backtest whose instance died ends with (docs/SPEC.md section 8).
fn died(_: &Snapshot) -> Message {
    Message::Interrupted(Lifecycle {
        reason: Some("the instance running this backtest stopped".to_owned()),
    })
}

/// The backtests of one server.
#[derive(Clone)]
pub struct Backtests {
    context: RunContext,
    data_dir: Option<PathBuf>,
    runs: RunBook<RunInfo>,
    /// How long a run may stay paused before it is cancelled (`--max-pause`).
    max_pause: Duration,
}

impl Backtests {
    pub fn new(
        context: RunContext,
        data_dir: Option<PathBuf>,
        limits: RunLimits,
        max_pause: Duration,
    ) -> Self {
        let runs = RunBook::new("backtest", limits, &context);
        runs.spawn_reaper(&context, died);
        Backtests {
            context,
            data_dir,
            runs,
            max_pause,
        }
    }

    /// The page of runs `listing` asks for that `caller` may see, newest first.
    pub async fn list(
        &self,
        caller: &Caller,
        listing: &Listing,
    ) -> Result<Vec<RunInfo>, RequestError> {
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

    /// Sets the title, notes or tags of a run `caller` may reach.
    pub async fn annotate(
        &self,
        caller: &Caller,
        id: &str,
        patch: RunNotesPatch,
    ) -> Result<RunInfo, RequestError> {
        self.runs
            .annotate(caller, id, patch, &self.context.hub)
            .await
    }

    /// Forgets a finished run `caller` may reach, everywhere.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), RequestError> {
        self.runs.delete(caller, id, &self.context.hub).await
    }

    /// Marks `interrupted` every backtest the last stop of this server cut off (a crash:
    /// a stop with time to spare ends them so itself).
    pub async fn recover(&self) {
        self.runs.interrupt_unfinished(&self.context.hub).await;
    }

    /// The datasets a request may name: stems of the CSV files in `--data-dir`, sorted.
    pub fn datasets(&self) -> std::io::Result<Vec<String>> {
        let Some(dir) = &self.data_dir else {
            return Ok(Vec::new());
        };
        let mut names: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                if path.extension()? != "csv" {
                    return None;
                }
                Some(path.file_stem()?.to_str()?.to_owned())
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// The run with this id, wherever it runs, if `caller` may see it.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<RunInfo, RequestError> {
        self.runs.info(caller, id, &self.context.hub).await
    }

    /// Who started the run with this id (see [`RunBook::owner`]).
    pub async fn owner(&self, id: &str) -> Result<Owner, HubError> {
        self.runs.owner(id, &self.context.hub).await
    }

    /// The bars run `id` traded on, if `caller` may reach it: the newest `limit` opening
    /// before `before` (or of all of them), read again from the data its request named
    /// (an upload is kept in the request). Refused when that data no longer has the
    /// run's bars.
    pub async fn bars(
        &self,
        caller: &Caller,
        id: &str,
        before: Option<Timestamp>,
        limit: usize,
    ) -> Result<RunBars, RequestError> {
        let info = self.get(caller, id).await?;
        let request = self.runs.request(caller, id, &self.context.hub).await?;
        let request: BacktestRequest = serde_json::from_str(&request)
            .map_err(|e| invalid("request", format!("kept request unreadable: {e}")))?;
        let plan = self.planned(request).await?;
        let changed = |why: String| RequestError::NotNow {
            kind: "backtest",
            id: id.to_owned(),
            why,
        };
        let bars = match plan {
            Ok(plan) if plan.bars.len() == info.bars => plan.bars,
            Ok(plan) => {
                return Err(changed(format!(
                    "ran on {} bars; its data has {} now: it changed since",
                    info.bars,
                    plan.bars.len()
                )))
            }
            Err(e) => return Err(changed(format!("cannot read its data again: {e}"))),
        };
        let end = match before {
            Some(t) => bars.time.partition_point(|&ms| ms < t.unix_ms()),
            None => bars.len(),
        };
        let first = end.saturating_sub(limit);
        let bar = |i: usize| Bar {
            time: Timestamp::from_unix_ms(bars.time[i]),
            open: bars.open[i],
            high: bars.high[i],
            low: bars.low[i],
            close: bars.close[i],
            volume: bars.volume[i],
        };
        Ok(RunBars {
            backtest_id: info.backtest_id,
            symbol: info.symbol,
            total: bars.len(),
            first,
            opening: (!bars.is_empty()).then(|| bar(0)),
            bars: (first..end).map(bar).collect(),
        })
    }

    /// `request` validated and its bars loaded, off the async threads (loading a large
    /// CSV is blocking work); the outer error is the loading task's.
    async fn planned(
        &self,
        request: BacktestRequest,
    ) -> Result<Result<Plan, RequestError>, RequestError> {
        let data_dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || plan(request, data_dir.as_deref()))
            .await
            .map_err(|e| invalid("data", format!("could not be loaded: {e}")))
    }

    /// Validates `request` and starts it in the background, as `caller`'s.
    pub async fn start(
        &self,
        caller: &Caller,
        request: BacktestRequest,
    ) -> Result<StartedRun, RequestError> {
        let kept = request.clone();
        let plan = self.planned(request).await??;
        let info = RunInfo {
            backtest_id: plan.id.clone(),
            topic: plan.topic.to_string(),
            strategy: plan.strategy.name().to_owned(),
            params: plan.strategy.params(),
            symbol: plan.symbol.clone(),
            bars: plan.bars.len(),
            cash: plan.account.cash,
            commission: plan.account.commission,
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
        let hub = &self.context.hub;
        self.runs
            .insert(&plan.id, plan.topic.clone(), caller, info, &kept, hub)
            .await?;
        let started = StartedRun {
            backtest_id: plan.id.clone(),
            topic: plan.topic.to_string(),
            stream_url: format!("/api/ws/stream/backtest/{}", plan.id),
        };
        let (runs, hub, id) = (self.runs.clone(), hub.clone(), plan.id.clone());
        spawn(&self.context, plan, self.max_pause, move || {
            runs.finish(&id, &hub);
        });
        Ok(started)
    }
}
