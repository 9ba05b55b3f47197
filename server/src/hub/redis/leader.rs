//! Leases: a producer that must run once per cluster (the market feed) runs on the
//! instance holding its lease. The holder renews it every third of the period; when it
//! dies, the lease expires and another instance takes it within one period. Publishes
//! made under a lease carry it, and the publish script refuses them (`FENCED`) once
//! another instance holds it, so a stalled former holder can never interleave its
//! messages with the new one's.

use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::link::{CallError, Link};

/// KEYS: lease. ARGV: holder, period ms. Takes the lease if free, renews it if held by
/// the holder; returns 1 if the holder has it.
const CLAIM: &str = r#"
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#;

/// A lease this instance competes for; cheap to clone.
#[derive(Clone)]
pub struct Lease {
    key: Arc<str>,
    holder: Arc<str>,
    held: watch::Receiver<bool>,
}

impl Lease {
    pub(in crate::hub) fn spawn(
        link: Link,
        key: String,
        holder: Arc<str>,
        period: Duration,
        shutdown: CancellationToken,
    ) -> Lease {
        let (tell, held) = watch::channel(false);
        let lease = Lease {
            key: key.into(),
            holder,
            held,
        };
        let claimer = lease.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = claimer.keep_claiming(link, period, tell) => {}
            }
        });
        lease
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Waits until this instance holds the lease (`held`) or does not.
    pub async fn until(&mut self, held: bool) {
        let _ = self.held.wait_for(|h| *h == held).await;
    }

    async fn keep_claiming(&self, link: Link, period: Duration, tell: watch::Sender<bool>) {
        let script = Script::new(CLAIM);
        let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX);
        let mut ticks = tokio::time::interval(period / 3);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut confirmed: Option<Instant> = None;
        loop {
            ticks.tick().await;
            let asked = Instant::now();
            let answer = link
                .call(async |conn, _| {
                    script
                        .key(&*self.key)
                        .arg(&*self.holder)
                        .arg(period_ms)
                        .invoke_async::<u8>(conn)
                        .await
                })
                .await;
            let held = match answer {
                Ok(1) => {
                    confirmed = Some(asked);
                    true
                }
                Ok(_) | Err(CallError::Refused(_)) => false,
                // Unconfirmed: still ours until the lease would have expired.
                Err(CallError::Unavailable) => confirmed.is_some_and(|at| at.elapsed() < period),
            };
            if !held {
                confirmed = None;
            }
            tell.send_if_modified(|was| {
                let changed = *was != held;
                if changed {
                    tracing::info!(lease = %self.key, held, "lease changed hands");
                }
                *was = held;
                changed
            });
        }
    }
}
