//! The browser shell of the stream (compiled for `hydrate` only): it owns the one
//! `/api/ws` socket, the timers, the poll requests and the listeners, reports what
//! happens to the [`Machine`] and carries out the effects it returns. Every rule lives
//! in the machine; this file only wires the browser to it.
//!
//! Tokens: polls carry the page's token (through `api::send`), the machine gets it at
//! the start and whenever the user signs in or out, and a refusal it reports turns the
//! page's identity ([`Auth`]) to `Needed`.
//!
//! State lives in one `Rc<RefCell<Engine>>`. Socket, timer and fetch callbacks hold a
//! `Weak` to it; every callback borrows it, steps the machine, releases it, and only
//! then hands events to listeners, so a listener never runs inside a borrow.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::client::{Listener, TopicEvent};
use super::leader::Tabs;
use super::relay::Relay;
use super::status::StreamStatus;
use super::status::TabRole;
use crate::api::{self, Method};
use crate::auth::Auth;
use protocol::client::machine::{
    Delivery, Effect, Input, Machine, PollError, Polled, Status, Timer,
};
use protocol::client::policy::Display;
use protocol::client::ReconnectPolicy;
use protocol::decode::{self, KindReader, Kinds, Readers};
use protocol::{BearerToken, Topic};

mod sharing;

pub type Shared = Rc<RefCell<Engine>>;

/// Sets `signal` to `now` unless that is what it already shows (`was`).
fn show<T: Clone + PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, now: &T, was: &T) {
    if now != was {
        signal.set(now.clone());
    }
}

/// localStorage key of the real-time toggle.
const REALTIME_KEY: &str = "tickwire.realtime";

/// A timer the machine armed; dropping it clears it.
enum Armed {
    Once(TimeoutHandle),
    Every(IntervalHandle),
}

impl Drop for Armed {
    fn drop(&mut self) {
        match self {
            Armed::Once(handle) => handle.clear(),
            Armed::Every(handle) => handle.clear(),
        }
    }
}

/// How this tab reaches the server's stream.
enum Link {
    None,
    /// Its own socket (alone, or leading the other tabs).
    Socket(Socket),
    /// Through the leading tab (`sharing.rs`): `greeted` once the leader sent this tab
    /// the socket's greeting; `give_up` fails the attempt of a leader that never
    /// answers.
    Relayed {
        generation: u64,
        greeted: bool,
        _give_up: Option<Armed>,
    },
}

/// A DOM event listener, removed when dropped.
struct Listening {
    target: web_sys::EventTarget,
    event: &'static str,
    callback: Closure<dyn FnMut()>,
}

