//! The page's stream client: what components use to follow topics, and the status
//! signals the header and metrics panel show. One per page, provided as context by
//! the app; the work happens in the browser ([`super::engine`]), while on the server
//! the same calls only create the signals, so SSR and hydration render alike.

use std::rc::Rc;

use leptos::prelude::*;

use super::status::StreamStatus;
use crate::auth::Auth;
pub use protocol::client::policy::Display;
use protocol::decode::KindReader;
use protocol::{Envelope, Snapshot, Topic};

/// What a topic's listener receives, in order.
#[derive(Clone, Copy, Debug)]
pub enum TopicEvent<'a> {
    /// Replace all state with this (a first subscribe, a resync, a late joiner).
    Reset(&'a Snapshot),
    /// The next message: its seq is exactly one more than the last one delivered since
    /// the last `Reset`.
    Message(&'a Envelope),
}

pub type Listener = Rc<dyn Fn(TopicEvent<'_>)>;

/// The stream client in context. `Copy`.
#[derive(Clone, Copy)]
pub struct StreamClient {
    pub status: StreamStatus,
    #[cfg(feature = "hydrate")]
    engine: StoredValue<Option<super::engine::Shared>, LocalStorage>,
}

impl StreamClient {
    /// Creates the page's client, provides it as context and (in the browser) starts
    /// streaming once the page has hydrated; it stops when the app is torn down.
    /// `on_toast` shows what the stream wants the user to know (falling back to
    /// polling, climbing back). The stream acts with `auth`'s token, restarts when the
    /// user signs in, stops when they sign out, and reports a refused token to it.
    pub fn provide(on_toast: impl Fn(String) + 'static, auth: Auth) -> Self {
        let client = StreamClient {
            status: StreamStatus::new(),
            #[cfg(feature = "hydrate")]
            engine: StoredValue::new_local(None),
        };
        #[cfg(feature = "hydrate")]
        {
            let shared = super::engine::Engine::new(client.status, Rc::new(on_toast), auth);
            client.engine.set_value(Some(shared));
            // Streaming starts once the whole page has hydrated, so that the status the
            // page hydrates with is the server's (crate::hydration).
            Effect::new(move |_| {
                if crate::hydration::done() {
                    client.with_engine(|e| e.begin());
                }
            });
            Effect::watch(
                move || auth.token(),
                move |token, _, _| client.with_engine(|e| e.set_token(token.clone())),
                false,
            );
            on_cleanup(move || {
                if let Some(shared) = client.engine.try_get_value().flatten() {
                    shared.borrow_mut().shutdown();
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (on_toast, auth);
        provide_context(client);
        client
    }

    #[cfg(feature = "hydrate")]
    fn with_engine(&self, f: impl FnOnce(&mut super::engine::Engine)) {
        if let Some(shared) = self.engine.try_get_value().flatten() {
            f(&mut shared.borrow_mut());
        }
    }

    /// Real-time on (WebSocket) or off (polling); remembered across reloads.
    pub fn set_realtime(&self, on: bool) {
        #[cfg(feature = "hydrate")]
        self.with_engine(|e| e.set_realtime(on));
        #[cfg(not(feature = "hydrate"))]
        let _ = on;
    }
}

/// Follows whichever topic `topic` holds (none: nothing), calling `listener` with its
/// events; switches when the signal changes and stops when the component goes away.
/// `reader` reads the payloads of `topic`'s kind: the page that follows a kind brings
/// the code that reads it (`decode::Kinds`). `display` says how closely the component
/// shows the topic, which sets the rate the stream asks of the server.
pub fn use_topic(
    topic: Signal<Option<Topic>>,
    reader: KindReader,
    display: Display,
    listener: impl Fn(TopicEvent<'_>) + 'static,
) {
    let client = expect_context::<StreamClient>();
    #[cfg(feature = "hydrate")]
    {
        let listener: Listener = Rc::new(listener);
        let current = StoredValue::new_local(None::<(Topic, u64)>);
        let leave = move || {
            if let Some((topic, id)) = current.try_update_value(Option::take).flatten() {
                client.with_engine(|e| e.remove_listener(&topic, id));
            }
        };
        Effect::new(move |_| {
            let next = topic.get();
            leave();
            if let Some(topic) = next {
                let mut id = None;
                client.with_engine(|e| {
                    id = Some(e.add_listener(topic.clone(), reader, display, listener.clone()));
                });
                if let Some(id) = id {
                    current.set_value(Some((topic, id)));
                }
            }
        });
        on_cleanup(leave);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (client, topic, reader, display, listener);
}
