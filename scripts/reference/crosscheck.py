#!/usr/bin/env python3
"""Cross-checks the plain-Python reference (backtest.py) against second sources, once,
by hand (docs/BACKTEST.md has the result):

- trades, equity and out-of-money handling against the `backtesting` package (PyPI), fed
  the reference's own signals, so the two account for the same decisions;
- SMA against pandas' rolling mean, Wilder's RSI against a pandas recursion, and Sharpe,
  Sortino and max drawdown recomputed with numpy on the reference's equity curve.

    pip install backtesting pandas numpy
    python3 scripts/reference/crosscheck.py [data/GOOG.csv data/EURUSD.csv data/BTCUSD.csv]

Prints one line per check and exits non-zero if any disagrees.
"""
import math
import os
import sys
import warnings

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy

sys.path.insert(0, os.path.dirname(__file__))
import backtest as ref  # noqa: E402

warnings.filterwarnings("ignore")
TOLERANCE = 1e-9
failures = []


def check(label, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {label}{(': ' + detail) if detail else ''}")
    if not ok:
        failures.append(label)


def close(a, b, tol=TOLERANCE):
    return abs(a - b) <= tol * max(abs(a), abs(b), 1.0)


def frame(path):
    df = pd.read_csv(path, index_col=0, parse_dates=True)
    return df[["Open", "High", "Low", "Close", "Volume"]]


class Signals(Strategy):
    """Acts on a precomputed signal per bar, decided on that bar's close."""
    signals = None

    def init(self):
        pass

    def next(self):
        signal = self.signals[len(self.data) - 1]
        if signal == 1 and not self.position.is_long:
            self.buy()
        elif signal == -1 and not self.position.is_short:
            self.sell()


def accounting(path, name, signals, commission):
    """The reference's and backtesting's accounting of the same signals."""
    df = frame(path)
    times, opens, closes = ref.load(path)
    # backtesting never calls a strategy on the first bar: a bar-0 signal moves to bar 1
    # in both, so they account for the same decisions.
    signals = list(signals)
    if signals and signals[0]:
        signals[1] = signals[1] or signals[0]
        signals[0] = 0
    trades, final, equity, exposed, blown = ref.simulate(opens, closes, signals, 10_000.0, commission)
    # backtesting closes what is still open at the last bar's open, the spec at its close:
    # a settlement bar at the last close (open = close) makes the two the same price.
    settlement = df.iloc[[-1]].copy()
    settlement.index = settlement.index + (df.index[-1] - df.index[-2])
    settlement[["Open", "High", "Low"]] = settlement["Close"].iloc[0]
    bt = Backtest(pd.concat([df, settlement]), Signals, cash=10_000.0, commission=commission,
                  exclusive_orders=True, trade_on_close=False, finalize_trades=True)
    # A last-bar signal never fills in the spec; here it would, at the settlement bar.
    stats = bt.run(signals=signals[:-1] + [0, 0])
    theirs = stats["_trades"]
    label = f"{os.path.basename(path)} {name} commission {commission}"
    check(f"{label}: trade count", len(trades) == len(theirs), f"{len(trades)} vs {len(theirs)}")
    agree = len(trades) == len(theirs)
    for mine, (_, t) in zip(trades, theirs.iterrows()):
        settled = 1 if mine["reason"] == "end_of_data" else 0
        same = (mine["entry_bar"] == t.EntryBar and mine["exit_bar"] + settled == t.ExitBar
                and mine["units"] == abs(t.Size) and mine["side"] == (1 if t.Size > 0 else -1)
                and close(mine["entry_price"], t.EntryPrice) and close(mine["exit_price"], t.ExitPrice)
                and close(mine["pnl"], t.PnL, 1e-6))
        if not same:
            check(f"{label}: trade {mine} vs {dict(t)}", False)
            agree = False
            break
    if agree:
        check(f"{label}: every trade (bars, side, units, prices, P&L)", True)
    check(f"{label}: final equity", close(final, stats["Equity Final [$]"], 1e-6),
          f"{final:.6f} vs {stats['Equity Final [$]']:.6f}")
    theirs_curve = stats["_equity_curve"]["Equity"].to_numpy()[: len(equity)]
    worst = max(abs(a - b) for a, b in zip(equity, theirs_curve))
    check(f"{label}: equity at every close", worst <= 1e-6 * max(map(abs, equity)),
          f"largest difference {worst:.2e} over {len(equity)} bars{' (blown)' if blown else ''}")


def indicators(path):
    times, opens, closes = ref.load(path)
    s = pd.Series(closes)
    for n in (10, 20, 50):
        mine = ref.sma(closes, n)
        theirs = s.rolling(n).mean().to_numpy()
        worst = max(abs(a - b) / abs(b) for a, b in zip(mine[n - 1:], theirs[n - 1:]))
        check(f"{os.path.basename(path)} SMA {n} vs pandas rolling mean", worst <= TOLERANCE, f"{worst:.1e}")
    for period in (3, 14):
        mine = ref.wilder_rsi(closes, period)
        diff = s.diff()
        gain, loss = diff.clip(lower=0), (-diff).clip(lower=0)
        avg_gain = np.full(len(closes), np.nan)
        avg_loss = np.full(len(closes), np.nan)
        avg_gain[period] = gain[1 : period + 1].mean()
        avg_loss[period] = loss[1 : period + 1].mean()
        for i in range(period + 1, len(closes)):
            avg_gain[i] = (avg_gain[i - 1] * (period - 1) + gain[i]) / period
            avg_loss[i] = (avg_loss[i - 1] * (period - 1) + loss[i]) / period
        with np.errstate(divide="ignore"):
            theirs = np.where(avg_loss == 0, 100.0, 100 - 100 / (1 + avg_gain / avg_loss))
        worst = max(abs(a - b) for a, b in zip(mine[period:], theirs[period:]))
        check(f"{os.path.basename(path)} Wilder RSI {period} vs a pandas recursion", worst <= 1e-9, f"{worst:.1e}")


def metrics(path, name, result):
    times, _, _ = ref.load(path)
    equity = np.array(result["equity"])
    n = len(equity)
    returns = np.diff(np.concatenate([[10_000.0], equity])) / np.concatenate([[10_000.0], equity])[:-1]
    returns[~np.isfinite(returns)] = 0.0
    years = (times[n - 1] - times[0]) / (365.25 * 86400)
    per_year = (n - 1) / years
    sharpe = returns.mean() / returns.std(ddof=1) * math.sqrt(per_year)
    sortino = returns.mean() / math.sqrt(np.mean(np.minimum(returns, 0) ** 2)) * math.sqrt(per_year)
    peak = np.maximum.accumulate(np.concatenate([[10_000.0], equity]))[1:]
    drawdown = ((1 - equity / peak) * 100).max()
    m = result["metrics"]
    label = f"{os.path.basename(path)} {name}"
    check(f"{label}: Sharpe vs numpy", close(m["sharpe"], sharpe), f"{m['sharpe']:.6f} vs {sharpe:.6f}")
    check(f"{label}: Sortino vs numpy", close(m["sortino"], sortino), f"{m['sortino']:.6f} vs {sortino:.6f}")
    check(f"{label}: max drawdown vs numpy", close(m["max_drawdown_pct"], drawdown),
          f"{m['max_drawdown_pct']:.6f} vs {drawdown:.6f}")


def main():
    paths = sys.argv[1:] or [os.path.join(os.path.dirname(__file__), "../../data", f)
                             for f in ("GOOG.csv", "EURUSD.csv", "BTCUSD.csv")]
    for path in paths:
        indicators(path)
        _, _, closes = ref.load(path)
        runs = [
            ("sma_cross 10/20", ref.sma_cross_signals(closes, 10, 20)),
            ("rsi_reversion 14 30/70", ref.rsi_reversion_signals(closes, 14, 30, 70)),
            ("buy_and_hold", ref.buy_and_hold_signals(closes)),
        ]
        for name, signals in runs:
            for commission in (0.0, 0.002):
                accounting(path, name, signals, commission)
        for name, params in [("sma_cross", dict(fast=10, slow=20)),
                             ("rsi_reversion", dict(period=14, lower=30, upper=70)),
                             ("buy_and_hold", {})]:
            metrics(path, name, ref.backtest(path, name, **params))
    print(f"\n{len(failures)} disagreement(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