impl Listening {
    fn new(target: web_sys::EventTarget, event: &'static str, f: impl FnMut() + 'static) -> Self {
        let callback = Closure::<dyn FnMut()>::new(f);
        let _ = target.add_event_listener_with_callback(event, callback.as_ref().unchecked_ref());
        Listening {
            target,
            event,
            callback,
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback(
            self.event,
            self.callback.as_ref().unchecked_ref(),
        );
    }
}

/// The open (or opening) socket; dropping it detaches its callbacks and closes it.
struct Socket {
    ws: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// One listener of a topic: its id, how closely it shows the topic, and the callback.
struct TopicListener {
    id: u64,
    display: Display,
    listener: Listener,
}

/// How closely `listeners` show their topic: as the closest of them.
fn closest(listeners: &[TopicListener]) -> Option<Display> {
    listeners.iter().map(|l| l.display).max()
}

/// Deliveries to hand to listeners once the engine is no longer borrowed.
type Ready = Vec<(Vec<Listener>, Delivery)>;

pub struct Engine {
    machine: Machine,
    status: StreamStatus,
    /// Called with each toast the machine asks for (the page shows them).
    toast: Rc<dyn Fn(String)>,
    /// The page's token and identity.
    auth: Auth,
    listeners: HashMap<Topic, Vec<TopicListener>>,
    next_listener: u64,
    /// The topic kinds whose payloads this page reads: those its listeners follow.
    readers: Readers,
    link: Link,
    timers: HashMap<Timer, Armed>,
    online: Option<WindowListenerHandle>,
    /// Tells the machine when the page is hidden and shown.
    visibility: Option<Listening>,
    /// Tells the leading tab this one is going.
    page_hide: Option<Listening>,
    /// The origin's other tabs, when the browser can share one socket among them.
    tabs: Option<Tabs>,
    role: TabRole,
    /// The leader's bookkeeping of the shared socket.
    relay: Relay,
    /// The machine has begun (once this tab knew its role).
    begun: bool,
    /// What the signals show now (only changes are written to them).
    shown: Status,
    weak: Weak<RefCell<Engine>>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Steps the machine with `input` (and whatever the effects feed back), then delivers.
fn run(shared: &Shared, input: Input) {
    let ready = shared.borrow_mut().handle(input);
    deliver(ready);
}

/// What a server frame's `text` tells the machine of the link of `generation`: nothing
/// when it is about a topic of a kind this page does not read (so follows no topic of:
/// another tab's, on the leader's socket).
fn frame_input(generation: u64, text: &str, kinds: &Readers) -> Option<Input> {
    match decode::server_frame(text, kinds) {
        Ok(frame) => frame.map(|frame| Input::Frame {
            generation,
            frame,
            now_ms: now_ms(),
        }),
        Err(e) => Some(Input::Undecodable(e.to_string())),
    }
}

fn deliver(ready: Ready) {
    for (listeners, delivery) in ready {
        let event = match &delivery {
            Delivery::Reset(s) => TopicEvent::Reset(s),
            Delivery::Message(m) => TopicEvent::Message(m),
        };
        for listener in &listeners {
            listener(event);
        }
    }
}

impl Engine {
    /// Creates the engine; nothing happens until [`Engine::begin`].
    pub fn new(status: StreamStatus, toast: Rc<dyn Fn(String)>, auth: Auth) -> Shared {
        let query = window().location().search().unwrap_or_default();
        let policy = ReconnectPolicy::default().with_overrides(query.trim_start_matches('?'));
        let machine = Machine::new(policy, Box::new(js_sys::Math::random));
        Rc::new_cyclic(|weak| {
            RefCell::new(Engine {
                shown: machine.status().clone(),
                machine,
                status,
                toast,
                auth,
                listeners: HashMap::new(),
                next_listener: 0,
                readers: Readers::default(),
                link: Link::None,
                timers: HashMap::new(),
                online: None,
                visibility: None,
                page_hide: None,
                tabs: None,
                role: TabRole::Alone,
                relay: Relay::default(),
                begun: false,
                weak: weak.clone(),
            })
        })
    }

    /// Steps the machine and carries out its effects until nothing more follows;
    /// returns the deliveries for the caller to hand out after releasing the borrow.
    fn handle(&mut self, input: Input) -> Ready {
        let mut ready = Vec::new();
        let mut inputs = VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            for effect in self.machine.step(input) {
                if let Some(follow_up) = self.apply(effect, &mut ready) {
                    inputs.push_back(follow_up);
                }
            }
        }
        // A hidden page does no DOM work: the status is shown when it is back.
        if !self.machine.hidden() {
            self.show_status();
        }
        ready
    }

    /// Hands deliveries that arose inside a borrow to the listeners a moment later.
    fn handle_later(&mut self, input: Input) {
        let ready = self.handle(input);
        if !ready.is_empty() {
            leptos::task::spawn_local(async move { deliver(ready) });
        }
    }

    /// Carries out one effect; an effect that fails at once reports back as an input.
    fn apply(&mut self, effect: Effect, ready: &mut Ready) -> Option<Input> {
        match effect {
            Effect::Open { generation } if self.role == TabRole::Follower => {
                self.open_relayed(generation);
            }
            Effect::Open { generation } => return self.open(generation),
            Effect::Close => self.close_link(),
            Effect::Send(action) => self.send(action),
            Effect::Poll { topic, url, resume } => self.poll(topic, url, resume),
            Effect::Deliver { topic, delivery } => {
                let listeners = self
                    .listeners
                    .get(&topic)
                    .map(|l| l.iter().map(|l| l.listener.clone()).collect())
                    .unwrap_or_default();
                ready.push((listeners, delivery));
            }
            Effect::Toast(text) => (self.toast)(text),
            Effect::Alert { title, body, tag } => crate::alerts::show(&title, &body, &tag),
            Effect::Arm { timer, ms } => {
                let armed = self.arm(timer, ms);
                match armed {
                    Some(armed) => self.timers.insert(timer, armed),
                    None => self.timers.remove(&timer),
                };
            }
            Effect::Disarm(timer) => {
                self.timers.remove(&timer);
            }
            Effect::SaveRealtime(on) => {
                if let Some(s) = storage() {
                    let _ = s.set_item(REALTIME_KEY, if on { "on" } else { "off" });
                }
            }
            Effect::SignInNeeded(reason) => self.auth.refused(&reason),
        }
        None
    }

