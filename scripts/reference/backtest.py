#!/usr/bin/env python3
"""An independent implementation of tickwire's backtest rules (docs/SPEC.md section 10) and
metrics (docs/BACKTEST.md), in plain Python with no dependencies, written from the spec
rather than from the Rust code. The Rust test `reference_agreement` runs it on every
dataset in data/ and requires the two to agree trade for trade and metric for metric.

    backtest.py DATA.csv --strategy sma_cross --fast 10 --slow 20 [--cash 10000] [--commission 0.002]
    backtest.py DATA.csv --strategy rsi_reversion --period 14 --lower 30 --upper 70
    backtest.py DATA.csv --strategy buy_and_hold

prints JSON: {"trades": [{entry_bar, exit_bar, side, units, entry_price, exit_price, pnl,
reason}], "final_equity", "bars", "blown", "equity": [per-bar equity], "metrics": {...}}
"""
import argparse
import csv
import json
import math
from datetime import datetime, timezone

TIE = 1e-9  # two indicator values within this relative distance are equal
LONG, SHORT = 1, -1


def load(path):
    """Times (seconds since the epoch, UTC), opens and closes of a CSV of the shared shape."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = [h.strip().lower() for h in rows[0]]
    col = {name: header.index(name) for name in ("open", "close")}
    times, opens, closes = [], [], []
    for r in rows[1:]:
        raw = r[0].strip()
        fmt = "%Y-%m-%d %H:%M:%S" if " " in raw else ("%Y-%m-%dT%H:%M:%S" if "T" in raw else "%Y-%m-%d")
        times.append(datetime.strptime(raw, fmt).replace(tzinfo=timezone.utc).timestamp())
        opens.append(float(r[col["open"]]))
        closes.append(float(r[col["close"]]))
    return times, opens, closes


def tie(a, b):
    return abs(a - b) <= TIE * max(abs(a), abs(b))


def below(a, b):
    return a < b and not tie(a, b)


def above(a, b):
    return a > b and not tie(a, b)


# --- indicators --------------------------------------------------------------------

def sma(values, n):
    """Plain mean of the n values ending at each bar (None before there are n)."""
    return [None if i + 1 < n else math.fsum(values[i + 1 - n : i + 1]) / n for i in range(len(values))]


def wilder_rsi(closes, period):
    """Wilder's RSI: averages seeded with the plain mean of the first `period` changes,
    then smoothed by (avg·(period−1) + x) / period; 100 while no loss has been seen."""
    out = [None] * len(closes)
    changes = [closes[i] - closes[i - 1] for i in range(1, len(closes))]
    if len(changes) < period:
        return out
    gains = [max(d, 0.0) for d in changes]
    losses = [max(-d, 0.0) for d in changes]
    avg_gain = math.fsum(gains[:period]) / period
    avg_loss = math.fsum(losses[:period]) / period
    for k in range(period - 1, len(changes)):
        if k >= period:
            avg_gain = (avg_gain * (period - 1) + gains[k]) / period
            avg_loss = (avg_loss * (period - 1) + losses[k]) / period
        out[k + 1] = 100.0 if avg_loss == 0 else 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    return out


# --- strategies: one signal per bar, decided on its close ---------------------------

def sma_cross_signals(closes, fast, slow):
    f, s = sma(closes, fast), sma(closes, slow)
    signals = [0] * len(closes)
    for i in range(1, len(closes)):
        if None in (f[i - 1], s[i - 1], f[i], s[i]):
            continue
        if below(f[i - 1], s[i - 1]) and above(f[i], s[i]):
            signals[i] = LONG
        elif above(f[i - 1], s[i - 1]) and below(f[i], s[i]):
            signals[i] = SHORT
    return signals


def rsi_reversion_signals(closes, period, lower, upper):
    """Long when RSI crosses under `lower`, short when it crosses over `upper`."""
    r = wilder_rsi(closes, period)
    signals = [0] * len(closes)
    for i in range(1, len(closes)):
        if r[i - 1] is None or r[i] is None:
            continue
        if not below(r[i - 1], lower) and below(r[i], lower):
            signals[i] = LONG
        elif not above(r[i - 1], upper) and above(r[i], upper):
            signals[i] = SHORT
    return signals


def buy_and_hold_signals(closes):
    return [LONG] + [0] * (len(closes) - 1) if closes else []


# --- the account ---------------------------------------------------------------------

def simulate(opens, closes, signals, cash, commission):
    """Fills at the next open, whole units, reversal, closed at the last close; equity
    marked at every close; a close at or below zero blows the account."""
    c = commission
    trades, equity_curve, exposed = [], [], []
    position = None  # [side, units, entry_bar, entry_price]
    pending = 0
    blown = False

    def close_position(bar, price, reason):
        nonlocal cash, position
        side, units, entry_bar, entry_price = position
        cash += units * price * (1 - c) if side == LONG else -units * price * (1 + c)
        pnl = side * units * (price - entry_price) - c * units * (entry_price + price)
        trades.append(dict(entry_bar=entry_bar, exit_bar=bar, side=side, units=units,
                           entry_price=entry_price, exit_price=price, pnl=pnl, reason=reason))
        position = None

    for i in range(len(closes)):
        if pending:
            price = opens[i]
            if position and position[0] != pending:
                close_position(i, price, "signal")
            if position is None:
                units = math.floor(cash / (price * (1 + c)))
                if units >= 1:
                    cash += -units * price * (1 + c) if pending == LONG else units * price * (1 - c)
                    position = [pending, units, i, price]
            pending = 0
        held = position[0] * position[1] if position else 0
        equity = cash + held * closes[i]
        exposed.append(held != 0)
        if equity <= 0:
            if position:
                close_position(i, closes[i], "blown")
            cash = max(cash, 0.0)
            equity_curve.append(0.0)
            blown = True
            break
        equity_curve.append(equity)
        if signals[i] and not (position and position[0] == signals[i]):
            pending = signals[i]
    if position:
        close_position(len(equity_curve) - 1, closes[len(equity_curve) - 1], "end_of_data")
    return trades, cash, equity_curve, exposed, blown


# --- metrics -------------------------------------------------------------------------

def metrics(initial, final, equity_curve, exposed, trades, times):
    """Per-bar simple returns (the first against the starting cash); Sharpe = mean /
    sample std (n−1), Sortino = mean / sqrt(mean of squared negative returns), both ×
    sqrt(bars per year of the data's own span); drawdown against the running peak,
    which starts at the starting cash."""
    n = len(equity_curve)
    returns, prev = [], initial
    for e in equity_curve:
        returns.append(e / prev - 1 if prev != 0 else 0.0)
        prev = e
    span_years = (times[n - 1] - times[0]) / (365.25 * 86400) if n > 1 else 0.0
    per_year = (n - 1) / span_years if span_years > 0 else 0.0
    mean = math.fsum(returns) / n if n else 0.0
    std = math.sqrt(math.fsum((r - mean) ** 2 for r in returns) / (n - 1)) if n > 1 else 0.0
    downside = math.sqrt(math.fsum(min(r, 0.0) ** 2 for r in returns) / n) if n else 0.0
    ratio = lambda risk: mean / risk * math.sqrt(per_year) if risk > 0 else 0.0
    peak, max_dd = initial, 0.0
    for e in equity_curve:
        peak = max(peak, e)
        max_dd = max(max_dd, (1 - e / peak) * 100 if peak > 0 else 0.0)
    wins = [t["pnl"] for t in trades if t["pnl"] > 0]
    losses = [-t["pnl"] for t in trades if t["pnl"] < 0]
    gross_profit, gross_loss = math.fsum(wins), math.fsum(losses)
    return dict(
        return_pct=(final / initial - 1) * 100,
        sharpe=ratio(std),
        sortino=ratio(downside),
        max_drawdown_pct=max_dd,
        win_rate=len(wins) / len(trades) * 100 if trades else 0.0,
        profit_factor=gross_profit / gross_loss if gross_loss > 0 else None,
        trades=len(trades),
        exposure_pct=sum(exposed) / n * 100 if n else 0.0,
    )


def backtest(path, strategy, cash=10_000.0, commission=0.0, **params):
    times, opens, closes = load(path)
    if strategy == "sma_cross":
        signals = sma_cross_signals(closes, int(params.get("fast", 10)), int(params.get("slow", 20)))
    elif strategy == "rsi_reversion":
        signals = rsi_reversion_signals(closes, int(params.get("period", 14)),
                                        float(params.get("lower", 30)), float(params.get("upper", 70)))
    elif strategy == "buy_and_hold":
        signals = buy_and_hold_signals(closes)
    else:
        raise SystemExit(f"unknown strategy {strategy}")
    trades, final, equity_curve, exposed, blown = simulate(opens, closes, signals, cash, commission)
    return dict(
        trades=trades,
        final_equity=final,
        bars=len(equity_curve),
        blown=blown,
        equity=equity_curve,
        metrics=metrics(cash, final, equity_curve, exposed, trades, times),
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--strategy", default="sma_cross", choices=["sma_cross", "rsi_reversion", "buy_and_hold"])
    p.add_argument("--fast", type=int, default=10)
    p.add_argument("--slow", type=int, default=20)
    p.add_argument("--period", type=int, default=14)
    p.add_argument("--lower", type=float, default=30.0)
    p.add_argument("--upper", type=float, default=70.0)
    p.add_argument("--cash", type=float, default=10_000.0)
    p.add_argument("--commission", type=float, default=0.0)
    a = p.parse_args()
    result = backtest(a.data, a.strategy, a.cash, a.commission, fast=a.fast, slow=a.slow,
                      period=a.period, lower=a.lower, upper=a.upper)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
