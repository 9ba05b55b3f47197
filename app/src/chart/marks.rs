//! What a price chart draws over its candles: trade markers (an entry and an exit per
//! round trip, the exit linked to its entry) and indicator lines.

use std::collections::BTreeMap;

use protocol::indicators::{ema, rsi, sma};
use protocol::{OpenPosition, PositionClosed, Side, Timestamp, Trade, TradeAction};

/// One fill on the chart.
#[derive(Clone, Debug, PartialEq)]
pub struct TradeMark {
    /// The round trip's id, shared by its entry and its exit (a backtest's trade id, a
    /// session's position id): an exit is linked to the entry with its id.
    pub id: u64,
    pub side: Side,
    pub action: TradeAction,
    pub time: Timestamp,
    pub price: f64,
    /// Exits: the round trip's P&L and return.
    pub pnl: Option<f64>,
    pub return_pct: Option<f64>,
}

impl TradeMark {
    /// A buy on the chart: opening a long or closing a short.
    pub fn is_buy(&self) -> bool {
        (self.side == Side::Long) == (self.action == TradeAction::Entry)
    }
}

/// A backtest's fills (an entry and its exit share the trade's id).
pub fn of_trades(trades: &[Trade]) -> Vec<TradeMark> {
    trades
        .iter()
        .map(|t| TradeMark {
            id: t.id,
            side: t.side,
            action: t.action,
            time: t.time,
            price: t.price,
            pnl: t.pnl,
            return_pct: t.return_pct,
        })
        .collect()
}

/// A session's fills from its positions. A closed position kept before closes carried
/// their entry shows no marker.
pub fn of_positions(open: &[OpenPosition], closed: &[PositionClosed]) -> Vec<TradeMark> {
    let entry = |id: u64, side: Side, time: Timestamp, price: f64| TradeMark {
        id,
        side,
        action: TradeAction::Entry,
        time,
        price,
        pnl: None,
        return_pct: None,
    };
    let mut marks: Vec<TradeMark> = Vec::new();
    for c in closed {
        let (Some(side), Some(price), Some(time)) = (c.side, c.entry_price, c.entry_time) else {
            continue;
        };
        marks.push(entry(c.position_id, side, time, price));
        marks.push(TradeMark {
            id: c.position_id,
            side,
            action: TradeAction::Exit,
            time: c.time,
            price: c.exit_price,
            pnl: Some(c.pnl),
            return_pct: Some(c.return_pct),
        });
    }
    for p in open {
        let o = &p.opened;
        marks.push(entry(o.position_id, o.side, o.time, o.entry_price));
    }
    marks.sort_by_key(|m| (m.time, m.id, m.action == TradeAction::Exit));
    marks
}

/// How an indicator line is computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Formula {
    Sma(usize),
    Ema(usize),
    /// Drawn in a pane of its own, with its thresholds.
    Rsi {
        period: usize,
        lower: f64,
        upper: f64,
    },
}

/// A named line (`data-name` on the chart).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Indicator {
    pub name: &'static str,
    pub formula: Formula,
}

impl Indicator {
    /// Its value at every close (NaN before it has one): the same code the strategies
    /// and the market analysis run.
    pub fn values(&self, close: &[f64]) -> Vec<f64> {
        match self.formula {
            Formula::Sma(n) => sma(close, n),
            Formula::Ema(n) => ema(close, n),
            Formula::Rsi { period, .. } => rsi(close, period),
        }
    }

    pub fn is_oscillator(&self) -> bool {
        matches!(self.formula, Formula::Rsi { .. })
    }
}

/// The market analysis's lines (SMA 20, EMA 12), as `feed::analysis` computes them.
pub const MARKET_LINES: [Indicator; 2] = [
    Indicator {
        name: "sma_20",
        formula: Formula::Sma(20),
    },
    Indicator {
        name: "ema_12",
        formula: Formula::Ema(12),
    },
];

