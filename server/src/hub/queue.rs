//! The FIFO behind an outbox: bounded in items and bytes, pushed to without waiting by
//! the hub, and emptied by one reader that takes everything queued at once. A topic
//! the subscriber asked a rate of is paced here too: its replaceable messages wait in
//! a [`Conflater`] and go out at most at that rate, or as fast as the reader takes them
//! when it is slower (docs/SPEC.md section 6, "Rates").
//!
//! It holds memory only for what it holds. A channel of fixed-size blocks keeps blocks
//! for reuse after a burst; here the deque that carried a burst leaves with the
//! reader's [`QueueReader::take_all`], and the reader drops it once written, so an idle
//! connection costs after a burst what it cost before (BENCHMARKS.md, "Memory after a
//! burst").

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use protocol::rate::{Conflater, MaxRate, Pacing};
use protocol::Topic;
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};

/// What a queue holds: it knows its size, and how to say it stands for messages left out.
pub trait Item: Sized {
    /// Bytes it keeps alive while queued.
    fn bytes(&self) -> usize;
    /// The same item, saying that `conflated` messages before it were left out.
    fn conflated(self, conflated: u64) -> Self;
}

/// Why an item was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// `capacity` items, or `max_bytes`, are waiting.
    Full,
    /// The reader is gone.
    Gone,
}

/// The pushing side; cheap to clone.
#[derive(Debug)]
pub struct Queue<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            shared: self.shared.clone(),
        }
    }
}

/// The reading side (one per queue).
#[derive(Debug)]
pub struct QueueReader<T> {
    shared: Arc<Shared<T>>,
    /// Taken but not yet handed out by [`QueueReader::recv`].
    taken: VecDeque<T>,
}

#[derive(Debug)]
struct Shared<T> {
    held: Mutex<Held<T>>,
    /// Told when the queue goes from empty to not, or a paced topic holds a value that
    /// is due at once (a permit is kept when the reader is not waiting, so a push
    /// between its look and its wait is not missed).
    ready: Notify,
    reader_gone: AtomicBool,
}

/// Everything under the queue's one lock.
#[derive(Debug)]
struct Held<T> {
    fifo: Fifo<T>,
    /// The topics asked at a rate, each with what it holds back.
    paced: Vec<Paced<T>>,
}

/// The items ready to be taken, and their bounds.
#[derive(Debug)]
struct Fifo<T> {
    items: VecDeque<T>,
    bytes: usize,
    capacity: usize,
    max_bytes: usize,
}

impl<T: Item> Fifo<T> {
    /// Queues `item` within the bounds. The bytes bound refuses only once reached, so
    /// a frame larger than the bound (a snapshot) still goes into a nearly empty queue.
    fn push(&mut self, item: T) -> Result<(), Refused> {
        if self.items.len() >= self.capacity || self.bytes >= self.max_bytes {
            return Err(Refused::Full);
        }
        self.owe(item);
        Ok(())
    }

    /// Queues `item` past the bounds: a paced topic's few held values, owed already.
    fn owe(&mut self, item: T) {
        self.bytes += item.bytes();
        self.items.push_back(item);
    }

    /// Queues a message replayed from the topic's history within the count bound (the
    /// history plus `--outbox` holds a whole replay). Its bytes are the history's, held
    /// anyway: they do not count against `max_bytes`, or a resume over large messages
    /// could never be served.
    fn replay(&mut self, item: T) -> Result<(), Refused> {
        if self.items.len() >= self.capacity {
            return Err(Refused::Full);
        }
        self.items.push_back(item);
        Ok(())
    }
}

#[derive(Debug)]
struct Paced<T> {
    topic: Topic,
    interval: Duration,
    /// Held values may go from then on.
    due: Instant,
    conflater: Conflater<T>,
}

impl<T> Paced<T> {
    fn is_due(&self, now: Instant) -> bool {
        self.conflater.holds() && self.due <= now
    }
}

