//! The browser half of the stream (compiled for `hydrate` only): one multiplexed
//! `/api/ws` socket for every subscribed topic, reconnected with backoff, falling back
//! to HTTP polling and climbing back, each topic resumed from its cursor.
//!
//! State lives in one `Rc<RefCell<Engine>>`. Socket, timer and fetch callbacks hold a
//! `Weak` to it; every callback borrows it, decides, releases it, and only then hands
//! events to listeners, so a listener never runs inside a borrow.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::prelude::*;
use serde::Deserialize;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::client::{Listener, TopicEvent};
use super::cursor::{Cursor, Verdict};
use super::policy::ReconnectPolicy;
use super::status::{ConnectionState, Mode, StreamStatus};
use crate::components::toast::Toasts;
use crate::protocol::{
    ClientAction, Control, Envelope, Epoch, ResyncReason, ServerFrame, Snapshot, Topic,
};

pub type Shared = Rc<RefCell<Engine>>;

/// localStorage key of the real-time toggle.
const REALTIME_KEY: &str = "tickwire.realtime";

/// Clears its timeout when dropped.
struct Timeout(TimeoutHandle);
impl Drop for Timeout {
    fn drop(&mut self) {
        self.0.clear();
    }
}

/// Clears its interval when dropped.
struct Interval(IntervalHandle);
impl Drop for Interval {
    fn drop(&mut self) {
        self.0.clear();
    }
}

/// An open (or opening) socket; dropping it detaches its callbacks and closes it.
struct Socket {
    ws: WebSocket,
    generation: u64,
    /// The server's `connected` frame arrived: only then does the attempt count as a
    /// success (a socket a proxy accepts and drops at once is still a failure).
    greeted: bool,
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

struct TopicEntry {
    cursor: Cursor,
    listeners: Vec<(u64, Listener)>,
    /// A subscribe is in flight: drop the topic's frames until its `subscribed` arrives
    /// (they were queued under the previous subscription).
    awaiting: bool,
    /// A poll request is in flight.
    polling: bool,
}

/// A page of `GET /api/streams/{topic}`.
#[derive(Deserialize)]
struct PollPage {
    messages: Vec<Envelope>,
    resync: Option<PollResync>,
    #[allow(dead_code)]
    epoch: Epoch,
}

#[derive(Deserialize)]
struct PollResync {
    #[allow(dead_code)]
    reason: ResyncReason,
    snapshot: Snapshot,
}

/// Events ready for listeners, gathered under the borrow and delivered after it.
enum Ready {
    Reset(Snapshot),
    Message(Envelope),
}

pub struct Engine {
    policy: ReconnectPolicy,
    status: StreamStatus,
    toasts: Toasts,
    topics: HashMap<Topic, TopicEntry>,
    next_listener: u64,
    socket: Option<Socket>,
    generation: u64,
    failures: u32,
    /// Polling because the socket failed (as opposed to real-time switched off).
    fell_back: bool,
    retry: Option<Timeout>,
    poller: Option<Interval>,
    pinger: Option<Interval>,
    ticker: Option<Interval>,
    online: Option<WindowListenerHandle>,
    next_ping: u64,
    last_pong_ms: f64,
    received: u32,
    weak: Weak<RefCell<Engine>>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

impl Engine {
    /// Calls `step` on the engine every `ms` until the returned guard is dropped.
    fn every(&self, ms: f64, step: fn(&mut Engine)) -> Option<Interval> {
        let weak = self.weak.clone();
        set_interval_with_handle(
            move || {
                if let Some(shared) = weak.upgrade() {
                    step(&mut shared.borrow_mut());
                }
            },
            Duration::from_millis(ms as u64),
        )
        .ok()
        .map(Interval)
    }

    /// Calls `step` on the engine once after `ms`, unless the returned guard is dropped.
    fn after(&self, ms: f64, step: fn(&mut Engine)) -> Option<Timeout> {
        let weak = self.weak.clone();
        set_timeout_with_handle(
            move || {
                if let Some(shared) = weak.upgrade() {
                    step(&mut shared.borrow_mut());
                }
            },
            Duration::from_millis(ms as u64),
        )
        .ok()
        .map(Timeout)
    }

    /// Closes the socket, if any, and stops what only a socket needs (pings, retries);
    /// callbacks of the old socket are ignored from here on.
    fn drop_socket(&mut self) {
        self.generation += 1;
        self.socket = None;
        self.retry = None;
        self.pinger = None;
    }

    /// Publishes the messages counted in the last second as the rate.
    fn sample_rate(&mut self) {
        self.status.rate.set(f64::from(self.received));
        self.received = 0;
    }

