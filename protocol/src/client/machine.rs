//! The reconnecting stream's rules (docs/SPEC.md section 7) as a sans-IO state machine. The
//! browser shell (`engine`) reports what happened — socket frames and closes, poll
//! answers, timer ticks, the browser's `online` event, listeners coming and going, the
//! real-time toggle — and carries out the [`Effect`]s that come back: open or close the
//! socket, send a frame, poll a topic, deliver an event to a topic's listeners, toast,
//! arm or disarm a timer. It touches no socket, timer or signal, so native tests drive
//! every rule; `tickwire watch` follows the same [`ReconnectPolicy`] and [`Cursor`].
//!
//! Tokens (docs/SPEC.md section 12): the machine holds the token the user signed in with and
//! sends it as the first frame of every greeted socket. A server that refuses it
//! (a 1008 close naming the token, a 401 on a poll) stops the stream: nothing
//! reconnects or polls until the user enters a token, which restarts it (or, on a live
//! socket, re-authenticates it in place).

use std::collections::BTreeMap;

use super::cursor::{Cursor, Verdict};
use super::policy::ReconnectPolicy;
use super::status::{ConnectionState, Mode, StreamAge};
pub use super::topics::Delivery;
use super::topics::Followed;
use crate::{
    BearerToken, ClientAction, Connected, Control, Envelope, ErrorFrame, Pong, Resync, ServerFrame,
    Snapshot, Subscribed, TokenRefusal, Topic, TopicKind,
};

/// The timers the shell keeps for the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Once: the next connection attempt.
    Retry,
    /// Repeating: ping the server (latency, liveness).
    Ping,
    /// Repeating: poll every topic.
    Poll,
    /// Every second from the start: the message rate, and how long each stream has
    /// been silent.
    Watch,
}

/// How often [`Timer::Watch`] fires.
pub const WATCH_MS: f64 = 1_000.0;

/// What one poll brought back.
#[derive(Debug)]
pub enum Polled {
    /// `GET /api/streams/{topic}/snapshot`: the topic's state.
    Snapshot(Snapshot),
    /// `GET /api/streams/{topic}?since=…`: what followed, or a resync's snapshot.
    Page {
        messages: Vec<Envelope>,
        resync: Option<Snapshot>,
    },
}

/// Why a poll brought nothing back.
#[derive(Debug)]
pub enum PollError {
    /// 401: the server wants a (new) token; its `error` text.
    Unauthorized(String),
    /// Anything else: the network, another status, an unreadable answer.
    Failed(String),
}

/// What happened, as the shell reports it.
#[derive(Debug)]
pub enum Input {
    /// Start, once the page has hydrated; `realtime` as saved by an earlier visit,
    /// `token` as stored by an earlier sign-in.
    Begin {
        realtime: bool,
        token: Option<BearerToken>,
    },
    /// The user signed in with a new token, or signed out (`None`).
    Token(Option<BearerToken>),
    /// A topic gained a listener.
    Listen(Topic),
    /// A topic lost its last listener.
    Forget(Topic),
    /// The real-time toggle.
    SetRealtime(bool),
    /// The browser is back online.
    Online,
    /// The page was hidden (`false`) or shown again (`true`).
    Visible(bool),
    /// The socket of `generation` could not even be created.
    OpenFailed { generation: u64, reason: String },
    /// A frame arrived on the socket of `generation`.
    Frame {
        generation: u64,
        frame: ServerFrame,
        now_ms: f64,
    },
    /// A frame that could not be decoded.
    Undecodable(String),
    /// The socket of `generation` closed with `code` and the server's `reason` (may be
    /// empty).
    Closed {
        generation: u64,
        code: u16,
        reason: String,
    },
    /// The link of `generation` moved (another tab took over the shared socket, or
    /// this one did): reconnect at once, as a planned move rather than a loss.
    Moved { generation: u64, reason: String },
    /// A poll of `topic` came back.
    Polled {
        topic: Topic,
        result: Result<Polled, PollError>,
        now_ms: f64,
    },
    /// A timer fired.
    Tick { timer: Timer, now_ms: f64 },
    /// Stop everything.
    Shutdown,
}

/// What the shell must do.
#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a few per input, carried out by the shell at once"
)]
pub enum Effect {
    /// Open a socket to `/api/ws`; report its events with `generation`.
    Open {
        generation: u64,
    },
    /// Close the current socket; its later events no longer count.
    Close,
    Send(ClientAction),
    /// GET `url` for `topic`: a page of messages when `resume`, else a snapshot.
    Poll {
        topic: Topic,
        url: String,
        resume: bool,
    },
    Deliver {
        topic: Topic,
        delivery: Delivery,
    },
    Toast(String),
    /// Arm `timer` (replacing it if armed): once for `Retry`, every `ms` otherwise.
    Arm {
        timer: Timer,
        ms: f64,
    },
    Disarm(Timer),
    /// Remember the real-time choice across visits.
    SaveRealtime(bool),
    /// The server refused the token (its words): ask the user for one. The stream
    /// stays stopped until [`Input::Token`] brings one.
    SignInNeeded(String),
}

/// What the header and the metrics panel show.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub state: ConnectionState,
    pub mode: Mode,
    pub realtime: bool,
    /// Consecutive failed attempts.
    pub failures: u32,
    pub reconnects: u32,
    pub latency_ms: Option<f64>,
    pub last_update_ms: Option<f64>,
    pub last_error: Option<String>,
    /// The build the server said it runs (`connected`).
    pub server_build: Option<String>,
    /// Messages received in the last [`Timer::Watch`] period.
    pub rate: f64,
    /// Every followed stream's silence, as of the last [`Timer::Watch`].
    pub streams: Vec<StreamAge>,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            state: ConnectionState::Reconnecting,
            mode: Mode::Realtime,
            realtime: true,
            failures: 0,
            reconnects: 0,
            latency_ms: None,
            last_update_ms: None,
            last_error: None,
            server_build: None,
            rate: 0.0,
            streams: Vec::new(),
        }
    }
}

struct Socket {
    generation: u64,
    /// The server's `connected` frame arrived: only then is the attempt a success (a
    /// socket a proxy accepts and drops at once is still a failure).
    greeted: bool,
}

/// The stream's state and rules.
pub struct Machine {
    policy: ReconnectPolicy,
    /// Uniform in [0, 1): the backoff's jitter.
    random: Box<dyn FnMut() -> f64>,
    status: Status,
    topics: BTreeMap<Topic, Followed>,
    started: bool,
    socket: Option<Socket>,
    generation: u64,
    /// Polling because the socket failed (not because real-time was switched off).
    fell_back: bool,
    /// Sent as the first frame of every greeted socket.
    token: Option<BearerToken>,
    /// The token was refused (or the user signed out): no socket, no polls, no retries
    /// until a token is entered.
    signed_out: bool,
    polling: bool,
    next_ping: u64,
    last_pong_ms: f64,
    /// Messages received since the last [`Timer::Watch`].
    received: u32,
    /// The server's `stale_after_ms` (`connected`).
    stale_after_ms: BTreeMap<TopicKind, u64>,
    /// The page is hidden: deliveries are held, not handed out.
    hidden: bool,
    effects: Vec<Effect>,
}