impl<T: Item> Held<T> {
    /// Moves the held values of every due topic to the FIFO; such a topic is next due
    /// an interval from `now`.
    fn release_due(&mut self, now: Instant) {
        for topic in &mut self.paced {
            if topic.is_due(now) {
                topic
                    .conflater
                    .release(T::conflated, |item| self.fifo.owe(item));
                topic.due = now + topic.interval;
            }
        }
    }

    /// When the reader looks again without being told: the next time a topic released
    /// lately may release again. What it holds by then goes without a wake-up per
    /// value; a value held after a quiet spell is due at once, and tells the reader.
    fn next_release(&self, now: Instant) -> Option<Instant> {
        self.paced
            .iter()
            .map(|p| p.due)
            .filter(|due| *due > now)
            .min()
    }
}

/// A queue of at most `capacity` (at least 1) items and about `max_bytes` bytes.
pub fn queue<T>(capacity: usize, max_bytes: usize) -> (Queue<T>, QueueReader<T>) {
    let shared = Arc::new(Shared {
        held: Mutex::new(Held {
            fifo: Fifo {
                items: VecDeque::new(),
                bytes: 0,
                capacity: capacity.max(1),
                max_bytes: max_bytes.max(1),
            },
            paced: Vec::new(),
        }),
        ready: Notify::new(),
        reader_gone: AtomicBool::new(false),
    });
    let reader = QueueReader {
        shared: shared.clone(),
        taken: VecDeque::new(),
    };
    (Queue { shared }, reader)
}

impl<T> Shared<T> {
    fn held(&self) -> MutexGuard<'_, Held<T>> {
        // A panic while holding this lock leaves a deque that is still whole.
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<T: Item> Queue<T> {
    /// Queues `item` without waiting.
    pub fn push(&self, item: T) -> Result<(), Refused> {
        self.change(|held| held.fifo.push(item).map(|()| false))
    }

    /// Queues message `seq` of `topic`: at once, or held when the topic is paced and a
    /// later value replaces it (`pacing`).
    pub fn push_message(
        &self,
        topic: &Topic,
        seq: u64,
        pacing: Pacing,
        item: T,
    ) -> Result<(), Refused> {
        self.change(|held| {
            let Held { fifo, paced } = held;
            let Some(paced) = paced.iter_mut().find(|p| p.topic == *topic) else {
                return fifo.push(item).map(|()| false);
            };
            let was_holding = paced.conflater.holds();
            let mut result = Ok(());
            paced
                .conflater
                .push(seq, pacing, item, T::conflated, |item| {
                    // After one refusal the subscriber is slow: what follows is dropped.
                    if result.is_ok() {
                        result = fifo.push(item);
                    }
                });
            // A first value held after a quiet spell is due at once; one held sooner
            // goes at the release the reader waits for already.
            let due_now = || paced.due <= Instant::now();
            result.map(|()| !was_holding && paced.conflater.holds() && due_now())
        })
    }

    /// A retained message `seq` of `topic` replayed on a resume: queued at once, and a
    /// paced topic's cursor moves on with it.
    pub fn push_replayed(&self, topic: &Topic, seq: u64, item: T) -> Result<(), Refused> {
        self.change(|held| {
            if let Some(paced) = held.paced.iter_mut().find(|p| p.topic == *topic) {
                paced.conflater.passed(seq);
            }
            held.fifo.replay(item).map(|()| false)
        })
    }

    /// Makes `change` under the lock, and wakes the reader when it gave it something to
    /// take: a first item, or (`change` says so) a held value already due.
    fn change(
        &self,
        change: impl FnOnce(&mut Held<T>) -> Result<bool, Refused>,
    ) -> Result<(), Refused> {
        if self.is_closed() {
            return Err(Refused::Gone);
        }
        let mut held = self.shared.held();
        let was_empty = held.fifo.items.is_empty();
        let result = change(&mut held);
        let first = was_empty && !held.fifo.items.is_empty();
        drop(held);
        if first || result == Ok(true) {
            self.shared.ready.notify_one();
        }
        result.map(|_| ())
    }

    /// Paces `topic` at `rate` from now on (`None`: not at all), its last message
    /// sent (or snapshot) being `last_out` when it was not paced already. Values a
    /// topic held when its rate is taken away go at once.
    pub fn pace(&self, topic: &Topic, rate: Option<MaxRate>, last_out: u64) {
        // A reader that is gone needs no pace: nothing to report.
        let _ = self.change(|held| {
            let Held { fifo, paced } = held;
            let at = paced.iter().position(|p| p.topic == *topic);
            match (at, rate) {
                (Some(at), Some(rate)) => paced[at].interval = rate.interval(),
                (None, Some(rate)) => paced.push(Paced {
                    topic: topic.clone(),
                    interval: rate.interval(),
                    due: Instant::now(),
                    conflater: Conflater::new(last_out),
                }),
                (Some(at), None) => {
                    // Past the bounds by at most the few values it held: they are owed.
                    let conflater = &mut paced.swap_remove(at).conflater;
                    conflater.release(T::conflated, |item| fifo.owe(item));
                }
                (None, None) => {}
            }
            Ok(false)
        });
    }

    /// Forgets `topic`'s pacing and what it held (unsubscribed).
    pub fn unpace(&self, topic: &Topic) {
        self.shared.held().paced.retain(|p| p.topic != *topic);
    }

    /// Whether the reader is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.reader_gone.load(Ordering::Relaxed)
    }
}

