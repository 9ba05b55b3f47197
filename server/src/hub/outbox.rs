//! A subscriber's bounded outgoing queue. The hub pushes without ever waiting; when the
//! queue is full the subscriber is flagged as a slow consumer (a socket's writer closes
//! it), so one stalled reader never delays a publisher or another reader.
//!
//! Two kinds of subscriber share the rules: a socket receives serialized [`Frame`]s, and
//! an in-process consumer (a session) receives typed [`Delivery`]s — the envelope the
//! hub published, not JSON to parse again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use protocol::rate::{MaxRate, Pacing};
use protocol::{Control, Envelope, Since, Topic};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::queue::{queue, Item, Queue, QueueReader, Refused};

/// One serialized server frame; cloning shares the bytes.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// What an in-process subscriber receives: a published message, or a control
/// (`subscribed`, `snapshot`, `resync`).
#[derive(Clone, Debug)]
pub enum Delivery {
    Message(Arc<Envelope>),
    Control(Arc<Control>),
}

impl Item for Frame {
    fn bytes(&self) -> usize {
        self.len()
    }

    /// The envelope's last field, written after the others as serde writes it.
    fn conflated(self, conflated: u64) -> Self {
        let text = self.as_str();
        match text.strip_suffix('}') {
            Some(open) => Frame::from(format!("{open},\"conflated\":{conflated}}}")),
            None => self,
        }
    }
}

impl Item for Delivery {
    /// The queue holds a pointer to a message other subscribers share.
    fn bytes(&self) -> usize {
        size_of::<Delivery>()
    }

    fn conflated(self, conflated: u64) -> Self {
        match self {
            Delivery::Message(envelope) => Delivery::Message(Arc::new(Envelope {
                conflated,
                ..(*envelope).clone()
            })),
            control => control,
        }
    }
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

/// A queue of serialized frames, for a socket: at most `capacity` frames and about
/// `max_bytes` bytes.
pub(super) fn channel(capacity: usize, max_bytes: usize) -> (Outbox, OutboxReceiver<Frame>) {
    let (tx, frames) = queue(capacity, max_bytes);
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
    let (tx, frames) = queue(capacity, usize::MAX);
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

    /// Paces `topic` at `rate` (`None`: not at all), the last of its messages the
    /// subscriber holds being `last_out` (docs/SPEC.md section 6, "Rates").
    pub fn pace(&self, topic: &Topic, rate: Option<MaxRate>, last_out: u64) {
        match &self.sink {
            Sink::Frames(tx) => tx.pace(topic, rate, last_out),
            Sink::Typed(tx) => tx.pace(topic, rate, last_out),
        }
    }

    /// Forgets `topic`'s pace and the values it held (unsubscribed).
    pub fn unpace(&self, topic: &Topic) {
        match &self.sink {
            Sink::Frames(tx) => tx.unpace(topic),
            Sink::Typed(tx) => tx.unpace(topic),
        }
    }

    /// Queues message `seq` of `topic` without waiting (held for a paced topic when a
    /// later value replaces it, `pacing`): its frame for a socket, the envelope itself
    /// (made by `envelope`, only asked for then) for an in-process consumer.
    pub fn push_message(
        &self,
        (topic, seq, pacing): (&Topic, u64, Pacing),
        frame: &Frame,
        envelope: impl FnOnce() -> Arc<Envelope>,
    ) -> Push {
        match &self.sink {
            Sink::Frames(tx) => self.send(|| tx.push_message(topic, seq, pacing, frame.clone())),
            Sink::Typed(tx) => {
                self.send(|| tx.push_message(topic, seq, pacing, Delivery::Message(envelope())))
            }
        }
    }

    /// Queues retained message `seq` of `topic`, being replayed. An in-process consumer
    /// gets it parsed back (replays are rare; live messages never take this path); the
    /// hub's own frames always parse, but if one did not, the consumer is told it fell
    /// behind rather than handed a gap.
    pub fn push_retained(&self, topic: &Topic, seq: u64, frame: &Frame) -> Push {
        match &self.sink {
            Sink::Frames(tx) => self.send(|| tx.push_replayed(topic, seq, frame.clone())),
            Sink::Typed(tx) => match serde_json::from_str(frame.as_str()) {
                Ok(envelope) => self
                    .send(|| tx.push_replayed(topic, seq, Delivery::Message(Arc::new(envelope)))),
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
                Ok(text) => self.send(|| tx.push(Frame::from(text))),
                Err(e) => {
                    tracing::error!(error = %e, "could not serialize a control frame");
                    Push::Queued
                }
            },
            Sink::Typed(tx) => self.send(|| tx.push(Delivery::Control(Arc::new(control)))),
        }
    }

    /// Queues with `push` unless the subscriber is slow already; a full queue makes it
    /// slow.
    fn send(&self, push: impl FnOnce() -> Result<(), Refused>) -> Push {
        if self.slow.is_flagged() {
            return Push::Overflow;
        }
        match push() {
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
        let (outbox, rx) = channel(2, usize::MAX);
        let topic = protocol::fixtures::topic();
        assert_eq!(
            outbox.push_retained(&topic, 1, &Frame::from("a")),
            Push::Queued
        );
        assert_eq!(
            outbox.push_retained(&topic, 2, &Frame::from("b")),
            Push::Queued
        );
        assert!(!rx.slow.is_cancelled());
        assert_eq!(
            outbox.push_retained(&topic, 3, &Frame::from("c")),
            Push::Overflow
        );
        assert!(rx.slow.is_cancelled());
        // Even after the reader catches up, a slow connection gets nothing more: it must resume.
        let mut taken = std::collections::VecDeque::new();
        assert!(rx.frames.take_all(&mut taken));
        assert_eq!(taken[0].as_str(), "a");
        assert_eq!(
            outbox.push_retained(&topic, 4, &Frame::from("d")),
            Push::Overflow
        );
    }

    #[test]
    fn pushing_to_a_dropped_connection_reports_closed() {
        let (outbox, rx) = channel(2, usize::MAX);
        drop(rx);
        let topic = protocol::fixtures::topic();
        assert_eq!(
            outbox.push_retained(&topic, 1, &Frame::from("a")),
            Push::Closed
        );
    }

    #[test]
    fn a_conflated_frame_says_so_in_its_last_field_as_serde_writes_it() {
        let envelope = Envelope {
            conflated: 7,
            ..protocol::fixtures::envelope(12, "E")
        };
        let plain = Frame::from(
            serde_json::to_string(&Envelope {
                conflated: 0,
                ..envelope.clone()
            })
            .unwrap(),
        );
        assert!(!plain.as_str().contains("conflated"));
        assert_eq!(
            plain.conflated(7).as_str(),
            serde_json::to_string(&envelope).unwrap()
        );
        let delivery = Delivery::Message(Arc::new(envelope)).conflated(3);
        assert!(matches!(delivery, Delivery::Message(e) if e.conflated == 3));
    }
}
