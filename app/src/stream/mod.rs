//! The browser side of a topic stream: one WebSocket on a dedicated stream path, decoded
//! into [`ServerFrame`](crate::protocol::ServerFrame)s that update a set of signals.
//!
//! Signals are created on the server too (so SSR and hydration render the same first
//! frame); the socket itself only ever opens in the browser, inside an `Effect`.

#[cfg(feature = "hydrate")]
mod socket;
mod state;

pub use state::{ConnectionState, MarketView};

use leptos::prelude::*;

use crate::protocol::Symbol;

/// Streams `market:{symbol}` for whichever symbol `symbol` holds, reopening the socket
/// when it changes and closing it when the owning component goes away.
pub fn use_market_stream(symbol: Signal<Option<Symbol>>) -> MarketView {
    let view = MarketView::new();
    #[cfg(feature = "hydrate")]
    {
        let current = StoredValue::new_local(None::<socket::Socket>);
        Effect::new(move |_| {
            // Dropping the previous socket closes it before the next one opens.
            current.set_value(None);
            view.reset();
            if let Some(symbol) = symbol.get() {
                let path = format!("/api/ws/stream/market-data/{symbol}");
                current.set_value(socket::Socket::open(&path, view));
            }
        });
        on_cleanup(move || current.set_value(None));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = symbol;
    view
}
