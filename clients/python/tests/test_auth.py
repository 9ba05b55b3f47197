"""Who may publish: the API key (missing or wrong → 401, never retried; right → ok), and
in token mode a token within its `publish` claim (outside → 403), the API key still
accepted."""

import unittest

from support import ServerTest, unique

from tickwire import Publisher, PublishError

KEY = "producer-key"


def log_line(text: str) -> dict:
    return {"level": "info", "message": text, "target": "auth-test"}


class Helpers:
    def publish_one(self, topic: str, **auth) -> int:
        pub = Publisher(self.server.url, flush_interval=None, **auth)
        try:
            future = pub.publish(topic, "log", log_line("hello"))
            pub.flush(timeout=10)
            return future.result()
        finally:
            try:
                pub.close(timeout=5)
            except PublishError:
                pass

    def refused(self, topic: str, **auth) -> PublishError:
        with self.assertRaises(PublishError) as caught:
            self.publish_one(topic, **auth)
        return caught.exception


class ApiKeyTest(Helpers, ServerTest):
    server_args = ["--feed", "off", "--api-key", KEY]

    def test_the_right_key_publishes(self):
        self.assertEqual(self.publish_one(f"backtest:{unique('k')}", api_key=KEY), 1)

    def test_a_missing_key_is_refused_once(self):
        error = self.refused(f"backtest:{unique('k')}")
        self.assertEqual(error.status, 401)
        self.assertIn("Authorization: Bearer", error.error)

    def test_a_wrong_key_is_refused_once(self):
        pub = Publisher(self.server.url, api_key="nope", flush_interval=None)
        future = pub.publish(f"backtest:{unique('k')}", "log", log_line("x"))
        with self.assertRaises(PublishError) as caught:
            pub.close(timeout=10)
        self.assertEqual(caught.exception.status, 401)
        self.assertIn("wrong", caught.exception.error)
        self.assertEqual(pub.requests, 1, "a 401 is not retried")
        self.assertIsInstance(future.exception(), PublishError)


class TokenModeTest(Helpers, ServerTest):
    server_args = ["--feed", "off", "--api-key", KEY]
    jwt_secret = "a-test-secret-of-reasonable-length"

    def test_a_token_publishes_within_its_publish_claim(self):
        token = self.server.token("alice", "--publish", "backtest:*", "--topics", "backtest:*")
        topic = f"backtest:{unique('t')}"
        self.assertEqual(self.publish_one(topic, token=token), 1)
        self.assertEqual(len(self.server.poll_all(topic, bearer=token)), 1)

    def test_a_token_outside_its_publish_claim_is_forbidden(self):
        token = self.server.token("alice", "--publish", "backtest:mine-*")
        error = self.refused(f"backtest:{unique('theirs')}", token=token)
        self.assertEqual(error.status, 403)
        self.assertIn("may not publish", error.error)

    def test_no_token_is_unauthorized(self):
        self.assertEqual(self.refused(f"backtest:{unique('t')}").status, 401)

    def test_a_bad_token_is_unauthorized(self):
        self.assertEqual(self.refused(f"backtest:{unique('t')}", token="not.a.token").status, 401)

    def test_the_api_key_still_publishes_in_token_mode(self):
        self.assertEqual(self.publish_one(f"backtest:{unique('t')}", api_key=KEY), 1)

    def test_giving_both_is_a_mistake(self):
        with self.assertRaises(ValueError):
            Publisher(self.server.url, api_key=KEY, token="t")


if __name__ == "__main__":
    unittest.main()
