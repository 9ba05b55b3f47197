"""Publisher against a real server: batching and order, a refused message, retries with
backoff (through a proxy that fails on purpose, and before the server is up), the
bounded queue, closing."""

import time
import unittest

from support import FlakyProxy, SchemaCheckedTest, Server, ServerTest, free_port, unique, wait_for

from tickwire import Publisher, PublisherClosed, PublishError, QueueFull

KEY = "test-key"


def tick(price: float) -> dict:
    """A valid `tick` payload."""
    return {"symbol": "PYTEST", "price": price, "change_pct": 0.0, "volume": 1.0}


class PublisherTest(ServerTest):
    server_args = ["--feed", "off", "--api-key", KEY]

    def publisher(self, url=None, **kwargs) -> Publisher:
        kwargs.setdefault("api_key", KEY)
        pub = Publisher(url or self.server.url, **kwargs)
        self.addCleanup(self._close_quietly, pub)
        return pub

    @staticmethod
    def _close_quietly(pub: Publisher) -> None:
        try:
            pub.close(timeout=5)
        except PublishError:
            pass

    def proxy(self, **kwargs) -> FlakyProxy:
        proxy = FlakyProxy(self.server.url, **kwargs)
        self.addCleanup(proxy.close)
        return proxy

    def test_batches_arrive_in_order_with_contiguous_seqs(self):
        a, b = f"market:{unique('A').upper()}", f"backtest:{unique('b')}"
        pub = self.publisher(batch_size=7, flush_interval=None)
        futures_a, futures_b = [], []
        for i in range(50):
            futures_a.append(pub.publish(a, "tick", tick(i + 1)))
            if i % 5 == 0:
                futures_b.append(pub.publish(b, "log", {"level": "info", "message": f"line {i}", "target": "t"}))
        self.assertTrue(pub.flush(timeout=10))
        self.assertEqual([f.result() for f in futures_a], list(range(1, 51)))
        self.assertEqual([f.result() for f in futures_b], list(range(1, 11)))
        self.assertEqual(pub.requests, 9, "60 messages in batches of 7 take 9 requests")
        self.assertEqual(pub.last_seqs[a], 50)

        read = self.server.poll_all(a)
        self.assertEqual([e["seq"] for e in read], list(range(1, 51)))
        self.assertEqual([e["data"]["price"] for e in read], [float(i + 1) for i in range(50)])
        self.assertTrue(all(e["type"] == "tick" and e["topic"] == a for e in read))
        self.assertEqual(len({e["epoch"] for e in read}), 1)
        logs = self.server.poll_all(b)
        self.assertEqual([e["data"]["message"] for e in logs], [f"line {i}" for i in range(0, 50, 5)])

    def test_flush_interval_sends_without_an_explicit_flush(self):
        topic = f"backtest:{unique('fi')}"
        pub = self.publisher(flush_interval=0.02)
        future = pub.publish(topic, "log", {"level": "info", "message": "soon", "target": "t"})
        self.assertEqual(future.result(timeout=10), 1)

    def test_a_refused_message_names_its_field_is_not_retried_and_spares_its_batch(self):
        topic = f"market:{unique('R').upper()}"
        proxy = self.proxy()
        pub = self.publisher(proxy.url, flush_interval=None, max_retries=5)
        good1 = pub.publish(topic, "tick", tick(1))
        bad = pub.publish(topic, "tick", tick(-1))
        good2 = pub.publish(topic, "tick", tick(2))
        with self.assertRaises(PublishError) as caught:
            pub.flush(timeout=10)
        error = caught.exception
        self.assertEqual(error.status, 422)
        self.assertEqual(error.field, "data.price")
        self.assertIn("`data.price` must be a positive number, got -1", error.error)
        refused = [dict(m) for m in error.messages]
        self.assertTrue(refused[0].pop("idempotency_key"), "sent with its key")
        self.assertEqual(refused, [{"topic": topic, "type": "tick", "data": tick(-1)}])
        self.assertIs(bad.exception(), error)
        self.assertEqual((good1.result(), good2.result()), (1, 2))
        bodies = proxy.publish_bodies()
        self.assertEqual([len(b["messages"]) for b in bodies], [3, 2], "refused once, never retried")
        self.assertEqual([e["data"]["price"] for e in self.server.poll_all(topic)], [1.0, 2.0])
        self.assertEqual(pub.errors, [error])
        pub.flush(timeout=10)  # reported once: a second flush does not raise it again

    def test_a_message_for_the_wrong_topic_kind_is_refused(self):
        pub = self.publisher(flush_interval=None)
        future = pub.publish(f"market:{unique('W').upper()}", "log",
                             {"level": "info", "message": "x", "target": "t"})
        with self.assertRaises(PublishError) as caught:
            pub.flush(timeout=10)
        self.assertEqual(caught.exception.status, 422)
        self.assertIn("cannot be published on a market topic", caught.exception.error)
        self.assertIsInstance(future.exception(), PublishError)

    def test_retries_503_with_backoff_then_delivers(self):
        topic = f"market:{unique('B').upper()}"
        proxy = self.proxy(fail=2, status=503)
        pub = self.publisher(proxy.url, backoff_base=0.2, backoff_cap=2.0, flush_interval=None)
        started = time.monotonic()
        future = pub.publish(topic, "tick", tick(5))
        pub.flush(timeout=20)
        elapsed = time.monotonic() - started
        self.assertEqual(future.result(), 1)
        self.assertEqual(len(proxy.publish_bodies()), 3)
        # Equal jitter: the first retry waits at least 0.1 s, the second at least 0.2 s.
        self.assertGreaterEqual(elapsed, 0.3)
        self.assertEqual(len(self.server.poll_all(topic)), 1, "published once")

    def test_a_batch_cut_after_it_was_published_is_retried_and_lands_once(self):
        topic = f"market:{unique('C').upper()}"
        proxy = self.proxy(cut=1)
        pub = self.publisher(proxy.url, batch_size=5, backoff_base=0.01, flush_interval=None)
        futures = [pub.publish(topic, "tick", tick(i + 1)) for i in range(5)]
        pub.flush(timeout=20)
        self.assertEqual([f.result() for f in futures], [1, 2, 3, 4, 5])
        first, retry = proxy.publish_bodies()
        self.assertEqual(first, retry, "the retry carries the same idempotency keys")
        self.assertEqual(len({m["idempotency_key"] for m in first["messages"]}), 5)
        read = self.server.poll_all(topic)
        self.assertEqual([e["seq"] for e in read], [1, 2, 3, 4, 5], "each message published once")

    def test_without_keys_a_cut_batch_is_published_twice(self):
        topic = f"market:{unique('W').upper()}"
        proxy = self.proxy(cut=1)
        pub = self.publisher(proxy.url, backoff_base=0.01, flush_interval=None, idempotency_keys=False)
        future = pub.publish(topic, "tick", tick(1))
        pub.flush(timeout=20)
        self.assertEqual(future.result(), 2)
        self.assertNotIn("idempotency_key", proxy.publish_bodies()[0]["messages"][0])
        self.assertEqual(len(self.server.poll_all(topic)), 2, "at-least-once without keys")

    def test_retry_after_is_honoured_on_429(self):
        topic = f"market:{unique('T').upper()}"
        proxy = self.proxy(fail=1, status=429, retry_after="1")
        pub = self.publisher(proxy.url, backoff_base=0.01, flush_interval=None)
        started = time.monotonic()
        future = pub.publish(topic, "tick", tick(5))
        pub.flush(timeout=20)
        self.assertEqual(future.result(), 1)
        self.assertGreaterEqual(time.monotonic() - started, 1.0)

    def test_gives_up_after_max_retries(self):
        proxy = self.proxy(fail=100, status=502)
        pub = self.publisher(proxy.url, max_retries=2, backoff_base=0.01, flush_interval=None)
        future = pub.publish(f"market:{unique('G').upper()}", "tick", tick(5))
        with self.assertRaises(PublishError) as caught:
            pub.flush(timeout=20)
        self.assertEqual(caught.exception.status, 502)
        self.assertIn("gave up after 3 attempts", caught.exception.error)
        self.assertEqual(len(proxy.publish_bodies()), 3)
        self.assertIs(future.exception(), caught.exception)

    def test_order_holds_when_the_first_batch_is_retried(self):
        topic = f"market:{unique('O').upper()}"
        proxy = self.proxy(fail=2, status=503, retry_after="0")
        pub = self.publisher(proxy.url, batch_size=3, flush_interval=None)
        futures = [pub.publish(topic, "tick", tick(i + 1)) for i in range(9)]
        pub.flush(timeout=20)
        self.assertEqual([f.result() for f in futures], list(range(1, 10)))
        self.assertEqual([e["data"]["price"] for e in self.server.poll_all(topic)],
                         [float(i + 1) for i in range(9)])

    def test_the_queue_is_bounded(self):
        closed_port = free_port()
        pub = self.publisher(f"http://127.0.0.1:{closed_port}", batch_size=1, max_queue=2,
                             max_retries=1000, backoff_base=5, flush_interval=0)
        pub.publish("market:Q", "tick", tick(1), block=False)
        wait_for(lambda: pub.requests >= 1, 10, "the first message in flight")
        accepted = 0
        with self.assertRaises(QueueFull):
            for i in range(10):
                pub.publish("market:Q", "tick", tick(1), block=False)
                accepted += 1
        self.assertEqual(accepted, 2, "one message in flight, two queued, no more")
        started = time.monotonic()
        with self.assertRaises(QueueFull):
            pub.publish("market:Q", "tick", tick(1), timeout=0.2)
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        with self.assertRaises(PublishError):
            pub.close(timeout=0.5)
        self.assertEqual(pub.pending, 0, "close() resolved every future")

    def test_the_context_manager_flushes_and_closes(self):
        topic = f"market:{unique('C').upper()}"
        with Publisher(self.server.url, api_key=KEY, flush_interval=None) as pub:
            futures = [pub.publish(topic, "tick", tick(i + 1)) for i in range(3)]
        self.assertEqual([f.result(timeout=0) for f in futures], [1, 2, 3])
        with self.assertRaises(PublisherClosed):
            pub.publish(topic, "tick", tick(1))

    def test_values_json_cannot_carry_fail_in_the_caller(self):
        pub = self.publisher()
        with self.assertRaises(ValueError):
            pub.publish("market:X", "tick", tick(float("nan")))


class LateServerTest(SchemaCheckedTest):
    def test_delivers_once_the_server_comes_up(self):
        port = free_port()
        pub = Publisher(f"http://127.0.0.1:{port}", api_key=KEY, max_retries=60,
                        backoff_base=0.05, backoff_cap=0.5)
        future = pub.publish("market:LATE", "tick", tick(3))
        wait_for(lambda: pub.requests >= 2, 10, "a retry while the server is down")
        self.assertFalse(future.done())
        server = Server("--feed", "off", "--api-key", KEY, port=port).start()
        try:
            self.assertEqual(future.result(timeout=30), 1)
            pub.close(timeout=10)
            self.assertGreater(pub.requests, 1, "it retried while the server was down")
            self.assertEqual([e["data"]["price"] for e in server.poll_all("market:LATE")], [3.0])
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