/// The lines a strategy trades on, with its parameters (defaults as the server fills
/// them): `sma_cross` its two SMAs, `rsi_reversion` its RSI and thresholds.
pub fn strategy_lines(strategy: &str, params: &BTreeMap<String, f64>) -> Vec<Indicator> {
    let whole = |name: &str, default: usize| {
        params
            .get(name)
            .filter(|v| v.is_finite() && **v >= 1.0)
            .map_or(default, |v| *v as usize)
    };
    let number = |name: &str, default: f64| params.get(name).copied().unwrap_or(default);
    match strategy {
        "sma_cross" => vec![
            Indicator {
                name: "sma_fast",
                formula: Formula::Sma(whole("fast", 10)),
            },
            Indicator {
                name: "sma_slow",
                formula: Formula::Sma(whole("slow", 20)),
            },
        ],
        "rsi_reversion" => vec![Indicator {
            name: "rsi",
            formula: Formula::Rsi {
                period: whole("period", 14),
                lower: number("lower", 30.0),
                upper: number("upper", 70.0),
            },
        }],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::PositionOpened;

    fn at(day: i64) -> Timestamp {
        Timestamp::from_unix_ms(day * 86_400_000)
    }

    fn trade(id: u64, side: Side, action: TradeAction, day: i64) -> Trade {
        Trade {
            id,
            side,
            action,
            time: at(day),
            price: 100.0 + day as f64,
            size: 1.0,
            pnl: (action == TradeAction::Exit).then_some(1.0),
            return_pct: None,
            reason: "signal".into(),
        }
    }

    #[test]
    fn a_long_buys_in_and_sells_out_a_short_the_reverse() {
        use Side::*;
        use TradeAction::*;
        let marks = of_trades(&[
            trade(1, Long, Entry, 1),
            trade(1, Long, Exit, 3),
            trade(2, Short, Entry, 3),
            trade(2, Short, Exit, 6),
        ]);
        let buys: Vec<bool> = marks.iter().map(TradeMark::is_buy).collect();
        assert_eq!(buys, [true, false, false, true]);
        assert_eq!(marks[1].pnl, Some(1.0));
    }

    #[test]
    fn a_sessions_positions_become_entries_and_linked_exits() {
        let opened = |id, day| PositionOpened {
            position_id: id,
            side: Side::Short,
            qty: 1.0,
            entry_price: 50.0,
            time: at(day),
        };
        let closed = PositionClosed {
            position_id: 1,
            exit_price: 45.0,
            pnl: 5.0,
            return_pct: 10.0,
            time: at(4),
            reason: "signal".into(),
            side: Some(Side::Short),
            entry_price: Some(50.0),
            entry_time: Some(at(2)),
        };
        let open = OpenPosition {
            opened: opened(2, 5),
            last_price: 49.0,
            unrealized_pnl: 1.0,
        };
        let marks = of_positions(&[open], &[closed]);
        let summary: Vec<(u64, TradeAction)> = marks.iter().map(|m| (m.id, m.action)).collect();
        assert_eq!(
            summary,
            [
                (1, TradeAction::Entry),
                (1, TradeAction::Exit),
                (2, TradeAction::Entry)
            ]
        );
    }

    #[test]
    fn strategies_draw_the_lines_they_trade_on() {
        let params: BTreeMap<String, f64> = [("fast".to_owned(), 5.0)].into_iter().collect();
        let lines = strategy_lines("sma_cross", &params);
        assert_eq!(lines[0].formula, Formula::Sma(5));
        assert_eq!(lines[1].formula, Formula::Sma(20), "the default slow");
        let rsi = strategy_lines("rsi_reversion", &BTreeMap::new());
        assert!(rsi[0].is_oscillator());
        assert!(strategy_lines("buy_and_hold", &BTreeMap::new()).is_empty());
        let close = [1.0, 2.0, 3.0];
        assert_eq!(MARKET_LINES[0].values(&close).len(), 3);
    }
}
