//! The backtest engine (docs/SPEC.md section 10): market orders fill at the next bar's open,
//! whole units sized to the available cash net of commission, long and short, reversal
//! on an opposite signal, the last position closed at the last close. Metrics are
//! accumulated in the same pass. An [`Observer`] sees every bar and trade; with
//! [`Silent`] the loop compiles to nothing but the arithmetic.

use protocol::validate::{positive, within, FieldError};
use protocol::{Metrics, Side};

use super::data::Bars;
use super::strategy::{Signal, Strategy};

/// Money settings of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Account {
    pub cash: f64,
    /// Fraction of traded notional charged on entry and on exit.
    pub commission: f64,
}

impl Default for Account {
    fn default() -> Self {
        Account {
            cash: 10_000.0,
            commission: 0.0,
        }
    }
}

impl Account {
    /// The largest starting cash a run accepts: far above any real account, and far
    /// enough below `f64::MAX` that no position's notional can overflow.
    pub const MAX_CASH: f64 = 1e12;
    /// The largest commission: half the notional on each side (0.002 is 0.2 %).
    pub const MAX_COMMISSION: f64 = 0.5;

    /// The account a request asks for (defaults: 10,000 cash, no commission).
    pub fn from_request(cash: Option<f64>, commission: Option<f64>) -> Result<Account, FieldError> {
        let default = Account::default();
        let cash = cash.unwrap_or(default.cash);
        positive("cash", cash)?;
        within("cash", cash, 0.0, Self::MAX_CASH)?;
        let commission = commission.unwrap_or(default.commission);
        within("commission", commission, 0.0, Self::MAX_COMMISSION)?;
        Ok(Account { cash, commission })
    }
}

/// A closed round trip.
#[derive(Clone, Debug, PartialEq)]
pub struct Trade {
    pub id: u64,
    pub side: Side,
    pub units: f64,
    pub entry_bar: usize,
    pub entry_price: f64,
    pub exit_bar: usize,
    pub exit_price: f64,
    /// Net of both commissions.
    pub pnl: f64,
    pub return_pct: f64,
    pub exit_reason: ExitReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// An opposite signal closed it (and opened the reverse).
    Signal,
    /// Still open after the last bar: closed at the last close.
    EndOfData,
    /// Equity at a close fell to zero or below: closed at that close, run over.
    Blown,
}

/// A fill the observer is told about as it happens.
#[derive(Clone, Debug, PartialEq)]
pub enum Event<'a> {
    Entry {
        id: u64,
        side: Side,
        units: f64,
        bar: usize,
        price: f64,
    },
    Exit(&'a Trade),
    /// A signal could not be acted on: not even one unit is affordable.
    Unaffordable {
        bar: usize,
        price: f64,
        cash: f64,
    },
    /// Equity at bar `bar`'s close was `equity` ≤ 0: the account is blown and the run
    /// ends there, with equity floored at 0.
    Blown {
        bar: usize,
        equity: f64,
    },
}

/// What the observer wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Hand the run back after this bar: [`RunState::advance`] returns, and a later call
    /// goes on from the next bar (on any thread).
    Pause,
    Stop,
}

/// Sees the run as it goes.
pub trait Observer {
    /// After bar `i` is marked to market.
    fn bar(&mut self, i: usize, equity: f64, drawdown_pct: f64, trades: u64) -> Flow;
    fn event(&mut self, event: Event<'_>);
}

/// Observes nothing.
pub struct Silent;

impl Observer for Silent {
    #[inline(always)]
    fn bar(&mut self, _: usize, _: f64, _: f64, _: u64) -> Flow {
        Flow::Continue
    }
    #[inline(always)]
    fn event(&mut self, _: Event<'_>) {}
}

/// What a finished (or stopped) run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub trades: Vec<Trade>,
    pub final_equity: f64,
    pub metrics: Metrics,
    /// Bars processed (all of them unless the observer stopped the run or the account
    /// was blown).
    pub bars: usize,
    pub stopped: bool,
    /// Equity fell to zero or below at bar `bars - 1`'s close.
    pub blown: bool,
}

/// An open position.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub id: u64,
    pub side: Side,
    pub units: f64,
    pub entry_bar: usize,
    pub entry_price: f64,
}

