"""run_sweep() starts a sweep on the shipped GOOG data and follows it to its end: every
combination's result arrives, those the strategy refuses say so, the best is first in
the snapshot's top, and a grid past --max-sweep-combos is refused naming it."""

import unittest

from support import REPO_ROOT, ServerTest

from tickwire import run_sweep
from tickwire.errors import ApiError


class SweepTest(ServerTest):
    server_args = ["--feed", "off", "--data-dir", str(REPO_ROOT / "data"), "--max-sweep-combos", "500"]

    def test_a_sweep_runs_every_combination_and_ranks_them(self):
        looks = []
        out = run_sweep(
            self.server.url,
            "sma_cross",
            {"fast": [5, 10, 20], "slow": {"from": 10, "to": 30, "step": 10}},
            dataset="GOOG",
            objective="sharpe",
            top_n=3,
            poll_interval=0.05,
            on_progress=looks.append,
        )
        self.assertEqual(out["sweep"]["combos"], 9)
        self.assertEqual(out["state"]["status"], "complete")
        self.assertTrue(looks, "on_progress saw the sweep")
        results = out["results"]
        self.assertEqual([r["index"] for r in results], list(range(9)))
        refused = [r for r in results if r.get("skipped")]
        # fast 10 with slow 10, fast 20 with slow 10 and 20.
        self.assertEqual(len(refused), 3, refused)
        ran = [r for r in results if not r.get("skipped")]
        best = max(ran, key=lambda r: (r["value"], -r["index"]))
        self.assertEqual(out["state"]["top"][0]["params"], best["params"])
        self.assertEqual(best["value"], best["metrics"]["sharpe"])

    def test_a_grid_too_large_is_refused_naming_the_limit(self):
        with self.assertRaises(ApiError) as refused:
            run_sweep(self.server.url, "sma_cross",
                      {"fast": {"from": 1, "to": 100, "step": 1}, "slow": [200, 300, 400, 500, 600, 700]},
                      dataset="GOOG")
        self.assertEqual(refused.exception.status, 422)
        self.assertIn("--max-sweep-combos allows 500", str(refused.exception))


if __name__ == "__main__":
    unittest.main()
