//! Sample values for tests, shared by every crate's: one backtest topic, its envelopes
//! and its snapshots.

use crate::{
    Envelope, Epoch, LogLevel, LogLine, Message, Snapshot, SnapshotData, Timestamp, Topic,
    TopicKind,
};

/// `backtest:b1`.
pub fn topic() -> Topic {
    Topic::new(TopicKind::Backtest, "b1").expect("a valid topic")
}

/// A log message at `seq` in `epoch` on [`topic`].
pub fn envelope(seq: u64, epoch: &str) -> Envelope {
    Envelope {
        message: Message::Log(LogLine {
            level: LogLevel::Info,
            message: format!("m{seq}"),
            target: "t".into(),
            bar: None,
        }),
        topic: topic(),
        seq,
        epoch: Epoch(epoch.into()),
        timestamp: Timestamp::from_unix_ms(0),
    }
}

/// [`topic`]'s empty snapshot at `last_seq` in `epoch`.
pub fn snapshot(last_seq: u64, epoch: &str) -> Snapshot {
    Snapshot {
        topic: topic(),
        epoch: Epoch(epoch.into()),
        last_seq,
        data: SnapshotData::empty(TopicKind::Backtest),
    }
}
