//! One session's loop: market frames, commands and the countdown in; reasoning,
//! decisions, fills and account updates out to `session:{ID}` and `trading:{SYMBOL}`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use protocol::{
    Countdown, Interval, Lifecycle, Message, OrderStatus, SessionCompleted, SessionInitialized,
    Symbol, Timestamp, Topic,
};
use tokio_util::sync::CancellationToken;

use super::market::{MarketFeed, MarketFrame};
use super::paper::{Outputs, PaperSession, NO_DECISION};
use crate::hub::{Command, Delivery, Hub};
use crate::notices::{self, Notices, ACCOUNT_BLOWN};
use crate::store::Store;
use protocol::api::SessionInfo;

/// What a session cut off by its server's stop says: it trades on when the server is
/// back (docs/STORE.md).
pub const INTERRUPTED: &str = "the server stopped: the session resumes when it starts again";
/// What a session taken up again after a restart says.
pub const RESUMED: &str = "the server started again: the session trades on from where it stood";

/// A running session publishes its countdown this often (once it has seen a candle).
pub const COUNTDOWN_EVERY: Duration = Duration::from_secs(1);

/// What woke a session's loop.
enum Event {
    Stop,
    Command(Option<Command>),
    Countdown,
    FellBehind,
    Market(Delivery),
}

/// What a session's loop needs besides its [`PaperSession`].
pub struct Runner {
    pub hub: Hub,
    /// Where its owner hears of its fills and missed bars.
    pub notices: Notices,
    /// The `sub` of who started it (none in anonymous mode).
    pub owner: Option<Arc<str>>,
    /// Where its checkpoints are kept (none: it does not outlive the process).
    pub store: Option<Store>,
    pub info: SessionInfo,
    pub topic: Topic,
    pub symbol: Symbol,
    pub interval: Interval,
    /// Stopped by a client, or by the server's stop.
    pub stop: CancellationToken,
    /// The server's stop: the session is then interrupted, not ended.
    pub shutdown: CancellationToken,
    /// Taken up again after a restart: its topic holds its start already.
    pub resumed: bool,
}

/// How a session's loop ended.
enum End {
    /// Stopped or cancelled: its position is closed, and it is over.
    Completed(String),
    /// The server stopped: it resumes when the server starts again.
    Interrupted,
}

/// Whether `out` changed the account: a decision, an order or a fill.
fn moves_account(out: &Outputs) -> bool {
    !out.trading.is_empty()
        || out.session.iter().any(|m| {
            matches!(
                m,
                Message::Decision(_) | Message::PositionOpened(_) | Message::PositionClosed(_)
            )
        })
}

impl Runner {
    /// Keeps what the session resumes from (after what it published so far).
    fn checkpoint(&self, session: &PaperSession) {
        let Some(store) = &self.store else {
            return;
        };
        match serde_json::to_string(&session.checkpoint()) {
            Ok(state) => store.checkpoint("session", &self.info.session_id, state),
            Err(e) => {
                tracing::error!(session = %self.info.session_id, error = %e, "no checkpoint kept");
            }
        }
    }

    /// Publishes `out`, and keeps a checkpoint if it moved the account.
    async fn publish_step(&self, session: &PaperSession, out: Outputs) {
        let moved = moves_account(&out);
        self.publish(out).await;
        if moved {
            self.checkpoint(session);
        }
    }

    async fn publish(&self, out: Outputs) {
        self.tell_owner(&out);
        let trading = Topic::trading(&self.symbol);
        let batch: Vec<(Topic, Message)> = out
            .session
            .into_iter()
            .map(|m| (self.topic.clone(), m))
            .chain(out.trading.into_iter().map(|m| (trading.clone(), m)))
            .collect();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.hub.publish_all(batch).await {
            tracing::error!(topic = %self.topic, error = %e, "session could not publish");
        }
    }

    /// Tells the owner of the fills in `out`, and of a bar its agent let pass.
    fn tell_owner(&self, out: &Outputs) {
        let owner = self.owner.as_deref();
        for message in &out.trading {
            if let Message::Order(order) = message {
                if order.status == OrderStatus::Filled {
                    self.notices.send(owner, notices::fill(&self.topic, order));
                }
            }
        }
        for message in &out.session {
            if let Message::Decision(decision) = message {
                if decision.reasoning == NO_DECISION {
                    self.notices
                        .send(owner, notices::missed_bar(&self.topic, decision));
                }
            }
        }
    }

    /// Publishes what an outside agent's message or an order placed by hand produced,
    /// or says why it was not taken (the endpoint checked first; this is one that lost a
    /// race with the bar or a fill).
    async fn take<E: std::fmt::Display>(&self, session: &PaperSession, out: Result<Outputs, E>) {
        match out {
            Ok(out) => self.publish_step(session, out).await,
            Err(why) => {
                tracing::info!(session = %self.info.session_id, "a request is not taken: {why}");
            }
        }
    }

    async fn send(&self, topic: &Topic, message: Message) {
        if let Err(e) = self.hub.publish(topic, message).await {
            tracing::error!(%topic, error = %e, "session could not publish");
        }
    }

