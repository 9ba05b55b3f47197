//! A topic's state as a signal, for any page: [`use_topic_state`] follows a topic and
//! keeps its state the way the hub does — the snapshot on every reset (a first
//! subscribe, a resync, a late join), then each message folded in with the protocol's
//! own fold (`protocol/src/fold.rs`). Pages read the signal; none writes its own
//! reset/apply match.

use leptos::prelude::*;

use super::client::{use_topic, Display, TopicEvent};
use protocol::decode::KindReader;
use protocol::sweep::SweepSnapshot;
use protocol::{
    BacktestSnapshot, Envelope, MarketSnapshot, SessionSnapshot, Snapshot, SnapshotData, Topic,
    TradingSnapshot, UserSnapshot,
};

/// State a page keeps for a topic: replaced by a snapshot, then folded message by
/// message.
pub trait TopicState: Default + Send + Sync + 'static {
    /// Reads the payloads of the state's topic kind.
    const READER: KindReader;
    /// Replaces the state with the one `snapshot` holds (a snapshot of another topic
    /// kind leaves it as it is).
    fn reset(&mut self, snapshot: &Snapshot);
    /// Folds the next message in.
    fn apply(&mut self, envelope: &Envelope);
}

/// Each topic kind's snapshot is its state: reset copies it out of [`SnapshotData`],
/// apply is the protocol's fold.
macro_rules! snapshot_is_topic_state {
    ($($state:ident => $kind:ident, $reader:ident),* $(,)?) => {$(
        impl TopicState for $state {
            const READER: KindReader = KindReader::$reader;

            fn reset(&mut self, snapshot: &Snapshot) {
                if let SnapshotData::$kind(state) = &snapshot.data {
                    self.clone_from(state);
                }
            }

            fn apply(&mut self, envelope: &Envelope) {
                $state::apply(self, &envelope.message);
            }
        }
    )*};
}

snapshot_is_topic_state!(
    MarketSnapshot => Market, MARKET,
    BacktestSnapshot => Backtest, BACKTEST,
    SessionSnapshot => Session, SESSION,
    TradingSnapshot => Trading, TRADING,
    SweepSnapshot => Sweep, SWEEP,
    UserSnapshot => User, USER,
);

/// Follows whichever topic `topic` holds, shown as `display`, and returns its state,
/// `S::default()` until the first snapshot. Switching topics keeps the old state until
/// the new topic's snapshot replaces it; the subscription ends with the component.
pub fn use_topic_state<S: TopicState>(topic: Signal<Option<Topic>>, display: Display) -> Signal<S> {
    let state = RwSignal::new(S::default());
    use_topic(topic, S::READER, display, move |event| match event {
        TopicEvent::Reset(snapshot) => state.update(|s| s.reset(snapshot)),
        TopicEvent::Message(envelope) => state.update(|s| s.apply(envelope)),
    });
    state.into()
}
