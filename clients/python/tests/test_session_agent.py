"""SessionAgent against a session with `"strategy": "external"`: it reads a closed
candle, posts thinking chunks and a buy decision, and the session's topic shows
`thinking`, `decision` and `position_opened`; the endpoints' refusals (403 another
user, 404 unknown session, 409 not external, 422 bad field) reach the caller as
ApiError. Needs the server's external-session endpoints (docs/SPEC.md section 5)."""

import unittest

from support import ServerTest, unique, wait_for

from tickwire import ApiError, SessionAgent, start_session

FEED = ["--feed", "synthetic", "--interval", "1s", "--symbols", "GOOG", "--tick-ms", "100"]


class SessionAgentTest(ServerTest):
    server_args = FEED
    jwt_secret = "session-agent-test-secret-of-32-bytes"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.server.token("alice")
        cls.bob = cls.server.token("bob")

    def external_session(self) -> SessionAgent:
        info = start_session(self.server.url, "GOOG", token=self.alice, id=unique("ext"))
        self.assertEqual(info["strategy"], "external")
        return SessionAgent(self.server.url, info["session_id"], token=self.alice, poll_interval=0.1)

    def test_an_agent_thinks_decides_and_the_session_trades(self):
        agent = self.external_session()
        candle = next(c for c in agent.candles() if agent.is_latest(c))
        self.assertTrue(candle["closed"])
        agent.thinking("Close is above the 2-bar mean.")
        agent.thinking("Momentum agrees.")
        agent.decide("buy", "Close above the mean with momentum.", confidence=0.8)

        def shown():
            types = {}
            for e in self.server.poll_all(agent.topic, bearer=self.alice):
                types.setdefault(e["type"], []).append(e["data"])
            return types if "position_opened" in types else None

        types = wait_for(shown, 15, "position_opened on the session topic")
        chunks = [t["chunk"] for t in types["thinking"]]
        self.assertIn("Close is above the 2-bar mean.", chunks)
        self.assertIn("Momentum agrees.", chunks)
        decision = types["decision"][-1]
        self.assertEqual(decision["action"], "buy")
        self.assertIn("Close above the mean with momentum.", decision["reasoning"])
        self.assertEqual(types["position_opened"][0]["side"], "long")

    def test_another_user_is_forbidden(self):
        agent = self.external_session()
        intruder = SessionAgent(self.server.url, agent.session_id, token=self.bob)
        with self.assertRaises(ApiError) as caught:
            intruder.decide("sell", "not mine")
        self.assertEqual(caught.exception.status, 403)

    def test_an_unknown_session_is_not_found(self):
        nobody = unique("nobody")
        with self.assertRaises(ApiError) as caught:
            SessionAgent(self.server.url, nobody, token=self.alice).thinking("hello?")
        self.assertEqual(caught.exception.status, 404)
        self.assertEqual(caught.exception.details, {"id": nobody})

    def test_a_built_in_strategy_takes_no_outside_decisions(self):
        info = start_session(self.server.url, "GOOG", "sma_cross", token=self.alice,
                             params={"fast": 2, "slow": 3})
        agent = SessionAgent(self.server.url, info["session_id"], token=self.alice)
        with self.assertRaises(ApiError) as caught:
            agent.decide("hold", "I am not in charge here")
        self.assertEqual(caught.exception.status, 409)

    def test_a_bad_field_is_named(self):
        agent = self.external_session()
        with self.assertRaises(ApiError) as caught:
            agent._post("decision", {"action": "buy", "reasoning": "r", "confidence": 2})
        self.assertEqual(caught.exception.status, 422)
        self.assertIn("confidence", caught.exception.error)
        with self.assertRaises(ApiError) as caught:
            agent._post("decision", {"action": "moon", "reasoning": "r"})
        self.assertEqual(caught.exception.status, 422)
        self.assertEqual(caught.exception.field, "action")


if __name__ == "__main__":
    unittest.main()
