//! What the store keeps, and for how long: finished runs older than `--keep-days` go,
//! and while all runs hold more than `--keep-bytes`, the oldest finished ones go first
//! (docs/SPEC.md section 12). A run that has not ended is never pruned.

use std::time::Duration;

use sqlx::Row;
use tokio_util::sync::CancellationToken;

use super::{Store, StoreError};

/// `--keep-days`, `--keep-bytes`.
#[derive(Clone, Copy, Debug)]
pub struct Keep {
    pub days: u64,
    pub bytes: u64,
}

/// How often the store is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Runs looked at per step while the store is over `--keep-bytes`.
const PRUNE_STEP: i64 = 256;

impl Store {
    /// Prunes now and every minute until shutdown.
    pub fn spawn_pruner(&self, keep: Keep, shutdown: CancellationToken) {
        let store = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(PRUNE_EVERY);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                match store
                    .prune(keep, chrono::Utc::now().timestamp_millis())
                    .await
                {
                    Ok(0) => {}
                    Ok(pruned) => {
                        tracing::info!(pruned, "runs past --keep-days or --keep-bytes forgotten");
                    }
                    Err(e) => tracing::warn!(error = %e, "the store was not pruned this time"),
                }
            }
        });
    }

    /// Forgets the finished runs past `keep` as of `now_ms`; how many went.
    pub async fn prune(&self, keep: Keep, now_ms: i64) -> Result<usize, StoreError> {
        let day_ms: i64 = 24 * 60 * 60 * 1000;
        let cutoff =
            now_ms.saturating_sub(i64::try_from(keep.days).unwrap_or(i64::MAX / day_ms) * day_ms);
        let old = sqlx::query(
            "SELECT kind, id FROM runs WHERE finished_ms IS NOT NULL AND finished_ms < $1",
        )
        .bind(cutoff)
        .fetch_all(self.pool())
        .await?;
        let mut pruned = 0;
        for row in &old {
            pruned += usize::from(
                self.delete(row.try_get("kind")?, row.try_get("id")?)
                    .await?,
            );
        }
        let limit = i64::try_from(keep.bytes).unwrap_or(i64::MAX);
        loop {
            // PostgreSQL sums BIGINTs into NUMERIC, which the Any driver does not read.
            let total: i64 =
                sqlx::query("SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS total FROM runs")
                    .fetch_one(self.pool())
                    .await?
                    .try_get("total")?;
            let mut over = total.saturating_sub(limit);
            if over <= 0 {
                return Ok(pruned);
            }
            let oldest = sqlx::query(
                "SELECT kind, id, bytes FROM runs WHERE finished_ms IS NOT NULL \
                 ORDER BY created_ms, id LIMIT $1",
            )
            .bind(PRUNE_STEP)
            .fetch_all(self.pool())
            .await?;
            if oldest.is_empty() {
                return Ok(pruned);
            }
            for row in &oldest {
                if over <= 0 {
                    break;
                }
                if self
                    .delete(row.try_get("kind")?, row.try_get("id")?)
                    .await?
                {
                    pruned += 1;
                    over -= row.try_get::<i64, _>("bytes")?;
                }
            }
        }
    }
}
