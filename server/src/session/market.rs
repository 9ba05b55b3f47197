//! A session's subscription to `market:{SYMBOL}`: frames read with the dashboard's
//! cursor rules (duplicates dropped, a gap noticed), and resumed from that cursor when
//! the hub drops the session as a slow consumer or a gap shows. The session is held to
//! the same bounded queue as any socket — a session that cannot keep up must not grow
//! memory — but unlike a socket it is not closed: it resubscribes from its last seq (a
//! `resync` with the feed's recent candles when that seq is gone), and says so in the
//! log, so it never silently stops receiving prices. It receives the hub's envelopes
//! themselves (a typed outbox), never JSON to parse again.

use std::sync::Arc;

use protocol::client::{Cursor, Verdict};
use protocol::{Candle, Control, Envelope, Resync, Since, SnapshotData, Symbol, Topic};
use tokio_util::sync::CancellationToken;

use crate::hub::{Delivery, Hub, Outbox, OutboxReceiver};

/// What one market frame means to a session.
pub enum MarketFrame {
    /// The feed's state (subscribe or resync): the candles to warm up from.
    Snapshot(Vec<Candle>),
    /// The next market message.
    Message(Arc<Envelope>),
    /// Messages are missing before this one: resume from the cursor.
    Gap,
    /// Anything else (other control messages, duplicates).
    Other,
}

pub struct MarketFeed {
    topic: Topic,
    outbox: Outbox,
    rx: OutboxReceiver<Delivery>,
    cursor: Cursor,
}

impl MarketFeed {
    pub async fn subscribe(hub: &Hub, symbol: &Symbol) -> Self {
        let topic = Topic::market(symbol);
        let (outbox, rx) = hub.typed_outbox();
        // A symbol of the server's own feed: its topic is kept, never idle.
        if let Err(e) = hub.keep(&topic).await {
            tracing::error!(%topic, error = %e, "a session could not keep its market");
        }
        subscribe(hub, &topic, None, &outbox).await;
        MarketFeed {
            topic,
            outbox,
            rx,
            cursor: Cursor::default(),
        }
    }

    /// Cancelled when the hub has dropped this subscription as a slow consumer.
    pub fn fell_behind(&self) -> CancellationToken {
        self.rx.slow.clone()
    }

    /// The next queued delivery.
    pub async fn next(&mut self) -> Delivery {
        self.rx.frames.recv().await
    }

    /// Reads a delivery, moving the cursor.
    pub fn read(&mut self, delivery: Delivery) -> MarketFrame {
        match delivery {
            Delivery::Control(control) => match &*control {
                Control::Snapshot(s) | Control::Resync(Resync { snapshot: s, .. }) => {
                    self.cursor.reset(s);
                    match &s.data {
                        SnapshotData::Market(m) => MarketFrame::Snapshot(m.candles.clone()),
                        _ => MarketFrame::Other,
                    }
                }
                _ => MarketFrame::Other,
            },
            Delivery::Message(e) => match self.cursor.check(&e) {
                Verdict::Apply => MarketFrame::Message(e),
                Verdict::Duplicate => MarketFrame::Other,
                Verdict::Gap { .. } => MarketFrame::Gap,
            },
        }
    }

    /// Drops the current subscription and its queue, and subscribes again from the last
    /// seq read.
    pub async fn resume(&mut self, hub: &Hub, why: &str) {
        tracing::warn!(
            topic = %self.topic,
            after_seq = self.cursor.last_seq(),
            "session {why}: resuming from its last seq"
        );
        hub.unsubscribe(&self.topic, &self.outbox);
        let (outbox, rx) = hub.typed_outbox();
        subscribe(hub, &self.topic, self.cursor.since().as_ref(), &outbox).await;
        self.outbox = outbox;
        self.rx = rx;
    }

    pub fn unsubscribe(&self, hub: &Hub) {
        hub.unsubscribe(&self.topic, &self.outbox);
    }
}

/// Subscribes to a kept topic, which exists whatever the cap on topics.
async fn subscribe(hub: &Hub, topic: &Topic, since: Option<&Since>, outbox: &Outbox) {
    if let Err(e) = hub.subscribe(topic, since, None, outbox).await {
        tracing::error!(%topic, error = %e, "a session could not follow its market");
    }
}
