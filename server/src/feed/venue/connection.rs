//! One venue feed's connection, for all its markets: history from REST for fresh
//! topics, then the socket — read until it closes, goes silent, the venue says it is
//! closing, or it reaches the venue's age limit — and again, with jittered backoff
//! (none after a planned close). After a reconnect the candles prints were missed for
//! are rebuilt from the venue's REST candles, so the chart has no hole and no candle
//! twice; the topic's seq simply goes on, so clients see no resync.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use protocol::client::ReconnectPolicy;
use protocol::{Interval, Message, Topic};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_util::sync::CancellationToken;

use super::api::{self, CandleRange, Frame, VenueApi, VenueCandle};
use super::history;
use super::market::{Market, Printed};
use super::rest::{Rest, RestError};
use super::spec::VenueFeed;
use super::status::{FeedState, FeedStatuses};
use crate::hub::Hub;

/// Where a venue feed connects (`--feed-ws-url`, `--feed-rest-url`, or the venue's own).
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    pub ws: Option<String>,
    pub rest: Option<String>,
}

/// How long a venue feed waits, for what.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// A connection that brings no frame for this long is closed and opened again
    /// (`--feed-silence-secs`).
    pub silence: Duration,
    /// The waits between failed attempts: the stream clients' rule (base, factor, cap,
    /// jitter), so many feeds never retry in step.
    pub backoff: ReconnectPolicy,
    /// Closed candles a fresh topic starts with (`--history-candles`).
    pub history_candles: usize,
    pub interval: Interval,
    /// How long one connection is used (`--feed-max-connection-secs`); `None`: the
    /// venue's own limit, if it has one.
    pub max_connection_age: Option<Duration>,
}

/// The largest frame a venue may send (theirs are under a few KiB): a bigger one ends
/// the connection, it is never held in memory.
const MAX_VENUE_FRAME_BYTES: usize = 1 << 20;

fn frame_limits() -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_VENUE_FRAME_BYTES))
        .max_frame_size(Some(MAX_VENUE_FRAME_BYTES))
}

/// The least time between two rebuilds of one market's candles after missed prints.
const MEND_EVERY: Duration = Duration::from_secs(10);

/// How long a feed the venue refuses (HTTP 451) waits before trying again.
const RESTRICTED_RETRY: Duration = Duration::from_secs(3600);

/// Why a connection ended.
#[derive(Debug)]
enum Ended {
    /// Planned (the venue announced it, or the connection's age limit): reconnect now.
    Planned(&'static str),
    /// Lost: reconnect after a backoff.
    Lost(String),
    /// The venue refuses this location (HTTP 451): down, and tried again much later.
    Restricted(String),
    Cancelled,
}

/// Runs `feed` until `shutdown`.
pub fn spawn(
    feed: VenueFeed,
    endpoints: Endpoints,
    timing: Timing,
    hub: Hub,
    statuses: FeedStatuses,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let api = api::of(feed.venue);
        let venue = feed.venue.name();
        let connection = statuses.connection();
        let markets = feed
            .markets
            .iter()
            .map(|m| {
                let topic = Topic::market(&m.symbol);
                let status = statuses.add(connection, venue, &m.venue_symbol, &topic.to_string());
                Market::new(
                    m.venue_symbol.clone(),
                    m.symbol.clone(),
                    feed.venue.source(),
                    timing.interval,
                    status,
                )
            })
            .collect();
        let mut feed = Feed {
            ws: endpoints.ws.unwrap_or_else(|| api.profile().ws.to_owned()),
            rest_base: endpoints
                .rest
                .unwrap_or_else(|| api.profile().rest.to_owned()),
            rest: Rest::new(venue),
            api,
            markets,
            hub,
            statuses,
            connection,
            opened: 0,
            timing,
            shutdown,
        };
        feed.run().await;
    })
}

struct Feed {
    api: Box<dyn VenueApi>,
    ws: String,
    rest_base: String,
    rest: Rest,
    markets: Vec<Market>,
    hub: Hub,
    statuses: FeedStatuses,
    /// Its connection's entry in the statuses.
    connection: usize,
    /// Connections opened so far.
    opened: u64,
    timing: Timing,
    shutdown: CancellationToken,
}

