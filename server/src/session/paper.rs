//! A paper-trading session's logic, free of I/O: closed candles in → reasoning and a
//! decision out (from a built-in strategy at once, or from an outside agent within the
//! bar); prints in → fills of the pending order (at the first print after the
//! decision, as in backtests), marks, P&L and risk out.
//! Sizing, fills and P&L are the backtest engine's own functions.

use protocol::{
    AgentDecision, Candle, Decision, DecisionAction, DecisionSource, Message, Order, OrderSide,
    OrderStatus, Pnl, Position, PositionClosed, PositionOpened, PositionUpdated, Risk,
    SessionStats, Side, Symbol, Thinking, Timestamp,
};

use serde::{Deserialize, Serialize};

use super::brain::Brain;
use crate::backtest::engine::{self, ExitReason};
use crate::backtest::strategy::{Signal, Strategy, LONG, NONE, SHORT};
use protocol::indicators::{rsi, sma};

/// The reasoning of a bar an outside agent let pass without a decision.
pub const NO_DECISION: &str = "No decision came from the agent within the bar: hold.";

/// Why an outside agent's message was not taken.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AgentRefusal {
    #[error("this session is not driven by an outside agent")]
    NotExternal,
    #[error("no bar is waiting for a decision: the next one is due when the next bar closes")]
    NothingToDecide,
}

/// Why an order placed by hand was not taken (the endpoint checked first; this is one
/// that lost a race with a fill).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ManualRefusal {
    #[error("no price yet: an order placed by hand fills at the next print")]
    NoPrice,
    #[error("an order is already waiting for the next print")]
    Pending,
    #[error("the position is {0} already")]
    Held(&'static str),
    #[error("there is no open position to close")]
    Flat,
}

/// The other side.
fn opposite(side: Side) -> Side {
    match side {
        Side::Long => Side::Short,
        Side::Short => Side::Long,
    }
}

/// Closes kept for the indicators.
const MAX_CLOSES: usize = 2_000;
/// Closes a session always has once warmed up that far (it trims a tenth at a time):
/// the longest indicator history its strategy may ask for.
pub const RETAINED_CLOSES: usize = MAX_CLOSES - MAX_CLOSES / 10;

/// What one step produced, per topic.
#[derive(Debug, Default, PartialEq)]
pub struct Outputs {
    /// For `session:{ID}`.
    pub session: Vec<Message>,
    /// For `trading:{SYMBOL}`.
    pub trading: Vec<Message>,
}

pub struct PaperSession {
    id: String,
    symbol: Symbol,
    brain: Brain,
    /// The bar an outside agent is to decide on (its open time and close).
    awaiting: Option<(Timestamp, f64)>,
    commission: f64,
    initial_cash: f64,
    cash: f64,
    closes: Vec<f64>,
    position: Option<engine::Position>,
    /// When the open position was opened.
    opened: Option<Timestamp>,
    /// Signal waiting for the next print, with the order id announced for it.
    pending: Option<(Signal, String)>,
    next_position_id: u64,
    next_order: u64,
    bars: usize,
    realized: f64,
    trades: u64,
    wins: u64,
    peak_equity: f64,
    last_price: Option<f64>,
}

/// What a session resumes from after its server stops (docs/STORE.md): its account,
/// position, pending order, counters and the bar its agent is to decide on. The brain
/// comes again from the request, and the closes from the market feed's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    awaiting: Option<(Timestamp, f64)>,
    commission: f64,
    initial_cash: f64,
    cash: f64,
    position: Option<engine::Position>,
    #[serde(default)]
    opened: Option<Timestamp>,
    pending: Option<(Signal, String)>,
    next_position_id: u64,
    next_order: u64,
    bars: usize,
    realized: f64,
    trades: u64,
    wins: u64,
    peak_equity: f64,
    last_price: Option<f64>,
}

