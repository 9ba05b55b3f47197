//! A subscriber's bounded outgoing queue. The hub pushes without ever waiting; when the
//! queue is full the subscriber is flagged as a slow consumer (a socket's writer closes
//! it), so one stalled reader never delays a publisher or another reader.
//!
//! Two kinds of subscriber share the rules: a socket receives serialized [`Frame`]s, and
//! an in-process consumer (a session) receives typed [`Delivery`]s — the envelope the
//! hub published, not JSON to parse again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use protocol::{Control, Envelope, Since, Topic};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::queue::{queue, Queue, QueueReader, Refused};

/// One serialized server frame; cloning shares the bytes.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// What an in-process subscriber receives: a published message, or a control
/// (`subscribed`, `snapshot`, `resync`).
#[derive(Clone, Debug)]
pub enum Delivery {
    Message(Arc<Envelope>),
    Control(Arc<Control>),
}

/// Where an outbox's items go.
#[derive(Clone, Debug)]
enum Sink {
    Frames(Queue<Frame>),
    Typed(Queue<Delivery>),
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The sending side of a subscriber's queue, held by the hub for each subscription.
#[derive(Clone, Debug)]
pub struct Outbox {
    id: u64,
    sink: Sink,
    slow: Arc<Slow>,
    /// A socket's: where a replica tells it of the topics that started over.
    restarted: Option<Arc<Restarted>>,
}

/// The topics a replica stopped delivering to a socket because they started over in a
/// new epoch (docs/SPEC.md section 9, "Ownership"): whose they are may have changed, so
/// the socket authorises each again before it follows the new epoch. Each holds the
/// point the socket had reached, to resume from (a `resync`). At most one entry per
/// subscription: the replica has dropped the subscriber when it adds one.
#[derive(Debug, Default)]
pub struct Restarted {
    topics: Mutex<Vec<(Topic, Since)>>,
    notify: Notify,
}

impl Restarted {
    fn add(&self, topic: Topic, reached: Since) {
        if let Ok(mut topics) = self.topics.lock() {
            topics.push((topic, reached));
        }
        self.notify.notify_one();
    }

    /// Waits until a topic started over (at once if one did since the last take).
    pub async fn signalled(&self) {
        self.notify.notified().await;
    }

    /// The topics that started over since the last take.
    pub fn take(&self) -> Vec<(Topic, Since)> {
        self.topics
            .lock()
            .map(|mut topics| std::mem::take(&mut *topics))
            .unwrap_or_default()
    }
}

/// The slow-consumer flag: an atomic the hub reads on every push (a token's
/// `is_cancelled` takes a lock, and a message is pushed to every subscriber), and the
/// token the reader waits on.
#[derive(Debug)]
struct Slow {
    flagged: AtomicBool,
    token: CancellationToken,
}

impl Slow {
    fn is_flagged(&self) -> bool {
        self.flagged.load(Ordering::Relaxed)
    }

    fn flag(&self) {
        self.flagged.store(true, Ordering::Relaxed);
        self.token.cancel();
    }
}

/// The receiving side, drained by the connection's writer (`T` = [`Frame`]) or by an
/// in-process consumer (`T` = [`Delivery`]).
pub struct OutboxReceiver<T = Frame> {
    pub frames: QueueReader<T>,
    /// Cancelled when the queue overflowed: the subscriber fell behind and must resume.
    pub slow: CancellationToken,
    /// A socket's topics that started over (never any for an in-process consumer).
    pub restarted: Arc<Restarted>,
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

/// A queue of serialized frames, for a socket.
pub(super) fn channel(capacity: usize) -> (Outbox, OutboxReceiver<Frame>) {
    let (tx, frames) = queue(capacity);
    let (mut outbox, slow) = Outbox::new(Sink::Frames(tx));
    let restarted = Arc::new(Restarted::default());
    outbox.restarted = Some(restarted.clone());
    let receiver = OutboxReceiver {
        frames,
        slow,
        restarted,
    };
    (outbox, receiver)
}

/// A queue of typed deliveries, for an in-process consumer.
pub(super) fn typed_channel(capacity: usize) -> (Outbox, OutboxReceiver<Delivery>) {
    let (tx, frames) = queue(capacity);
    let (outbox, slow) = Outbox::new(Sink::Typed(tx));
    let restarted = Arc::new(Restarted::default());
    (
        outbox,
        OutboxReceiver {
            frames,
            slow,
            restarted,
        },
    )
}

impl Outbox {
    fn new(sink: Sink) -> (Self, CancellationToken) {
        let token = CancellationToken::new();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let slow = Arc::new(Slow {
            flagged: AtomicBool::new(false),
            token: token.clone(),
        });
        let outbox = Outbox {
            id,
            sink,
            slow,
            restarted: None,
        };
        (outbox, token)
    }

