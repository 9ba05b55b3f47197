//! A run's trades as its table shows them: filtered by side, outcome and date range,
//! sorted by any column, a page at a time, and written as CSV for what is shown.
//! Plain data, no view.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use protocol::{Side, Trade, TradeAction};

/// Rows a page of the trades table holds.
pub const PAGE: usize = 50;

/// Whether a round trip made or lost money (an entry counts as its exit does; an entry
/// still open has no outcome yet).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    Win,
    Loss,
    Open,
}

/// A column of the table.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Column {
    Id,
    Time,
    Side,
    Action,
    Price,
    Size,
    Pnl,
    Reason,
}

impl Column {
    pub fn header(self) -> &'static str {
        match self {
            Column::Id => "#",
            Column::Time => "Time",
            Column::Side => "Side",
            Column::Action => "Action",
            Column::Price => "Price",
            Column::Size => "Size",
            Column::Pnl => "P&L",
            Column::Reason => "Reason",
        }
    }
}

/// What the viewer asked of the table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TradeQuery {
    pub side: Option<Side>,
    pub outcome: Option<Outcome>,
    /// First and last day shown (UTC), inclusive.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub sort: Column,
    pub descending: bool,
}

impl Default for TradeQuery {
    /// Every trade, the most recent first.
    fn default() -> Self {
        TradeQuery {
            side: None,
            outcome: None,
            from: None,
            to: None,
            sort: Column::Id,
            descending: true,
        }
    }
}

impl TradeQuery {
    /// Sorts by `column`; the same column again turns the order round.
    pub fn sort_by(&mut self, column: Column) {
        if self.sort == column {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            self.descending = false;
        }
    }

    /// The indices of `trades` shown, in order.
    pub fn apply(&self, trades: &[Trade]) -> Vec<usize> {
        let outcomes = outcomes(trades);
        let day = |t: &Trade| t.time.datetime().date_naive();
        let mut rows: Vec<usize> = (0..trades.len())
            .filter(|&i| {
                let t = &trades[i];
                self.side.is_none_or(|s| t.side == s)
                    && self.outcome.is_none_or(|o| outcomes.get(&t.id) == Some(&o))
                    && self.from.is_none_or(|d| day(t) >= d)
                    && self.to.is_none_or(|d| day(t) <= d)
            })
            .collect();
        let column = self.sort;
        rows.sort_by(|&i, &j| {
            let (a, b) = (&trades[i], &trades[j]);
            let order = match column {
                Column::Id => a.id.cmp(&b.id),
                Column::Time => a.time.cmp(&b.time),
                Column::Side => side_name(a.side).cmp(side_name(b.side)),
                Column::Action => action_name(a.action).cmp(action_name(b.action)),
                Column::Price => a.price.total_cmp(&b.price),
                Column::Size => a.size.total_cmp(&b.size),
                // Entries (no P&L) after every exit, whichever the order.
                Column::Pnl => match (a.pnl, b.pnl) {
                    (Some(x), Some(y)) => x.total_cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                },
                Column::Reason => a.reason.cmp(&b.reason),
            }
            .then(i.cmp(&j));
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
        rows
    }
}

fn side_name(s: Side) -> &'static str {
    s.into()
}

fn action_name(a: TradeAction) -> &'static str {
    a.into()
}

/// Each round trip's outcome, by trade id (an entry and its exit share it).
fn outcomes(trades: &[Trade]) -> BTreeMap<u64, Outcome> {
    let mut out = BTreeMap::new();
    for t in trades {
        let outcome = match (t.action, t.pnl) {
            (TradeAction::Exit, Some(pnl)) if pnl > 0.0 => Outcome::Win,
            (TradeAction::Exit, _) => Outcome::Loss,
            (TradeAction::Entry, _) => Outcome::Open,
        };
        if outcome != Outcome::Open || !out.contains_key(&t.id) {
            out.insert(t.id, outcome);
        }
    }
    out
}

