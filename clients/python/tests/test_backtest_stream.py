"""BacktestStream: every message it builds is accepted by the server (which validates
strictly), and the topic's snapshot shows the folded run: status, progress, trades,
equity, metrics, result; progress throttling and equity batching behave as documented."""

import datetime as dt
import unittest

from support import ServerTest, unique

from tickwire import BacktestStream, Publisher, to_timestamp

DAY = dt.timedelta(days=1)
START = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)

METRICS = dict(return_pct=3.5, sharpe=1.2, sortino=1.5, max_drawdown_pct=4.0, win_rate=100.0,
               profit_factor=float("inf"), trades=1, exposure_pct=40.0)


class BacktestStreamTest(ServerTest):
    def setUp(self):
        super().setUp()
        self.pub = Publisher(self.server.url, flush_interval=0.01)
        self.addCleanup(self.pub.close, 5)
        self.id = unique("bt")

    def test_a_whole_run_folds_into_the_snapshot(self):
        s = BacktestStream(self.pub, self.id, equity_batch=100)
        total = 250
        s.started(strategy="sma_cross", symbol="GOOG", params={"fast": 10, "slow": 20},
                  interval="1d", from_time=START, to_time=START + (total - 1) * DAY,
                  total_bars=total, cash=10_000)
        equity = 10_000.0
        for bar in range(total):
            t = START + bar * DAY
            if bar == 20:
                trade_id = s.entry(side="long", time=t, price=100.0, size=10, reason="long signal")
            if bar == 120:
                s.exit(trade_id, side="long", time=t, price=135.0, size=10,
                       reason="opposite signal", pnl=350.0, return_pct=35.0)
            equity += 1.0 if bar % 3 else -2.0
            s.equity_point(t, equity)
            if (bar + 1) % 50 == 0:
                s.progress(bar + 1, current_time=t, equity=equity)
        s.metrics(**METRICS)
        s.complete(final_equity=equity)
        s.flush(timeout=10)

        read = self.server.poll_all(s.topic)
        kinds = [e["type"] for e in read]
        self.assertEqual(kinds[0], "started")
        self.assertEqual(kinds[-2:], ["metrics", "complete"])
        self.assertEqual(kinds.count("progress"), 5)
        self.assertEqual(kinds.count("trade"), 2)
        self.assertEqual([e["seq"] for e in read], list(range(1, len(read) + 1)))
        # Buffered equity goes out before each progress: the curve is never behind it.
        points = 0
        for e in read:
            if e["type"] == "equity":
                points += len(e["data"]["points"])
            if e["type"] == "progress":
                self.assertEqual(points, e["data"]["bars_processed"])
        started = read[0]["data"]
        self.assertEqual(started["params"], {"fast": 10.0, "slow": 20.0})
        self.assertEqual(started["from"], "2020-01-01T00:00:00.000Z")

        snap = self.server.snapshot(s.topic)
        self.assertEqual(snap["last_seq"], len(read))
        data = snap["data"]
        self.assertEqual(data["kind"], "backtest")
        self.assertEqual(data["status"], "complete")
        self.assertEqual(data["progress"]["bars_processed"], total)
        self.assertEqual(data["progress"]["pct"], 100.0)
        self.assertEqual(data["progress"]["trades"], 1)
        self.assertAlmostEqual(data["progress"]["pnl"], equity - 10_000)
        self.assertEqual([(t["id"], t["action"]) for t in data["trades"]], [(1, "entry"), (1, "exit")])
        self.assertEqual(data["trades"][1]["pnl"], 350.0)
        self.assertEqual(len(data["equity"]), total)
        self.assertEqual(data["equity"][0][0], to_timestamp(START))
        self.assertTrue(all(0 <= p[2] <= 100 for p in data["equity"]))
        self.assertIsNone(data["metrics"]["profit_factor"], "infinity travels as null")
        self.assertEqual(data["complete"]["final_equity"], equity)
        self.assertEqual(data["complete"]["metrics"], data["metrics"])

    def test_an_error_fails_the_run(self):
        s = BacktestStream(self.pub, self.id)
        s.started(strategy="mine", symbol="GOOG", from_time=START, to_time=START, total_bars=1)
        s.error("data feed lost", details="bar 17 missing")
        s.flush(timeout=10)
        data = self.server.snapshot(s.topic)["data"]
        self.assertEqual(data["status"], "failed")
        self.assertEqual(data["error"], {"error": "data feed lost", "details": "bar 17 missing"})
        self.assertIsNone(data["started"]["interval"])

    def test_progress_is_throttled_by_bars_first_and_last_always_sent(self):
        s = BacktestStream(self.pub, self.id, progress_every_bars=10)
        s.started(strategy="x", symbol="GOOG", from_time=START, to_time=START + 35 * DAY,
                  total_bars=35, cash=100)
        sent = [bar for bar in range(1, 36)
                if s.progress(bar, current_time=START + bar * DAY, equity=100) is not None]
        self.assertEqual(sent, [1, 11, 21, 31, 35])
        s.flush(timeout=10)
        self.assertEqual(self.server.snapshot(s.topic)["data"]["progress"]["bars_processed"], 35)

    def test_equity_is_batched(self):
        s = BacktestStream(self.pub, self.id, equity_batch=4)
        s.equity([(START + i * DAY, 100 + i) for i in range(10)])
        s.flush(timeout=10)
        batches = [e["data"]["points"] for e in self.server.poll_all(s.topic)]
        self.assertEqual([len(b) for b in batches], [4, 4, 2])

    def test_bad_values_fail_in_the_caller_naming_the_field(self):
        s = BacktestStream(self.pub, self.id)
        with self.assertRaisesRegex(ValueError, "sharpe"):
            s.metrics(**dict(METRICS, sharpe=float("nan")))
        with self.assertRaisesRegex(ValueError, "side"):
            s.trade(id=1, side="up", action="entry", time=START, price=1, size=1, reason="r")
        with self.assertRaises(ValueError):
            BacktestStream(self.pub, "no spaces")


if __name__ == "__main__":
    unittest.main()