    /// Writes the machine's status into the signals, field by field as it changed (a
    /// signal set to an equal value would still wake everything that reads it).
    fn show_status(&mut self) {
        let now = self.machine.status().clone();
        let (was, s) = (&self.shown, self.status);
        show(s.state, &now.state, &was.state);
        show(s.mode, &now.mode, &was.mode);
        show(s.realtime, &now.realtime, &was.realtime);
        show(s.failures, &now.failures, &was.failures);
        show(s.reconnects, &now.reconnects, &was.reconnects);
        show(s.latency_ms, &now.latency_ms, &was.latency_ms);
        show(s.last_update_ms, &now.last_update_ms, &was.last_update_ms);
        show(s.last_error, &now.last_error, &was.last_error);
        show(s.server_build, &now.server_build, &was.server_build);
        show(s.rate, &now.rate, &was.rate);
        show(s.streams, &now.streams, &was.streams);
        self.shown = now;
    }

    /// Arms `timer` to step the machine once (`Retry`) or every `ms`.
    fn arm(&self, timer: Timer, ms: f64) -> Option<Armed> {
        let weak = self.weak.clone();
        let fire = move || {
            if let Some(shared) = weak.upgrade() {
                run(
                    &shared,
                    Input::Tick {
                        timer,
                        now_ms: now_ms(),
                    },
                );
            }
        };
        let every = Duration::from_millis(ms as u64);
        match timer {
            Timer::Retry => set_timeout_with_handle(fire, every).ok().map(Armed::Once),
            Timer::Ping | Timer::Poll | Timer::Watch => {
                set_interval_with_handle(fire, every).ok().map(Armed::Every)
            }
        }
    }

    /// Opens the socket of `generation`; a socket that cannot even be created is a
    /// failed attempt.
    fn open(&mut self, generation: u64) -> Option<Input> {
        let location = window().location();
        let scheme = match location.protocol().as_deref() {
            Ok("https:") => "wss",
            _ => "ws",
        };
        let url = format!("{scheme}://{}/api/ws", location.host().unwrap_or_default());
        self.status.endpoint.set(url.clone());
        let Ok(ws) = WebSocket::new(&url) else {
            let reason = format!("could not open {url}");
            return Some(Input::OpenFailed { generation, reason });
        };
        let weak = self.weak.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let (Some(shared), Some(text)) = (weak.upgrade(), event.data().as_string()) {
                let input = frame_input(generation, &text, &shared.borrow().readers);
                shared.borrow_mut().share_frame(text, input.as_ref());
                if let Some(input) = input {
                    run(&shared, input);
                }
            }
        });
        let weak = self.weak.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            if let Some(shared) = weak.upgrade() {
                let (code, reason) = (event.code(), event.reason());
                shared.borrow_mut().share_close(code, &reason);
                run(
                    &shared,
                    Input::Closed {
                        generation,
                        code,
                        reason,
                    },
                );
            }
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.link = Link::Socket(Socket {
            ws,
            _on_message: on_message,
            _on_close: on_close,
        });
        None
    }

    /// Asks the server for `topic`'s news; the answer steps the machine.
    fn poll(&self, topic: Topic, url: String, resume: bool) {
        let weak = self.weak.clone();
        let token = self.auth.token_untracked();
        // A polled topic is one a listener follows, so its kind is read.
        let reader = self.readers.reader(topic.kind());
        leptos::task::spawn_local(async move {
            let result = fetch_poll(&url, resume, token.as_deref(), reader).await;
            if let Some(shared) = weak.upgrade() {
                run(
                    &shared,
                    Input::Polled {
                        topic,
                        result,
                        now_ms: now_ms(),
                    },
                );
            }
        });
    }

