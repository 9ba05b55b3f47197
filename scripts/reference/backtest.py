#!/usr/bin/env python3
"""An independent implementation of tickwire's backtest rules (SPEC section 10), in plain
Python with no dependencies, written from the spec rather than from the Rust code. The
Rust test `reference_agreement` runs it and requires the two to agree trade for trade.

    backtest.py DATA.csv --strategy sma_cross --fast 10 --slow 20 [--cash 10000] [--commission 0.002]
prints JSON: {"trades": [{entry_bar, exit_bar, side, units, entry_price, exit_price, pnl}], "final_equity": ...}
"""
import argparse
import csv
import json
import math


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = [h.strip().lower() for h in rows[0]]
    col = {name: header.index(name) for name in ("open", "close")}
    opens = [float(r[col["open"]]) for r in rows[1:]]
    closes = [float(r[col["close"]]) for r in rows[1:]]
    return opens, closes


def sma(values, n, i):
    """Plain mean of the n values ending at i, or None before there are n."""
    if i + 1 < n:
        return None
    window = values[i + 1 - n : i + 1]
    return math.fsum(window) / n


def sma_cross_signals(closes, fast, slow):
    signals = [0] * len(closes)
    for i in range(1, len(closes)):
        f0, s0 = sma(closes, fast, i - 1), sma(closes, slow, i - 1)
        f1, s1 = sma(closes, fast, i), sma(closes, slow, i)
        if None in (f0, s0, f1, s1):
            continue
        if f0 < s0 and f1 > s1:
            signals[i] = 1
        elif f0 > s0 and f1 < s1:
            signals[i] = -1
    return signals


def simulate(opens, closes, signals, cash, commission):
    trades = []
    position = None  # (side, units, entry_bar, entry_price)
    for i in range(1, len(opens)):
        signal = signals[i - 1]  # decided on the previous close, filled at this open
        if signal == 0 or (position and position[0] == signal):
            continue
        price = opens[i]
        if position:
            side, units, entry_bar, entry_price = position
            pnl = side * units * (price - entry_price) - commission * units * (entry_price + price)
            cash += units * price * (1 - commission) if side == 1 else -units * price * (1 + commission)
            trades.append(dict(entry_bar=entry_bar, exit_bar=i, side=side, units=units,
                               entry_price=entry_price, exit_price=price, pnl=pnl))
            position = None
        units = math.floor(cash / (price * (1 + commission)))
        if units >= 1:
            cash += -units * price * (1 + commission) if signal == 1 else units * price * (1 - commission)
            position = (signal, units, i, price)
    if position:
        side, units, entry_bar, entry_price = position
        last = len(closes) - 1
        price = closes[last]
        pnl = side * units * (price - entry_price) - commission * units * (entry_price + price)
        cash += units * price * (1 - commission) if side == 1 else -units * price * (1 + commission)
        trades.append(dict(entry_bar=entry_bar, exit_bar=last, side=side, units=units,
                           entry_price=entry_price, exit_price=price, pnl=pnl))
    return trades, cash


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--strategy", default="sma_cross", choices=["sma_cross"])
    p.add_argument("--fast", type=int, default=10)
    p.add_argument("--slow", type=int, default=20)
    p.add_argument("--cash", type=float, default=10_000.0)
    p.add_argument("--commission", type=float, default=0.0)
    a = p.parse_args()
    opens, closes = load(a.data)
    trades, final = simulate(opens, closes, sma_cross_signals(closes, a.fast, a.slow), a.cash, a.commission)
    print(json.dumps({"trades": trades, "final_equity": final}))


if __name__ == "__main__":
    main()
