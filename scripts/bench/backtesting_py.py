#!/usr/bin/env python3
"""The same sma_cross strategy in Python's `backtesting` package (PyPI), for a
side-by-side speed comparison with `tickwire-bench bench-engine` (run both with engines.sh).

    backtesting_py.py DATA.csv [--fast 10] [--slow 20]
"""
import argparse
import time
import warnings

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover


def sma(values, n):
    return pd.Series(values).rolling(n).mean()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--fast", type=int, default=10)
    p.add_argument("--slow", type=int, default=20)
    a = p.parse_args()

    class SmaCross(Strategy):
        fast = a.fast
        slow = a.slow

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

    df = pd.read_csv(a.data, index_col=0, parse_dates=True)
    warnings.filterwarnings("ignore")
    bt = Backtest(df, SmaCross, cash=10_000, commission=0, exclusive_orders=True, finalize_trades=True)
    runs, start = 0, time.perf_counter()
    while runs == 0 or time.perf_counter() - start < 2.0:
        stats = bt.run()
        runs += 1
    elapsed = time.perf_counter() - start
    print(
        f"{'backtesting ' + __import__('backtesting').__version__ + ' (Python) ' + a.data:<34} {len(df):>10} bars "
        f"{stats['# Trades']:>6} trades   {runs * len(df) / elapsed:>14.0f} bars/s"
    )


if __name__ == "__main__":
    main()
