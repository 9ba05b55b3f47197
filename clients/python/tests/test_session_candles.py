"""SessionAgent.candles() follows a session topic through the polling endpoint: closed
candles in order, none twice, from history or from now, and across a `resync` when the
start of the topic is no longer retained. Uses a built-in strategy, so it runs on any
server with sessions (no external-session endpoints needed)."""

import datetime as dt
import itertools
import unittest
import urllib.request

from support import ServerTest, unique, wait_for

from tickwire import SessionAgent, start_session
from tickwire.errors import ApiError

FEED = ["--interval", "1s", "--symbols", "GOOG", "--tick-ms", "100"]


def parse(ts: str) -> dt.datetime:
    return dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f%z")


class CandlesTest(ServerTest):
    server_args = FEED + ["--history", "24"]

    def start(self) -> SessionAgent:
        info = start_session(self.server.url, "GOOG", "sma_cross",
                             params={"fast": 2, "slow": 3}, id=unique("s"))
        self.assertEqual(info["topic"], f"session:{info['session_id']}")
        self.addCleanup(self.stop_session, info["session_id"])
        return SessionAgent(self.server.url, info["session_id"], poll_interval=0.1)

    def stop_session(self, session_id: str) -> None:
        req = urllib.request.Request(f"{self.server.url}/api/sessions/{session_id}", method="DELETE")
        urllib.request.urlopen(req, timeout=5).close()

    def assert_consecutive(self, candles):
        times = [parse(c["open_time"]) for c in candles]
        self.assertEqual([b - a for a, b in zip(times, times[1:])],
                         [dt.timedelta(seconds=1)] * (len(times) - 1), times)
        self.assertTrue(all(c["closed"] and c["symbol"] == "GOOG" for c in candles))

    def test_closed_candles_in_order(self):
        agent = self.start()
        candles = list(itertools.islice(agent.candles(), 3))
        self.assert_consecutive(candles)
        self.assertTrue(agent.is_latest(candles[-1]))
        self.assertEqual(agent.epoch, self.server.snapshot(agent.topic)["epoch"])

    def test_from_now_skips_history(self):
        agent = self.start()
        wait_for(lambda: self.server.snapshot(agent.topic)["data"]["candles"], 15, "a first candle")
        before = self.server.snapshot(agent.topic)["data"]["candles"][-1]["open_time"]
        first = next(agent.candles(history=False))
        self.assertGreater(first["open_time"], before)

    def test_a_resync_is_followed_without_gap_or_duplicate(self):
        agent = self.start()
        # Let the 24 retained messages roll past seq 1, so `since=0` gets a resync.
        wait_for(lambda: self.server.snapshot(agent.topic)["last_seq"] > 40, 30, "40 messages")
        retained = self.server.snapshot(agent.topic)["data"]["candles"]
        candles = list(itertools.islice(agent.candles(), len(retained) + 2))
        self.assertEqual(candles[: len(retained)], retained, "history from the resync snapshot")
        self.assert_consecutive(candles)

    def test_a_poll_at_a_rate_keeps_every_closed_candle_and_accounts_for_every_seq(self):
        agent = self.start()
        wait_for(lambda: self.server.snapshot(agent.topic)["last_seq"] > 30, 30, "30 messages")
        snap = self.server.snapshot(agent.topic)
        since, epoch = snap["last_seq"] - 20, snap["epoch"]
        every = agent.poll(since, epoch)
        paced = agent.poll(since, epoch, max_rate=1)
        # The paced page accounts for every seq after `since`: each message is the
        # next one once what it stands for is counted.
        last = since
        for message in paced["messages"]:
            self.assertEqual(message["seq"] - message.get("conflated", 0), last + 1, message)
            last = message["seq"]
        self.assertEqual(last, paced["next_seq"] - 1)
        both = min(last, every["next_seq"] - 1)
        closed = lambda page: [m["seq"] for m in page["messages"]
                               if m["type"] == "candle" and m["data"]["closed"] and m["seq"] <= both]
        self.assertEqual(closed(paced), closed(every), "every closed candle")
        with self.assertRaises(ApiError) as refused:
            agent.poll(since, epoch, max_rate=0)
        self.assertEqual(refused.exception.status, 400)
        self.assertIn("invalid max_rate", refused.exception.error)

if __name__ == "__main__":
    unittest.main()
