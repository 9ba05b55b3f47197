//! The browser side of one socket for all tabs (compiled for `hydrate` only): who leads
//! (Web Locks), and how tabs talk (a BroadcastChannel). The leader's bookkeeping is
//! [`Relay`](super::relay::Relay); the engine decides what to do with each message.
//!
//! - **Election**: every tab asks for the lock [`LOCK`]; the holder leads until its tab
//!   closes or crashes (the browser then grants the lock to the next tab in line, which
//!   announces itself). A tab first asks with `ifAvailable`, so it knows at once whether
//!   it leads before it opens anything.
//! - **Fallback**: without Web Locks or BroadcastChannel (an old browser, an insecure
//!   context), every tab is [`TabRole::Alone`] with its own socket.
//! - **Wire**: each message on the channel is an array `[kind, tab, text, code]`; see
//!   [`TabMessage`].

use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

use super::relay::TabId;
use super::status::TabRole;

/// The Web Lock the leading tab holds, and the channel's name.
const LOCK: &str = "tickwire.stream";

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks.request(name, options, callback)`: web-sys exposes
    /// `LockManager` only under `web_sys_unstable_apis`.
    #[wasm_bindgen(js_namespace = ["navigator", "locks"], js_name = request, catch)]
    fn request_lock(name: &str, options: &Object, callback: &Function) -> Result<Promise, JsValue>;
}

/// What tabs tell each other.
#[derive(Debug)]
pub enum TabMessage {
    /// A follower opened its link (to the leader).
    Hello { from: TabId },
    /// A follower's client action, as JSON (to the leader).
    Send { from: TabId, text: String },
    /// A follower closed its link or is going away (to the leader).
    Bye { from: TabId },
    /// A server frame from the socket, for one tab (`to`) or all (`None`).
    Frame { to: Option<TabId>, text: String },
    /// The leader's socket closed (to every follower).
    Closed { code: u16, reason: String },
    /// A new leader took over (to every follower).
    Leader { tab: TabId },
}

impl TabMessage {
    fn to_js(&self) -> Array {
        let (kind, tab, text, code) = match self {
            TabMessage::Hello { from } => ("hello", *from, "", 0),
            TabMessage::Send { from, text } => ("send", *from, text.as_str(), 0),
            TabMessage::Bye { from } => ("bye", *from, "", 0),
            TabMessage::Frame { to, text } => ("frame", to.unwrap_or(0), text.as_str(), 0),
            TabMessage::Closed { code, reason } => ("closed", 0, reason.as_str(), *code),
            TabMessage::Leader { tab } => ("leader", *tab, "", 0),
        };
        Array::of4(
            &kind.into(),
            &JsValue::from_f64(tab as f64),
            &text.into(),
            &JsValue::from_f64(f64::from(code)),
        )
    }

    fn from_js(value: &JsValue) -> Option<TabMessage> {
        let array = value.dyn_ref::<Array>()?;
        let tab = array.get(1).as_f64()? as TabId;
        let text = array.get(2).as_string()?;
        let code = array.get(3).as_f64()? as u16;
        Some(match array.get(0).as_string()?.as_str() {
            "hello" => TabMessage::Hello { from: tab },
            "send" => TabMessage::Send { from: tab, text },
            "bye" => TabMessage::Bye { from: tab },
            "frame" => TabMessage::Frame {
                to: (tab != 0).then_some(tab),
                text,
            },
            "closed" => TabMessage::Closed { code, reason: text },
            "leader" => TabMessage::Leader { tab },
            _ => return None,
        })
    }
}

/// This tab's place among the origin's tabs: its id, the channel, and the callbacks
/// that keep the lock requests and the channel listening.
pub struct Tabs {
    pub id: TabId,
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_lock: Vec<Closure<dyn FnMut(JsValue) -> Promise>>,
}

impl Tabs {
    /// Joins the origin's tabs, if the browser can share a socket: `on_message` gets
    /// what other tabs say, and `on_role` this tab's role once known (at once: leader
    /// or follower) and again when it takes over. `None`: this tab is alone.
    pub fn join(
        on_message: impl Fn(TabMessage) + 'static,
        on_role: impl Fn(TabRole) + 'static,
    ) -> Option<Tabs> {
        let locks = Reflect::get(&window().navigator(), &"locks".into()).ok()?;
        if locks.is_undefined() || locks.is_null() {
            return None;
        }
        let channel = BroadcastChannel::new(LOCK).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(message) = TabMessage::from_js(&event.data()) {
                on_message(message);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_role: Rc<dyn Fn(TabRole)> = Rc::new(on_role);
        // The lock is held until the tab goes: the callback's promise never settles.
        let hold = || Promise::new(&mut |_, _| {});
        let role = on_role.clone();
        let take_over = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |_lock: JsValue| {
            role(TabRole::Leader);
            hold()
        });
        let queue = take_over.as_ref().unchecked_ref::<Function>().clone();
        let role = on_role.clone();
        let first = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |lock: JsValue| {
            if lock.is_null() {
                // Someone leads: follow, and wait in line to take over.
                role(TabRole::Follower);
                if request_lock(LOCK, &Object::new(), &queue).is_err() {
                    role(TabRole::Alone);
                }
                return Promise::resolve(&JsValue::UNDEFINED);
            }
            role(TabRole::Leader);
            hold()
        });
        let options = Object::new();
        Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE).ok()?;
        let _held = request_lock(LOCK, &options, first.as_ref().unchecked_ref()).ok()?;
        Some(Tabs {
            id: (js_sys::Math::random() * 9_007_199_254_740_991.0) as TabId + 1,
            channel,
            _on_message: on_message,
            _on_lock: vec![first, take_over],
        })
    }

    /// Tells the other tabs.
    pub fn post(&self, message: &TabMessage) {
        let _ = self.channel.post_message(&message.to_js());
    }
}

impl Drop for Tabs {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
