#!/usr/bin/env python3
"""One grid of sma_cross parameters through `Backtest.optimize` of Python's `backtesting`
package (PyPI) and through tickwire's `POST /api/sweeps`, side by side: both times, both
best parameters and whether they agree (docs/SPEC.md section 10, "Sweeps"). Run it with
scripts/bench/sweeps.sh, which sets up the virtualenv and the release server.

    sweep_vs_backtesting_py.py --server URL [--data data/GOOG.csv] [--fast 5:50:1] [--slow 20:200:5]

Ranges are FROM:TO:STEP with TO included, as the sweep's `{from, to, step}`. Both rank by
total return. backtesting.py is given the constraint fast < slow; tickwire skips those
combinations itself (the strategy refuses them).
"""
import argparse
import json
import os
import time
import urllib.request
import warnings

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover


def sma(values, n):
    return pd.Series(values).rolling(n).mean()


class SmaCross(Strategy):
    fast = 10
    slow = 20

    def init(self):
        self.f = self.I(sma, self.data.Close, self.fast)
        self.s = self.I(sma, self.data.Close, self.slow)

    def next(self):
        if crossover(self.f, self.s):
            self.position.close()
            self.buy()
        elif crossover(self.s, self.f):
            self.position.close()
            self.sell()


def span(text):
    start, stop, step = (int(x) for x in text.split(":"))
    return start, stop, step


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def tickwire(server, dataset, fast, slow):
    grid = {
        "fast": {"from": fast[0], "to": fast[1], "step": fast[2]},
        "slow": {"from": slow[0], "to": slow[1], "step": slow[2]},
    }
    body = {"dataset": dataset, "strategy": "sma_cross", "grid": grid, "cash": 10_000, "commission": 0, "objective": "return_pct", "top_n": 1}
    start = time.perf_counter()
    created = call("POST", f"{server}/api/sweeps", body)
    deadline = start + 600
    while True:
        state = call("GET", f"{server}/api/sweeps/{created['sweep_id']}")
        data = state["state"]["data"]
        if data.get("complete"):
            elapsed = time.perf_counter() - start
            best = data["complete"]["top"][0]
            return elapsed, data["complete"], best
        if time.perf_counter() > deadline:
            raise SystemExit("the sweep did not complete within 600 s")
        time.sleep(0.02)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--data", default="data/GOOG.csv")
    p.add_argument("--fast", default="5:50:1")
    p.add_argument("--slow", default="20:200:5")
    a = p.parse_args()
    fast, slow = span(a.fast), span(a.slow)
    dataset = os.path.splitext(os.path.basename(a.data))[0]

    df = pd.read_csv(a.data, index_col=0, parse_dates=True)
    warnings.filterwarnings("ignore")
    bt = Backtest(df, SmaCross, cash=10_000, commission=0, exclusive_orders=True, finalize_trades=True)
    start = time.perf_counter()
    stats, heatmap = bt.optimize(
        fast=range(fast[0], fast[1] + 1, fast[2]),
        slow=range(slow[0], slow[1] + 1, slow[2]),
        maximize="Return [%]",
        constraint=lambda p: p.fast < p.slow,
        return_heatmap=True,
    )
    py_seconds = time.perf_counter() - start
    py_best = (stats._strategy.fast, stats._strategy.slow)

    tw_seconds, complete, best = tickwire(a.server, dataset, fast, slow)
    tw_best = (int(best["params"]["fast"]), int(best["params"]["slow"]))
    combos = complete["done"]
    runs = combos - complete["skipped"]

    print(f"data {a.data}: {len(df)} bars; grid fast {a.fast} x slow {a.slow}: {combos} combinations, {runs} with fast < slow")
    print(f"backtesting {__import__('backtesting').__version__} optimize: {py_seconds:8.2f} s  ({len(heatmap)} runs, {len(heatmap) / py_seconds:10.0f} runs/s)  best fast={py_best[0]} slow={py_best[1]} return {stats['Return [%]']:.2f} %")
    print(f"tickwire sweep (POST to sweep_complete): {tw_seconds:8.2f} s  ({runs} runs, {runs / tw_seconds:10.0f} runs/s; engine {complete['duration_ms']} ms)  best fast={tw_best[0]} slow={tw_best[1]} return {best['metrics']['return_pct']:.2f} %")
    print(f"speed-up: {py_seconds / tw_seconds:.0f}x; best parameters agree: {'yes' if py_best == tw_best else 'no'}")


if __name__ == "__main__":
    main()
