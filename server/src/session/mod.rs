//! Forward-test (paper-trading) sessions: a strategy on the live market feed. Each
//! session is a hub client of `market:{SYMBOL}` (it warms up from the snapshot's
//! candles) and publishes its reasoning, decisions, positions, stats and countdown to
//! `session:{ID}`, and its orders, position, P&L and risk to `trading:{SYMBOL}`.

mod market;
pub mod paper;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::protocol::{
    Countdown, Interval, Lifecycle, Message, SessionCompleted, SessionInitialized, Symbol,
    SymbolInfo, Timestamp, Topic, TopicKind,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backtest::{Account, Strategy, StrategyError};
use crate::hub::{Command, Frame, Hub};
use market::{MarketFeed, MarketFrame};
use paper::{Outputs, PaperSession};

/// `POST /api/sessions`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    pub symbol: String,
    pub strategy: String,
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    pub cash: Option<f64>,
    pub commission: Option<f64>,
    pub id: Option<String>,
}

/// A session as listed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionInfo {
    pub session_id: String,
    pub topic: String,
    pub trading_topic: String,
    pub stream_url: String,
    pub symbol: String,
    pub strategy: String,
    pub params: BTreeMap<String, f64>,
    pub cash: f64,
    pub commission: f64,
    pub running: bool,
}

/// A refused session request.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SessionError {
    #[error("`{field}` {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
    #[error("session `{0}` already exists")]
    Exists(String),
}

fn invalid(field: &'static str, problem: impl ToString) -> SessionError {
    SessionError::Invalid {
        field,
        problem: problem.to_string(),
    }
}

