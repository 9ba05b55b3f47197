//! A run's trades and equity as CSV (`GET /api/backtests/{id}/trades.csv`,
//! `/equity.csv`, and the same for sessions), read from its whole record: every trade
//! and every equity point, not the capped lists of its snapshot.

use std::collections::BTreeMap;

use protocol::{Envelope, Message, PositionOpened, TopicKind};

use crate::hub::Frame;

/// What a CSV export lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Trades,
    Equity,
}

impl Table {
    /// Its file's name: `trades.csv` or `equity.csv`.
    pub fn file(self) -> &'static str {
        match self {
            Table::Trades => "trades.csv",
            Table::Equity => "equity.csv",
        }
    }
}

/// `table` of a `kind` run (backtest or session) from its recorded frames.
pub fn csv(kind: TopicKind, table: Table, frames: &[Frame]) -> Result<String, csv::Error> {
    let messages = frames.iter().filter_map(|frame| {
        let envelope: Envelope = serde_json::from_str(frame.as_str()).ok()?;
        Some(envelope)
    });
    let mut out = csv::Writer::from_writer(Vec::new());
    match (kind, table) {
        (TopicKind::Session, Table::Trades) => session_trades(&mut out, messages)?,
        (TopicKind::Session, Table::Equity) => session_equity(&mut out, messages)?,
        (_, Table::Trades) => backtest_trades(&mut out, messages)?,
        (_, Table::Equity) => backtest_equity(&mut out, messages)?,
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

type Out = csv::Writer<Vec<u8>>;

fn number(n: Option<f64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

fn backtest_trades(out: &mut Out, messages: impl Iterator<Item = Envelope>) -> csv::Result<()> {
    out.write_record([
        "id",
        "time",
        "side",
        "action",
        "price",
        "size",
        "pnl",
        "return_pct",
        "reason",
    ])?;
    for envelope in messages {
        if let Message::Trade(t) = envelope.message {
            let side: &'static str = t.side.into();
            let action: &'static str = t.action.into();
            out.write_record([
                t.id.to_string(),
                t.time.to_string(),
                side.to_owned(),
                action.to_owned(),
                t.price.to_string(),
                t.size.to_string(),
                number(t.pnl),
                number(t.return_pct),
                t.reason,
            ])?;
        }
    }
    Ok(())
}

fn backtest_equity(out: &mut Out, messages: impl Iterator<Item = Envelope>) -> csv::Result<()> {
    out.write_record(["time", "equity", "drawdown_pct"])?;
    for envelope in messages {
        if let Message::Equity(batch) = envelope.message {
            for point in batch.points {
                out.write_record([
                    point.0.to_string(),
                    point.1.to_string(),
                    point.2.to_string(),
                ])?;
            }
        }
    }
    Ok(())
}

/// A session's closed positions, each with how it opened.
fn session_trades(out: &mut Out, messages: impl Iterator<Item = Envelope>) -> csv::Result<()> {
    out.write_record([
        "position_id",
        "side",
        "qty",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "pnl",
        "return_pct",
        "reason",
    ])?;
    let mut open: BTreeMap<u64, PositionOpened> = BTreeMap::new();
    for envelope in messages {
        match envelope.message {
            Message::PositionOpened(p) => {
                open.insert(p.position_id, p);
            }
            Message::PositionClosed(c) => {
                let opened = open.remove(&c.position_id);
                let side: &'static str = opened.as_ref().map_or("", |o| o.side.into());
                out.write_record([
                    c.position_id.to_string(),
                    side.to_owned(),
                    number(opened.as_ref().map(|o| o.qty)),
                    opened
                        .as_ref()
                        .map(|o| o.time.to_string())
                        .unwrap_or_default(),
                    number(opened.as_ref().map(|o| o.entry_price)),
                    c.time.to_string(),
                    c.exit_price.to_string(),
                    c.pnl.to_string(),
                    c.return_pct.to_string(),
                    c.reason,
                ])?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// A session's account after each change, at the time it was published.
fn session_equity(out: &mut Out, messages: impl Iterator<Item = Envelope>) -> csv::Result<()> {
    out.write_record([
        "time",
        "equity",
        "cash",
        "realized_pnl",
        "unrealized_pnl",
        "return_pct",
    ])?;
    for envelope in messages {
        if let Message::StatsUpdate(s) = envelope.message {
            out.write_record([
                envelope.timestamp.to_string(),
                s.equity.to_string(),
                s.cash.to_string(),
                s.realized_pnl.to_string(),
                s.unrealized_pnl.to_string(),
                s.return_pct.to_string(),
            ])?;
        }
    }
    Ok(())
}