    /// Creates the engine; nothing happens until [`Engine::begin`].
    pub fn new(status: StreamStatus, toasts: Toasts) -> Shared {
        let query = window().location().search().unwrap_or_default();
        let policy = ReconnectPolicy::default().with_overrides(query.trim_start_matches('?'));
        Rc::new_cyclic(|weak| {
            RefCell::new(Engine {
                policy,
                status,
                toasts,
                topics: HashMap::new(),
                next_listener: 0,
                socket: None,
                generation: 0,
                failures: 0,
                fell_back: false,
                retry: None,
                poller: None,
                pinger: None,
                ticker: None,
                online: None,
                next_ping: 0,
                last_pong_ms: 0.0,
                received: 0,
                weak: weak.clone(),
            })
        })
    }

    /// Starts streaming (or polling, if real-time was switched off in an earlier visit).
    /// Called once the page has hydrated, so status signals change only after it.
    pub fn begin(&mut self) {
        if self.ticker.is_some() {
            return;
        }
        let weak = self.weak.clone();
        self.online = Some(window_event_listener(leptos::ev::online, move |_| {
            if let Some(shared) = weak.upgrade() {
                shared.borrow_mut().on_online();
            }
        }));
        self.ticker = self.every(1_000.0, Engine::sample_rate);
        let realtime = storage()
            .and_then(|s| s.get_item(REALTIME_KEY).ok().flatten())
            .is_none_or(|v| v != "off");
        self.status.realtime.set(realtime);
        if realtime {
            self.connect();
        } else {
            self.start_polling();
        }
    }

    /// Stops everything: socket, timers, listeners.
    pub fn shutdown(&mut self) {
        self.drop_socket();
        self.poller = None;
        self.ticker = None;
        if let Some(handle) = self.online.take() {
            handle.remove();
        }
        self.topics.clear();
    }

    // ---- subscriptions -------------------------------------------------------------

    pub fn add_listener(&mut self, topic: Topic, listener: Listener) -> u64 {
        let id = self.next_listener;
        self.next_listener += 1;
        let greeted = self.greeted();
        let entry = self.topics.entry(topic.clone()).or_insert(TopicEntry {
            cursor: Cursor::default(),
            listeners: Vec::new(),
            awaiting: false,
            polling: false,
        });
        let fresh = entry.listeners.is_empty();
        entry.listeners.push((id, listener));
        // A late listener needs the whole state: start the topic over from a snapshot
        // (every listener of the topic replaces its state with it).
        entry.cursor = Cursor::default();
        if greeted {
            entry.awaiting = true;
            self.send(&ClientAction::Subscribe { topic, since: None });
        } else if !fresh || self.poller.is_some() {
            self.poll_now();
        }
        id
    }

    pub fn remove_listener(&mut self, topic: &Topic, id: u64) {
        let Some(entry) = self.topics.get_mut(topic) else {
            return;
        };
        entry.listeners.retain(|(i, _)| *i != id);
        if entry.listeners.is_empty() {
            self.topics.remove(topic);
            if self.greeted() {
                self.send(&ClientAction::Unsubscribe {
                    topic: topic.clone(),
                });
            }
        }
    }

    fn listeners(&self, topic: &Topic) -> Vec<Listener> {
        self.topics
            .get(topic)
            .map(|e| e.listeners.iter().map(|(_, l)| l.clone()).collect())
            .unwrap_or_default()
    }

    // ---- the real-time toggle and the browser's online event --------------------------

    pub fn set_realtime(&mut self, on: bool) {
        if let Some(s) = storage() {
            let _ = s.set_item(REALTIME_KEY, if on { "on" } else { "off" });
        }
        if self.status.realtime.get_untracked() == on {
            return;
        }
        self.status.realtime.set(on);
        if on {
            self.failures = 0;
            self.status.failures.set(0);
            self.connect();
        } else {
            self.drop_socket();
            self.fell_back = false;
            self.start_polling();
        }
    }

    fn on_online(&mut self) {
        if self.status.realtime.get_untracked() && !self.greeted() {
            self.connect();
        }
    }

    // ---- the socket -------------------------------------------------------------------

    fn greeted(&self) -> bool {
        self.socket.as_ref().is_some_and(|s| s.greeted)
    }

    fn send(&self, action: &ClientAction) {
        if let (Some(socket), Ok(text)) = (&self.socket, serde_json::to_string(action)) {
            let _ = socket.ws.send_with_str(&text);
        }
    }

