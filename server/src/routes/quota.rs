//! How many topics one user may bring into being (docs/SPEC.md section 12): in token
//! mode, a subscribe or a publish that would create a topic this instance does not hold
//! is charged to its caller's `sub`, at most `--max-new-topics-per-minute` a minute
//! (GCRA from `governor`, the whole minute's worth as its burst). `--max-topics` bounds
//! them all; this keeps one token holder from taking every place under it. Anonymous
//! callers share the instance-wide cap alone.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use protocol::Topic;

use crate::auth::Caller;
use crate::hub::Hub;

/// The new topics each user may create a minute.
#[derive(Clone)]
pub struct TopicQuota {
    per_minute: NonZeroU32,
    limiter: Arc<DefaultKeyedRateLimiter<Arc<str>>>,
}

/// A user past their share: the error names it.
#[derive(Debug, thiserror::Error)]
#[error("you created {0} topics in the last minute, the most one user may: wait, or use the topics you have")]
pub struct TooManyNewTopics(pub NonZeroU32);

impl TopicQuota {
    pub fn new(per_minute: NonZeroU32) -> Self {
        TopicQuota {
            per_minute,
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
        }
    }

    /// Charges `caller` for `topic` if using it would create it here.
    pub fn charge(
        &self,
        caller: &Caller,
        topic: &Topic,
        hub: &Hub,
    ) -> Result<(), TooManyNewTopics> {
        if hub.has_topic(topic) {
            return Ok(());
        }
        let Some(sub) = caller.owner() else {
            return Ok(());
        };
        self.limiter
            .check_key(&sub)
            .map_err(|_| TooManyNewTopics(self.per_minute))
    }

    /// Forgets users whose quota is whole again (run with the idle-topic sweep).
    pub fn forget_idle_users(&self) {
        self.limiter.retain_recent();
    }
}