impl Position {
    /// Signed units times `price` minus the entry: the position's open P&L before the
    /// exit commission.
    pub fn marked_pnl(&self, price: f64) -> f64 {
        self.side.sign() * self.units * (price - self.entry_price)
    }
}

/// Opens `side` at `price` with the largest whole number of units whose cost plus
/// commission `cash` covers, moving the cash; `None` when not even one unit fits.
pub fn open(
    cash: &mut f64,
    side: Side,
    price: f64,
    c: f64,
    id: u64,
    bar: usize,
) -> Option<Position> {
    let units = (*cash / (price * (1.0 + c))).floor();
    if units < 1.0 {
        return None;
    }
    *cash += if side == Side::Long {
        -units * price * (1.0 + c)
    } else {
        units * price * (1.0 - c)
    };
    Some(Position {
        id,
        side,
        units,
        entry_bar: bar,
        entry_price: price,
    })
}

/// A run nothing watches (`tickwire backtest` in-process, the engine benchmark): the
/// engine's loop compiled in this crate, so that a caller in another crate (the
/// benchmark) runs the same machine code as the product.
pub fn run_silent(bars: &Bars, strategy: &Strategy, account: Account) -> Outcome {
    run(bars, strategy, account, &mut Silent)
}

/// Runs `strategy` over `bars`.
pub fn run<O: Observer>(
    bars: &Bars,
    strategy: &Strategy,
    account: Account,
    observer: &mut O,
) -> Outcome {
    run_signals(bars, &strategy.signals(&bars.close), account, observer)
}

/// Runs precomputed signals (one per bar) over `bars`; an observer's pause is resumed at
/// once (a caller that waits between pauses drives a [`RunState`] itself).
pub fn run_signals<O: Observer>(
    bars: &Bars,
    signals: &[Signal],
    account: Account,
    observer: &mut O,
) -> Outcome {
    let mut run = RunState::new(account);
    while !run.advance(bars, signals, observer) {}
    run.finish(bars, observer)
}

/// A run between two bars: everything the loop carries from one bar to the next, owned,
/// so a paused run is data, not a waiting thread.
pub struct RunState {
    commission: f64,
    cash: f64,
    position: Option<Position>,
    trades: Vec<Trade>,
    next_id: u64,
    pending: Signal,
    stats: RunningStats,
    /// The next bar to process (= bars processed).
    next: usize,
    stopped: bool,
    blown: bool,
}

impl RunState {
    pub fn new(account: Account) -> Self {
        RunState {
            commission: account.commission,
            cash: account.cash,
            position: None,
            trades: Vec::new(),
            next_id: 1,
            pending: None,
            stats: RunningStats::new(account.cash),
            next: 0,
            stopped: false,
            blown: false,
        }
    }

