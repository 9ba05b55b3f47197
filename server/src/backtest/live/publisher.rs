//! A run's publisher: the engine thread hands what the run has to say to a
//! [`RunQueue`] as typed events, and a thread of the queue's own turns them into
//! messages and publishes them in order, a drained batch at a time (one lock of the
//! topic, or one Redis round trip, per batch), so serialising and fan-out run beside
//! the bars instead of between them.
//!
//! - The queue is bounded: a publisher that falls behind makes the engine wait
//!   (backpressure) instead of memory growing.
//! - Events wait in the engine's hand until [`BATCH`] of them are queued or
//!   [`HAND_OVER_EVERY`] has passed (looked at every check-in, at most
//!   [`CHECK_EVERY`](super::observer::CHECK_EVERY) bars).
//! - The engine never wakes the publisher: the publisher looks at the queue every
//!   [`HAND_OVER_EVERY`] and publishes what it finds, so a trade is still its own
//!   message, published a millisecond or two after it happens, and a hand-over costs
//!   the engine no system call (a woken publisher could also take the engine's core on
//!   a two-core machine). Only the end of a stretch wakes it, to finish at once.
//! - For its first [`INLINE_FOR`] a run publishes on its own thread: a short run is
//!   over before a publisher thread would have been woken and have woken it back.
//! - [`RunQueue::finish`] ends a stretch: everything is published when it returns, and
//!   no thread is held while the run is paused (the next push starts a new publisher).

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use protocol::{self as wire, LogLine, Message, Side, Timestamp, TradeAction};

use crate::backtest::engine::{ExitReason, Position, Trade};
use crate::backtest::request::Plan;
use crate::hub::Hub;

/// Events handed over at once, at most.
pub const BATCH: usize = 256;

/// The longest events wait in the engine's hand (give or take a check-in), and how often
/// the publisher looks for them.
pub const HAND_OVER_EVERY: Duration = Duration::from_millis(1);

/// For this long after the queue starts, batches are published on the engine's own
/// thread: a run this short (a 5,000-bar file takes about 0.1 ms) is over sooner than a
/// publisher thread is woken and the run woken back when it is done (about 0.5 ms
/// between them on a two-core VM).
const INLINE_FOR: Duration = Duration::from_millis(2);

/// Batches in flight between the engine and the publisher, at most: with [`BATCH`],
/// the bound on what a run holds unpublished (262,144 events of 80 bytes, 21 MB; a
/// run that long holds its bars too, 40 bytes each). The publisher keeps up on average
/// (a 10 M-bar run publishes in a third of the engine's time) but not in a run's
/// dense stretches, where a trade comes every few bars: with 64 batches a 10 M-bar run
/// waited for the publisher about 50 ms of its 0.3 s; with this many, not at all.
const QUEUED_BATCHES: usize = 1024;

/// What the engine thread hands over, in the order it is to be published.
#[derive(Debug)]
pub enum Outgoing {
    /// A message as it is (boxed: the hot events, trades, stay small).
    Message(Box<Message>),
    /// A position opened: its `trade` message.
    Entry(Position),
    /// A position closed: its `trade` message. Like an entry, it has no `log` line:
    /// the trades table says it, and a run's log is for what the trades do not say
    /// (the run's course, warnings).
    Exit(Trade),
}

/// The engine's end of a run's publisher; cheap to clone (the run's log layer holds
/// one).
#[derive(Clone)]
pub struct RunQueue {
    shared: Arc<Mutex<Hand>>,
}

/// What the engine holds: events not yet handed over, and the running publisher.
struct Hand {
    hub: Hub,
    plan: Arc<Plan>,
    pending: Vec<Outgoing>,
    /// The last hand-over (or the queue's start).
    handed_over: Instant,
    /// Until then, batches are published on the engine's thread.
    inline_until: Instant,
    publisher: Option<Publisher>,
}

/// A publisher thread: where batches go, the thread once it runs (to wake it at the
/// end), and a receiver that ends when it has published the last.
struct Publisher {
    batches: SyncSender<Vec<Outgoing>>,
    thread: Arc<OnceLock<Thread>>,
    done: Receiver<()>,
}

impl RunQueue {
    pub fn new(hub: Hub, plan: Arc<Plan>) -> Self {
        RunQueue {
            shared: Arc::new(Mutex::new(Hand {
                hub,
                plan,
                pending: Vec::with_capacity(BATCH),
                handed_over: Instant::now(),
                inline_until: Instant::now() + INLINE_FOR,
                publisher: None,
            })),
        }
    }

    fn hand(&self) -> MutexGuard<'_, Hand> {
        // Only the engine's thread takes this lock; a panic there ends the run anyway.
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `event` after everything queued before it (handed over at [`BATCH`]).
    pub fn push(&self, event: Outgoing) {
        let mut hand = self.hand();
        hand.pending.push(event);
        if hand.pending.len() >= BATCH {
            hand.hand_over();
        }
    }

    /// Queues a log line, unless it comes from the queue's own work on this thread (a
    /// publish failing where no publisher thread could start): that one is dropped
    /// rather than come back here.
    pub fn push_log(&self, line: LogLine) {
        if let Ok(mut hand) = self.shared.try_lock() {
            hand.pending
                .push(Outgoing::Message(Box::new(Message::Log(line))));
        }
    }

