//! Notices to users (docs/SPEC.md section 4, "Notices"): what happened to their runs,
//! fills and feeds, published on their personal channel `user:{SUB}` (`user:anonymous`
//! for what was started anonymously) in the order it happened.
//!
//! Whatever raises a notice hands it to [`Notices::send`], which never waits: one task
//! publishes them from a bounded queue (a full queue drops the notice, with a warning,
//! rather than slow a run down), then posts each to the user's webhooks (`webhooks`).

mod about;
pub mod webhooks;

pub use about::{feed_changed, fill, missed_bar, run_ended, ACCOUNT_BLOWN};

use std::collections::HashSet;

use protocol::{Message, Notice, NoticesRead, Topic, TopicKind};
use tokio::sync::mpsc;

use crate::hub::{Hub, PublishError};
use webhooks::Webhooks;

/// Notices waiting to be published, at most.
const QUEUE: usize = 4_096;

/// The user that anonymous runs and callers are.
pub const ANONYMOUS: &str = "anonymous";

/// Where notices go: a handle every service that raises them holds.
#[derive(Clone)]
pub struct Notices {
    hub: Hub,
    queue: mpsc::Sender<(Topic, Notice)>,
    webhooks: Webhooks,
}

impl Notices {
    /// Starts the task that publishes notices on `hub` and posts them to `webhooks`; it
    /// ends once every handle is dropped.
    pub fn start(hub: Hub, webhooks: Webhooks) -> Self {
        let (queue, mut waiting) = mpsc::channel::<(Topic, Notice)>(QUEUE);
        let (publisher, poster) = (hub.clone(), webhooks.clone());
        tokio::spawn(async move {
            // The channels this instance keeps from idling away: one per user that was
            // ever told something, each bounded by `--history`.
            let mut kept = HashSet::new();
            while let Some((topic, notice)) = waiting.recv().await {
                if !kept.contains(&topic) && publisher.keep(&topic).await.is_ok() {
                    kept.insert(topic.clone());
                }
                let message = Message::Notice(notice.clone());
                if let Err(e) = publisher.publish(&topic, message).await {
                    tracing::warn!(%topic, error = %e, "a notice could not be published");
                }
                poster.post(topic.name(), &notice).await;
            }
        });
        Notices {
            hub,
            queue,
            webhooks,
        }
    }

    /// The users' webhooks.
    pub fn webhooks(&self) -> &Webhooks {
        &self.webhooks
    }

    /// Sends `notice` to `user` (none: anonymous).
    pub fn send(&self, user: Option<&str>, notice: Notice) {
        let Some(topic) = personal_channel(user) else {
            tracing::warn!(?user, "a notice for a user with no channel is dropped");
            return;
        };
        if self.queue.try_send((topic, notice)).is_err() {
            tracing::warn!(?user, "the notice queue is full: a notice is dropped");
        }
    }
}

impl Notices {
    /// Marks every notice of `user`'s channel up to `up_to_seq` read, for every tab and
    /// device that follows it; returns the channel.
    pub async fn mark_read(&self, user: Option<&str>, up_to_seq: u64) -> Result<Topic, ReadError> {
        let topic = personal_channel(user).ok_or(ReadError::NoChannel)?;
        let read = Message::NoticesRead(NoticesRead { up_to_seq });
        self.hub.publish(&topic, read).await?;
        Ok(topic)
    }
}

/// Why notices could not be marked read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "your token's `sub` cannot have a personal channel: it must match [A-Za-z0-9_.@-]{{1,64}}"
    )]
    NoChannel,
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// `user:{SUB}` of `user` (none: `user:anonymous`); none for a `sub` no channel can
/// have (`tickwire token` refuses those).
pub fn personal_channel(user: Option<&str>) -> Option<Topic> {
    Topic::new(TopicKind::User, user.unwrap_or(ANONYMOUS)).ok()
}