    /// Starts streaming (or polling, if real-time was switched off in an earlier visit).
    /// Called once the page has hydrated, so status signals change only after it.
    pub fn begin(&mut self) {
        if self.online.is_some() {
            return;
        }
        let weak = self.weak.clone();
        self.online = Some(window_event_listener(leptos::ev::online, move |_| {
            if let Some(shared) = weak.upgrade() {
                run(&shared, Input::Online);
            }
        }));
        self.watch_visibility();
        // The machine begins once this tab knows whether it leads (at once when the
        // browser cannot share a socket).
        if !self.join_tabs() {
            self.start();
        }
    }

    /// Begins the machine: streaming, or polling if real-time was switched off in an
    /// earlier visit.
    fn start(&mut self) {
        if std::mem::replace(&mut self.begun, true) {
            return;
        }
        let realtime = storage()
            .and_then(|s| s.get_item(REALTIME_KEY).ok().flatten())
            .is_none_or(|v| v != "off");
        let token = self.auth.token_untracked().map(BearerToken);
        self.handle_later(Input::Begin { realtime, token });
    }

    /// Reports the page's visibility now and whenever it changes.
    fn watch_visibility(&mut self) {
        let weak = self.weak.clone();
        self.visibility = Some(Listening::new(
            document().into(),
            "visibilitychange",
            move || {
                if let Some(shared) = weak.upgrade() {
                    run(&shared, Input::Visible(!document().hidden()));
                }
            },
        ));
        if document().hidden() {
            self.handle_later(Input::Visible(false));
        }
    }

    /// Stops everything: socket, timers, listeners.
    pub fn shutdown(&mut self) {
        self.handle_later(Input::Shutdown);
        self.close_link();
        self.timers.clear();
        if let Some(handle) = self.online.take() {
            handle.remove();
        }
        self.visibility = None;
        self.page_hide = None;
        self.listeners.clear();
    }

    /// Calls `listener` with `topic`'s events, read by `reader` (the topic's kind),
    /// shown as `display`.
    pub fn add_listener(
        &mut self,
        topic: Topic,
        reader: KindReader,
        display: Display,
        listener: Listener,
    ) -> u64 {
        self.readers.add(reader);
        let id = self.next_listener;
        self.next_listener += 1;
        let listeners = self.listeners.entry(topic.clone()).or_default();
        listeners.push(TopicListener {
            id,
            display,
            listener,
        });
        let display = closest(listeners).unwrap_or(display);
        self.handle_later(Input::Listen { topic, display });
        id
    }

    pub fn remove_listener(&mut self, topic: &Topic, id: u64) {
        let Some(listeners) = self.listeners.get_mut(topic) else {
            return;
        };
        let was = closest(listeners);
        listeners.retain(|l| l.id != id);
        match closest(listeners) {
            None => {
                self.listeners.remove(topic);
                self.handle_later(Input::Forget(topic.clone()));
            }
            Some(display) if Some(display) != was => {
                let topic = topic.clone();
                self.handle_later(Input::Show { topic, display });
            }
            Some(_) => {}
        }
    }

    pub fn set_realtime(&mut self, on: bool) {
        self.handle_later(Input::SetRealtime(on));
    }

    /// The user signed in with `token`, or signed out (`None`).
    pub fn set_token(&mut self, token: Option<String>) {
        self.handle_later(Input::Token(token.map(BearerToken)));
    }
}

/// `GET url` with the page's token: a page of messages when `resume`, else a snapshot,
/// read by `reader` (the polled topic's kind).
async fn fetch_poll(
    url: &str,
    resume: bool,
    token: Option<&str>,
    reader: Option<KindReader>,
) -> Result<Polled, PollError> {
    let unread = || PollError::Failed("poll answer of a kind this page does not read".to_owned());
    let reader = reader.ok_or_else(unread)?;
    let answer = api::send(Method::Get, url, None, token)
        .await
        .map_err(|e| PollError::Failed(format!("poll failed: {e}")))?;
    match answer.status {
        401 => return Err(PollError::Unauthorized(answer.error())),
        200..=299 => {}
        status => return Err(PollError::Failed(format!("poll failed: HTTP {status}"))),
    }
    let unreadable =
        |e: serde_json::Error| PollError::Failed(format!("poll answer unreadable: {e}"));
    if resume {
        decode::poll_page(&answer.text, &reader)
            .map(|(messages, resync)| Polled::Page { messages, resync })
            .map_err(unreadable)
    } else {
        decode::snapshot(&answer.text, &reader)
            .map_err(unreadable)?
            .map(Polled::Snapshot)
            .ok_or_else(unread)
    }
}