    /// Hands what is queued to the publisher if it has waited [`HAND_OVER_EVERY`]
    /// (waiting while the publisher's queue is full).
    pub fn flush(&self) {
        let mut hand = self.hand();
        if !hand.pending.is_empty() && hand.handed_over.elapsed() >= HAND_OVER_EVERY {
            hand.hand_over();
        }
    }

    /// Publishes everything queued and waits until it is: the stretch of the run is
    /// over (paused or ended), and no publisher thread is left.
    pub fn finish(&self) {
        let publisher = {
            let mut hand = self.hand();
            hand.hand_over();
            hand.publisher.take()
        };
        if let Some(publisher) = publisher {
            drop(publisher.batches);
            // Not started yet: it will find the queue closed when it looks.
            if let Some(thread) = publisher.thread.get() {
                thread.unpark();
            }
            // Ends when the publisher has published its last batch (or died).
            let _ = publisher.done.recv();
        }
    }
}

impl Hand {
    fn hand_over(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
        self.handed_over = Instant::now();
        // Early on, publishing here costs less than waking a thread (twice: to start it,
        // and when the run waits for its last batch).
        if self.publisher.is_none() && Instant::now() < self.inline_until {
            publish(&self.hub, &self.plan, batch);
            return;
        }
        if self.publisher.is_none() {
            self.publisher = start(self.hub.clone(), self.plan.clone());
        }
        let unsent = match &self.publisher {
            Some(publisher) => publisher.batches.send(batch).err().map(|e| e.0),
            None => Some(batch),
        };
        // No publisher thread (none could be started, or it died): publish here.
        if let Some(batch) = unsent {
            self.publisher = None;
            publish(&self.hub, &self.plan, batch);
        }
    }
}

/// Starts a publisher: on the runtime's blocking pool when there is one (its threads
/// are reused, and Redis needs the runtime), else on a thread of its own.
fn start(hub: Hub, plan: Arc<Plan>) -> Option<Publisher> {
    let (batches, receiver) = sync_channel(QUEUED_BATCHES);
    let (finished, done) = sync_channel(0);
    let thread = Arc::new(OnceLock::new());
    let running = thread.clone();
    let work = move || {
        // Before the first look at the queue: an end that comes before this finds the
        // queue closed at that look, one after it wakes this thread.
        let _ = running.set(std::thread::current());
        drain(&hub, &plan, &receiver);
        drop(finished);
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(work)),
        Err(_) => {
            std::thread::Builder::new()
                .name("backtest-publisher".into())
                .spawn(work)
                .ok()?;
        }
    }
    Some(Publisher {
        batches,
        thread,
        done,
    })
}

/// Publishes what is queued, every [`HAND_OVER_EVERY`] (or when woken), a batch at a
/// time, until the engine's end closes and all is published.
/// It never waits on the queue itself: a receiver waiting there would be woken by every
/// hand-over.
fn drain(hub: &Hub, plan: &Plan, batches: &Receiver<Vec<Outgoing>>) {
    loop {
        // Batch by batch: one that came while the last was published is taken next.
        let closed = loop {
            match batches.try_recv() {
                Ok(events) => publish(hub, plan, events),
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            }
        };
        if closed {
            return;
        }
        std::thread::park_timeout(HAND_OVER_EVERY);
    }
}

/// Turns `events` into messages and publishes them in order.
fn publish(hub: &Hub, plan: &Plan, events: Vec<Outgoing>) {
    let mut messages = Vec::with_capacity(events.len());
    for event in events {
        match event {
            Outgoing::Message(message) => messages.push(*message),
            Outgoing::Entry(position) => {
                messages.push(Message::Trade(entry_trade(plan, &position)));
            }
            Outgoing::Exit(trade) => messages.push(Message::Trade(exit_trade(plan, &trade))),
        }
    }
    for e in hub.publish_batch_blocking(&plan.topic, messages) {
        tracing::error!(topic = %plan.topic, error = %e, "could not publish");
    }
}

fn time(plan: &Plan, bar: usize) -> Timestamp {
    Timestamp::from_unix_ms(plan.bars.time[bar])
}

/// The `trade` message of an entry.
fn entry_trade(plan: &Plan, p: &Position) -> wire::Trade {
    wire::Trade {
        id: p.id,
        side: p.side,
        action: TradeAction::Entry,
        time: time(plan, p.entry_bar),
        price: p.entry_price,
        size: p.units,
        pnl: None,
        return_pct: None,
        reason: if p.side == Side::Long {
            "long signal".into()
        } else {
            "short signal".into()
        },
    }
}

/// The `trade` message of an exit.
fn exit_trade(plan: &Plan, t: &Trade) -> wire::Trade {
    wire::Trade {
        id: t.id,
        side: t.side,
        action: TradeAction::Exit,
        time: time(plan, t.exit_bar),
        price: t.exit_price,
        size: t.units,
        pnl: Some(t.pnl),
        return_pct: Some(t.return_pct),
        reason: match t.exit_reason {
            ExitReason::Signal => "opposite signal".into(),
            ExitReason::EndOfData => "end of data".into(),
            ExitReason::Blown => "account blown".into(),
        },
    }
}