impl Feed {
    fn venue(&self) -> &'static str {
        self.api.profile().venue.name()
    }

    async fn run(&mut self) {
        // A topic another instance fed goes on where it stands; either way, what the
        // venue's candles have that the topic lacks is published first.
        for market in &mut self.markets {
            market.resume(&self.hub).await;
        }
        let every: Vec<usize> = (0..self.markets.len()).collect();
        let mut attempt = 0u32;
        loop {
            if let Err(e) = self.rebuild(&every).await {
                match e {
                    RestError::Cancelled => return,
                    RestError::Restricted(_) => {
                        self.set_all(FeedState::Down, Some(e.to_string()));
                        tracing::error!(venue = self.venue(), "{e}");
                        if self.wait(RESTRICTED_RETRY).await {
                            return;
                        }
                        continue;
                    }
                    // The chart starts without the venue's past: prints still flow.
                    e => {
                        tracing::warn!(venue = self.venue(), error = %e, "no candles from the venue's REST API");
                    }
                }
            }
            let opened = self.opened;
            let ended = self.connect_and_read().await;
            if self.opened > opened {
                // It connected: a loss now starts the waits over.
                attempt = 0;
            }
            let wait = match ended {
                Ended::Cancelled => return,
                Ended::Planned(why) => {
                    attempt = 0;
                    self.set_all(FeedState::Reconnecting, Some(why.to_owned()));
                    Duration::ZERO
                }
                Ended::Restricted(why) => {
                    tracing::error!(venue = self.venue(), "{why}");
                    self.set_all(FeedState::Down, Some(why));
                    RESTRICTED_RETRY
                }
                Ended::Lost(why) => {
                    tracing::warn!(venue = self.venue(), %why, attempt, "venue connection lost");
                    self.set_all(FeedState::Reconnecting, Some(why));
                    let wait = self.timing.backoff.delay_ms(attempt, rand::random());
                    attempt = attempt.saturating_add(1);
                    Duration::from_secs_f64(wait / 1000.0)
                }
            };
            if self.wait(wait).await {
                return;
            }
        }
    }

    /// Rebuilds the candles of the markets at `indices` from the venue's REST candles
    /// (a fresh topic's history, or what a reconnect may have missed) and publishes
    /// what closed.
    async fn rebuild(&mut self, indices: &[usize]) -> Result<(), RestError> {
        let interval_secs = self.timing.interval.secs();
        let Some(&granularity) = self
            .api
            .profile()
            .granularities
            .iter()
            .rev()
            .find(|&&g| interval_secs.is_multiple_of(g))
        else {
            tracing::warn!(venue = self.venue(), interval = %self.timing.interval, "the venue has no candles that make up this interval: candles come from prints alone");
            return Ok(());
        };
        for &i in indices {
            let now_ms = Utc::now().timestamp_millis();
            let span = self.timing.interval.millis();
            let current = now_ms - now_ms.rem_euclid(span);
            // What the topic lacks, never more than a fresh topic's history.
            let oldest = current - self.timing.history_candles as i64 * span;
            let from = self.markets[i]
                .last_closed_ms()
                .map_or(oldest, |last| (last + span).max(oldest));
            let venue_candles = self
                .candles(
                    &self.markets[i].venue_symbol.clone(),
                    granularity,
                    from,
                    now_ms,
                )
                .await?;
            let messages = self.markets[i].rebuild(&venue_candles, now_ms);
            self.publish(&self.markets[i].topic.clone(), messages).await;
        }
        Ok(())
    }

    /// The venue's candles of `granularity` seconds opening in `[from_ms, to_ms)`.
    async fn candles(
        &self,
        market: &str,
        granularity: u64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<VenueCandle>, RestError> {
        let mut all = Vec::new();
        for (start_ms, end_ms) in history::calls(self.api.profile(), granularity, from_ms, to_ms) {
            let range = CandleRange {
                base: &self.rest_base,
                market,
                granularity,
                start_ms,
                end_ms,
            };
            all.extend(history::call(self.api.as_ref(), &self.rest, &range, &self.shutdown).await?);
        }
        Ok(all)
    }

    /// One connection, from opening to its end.
    async fn connect_and_read(&mut self) -> Ended {
        let names: Vec<&str> = self
            .markets
            .iter()
            .map(|m| m.venue_symbol.as_str())
            .collect();
        let url = self.api.stream_url(&self.ws, &names);
        let subscriptions = self.api.subscribe(&names);
        let connecting =
            tokio_tungstenite::connect_async_with_config(&url, Some(frame_limits()), false);
        let opened = tokio::select! {
            _ = self.shutdown.cancelled() => return Ended::Cancelled,
            opened = tokio::time::timeout(self.timing.silence, connecting) => opened,
        };
        let mut socket = match opened {
            Ok(Ok((socket, _))) => socket,
            Ok(Err(tungstenite::Error::Http(response))) if response.status().as_u16() == 451 => {
                return Ended::Restricted(RestError::Restricted(self.venue()).to_string());
            }
            Ok(Err(e)) => return Ended::Lost(format!("could not connect: {e}")),
            Err(_) => return Ended::Lost("could not connect in time".into()),
        };
        for frame in subscriptions {
            if let Err(e) = socket.send(WsMessage::text(frame)).await {
                return Ended::Lost(format!("could not subscribe: {e}"));
            }
        }
        self.set_all(FeedState::Connected, None);
        if self.opened > 0 {
            self.statuses.reconnected(self.connection);
        }
        self.opened += 1;
        let age_limit = self
            .timing
            .max_connection_age
            .or(self.api.profile().max_connection_age);
        let aged = tokio::time::sleep(age_limit.unwrap_or(Duration::MAX / 4));
        tokio::pin!(aged);
        let mut dropped = Dropped::new(self.statuses.clone(), self.connection, self.venue());
        let mut mended: Vec<Option<tokio::time::Instant>> = vec![None; self.markets.len()];
        loop {
            let next = tokio::select! {
                _ = self.shutdown.cancelled() => {
                    let _ = socket.close(None).await;
                    return Ended::Cancelled;
                }
                _ = &mut aged, if age_limit.is_some() => {
                    let _ = socket.close(None).await;
                    return Ended::Planned("reconnecting ahead of the venue's connection age limit");
                }
                next = tokio::time::timeout(self.timing.silence, socket.next()) => next,
            };
            let text = match next {
                Err(_) => {
                    return Ended::Lost(format!("no frame for {} s", self.timing.silence.as_secs()))
                }
                Ok(None) => return Ended::Lost("the venue closed the connection".into()),
                Ok(Some(Err(e))) => return Ended::Lost(format!("connection failed: {e}")),
                Ok(Some(Ok(WsMessage::Close(frame)))) => {
                    let why = frame
                        .map(|f| format!("{} {}", u16::from(f.code), f.reason))
                        .unwrap_or_default();
                    return Ended::Lost(format!(
                        "the venue closed the connection ({})",
                        why.trim()
                    ));
                }
                Ok(Some(Ok(WsMessage::Text(text)))) => text,
                // Pings are answered by the socket itself; nothing else carries data.
                Ok(Some(Ok(_))) => continue,
            };
            match self.api.read(text.as_str()) {
                Ok(Frame::Prints(prints)) => {
                    let gaps = self.prints(prints, &mut dropped).await;
                    self.mend(gaps, &mut mended).await;
                }
                Ok(Frame::LastTrade { market, id }) => {
                    let gap = self
                        .markets
                        .iter()
                        .position(|m| m.venue_symbol == market && m.missed_up_to(id));
                    self.mend(gap.into_iter().collect(), &mut mended).await;
                }
                Ok(Frame::Closing) => {
                    return Ended::Planned("the venue announced it closes the connection")
                }
                Ok(Frame::Other) => {}
                Ok(Frame::Unknown(kind)) => dropped.note("unknown", &kind),
                Ok(Frame::Refused(why)) => {
                    tracing::error!(venue = self.venue(), %why, "the venue refused a request");
                    self.set_all(FeedState::Connected, Some(why));
                }
                Err(why) => dropped.note("malformed", &why),
            }
        }
    }

    /// Rebuilds from REST the candles of the markets at `gaps`, which missed prints on
    /// a live connection (at most once per [`MEND_EVERY`] each: a venue that keeps
    /// skipping is not asked again and again).
    async fn mend(&mut self, gaps: Vec<usize>, mended: &mut [Option<tokio::time::Instant>]) {
        for &i in &gaps {
            self.statuses.gap(self.markets[i].status);
        }
        let now = tokio::time::Instant::now();
        let due: Vec<usize> = gaps
            .into_iter()
            .filter(|&i| mended[i].is_none_or(|at| now.duration_since(at) >= MEND_EVERY))
            .collect();
        for &i in &due {
            mended[i] = Some(now);
        }
        if due.is_empty() {
            return;
        }
        tracing::warn!(
            venue = self.venue(),
            markets = due.len(),
            "prints were missed: rebuilding their candles from REST"
        );
        if let Err(e) = self.rebuild(&due).await {
            tracing::warn!(venue = self.venue(), error = %e, "could not rebuild candles after missed prints");
        }
    }

    /// Publishes the new prints of one frame, market by market; returns the markets
    /// whose trade ids skipped some.
    async fn prints(&mut self, prints: Vec<api::Print>, dropped: &mut Dropped) -> Vec<usize> {
        let venue = self.venue();
        let mut batch = Vec::new();
        let mut gaps = Vec::new();
        for print in prints {
            let Some(i) = self
                .markets
                .iter()
                .position(|m| m.venue_symbol == print.market)
            else {
                dropped.note("unknown market", &print.market);
                continue;
            };
            let market = &mut self.markets[i];
            match market.print(&print) {
                Printed::New(messages, missed) => {
                    if missed > 0 && !gaps.contains(&i) {
                        gaps.push(i);
                    }
                    self.statuses.printed(market.status);
                    batch.extend(messages.into_iter().map(|m| (market.topic.clone(), m)));
                }
                Printed::Old => dropped.note(
                    "duplicate or older trade id",
                    &format!("{} #{}", print.market, print.id),
                ),
            }
        }
        if !batch.is_empty() {
            if let Err(e) = self.hub.publish_all(batch).await {
                tracing::error!(venue, error = %e, "venue feed could not publish");
            }
        }
        gaps
    }

    async fn publish(&self, topic: &Topic, messages: Vec<Message>) {
        if messages.is_empty() {
            return;
        }
        let batch = messages.into_iter().map(|m| (topic.clone(), m)).collect();
        if let Err(e) = self.hub.publish_all(batch).await {
            tracing::error!(%topic, error = %e, "venue feed could not publish its candles");
        }
    }

    fn set_all(&self, state: FeedState, reason: Option<String>) {
        let indices: Vec<usize> = self.markets.iter().map(|m| m.status).collect();
        self.statuses.set(&indices, state, reason);
    }

    /// Waits `wait`; true if the server shut down meanwhile.
    async fn wait(&self, wait: Duration) -> bool {
        tokio::select! {
            _ = self.shutdown.cancelled() => true,
            _ = tokio::time::sleep(wait) => false,
        }
    }
}

/// Frames and prints dropped on one connection: each counted (health's `dropped`,
/// `/metrics`' `tickwire_feed_dropped_total`), each kind logged once.
struct Dropped {
    statuses: FeedStatuses,
    connection: usize,
    venue: &'static str,
    logged: HashSet<&'static str>,
}

impl Dropped {
    fn new(statuses: FeedStatuses, connection: usize, venue: &'static str) -> Self {
        Dropped {
            statuses,
            connection,
            venue,
            logged: HashSet::new(),
        }
    }

    fn note(&mut self, why: &'static str, what: &str) {
        self.statuses.dropped(self.connection);
        if self.logged.insert(why) {
            tracing::warn!(
                venue = self.venue,
                why,
                what,
                "dropped a venue frame or print (logged once per connection)"
            );
        }
    }
}