/// The pages `rows` fill (at least one).
pub fn pages(rows: usize) -> usize {
    rows.div_ceil(PAGE).max(1)
}

/// `rows` of `trades` as CSV, with a header: the columns the table shows, numbers as
/// the wire has them.
pub fn csv(trades: &[Trade], rows: &[usize]) -> String {
    let mut out = String::from("id,time,side,action,price,size,pnl,return_pct,reason\n");
    for &i in rows {
        let t = &trades[i];
        let optional = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            t.id,
            t.time,
            side_name(t.side),
            action_name(t.action),
            t.price,
            t.size,
            optional(t.pnl),
            optional(t.return_pct),
            quoted(&t.reason)
        ));
    }
    out
}

/// A CSV field, quoted when it must be (RFC 4180).
fn quoted(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Timestamp;

    fn trade(
        id: u64,
        side: Side,
        action: TradeAction,
        day: i64,
        price: f64,
        pnl: Option<f64>,
    ) -> Trade {
        Trade {
            id,
            side,
            action,
            time: Timestamp::from_unix_ms(day * 86_400_000),
            price,
            size: 1.0,
            pnl,
            return_pct: pnl,
            reason: "signal".into(),
        }
    }

    /// Round trip 1 (long) wins, 2 (short) loses, 3 (long) is open.
    fn trades() -> Vec<Trade> {
        use Side::*;
        use TradeAction::*;
        let mut t = vec![
            trade(1, Long, Entry, 0, 99.0, None),
            trade(1, Long, Exit, 2, 98.0, Some(5.0)),
            trade(2, Short, Entry, 2, 97.0, None),
            trade(2, Short, Exit, 9, 96.0, Some(-2.0)),
            trade(3, Long, Entry, 9, 95.0, None),
        ];
        t[3].reason = "stop, \"hard\"".into();
        t
    }

    #[test]
    fn filters_by_side_outcome_and_days_combine() {
        let t = trades();
        let all = TradeQuery::default();
        assert_eq!(all.apply(&t), [4, 3, 2, 1, 0], "newest first");
        let wins = TradeQuery {
            outcome: Some(Outcome::Win),
            ..all
        };
        assert_eq!(wins.apply(&t), [1, 0], "the winning round trip, both ends");
        let open = TradeQuery {
            outcome: Some(Outcome::Open),
            ..all
        };
        assert_eq!(open.apply(&t), [4]);
        let shorts_on_day_2 = TradeQuery {
            side: Some(Side::Short),
            from: NaiveDate::from_ymd_opt(1970, 1, 3),
            to: NaiveDate::from_ymd_opt(1970, 1, 3),
            ..all
        };
        assert_eq!(shorts_on_day_2.apply(&t), [2]);
    }

    #[test]
    fn any_column_sorts_and_a_second_click_reverses() {
        let t = trades();
        let mut q = TradeQuery::default();
        q.sort_by(Column::Pnl);
        assert_eq!(q.apply(&t), [3, 1, 0, 2, 4], "losses first, entries last");
        q.sort_by(Column::Pnl);
        assert_eq!(q.apply(&t)[..2], [4, 2]);
        q.sort_by(Column::Price);
        assert_eq!(q.apply(&t), [4, 3, 2, 1, 0]);
        q.sort_by(Column::Side);
        assert_eq!(q.apply(&t), [0, 1, 4, 2, 3]);
        assert_eq!(pages(0), 1);
        assert_eq!(pages(5_001), 101);
    }

    #[test]
    fn csv_writes_the_rows_shown_with_quoted_text() {
        let t = trades();
        let text = csv(&t, &[3, 0]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "id,time,side,action,price,size,pnl,return_pct,reason"
        );
        assert_eq!(
            lines[1],
            "2,1970-01-10T00:00:00.000Z,short,exit,96,1,-2,-2,\"stop, \"\"hard\"\"\""
        );
        assert_eq!(
            lines[2],
            "1,1970-01-01T00:00:00.000Z,long,entry,99,1,,,signal"
        );
    }
}
