"""TopicLogHandler: records arrive as `log` messages with the protocol's level names,
the logger name (or a fixed target) and `bar`; logging never raises into the caller."""

import logging
import unittest

from support import ServerTest, unique

from tickwire import Publisher, TopicLogHandler
from tickwire.logging_handler import MAX_TEXT_BYTES, protocol_level


class LogHandlerTest(ServerTest):
    def setUp(self):
        super().setUp()
        self.pub = Publisher(self.server.url, flush_interval=None)
        self.addCleanup(self.pub.close, 5)
        self.topic = f"backtest:{unique('log')}"
        self.logger = logging.getLogger(f"strategy.{unique('l')}")
        self.logger.setLevel(1)
        self.logger.propagate = False

    def attach(self, handler: logging.Handler) -> None:
        self.logger.addHandler(handler)
        self.addCleanup(self.logger.removeHandler, handler)

    def test_records_arrive_as_log_messages_with_protocol_levels(self):
        self.attach(TopicLogHandler(self.pub, self.topic))
        self.logger.log(5, "tracing")
        self.logger.debug("debugging %d", 1)
        self.logger.info("bought", extra={"bar": 42})
        self.logger.warning("account low")
        self.logger.error("order refused")
        self.logger.critical("blown")
        self.pub.flush(timeout=10)
        read = self.server.poll_all(self.topic)
        self.assertTrue(all(e["type"] == "log" for e in read))
        self.assertEqual([e["data"]["level"] for e in read],
                         ["trace", "debug", "info", "warn", "error", "error"])
        self.assertEqual(read[1]["data"]["message"], "debugging 1")
        self.assertEqual(read[2]["data"]["bar"], 42)
        self.assertNotIn("bar", read[3]["data"])
        self.assertEqual({e["data"]["target"] for e in read}, {self.logger.name})
        logs = self.server.snapshot(self.topic)["data"]["logs"]
        self.assertEqual(len(logs), 6)

    def test_a_fixed_target_and_a_formatter(self):
        handler = TopicLogHandler(self.pub, self.topic, target="my-engine")
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        self.attach(handler)
        self.logger.info("hello")
        self.pub.flush(timeout=10)
        (line,) = self.server.poll_all(self.topic)
        self.assertEqual(line["data"], {"level": "info", "message": "INFO hello", "target": "my-engine"})

    def test_long_messages_are_cut_to_the_servers_limit(self):
        self.attach(TopicLogHandler(self.pub, self.topic))
        self.logger.info("é" * MAX_TEXT_BYTES)
        self.pub.flush(timeout=10)
        (line,) = self.server.poll_all(self.topic)
        self.assertLessEqual(len(line["data"]["message"].encode()), MAX_TEXT_BYTES)
        self.assertTrue(line["data"]["message"].endswith("…"))

    def test_logging_never_raises_into_the_caller(self):
        failures = []

        class Recording(TopicLogHandler):
            def handleError(self, record):
                failures.append(record.getMessage())

        closed = Publisher(self.server.url)
        closed.close()
        self.attach(Recording(closed, self.topic))
        self.logger.info("after close")  # must not raise
        self.assertEqual(failures, ["after close"])

    def test_only_backtest_topics(self):
        with self.assertRaises(ValueError):
            TopicLogHandler(self.pub, "market:BTC-USD")

    def test_level_mapping(self):
        self.assertEqual([protocol_level(n) for n in (1, 10, 15, 20, 30, 40, 50, 60)],
                         ["trace", "debug", "debug", "info", "warn", "error", "error", "error"])


if __name__ == "__main__":
    unittest.main()
