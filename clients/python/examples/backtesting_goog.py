"""Streams a backtesting.py SmaCross run on GOOG live into a tickwire server.

The strategy publishes from inside its own ``next()``: every fill as a ``trade`` the
moment backtesting.py reports it, one equity point per bar (batched), ``progress`` every
``--progress-every`` bars, a ``log`` line per trade through Python logging, then
``metrics`` and ``complete`` from backtesting.py's own statistics. Open the dashboard
(or ``tickwire watch backtest:ID``) while it runs.

Run it (backtesting is not a dependency of the client, only of this example)::

    python3 -m venv /tmp/bt-venv
    /tmp/bt-venv/bin/pip install backtesting ./clients/python
    tickwire serve --api-key secret &            # or target/release/tickwire serve ...
    /tmp/bt-venv/bin/python clients/python/examples/backtesting_goog.py \\
        --url http://127.0.0.1:3000 --api-key secret --id goog-sma

``--delay`` slows each bar down (seconds) so a person can watch the run unfold.
"""

import argparse
import logging
import math
import sys
import time

from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import GOOG, SMA

from tickwire import BacktestStream, Publisher, TopicLogHandler

log = logging.getLogger("goog.sma_cross")


def finite(value, default=0.0):
    """backtesting.py reports NaN for undefined figures; JSON cannot carry NaN."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


class LiveSmaCross(Strategy):
    """backtesting.py's SmaCross, reporting to a BacktestStream as it goes."""

    n1 = 10
    n2 = 20
    stream: BacktestStream = None  # set before the run
    delay = 0.0

    def init(self):
        self.sma1 = self.I(SMA, self.data.Close, self.n1)
        self.sma2 = self.I(SMA, self.data.Close, self.n2)
        self.ids = {}  # backtesting.py Trade object -> our trade id (entry and exit share it)
        self.exits_reported = 0

    def next(self):
        self.report_fills()
        bar = len(self.data) - 1
        time_ = self.data.index[-1]
        self.stream.equity_point(time_, self.equity)
        self.stream.progress(bar + 1, current_time=time_, equity=self.equity)
        if crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell()
        if self.delay:
            time.sleep(self.delay)

    def report_fills(self):
        """Publishes the exits, then the entries, backtesting.py filled since last bar."""
        for trade in self.closed_trades[self.exits_reported:]:
            self.report_exit(trade, "opposite signal")
        self.exits_reported = len(self.closed_trades)
        for trade in self.trades:
            if trade not in self.ids:
                side = "long" if trade.is_long else "short"
                self.ids[trade] = self.stream.entry(
                    side=side, time=trade.entry_time, price=trade.entry_price,
                    size=abs(trade.size), reason=f"{side} signal")
                log.info("%s %d GOOG at %.2f", "bought" if trade.is_long else "sold short",
                         abs(trade.size), trade.entry_price, extra={"bar": trade.entry_bar})

    def report_exit(self, trade, reason):
        side = "long" if trade.is_long else "short"
        self.stream.exit(
            self.ids.pop(trade), side=side, time=trade.exit_time, price=trade.exit_price,
            size=abs(trade.size), reason=reason, pnl=trade.pl, return_pct=trade.pl_pct * 100)
        log.info("closed %s at %.2f: P&L %.2f", side, trade.exit_price, trade.pl,
                 extra={"bar": trade.exit_bar})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--api-key", help="the server's --api-key")
    auth.add_argument("--token", help="a token whose publish claim covers backtest:ID")
    parser.add_argument("--id", default=f"goog-sma-{int(time.time())}", help="backtest id")
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--cash", type=float, default=10_000)
    parser.add_argument("--commission", type=float, default=0.002)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to pause per bar")
    parser.add_argument("--progress-every", type=int, default=25, help="bars between progress")
    args = parser.parse_args()

    data = GOOG
    with Publisher(args.url, api_key=args.api_key, token=args.token) as publisher:
        stream = BacktestStream(publisher, args.id, equity_batch=50,
                                progress_every_bars=args.progress_every, progress_every_ms=250)
        handler = TopicLogHandler(publisher, stream.topic)
        log.addHandler(handler)
        log.setLevel(logging.INFO)

        stream.started(strategy="sma_cross (backtesting.py)", symbol="GOOG",
                       params={"fast": args.fast, "slow": args.slow}, interval="1d",
                       from_time=data.index[0], to_time=data.index[-1],
                       total_bars=len(data), cash=args.cash)
        LiveSmaCross.stream, LiveSmaCross.delay = stream, args.delay
        bt = Backtest(data, LiveSmaCross, cash=args.cash, commission=args.commission,
                      finalize_trades=True)
        started = time.monotonic()
        try:
            stats = bt.run(n1=args.fast, n2=args.slow)
        except Exception as e:
            stream.error("the backtest failed", details=f"{type(e).__name__}: {e}")
            raise

        # finalize_trades closed what was still open after the last next(): report it.
        strategy = stats._strategy
        for trade in strategy.closed_trades[strategy.exits_reported:]:
            strategy.report_exit(trade, "end of data")
        final_equity = float(stats["Equity Final [$]"])
        stream.progress(len(data), current_time=data.index[-1], equity=final_equity, force=True)
        profit_factor = finite(stats["Profit Factor"], default=None)
        stream.metrics(
            return_pct=finite(stats["Return [%]"]),
            sharpe=finite(stats["Sharpe Ratio"]),
            sortino=finite(stats["Sortino Ratio"]),
            max_drawdown_pct=abs(finite(stats["Max. Drawdown [%]"])),
            win_rate=finite(stats["Win Rate [%]"]),
            profit_factor=profit_factor,
            trades=int(stats["# Trades"]),
            exposure_pct=finite(stats["Exposure Time [%]"]),
        )
        stream.complete(final_equity=final_equity,
                        duration_ms=int((time.monotonic() - started) * 1000))
        log.removeHandler(handler)
    print(f"streamed backtest:{args.id}: {int(stats['# Trades'])} trades, "
          f"return {stats['Return [%]']:.2f} %, final equity {final_equity:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