impl PaperSession {
    /// What it resumes from.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            awaiting: self.awaiting,
            commission: self.commission,
            initial_cash: self.initial_cash,
            cash: self.cash,
            position: self.position.clone(),
            opened: self.opened,
            pending: self.pending.clone(),
            next_position_id: self.next_position_id,
            next_order: self.next_order,
            bars: self.bars,
            realized: self.realized,
            trades: self.trades,
            wins: self.wins,
            peak_equity: self.peak_equity,
            last_price: self.last_price,
        }
    }

    /// Session `id` as it stood at `checkpoint`, decided by `brain`.
    pub fn resume(id: String, symbol: Symbol, brain: Brain, checkpoint: Checkpoint) -> Self {
        let c = checkpoint;
        PaperSession {
            id,
            symbol,
            brain,
            awaiting: c.awaiting,
            commission: c.commission,
            initial_cash: c.initial_cash,
            cash: c.cash,
            closes: Vec::new(),
            position: c.position,
            opened: c.opened,
            pending: c.pending,
            next_position_id: c.next_position_id,
            next_order: c.next_order,
            bars: c.bars,
            realized: c.realized,
            trades: c.trades,
            wins: c.wins,
            peak_equity: c.peak_equity,
            last_price: c.last_price,
        }
    }

    pub fn new(id: String, symbol: Symbol, brain: Brain, cash: f64, commission: f64) -> Self {
        PaperSession {
            id,
            symbol,
            brain,
            awaiting: None,
            commission,
            initial_cash: cash,
            cash,
            closes: Vec::new(),
            position: None,
            opened: None,
            pending: None,
            next_position_id: 1,
            next_order: 1,
            bars: 0,
            realized: 0.0,
            trades: 0,
            wins: 0,
            peak_equity: cash,
            last_price: None,
        }
    }

    /// Closes seen before the session started: indicator history, no decisions.
    pub fn warm_up(&mut self, candles: &[Candle]) {
        // The feed's recent candles are the whole story: a later warm-up (after a
        // resync) replaces what the session had, rather than repeating it.
        self.closes.clear();
        for c in candles.iter().filter(|c| c.closed) {
            self.push_close(c.close);
        }
    }

    /// A closed candle of the feed's past that arrived live (a feed publishing its
    /// history after the session subscribed): indicator history, no decision.
    pub fn remember(&mut self, candle: &Candle) {
        self.push_close(candle.close);
    }

    fn push_close(&mut self, close: f64) {
        self.closes.push(close);
        if self.closes.len() > MAX_CLOSES {
            self.closes.drain(..MAX_CLOSES / 10);
        }
    }

    /// A price seen while paused: it marks the position, nothing fills.
    pub fn mark(&mut self, price: f64) {
        self.last_price = Some(price);
    }

    pub fn equity(&self) -> f64 {
        let price = self.last_price.unwrap_or(0.0);
        self.cash
            + self
                .position
                .as_ref()
                .map_or(0.0, |p| p.side.sign() * p.units * price)
    }

    fn unrealized(&self) -> f64 {
        match (&self.position, self.last_price) {
            (Some(p), Some(price)) => {
                p.marked_pnl(price) - self.commission * p.units * p.entry_price
            }
            _ => 0.0,
        }
    }

    /// A closed candle: a built-in strategy reasons about it and decides; an outside
    /// agent is given the bar to decide on (and a bar it let pass is a hold).
    pub fn on_closed_candle(&mut self, candle: &Candle) -> Outputs {
        let mut out = Outputs::default();
        if let Some((bar_time, price)) = self.awaiting.take() {
            tracing::info!(session = %self.id, bar = %bar_time, "{NO_DECISION}");
            self.decide(
                bar_time,
                price,
                NONE,
                NO_DECISION.to_owned(),
                None,
                &mut out,
            );
        }
        self.push_close(candle.close);
        self.bars += 1;
        self.last_price = Some(candle.close);
        let strategy = match &self.brain {
            Brain::External => {
                self.awaiting = Some((candle.open_time, candle.close));
                out.session.push(Message::StatsUpdate(self.stats()));
                return out;
            }
            Brain::Rules(strategy) => strategy.clone(),
        };
        let signal = match strategy {
            // Long from the session's first bar on, whatever the warm-up closes were.
            Strategy::BuyAndHold => LONG,
            _ => strategy.signals(&self.closes).last().copied().flatten(),
        };
        let held: Signal = self.position.as_ref().map(|p| p.side);
        let chunks = self.reasoning(&strategy, candle.close, signal, held);
        let bar_time = candle.open_time;
        out.session.extend(chunks.iter().map(|chunk| {
            Message::Thinking(Thinking {
                bar_time,
                chunk: chunk.clone(),
            })
        }));
        self.decide(
            bar_time,
            candle.close,
            signal,
            chunks.join(" "),
            None,
            &mut out,
        );
        // Equity marked at the close, once a bar (fills and stops send their own).
        out.session.push(Message::StatsUpdate(self.stats()));
        out
    }

    /// A chunk of an outside agent's reasoning about the bar it is to decide on.
    pub fn on_agent_thinking(&self, chunk: String) -> Result<Outputs, AgentRefusal> {
        let (bar_time, _) = self.awaited()?;
        Ok(Outputs {
            session: vec![Message::Thinking(Thinking { bar_time, chunk })],
            trading: Vec::new(),
        })
    }

    /// An outside agent's decision on the bar it was given: filled at the next print,
    /// like a built-in strategy's.
    pub fn on_agent_decision(&mut self, decision: AgentDecision) -> Result<Outputs, AgentRefusal> {
        let (bar_time, price) = self.awaited()?;
        self.awaiting = None;
        let signal = match decision.action {
            DecisionAction::Buy => LONG,
            DecisionAction::Sell => SHORT,
            DecisionAction::Hold | DecisionAction::Close => NONE,
        };
        let mut out = Outputs::default();
        self.decide(
            bar_time,
            price,
            signal,
            decision.reasoning,
            decision.confidence,
            &mut out,
        );
        Ok(out)
    }

    fn awaited(&self) -> Result<(Timestamp, f64), AgentRefusal> {
        match (&self.brain, self.awaiting) {
            (Brain::Rules(_), _) => Err(AgentRefusal::NotExternal),
            (Brain::External, None) => Err(AgentRefusal::NothingToDecide),
            (Brain::External, Some(bar)) => Ok(bar),
        }
    }

    /// Publishes the decision for a bar and submits its order, if it changes the
    /// position: a signal for the side already held changes nothing.
    fn decide(
        &mut self,
        bar_time: Timestamp,
        price: f64,
        signal: Signal,
        reasoning: String,
        confidence: Option<f64>,
        out: &mut Outputs,
    ) {
        let held: Signal = self.position.as_ref().map(|p| p.side);
        let act = signal.filter(|&side| held != Some(side));
        let action = match act {
            Some(Side::Long) => DecisionAction::Buy,
            Some(Side::Short) => DecisionAction::Sell,
            None => DecisionAction::Hold,
        };
        out.session.push(Message::Decision(Decision {
            bar_time,
            action,
            reasoning,
            price,
            confidence,
            source: None,
        }));
        if act.is_some() {
            self.submit(act, price, out);
        }
    }

    /// Submits the order that takes the position to `signal` (flat for none) at the
    /// next print.
    fn submit(&mut self, signal: Signal, price: f64, out: &mut Outputs) {
        let order_id = format!("{}-{}", self.id, self.next_order);
        self.next_order += 1;
        let (side, qty) = match (signal, &self.position) {
            (Some(side), _) => {
                let estimate = (self.equity() / (price * (1.0 + self.commission)))
                    .floor()
                    .max(1.0);
                (side, estimate)
            }
            (None, Some(p)) => (opposite(p.side), p.units),
            (None, None) => return,
        };
        out.trading
            .push(self.order(&order_id, side, qty, OrderStatus::Submitted, price));
        self.pending = Some((signal, order_id));
    }

    /// An order its user placed by hand (`buy`, `sell` or `close`, `by` their token's
    /// `sub`) during the bar that opened at `bar_time`: published as a decision with
    /// `source: manual`, filled at the next print like any other.
    pub fn on_manual(
        &mut self,
        action: DecisionAction,
        by: Option<&str>,
        bar_time: Timestamp,
    ) -> Result<Outputs, ManualRefusal> {
        let price = self.last_price.ok_or(ManualRefusal::NoPrice)?;
        if self.pending.is_some() {
            return Err(ManualRefusal::Pending);
        }
        let held = self.position.as_ref().map(|p| p.side);
        let signal = match action {
            DecisionAction::Buy => LONG,
            DecisionAction::Sell => SHORT,
            DecisionAction::Close | DecisionAction::Hold => NONE,
        };
        match (signal, held) {
            (NONE, NONE) => return Err(ManualRefusal::Flat),
            (Some(side), Some(h)) if side == h => return Err(ManualRefusal::Held(side.into())),
            _ => {}
        }
        let who = by.map_or(String::new(), |sub| format!(" by {sub}"));
        let what = match signal {
            LONG => "buy",
            SHORT => "sell short",
            NONE => "close the position",
        };
        let mut out = Outputs::default();
        out.session.push(Message::Decision(Decision {
            bar_time,
            action,
            reasoning: format!("Placed by hand{who}: {what} at the next print."),
            price,
            confidence: None,
            source: Some(DecisionSource::Manual),
        }));
        self.submit(signal, price, &mut out);
        Ok(out)
    }

    fn reasoning(
        &self,
        strategy: &Strategy,
        close: f64,
        signal: Signal,
        held: Signal,
    ) -> Vec<String> {
        let n = self.closes.len();
        let mut chunks = vec![format!("Bar {} closed at {close:.5}.", self.bars)];
        match *strategy {
            Strategy::SmaCross { fast, slow } => {
                if n > slow {
                    let (f, s) = (
                        sma(&self.closes[n - slow - 1..], fast),
                        sma(&self.closes[n - slow - 1..], slow),
                    );
                    let (pf, ps, cf, cs) = (f[slow - 1], s[slow - 1], f[slow], s[slow]);
                    chunks.push(format!("SMA {fast} is {cf:.5} against SMA {slow} at {cs:.5} (one bar ago {pf:.5} vs {ps:.5})."));
                } else {
                    chunks.push(format!(
                        "Waiting for {} closes to compare SMA {fast} with SMA {slow}.",
                        slow + 1
                    ));
                }
            }
            Strategy::RsiReversion {
                period,
                lower,
                upper,
            } => match rsi(&self.closes, period)
                .last()
                .copied()
                .filter(|r| !r.is_nan())
            {
                Some(r) => chunks.push(format!(
                    "RSI {period} is {r:.1} (buy under {lower}, sell over {upper})."
                )),
                None => chunks.push(format!(
                    "Waiting for {} closes to compute RSI {period}.",
                    period + 1
                )),
            },
            Strategy::BuyAndHold => {
                chunks.push("Buy and hold: long from the first bar, never sell.".into());
            }
        }
        chunks.push(match (signal, held) {
            (LONG, LONG) | (SHORT, SHORT) => {
                "The signal agrees with the position held: keep it.".into()
            }
            (LONG, _) => "Bullish signal: buy at the next print.".into(),
            (SHORT, _) => "Bearish signal: sell short at the next print.".into(),
            (_, NONE) => "No signal: stay flat.".into(),
            (_, Some(Side::Long)) => "No signal: keep the long position.".into(),
            (_, Some(Side::Short)) => "No signal: keep the short position.".into(),
        });
        chunks
    }

    fn order(&self, id: &str, side: Side, qty: f64, status: OrderStatus, price: f64) -> Message {
        Message::Order(Order {
            session_id: Some(self.id.clone()),
            id: id.to_owned(),
            symbol: self.symbol.clone(),
            side: match side {
                Side::Long => OrderSide::Buy,
                Side::Short => OrderSide::Sell,
            },
            qty,
            status,
            price,
        })
    }

    /// A print: fill the pending order at this price, then mark the position.
    pub fn on_price(&mut self, price: f64, time: Timestamp) -> Outputs {
        self.last_price = Some(price);
        let mut out = Outputs::default();
        if let Some((signal, order_id)) = self.pending.take() {
            let mut filled_qty = 0.0;
            // The side the fill trades: the new position's, or the closed one's opposite.
            let mut side = signal;
            if let Some(p) = self.position.take_if(|p| Some(p.side) != signal) {
                filled_qty += p.units;
                side = side.or(Some(opposite(p.side)));
                let reason = match signal {
                    Some(_) => "opposite signal",
                    None => "closed by hand",
                };
                self.close_position(p, price, time, reason, &mut out);
            }
            if let Some(signal) = signal {
                match engine::open(
                    &mut self.cash,
                    signal,
                    price,
                    self.commission,
                    self.next_position_id,
                    self.bars,
                ) {
                    Some(p) => {
                        filled_qty += p.units;
                        out.session.push(Message::PositionOpened(PositionOpened {
                            position_id: p.id,
                            side: p.side,
                            qty: p.units,
                            entry_price: price,
                            time,
                        }));
                        self.next_position_id += 1;
                        self.position = Some(p);
                        self.opened = Some(time);
                    }
                    None => out.session.push(Message::Error(protocol::ErrorInfo {
                        error: format!("{:.2} cash cannot buy one unit at {price}", self.cash),
                        details: None,
                    })),
                }
            }
            if let Some(side) = side {
                let (status, qty) = if filled_qty > 0.0 {
                    (OrderStatus::Filled, filled_qty)
                } else {
                    (OrderStatus::Cancelled, 1.0)
                };
                out.trading
                    .push(self.order(&order_id, side, qty, status, price));
            }
            self.account_updates(&mut out);
        } else if let Some(p) = &self.position {
            out.session.push(Message::PositionUpdated(PositionUpdated {
                position_id: p.id,
                price,
                unrealized_pnl: self.unrealized(),
            }));
        }
        out
    }

    fn close_position(
        &mut self,
        p: engine::Position,
        price: f64,
        time: Timestamp,
        reason: &str,
        out: &mut Outputs,
    ) {
        let (side, entry_price) = (p.side, p.entry_price);
        let trade = engine::close(
            p,
            &mut self.cash,
            self.bars,
            price,
            self.commission,
            ExitReason::Signal,
        );
        self.realized += trade.pnl;
        self.trades += 1;
        self.wins += u64::from(trade.pnl > 0.0);
        out.session.push(Message::PositionClosed(PositionClosed {
            position_id: trade.id,
            exit_price: price,
            pnl: trade.pnl,
            return_pct: trade.return_pct,
            time,
            reason: reason.to_owned(),
            side: Some(side),
            entry_price: Some(entry_price),
            entry_time: self.opened.take(),
        }));
    }

    /// Stats for the session; position, P&L and risk for the symbol.
    pub fn account_updates(&mut self, out: &mut Outputs) {
        let equity = self.equity();
        self.peak_equity = self.peak_equity.max(equity);
        let unrealized = self.unrealized();
        out.session.push(Message::StatsUpdate(self.stats()));
        let price = self.last_price.unwrap_or(0.0);
        let (qty, avg) = self
            .position
            .as_ref()
            .map_or((0.0, 0.0), |p| (p.side.sign() * p.units, p.entry_price));
        let session_id = Some(self.id.clone());
        out.trading.push(Message::Position(Position {
            session_id: session_id.clone(),
            symbol: self.symbol.clone(),
            qty,
            avg_price: avg,
            unrealized_pnl: unrealized,
            realized_pnl: self.realized,
        }));
        out.trading.push(Message::Pnl(Pnl {
            session_id: session_id.clone(),
            realized: self.realized,
            unrealized,
            total: self.realized + unrealized,
        }));
        let exposure = qty.abs() * price;
        out.trading.push(Message::Risk(Risk {
            session_id,
            exposure,
            leverage: if equity > 0.0 { exposure / equity } else { 0.0 },
            drawdown_pct: if self.peak_equity > 0.0 {
                ((1.0 - equity / self.peak_equity) * 100.0).clamp(0.0, 100.0)
            } else {
                0.0
            },
        }));
    }

    pub fn stats(&self) -> SessionStats {
        let equity = self.equity();
        SessionStats {
            equity,
            cash: self.cash,
            realized_pnl: self.realized,
            unrealized_pnl: self.unrealized(),
            return_pct: (equity / self.initial_cash - 1.0) * 100.0,
            trades: self.trades,
            win_rate: if self.trades == 0 {
                0.0
            } else {
                self.wins as f64 / self.trades as f64 * 100.0
            },
        }
    }

    /// Ends the session: closes what is open at the last price.
    pub fn stop(&mut self, time: Timestamp) -> Outputs {
        let mut out = Outputs::default();
        self.pending = None;
        if let (Some(p), Some(price)) = (self.position.take(), self.last_price) {
            self.close_position(p, price, time, "session stopped", &mut out);
            self.account_updates(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::DataSource;

    fn candle(i: i64, close: f64) -> Candle {
        Candle {
            symbol: Symbol::parse("X").unwrap(),
            interval: "1m".parse().unwrap(),
            open_time: Timestamp::from_unix_ms(i * 60_000),
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
            closed: true,
            source: DataSource::Synthetic,
        }
    }

    fn types(messages: &[Message]) -> Vec<&'static str> {
        messages.iter().map(Message::type_name).collect()
    }

    #[test]
    fn a_cross_is_reasoned_decided_and_filled_at_the_next_print() {
        let strategy = Strategy::SmaCross { fast: 1, slow: 2 };
        let mut s = PaperSession::new(
            "s1".into(),
            Symbol::parse("X").unwrap(),
            Brain::Rules(strategy),
            1000.0,
            0.0,
        );
        s.warm_up(&[candle(0, 10.0), candle(1, 9.0)]);
        // 9 → 12: the close (SMA 1) crosses above the mean of two.
        let out = s.on_closed_candle(&candle(2, 12.0));
        assert_eq!(
            types(&out.session),
            [
                "thinking",
                "thinking",
                "thinking",
                "decision",
                "stats_update"
            ]
        );
        let Message::Decision(d) = &out.session[3] else {
            panic!()
        };
        assert_eq!(d.action, DecisionAction::Buy);
        assert!(d.reasoning.contains("Bullish signal"), "{}", d.reasoning);
        assert!(matches!(&out.trading[0], Message::Order(o) if o.status == OrderStatus::Submitted));

        let t = Timestamp::from_unix_ms(180_000);
        let out = s.on_price(20.0, t);
        assert_eq!(types(&out.session), ["position_opened", "stats_update"]);
        assert_eq!(types(&out.trading), ["order", "position", "pnl", "risk"]);
        let Message::Order(o) = &out.trading[0] else {
            panic!()
        };
        assert_eq!(
            (o.status, o.qty, o.price),
            (OrderStatus::Filled, 50.0, 20.0)
        );

        let out = s.on_price(21.0, t);
        assert_eq!(types(&out.session), ["position_updated"]);
        assert_eq!(s.stats().equity, 1050.0);

        let out = s.stop(t);
        let Message::PositionClosed(c) = &out.session[0] else {
            panic!()
        };
        assert_eq!((c.pnl, c.reason.as_str()), (50.0, "session stopped"));
        assert_eq!((s.stats().trades, s.stats().win_rate), (1, 100.0));
    }

    #[test]
    fn buy_and_hold_buys_on_the_sessions_first_bar_after_a_warm_up_and_then_holds() {
        let mut s = PaperSession::new(
            "s3".into(),
            Symbol::parse("X").unwrap(),
            Brain::Rules(Strategy::BuyAndHold),
            1000.0,
            0.0,
        );
        s.warm_up(&[candle(0, 10.0), candle(1, 11.0), candle(2, 12.0)]);
        let out = s.on_closed_candle(&candle(3, 10.0));
        let Some(Message::Decision(d)) = out.session.iter().rev().nth(1) else {
            panic!()
        };
        assert_eq!(d.action, DecisionAction::Buy);
        let out = s.on_price(10.0, Timestamp::from_unix_ms(240_000));
        assert_eq!(types(&out.session), ["position_opened", "stats_update"]);
        let out = s.on_closed_candle(&candle(4, 9.0));
        let Some(Message::Decision(d)) = out.session.iter().rev().nth(1) else {
            panic!()
        };
        assert_eq!(d.action, DecisionAction::Hold);
        assert!(out.trading.is_empty());
    }

    #[test]
    fn no_signal_means_hold_and_no_order() {
        let mut s = PaperSession::new(
            "s2".into(),
            Symbol::parse("X").unwrap(),
            Brain::Rules(Strategy::SmaCross { fast: 2, slow: 3 }),
            1000.0,
            0.0,
        );
        let out = s.on_closed_candle(&candle(0, 10.0));
        let Some(Message::Decision(d)) = out.session.iter().rev().nth(1) else {
            panic!()
        };
        assert_eq!(d.action, DecisionAction::Hold);
        assert!(
            d.reasoning.contains("Waiting for 4 closes"),
            "{}",
            d.reasoning
        );
        assert!(out.trading.is_empty());
        assert!(s
            .on_price(10.0, Timestamp::from_unix_ms(0))
            .session
            .is_empty());
    }

    #[test]
    fn an_agent_decides_on_the_last_closed_bar_and_a_bar_it_lets_pass_is_a_hold() {
        let mut s = PaperSession::new(
            "s4".into(),
            Symbol::parse("X").unwrap(),
            Brain::External,
            1000.0,
            0.0,
        );
        assert_eq!(
            s.on_agent_thinking("too early".into()),
            Err(AgentRefusal::NothingToDecide)
        );
        let out = s.on_closed_candle(&candle(0, 10.0));
        assert_eq!(
            types(&out.session),
            ["stats_update"],
            "the agent decides, not the server"
        );
        let out = s.on_agent_thinking("Looks cheap.".into()).unwrap();
        assert!(
            matches!(&out.session[..], [Message::Thinking(t)] if t.bar_time == candle(0, 10.0).open_time)
        );
        let decision = AgentDecision {
            action: DecisionAction::Buy,
            reasoning: "Looks cheap: buy.".into(),
            confidence: Some(0.8),
        };
        let out = s.on_agent_decision(decision.clone()).unwrap();
        let [Message::Decision(d)] = &out.session[..] else {
            panic!("{out:?}")
        };
        assert_eq!(
            (d.action, d.price, d.confidence, d.reasoning.as_str()),
            (DecisionAction::Buy, 10.0, Some(0.8), "Looks cheap: buy.")
        );
        assert_eq!(
            s.on_agent_decision(decision),
            Err(AgentRefusal::NothingToDecide),
            "one decision per bar"
        );
        let out = s.on_price(11.0, Timestamp::from_unix_ms(60_000));
        assert_eq!(types(&out.session), ["position_opened", "stats_update"]);

        s.on_closed_candle(&candle(1, 12.0));
        let out = s.on_closed_candle(&candle(2, 13.0));
        let Message::Decision(d) = &out.session[0] else {
            panic!("{out:?}")
        };
        assert_eq!(
            (d.action, d.bar_time, d.reasoning.as_str()),
            (DecisionAction::Hold, candle(1, 12.0).open_time, NO_DECISION)
        );
        assert!(out.trading.is_empty(), "a hold keeps the long position");
    }

    #[test]
    fn a_built_in_strategy_takes_no_agent_messages() {
        let mut s = PaperSession::new(
            "s5".into(),
            Symbol::parse("X").unwrap(),
            Brain::Rules(Strategy::BuyAndHold),
            1000.0,
            0.0,
        );
        s.on_closed_candle(&candle(0, 10.0));
        assert_eq!(
            s.on_agent_thinking("hm".into()),
            Err(AgentRefusal::NotExternal)
        );
    }
}
