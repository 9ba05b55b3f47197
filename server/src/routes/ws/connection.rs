//! One WebSocket connection: a single task that drains the connection's outbox into the
//! socket, reads and answers client actions, pings when idle and closes on slow
//! consumption, oversized frames, a frame flood, silence, a missing or lapsed token,
//! or shutdown.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use chrono::Utc;
use futures_util::SinkExt;
use protocol::rate::MaxRate;
use protocol::{
    ClientAction, Connected, Control, ErrorFrame, Heartbeat, Pong, Since, Timestamp, Topic,
    Unsubscribed,
};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::WaitForCancellationFuture;

use super::flood::{Admit, Flood};
use super::identity::{Authenticated, Identity};
use super::pacer::{Beat, Ready, WritePacer};
use crate::admission::Place;
use crate::auth::{Caller, TokenError};
use crate::hub::{Command, Direct, Frame, Outbox, OutboxReceiver};
use crate::notices::ANONYMOUS;
use crate::routes::state::AppState;

/// Close codes this server sends.
mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// Most frames written between two flushes.
const WRITE_BATCH: usize = 256;

/// Frames' room a connection keeps between writes; a larger deque (a burst's) is freed
/// once written.
const KEPT_BATCH: usize = 64;

/// How long a close frame may wait behind already-queued data (a slow consumer has to
/// read that first) before the socket is simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// How long the client's unread frames are read and dropped after our close, waiting
/// for its own close (a silent client never sends one).
const CLOSE_DRAIN: Duration = Duration::from_secs(2);

/// A subscription asked for: from `since` (none: a snapshot), at most `rate`
/// replaceable messages a second (none: all).
#[derive(Clone, Debug)]
pub struct Wanted {
    pub topic: Topic,
    pub since: Option<Since>,
    pub rate: Option<MaxRate>,
}