    /// Tells a socket that `topic` started over (it had `reached` that point): it
    /// authorises the topic again and resubscribes. False for an in-process consumer
    /// (the server's own, trusted with any topic): it takes the `resync` as it comes.
    pub(super) fn restarted(&self, topic: &Topic, reached: &Since) -> bool {
        match &self.restarted {
            Some(restarted) => {
                restarted.add(topic.clone(), reached.clone());
                true
            }
            None => false,
        }
    }

    /// Identifies the connection within this process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Queues a published message without waiting: its frame for a socket, the
    /// envelope itself (made by `envelope`, only asked for then) for an in-process
    /// consumer.
    pub fn push_message(&self, frame: &Frame, envelope: impl FnOnce() -> Arc<Envelope>) -> Push {
        match &self.sink {
            Sink::Frames(tx) => self.send(tx, frame.clone()),
            Sink::Typed(tx) => self.send(tx, Delivery::Message(envelope())),
        }
    }

    /// Queues a retained message being replayed. An in-process consumer gets it parsed
    /// back (replays are rare; live messages never take this path); the hub's own frames
    /// always parse, but if one did not, the consumer is told it fell behind rather than
    /// handed a gap.
    pub fn push_retained(&self, frame: &Frame) -> Push {
        match &self.sink {
            Sink::Frames(tx) => self.send(tx, frame.clone()),
            Sink::Typed(tx) => match serde_json::from_str(frame.as_str()) {
                Ok(envelope) => self.send(tx, Delivery::Message(Arc::new(envelope))),
                Err(e) => {
                    tracing::error!(error = %e, "a retained frame does not parse back");
                    self.slow.flag();
                    Push::Overflow
                }
            },
        }
    }

    /// Queues a control message, serialized for a socket.
    pub fn push_control(&self, control: Control) -> Push {
        match &self.sink {
            Sink::Frames(tx) => match serde_json::to_string(&control) {
                Ok(text) => self.send(tx, Frame::from(text)),
                Err(e) => {
                    tracing::error!(error = %e, "could not serialize a control frame");
                    Push::Queued
                }
            },
            Sink::Typed(tx) => self.send(tx, Delivery::Control(Arc::new(control))),
        }
    }

    fn send<T>(&self, tx: &Queue<T>, item: T) -> Push {
        if self.slow.is_flagged() {
            return Push::Overflow;
        }
        match tx.push(item) {
            Ok(()) => Push::Queued,
            Err(Refused::Full) => {
                self.slow.flag();
                Push::Overflow
            }
            Err(Refused::Gone) => Push::Closed,
        }
    }

    /// Whether frames can still reach this outbox's reader.
    pub fn is_open(&self) -> bool {
        let closed = match &self.sink {
            Sink::Frames(tx) => tx.is_closed(),
            Sink::Typed(tx) => tx.is_closed(),
        };
        !closed && !self.is_slow()
    }

    /// Whether this connection has been flagged as a slow consumer.
    pub fn is_slow(&self) -> bool {
        self.slow.is_flagged()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_flags_the_connection_as_slow_and_drops_later_frames() {
        let (outbox, rx) = channel(2);
        assert_eq!(outbox.push_retained(&Frame::from("a")), Push::Queued);
        assert_eq!(outbox.push_retained(&Frame::from("b")), Push::Queued);
        assert!(!rx.slow.is_cancelled());
        assert_eq!(outbox.push_retained(&Frame::from("c")), Push::Overflow);
        assert!(rx.slow.is_cancelled());
        // Even after the reader catches up, a slow connection gets nothing more: it must resume.
        let mut taken = std::collections::VecDeque::new();
        assert!(rx.frames.take_all(&mut taken));
        assert_eq!(taken[0].as_str(), "a");
        assert_eq!(outbox.push_retained(&Frame::from("d")), Push::Overflow);
    }

    #[test]
    fn pushing_to_a_dropped_connection_reports_closed() {
        let (outbox, rx) = channel(2);
        drop(rx);
        assert_eq!(outbox.push_retained(&Frame::from("a")), Push::Closed);
    }
}
