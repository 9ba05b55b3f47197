//! The streaming observer: turns a running backtest into messages on its topic with
//! frequency control — progress every N bars or T ms (whichever comes first), equity
//! points batched with each progress, trades at once — and checks in with the run's
//! control so pause / resume / cancel take effect within a few hundred bars. What it
//! publishes goes through the run's [`RunQueue`], handed over at each check-in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::{EquityBatch, EquityPoint, Lifecycle, Message, Progress, Timestamp};

use super::clock::RunClock;
use super::control::{RunControl, Wanted};
use super::logs::OBSERVER_TARGET;
use super::publisher::{Outgoing, RunQueue};
use crate::backtest::engine::{Event, Flow, Observer, Outcome, Position};
use crate::backtest::request::{Frequency, Plan};

/// Bars between two looks at the clock and at the run's control, and two hand-overs to
/// the publisher (every bar for a paced run).
pub const CHECK_EVERY: usize = 256;

/// The longest a paced run sleeps before it looks at its control again (a pace is at
/// least one bar a second, so a bar never waits longer).
const PACE_WAIT: Duration = Duration::from_secs(1);

/// The longest a running backtest stays silent with the default [`Frequency`]: an
/// unpaced run reports every 250 ms, a paced one after every bar (at least one a
/// second). Pages call a run silent for four times this stale.
pub const REPORTS_AT_LEAST_EVERY: Duration = PACE_WAIT;

/// Owns what it needs, so a paused run (its streamer with it) is plain data.
pub struct LiveObserver {
    queue: RunQueue,
    plan: Arc<Plan>,
    control: Arc<RunControl>,
    frequency: Frequency,
    initial_cash: f64,
    stride: usize,
    /// The next multiple of `stride` (a bar's check is then a comparison, not a
    /// division: it runs on every bar).
    next_point: usize,
    last_progress_bar: usize,
    last_progress: Instant,
    /// The first bar with anything to do but remember its mark: the next equity point,
    /// check-in or progress by bar count (most bars do nothing else).
    next_due: usize,
    /// Running time (pauses excluded), for the speed and the pace.
    clock: RunClock,
    equity: Vec<EquityPoint>,
    /// The last bar seen, its equity and drawdown: the run's last equity point (pushed
    /// by `finish` unless the stride already took it).
    last_mark: Option<(usize, f64, f64)>,
    warned_unaffordable: bool,
}

impl LiveObserver {
    pub fn new(queue: RunQueue, plan: Arc<Plan>, control: Arc<RunControl>) -> Self {
        let (frequency, pace) = (plan.frequency, plan.pace);
        let initial_cash = plan.account.cash;
        let stride = (plan.bars.len() / frequency.equity_points.max(1)).max(1);
        LiveObserver {
            queue,
            plan,
            control,
            frequency,
            initial_cash,
            stride,
            next_point: 0,
            last_progress_bar: 0,
            last_progress: Instant::now(),
            next_due: 0,
            clock: RunClock::start(pace),
            equity: Vec::new(),
            last_mark: None,
            warned_unaffordable: false,
        }
    }

    /// Publishes on the run's topic (queued after what came before).
    pub fn publish(&self, message: Message) {
        self.queue.push(Outgoing::Message(Box::new(message)));
    }

    fn time(&self, bar: usize) -> Timestamp {
        Timestamp::from_unix_ms(self.plan.bars.time[bar])
    }

    fn progress(&mut self, i: usize, equity: f64, trades: u64) {
        if !self.equity.is_empty() {
            let points = std::mem::take(&mut self.equity);
            self.publish(Message::Equity(EquityBatch { points }));
        }
        let total = self.plan.bars.len() as u64;
        let done = i as u64 + 1;
        let (bars_per_sec, left) = self.clock.estimate(done, total - done);
        self.publish(Message::Progress(Progress {
            pct: done as f64 / total as f64 * 100.0,
            bars_processed: done,
            total_bars: total,
            current_time: self.time(i),
            trades,
            equity,
            pnl: equity - self.initial_cash,
            bars_per_sec,
            eta_ms: left.map(|d| d.as_millis() as u64),
        }));
        self.last_progress_bar = i;
        self.last_progress = Instant::now();
    }

    /// The run is over (complete, cancelled or blown): the last equity point and a final
    /// `progress` that agrees with the outcome (its trades include the position closed
    /// at the end, its equity is the final equity).
    pub fn finish(&mut self, outcome: &Outcome) {
        let Some((i, equity, drawdown_pct)) = self.last_mark else {
            return;
        };
        if !i.is_multiple_of(self.stride) {
            self.push_point(i, equity, drawdown_pct);
        }
        self.progress(i, outcome.final_equity, outcome.trades.len() as u64);
    }