    fn connect(&mut self) {
        let first = self.generation == 0;
        self.drop_socket();
        if !first {
            self.status.reconnects.update(|n| *n += 1);
        }
        if !self.fell_back {
            self.status.state.set(ConnectionState::Reconnecting);
        }
        let location = window().location();
        let scheme = match location.protocol().as_deref() {
            Ok("https:") => "wss",
            _ => "ws",
        };
        let url = format!("{scheme}://{}/api/ws", location.host().unwrap_or_default());
        self.status.endpoint.set(url.clone());
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(_) => return self.attempt_failed(format!("could not open {url}")),
        };
        let generation = self.generation;
        let weak = self.weak.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let (Some(shared), Some(text)) = (weak.upgrade(), event.data().as_string()) {
                on_text(&shared, generation, &text);
            }
        });
        let weak = self.weak.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            if let Some(shared) = weak.upgrade() {
                let reason = match event.reason() {
                    r if r.is_empty() => format!("socket closed ({})", event.code()),
                    r => format!("socket closed ({} {r})", event.code()),
                };
                shared.borrow_mut().on_close(generation, reason);
            }
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.socket = Some(Socket {
            ws,
            generation,
            greeted: false,
            _on_message: on_message,
            _on_close: on_close,
        });
    }

    fn is_current(&self, generation: u64) -> bool {
        self.socket.as_ref().map(|s| s.generation) == Some(generation)
    }

    /// The server greeted the socket: a successful connection.
    fn on_greeted(&mut self) {
        if let Some(socket) = &mut self.socket {
            socket.greeted = true;
        }
        self.failures = 0;
        self.status.failures.set(0);
        self.status.state.set(ConnectionState::Connected);
        self.status.mode.set(Mode::Realtime);
        self.status.last_error.set(None);
        self.poller = None;
        if self.fell_back {
            self.fell_back = false;
            self.toasts.push("Real-time connection restored");
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
        for action in &subscriptions {
            self.send(action);
        }
        self.last_pong_ms = now_ms();
        self.pinger = self.every(self.policy.ping_ms, Engine::ping);
        self.ping();
    }

    fn ping(&mut self) {
        if !self.greeted() {
            return;
        }
        let now = now_ms();
        if now - self.last_pong_ms > self.policy.pong_timeout_ms {
            return self.connection_lost("no pong from the server".to_owned());
        }
        self.next_ping += 1;
        self.send(&ClientAction::Ping {
            id: self.next_ping,
            t: now,
        });
    }

    fn on_close(&mut self, generation: u64, reason: String) {
        if !self.is_current(generation) {
            return;
        }
        if self.greeted() {
            self.connection_lost(reason);
        } else {
            self.attempt_failed(reason);
        }
    }

    /// A working connection dropped: retry soon; this is not a failed attempt.
    fn connection_lost(&mut self, reason: String) {
        self.drop_socket();
        self.status.last_error.set(Some(reason));
        self.status.state.set(ConnectionState::Reconnecting);
        self.schedule_retry();
    }

    /// An attempt that never reached the server's greeting.
    fn attempt_failed(&mut self, reason: String) {
        self.drop_socket();
        self.failures += 1;
        self.status.failures.set(self.failures);
        self.status.last_error.set(Some(reason));
        if self.policy.should_poll(self.failures) && !self.fell_back {
            self.fell_back = true;
            self.toasts.push(format!(
                "Real-time connection failed {} times: polling until it is back",
                self.failures
            ));
            self.start_polling();
        }
        self.schedule_retry();
    }

    fn schedule_retry(&mut self) {
        if !self.status.realtime.get_untracked() {
            return;
        }
        let delay = self.policy.delay_ms(self.failures, js_sys::Math::random());
        self.retry = self.after(delay, Engine::connect);
    }

    fn note_message(&mut self) {
        self.received += 1;
        self.status.last_update_ms.set(Some(now_ms()));
    }

    // ---- polling ----------------------------------------------------------------------

    fn start_polling(&mut self) {
        self.status.state.set(ConnectionState::Polling);
        self.status.mode.set(Mode::Polling);
        self.status.latency_ms.set(None);
        self.poller = self.every(self.policy.poll_ms, Engine::poll_now);
        self.poll_now();
    }

    /// Asks the server for every topic's news (one request per topic at a time).
    fn poll_now(&mut self) {
        if self.poller.is_none() {
            return;
        }
        for (topic, entry) in &mut self.topics {
            if entry.polling {
                continue;
            }
            entry.polling = true;
            let url = match entry.cursor.since() {
                Some(since) => format!("/api/streams/{topic}?{}", since.to_query()),
                None => format!("/api/streams/{topic}/snapshot"),
            };
            let resume = entry.cursor.since().is_some();
            let weak = self.weak.clone();
            let topic = topic.clone();
            leptos::task::spawn_local(async move {
                let result = fetch_poll(&url, resume).await;
                if let Some(shared) = weak.upgrade() {
                    on_poll(&shared, &topic, result);
                }
            });
        }
    }
}

/// What one poll brought.
enum Polled {
    Snapshot(Snapshot),
    Page(PollPage),
}

