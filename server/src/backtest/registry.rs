//! The backtests of one server: what was started, by id, and starting more.

use std::path::PathBuf;
use std::time::Duration;

use protocol::api::{BacktestRequest, RunInfo, StartedRun};
use protocol::{ErrorInfo, Message, Snapshot, Timestamp};

use super::live::run::spawn;
use super::request::plan;
use crate::auth::Caller;
use crate::hub::HubError;
use crate::refusal::{invalid, RequestError};
use crate::runs::{Owner, Run, RunBook, RunContext, RunLimits};

impl Run for RunInfo {
    type Info = RunInfo;
    fn info(&self) -> RunInfo {
        self.clone()
    }
}

/// What a backtest whose instance died ends with: an error, so it reads as failed.
fn died(_: &Snapshot) -> Message {
    Message::Error(ErrorInfo {
        error: "the instance running this backtest stopped".to_owned(),
        details: None,
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
        let runs = RunBook::new("backtest", limits);
        runs.spawn_reaper(&context, died);
        Backtests {
            context,
            data_dir,
            runs,
            max_pause,
        }
    }

    /// Every run retained in the cluster that `caller` may see, oldest first.
    pub async fn list(&self, caller: &Caller) -> Vec<RunInfo> {
        let mut list = self.runs.list(caller, &self.context.hub).await;
        list.sort_by_key(|r| r.created);
        list
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

    /// Validates `request` and starts it in the background, as `caller`'s.
    pub async fn start(
        &self,
        caller: &Caller,
        request: BacktestRequest,
    ) -> Result<StartedRun, RequestError> {
        // Loading a large CSV is blocking work.
        let data_dir = self.data_dir.clone();
        let plan = tokio::task::spawn_blocking(move || plan(request, data_dir.as_deref()))
            .await
            .map_err(|e| invalid("data", format!("could not be loaded: {e}")))??;
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
        };
        let hub = &self.context.hub;
        self.runs
            .insert(&plan.id, plan.topic.clone(), caller, info, hub)
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