    /// Runs until stopped, cancelled or the market feed ends; publishes the close-out.
    pub async fn run(self, mut session: PaperSession) {
        let mut ownership = self.hub.own(&self.topic);
        let mut market = MarketFeed::subscribe(&self.hub, &self.symbol).await;
        let opening = if self.resumed {
            Message::Resumed(Lifecycle {
                reason: Some(RESUMED.to_owned()),
            })
        } else {
            Message::SessionInitialized(SessionInitialized {
                session_id: self.info.session_id.clone(),
                strategy: self.info.strategy.clone(),
                params: self.info.params.clone(),
                symbol: self.info.symbol.clone(),
                interval: self.interval,
                cash: self.info.cash,
            })
        };
        self.send(&self.topic, opening).await;
        let mut countdown = tokio::time::interval(COUNTDOWN_EVERY);
        let mut open_time: Option<Timestamp> = None;
        let mut paused = false;
        let mut warmed_up = false;
        // A print arrived since the last closed candle (or since subscribing).
        let mut printed = false;
        let end = loop {
            let fell_behind = market.fell_behind();
            let event = tokio::select! {
                _ = self.stop.cancelled() => Event::Stop,
                command = ownership.commands.recv() => Event::Command(command),
                _ = countdown.tick() => Event::Countdown,
                _ = fell_behind.cancelled() => Event::FellBehind,
                frame = market.next() => Event::Market(frame),
            };
            match event {
                Event::Stop if self.shutdown.is_cancelled() => break End::Interrupted,
                Event::Stop => break End::Completed("stopped".to_owned()),
                Event::Command(Some(Command::Pause)) if !paused => {
                    paused = true;
                    let reason = Some("requested by a client".to_owned());
                    self.send(&self.topic, Message::Paused(Lifecycle { reason }))
                        .await;
                }
                Event::Command(Some(Command::Resume)) if paused => {
                    paused = false;
                    self.send(&self.topic, Message::Resumed(Lifecycle::default()))
                        .await;
                }
                Event::Command(Some(Command::Pause | Command::Resume)) => {}
                Event::Command(Some(
                    Command::Think(_) | Command::Decide(_) | Command::Manual { .. },
                )) if paused => {
                    tracing::info!(session = %self.info.session_id, "paused: a request is not taken");
                }
                Event::Command(Some(Command::Think(thinking))) => {
                    let out = session.on_agent_thinking(thinking.chunk);
                    self.take(&session, out).await;
                }
                Event::Command(Some(Command::Decide(decision))) => {
                    let out = session.on_agent_decision(decision);
                    self.take(&session, out).await;
                }
                Event::Command(Some(Command::Manual { action, by })) => {
                    let bar = open_time.unwrap_or_else(|| Timestamp::from_datetime(Utc::now()));
                    let out = session.on_manual(action, by.as_deref(), bar);
                    self.take(&session, out).await;
                }
                Event::Command(Some(Command::Cancel) | None) => {
                    break End::Completed("cancelled".to_owned())
                }
                Event::Command(Some(Command::Stop)) => break End::Completed("stopped".to_owned()),
                Event::Countdown => {
                    if let Some(t) = open_time {
                        let end = t.unix_ms() + self.interval.millis();
                        let left = (end - Utc::now().timestamp_millis()).max(0) as u64;
                        let seconds_to_next_bar = left.div_ceil(1000);
                        self.send(
                            &self.topic,
                            Message::Countdown(Countdown {
                                seconds_to_next_bar,
                            }),
                        )
                        .await;
                    }
                }
                Event::FellBehind => {
                    market
                        .resume(&self.hub, "fell behind the market feed")
                        .await;
                }
                Event::Market(delivery) => match market.read(delivery) {
                    MarketFrame::Snapshot(candles) => {
                        if warmed_up {
                            tracing::warn!(
                                session = %self.info.session_id,
                                "market history missed: warming up again from the feed's candles"
                            );
                        }
                        session.warm_up(&candles);
                        warmed_up = true;
                    }
                    MarketFrame::Message(envelope) => match &envelope.message {
                        // No print since the last close: the feed's past, published
                        // after this session subscribed (a live bar always has prints).
                        Message::Candle(c) if c.closed && !printed => session.remember(c),
                        Message::Candle(c) if c.closed => {
                            printed = false;
                            self.send(&self.topic, Message::Candle(c.clone())).await;
                            if !paused {
                                let out = session.on_closed_candle(c);
                                self.publish(out).await;
                            }
                            self.checkpoint(&session);
                        }
                        Message::Candle(c) => open_time = Some(c.open_time),
                        // Paused: prices still mark the position, but nothing fills.
                        Message::Tick(t) if paused => {
                            printed = true;
                            session.mark(t.price);
                        }
                        Message::Tick(t) => {
                            printed = true;
                            let out = session.on_price(t.price, envelope.timestamp);
                            self.publish_step(&session, out).await;
                        }
                        _ => {}
                    },
                    MarketFrame::Gap => market.resume(&self.hub, "a gap in the market feed").await,
                    MarketFrame::Other => {}
                },
            }
            // Nothing is left to trade with: the session is over.
            if session.equity() <= 0.0 {
                break End::Completed(ACCOUNT_BLOWN.to_owned());
            }
        };
        market.unsubscribe(&self.hub);
        let End::Completed(reason) = end else {
            self.checkpoint(&session);
            let reason = Some(INTERRUPTED.to_owned());
            self.send(&self.topic, Message::Interrupted(Lifecycle { reason }))
                .await;
            return;
        };
        self.publish(session.stop(Timestamp::from_datetime(Utc::now())))
            .await;
        let final_equity = session.equity();
        self.send(
            &self.topic,
            Message::SessionCompleted(SessionCompleted {
                reason,
                final_equity,
            }),
        )
        .await;
    }
}
