//! A run's closed trades by period — day, week, month or year — with how many there
//! were, how many won and what they made: "which months paid?" (the backtests page's
//! period breakdown). Plain data, no view.

use chrono::Datelike;
use protocol::Trade;

/// How trades are grouped.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
    Year,
}

/// One period's closed trades.
#[derive(Clone, Debug, PartialEq)]
pub struct PeriodRow {
    /// `2024-03-05`, `2024-W10` (ISO week), `2024-03` or `2024`.
    pub label: String,
    pub trades: u64,
    pub wins: u64,
    pub pnl: f64,
}

impl PeriodRow {
    /// Winning trades as a percentage of the period's.
    pub fn win_rate(&self) -> f64 {
        if self.trades == 0 {
            0.0
        } else {
            self.wins as f64 / self.trades as f64 * 100.0
        }
    }
}

/// The label of `trade`'s exit time's period.
fn label(trade: &Trade, period: Period) -> String {
    let t = trade.time.datetime();
    match period {
        Period::Day => format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day()),
        Period::Week => {
            let week = t.iso_week();
            format!("{:04}-W{:02}", week.year(), week.week())
        }
        Period::Month => format!("{:04}-{:02}", t.year(), t.month()),
        Period::Year => format!("{:04}", t.year()),
    }
}

/// The closed trades (exits, which carry the round trip's P&L) of `trades`, in time
/// order, grouped by `period`, oldest first.
pub fn breakdown(trades: &[Trade], period: Period) -> Vec<PeriodRow> {
    let mut rows: Vec<PeriodRow> = Vec::new();
    for trade in trades {
        let Some(pnl) = trade.pnl else {
            continue;
        };
        let label = label(trade, period);
        if rows.last().is_none_or(|row| row.label != label) {
            rows.push(PeriodRow {
                label,
                trades: 0,
                wins: 0,
                pnl: 0.0,
            });
        }
        if let Some(row) = rows.last_mut() {
            row.trades += 1;
            row.wins += u64::from(pnl > 0.0);
            row.pnl += pnl;
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Side, Timestamp, TradeAction};

    fn exit(day: i64, pnl: Option<f64>) -> Trade {
        Trade {
            id: 1,
            side: Side::Long,
            action: if pnl.is_some() {
                TradeAction::Exit
            } else {
                TradeAction::Entry
            },
            time: Timestamp::from_unix_ms(day * 86_400_000),
            price: 1.0,
            size: 1.0,
            pnl,
            return_pct: None,
            reason: String::new(),
        }
    }

    #[test]
    fn exits_are_summed_by_period_and_entries_left_out() {
        // Day 0 is 1970-01-01 (a Thursday), day 31 is 1970-02-01.
        let trades = [
            exit(0, None),
            exit(0, Some(10.0)),
            exit(1, Some(-4.0)),
            exit(31, Some(5.0)),
        ];
        let months = breakdown(&trades, Period::Month);
        assert_eq!(months.len(), 2);
        assert_eq!(months[0].label, "1970-01");
        assert_eq!(
            (months[0].trades, months[0].wins, months[0].pnl),
            (2, 1, 6.0)
        );
        assert_eq!(months[0].win_rate(), 50.0);
        assert_eq!(months[1].label, "1970-02");
        let days = breakdown(&trades, Period::Day);
        assert_eq!(
            days.iter().map(|d| d.label.as_str()).collect::<Vec<_>>(),
            ["1970-01-01", "1970-01-02", "1970-02-01"]
        );
        assert_eq!(breakdown(&trades, Period::Year).len(), 1);
        assert_eq!(breakdown(&trades, Period::Week)[0].label, "1970-W01");
    }
}