    /// Processes bars from the next one until the data ends, the account is blown, the
    /// observer stops the run (true: finished) or asks to pause (false).
    pub fn advance<O: Observer>(
        &mut self,
        bars: &Bars,
        signals: &[Signal],
        observer: &mut O,
    ) -> bool {
        if self.stopped {
            return true;
        }
        // The loop works on locals (registers), written back when it hands over.
        let c = self.commission;
        let mut cash = self.cash;
        let mut position = self.position.take();
        let mut next_id = self.next_id;
        let mut pending = self.pending.take();
        let mut trades = std::mem::take(&mut self.trades);
        let mut stats = self.stats;
        let mut blown = false;
        let mut processed = self.next;
        let mut finished = true;

        #[allow(
            clippy::needless_range_loop,
            reason = "`i` indexes five parallel columns and the signals"
        )]
        for i in self.next..bars.len() {
            if let Some(side) = pending.take() {
                let price = bars.open[i];
                if let Some(p) = position.take_if(|p| p.side != side) {
                    let trade = close(p, &mut cash, i, price, c, ExitReason::Signal);
                    observer.event(Event::Exit(&trade));
                    trades.push(trade);
                }
                if position.is_none() {
                    match open(&mut cash, side, price, c, next_id, i) {
                        Some(p) => {
                            observer.event(Event::Entry {
                                id: p.id,
                                side: p.side,
                                units: p.units,
                                bar: i,
                                price,
                            });
                            position = Some(p);
                            next_id += 1;
                        }
                        None => observer.event(Event::Unaffordable {
                            bar: i,
                            price,
                            cash,
                        }),
                    }
                }
            }
            let held = position.as_ref().map_or(0.0, |p| p.side.sign() * p.units);
            let mut equity = cash + held * bars.close[i];
            processed = i + 1;
            if equity <= 0.0 {
                observer.event(Event::Blown { bar: i, equity });
                if let Some(p) = position.take() {
                    let trade = close(p, &mut cash, i, bars.close[i], c, ExitReason::Blown);
                    observer.event(Event::Exit(&trade));
                    trades.push(trade);
                }
                cash = cash.max(0.0);
                equity = 0.0;
                blown = true;
            }
            let drawdown = stats.mark(equity, held != 0.0);
            if blown {
                observer.bar(i, equity, drawdown, trades.len() as u64);
                break;
            }
            if let Some(side) = signals[i] {
                if position.as_ref().is_none_or(|p| p.side != side) {
                    pending = Some(side);
                }
            }
            match observer.bar(i, equity, drawdown, trades.len() as u64) {
                Flow::Continue => {}
                Flow::Stop => {
                    self.stopped = true;
                    break;
                }
                Flow::Pause => {
                    finished = processed == bars.len();
                    break;
                }
            }
        }
        self.cash = cash;
        self.trades = trades;
        self.stats = stats;
        self.blown = blown;
        self.position = position;
        self.next_id = next_id;
        self.pending = pending;
        self.next = processed;
        finished
    }

    /// Stops the run where it stands (a paused run cancelled): the next
    /// [`RunState::advance`] processes no bar and reports it finished.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// The outcome of a finished run: a position still open is closed at the last close.
    pub fn finish<O: Observer>(mut self, bars: &Bars, observer: &mut O) -> Outcome {
        let processed = self.next;
        if let Some(p) = self.position.take() {
            let last = processed - 1;
            let trade = close(
                p,
                &mut self.cash,
                last,
                bars.close[last],
                self.commission,
                ExitReason::EndOfData,
            );
            observer.event(Event::Exit(&trade));
            self.trades.push(trade);
        }
        let span_years = match processed {
            0 | 1 => 0.0,
            n => (bars.time[n - 1] - bars.time[0]) as f64 / (365.25 * 86_400_000.0),
        };
        let metrics = self
            .stats
            .finish(self.cash, &self.trades, processed, span_years);
        Outcome {
            trades: self.trades,
            final_equity: self.cash,
            metrics,
            bars: processed,
            stopped: self.stopped,
            blown: self.blown,
        }
    }
}

/// Closes `p` at `price`, moving the cash; the trade's P&L is net of both commissions.
pub fn close(
    p: Position,
    cash: &mut f64,
    bar: usize,
    price: f64,
    c: f64,
    reason: ExitReason,
) -> Trade {
    let units = p.units;
    if p.side == Side::Long {
        *cash += units * price * (1.0 - c);
    } else {
        *cash -= units * price * (1.0 + c);
    }
    let gross = p.marked_pnl(price);
    let pnl = gross - c * units * (p.entry_price + price);
    Trade {
        id: p.id,
        side: p.side,
        units,
        entry_bar: p.entry_bar,
        entry_price: p.entry_price,
        exit_bar: bar,
        exit_price: price,
        pnl,
        return_pct: pnl / (units * p.entry_price) * 100.0,
        exit_reason: reason,
    }
}

