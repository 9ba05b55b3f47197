//! A connection's bounded outgoing queue. The hub pushes serialized frames without ever
//! waiting; when the queue is full the connection is flagged as a slow consumer and its
//! writer closes it, so one stalled reader never delays a publisher or another reader.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One serialized server frame; cloning shares the bytes.
pub type Frame = axum::extract::ws::Utf8Bytes;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The sending side of a connection's queue, held by the hub for each subscription.
#[derive(Clone, Debug)]
pub struct Outbox {
    id: u64,
    tx: mpsc::Sender<Frame>,
    slow: CancellationToken,
}

/// The receiving side, drained by the connection's writer.
pub struct OutboxReceiver {
    pub frames: mpsc::Receiver<Frame>,
    /// Cancelled when the queue overflowed: close the connection as a slow consumer.
    pub slow: CancellationToken,
}

/// What happened to one pushed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Push {
    Queued,
    /// The queue was full: the frame is dropped and the connection marked slow.
    Overflow,
    /// The connection is gone.
    Closed,
}

pub(super) fn channel(capacity: usize) -> (Outbox, OutboxReceiver) {
    let (tx, frames) = mpsc::channel(capacity.max(1));
    let slow = CancellationToken::new();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    (
        Outbox {
            id,
            tx,
            slow: slow.clone(),
        },
        OutboxReceiver { frames, slow },
    )
}

impl Outbox {
    /// Identifies the connection within this process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Queues `frame` without waiting.
    pub fn push(&self, frame: Frame) -> Push {
        if self.slow.is_cancelled() {
            return Push::Overflow;
        }
        match self.tx.try_send(frame) {
            Ok(()) => Push::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.slow.cancel();
                Push::Overflow
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Push::Closed,
        }
    }

    /// Serializes a control message and queues it.
    pub fn push_json<T: serde::Serialize>(&self, value: &T) -> Push {
        match serde_json::to_string(value) {
            Ok(text) => self.push(Frame::from(text)),
            Err(e) => {
                tracing::error!(error = %e, "could not serialize a control frame");
                Push::Queued
            }
        }
    }

    /// Whether this connection has been flagged as a slow consumer.
    pub fn is_slow(&self) -> bool {
        self.slow.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_flags_the_connection_as_slow_and_drops_later_frames() {
        let (outbox, mut rx) = channel(2);
        assert_eq!(outbox.push(Frame::from("a")), Push::Queued);
        assert_eq!(outbox.push(Frame::from("b")), Push::Queued);
        assert!(!rx.slow.is_cancelled());
        assert_eq!(outbox.push(Frame::from("c")), Push::Overflow);
        assert!(rx.slow.is_cancelled());
        // Even after the reader catches up, a slow connection gets nothing more: it must resume.
        assert_eq!(rx.frames.try_recv().unwrap().as_str(), "a");
        assert_eq!(outbox.push(Frame::from("d")), Push::Overflow);
    }

    #[test]
    fn pushing_to_a_dropped_connection_reports_closed() {
        let (outbox, rx) = channel(2);
        drop(rx);
        assert_eq!(outbox.push(Frame::from("a")), Push::Closed);
    }
}