async fn fetch_poll(url: &str, resume: bool) -> Result<Polled, String> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| format!("poll failed: {e}"))?;
    if !response.ok() {
        return Err(format!("poll failed: HTTP {}", response.status()));
    }
    if resume {
        response.json().await.map(Polled::Page)
    } else {
        response.json().await.map(Polled::Snapshot)
    }
    .map_err(|e| format!("poll answer unreadable: {e}"))
}

fn on_poll(shared: &Shared, topic: &Topic, result: Result<Polled, String>) {
    let (ready, listeners) = {
        let mut e = shared.borrow_mut();
        if let Some(entry) = e.topics.get_mut(topic) {
            entry.polling = false;
        }
        // The socket took over (or the topic went) while this request was out.
        if e.poller.is_none() || !e.topics.contains_key(topic) {
            return;
        }
        let polled = match result {
            Ok(polled) => polled,
            Err(error) => {
                e.status.last_error.set(Some(error));
                e.status.state.set(ConnectionState::Disconnected);
                return;
            }
        };
        e.status.state.set(ConnectionState::Polling);
        let Some(entry) = e.topics.get_mut(topic) else {
            return;
        };
        let mut ready = Vec::new();
        let (snapshot, messages) = match polled {
            Polled::Snapshot(s) => (Some(s), Vec::new()),
            Polled::Page(p) => (p.resync.map(|r| r.snapshot), p.messages),
        };
        if let Some(snapshot) = snapshot {
            entry.cursor.reset(&snapshot);
            ready.push(Ready::Reset(snapshot));
        }
        for envelope in messages {
            match entry.cursor.check(&envelope) {
                Verdict::Apply => ready.push(Ready::Message(envelope)),
                Verdict::Duplicate => {}
                // Not contiguous with what is held: ask again from the cursor next time.
                Verdict::Gap { .. } => break,
            }
        }
        let delivered = ready
            .iter()
            .filter(|r| matches!(r, Ready::Message(_)))
            .count();
        for _ in 0..delivered {
            e.note_message();
        }
        (ready, e.listeners(topic))
    };
    deliver(&listeners, &ready);
}

fn deliver(listeners: &[Listener], ready: &[Ready]) {
    for event in ready {
        let event = match event {
            Ready::Reset(s) => TopicEvent::Reset(s),
            Ready::Message(m) => TopicEvent::Message(m),
        };
        for listener in listeners {
            listener(event);
        }
    }
}

fn on_text(shared: &Shared, generation: u64, text: &str) {
    let frame = match serde_json::from_str::<ServerFrame>(text) {
        Ok(frame) => frame,
        Err(e) => {
            let status = shared.borrow().status;
            status
                .last_error
                .set(Some(format!("undecodable frame: {e}")));
            return;
        }
    };
    let (ready, listeners) = {
        let mut e = shared.borrow_mut();
        if !e.is_current(generation) {
            return;
        }
        let (topic, ready) = match frame {
            ServerFrame::Message(envelope) => {
                e.note_message();
                let topic = envelope.topic.clone();
                let Some(entry) = e.topics.get_mut(&topic) else {
                    return;
                };
                if entry.awaiting {
                    return;
                }
                match entry.cursor.check(&envelope) {
                    Verdict::Apply => (topic, Ready::Message(envelope)),
                    Verdict::Duplicate => return,
                    Verdict::Gap { expected, got } => {
                        // A loss on a live socket: resume the topic from the cursor.
                        entry.awaiting = true;
                        let since = entry.cursor.since();
                        e.status.last_error.set(Some(format!(
                            "{topic}: expected seq {expected}, got {got}; resuming"
                        )));
                        e.send(&ClientAction::Subscribe { topic, since });
                        return;
                    }
                }
            }
            ServerFrame::Control(Control::Snapshot(snapshot))
            | ServerFrame::Control(Control::Resync { snapshot, .. }) => {
                let topic = snapshot.topic.clone();
                let Some(entry) = e.topics.get_mut(&topic) else {
                    return;
                };
                if entry.awaiting {
                    return;
                }
                entry.cursor.reset(&snapshot);
                (topic, Ready::Reset(snapshot))
            }
            ServerFrame::Control(control) => {
                match control {
                    Control::Connected { .. } => e.on_greeted(),
                    Control::Subscribed { topic, .. } => {
                        if let Some(entry) = e.topics.get_mut(&topic) {
                            entry.awaiting = false;
                        }
                    }
                    Control::Pong { t, .. } => {
                        let now = now_ms();
                        e.last_pong_ms = now;
                        e.status.latency_ms.set(Some((now - t).max(0.0)));
                    }
                    Control::Error { topic, error, .. } => {
                        let text = match topic {
                            Some(t) => format!("{t}: {error}"),
                            None => error,
                        };
                        e.status.last_error.set(Some(text));
                    }
                    _ => {}
                }
                return;
            }
        };
        (vec![ready], e.listeners(&topic))
    };
    deliver(&listeners, &ready);
}
