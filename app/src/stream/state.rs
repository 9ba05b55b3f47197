//! What a market stream shows: connection state, the last tick, the open candle and the
//! last seq, as signals, plus how each server frame changes them.

use leptos::prelude::*;

use crate::protocol::{Candle, Control, Envelope, Message, ServerFrame, SnapshotData, Tick};

/// Where the stream's socket stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    Connecting,
    Connected,
    Disconnected,
}

impl ConnectionState {
    /// The name used in `data-state` attributes and CSS classes.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Disconnected => "disconnected",
        }
    }
}

/// The signals a market stream feeds.
#[derive(Clone, Copy)]
pub struct MarketView {
    pub state: RwSignal<ConnectionState>,
    pub last_tick: RwSignal<Option<Tick>>,
    pub open_candle: RwSignal<Option<Candle>>,
    pub last_seq: RwSignal<u64>,
    pub last_error: RwSignal<Option<String>>,
}

impl MarketView {
    pub(crate) fn new() -> Self {
        MarketView {
            state: RwSignal::new(ConnectionState::Connecting),
            last_tick: RwSignal::new(None),
            open_candle: RwSignal::new(None),
            last_seq: RwSignal::new(0),
            last_error: RwSignal::new(None),
        }
    }

    /// Forgets everything, before the stream switches to another symbol.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) fn reset(&self) {
        self.state.set(ConnectionState::Connecting);
        self.last_tick.set(None);
        self.open_candle.set(None);
        self.last_seq.set(0);
        self.last_error.set(None);
    }

    /// Applies one decoded server frame.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) fn apply(&self, frame: ServerFrame) {
        match frame {
            ServerFrame::Message(envelope) => self.apply_message(envelope),
            ServerFrame::Control(Control::Snapshot(snapshot))
            | ServerFrame::Control(Control::Resync { snapshot, .. }) => {
                if let SnapshotData::Market(market) = snapshot.data {
                    self.last_tick.set(market.last_tick);
                    self.open_candle.set(market.candles.last().cloned());
                }
                self.last_seq.set(snapshot.last_seq);
            }
            ServerFrame::Control(Control::Connected { .. }) => {
                self.state.set(ConnectionState::Connected)
            }
            ServerFrame::Control(Control::Error { error, .. }) => self.last_error.set(Some(error)),
            ServerFrame::Control(_) => {}
        }
    }

    fn apply_message(&self, envelope: Envelope) {
        self.last_seq.set(envelope.seq);
        match envelope.message {
            Message::Tick(tick) => self.last_tick.set(Some(tick)),
            Message::Candle(candle) => self.open_candle.set(Some(candle)),
            _ => {}
        }
    }
}
