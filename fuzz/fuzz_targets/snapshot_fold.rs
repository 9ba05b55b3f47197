//! Any sequence of messages (one JSON message per line) folded into every kind of
//! snapshot: no panic, and every list within its cap.
#![no_main]

use protocol::{
    Message, SnapshotData, TopicKind, SNAPSHOT_CANDLES, SNAPSHOT_POSITIONS, SNAPSHOT_RECENT,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let kinds = [TopicKind::Market, TopicKind::Backtest, TopicKind::Session, TopicKind::Trading];
    let mut states: Vec<SnapshotData> = kinds.iter().map(|k| SnapshotData::empty(*k)).collect();
    for line in data.split(|b| *b == b'\n') {
        let Ok(message) = serde_json::from_slice::<Message>(line) else {
            continue;
        };
        for state in &mut states {
            state.apply(&message);
        }
    }
    for state in &states {
        match state {
            SnapshotData::Market(m) => assert!(m.candles.len() <= SNAPSHOT_CANDLES),
            SnapshotData::Session(s) => {
                assert!(s.candles.len() <= SNAPSHOT_CANDLES);
                assert!(s.thinking.len() <= SNAPSHOT_RECENT);
                assert!(s.decisions.len() <= SNAPSHOT_RECENT);
                assert!(s.open_positions.len() <= SNAPSHOT_POSITIONS);
            }
            SnapshotData::Trading(t) => assert!(t.orders.len() <= SNAPSHOT_RECENT),
            SnapshotData::Backtest(b) => assert!(b.logs.len() <= SNAPSHOT_RECENT),
        }
    }
});