/// Drawdown, exposure and return moments, accumulated bar by bar.
#[derive(Clone, Copy)]
struct RunningStats {
    initial: f64,
    peak: f64,
    max_drawdown: f64,
    prev_equity: f64,
    exposed_bars: u64,
    // Welford over per-bar returns, plus the downside second moment.
    n: u64,
    mean: f64,
    m2: f64,
    downside_sq: f64,
}

impl RunningStats {
    fn new(cash: f64) -> Self {
        RunningStats {
            initial: cash,
            peak: cash,
            max_drawdown: 0.0,
            prev_equity: cash,
            exposed_bars: 0,
            n: 0,
            mean: 0.0,
            m2: 0.0,
            downside_sq: 0.0,
        }
    }

    /// Folds in one bar's equity; returns its drawdown in percent.
    #[inline(always)]
    fn mark(&mut self, equity: f64, exposed: bool) -> f64 {
        self.peak = self.peak.max(equity);
        let drawdown = if self.peak > 0.0 {
            (1.0 - equity / self.peak) * 100.0
        } else {
            0.0
        };
        self.max_drawdown = self.max_drawdown.max(drawdown);
        self.exposed_bars += u64::from(exposed);
        let r = if self.prev_equity != 0.0 {
            equity / self.prev_equity - 1.0
        } else {
            0.0
        };
        self.prev_equity = equity;
        self.n += 1;
        let delta = r - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (r - self.mean);
        self.downside_sq += r.min(0.0) * r.min(0.0);
        drawdown
    }