struct Entry {
    info: SessionInfo,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

/// The sessions of one server.
#[derive(Clone)]
pub struct Sessions {
    hub: Hub,
    feed: Arc<[SymbolInfo]>,
    entries: Arc<Mutex<BTreeMap<String, Entry>>>,
}

impl Sessions {
    pub fn new(hub: Hub, feed: Arc<[SymbolInfo]>) -> Self {
        Sessions {
            hub,
            feed,
            entries: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn list(&self) -> Vec<SessionInfo> {
        self.lock().values().map(|e| e.info.clone()).collect()
    }

    pub fn get(&self, id: &str) -> Option<SessionInfo> {
        self.lock().get(id).map(|e| e.info.clone())
    }

    /// Validates and starts a session.
    pub fn start(&self, request: SessionRequest) -> Result<SessionInfo, SessionError> {
        let symbol = Symbol::parse(&request.symbol).map_err(|e| invalid("symbol", e))?;
        let feed = self
            .feed
            .iter()
            .find(|s| s.symbol == symbol)
            .ok_or_else(|| {
                invalid(
                    "symbol",
                    format!("no market feed publishes {symbol} (see GET /api/market/symbols)"),
                )
            })?;
        let strategy = Strategy::from_params(&request.strategy, &request.params)
            .map_err(|e| invalid("strategy", e))?;
        if let Err(StrategyError::DataTooShort { needed, .. }) =
            strategy.check_data(paper::RETAINED_CLOSES)
        {
            return Err(invalid(
                "params",
                format!(
                    "need {needed} bars of history, more than the {} closes a session keeps",
                    paper::RETAINED_CLOSES
                ),
            ));
        }
        let Account { cash, commission } = Account::from_request(request.cash, request.commission)
            .map_err(|(field, problem)| invalid(field, problem))?;
        let id = request
            .id
            .unwrap_or_else(|| format!("s-{}", ulid::Ulid::new().to_string().to_lowercase()));
        let topic = Topic::new(TopicKind::Session, &id).map_err(|e| invalid("id", e))?;
        let info = SessionInfo {
            session_id: id.clone(),
            topic: topic.to_string(),
            trading_topic: Topic::trading(&symbol).to_string(),
            stream_url: format!("/api/ws/stream/session/{id}"),
            symbol: symbol.to_string(),
            strategy: strategy.name().to_owned(),
            params: strategy.params(),
            cash,
            commission,
            running: true,
        };
        let mut entries = self.lock();
        if entries.contains_key(&id) || self.hub.snapshot(&topic).last_seq > 0 {
            return Err(SessionError::Exists(id));
        }
        let stop = CancellationToken::new();
        let session = PaperSession::new(id.clone(), symbol.clone(), strategy, cash, commission);
        let runner = Runner {
            hub: self.hub.clone(),
            info: info.clone(),
            topic,
            symbol,
            interval: feed.interval,
            stop: stop.clone(),
        };
        let sessions = self.clone();
        let task = tokio::spawn(async move {
            runner.run(session).await;
            sessions.mark_stopped(&id);
        });
        entries.insert(
            info.session_id.clone(),
            Entry {
                info: info.clone(),
                stop,
                task: Some(task),
            },
        );
        Ok(info)
    }

    fn mark_stopped(&self, id: &str) {
        if let Some(e) = self.lock().get_mut(id) {
            e.info.running = false;
        }
    }

    /// Stops a session (its position is closed at the last price); waits for it to finish.
    pub async fn stop(&self, id: &str) -> Option<SessionInfo> {
        let task = {
            let mut entries = self.lock();
            let entry = entries.get_mut(id)?;
            entry.stop.cancel();
            entry.task.take()
        };
        if let Some(task) = task {
            let _ = task.await;
        }
        self.get(id)
    }
}

/// What woke a session's loop.
enum Event {
    Stop,
    Command(Option<Command>),
    Countdown,
    FellBehind,
    Market(Option<Frame>),
}

struct Runner {
    hub: Hub,
    info: SessionInfo,
    topic: Topic,
    symbol: Symbol,
    interval: Interval,
    stop: CancellationToken,
}

impl Runner {
    fn publish(&self, out: Outputs) {
        let trading = Topic::trading(&self.symbol);
        for m in out.session {
            self.send(&self.topic, m);
        }
        for m in out.trading {
            self.send(&trading, m);
        }
    }

    fn send(&self, topic: &Topic, message: Message) {
        if let Err(e) = self.hub.publish(topic, message) {
            tracing::error!(%topic, error = %e, "session could not publish");
        }
    }

    async fn run(self, mut session: PaperSession) {
        let mut ownership = self.hub.own(&self.topic);
        let mut market = MarketFeed::subscribe(&self.hub, &self.symbol);
        self.send(
            &self.topic,
            Message::SessionInitialized(SessionInitialized {
                session_id: self.info.session_id.clone(),
                strategy: self.info.strategy.clone(),
                params: self.info.params.clone(),
                symbol: self.info.symbol.clone(),
                interval: self.interval,
                cash: self.info.cash,
            }),
        );
        let mut countdown = tokio::time::interval(Duration::from_secs(1));
        let mut open_time: Option<Timestamp> = None;
        let mut paused = false;
        let mut warmed_up = false;
        let reason = loop {
            let fell_behind = market.fell_behind();
            let event = tokio::select! {
                _ = self.stop.cancelled() => Event::Stop,
                command = ownership.commands.recv() => Event::Command(command),
                _ = countdown.tick() => Event::Countdown,
                _ = fell_behind.cancelled() => Event::FellBehind,
                frame = market.next() => Event::Market(frame),
            };
            match event {
                Event::Stop => break "stopped".to_owned(),
                Event::Command(Some(Command::Pause)) if !paused => {
                    paused = true;
                    let reason = Some("requested by a client".to_owned());
                    self.send(&self.topic, Message::Paused(Lifecycle { reason }));
                }
                Event::Command(Some(Command::Resume)) if paused => {
                    paused = false;
                    self.send(&self.topic, Message::Resumed(Lifecycle::default()));
                }
                Event::Command(Some(Command::Pause | Command::Resume)) => {}
                Event::Command(Some(Command::Cancel) | None) => break "cancelled".to_owned(),
                Event::Countdown => {
                    if let Some(t) = open_time {
                        let end = t.unix_ms() + self.interval.millis();
                        let left = (end - Utc::now().timestamp_millis()).max(0) as u64;
                        let seconds_to_next_bar = left.div_ceil(1000);
                        self.send(&self.topic, Message::Countdown(Countdown { seconds_to_next_bar }));
                    }
                }
                Event::FellBehind => market.resume(&self.hub, "fell behind the market feed"),
                Event::Market(None) => break "market feed ended".to_owned(),
                Event::Market(Some(frame)) => match market.read(&frame) {
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
                    MarketFrame::Message(envelope) => match envelope.message {
                        Message::Candle(c) if c.closed => {
                            self.send(&self.topic, Message::Candle(c.clone()));
                            if !paused {
                                self.publish(session.on_closed_candle(&c));
                            }
                        }
                        Message::Candle(c) => open_time = Some(c.open_time),
                        // Paused: prices still mark the position, but nothing fills.
                        Message::Tick(t) if paused => session.mark(t.price),
                        Message::Tick(t) => {
                            self.publish(session.on_price(t.price, envelope.timestamp))
                        }
                        _ => {}
                    },
                    MarketFrame::Gap => market.resume(&self.hub, "a gap in the market feed"),
                    MarketFrame::Other => {}
                },
            }
        };
        market.unsubscribe(&self.hub);
        self.publish(session.stop(Timestamp::from_datetime(Utc::now())));
        let final_equity = session.equity();
        self.send(
            &self.topic,
            Message::SessionCompleted(SessionCompleted {
                reason,
                final_equity,
            }),
        );
    }
}