/// Runs the connection until either side ends it; its socket place (`slot`) is given
/// back as soon as it is served no more, before the closing handshake. The `initial`
/// subscriptions are made once the peer's identity is known.
pub async fn run(
    mut socket: WebSocket,
    state: AppState,
    slot: Arc<Place>,
    identity: Identity,
    initial: Vec<Wanted>,
) {
    let stats = state.hub.stats();
    let counted = stats.connection();
    let (outbox, mut rx) = state.hub.outbox();
    // Unique in the cluster: `POST /api/notify` may name it on any instance.
    let id = match state.hub.instance() {
        "" => outbox.id().to_string(),
        instance => format!("{instance}.{}", outbox.id()),
    };
    let mut conn = Connection {
        state: &state,
        id,
        outbox,
        topics: HashMap::new(),
        flood: Flood::new(state.limits.client_rate, state.limits.client_burst),
        identity,
        pending: initial,
    };
    // Listening before `connected` goes out: a notice sent to this connection as soon as
    // its peer knows the id is heard.
    let directs = state.hub.directs();
    conn.outbox.push_control(Control::Connected(Connected {
        connection_id: conn.id.clone(),
        heartbeat_secs: state.limits.heartbeat.as_secs(),
        max_message_bytes: state.limits.max_message_bytes,
        build: protocol::BUILD_ID.to_owned(),
        stale_after_ms: state.limits.stale_after.by_kind(),
    }));
    Box::pin(conn.subscribe_pending()).await;

    let closing = conn.pump(&mut socket, &mut rx, directs).await;
    conn.unsubscribe_all();
    // Served no more: what is left is the closing handshake.
    drop((counted, slot));
    if let Some((code, reason)) = closing {
        let slow = code == close::TRY_AGAIN_LATER;
        if slow {
            stats.slow_consumer_disconnected();
        }
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        // What was queued before the close goes first (the error that explains it, a
        // frame waiting out `--write-delay-ms`); a slow consumer's queue is what it
        // could not take. Then the closing handshake: send ours, then read (and drop)
        // what the client had already sent until its close. Closing with its frames
        // unread would reset the connection, and the client would never see why it was
        // closed.
        let last = async {
            if !slow {
                let mut remaining = VecDeque::new();
                rx.frames.take_everything(&mut remaining);
                write_all(&mut socket, &mut remaining).await?;
            }
            socket.send(WsMessage::Close(Some(frame))).await
        };
        if let Ok(Ok(())) = tokio::time::timeout(CLOSE_GRACE, Box::pin(last)).await {
            let _ = tokio::time::timeout(CLOSE_DRAIN, async {
                while let Some(Ok(message)) = socket.recv().await {
                    if matches!(message, WsMessage::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
}

/// The close to send when the connection ends; `None`: drop the socket without one.
type Closing = Option<(u16, &'static str)>;

/// The outbox overflowed: the client must resume.
const SLOW_CONSUMER: Closing = Some((close::TRY_AGAIN_LATER, "slow consumer"));

/// A write pending for twice the heartbeat: the peer stopped reading. The socket is
/// dropped without a close frame (it could not be delivered).
fn stalled() -> Closing {
    tracing::info!("peer stopped reading: dropping the connection");
    None
}

struct Connection<'a> {
    state: &'a AppState,
    /// Its `connection_id`.
    id: String,
    outbox: Outbox,
    /// The topics followed, each with the rate it was asked at.
    topics: HashMap<Topic, Option<MaxRate>>,
    flood: Flood,
    identity: Identity,
    /// Subscriptions asked for before the peer's identity was known.
    pending: Vec<Wanted>,
}

impl Connection<'_> {
    /// Queues `direct` if it is for this connection (once its peer is known).
    fn take_direct(&self, direct: Direct) {
        let Some(caller) = self.identity.caller() else {
            return;
        };
        let user = caller.sub().unwrap_or(ANONYMOUS);
        if direct.to.include(&self.id, user) {
            self.outbox
                .push_control(Control::DirectNotice(direct.notice));
        }
    }

    /// Moves frames both ways until the connection should end; returns the close to send.
    ///
    /// A published frame costs this task one wake-up and one write, so the loop keeps
    /// its waiters for the whole connection (the slow flag, shutdown, the token's
    /// deadline) instead of making new ones per frame, and arms a stall timer only for a
    /// write that cannot finish at once.
    async fn pump(
        &mut self,
        socket: &mut WebSocket,
        rx: &mut OutboxReceiver,
        mut directs: broadcast::Receiver<Direct>,
    ) -> Closing {
        let state = self.state;
        let heartbeat = state.limits.heartbeat;
        let mut pacer = WritePacer::new(
            state.limits.write_delay,
            heartbeat,
            Instant::from_std(state.started),
            Instant::now(),
        );
        let mut ticker = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let OutboxReceiver {
            frames,
            slow,
            restarted,
        } = rx;
        let slow = slow.cancelled();
        let restarted = restarted.clone();
        let restart = restarted.signalled();
        // A child of its own: waiting on the server's token itself would lock one mutex
        // that every connection shares, at every wake-up.
        let shutdown = state.shutdown.child_token();
        let shutdown = shutdown.cancelled();
        let mut deadline = self.identity.deadline();
        // Without a token yet, the socket's place among those awaiting one may be taken
        // back for a newer socket (`--max-sockets-awaiting-auth`).
        let displaced = self.identity.displaced();
        let displaced = async move {
            match displaced {
                Some(token) => token.cancelled_owned().await,
                None => std::future::pending().await,
            }
        };
        let expiry =
            tokio::time::sleep_until(deadline.as_ref().map_or_else(Instant::now, |(at, _)| *at));
        // The pacer's next look while frames wait for a tick (`--write-delay-ms`).
        let next_look = tokio::time::sleep_until(Instant::now());
        // Frames taken from the outbox, being written.
        let mut batch = VecDeque::new();
        let mut hearing = true;
        tokio::pin!(slow, shutdown, expiry, next_look, displaced, restart);
        loop {
            tokio::select! {
                biased;
                _ = &mut slow => return SLOW_CONSUMER,
                _ = &mut shutdown => return Some((close::GOING_AWAY, "server shutting down")),
                _ = &mut displaced, if self.identity.caller().is_none() => {
                    return Some((close::POLICY, "no token yet, and newer sockets waited for one"));
                }
                // No token in time, or it lapsed.
                _ = &mut expiry, if deadline.is_some() => {
                    let reason = deadline.map_or("token expired", |(_, e)| e.reason());
                    return Some((close::POLICY, reason));
                }
                _ = &mut next_look, if pacer.waiting() => {
                    let queued = frames.take_all(&mut batch);
                    if !pacer.wait_over(Instant::now(), queued) {
                        continue;
                    }
                    if let Err(closing) = send_queued(socket, &mut batch, slow.as_mut(), heartbeat * 2).await {
                        return closing;
                    }
                    next_look.as_mut().reset(pacer.next_look(!frames.is_empty()));
                }
                _ = frames.ready(), if !pacer.waiting() => {
                    match pacer.frames_ready(Instant::now()) {
                        Ready::WaitUntil(tick) => next_look.as_mut().reset(tick),
                        Ready::WriteNow => {
                            frames.take_all(&mut batch);
                            if let Err(closing) = send_queued(socket, &mut batch, slow.as_mut(), heartbeat * 2).await {
                                return closing;
                            }
                        }
                    }
                }
                direct = directs.recv(), if hearing => match direct {
                    Ok(direct) => self.take_direct(direct),
                    // Missed some (too many at once): the next ones still come.
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => hearing = false,
                },
                _ = &mut restart => {
                    restart.set(restarted.signalled());
                    for (topic, reached) in restarted.take() {
                        Box::pin(self.follow_again(topic, reached)).await;
                    }
                }
                incoming = socket.recv() => {
                    pacer.heard(Instant::now());
                    if let Some(closing) = self.received(incoming?, &mut deadline, expiry.as_mut()).await {
                        return closing;
                    }
                }
                _ = ticker.tick() => {
                    let Beat::Ping { heartbeat_frame } = pacer.beat(Instant::now()) else {
                        return Some((close::GOING_AWAY, "heartbeat timeout"));
                    };
                    if heartbeat_frame {
                        self.outbox.push_control(Control::Heartbeat(Heartbeat { timestamp: Timestamp::from_datetime(Utc::now()) }));
                    }
                    let ping = socket.send(WsMessage::Ping(Default::default()));
                    match tokio::time::timeout(heartbeat * 2, ping).await {
                        Ok(sent) => sent.ok()?,
                        Err(_) => return stalled(),
                    }
                }
            }
        }
    }

    /// One frame from the client: counted against the flood limit, then handled; an
    /// `auth` frame may move the token's `deadline` (and the `expiry` timer with it).
    /// `Some` ends the connection with that close.
    async fn received(
        &mut self,
        incoming: Result<WsMessage, axum::Error>,
        deadline: &mut Option<(Instant, TokenError)>,
        mut expiry: Pin<&mut tokio::time::Sleep>,
    ) -> Option<Closing> {
        // Every frame that asks the server for work counts, a ping (answered with a
        // pong) too; a pong and a close do not.
        if matches!(
            incoming,
            Ok(WsMessage::Text(_) | WsMessage::Binary(_) | WsMessage::Ping(_))
        ) {
            match self.flood.admit() {
                Admit::Handle => {}
                Admit::Drop(first) => {
                    if first {
                        let error = format!(
                            "too many frames: at most {} per second (bursts of {}); frames over it are dropped",
                            self.flood.rate, self.flood.burst
                        );
                        self.error(None, &error, None);
                    }
                    return None;
                }
                Admit::Close => return Some(Some((close::POLICY, "too many frames"))),
            }
        }
        match incoming {
            Ok(WsMessage::Text(text)) => {
                // Boxed: a client action (which may go to Redis) is rare, and inline its
                // future would size every connection's task.
                if let Some(close) = Box::pin(self.handle(text.as_str())).await {
                    return Some(Some(close));
                }
                let now = self.identity.deadline();
                if let Some((at, _)) = &now {
                    if deadline.as_ref().map(|(was, _)| was) != Some(at) {
                        expiry.as_mut().reset(*at);
                    }
                }
                *deadline = now;
                None
            }
            Ok(WsMessage::Binary(_)) => {
                self.error(
                    None,
                    "binary frames are not supported",
                    Some("send JSON text frames".into()),
                );
                None
            }
            Ok(WsMessage::Close(_)) => Some(None),
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => None,
            Err(e) if is_too_big(&e) => Some(Some((close::TOO_BIG, "message too big"))),
            Err(_) => Some(None),
        }
    }

    /// Handles one client frame; returns the close to send when it ends the connection.
    async fn handle(&mut self, text: &str) -> Closing {
        let action = match serde_json::from_str::<ClientAction>(text) {
            Ok(action) => action,
            Err(e) => {
                let error = if e.is_syntax() || e.is_eof() {
                    "malformed JSON"
                } else {
                    "invalid action"
                };
                self.error(None, error, Some(e.to_string()));
                return None;
            }
        };
        if let ClientAction::Auth { token } = action {
            return self.authenticate(&token.0).await;
        }
        let Some(caller) = self.identity.caller().cloned() else {
            // Token mode: nothing but `auth` until the peer has proved who it is.
            return Some((close::POLICY, "token required"));
        };
        match action {
            ClientAction::Subscribe {
                topic,
                since,
                max_rate,
            } => {
                let limit = self.state.limits.max_subscriptions;
                if !self.topics.contains_key(&topic) && self.topics.len() >= limit {
                    let error =
                        format!("too many subscriptions: this connection already has {limit}");
                    self.error(Some(&topic), &error, None);
                    return None;
                }
                let wanted = Wanted {
                    topic,
                    since,
                    rate: max_rate,
                };
                self.subscribe(&caller, wanted).await;
            }
            ClientAction::Unsubscribe { topic } => {
                if self.topics.remove(&topic).is_some()
                    && self.state.hub.unsubscribe(&topic, &self.outbox)
                {
                    self.outbox
                        .push_control(Control::Unsubscribed(Unsubscribed { topic }));
                } else {
                    self.error(Some(&topic), &format!("not subscribed to {topic}"), None);
                }
            }
            ClientAction::Ping { id, t } => {
                self.outbox.push_control(Control::Pong(Pong { id, t }));
            }
            ClientAction::Pause { topic } => self.command(&caller, topic, Command::Pause).await,
            ClientAction::Resume { topic } => self.command(&caller, topic, Command::Resume).await,
            ClientAction::Cancel { topic } => self.command(&caller, topic, Command::Cancel).await,
            ClientAction::Auth { .. } => {}
        }
        None
    }

    /// An `auth` frame: the first proof of a socket opened without a token (refused:
    /// closed), or a refresh (refused: the current token holds; accepted: subscriptions
    /// the new token does not allow are ended).
    async fn authenticate(&mut self, token: &str) -> Closing {
        match self
            .identity
            .authenticate(self.state.tokens.as_ref(), token)
        {
            Authenticated::Now(identity) => {
                self.identity = identity;
                self.drop_denied().await;
                self.subscribe_pending().await;
                None
            }
            Authenticated::Close(e) => Some((close::POLICY, e.reason())),
            Authenticated::Keep(error) => {
                self.error(None, &error, None);
                None
            }
            Authenticated::Unneeded => None,
        }
    }

    /// Routes a control action to the topic's owner; the owner answers on the topic.
    async fn command(&self, caller: &Caller, topic: Topic, command: Command) {
        let sent = match self.state.access.may_control(caller, &topic).await {
            Ok(()) => self
                .state
                .hub
                .command(&topic, command)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = sent {
            self.error(Some(&topic), &e, None);
        }
    }

    /// Subscribes, if the caller may follow the topic and the hub has room for it.
    async fn subscribe(&mut self, caller: &Caller, wanted: Wanted) {
        let Wanted { topic, since, rate } = wanted;
        if let Err(denied) = self.state.access.may_follow(caller, &topic).await {
            return self.error(Some(&topic), &denied.to_string(), None);
        }
        if let Err(e) = self
            .state
            .topic_quota
            .charge(caller, &topic, &self.state.hub)
        {
            return self.error(Some(&topic), &e.to_string(), None);
        }
        match self
            .state
            .hub
            .subscribe(&topic, since.as_ref(), rate, &self.outbox)
            .await
        {
            Ok(outcome) => {
                tracing::debug!(%topic, ?outcome, connection = self.outbox.id(), "subscribed");
                self.topics.insert(topic, rate);
            }
            Err(e) => self.error(Some(&topic), &e.to_string(), None),
        }
    }

    /// A topic this socket followed started over in a new epoch on its replica: it is
    /// followed on (a `resync`) only if the caller may still follow it, since whose it
    /// is may have changed; else an `error` frame says why it stopped.
    async fn follow_again(&mut self, topic: Topic, reached: Since) {
        let Some(rate) = self.topics.remove(&topic) else {
            return;
        };
        if let Some(caller) = self.identity.caller().cloned() {
            let since = Some(reached);
            self.subscribe(&caller, Wanted { topic, since, rate }).await;
        }
    }

    /// The subscriptions asked for before the identity was known.
    async fn subscribe_pending(&mut self) {
        let Some(caller) = self.identity.caller().cloned() else {
            return;
        };
        for wanted in std::mem::take(&mut self.pending) {
            self.subscribe(&caller, wanted).await;
        }
    }

    /// Ends the subscriptions the current identity may no longer follow (after a
    /// refresh with a token of narrower `topics`).
    async fn drop_denied(&mut self) {
        let Some(caller) = self.identity.caller().cloned() else {
            return;
        };
        let mut denied: Vec<(Topic, String)> = vec![];
        for topic in self.topics.keys() {
            if let Err(e) = self.state.access.may_follow(&caller, topic).await {
                denied.push((topic.clone(), e.to_string()));
            }
        }
        for (topic, error) in denied {
            self.topics.remove(&topic);
            self.state.hub.unsubscribe(&topic, &self.outbox);
            self.error(Some(&topic), &error, None);
        }
    }

    fn unsubscribe_all(&mut self) {
        for topic in self.topics.drain().map(|(topic, _)| topic) {
            self.state.hub.unsubscribe(&topic, &self.outbox);
        }
    }

    fn error(&self, topic: Option<&Topic>, error: &str, details: Option<String>) {
        self.outbox.push_control(Control::Error(ErrorFrame {
            topic: topic.map(Topic::to_string),
            error: error.to_owned(),
            details,
        }));
    }
}

/// Writes `batch` (emptying it). Most writes finish at once (the socket has room); only
/// one that does not is raced against the slow flag and `stall` (a peer that stopped
/// reading, zero window, never lets it finish, and no close frame could reach it either).
async fn send_queued(
    socket: &mut WebSocket,
    batch: &mut VecDeque<Frame>,
    slow: Pin<&mut WaitForCancellationFuture<'_>>,
    stall: Duration,
) -> Result<(), Closing> {
    let sent = {
        let write = write_all(socket, batch);
        tokio::pin!(write);
        match std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await {
            Poll::Ready(sent) => sent,
            Poll::Pending => tokio::select! {
                biased;
                _ = slow => return Err(SLOW_CONSUMER),
                sent = &mut write => sent,
                _ = tokio::time::sleep(stall) => return Err(stalled()),
            },
        }
    };
    sent.map_err(|_| None)?;
    // A burst's deque goes once written; a small one is kept for the next frames.
    if batch.capacity() > KEPT_BATCH {
        *batch = VecDeque::new();
    }
    Ok(())
}

/// Writes every frame of `batch`, flushing once per [`WRITE_BATCH`] frames: one syscall
/// for a burst instead of one per frame.
async fn write_all(socket: &mut WebSocket, batch: &mut VecDeque<Frame>) -> Result<(), axum::Error> {
    while !batch.is_empty() {
        let n = batch.len().min(WRITE_BATCH);
        for frame in batch.drain(..n) {
            socket.feed(WsMessage::Text(frame)).await?;
        }
        socket.flush().await?;
    }
    Ok(())
}

/// Whether a read failed because the client's frame was over the size limit.
fn is_too_big(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(tungstenite::Error::Capacity(_)) = e.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        source = e.source();
    }
    false
}
