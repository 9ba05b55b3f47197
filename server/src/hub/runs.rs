//! Runs as the whole cluster sees them (docs/SPEC.md section 8): a backtest or session runs on
//! the instance that started it, and every instance lists it, checks its owner and
//! routes commands to it. In memory there is only this instance, and the run books
//! (`crate::runs`) hold everything; on Redis each run also has a [`RunRecord`].

use serde::{Deserialize, Serialize};

use super::{Hub, Unavailable};

/// A run as Redis records it, for the instances that do not run it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// The `sub` of who started it (none in anonymous mode).
    pub owner: Option<String>,
    /// The instance it runs on.
    pub instance: String,
    /// What listings show (the run kind's info, as JSON).
    pub info: serde_json::Value,
    /// When it ended (Unix ms); none while it runs.
    #[serde(default)]
    pub finished_ms: Option<i64>,
}

/// A change to a run's record, made in the background.
enum Change {
    Record(RunRecord),
    Forget,
}

/// The cluster's runs, through the hub (on Redis; in memory these find nothing
/// elsewhere and claim every id, the run book deciding alone).
impl Hub {
    /// Records run `id` of `kind` as this instance's for the cluster; false if another
    /// instance has that id. (In memory: true, the run book decides alone.)
    pub async fn claim_run(
        &self,
        kind: &str,
        id: &str,
        record: RunRecord,
    ) -> Result<bool, Unavailable> {
        match &self.inner.redis {
            None => Ok(true),
            Some(redis) => redis.claim_run(kind, id, &record).await,
        }
    }

    /// Updates the cluster's record of run `id` (in the background; in memory, nothing).
    pub fn record_run(&self, kind: &'static str, id: &str, record: RunRecord) {
        self.change_later(kind, id, Change::Record(record));
    }

    /// Forgets the cluster's record of run `id` (in the background).
    pub fn forget_run(&self, kind: &'static str, id: &str) {
        self.change_later(kind, id, Change::Forget);
    }

    fn change_later(&self, kind: &'static str, id: &str, change: Change) {
        if self.inner.redis.is_none() {
            return;
        }
        let (hub, id) = (self.clone(), id.to_owned());
        tokio::spawn(async move {
            let Some(redis) = &hub.inner.redis else {
                return;
            };
            let done = match &change {
                Change::Record(record) => redis.record_run(kind, &id, record).await,
                Change::Forget => redis.forget_run(kind, &id).await,
            };
            if let Err(e) = done {
                tracing::warn!(kind, id, error = %e, "could not update the cluster's runs");
            }
        });
    }

    /// The runs of `kind` other instances hold (in memory: none).
    pub async fn runs_elsewhere(
        &self,
        kind: &str,
    ) -> Result<Vec<(String, RunRecord)>, Unavailable> {
        let Some(redis) = &self.inner.redis else {
            return Ok(Vec::new());
        };
        let mine = redis.instance();
        Ok(redis
            .runs(kind)
            .await?
            .into_iter()
            .filter(|(_, r)| r.instance != mine)
            .collect())
    }

    /// Run `id` of `kind` if another instance holds it.
    pub async fn run_elsewhere(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<RunRecord>, Unavailable> {
        let Some(redis) = &self.inner.redis else {
            return Ok(None);
        };
        Ok(redis
            .run(kind, id)
            .await?
            .filter(|r| r.instance != redis.instance()))
    }

    /// The work this instance shares with the others (none in memory: there are none).
    pub fn work_queue(&self) -> Option<super::WorkQueue> {
        self.inner.redis.as_ref().map(|r| r.work_queue())
    }

    /// This instance's name in the cluster (empty in memory).
    pub fn instance(&self) -> &str {
        self.inner.redis.as_ref().map_or("", |r| r.instance())
    }

    /// Marks run `id` of `kind` finished if the instance running it is dead; true if this
    /// call did (the caller then publishes its end).
    pub async fn reap_run(
        &self,
        kind: &str,
        id: &str,
        record: &RunRecord,
        now_ms: i64,
    ) -> Result<bool, Unavailable> {
        match &self.inner.redis {
            None => Ok(false),
            Some(redis) => redis.reap(kind, id, record, now_ms).await,
        }
    }
}