impl Machine {
    pub fn new(policy: ReconnectPolicy, random: Box<dyn FnMut() -> f64>) -> Self {
        Machine {
            policy,
            random,
            status: Status::default(),
            topics: BTreeMap::new(),
            started: false,
            socket: None,
            generation: 0,
            fell_back: false,
            token: None,
            signed_out: false,
            polling: false,
            next_ping: 0,
            last_pong_ms: 0.0,
            received: 0,
            stale_after_ms: BTreeMap::new(),
            hidden: false,
            effects: Vec::new(),
        }
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Whether the page is hidden (the shell then leaves the status signals alone).
    pub fn hidden(&self) -> bool {
        self.hidden
    }

    /// Applies one input; returns what the shell must do, in order.
    pub fn step(&mut self, input: Input) -> Vec<Effect> {
        match input {
            Input::Begin { realtime, token } => {
                self.token = token;
                self.begin(realtime);
            }
            Input::Token(token) => self.set_token(token),
            Input::Listen(topic) => self.listen(topic),
            Input::Forget(topic) => self.forget(&topic),
            Input::SetRealtime(on) => self.set_realtime(on),
            Input::Visible(visible) => self.set_visible(visible),
            Input::Online => {
                if self.status.realtime && !self.signed_out && !self.greeted() {
                    self.connect();
                }
            }
            Input::OpenFailed { generation, reason } => {
                if self.is_current(generation) {
                    self.attempt_failed(reason);
                }
            }
            Input::Frame {
                generation,
                frame,
                now_ms,
            } => {
                if self.is_current(generation) {
                    self.frame(frame, now_ms);
                }
            }
            Input::Undecodable(error) => {
                self.status.last_error = Some(format!("undecodable frame: {error}"));
            }
            Input::Closed {
                generation,
                code,
                reason,
            } => {
                if self.is_current(generation) {
                    self.closed(code, reason);
                }
            }
            Input::Moved { generation, reason } => {
                if self.is_current(generation) && self.status.realtime && !self.signed_out {
                    self.connect();
                    self.status.last_error = Some(reason);
                }
            }
            Input::Polled {
                topic,
                result,
                now_ms,
            } => self.polled(&topic, result, now_ms),
            Input::Tick { timer, now_ms } => match timer {
                Timer::Retry if self.signed_out => {}
                Timer::Retry => self.connect(),
                Timer::Ping => self.ping(now_ms),
                Timer::Poll => self.poll_now(),
                Timer::Watch => self.watch(now_ms),
            },
            Input::Shutdown => {
                self.drop_socket();
                self.stop_polling();
                self.emit(Effect::Disarm(Timer::Watch));
                self.topics.clear();
            }
        }
        std::mem::take(&mut self.effects)
    }

    fn emit(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    // ---- subscriptions and the toggle ------------------------------------------------

    fn begin(&mut self, realtime: bool) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        self.status.realtime = realtime;
        self.emit(Effect::Arm {
            timer: Timer::Watch,
            ms: WATCH_MS,
        });
        if realtime {
            self.connect();
        } else {
            self.start_polling();
        }
    }

    fn listen(&mut self, topic: Topic) {
        // A late listener needs the whole state: the topic starts over from a snapshot
        // (every listener of the topic replaces its state with it).
        self.topics
            .entry(topic.clone())
            .or_insert_with(Followed::new);
        self.start_over(topic);
    }

    /// Forgets where `topic` stood and asks for its snapshot: over the socket, or by
    /// the next poll.
    fn start_over(&mut self, topic: Topic) {
        let greeted = self.greeted();
        let Some(entry) = self.topics.get_mut(&topic) else {
            return;
        };
        entry.cursor = Cursor::default();
        if greeted {
            entry.awaiting = true;
            self.emit(Effect::Send(ClientAction::Subscribe { topic, since: None }));
        } else {
            self.poll_now();
        }
    }

    /// Hidden, the page holds what arrives; shown, it gets it all at once, and a topic
    /// that fell too far behind starts over from a snapshot instead.
    fn set_visible(&mut self, visible: bool) {
        self.hidden = !visible;
        if !visible {
            return;
        }
        let mut behind = Vec::new();
        let mut held = Vec::new();
        for (topic, entry) in &mut self.topics {
            let (deliveries, fell_behind) = entry.take_held();
            if fell_behind {
                behind.push(topic.clone());
            }
            held.extend(deliveries.into_iter().map(|d| (topic.clone(), d)));
        }
        for (topic, delivery) in held {
            self.emit(Effect::Deliver { topic, delivery });
        }
        for topic in behind {
            self.start_over(topic);
        }
    }

    fn forget(&mut self, topic: &Topic) {
        if self.topics.remove(topic).is_some() && self.greeted() {
            let topic = topic.clone();
            self.emit(Effect::Send(ClientAction::Unsubscribe { topic }));
        }
    }

    fn set_realtime(&mut self, on: bool) {
        self.emit(Effect::SaveRealtime(on));
        if self.status.realtime == on {
            return;
        }
        self.status.realtime = on;
        if self.signed_out {
            // The choice applies once a token restarts the stream.
            return;
        }
        if on {
            self.status.failures = 0;
            self.connect();
        } else {
            self.drop_socket();
            self.fell_back = false;
            self.start_polling();
        }
    }

    // ---- the token -------------------------------------------------------------------

    /// A new token restarts a stopped stream, and replaces a socket that began without
    /// one (so the token is its first frame); a token that replaces another
    /// re-authenticates a live socket in place (its subscriptions carry on). No token
    /// (signing out) stops the stream.
    fn set_token(&mut self, token: Option<BearerToken>) {
        let had_token = self.token.is_some();
        self.token = token;
        let Some(token) = self.token.clone() else {
            if self.started {
                self.stop("signed out".to_owned());
            }
            return;
        };
        if !self.started {
            return;
        }
        if self.signed_out || !had_token {
            self.signed_out = false;
            self.status.failures = 0;
            self.status.last_error = None;
            if self.status.realtime {
                self.connect();
            } else {
                self.start_polling();
            }
        } else if self.greeted() {
            self.emit(Effect::Send(ClientAction::Auth { token }));
        }
    }

    /// The server refused the token (`reason`, its words): stop and ask for one.
    fn token_refused(&mut self, reason: String) {
        self.stop(reason.clone());
        self.emit(Effect::SignInNeeded(reason));
    }

    /// Stops the socket, its retries and the polls until a token is entered.
    fn stop(&mut self, reason: String) {
        self.drop_socket();
        self.stop_polling();
        self.signed_out = true;
        self.fell_back = false;
        self.status.state = ConnectionState::Disconnected;
        self.status.latency_ms = None;
        self.status.last_error = Some(reason);
    }

    // ---- the socket ------------------------------------------------------------------

    fn greeted(&self) -> bool {
        self.socket.as_ref().is_some_and(|s| s.greeted)
    }

    fn is_current(&self, generation: u64) -> bool {
        self.socket.as_ref().map(|s| s.generation) == Some(generation)
    }

    /// Closes the socket, if any, and stops what only a socket needs (pings, retries).
    fn drop_socket(&mut self) {
        self.generation += 1;
        if self.socket.take().is_some() {
            self.emit(Effect::Close);
        }
        self.emit(Effect::Disarm(Timer::Retry));
        self.emit(Effect::Disarm(Timer::Ping));
    }

    fn connect(&mut self) {
        let first = self.generation == 0;
        self.drop_socket();
        if !first {
            self.status.reconnects += 1;
        }
        if !self.fell_back {
            self.status.state = ConnectionState::Reconnecting;
        }
        let generation = self.generation;
        self.socket = Some(Socket {
            generation,
            greeted: false,
        });
        self.emit(Effect::Open { generation });
    }

    fn frame(&mut self, frame: ServerFrame, now_ms: f64) {
        match frame {
            ServerFrame::Message(envelope) => {
                let topic = envelope.topic.clone();
                // A socket shared with other tabs brings their topics too.
                if !self.topics.contains_key(&topic) {
                    return;
                }
                self.note_message(now_ms);
                let Some(entry) = self.topics.get_mut(&topic) else {
                    return;
                };
                if entry.awaiting {
                    return;
                }
                match entry.cursor.check(&envelope) {
                    Verdict::Apply => self.deliver(topic, Delivery::Message(envelope), now_ms),
                    Verdict::Duplicate => {}
                    Verdict::Gap { expected, got } => {
                        // A loss on a live socket: resume the topic from the cursor.
                        entry.awaiting = true;
                        let since = entry.cursor.since();
                        self.status.last_error = Some(format!(
                            "{topic}: expected seq {expected}, got {got}; resuming"
                        ));
                        self.emit(Effect::Send(ClientAction::Subscribe { topic, since }));
                    }
                }
            }
            ServerFrame::Control(Control::Snapshot(snapshot))
            | ServerFrame::Control(Control::Resync(Resync { snapshot, .. })) => {
                let topic = snapshot.topic.clone();
                let Some(entry) = self.topics.get_mut(&topic) else {
                    return;
                };
                if entry.awaiting {
                    return;
                }
                entry.cursor.reset(&snapshot);
                self.deliver(topic, Delivery::Reset(snapshot), now_ms);
            }
            ServerFrame::Control(Control::Connected(Connected {
                build,
                stale_after_ms,
                ..
            })) => {
                if !build.is_empty() {
                    self.status.server_build = Some(build);
                }
                self.stale_after_ms = stale_after_ms;
                self.greeted_now(now_ms);
            }
            ServerFrame::Control(Control::Subscribed(Subscribed { topic, .. })) => {
                if let Some(entry) = self.topics.get_mut(&topic) {
                    entry.awaiting = false;
                    entry.heard_ms = Some(now_ms);
                }
            }
            ServerFrame::Control(Control::Pong(Pong { t, .. })) => {
                self.last_pong_ms = now_ms;
                self.status.latency_ms = Some((now_ms - t).max(0.0));
            }
            ServerFrame::Control(Control::Error(ErrorFrame { topic, error, .. })) => {
                self.status.last_error = Some(match topic {
                    Some(t) => format!("{t}: {error}"),
                    None => error,
                });
            }
            ServerFrame::Control(_) => {}
        }
    }

    /// The current socket closed: a refused token stops the stream; anything else is a
    /// lost connection (after the greeting) or a failed attempt (before it).
    fn closed(&mut self, code: u16, reason: String) {
        if TokenRefusal::of_close(code, &reason).is_some() {
            return self.token_refused(reason);
        }
        let reason = match reason.as_str() {
            "" => format!("socket closed ({code})"),
            r => format!("socket closed ({code} {r})"),
        };
        if self.greeted() {
            self.connection_lost(reason);
        } else {
            self.attempt_failed(reason);
        }
    }

    /// The server greeted the socket: a successful connection.
    fn greeted_now(&mut self, now_ms: f64) {
        if let Some(socket) = &mut self.socket {
            socket.greeted = true;
        }
        self.status.failures = 0;
        self.status.state = ConnectionState::Connected;
        self.status.mode = Mode::Realtime;
        self.status.last_error = None;
        self.stop_polling();
        if self.fell_back {
            self.fell_back = false;
            self.emit(Effect::Toast("Real-time connection restored".into()));
        }
        // The token goes first: a server in token mode refuses anything before it.
        if let Some(token) = self.token.clone() {
            self.emit(Effect::Send(ClientAction::Auth { token }));
        }
        let subscriptions: Vec<ClientAction> = self
            .topics
            .iter_mut()
            .map(|(topic, entry)| {
                entry.awaiting = true;
                ClientAction::Subscribe {
                    topic: topic.clone(),
                    since: entry.cursor.since(),
                }
            })
            .collect();
        for action in subscriptions {
            self.emit(Effect::Send(action));
        }
        self.last_pong_ms = now_ms;
        self.emit(Effect::Arm {
            timer: Timer::Ping,
            ms: self.policy.ping_ms,
        });
        self.ping(now_ms);
    }

    fn ping(&mut self, now_ms: f64) {
        if !self.greeted() {
            return;
        }
        if now_ms - self.last_pong_ms > self.policy.pong_timeout_ms {
            return self.connection_lost("no pong from the server".to_owned());
        }
        self.next_ping += 1;
        let id = self.next_ping;
        self.emit(Effect::Send(ClientAction::Ping { id, t: now_ms }));
    }

    /// A working connection dropped: retry soon; this is not a failed attempt.
    fn connection_lost(&mut self, reason: String) {
        self.drop_socket();
        self.status.last_error = Some(reason);
        self.status.state = ConnectionState::Reconnecting;
        self.schedule_retry();
    }

    /// An attempt that never reached the server's greeting.
    fn attempt_failed(&mut self, reason: String) {
        self.drop_socket();
        self.status.failures += 1;
        self.status.last_error = Some(reason);
        if self.policy.should_poll(self.status.failures) && !self.fell_back {
            self.fell_back = true;
            self.emit(Effect::Toast(format!(
                "Real-time connection failed {} times: polling until it is back",
                self.status.failures
            )));
            self.start_polling();
        }
        self.schedule_retry();
    }

    fn schedule_retry(&mut self) {
        if !self.status.realtime {
            return;
        }
        let ms = self.policy.delay_ms(self.status.failures, (self.random)());
        self.emit(Effect::Arm {
            timer: Timer::Retry,
            ms,
        });
    }

    fn note_message(&mut self, now_ms: f64) {
        self.received += 1;
        self.status.last_update_ms = Some(now_ms);
    }

    fn deliver(&mut self, topic: Topic, delivery: Delivery, now_ms: f64) {
        if let Some(entry) = self.topics.get_mut(&topic) {
            entry.heard(&delivery, now_ms);
        }
        if self.status.state == ConnectionState::Stale {
            // The stream that stalled may have moved again: say so now, not in a second.
            self.look_at_streams(now_ms);
        }
        if self.hidden {
            let backlog = self.policy.hidden_backlog;
            if let Some(entry) = self.topics.get_mut(&topic) {
                entry.hold(delivery, backlog);
            }
            return;
        }
        self.emit(Effect::Deliver { topic, delivery });
    }

    // ---- staleness -------------------------------------------------------------------

    /// Once a second: the message rate, and every stream's silence.
    fn watch(&mut self, now_ms: f64) {
        self.status.rate = f64::from(std::mem::take(&mut self.received));
        self.look_at_streams(now_ms);
    }

    /// How long each stream has been silent; a greeted socket whose moving stream
    /// has been silent past its kind's threshold is `Stale` (and `Connected` again
    /// once none is).
    fn look_at_streams(&mut self, now_ms: f64) {
        let live = self.greeted();
        self.status.streams = self
            .topics
            .iter()
            .map(|(topic, entry)| {
                let limit_ms = self.stale_after_ms.get(&topic.kind()).copied();
                entry.age(topic, now_ms, live.then_some(limit_ms).flatten())
            })
            .collect();
        if live {
            let stale = self.status.streams.iter().any(|s| s.stale);
            self.status.state = if stale {
                ConnectionState::Stale
            } else {
                ConnectionState::Connected
            };
        }
    }

    // ---- polling ---------------------------------------------------------------------

    fn start_polling(&mut self) {
        self.status.state = ConnectionState::Polling;
        self.status.mode = Mode::Polling;
        self.status.latency_ms = None;
        self.polling = true;
        self.emit(Effect::Arm {
            timer: Timer::Poll,
            ms: self.policy.poll_ms,
        });
        self.poll_now();
    }

    fn stop_polling(&mut self) {
        self.polling = false;
        self.emit(Effect::Disarm(Timer::Poll));
    }

    /// Asks the server for every topic's news (one request per topic at a time).
    fn poll_now(&mut self) {
        if !self.polling {
            return;
        }
        let mut polls = Vec::new();
        for (topic, entry) in &mut self.topics {
            if entry.polling {
                continue;
            }
            entry.polling = true;
            let since = entry.cursor.since();
            let url = match &since {
                Some(since) => format!("/api/streams/{topic}?{}", since.to_query()),
                None => format!("/api/streams/{topic}/snapshot"),
            };
            polls.push(Effect::Poll {
                topic: topic.clone(),
                url,
                resume: since.is_some(),
            });
        }
        self.effects.extend(polls);
    }

    fn polled(&mut self, topic: &Topic, result: Result<Polled, PollError>, now_ms: f64) {
        if let Some(entry) = self.topics.get_mut(topic) {
            entry.polling = false;
        }
        // The socket took over (or the topic went) while this request was out.
        if !self.polling || !self.topics.contains_key(topic) {
            return;
        }
        let polled = match result {
            Ok(polled) => polled,
            Err(PollError::Unauthorized(error)) => return self.token_refused(error),
            Err(PollError::Failed(error)) => {
                self.status.last_error = Some(error);
                self.status.state = ConnectionState::Disconnected;
                return;
            }
        };
        self.status.state = ConnectionState::Polling;
        let (snapshot, messages) = match polled {
            Polled::Snapshot(s) => (Some(s), Vec::new()),
            Polled::Page { messages, resync } => (resync, messages),
        };
        let mut ready = Vec::new();
        if let Some(entry) = self.topics.get_mut(topic) {
            if let Some(snapshot) = snapshot {
                entry.cursor.reset(&snapshot);
                ready.push(Delivery::Reset(snapshot));
            }
            for envelope in messages {
                match entry.cursor.check(&envelope) {
                    Verdict::Apply => ready.push(Delivery::Message(envelope)),
                    Verdict::Duplicate => {}
                    // Not contiguous with what is held: ask again from the cursor.
                    Verdict::Gap { .. } => break,
                }
            }
        }
        for delivery in ready {
            if matches!(delivery, Delivery::Message(_)) {
                self.note_message(now_ms);
            }
            self.deliver(topic.clone(), delivery, now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{envelope, snapshot, topic};
    use crate::{Epoch, Lifecycle, Message, ResyncReason, Since};

    fn machine() -> Machine {
        // Jitter fixed at the middle: delays are the nominal ones.
        Machine::new(ReconnectPolicy::default(), Box::new(|| 0.5))
    }

    fn control(c: Control) -> ServerFrame {
        ServerFrame::Control(c)
    }

    fn connected() -> ServerFrame {
        control(Control::Connected(Connected {
            connection_id: "1".into(),
            heartbeat_secs: 30,
            max_message_bytes: 65_536,
            build: "b1".into(),
            stale_after_ms: BTreeMap::from([(TopicKind::Backtest, 4_000)]),
        }))
    }

    fn subscribed(next_seq: u64) -> ServerFrame {
        control(Control::Subscribed(Subscribed {
            topic: topic(),
            epoch: Epoch("E".into()),
            next_seq,
        }))
    }

    /// The generation of the socket the last `Open` asked for.
    fn opened(effects: &[Effect]) -> u64 {
        effects
            .iter()
            .rev()
            .find_map(|e| match e {
                Effect::Open { generation } => Some(*generation),
                _ => None,
            })
            .expect("a socket is opened")
    }

    fn frame(m: &mut Machine, generation: u64, frame: ServerFrame) -> Vec<Effect> {
        m.step(Input::Frame {
            generation,
            frame,
            now_ms: 1_000.0,
        })
    }

    fn retry_delay(effects: &[Effect]) -> Option<f64> {
        effects.iter().find_map(|e| match e {
            Effect::Arm {
                timer: Timer::Retry,
                ms,
            } => Some(*ms),
            _ => None,
        })
    }

    fn delivered(effects: &[Effect]) -> Vec<Delivery> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Deliver { delivery, .. } => Some(delivery.clone()),
                _ => None,
            })
            .collect()
    }

    fn sent(effects: &[Effect]) -> Vec<ClientAction> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(a) => Some(a.clone()),
                _ => None,
            })
            .collect()
    }

    fn seqs(deliveries: &[Delivery]) -> Vec<u64> {
        deliveries
            .iter()
            .map(|d| match d {
                Delivery::Message(e) => e.seq,
                Delivery::Reset(s) => s.last_seq,
            })
            .collect()
    }

    /// A machine following `topic()` on a greeted socket whose snapshot is at seq 3.
    fn live() -> (Machine, u64) {
        live_with(ReconnectPolicy::default())
    }

    /// [`live`] with `policy`.
    fn live_with(policy: ReconnectPolicy) -> (Machine, u64) {
        let mut m = Machine::new(policy, Box::new(|| 0.5));
        m.step(Input::Listen(topic()));
        let g = opened(&m.step(Input::Begin {
            realtime: true,
            token: None,
        }));
        frame(&mut m, g, connected());
        frame(&mut m, g, subscribed(4));
        frame(&mut m, g, control(Control::Snapshot(snapshot(3, "E"))));
        (m, g)
    }

    #[test]
    fn a_greeted_socket_is_a_success_that_subscribes_every_topic_and_pings() {
        let mut m = machine();
        m.step(Input::Listen(topic()));
        let effects = m.step(Input::Begin {
            realtime: true,
            token: None,
        });
        assert_eq!(m.status().state, ConnectionState::Reconnecting);
        let g = opened(&effects);
        let effects = frame(&mut m, g, connected());
        assert_eq!(m.status().state, ConnectionState::Connected);
        assert_eq!(
            sent(&effects)[0],
            ClientAction::Subscribe {
                topic: topic(),
                since: None
            }
        );
        assert!(matches!(
            sent(&effects)[1],
            ClientAction::Ping { id: 1, .. }
        ));
        assert!(effects.contains(&Effect::Arm {
            timer: Timer::Ping,
            ms: 5_000.0
        }));
    }

    #[test]
    fn failed_attempts_back_off_and_three_fall_back_to_polling_with_a_toast() {
        let mut m = machine();
        m.step(Input::Listen(topic()));
        let mut g = opened(&m.step(Input::Begin {
            realtime: true,
            token: None,
        }));
        let mut delays = vec![];
        let mut toasts = vec![];
        let mut polls = 0;
        for _ in 0..3 {
            let effects = m.step(Input::Closed {
                generation: g,
                code: 1006,
                reason: "refused".into(),
            });
            delays.push(retry_delay(&effects).expect("a retry is armed"));
            toasts.extend(
                effects
                    .iter()
                    .filter(|e| matches!(e, Effect::Toast(_)))
                    .cloned(),
            );
            polls += effects
                .iter()
                .filter(|e| matches!(e, Effect::Poll { .. }))
                .count();
            g = opened(&m.step(Input::Tick {
                timer: Timer::Retry,
                now_ms: 0.0,
            }));
        }
        assert_eq!(delays, [2_000.0, 4_000.0, 8_000.0]);
        assert_eq!(m.status().failures, 3);
        assert_eq!(m.status().mode, Mode::Polling);
        assert_eq!(m.status().state, ConnectionState::Polling);
        assert_eq!(toasts.len(), 1, "one toast for the fall-back");
        assert_eq!(polls, 1, "the fall-back polls at once");
        // One request per topic at a time: the next tick polls once the answer is in.
        let tick = Input::Tick {
            timer: Timer::Poll,
            now_ms: 0.0,
        };
        assert!(m.step(tick).is_empty());
        let answer = Polled::Snapshot(snapshot(3, "E"));
        m.step(Input::Polled {
            topic: topic(),
            result: Ok(answer),
            now_ms: 0.0,
        });
        let effects = m.step(Input::Tick {
            timer: Timer::Poll,
            now_ms: 0.0,
        });
        assert!(effects
            .iter()
            .any(|e| matches!(e, Effect::Poll { resume: true, .. })));
        // Still trying the socket meanwhile (a retry was armed each time, above).
        assert!(m
            .step(Input::Tick {
                timer: Timer::Retry,
                now_ms: 0.0
            })
            .iter()
            .any(|e| matches!(e, Effect::Open { .. })));
    }

    #[test]
    fn jitter_spreads_the_backoff_within_twenty_percent() {
        let mut draws = [0.0, 0.999].into_iter().cycle();
        let mut m = Machine::new(
            ReconnectPolicy::default(),
            Box::new(move || draws.next().unwrap()),
        );
        let g = opened(&m.step(Input::Begin {
            realtime: true,
            token: None,
        }));
        let low = retry_delay(&m.step(Input::Closed {
            generation: g,
            code: 1006,
            reason: "x".into(),
        }))
        .unwrap();
        let g = opened(&m.step(Input::Tick {
            timer: Timer::Retry,
            now_ms: 0.0,
        }));
        let high = retry_delay(&m.step(Input::Closed {
            generation: g,
            code: 1006,
            reason: "x".into(),
        }))
        .unwrap();
        assert!((1_600.0..1_601.0).contains(&low), "{low}");
        assert!((4_790.0..=4_800.0).contains(&high), "{high}");
    }

    #[test]
    fn the_failure_count_resets_after_a_successful_connection() {
        let mut m = machine();
        let mut g = opened(&m.step(Input::Begin {
            realtime: true,
            token: None,
        }));
        for _ in 0..2 {
            m.step(Input::Closed {
                generation: g,
                code: 1006,
                reason: "refused".into(),
            });
            g = opened(&m.step(Input::Tick {
                timer: Timer::Retry,
                now_ms: 0.0,
            }));
        }
        assert_eq!(m.status().failures, 2);
        frame(&mut m, g, connected());
        assert_eq!(m.status().failures, 0);
        // A loss after success retries at the base delay and is not a failed attempt.
        let effects = m.step(Input::Closed {
            generation: g,
            code: 1006,
            reason: "gone".into(),
        });
        assert_eq!(retry_delay(&effects), Some(1_000.0));
        assert_eq!(m.status().failures, 0);
        assert_eq!(m.status().state, ConnectionState::Reconnecting);
    }

    #[test]
    fn polling_climbs_back_to_the_socket_and_resumes_from_the_cursor_without_gap_or_duplicate() {
        let (mut m, g) = live();
        let effects = frame(&mut m, g, ServerFrame::Message(envelope(4, "E")));
        assert_eq!(seqs(&delivered(&effects)), [4]);
        // The socket dies; three attempts fail: polling from the cursor (seq 4).
        m.step(Input::Closed {
            generation: g,
            code: 1006,
            reason: "gone".into(),
        });
        let mut g = opened(&m.step(Input::Tick {
            timer: Timer::Retry,
            now_ms: 0.0,
        }));
        let mut polls = vec![];
        for _ in 0..3 {
            let effects = m.step(Input::Closed {
                generation: g,
                code: 1006,
                reason: "refused".into(),
            });
            polls.extend(
                effects
                    .into_iter()
                    .filter(|e| matches!(e, Effect::Poll { .. })),
            );
            g = opened(&m.step(Input::Tick {
                timer: Timer::Retry,
                now_ms: 0.0,
            }));
        }
        assert_eq!(
            polls,
            [Effect::Poll {
                topic: topic(),
                url: "/api/streams/backtest:b1?since=4&epoch=E".into(),
                resume: true
            }]
        );
        // The poll brings 4 again (a duplicate), then 5 and 6.
        let page = Polled::Page {
            messages: vec![envelope(4, "E"), envelope(5, "E"), envelope(6, "E")],
            resync: None,
        };
        let effects = m.step(Input::Polled {
            topic: topic(),
            result: Ok(page),
            now_ms: 2_000.0,
        });
        assert_eq!(seqs(&delivered(&effects)), [5, 6]);
        // The socket is back: polling stops, a toast, and the topic resumes after 6.
        let effects = frame(&mut m, g, connected());
        assert!(effects.contains(&Effect::Disarm(Timer::Poll)));
        assert!(effects.contains(&Effect::Toast("Real-time connection restored".into())));
        assert_eq!(
            sent(&effects)[0],
            ClientAction::Subscribe {
                topic: topic(),
                since: Some(Since::after(6, Epoch("E".into())))
            }
        );
        assert_eq!(m.status().mode, Mode::Realtime);
        // Frames queued under the old subscription are dropped until `subscribed`.
        assert!(delivered(&frame(&mut m, g, ServerFrame::Message(envelope(9, "E")))).is_empty());
        frame(&mut m, g, subscribed(7));
        let effects = frame(&mut m, g, ServerFrame::Message(envelope(7, "E")));
        assert_eq!(seqs(&delivered(&effects)), [7]);
        // A poll answer that arrives after the socket took over is ignored.
        let late = Polled::Page {
            messages: vec![envelope(7, "E")],
            resync: None,
        };
        assert!(m
            .step(Input::Polled {
                topic: topic(),
                result: Ok(late),
                now_ms: 0.0
            })
            .is_empty());
    }

    #[test]
    fn a_gap_on_a_live_socket_resubscribes_from_the_cursor() {
        let (mut m, g) = live();
        let effects = frame(&mut m, g, ServerFrame::Message(envelope(5, "E")));
        assert!(
            delivered(&effects).is_empty(),
            "nothing past the gap is applied"
        );
        assert_eq!(
            sent(&effects),
            [ClientAction::Subscribe {
                topic: topic(),
                since: Some(Since::after(3, Epoch("E".into())))
            }]
        );
        assert!(m
            .status()
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("expected seq 4, got 5")));
    }

    #[test]
    fn duplicates_are_dropped_and_a_foreign_epoch_is_resumed_then_resynced() {
        let (mut m, g) = live();
        assert_eq!(
            seqs(&delivered(&frame(
                &mut m,
                g,
                ServerFrame::Message(envelope(4, "E"))
            ))),
            [4]
        );
        assert!(delivered(&frame(&mut m, g, ServerFrame::Message(envelope(4, "E")))).is_empty());
        assert!(delivered(&frame(&mut m, g, ServerFrame::Message(envelope(2, "E")))).is_empty());
        // A message of another epoch is a gap: resubscribe, and the server's resync
        // replaces the state.
        let effects = frame(&mut m, g, ServerFrame::Message(envelope(1, "F")));
        assert_eq!(sent(&effects).len(), 1);
        frame(&mut m, g, subscribed(1));
        let effects = frame(
            &mut m,
            g,
            control(Control::Resync(Resync {
                reason: ResyncReason::EpochChanged,
                snapshot: snapshot(10, "F"),
            })),
        );
        assert_eq!(delivered(&effects), [Delivery::Reset(snapshot(10, "F"))]);
        assert_eq!(
            seqs(&delivered(&frame(
                &mut m,
                g,
                ServerFrame::Message(envelope(11, "F"))
            ))),
            [11]
        );
    }

    #[test]
    fn a_missing_pong_is_a_lost_connection_and_online_retries_at_once() {
        let (mut m, g) = live();
        let ok = m.step(Input::Tick {
            timer: Timer::Ping,
            now_ms: 10_000.0,
        });
        assert!(matches!(sent(&ok)[..], [ClientAction::Ping { .. }]));
        let effects = m.step(Input::Tick {
            timer: Timer::Ping,
            now_ms: 20_000.0,
        });
        assert!(effects.contains(&Effect::Close));
        assert_eq!(
            m.status().last_error.as_deref(),
            Some("no pong from the server")
        );
        assert_eq!(m.status().state, ConnectionState::Reconnecting);
        // Events of the old socket no longer count.
        assert!(frame(&mut m, g, ServerFrame::Message(envelope(4, "E"))).is_empty());
        // Back online: a new attempt at once, not after the backoff.
        let effects = m.step(Input::Online);
        assert!(effects.iter().any(|e| matches!(e, Effect::Open { .. })));
        assert_eq!(m.status().reconnects, 1);
    }

    #[test]
    fn the_realtime_toggle_polls_and_back_and_is_remembered() {
        let (mut m, _) = live();
        let effects = m.step(Input::SetRealtime(false));
        assert!(effects.contains(&Effect::SaveRealtime(false)));
        assert!(effects.contains(&Effect::Close));
        assert!(effects.iter().any(|e| matches!(e, Effect::Poll { .. })));
        assert_eq!(
            retry_delay(&effects),
            None,
            "no retry while real-time is off"
        );
        assert_eq!(m.status().mode, Mode::Polling);
        let effects = m.step(Input::SetRealtime(true));
        assert!(effects.iter().any(|e| matches!(e, Effect::Open { .. })));
        // Begun with real-time off (an earlier visit's choice): polling from the start.
        let mut m = machine();
        m.step(Input::Listen(topic()));
        let effects = m.step(Input::Begin {
            realtime: false,
            token: None,
        });
        assert!(!effects.iter().any(|e| matches!(e, Effect::Open { .. })));
        assert!(effects.contains(&Effect::Poll {
            topic: topic(),
            url: "/api/streams/backtest:b1/snapshot".into(),
            resume: false
        }));
    }

    #[test]
    fn a_late_listener_restarts_the_topic_from_a_snapshot_and_the_last_one_unsubscribes() {
        let (mut m, _) = live();
        let effects = m.step(Input::Listen(topic()));
        assert_eq!(
            sent(&effects),
            [ClientAction::Subscribe {
                topic: topic(),
                since: None
            }]
        );
        let effects = m.step(Input::Forget(topic()));
        assert_eq!(
            sent(&effects),
            [ClientAction::Unsubscribe { topic: topic() }]
        );
    }

    // ---- tokens ----------------------------------------------------------------------

    fn token(token: &str) -> Option<BearerToken> {
        Some(BearerToken(token.into()))
    }

    fn auth(token: &str) -> ClientAction {
        ClientAction::Auth {
            token: BearerToken(token.into()),
        }
    }

    fn closed(m: &mut Machine, generation: u64, code: u16, reason: &str) -> Vec<Effect> {
        m.step(Input::Closed {
            generation,
            code,
            reason: reason.into(),
        })
    }

    fn opens(effects: &[Effect]) -> bool {
        effects.iter().any(|e| matches!(e, Effect::Open { .. }))
    }

    fn polls(effects: &[Effect]) -> bool {
        effects.iter().any(|e| matches!(e, Effect::Poll { .. }))
    }

    /// A machine begun with token `t1`, following `topic()` on a greeted socket whose
    /// snapshot is at seq 3.
    fn live_with_token() -> (Machine, u64) {
        let mut m = machine();
        m.step(Input::Listen(topic()));
        let g = opened(&m.step(Input::Begin {
            realtime: true,
            token: token("t1"),
        }));
        frame(&mut m, g, connected());
        frame(&mut m, g, subscribed(4));
        frame(&mut m, g, control(Control::Snapshot(snapshot(3, "E"))));
        (m, g)
    }

    #[test]
    fn a_stored_token_is_the_first_frame_of_every_greeted_socket() {
        let mut m = machine();
        m.step(Input::Listen(topic()));
        let g = opened(&m.step(Input::Begin {
            realtime: true,
            token: token("t1"),
        }));
        let effects = frame(&mut m, g, connected());
        let sent = sent(&effects);
        assert_eq!(sent[0], auth("t1"));
        assert!(matches!(sent[1], ClientAction::Subscribe { .. }));
        // A reconnect sends it again, before resuming.
        m.step(Input::Closed {
            generation: g,
            code: 1006,
            reason: String::new(),
        });
        let g = opened(&m.step(Input::Tick {
            timer: Timer::Retry,
            now_ms: 0.0,
        }));
        assert_eq!(sent_first(&frame(&mut m, g, connected())), Some(auth("t1")));
    }

    fn sent_first(effects: &[Effect]) -> Option<ClientAction> {
        sent(effects).into_iter().next()
    }

    #[test]
    fn without_a_token_no_auth_frame_is_sent() {
        let (mut m, g) = live();
        let effects = closed(&mut m, g, 1006, "");
        assert!(!sent(&effects)
            .iter()
            .any(|a| matches!(a, ClientAction::Auth { .. })));
        let g = opened(&m.step(Input::Tick {
            timer: Timer::Retry,
            now_ms: 0.0,
        }));
        assert!(!sent(&frame(&mut m, g, connected()))
            .iter()
            .any(|a| matches!(a, ClientAction::Auth { .. })));
    }

    #[test]
    fn a_socket_closed_for_its_token_asks_to_sign_in_and_stops_reconnecting() {
        let (mut m, g) = live_with_token();
        let effects = closed(&mut m, g, 1008, "token expired");
        assert!(effects.contains(&Effect::SignInNeeded("token expired".into())));
        assert!(effects.contains(&Effect::Disarm(Timer::Retry)));
        assert_eq!(retry_delay(&effects), None, "no retry while signed out");
        assert_eq!(m.status().state, ConnectionState::Disconnected);
        assert_eq!(m.status().last_error.as_deref(), Some("token expired"));
        assert_eq!(m.status().failures, 0, "a refusal is not a failed attempt");
        // Nothing wakes it: not the browser coming online, a stray retry, the toggle or
        // a new listener.
        assert!(m.step(Input::Online).is_empty());
        assert!(m
            .step(Input::Tick {
                timer: Timer::Retry,
                now_ms: 0.0
            })
            .is_empty());
        let effects = m.step(Input::SetRealtime(false));
        assert!(!polls(&effects) && !opens(&effects));
        let effects = m.step(Input::SetRealtime(true));
        assert!(!polls(&effects) && !opens(&effects));
        assert!(m.step(Input::Listen(topic())).is_empty());
    }

    #[test]
    fn a_token_refused_before_the_greeting_is_not_a_failed_attempt() {
        let mut m = machine();
        let g = opened(&m.step(Input::Begin {
            realtime: true,
            token: None,
        }));
        let effects = closed(&mut m, g, 1008, "token required");
        assert!(effects.contains(&Effect::SignInNeeded("token required".into())));
        assert_eq!(m.status().failures, 0);
        assert_eq!(retry_delay(&effects), None);
    }

    #[test]
    fn another_policy_close_is_an_ordinary_loss() {
        let (mut m, g) = live_with_token();
        let effects = closed(&mut m, g, 1008, "too many frames");
        assert!(!effects.iter().any(|e| matches!(e, Effect::SignInNeeded(_))));
        assert_eq!(retry_delay(&effects), Some(1_000.0));
        assert_eq!(
            m.status().last_error.as_deref(),
            Some("socket closed (1008 too many frames)")
        );
    }

    #[test]
    fn a_new_token_after_a_refusal_reconnects_and_resumes_from_the_cursor() {
        let (mut m, g) = live_with_token();
        frame(&mut m, g, ServerFrame::Message(envelope(4, "E")));
        closed(&mut m, g, 1008, "token expired");
        let effects = m.step(Input::Token(token("t2")));
        let g = opened(&effects);
        assert_eq!(m.status().state, ConnectionState::Reconnecting);
        assert_eq!(m.status().last_error, None);
        let effects = frame(&mut m, g, connected());
        assert_eq!(
            sent(&effects)[..2],
            [
                auth("t2"),
                ClientAction::Subscribe {
                    topic: topic(),
                    since: Some(Since::after(4, Epoch("E".into())))
                }
            ]
        );
        assert_eq!(m.status().state, ConnectionState::Connected);
    }

    #[test]
    fn a_new_token_on_a_live_socket_re_authenticates_it_in_place() {
        let (mut m, g) = live_with_token();
        let effects = m.step(Input::Token(token("t2")));
        assert_eq!(effects, [Effect::Send(auth("t2"))]);
        // The subscription carries on.
        let effects = frame(&mut m, g, ServerFrame::Message(envelope(4, "E")));
        assert_eq!(seqs(&delivered(&effects)), [4]);
    }

    #[test]
    fn a_first_token_replaces_a_socket_that_began_without_one() {
        let (mut m, g) = live();
        let effects = m.step(Input::Token(token("t1")));
        assert!(effects.contains(&Effect::Close));
        let g2 = opened(&effects);
        assert_ne!(g, g2);
        assert_eq!(
            sent_first(&frame(&mut m, g2, connected())),
            Some(auth("t1"))
        );
    }

    #[test]
    fn a_poll_refused_for_its_token_stops_polling_until_a_token_is_entered() {
        let mut m = machine();
        m.step(Input::Listen(topic()));
        let effects = m.step(Input::Begin {
            realtime: false,
            token: None,
        });
        assert!(polls(&effects));
        let effects = m.step(Input::Polled {
            topic: topic(),
            result: Err(PollError::Unauthorized("token required".into())),
            now_ms: 0.0,
        });
        assert!(effects.contains(&Effect::SignInNeeded("token required".into())));
        assert!(effects.contains(&Effect::Disarm(Timer::Poll)));
        assert!(m
            .step(Input::Tick {
                timer: Timer::Poll,
                now_ms: 0.0
            })
            .is_empty());
        // Real-time is still off: the token restarts polling, not the socket.
        let effects = m.step(Input::Token(token("t1")));
        assert!(polls(&effects) && !opens(&effects));
        assert_eq!(m.status().state, ConnectionState::Polling);
    }

    #[test]
    fn signing_out_closes_the_stream_until_a_token_is_entered() {
        let (mut m, _) = live_with_token();
        let effects = m.step(Input::Token(None));
        assert!(effects.contains(&Effect::Close));
        assert_eq!(retry_delay(&effects), None);
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::SignInNeeded(_))),
            "the page already knows"
        );
        assert_eq!(m.status().state, ConnectionState::Disconnected);
        assert!(m.step(Input::Online).is_empty());
        assert!(opens(&m.step(Input::Token(token("t2")))));
    }

    // ---- staleness -------------------------------------------------------------------

    /// `live()`, whose run is running: its snapshot says so, heard at 1 s.
    fn live_run() -> (Machine, u64) {
        let (mut m, g) = live();
        let mut running = snapshot(3, "E");
        running.data.apply(&Message::Resumed(Lifecycle::default()));
        let resync = Control::Resync(Resync {
            reason: ResyncReason::OutsideHistory,
            snapshot: running,
        });
        frame(&mut m, g, control(resync));
        (m, g)
    }

    fn watch(m: &mut Machine, now_ms: f64) {
        m.step(Input::Tick {
            timer: Timer::Watch,
            now_ms,
        });
    }

    fn run_stream(m: &Machine) -> StreamAge {
        m.status().streams[0].clone()
    }

    #[test]
    fn a_running_stream_silent_past_its_threshold_is_stale_until_it_moves() {
        let (mut m, g) = live_run();
        watch(&mut m, 4_900.0);
        assert_eq!(m.status().state, ConnectionState::Connected);
        assert_eq!(run_stream(&m).silent_secs, Some(3));
        assert!(!run_stream(&m).stale);

        // 4 s of silence is the server's threshold for backtests; past it, stale.
        watch(&mut m, 5_100.0);
        assert_eq!(m.status().state, ConnectionState::Stale);
        assert_eq!(m.status().state.colour(), "yellow");
        assert!(run_stream(&m).stale);

        // The next message clears it at once, not at the next look.
        m.step(Input::Frame {
            generation: g,
            frame: ServerFrame::Message(envelope(4, "E")),
            now_ms: 5_500.0,
        });
        assert_eq!(m.status().state, ConnectionState::Connected);
        assert_eq!(run_stream(&m).silent_secs, Some(0));
    }

    #[test]
    fn a_stream_that_should_not_move_is_never_stale() {
        // Pending (the fixture's snapshot), then paused: silence is expected.
        let (mut m, _) = live();
        watch(&mut m, 60_000.0);
        assert_eq!(m.status().state, ConnectionState::Connected);
        let (mut m, g) = live_run();
        let mut paused = envelope(4, "E");
        paused.message = Message::Paused(Lifecycle::default());
        frame(&mut m, g, ServerFrame::Message(paused));
        watch(&mut m, 60_000.0);
        assert_eq!(m.status().state, ConnectionState::Connected);
        assert_eq!(run_stream(&m).silent_secs, Some(59));
    }

    #[test]
    fn staleness_is_about_a_live_socket_and_a_kind_the_server_named() {
        // The socket drops: reconnecting, whatever the silence.
        let (mut m, g) = live_run();
        m.step(Input::Closed {
            generation: g,
            code: 1006,
            reason: String::new(),
        });
        watch(&mut m, 60_000.0);
        assert_eq!(m.status().state, ConnectionState::Reconnecting);
        assert!(!run_stream(&m).stale);

        // A server that names no threshold for the kind: never stale.
        let mut m = machine();
        m.step(Input::Listen(topic()));
        let g = opened(&m.step(Input::Begin {
            realtime: true,
            token: None,
        }));
        let quiet_server = Control::Connected(Connected {
            connection_id: "1".into(),
            heartbeat_secs: 30,
            max_message_bytes: 65_536,
            build: "b1".into(),
            stale_after_ms: BTreeMap::new(),
        });
        frame(&mut m, g, control(quiet_server));
        frame(&mut m, g, subscribed(1));
        let mut running = snapshot(0, "E");
        running.data.apply(&Message::Resumed(Lifecycle::default()));
        frame(&mut m, g, control(Control::Snapshot(running)));
        watch(&mut m, 60_000.0);
        assert_eq!(m.status().state, ConnectionState::Connected);
    }

    #[test]
    fn the_watch_reports_the_message_rate_of_its_last_second() {
        let (mut m, g) = live_run();
        for seq in 4..7 {
            frame(&mut m, g, ServerFrame::Message(envelope(seq, "E")));
        }
        watch(&mut m, 2_000.0);
        assert_eq!(m.status().rate, 3.0);
        watch(&mut m, 3_000.0);
        assert_eq!(m.status().rate, 0.0);
    }

    // ---- hidden pages ----------------------------------------------------------------

    fn messages(m: &mut Machine, g: u64, seqs: std::ops::Range<u64>) -> Vec<Effect> {
        seqs.flat_map(|seq| frame(m, g, ServerFrame::Message(envelope(seq, "E"))))
            .collect()
    }

    #[test]
    fn a_hidden_page_holds_its_messages_and_gets_them_all_when_shown() {
        let (mut m, g) = live();
        m.step(Input::Visible(false));
        assert!(m.hidden());
        assert!(delivered(&messages(&mut m, g, 4..9)).is_empty());
        let shown = m.step(Input::Visible(true));
        assert_eq!(seqs(&delivered(&shown)), [4, 5, 6, 7, 8]);
        assert!(sent(&shown).is_empty(), "no snapshot needed");
        assert_eq!(seqs(&delivered(&messages(&mut m, g, 9..10))), [9]);
    }

    #[test]
    fn a_topic_too_far_behind_starts_over_from_a_snapshot_when_shown() {
        let (mut m, g) = live_with(ReconnectPolicy::default().with_overrides("hidden_backlog=3"));
        m.step(Input::Visible(false));
        messages(&mut m, g, 4..20);
        let shown = m.step(Input::Visible(true));
        assert!(delivered(&shown).is_empty(), "nothing replayed");
        assert_eq!(
            sent(&shown),
            [ClientAction::Subscribe {
                topic: topic(),
                since: None
            }]
        );
        // Frames already on their way belong to the old subscription.
        assert!(delivered(&messages(&mut m, g, 20..21)).is_empty());
        frame(&mut m, g, subscribed(31));
        let caught_up = frame(&mut m, g, control(Control::Snapshot(snapshot(30, "E"))));
        assert_eq!(seqs(&delivered(&caught_up)), [30]);
        assert_eq!(seqs(&delivered(&messages(&mut m, g, 31..32))), [31]);
    }

    #[test]
    fn a_link_that_moves_to_another_tab_reconnects_at_once_and_resumes() {
        let (mut m, g) = live();
        let effects = m.step(Input::Moved {
            generation: g,
            reason: "another tab leads the stream now".into(),
        });
        let g2 = opened(&effects);
        assert!(g2 > g);
        assert_eq!(retry_delay(&effects), None, "no backoff");
        assert_eq!(m.status().state, ConnectionState::Reconnecting);
        let effects = frame(&mut m, g2, connected());
        assert_eq!(
            sent(&effects)[0],
            ClientAction::Subscribe {
                topic: topic(),
                since: Some(Since::after(3, Epoch("E".into())))
            }
        );
        // A move reported for an older link changes nothing.
        assert!(m
            .step(Input::Moved {
                generation: g,
                reason: String::new()
            })
            .is_empty());
    }
}
