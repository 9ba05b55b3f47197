//! The FIFO behind an outbox: bounded, pushed to without waiting by the hub, and
//! emptied by one reader that takes everything queued at once.
//!
//! It holds memory only for what it holds. A channel of fixed-size blocks keeps blocks
//! for reuse after a burst; here the deque that carried a burst leaves with the
//! reader's [`QueueReader::take_all`], and the reader drops it once written, so an idle
//! connection costs after a burst what it cost before (BENCHMARKS.md, "Memory after a
//! burst").

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// Why an item was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// `capacity` items are waiting.
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
    items: Mutex<VecDeque<T>>,
    capacity: usize,
    /// Told when the queue goes from empty to not (a permit is kept when the reader
    /// is not waiting, so a push between its look and its wait is not missed).
    ready: Notify,
    reader_gone: AtomicBool,
}

impl<T> Shared<T> {
    fn items(&self) -> MutexGuard<'_, VecDeque<T>> {
        // A panic while holding this lock leaves a deque that is still whole.
        self.items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A queue of at most `capacity` (at least 1) items.
pub fn queue<T>(capacity: usize) -> (Queue<T>, QueueReader<T>) {
    let shared = Arc::new(Shared {
        items: Mutex::new(VecDeque::new()),
        capacity: capacity.max(1),
        ready: Notify::new(),
        reader_gone: AtomicBool::new(false),
    });
    let reader = QueueReader {
        shared: shared.clone(),
        taken: VecDeque::new(),
    };
    (Queue { shared }, reader)
}

impl<T> Queue<T> {
    /// Queues `item` without waiting.
    pub fn push(&self, item: T) -> Result<(), Refused> {
        if self.is_closed() {
            return Err(Refused::Gone);
        }
        let mut items = self.shared.items();
        if items.len() >= self.shared.capacity {
            return Err(Refused::Full);
        }
        let was_empty = items.is_empty();
        items.push_back(item);
        drop(items);
        if was_empty {
            self.shared.ready.notify_one();
        }
        Ok(())
    }

    /// Whether the reader is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.reader_gone.load(Ordering::Relaxed)
    }
}

impl<T> QueueReader<T> {
    /// Waits until something is queued.
    pub async fn ready(&self) {
        loop {
            // Registered before the look, so a push right after it still wakes us.
            let notified = self.shared.ready.notified();
            if !self.shared.items().is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Moves everything queued to the back of `into`; false when nothing was.
    pub fn take_all(&self, into: &mut VecDeque<T>) -> bool {
        let mut items = self.shared.items();
        if items.is_empty() {
            return false;
        }
        if into.is_empty() {
            // The queue's own allocation goes with the items; it starts again empty.
            std::mem::swap(&mut *items, into);
        } else {
            into.extend(items.drain(..));
        }
        true
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.shared.items().is_empty()
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
        let items = std::mem::take(&mut *self.shared.items());
        drop(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_refuses_and_a_gone_reader_is_told() {
        let (queue, reader) = queue(2);
        assert_eq!(queue.push(1), Ok(()));
        assert_eq!(queue.push(2), Ok(()));
        assert_eq!(queue.push(3), Err(Refused::Full));
        let mut out = VecDeque::new();
        assert!(reader.take_all(&mut out));
        assert_eq!(out, [1, 2]);
        assert!(!reader.take_all(&mut out), "nothing left");
        assert_eq!(queue.push(4), Ok(()), "room again once taken");
        drop(reader);
        assert!(queue.is_closed());
        assert_eq!(queue.push(5), Err(Refused::Gone));
    }

    #[test]
    fn taking_a_burst_leaves_the_queue_without_its_allocation() {
        let (queue, reader) = queue(10_000);
        for i in 0..5_000 {
            queue.push(i).unwrap();
        }
        let mut out = VecDeque::new();
        reader.take_all(&mut out);
        assert_eq!(out.len(), 5_000);
        assert_eq!(reader.shared.items().capacity(), 0);
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_for_a_push_in_order() {
        let (queue, mut reader) = queue(8);
        let pusher = tokio::spawn(async move {
            for i in 0..100 {
                // Wait for room: the reader takes them as they come.
                while queue.push(i) == Err(Refused::Full) {
                    tokio::task::yield_now().await;
                }
            }
        });
        for expected in 0..100 {
            let got = tokio::time::timeout(std::time::Duration::from_secs(10), reader.recv())
                .await
                .expect("an item within the deadline");
            assert_eq!(got, expected);
        }
        pusher.await.unwrap();
    }
}
