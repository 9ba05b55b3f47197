//! An envelope's frame written from parts, byte for byte what serde writes for an
//! [`Envelope`]: the flattened message's `type` and `data`, then `topic`, `seq`, `epoch`
//! and `timestamp`.
//!
//! The messages published in one go share all but their message and seq, so the hub
//! serialises the shared fields once per batch ([`Shared`]) instead of once per
//! message; the Redis backend writes the message and topic here and lets its script
//! add seq and epoch.

use protocol::{Epoch, Message, Timestamp, Topic};

use super::hot_json;
use super::outbox::Frame;

/// `{"type":…,"data":…}` without its closing brace, appended to `out`.
pub fn write_message_open(out: &mut Vec<u8>, message: &Message) -> Result<(), serde_json::Error> {
    if !hot_json::write(out, message)? {
        serde_json::to_writer(&mut *out, message)?;
    }
    // A message is an object (`type` and `data`), so this is its closing brace.
    match out.pop() {
        Some(b'}') => Ok(()),
        _ => Err(serde::ser::Error::custom(
            "a message serialised to no object",
        )),
    }
}

/// `,"topic":…`, appended to `out`.
pub fn write_topic(out: &mut Vec<u8>, topic: &Topic) -> Result<(), serde_json::Error> {
    out.extend_from_slice(b",\"topic\":");
    serde_json::to_writer(out, topic)
}

/// `,"timestamp":…}`: the end of every envelope.
pub fn write_tail(out: &mut Vec<u8>, timestamp: &Timestamp) -> Result<(), serde_json::Error> {
    out.extend_from_slice(b",\"timestamp\":");
    serde_json::to_writer(&mut *out, timestamp)?;
    out.push(b'}');
    Ok(())
}

/// What the envelopes of one batch on one topic share, serialised once.
pub struct Shared {
    /// `,"topic":…,"seq":`
    before_seq: Vec<u8>,
    /// `,"epoch":…,"timestamp":…}`
    after_seq: Vec<u8>,
}

impl Shared {
    pub fn new(
        topic: &Topic,
        epoch: &Epoch,
        timestamp: &Timestamp,
    ) -> Result<Self, serde_json::Error> {
        let mut before_seq = Vec::with_capacity(64);
        write_topic(&mut before_seq, topic)?;
        before_seq.extend_from_slice(b",\"seq\":");
        let mut after_seq = Vec::with_capacity(96);
        after_seq.extend_from_slice(b",\"epoch\":");
        serde_json::to_writer(&mut after_seq, epoch)?;
        write_tail(&mut after_seq, timestamp)?;
        Ok(Shared {
            before_seq,
            after_seq,
        })
    }

    /// The frame of `message` as envelope `seq`, written in `scratch` (a buffer reused
    /// across the batch) and copied out at its own size.
    pub fn frame(
        &self,
        scratch: &mut Vec<u8>,
        seq: u64,
        message: &Message,
    ) -> Result<Frame, serde_json::Error> {
        scratch.clear();
        write_message_open(scratch, message)?;
        scratch.extend_from_slice(&self.before_seq);
        serde_json::to_writer(&mut *scratch, &seq)?;
        scratch.extend_from_slice(&self.after_seq);
        let text = std::str::from_utf8(scratch).map_err(serde::ser::Error::custom)?;
        Ok(Frame::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Envelope, LogLevel, LogLine, Progress};

    #[test]
    fn a_frame_from_parts_is_what_serde_writes_for_the_envelope() {
        let topic: Topic = "backtest:b1".parse().expect("a topic");
        let epoch = Epoch("01J\\Q".into());
        let timestamp = Timestamp::from_unix_ms(1_700_000_000_123);
        let shared = Shared::new(&topic, &epoch, &timestamp).expect("serialises");
        let messages = [
            Message::Log(LogLine {
                level: LogLevel::Info,
                message: "quotes \" and \\ and\nnew lines, é".into(),
                target: "t".into(),
                bar: Some(7),
            }),
            Message::Progress(Progress {
                pct: 50.0,
                bars_processed: 10,
                total_bars: 20,
                current_time: timestamp,
                trades: 1,
                equity: 10_000.5,
                pnl: -0.1,
                bars_per_sec: Some(1.5e6),
                eta_ms: None,
            }),
        ];
        let mut scratch = Vec::new();
        for (seq, message) in (1..).zip(messages) {
            let frame = shared
                .frame(&mut scratch, seq, &message)
                .expect("serialises");
            let envelope = Envelope {
                message,
                topic: topic.clone(),
                seq,
                epoch: epoch.clone(),
                timestamp,
                conflated: 0,
            };
            assert_eq!(frame.as_str(), serde_json::to_string(&envelope).unwrap());
        }
    }
}