impl<T: Item> QueueReader<T> {
    /// Waits until something may be taken: items are queued, or held values are due.
    pub async fn ready(&self) {
        loop {
            // Registered before the look, so a push right after it still wakes us.
            let notified = self.shared.ready.notified();
            let next_release = {
                let held = self.shared.held();
                let now = Instant::now();
                if !held.fifo.items.is_empty() || held.paced.iter().any(|p| p.is_due(now)) {
                    return;
                }
                held.next_release(now)
            };
            match next_release {
                Some(at) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Moves everything queued, and the held values now due, to the back of `into`;
    /// false when there was nothing.
    pub fn take_all(&self, into: &mut VecDeque<T>) -> bool {
        let mut held = self.shared.held();
        if !held.paced.is_empty() {
            held.release_due(Instant::now());
        }
        let fifo = &mut held.fifo;
        if fifo.items.is_empty() {
            return false;
        }
        fifo.bytes = 0;
        if into.is_empty() {
            // The queue's own allocation goes with the items; it starts again empty.
            std::mem::swap(&mut fifo.items, into);
        } else {
            into.extend(fifo.items.drain(..));
        }
        true
    }

    /// Moves everything queued and everything held to the back of `into` (the last
    /// frames before a close).
    pub fn take_everything(&self, into: &mut VecDeque<T>) {
        let mut held = self.shared.held();
        let Held { fifo, paced } = &mut *held;
        for topic in paced.iter_mut() {
            topic.conflater.release(T::conflated, |item| fifo.owe(item));
        }
        fifo.bytes = 0;
        into.extend(fifo.items.drain(..));
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.shared.held().fifo.items.is_empty()
    }

    /// The next item, one at a time (for readers that handle them so).
    pub async fn recv(&mut self) -> T {
        loop {
            if let Some(item) = self.taken.pop_front() {
                return item;
            }
            self.ready().await;
            let mut taken = std::mem::take(&mut self.taken);
            self.take_all(&mut taken);
            self.taken = taken;
        }
    }
}

impl<T> Drop for QueueReader<T> {
    fn drop(&mut self) {
        self.shared.reader_gone.store(true, Ordering::Relaxed);
        // What was queued is nobody's now.
        let held = std::mem::take(&mut self.shared.held().fifo.items);
        drop(held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::rate::Slot;

    /// A message as (seq, conflated), 16 bytes.
    impl Item for (u64, u64) {
        fn bytes(&self) -> usize {
            16
        }
        fn conflated(self, conflated: u64) -> Self {
            (self.0, conflated)
        }
    }

    const BIG: usize = usize::MAX;
    const TICK: Pacing = Pacing::Replaceable(Slot::Tick);
    const TRADE: Pacing = Pacing::Always(None);

    fn topic() -> Topic {
        protocol::fixtures::topic()
    }

    fn taken(reader: &QueueReader<(u64, u64)>) -> Vec<(u64, u64)> {
        let mut out = VecDeque::new();
        reader.take_all(&mut out);
        out.into()
    }

    #[test]
    fn a_full_queue_refuses_and_a_gone_reader_is_told() {
        let (queue, reader) = queue(2, BIG);
        assert_eq!(queue.push((1, 0)), Ok(()));
        assert_eq!(queue.push((2, 0)), Ok(()));
        assert_eq!(queue.push((3, 0)), Err(Refused::Full));
        assert_eq!(taken(&reader), [(1, 0), (2, 0)]);
        assert_eq!(taken(&reader), [], "nothing left");
        assert_eq!(queue.push((4, 0)), Ok(()), "room again once taken");
        drop(reader);
        assert!(queue.is_closed());
        assert_eq!(queue.push((5, 0)), Err(Refused::Gone));
    }

    #[test]
    fn the_bytes_bound_refuses_once_reached_and_frees_with_a_take() {
        let (queue, reader) = queue(100, 40);
        for seq in 1..=3 {
            assert_eq!(queue.push((seq, 0)), Ok(()));
        }
        assert_eq!(queue.push((4, 0)), Err(Refused::Full), "48 bytes held");
        assert_eq!(taken(&reader).len(), 3);
        assert_eq!(queue.push((4, 0)), Ok(()));
    }

    #[test]
    fn taking_a_burst_leaves_the_queue_without_its_allocation() {
        let (queue, reader) = queue(10_000, BIG);
        for i in 0..5_000 {
            queue.push((i, 0)).unwrap();
        }
        assert_eq!(taken(&reader).len(), 5_000);
        assert_eq!(reader.shared.held().fifo.items.capacity(), 0);
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_for_a_push_in_order() {
        let (queue, mut reader) = queue(8, BIG);
        let pusher = tokio::spawn(async move {
            for i in 0..100 {
                // Wait for room: the reader takes them as they come.
                while queue.push((i, 0)) == Err(Refused::Full) {
                    tokio::task::yield_now().await;
                }
            }
        });
        for expected in 0..100 {
            let got = tokio::time::timeout(Duration::from_secs(10), reader.recv())
                .await
                .expect("an item within the deadline");
            assert_eq!(got, (expected, 0));
        }
        pusher.await.unwrap();
    }

    #[test]
    fn a_paced_topic_sends_its_latest_value_at_most_once_an_interval_and_every_trade() {
        let (queue, reader) = queue(100, BIG);
        let rate = MaxRate::new(0.01).ok();
        queue.pace(&topic(), rate, 0);
        for seq in 1..=3 {
            queue.push_message(&topic(), seq, TICK, (seq, 0)).unwrap();
        }
        assert_eq!(
            taken(&reader),
            [(3, 2)],
            "due at once: the latest, standing for three"
        );
        for seq in 4..=5 {
            queue.push_message(&topic(), seq, TICK, (seq, 0)).unwrap();
        }
        assert_eq!(taken(&reader), [], "not due for 100 s");
        let now = Instant::now();
        assert!(reader.shared.held().next_release(now) > Some(now + Duration::from_secs(99)));
        queue.push_message(&topic(), 6, TRADE, (6, 0)).unwrap();
        assert_eq!(
            taken(&reader),
            [(5, 1), (6, 0)],
            "a trade takes the value before it along"
        );
        // Another topic on the same queue is not paced.
        let other: Topic = "market:ETH-USD".parse().unwrap();
        queue.push_message(&other, 1, TICK, (1, 0)).unwrap();
        assert_eq!(taken(&reader), [(1, 0)]);
    }

    #[test]
    fn a_paced_topic_never_fills_the_queue_with_values_only_always_sent_messages_do() {
        let (queue, reader) = queue(4, BIG);
        queue.pace(&topic(), MaxRate::new(1.0).ok(), 0);
        for seq in 1..=10_000 {
            assert_eq!(queue.push_message(&topic(), seq, TICK, (seq, 0)), Ok(()));
        }
        let mut seq = 10_000;
        let refused = loop {
            seq += 1;
            if let Err(refused) = queue.push_message(&topic(), seq, TRADE, (seq, 0)) {
                break refused;
            }
        };
        assert_eq!(refused, Refused::Full);
        assert_eq!(seq, 10_004, "the last tick and three trades fit in four");
        assert_eq!(
            taken(&reader),
            [(10_000, 9_999), (10_001, 0), (10_002, 0), (10_003, 0)]
        );
    }

    #[tokio::test]
    async fn a_replay_moves_the_cursor_and_taking_the_rate_away_sends_what_was_held() {
        let (queue, reader) = queue(100, BIG);
        queue.pace(&topic(), MaxRate::new(0.01).ok(), 10);
        queue.push_replayed(&topic(), 11, (11, 0)).unwrap();
        queue.push_replayed(&topic(), 12, (12, 0)).unwrap();
        queue.push_message(&topic(), 13, TICK, (13, 0)).unwrap();
        assert_eq!(taken(&reader), [(11, 0), (12, 0), (13, 0)]);
        queue.push_message(&topic(), 14, TICK, (14, 0)).unwrap();
        queue.push_message(&topic(), 15, TICK, (15, 0)).unwrap();
        // The reader waits (for the release 100 s away) when the rate is taken away.
        let ready = reader.ready();
        tokio::pin!(ready);
        let waiting = tokio::time::timeout(Duration::ZERO, &mut ready).await;
        assert!(waiting.is_err(), "nothing to take yet");
        queue.pace(&topic(), None, 0);
        let woken = tokio::time::timeout(Duration::from_secs(10), &mut ready).await;
        assert!(woken.is_ok(), "what was held wakes the reader");
        assert_eq!(taken(&reader), [(15, 1)]);
        queue.push_message(&topic(), 16, TICK, (16, 0)).unwrap();
        assert_eq!(taken(&reader), [(16, 0)], "unpaced again");
    }

    #[tokio::test]
    async fn the_reader_wakes_when_a_held_value_falls_due() {
        let (queue, reader) = queue(100, BIG);
        queue.pace(&topic(), MaxRate::new(50.0).ok(), 0);
        queue.push_message(&topic(), 1, TICK, (1, 0)).unwrap();
        assert_eq!(taken(&reader), [(1, 0)]);
        queue.push_message(&topic(), 2, TICK, (2, 0)).unwrap();
        let mut out = vec![];
        let deadline = Instant::now() + Duration::from_secs(10);
        while out.is_empty() && Instant::now() < deadline {
            tokio::time::timeout_at(deadline, reader.ready())
                .await
                .expect("woken in time");
            out = taken(&reader);
        }
        assert_eq!(out, [(2, 0)]);
    }

    #[test]
    fn a_close_takes_what_is_held_too() {
        let (queue, reader) = queue(100, BIG);
        queue.pace(&topic(), MaxRate::new(0.01).ok(), 0);
        queue.push_message(&topic(), 1, TICK, (1, 0)).unwrap();
        assert_eq!(taken(&reader).len(), 1);
        queue.push_message(&topic(), 2, TICK, (2, 0)).unwrap();
        let mut out = VecDeque::new();
        reader.take_everything(&mut out);
        assert_eq!(Vec::from(out), [(2, 0)]);
    }
}
