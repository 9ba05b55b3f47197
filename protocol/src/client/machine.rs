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

use super::credentials::{Credentials, TokenChange};
use super::cursor::{Cursor, Verdict};
use super::link::Link;
use super::policy::{Display, ReconnectPolicy};
use super::status::{ConnectionState, Mode, StreamAge};
pub use super::topics::Delivery;
use super::topics::Followed;
use crate::{
    BearerToken, ClientAction, Connected, Control, Envelope, ErrorFrame, Message, Pong, Resync,
    ServerFrame, Snapshot, Subscribed, TokenRefusal, Topic, TopicKind,
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
    /// A topic gained a listener; `display` is how closely the page's listeners of
    /// the topic show it, this one included.
    Listen { topic: Topic, display: Display },
    /// A topic's listeners now show it as `display` (the closest one left).
    Show { topic: Topic, display: Display },
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
    /// A notice came while the page is hidden: tell the user outside the page (the
    /// browser's notifications, if they allowed them). `tag` is the same in every tab,
    /// so one notice shows once.
    Alert {
        title: String,
        body: String,
        tag: String,
    },
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

/// The stream's state and rules.
pub struct Machine {
    policy: ReconnectPolicy,
    /// Uniform in [0, 1): the backoff's jitter.
    random: Box<dyn FnMut() -> f64>,
    status: Status,
    topics: BTreeMap<Topic, Followed>,
    started: bool,
    link: Link,
    /// Polling because the socket failed (not because real-time was switched off).
    fell_back: bool,
    /// The token, sent as the first frame of every greeted socket; refused, it stops
    /// the stream until a new one is entered.
    credentials: Credentials,
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
            link: Link::default(),
            fell_back: false,
            credentials: Credentials::default(),
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
                self.credentials = Credentials::new(token);
                self.begin(realtime);
            }
            Input::Token(token) => self.set_token(token),
            Input::Listen { topic, display } => self.listen(topic, display),
            Input::Show { topic, display } => self.show(&topic, display),
            Input::Forget(topic) => self.forget(&topic),
            Input::SetRealtime(on) => self.set_realtime(on),
            Input::Visible(visible) => self.set_visible(visible),
            Input::Online => {
                if self.status.realtime && !self.credentials.signed_out() && !self.greeted() {
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
                if self.is_current(generation)
                    && self.status.realtime
                    && !self.credentials.signed_out()
                {
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
                Timer::Retry if self.credentials.signed_out() => {}
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

    fn listen(&mut self, topic: Topic, display: Display) {
        // A late listener needs the whole state: the topic starts over from a snapshot
        // (every listener of the topic replaces its state with it).
        let followed = self.topics.contains_key(&topic);
        self.topics
            .entry(topic.clone())
            .or_insert_with(|| Followed::new(display))
            .display = display;
        self.start_over(topic, followed);
    }

    fn show(&mut self, topic: &Topic, display: Display) {
        let Some(entry) = self.topics.get_mut(topic) else {
            return;
        };
        if std::mem::replace(&mut entry.display, display) != display {
            self.retune(topic.clone());
        }
    }

    /// Asks the server for `topic`'s rate as it stands now, if that is not what was
    /// asked: a subscribe without `since` on a followed topic changes its rate and is
    /// answered with `subscribed` alone (docs/SPEC.md section 6). A poll asks it with
    /// each request.
    fn retune(&mut self, topic: Topic) {
        if !self.greeted() {
            return;
        }
        let Some(entry) = self.topics.get_mut(&topic) else {
            return;
        };
        let rate = self.policy.rate(entry.display, self.hidden);
        if !entry.asked(rate) {
            let action = entry.subscribe(&topic, None, rate);
            self.emit(Effect::Send(action));
        }
    }

    /// Forgets where `topic` stood and asks for its snapshot: over the socket, or by
    /// the next poll. The server answers a repeated subscribe without `since` with
    /// `subscribed` alone (docs/SPEC.md section 6), so a topic this tab already
    /// `followed` (every known topic is subscribed on a greeted socket) is
    /// unsubscribed first.
    fn start_over(&mut self, topic: Topic, followed: bool) {
        let greeted = self.greeted();
        let hidden = self.hidden;
        let Some(entry) = self.topics.get_mut(&topic) else {
            return;
        };
        entry.cursor = Cursor::default();
        if greeted {
            entry.awaiting = true;
            let subscribe = entry.subscribe(&topic, None, self.policy.rate(entry.display, hidden));
            if followed {
                self.emit(Effect::Send(ClientAction::Unsubscribe { topic }));
            }
            self.emit(Effect::Send(subscribe));
        } else {
            self.poll_now();
        }
    }

    /// Hidden, the page holds what arrives and asks every topic's hidden rate;
    /// shown, it asks their rates back and gets what it held at once, and a topic
    /// that fell too far behind starts over from a snapshot instead.
    fn set_visible(&mut self, visible: bool) {
        if self.hidden != visible {
            return;
        }
        self.hidden = !visible;
        let topics: Vec<Topic> = self.topics.keys().cloned().collect();
        if !visible {
            for topic in topics {
                self.retune(topic);
            }
            return;
        }
        let mut held = Vec::new();
        for topic in topics {
            let Some(entry) = self.topics.get_mut(&topic) else {
                continue;
            };
            let (deliveries, fell_behind) = entry.take_held();
            if fell_behind {
                self.start_over(topic, true);
            } else {
                self.retune(topic.clone());
                held.extend(deliveries.into_iter().map(|d| (topic.clone(), d)));
            }
        }
        for (topic, delivery) in held {
            self.emit(Effect::Deliver { topic, delivery });
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
        if self.credentials.signed_out() {
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
        let greeted = self.greeted();
        match self.credentials.replace(token, self.started, greeted) {
            TokenChange::SignOut => self.stop("signed out".to_owned()),
            TokenChange::Restart => {
                self.status.failures = 0;
                self.status.last_error = None;
                if self.status.realtime {
                    self.connect();
                } else {
                    self.start_polling();
                }
            }
            TokenChange::Reauthenticate(token) => {
                self.emit(Effect::Send(ClientAction::Auth { token }));
            }
            TokenChange::Keep => {}
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
        self.credentials.refused();
        self.fell_back = false;
        self.status.state = ConnectionState::Disconnected;
        self.status.latency_ms = None;
        self.status.last_error = Some(reason);
    }

    // ---- the socket ------------------------------------------------------------------

    fn greeted(&self) -> bool {
        self.link.greeted()
    }

    fn is_current(&self, generation: u64) -> bool {
        self.link.is_current(generation)
    }

    /// Closes the socket, if any, and stops what only a socket needs (pings, retries).
    fn drop_socket(&mut self) {
        if self.link.drop_socket() {
            self.emit(Effect::Close);
        }
        self.emit(Effect::Disarm(Timer::Retry));
        self.emit(Effect::Disarm(Timer::Ping));
    }

    fn connect(&mut self) {
        let first = self.link.never_opened();
        self.drop_socket();
        if !first {
            self.status.reconnects += 1;
        }
        if !self.fell_back {
            self.status.state = ConnectionState::Reconnecting;
        }
        let generation = self.link.open();
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
                        let rate = self.policy.rate(entry.display, self.hidden);
                        let resume = entry.subscribe(&topic, entry.cursor.since(), rate);
                        self.status.last_error = Some(format!(
                            "{topic}: expected seq {expected}, got {got}; resuming"
                        ));
                        self.emit(Effect::Send(resume));
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
            ServerFrame::Control(Control::DirectNotice(notice)) => {
                self.emit(Effect::Toast(format!("{}: {}", notice.title, notice.body)));
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
        self.link.greet();
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
        if let Some(token) = self.credentials.token().cloned() {
            self.emit(Effect::Send(ClientAction::Auth { token }));
        }
        let (policy, hidden) = (self.policy, self.hidden);
        let subscriptions: Vec<ClientAction> = self
            .topics
            .iter_mut()
            .map(|(topic, entry)| {
                entry.awaiting = true;
                let rate = policy.rate(entry.display, hidden);
                entry.subscribe(topic, entry.cursor.since(), rate)
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
            if let Delivery::Message(Envelope {
                message: Message::Notice(notice),
                topic,
                seq,
                ..
            }) = &delivery
            {
                self.emit(Effect::Alert {
                    title: notice.title.clone(),
                    body: notice.body.clone(),
                    tag: format!("{topic}#{seq}"),
                });
            }
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
        let (policy, hidden) = (self.policy, self.hidden);
        let mut polls = Vec::new();
        for (topic, entry) in &mut self.topics {
            if entry.polling {
                continue;
            }
            entry.polling = true;
            let since = entry.cursor.since();
            let url = match &since {
                Some(since) => format!(
                    "/api/streams/{topic}?{}&max_rate={}",
                    since.to_query(),
                    policy.rate(entry.display, hidden).per_second()
                ),
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
mod tests;
