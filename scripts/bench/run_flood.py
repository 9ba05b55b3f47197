#!/usr/bin/env python3
"""What a flood of chatty backtests costs the server's memory (issue 29, item 2).

Starts the release `tickwire serve`, then starts RUNS backtests on DATASET with
`progress_every_bars: 1` (a progress message at every bar, the most a run may record),
as fast as the server takes them (a 429 at `--max-backtests` is retried once a run
ends), and prints the server's resident memory before, at its peak and once the runs
are done (VmRSS, VmHWM from /proc). Finished runs keep their records for
`--retain-runs`, within `--retain-runs-bytes`: the peak stays near that budget however
many runs come.

    scripts/bench/run_flood.py [--runs 160] [--dataset EURUSD] [--bin target/release/tickwire]
                               [-- SERVER FLAGS...]

Standard library only; Linux only (/proc). BENCHMARKS.md records the figures.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request

from served import memory_report, status_kib, tickwire


def post(url: str, body: dict) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as e:
        return e.code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=160)
    parser.add_argument("--dataset", default="EURUSD")
    parser.add_argument("--bin", default="target/release/tickwire")
    parser.add_argument("flags", nargs="*", help="more `serve` flags (after --)")
    args = parser.parse_args()
    flags = ["--feed", "off", "--data-dir", "data", *args.flags]
    with tickwire(args.bin, flags) as (pid, port):
        base = f"http://127.0.0.1:{port}"
        before = status_kib(pid, "VmRSS")
        started, refused = 0, 0
        t0 = time.monotonic()
        while started < args.runs:
            body = {
                "dataset": args.dataset,
                "strategy": "sma_cross",
                "params": {"fast": 2, "slow": 3},
                "progress_every_bars": 1,
            }
            status = post(f"{base}/api/backtests", body)
            if status == 201:
                started += 1
            elif status == 429:
                refused += 1
                time.sleep(0.01)
            else:
                print(f"unexpected {status}", file=sys.stderr)
                return 1
        took = time.monotonic() - t0
        # Until the last runs have ended (their topics stop growing).
        while True:
            with urllib.request.urlopen(f"{base}/api/ws/health", timeout=30) as answer:
                health = json.load(answer)
            time.sleep(0.5)
            with urllib.request.urlopen(f"{base}/api/ws/health", timeout=30) as answer:
                later = json.load(answer)
            if later["messages_in"] == health["messages_in"]:
                break
        print(
            f"{started} {args.dataset} runs with progress at every bar started in {took:.1f} s "
            f"({refused} answers 429 while {args.runs} went through)"
        )
        print(memory_report(pid, before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
