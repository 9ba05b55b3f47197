//! A browser WebSocket wired to a [`MarketView`]; dropping it closes the socket.

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::state::{ConnectionState, MarketView};
use crate::protocol::ServerFrame;

/// An open socket and the callbacks it holds.
pub struct Socket {
    ws: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Opens `path` on the page's own host (ws or wss to match the page).
    pub fn open(path: &str, view: MarketView) -> Option<Socket> {
        let location = web_sys::window()?.location();
        let scheme = if location.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        let url = format!("{scheme}://{}{path}", location.host().ok()?);
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(_) => {
                view.state.set(ConnectionState::Disconnected);
                view.last_error.set(Some(format!("could not open {url}")));
                return None;
            }
        };
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            match serde_json::from_str::<ServerFrame>(&text) {
                Ok(frame) => view.apply(frame),
                Err(e) => view.last_error.set(Some(format!("undecodable frame: {e}"))),
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            view.state.set(ConnectionState::Disconnected);
            if event.code() != 1000 {
                view.last_error.set(Some(format!(
                    "closed with {} {}",
                    event.code(),
                    event.reason()
                )));
            }
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Some(Socket {
            ws,
            _on_message: on_message,
            _on_close: on_close,
        })
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