    fn push_point(&mut self, i: usize, equity: f64, drawdown_pct: f64) {
        let point = EquityPoint(self.time(i), equity, drawdown_pct.clamp(0.0, 100.0));
        self.equity.push(point);
    }

    /// Between bars: go on, stop (cancelled), or hand the run back paused (`paused` is
    /// published; the run's driver waits, holding no thread, and calls [`Self::resumed`]).
    fn check_in(&mut self) -> Flow {
        match self.control.wanted() {
            Wanted::Running => Flow::Continue,
            Wanted::Cancelled => Flow::Stop,
            Wanted::Paused => {
                tracing::info!(target: OBSERVER_TARGET, "paused");
                self.clock.pause();
                self.publish(Message::Paused(Lifecycle {
                    reason: Some("requested by a client".into()),
                }));
                Flow::Pause
            }
        }
    }

    /// A paused run goes on: `resumed` first, so nothing, not even its log line, comes
    /// between `paused` and `resumed`.
    pub fn resumed(&mut self) {
        self.clock.resume();
        self.publish(Message::Resumed(Lifecycle::default()));
        tracing::info!(target: OBSERVER_TARGET, "resumed");
    }

    /// A bar with something due (see `next_due`): an equity point, a check-in with the
    /// clock and the control, a progress, a hand-over to the publisher.
    #[inline(never)]
    fn due_bar(&mut self, i: usize, equity: f64, drawdown_pct: f64, trades: u64) -> Flow {
        if i >= self.next_point {
            self.next_point = (i / self.stride + 1) * self.stride;
            if i.is_multiple_of(self.stride) {
                self.push_point(i, equity, drawdown_pct);
            }
        }
        // The last bar's progress comes from `finish`, once the outcome is known.
        let last = i + 1 == self.plan.bars.len();
        let check = i.is_multiple_of(CHECK_EVERY) || self.clock.is_paced();
        if self.clock.is_paced() {
            self.clock.keep_pace(i as u64 + 1, PACE_WAIT);
        }
        let due = !last
            && (i - self.last_progress_bar >= self.frequency.progress_bars
                || (check && self.last_progress.elapsed() >= self.frequency.progress_interval));
        if due {
            self.progress(i, equity, trades);
        }
        if check || due {
            self.queue.flush();
        }
        self.next_due = if self.clock.is_paced() {
            i + 1
        } else {
            let next_check = (i / CHECK_EVERY + 1) * CHECK_EVERY;
            let next_progress = self.last_progress_bar + self.frequency.progress_bars;
            self.next_point.min(next_check).min(next_progress)
        };
        // The last bar ends the run whatever the control says.
        if (check || due) && !last {
            self.check_in()
        } else {
            Flow::Continue
        }
    }
}

impl Observer for LiveObserver {
    // Inlined into the engine's loop, with what is due out of line: a call on every bar
    // made the loop save and reload its floats around it (a call may overwrite every
    // float register); on 10 M bars that was 16 % of the run against 7.5–9 % now.
    #[inline(always)]
    fn bar(&mut self, i: usize, equity: f64, drawdown_pct: f64, trades: u64) -> Flow {
        self.last_mark = Some((i, equity, drawdown_pct));
        if i < self.next_due {
            return Flow::Continue;
        }
        self.due_bar(i, equity, drawdown_pct, trades)
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Entry {
                id,
                side,
                units,
                bar,
                price,
            } => {
                tracing::debug!(target: OBSERVER_TARGET, bar = bar as u64, "entered {side:?} {units} @ {price}");
                self.queue.push(Outgoing::Entry(Position {
                    id,
                    side,
                    units,
                    entry_bar: bar,
                    entry_price: price,
                }));
            }
            Event::Exit(trade) => self.queue.push(Outgoing::Exit(trade.clone())),
            Event::Blown { bar, equity } => {
                tracing::warn!(
                    target: OBSERVER_TARGET,
                    bar = bar as u64,
                    "account blown: equity {equity:.2} at this close; the position is closed here, equity floored at 0, and the run ends"
                );
            }
            Event::Unaffordable { bar, price, cash } => {
                if !self.warned_unaffordable {
                    self.warned_unaffordable = true;
                    tracing::warn!(
                    target: OBSERVER_TARGET,
                        bar = bar as u64,
                        "signal skipped: {cash:.2} cash cannot buy one unit at {price} (later ones are skipped without a warning)"
                    );
                }
            }
        }
    }
}