    fn finish(self, final_equity: f64, trades: &[Trade], bars: usize, span_years: f64) -> Metrics {
        let periods_per_year = if span_years > 0.0 {
            (bars.saturating_sub(1)) as f64 / span_years
        } else {
            0.0
        };
        let std = if self.n > 1 {
            (self.m2 / (self.n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let downside = if self.n > 0 {
            (self.downside_sq / self.n as f64).sqrt()
        } else {
            0.0
        };
        let annualise = periods_per_year.sqrt();
        let ratio = |risk: f64| {
            if risk > 0.0 {
                self.mean / risk * annualise
            } else {
                0.0
            }
        };
        let wins = trades.iter().filter(|t| t.pnl > 0.0).count();
        // Folded from +0.0: an empty f64 `sum()` is -0.0, which would print as "-0".
        let gross_profit = trades
            .iter()
            .filter(|t| t.pnl > 0.0)
            .fold(0.0, |sum, t| sum + t.pnl);
        let gross_loss = trades
            .iter()
            .filter(|t| t.pnl < 0.0)
            .fold(0.0, |sum, t| sum - t.pnl);
        Metrics {
            return_pct: (final_equity / self.initial - 1.0) * 100.0,
            sharpe: ratio(std),
            sortino: ratio(downside),
            max_drawdown_pct: self.max_drawdown.clamp(0.0, 100.0),
            win_rate: if trades.is_empty() {
                0.0
            } else {
                wins as f64 / trades.len() as f64 * 100.0
            },
            profit_factor: (gross_loss > 0.0).then(|| gross_profit / gross_loss),
            trades: trades.len() as u64,
            exposure_pct: if bars > 0 {
                self.exposed_bars as f64 / bars as f64 * 100.0
            } else {
                0.0
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::strategy::{LONG, NONE, SHORT};

    /// Bars from (open, close) pairs, one day apart; high/low bracket them.
    fn bars(oc: &[(f64, f64)]) -> Bars {
        let mut b = Bars::default();
        for (i, &(o, c)) in oc.iter().enumerate() {
            b.time.push(i as i64 * 86_400_000);
            b.open.push(o);
            b.close.push(c);
            b.high.push(o.max(c));
            b.low.push(o.min(c));
            b.volume.push(1.0);
        }
        b
    }

    #[derive(Default)]
    struct Recorder {
        equity: Vec<f64>,
        events: Vec<String>,
    }

    impl Observer for Recorder {
        fn bar(&mut self, _: usize, equity: f64, _: f64, _: u64) -> Flow {
            self.equity.push(equity);
            Flow::Continue
        }
        fn event(&mut self, event: Event<'_>) {
            self.events.push(match event {
                Event::Entry {
                    side,
                    units,
                    bar,
                    price,
                    ..
                } => format!("entry {} {units}@{price} bar {bar}", side.sign()),
                Event::Exit(t) => {
                    format!("exit {}@{} bar {}", t.side.sign(), t.exit_price, t.exit_bar)
                }
                Event::Unaffordable { bar, .. } => format!("unaffordable bar {bar}"),
                Event::Blown { bar, .. } => format!("blown bar {bar}"),
            });
        }
    }

    /// Runs `signals` over `b` with a [`Recorder`].
    fn record(b: &Bars, signals: &[Signal], cash: f64, commission: f64) -> (Recorder, Outcome) {
        let mut rec = Recorder::default();
        let out = run_signals(b, signals, Account { cash, commission }, &mut rec);
        (rec, out)
    }

    fn close_to(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn fills_at_next_open_sizes_with_commission_reverses_and_closes_at_the_end() {
        let b = bars(&[
            (10.0, 10.0),
            (20.0, 22.0),
            (25.0, 24.0),
            (30.0, 28.0),
            (26.0, 25.0),
        ]);
        let signals = [LONG, NONE, SHORT, NONE, NONE];
        let (rec, out) = record(&b, &signals, 1000.0, 0.01);
        // Long: floor(1000 / (20·1.01)) = 49 units at bar 1's open, never at bar 0.
        // Reverse at bar 3's open (30): long P&L 49·10 − 0.01·49·(20+30) = 465.5;
        // cash 1465.5 buys floor(1465.5 / 30.3) = 48 short; closed at the last close 25:
        // 48·5 − 0.01·48·(30+25) = 213.6.
        assert_eq!(
            rec.events,
            [
                "entry 1 49@20 bar 1",
                "exit 1@30 bar 3",
                "entry -1 48@30 bar 3",
                "exit -1@25 bar 4"
            ]
        );
        assert_eq!(out.trades.len(), 2);
        assert!(close_to(out.trades[0].pnl, 465.5), "{}", out.trades[0].pnl);
        assert!(close_to(out.trades[1].pnl, 213.6), "{}", out.trades[1].pnl);
        assert_eq!(out.trades[1].exit_reason, ExitReason::EndOfData);
        assert!(close_to(out.final_equity, 1679.1), "{}", out.final_equity);
        assert!(close_to(out.metrics.return_pct, 67.91));
        assert_eq!(
            (
                out.metrics.trades,
                out.metrics.win_rate,
                out.metrics.profit_factor
            ),
            (2, 100.0, None)
        );
        // Equity = cash + position value at every bar.
        let expected = [
            1000.0,
            10.2 + 49.0 * 22.0,
            10.2 + 49.0 * 24.0,
            2891.1 - 48.0 * 28.0,
            2891.1 - 48.0 * 25.0,
        ];
        for (got, want) in rec.equity.iter().zip(expected) {
            assert!(close_to(*got, want), "{got} vs {want}");
        }
        assert!(close_to(out.metrics.exposure_pct, 80.0));
    }

    #[test]
    fn same_side_and_last_bar_signals_do_nothing_and_losses_count() {
        let b = bars(&[
            (10.0, 10.0),
            (10.0, 9.0),
            (9.0, 8.0),
            (8.0, 8.0),
            (8.0, 12.0),
            (12.0, 12.0),
        ]);
        // Long twice (the second is ignored), short (loss on the long), long on the last bar (never fills).
        let signals = [LONG, LONG, SHORT, NONE, NONE, LONG];
        let (rec, out) = record(&b, &signals, 100.0, 0.0);
        assert_eq!(
            rec.events,
            [
                "entry 1 10@10 bar 1",
                "exit 1@8 bar 3",
                "entry -1 10@8 bar 3",
                "exit -1@12 bar 5"
            ]
        );
        let pnls: Vec<f64> = out.trades.iter().map(|t| t.pnl).collect();
        assert_eq!(pnls, [-20.0, -40.0]);
        assert_eq!(out.metrics.win_rate, 0.0);
        assert_eq!(out.metrics.profit_factor, Some(0.0));
        assert!(
            out.metrics.profit_factor.is_some_and(f64::is_sign_positive),
            "0 when nothing won, never -0"
        );
        assert!(close_to(out.final_equity, 40.0));
        assert!(
            close_to(out.metrics.max_drawdown_pct, 60.0),
            "{}",
            out.metrics.max_drawdown_pct
        );
    }

    #[test]
    fn a_blown_account_is_closed_at_that_close_floored_at_zero_and_the_run_ends() {
        // Short 10 units at 10 with 100 cash (cash 200); the price runs to 25: equity
        // 200 − 10·25 = −50 ≤ 0 at bar 3's close.
        let b = bars(&[
            (10.0, 10.0),
            (10.0, 12.0),
            (15.0, 19.0),
            (22.0, 25.0),
            (30.0, 31.0),
            (5.0, 5.0),
        ]);
        let signals = [SHORT, NONE, NONE, NONE, LONG, NONE];
        let (rec, out) = record(&b, &signals, 100.0, 0.0);
        assert_eq!(
            rec.events,
            ["entry -1 10@10 bar 1", "blown bar 3", "exit -1@25 bar 3"]
        );
        assert!(out.blown && !out.stopped);
        assert_eq!(out.bars, 4, "nothing after the blown bar");
        assert_eq!(out.trades[0].exit_reason, ExitReason::Blown);
        assert_eq!(out.trades[0].pnl, -150.0);
        assert_eq!(out.final_equity, 0.0);
        assert_eq!(rec.equity, [100.0, 80.0, 10.0, 0.0]);
        assert_eq!(out.metrics.return_pct, -100.0);
        assert_eq!(out.metrics.max_drawdown_pct, 100.0);
    }

    #[test]
    fn a_signal_that_cannot_buy_one_unit_is_reported_not_traded() {
        let b = bars(&[(10.0, 10.0), (50.0, 50.0), (50.0, 50.0)]);
        let mut rec = Recorder::default();
        let out = run_signals(
            &b,
            &[LONG, NONE, NONE],
            Account {
                cash: 40.0,
                commission: 0.0,
            },
            &mut rec,
        );
        assert_eq!(rec.events, ["unaffordable bar 1"]);
        assert!(out.trades.is_empty());
        assert_eq!(out.final_equity, 40.0);
    }

    #[test]
    fn an_observer_can_stop_the_run() {
        struct StopAt(usize);
        impl Observer for StopAt {
            fn bar(&mut self, i: usize, _: f64, _: f64, _: u64) -> Flow {
                if i == self.0 {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            }
            fn event(&mut self, _: Event<'_>) {}
        }
        let b = bars(&[(10.0, 10.0), (10.0, 11.0), (11.0, 12.0), (12.0, 13.0)]);
        let out = run_signals(
            &b,
            &[LONG, NONE, NONE, NONE],
            Account::default(),
            &mut StopAt(2),
        );
        assert!(out.stopped);
        assert_eq!(out.bars, 3);
        assert_eq!(
            out.trades[0].exit_bar, 2,
            "the open position is closed at the last processed close"
        );
    }
}
