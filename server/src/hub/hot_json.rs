//! The messages a backtest publishes most — `trade` (every fill) and `equity` (a
//! thousand points a run) — written by hand, byte for byte what serde writes for them
//! (the tests compare the two): keys are literals instead of strings escaped on every
//! message, and each value is still written by `serde_json` (floats, numbers, the
//! escaped `reason`), so the two forms cannot drift apart in a value's spelling.
//!
//! Every other message goes through serde ([`write`] says whether it wrote).

use protocol::{EquityBatch, Message, Trade};
use serde::Serialize;

/// Writes `{"type":…,"data":{…}}` of `message` to `out` if it is one of the hot
/// messages; `Ok(false)` (nothing written) for any other.
pub fn write(out: &mut Vec<u8>, message: &Message) -> Result<bool, serde_json::Error> {
    match message {
        Message::Trade(trade) => write_trade(out, trade)?,
        Message::Equity(batch) => write_equity(out, batch)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// One value as `serde_json` writes it.
fn value(out: &mut Vec<u8>, value: &impl Serialize) -> Result<(), serde_json::Error> {
    value.serialize(&mut serde_json::Serializer::new(out))
}

fn write_trade(out: &mut Vec<u8>, t: &Trade) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"type":"trade","data":{"id":"#);
    value(out, &t.id)?;
    out.extend_from_slice(br#","side":""#);
    out.extend_from_slice(<&str>::from(t.side).as_bytes());
    out.extend_from_slice(br#"","action":""#);
    out.extend_from_slice(<&str>::from(t.action).as_bytes());
    out.extend_from_slice(br#"","time":"#);
    value(out, &t.time)?;
    out.extend_from_slice(br#","price":"#);
    value(out, &t.price)?;
    out.extend_from_slice(br#","size":"#);
    value(out, &t.size)?;
    if let Some(pnl) = t.pnl {
        out.extend_from_slice(br#","pnl":"#);
        value(out, &pnl)?;
    }
    if let Some(return_pct) = t.return_pct {
        out.extend_from_slice(br#","return_pct":"#);
        value(out, &return_pct)?;
    }
    out.extend_from_slice(br#","reason":"#);
    value(out, &t.reason)?;
    out.extend_from_slice(b"}}");
    Ok(())
}

fn write_equity(out: &mut Vec<u8>, batch: &EquityBatch) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"type":"equity","data":{"points":["#);
    for (i, point) in batch.points.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        value(out, &point.0)?;
        out.push(b',');
        value(out, &point.1)?;
        out.push(b',');
        value(out, &point.2)?;
        out.push(b']');
    }
    out.extend_from_slice(b"]}}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{EquityPoint, LogLevel, LogLine, Side, Timestamp, TradeAction};

    fn by_hand(message: &Message) -> Option<String> {
        let mut out = Vec::new();
        let wrote = write(&mut out, message).expect("writes");
        wrote.then(|| String::from_utf8(out).expect("UTF-8"))
    }

    const AWKWARD: [f64; 9] = [
        0.0,
        -0.0,
        1.0,
        1.1234567890123457,
        -12.5e-300,
        1e21,
        f64::MAX,
        f64::NAN,
        f64::NEG_INFINITY,
    ];

    #[test]
    fn a_trade_by_hand_is_what_serde_writes() {
        let reasons = [
            "opposite signal",
            "quotes \" \\ and\ncontrol \u{1}, é ✓",
            "",
        ];
        for (i, (&x, reason)) in AWKWARD.iter().zip(reasons.iter().cycle()).enumerate() {
            let trade = Trade {
                id: i as u64 * 1_000_003,
                side: if i % 2 == 0 { Side::Long } else { Side::Short },
                action: if i % 3 == 0 {
                    TradeAction::Entry
                } else {
                    TradeAction::Exit
                },
                time: Timestamp::from_unix_ms(1_700_000_000_123 * (i as i64 - 4)),
                price: x,
                size: -x,
                pnl: (i % 2 == 1).then_some(x * 3.0),
                return_pct: (i % 3 != 0).then_some(x / 7.0),
                reason: (*reason).into(),
            };
            let message = Message::Trade(trade);
            assert_eq!(
                by_hand(&message).as_deref(),
                Some(serde_json::to_string(&message).unwrap().as_str())
            );
        }
    }

    #[test]
    fn an_equity_batch_by_hand_is_what_serde_writes() {
        for n in [0, 1, 9] {
            let points = (0..n)
                .map(|i| {
                    EquityPoint(
                        Timestamp::from_unix_ms(i as i64 * 3_600_000),
                        AWKWARD[i],
                        AWKWARD[(i + 3) % AWKWARD.len()],
                    )
                })
                .collect();
            let message = Message::Equity(EquityBatch { points });
            assert_eq!(
                by_hand(&message).as_deref(),
                Some(serde_json::to_string(&message).unwrap().as_str())
            );
        }
    }

    #[test]
    fn other_messages_are_left_to_serde() {
        let log = Message::Log(LogLine {
            level: LogLevel::Info,
            message: "x".into(),
            target: "t".into(),
            bar: None,
        });
        assert_eq!(by_hand(&log), None);
    }
}
