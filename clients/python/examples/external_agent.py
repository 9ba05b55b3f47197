"""An outside "brain" for a tickwire paper-trading session with ``"strategy":
"external"``: for every closed candle it streams its reasoning as ``thinking`` chunks,
then posts a decision from a short/long SMA rule over the closes it has seen.

The rule: while the short SMA is above the long one it wants to be long, below it
short; it says ``buy`` or ``sell`` when that differs from what it holds and ``hold``
otherwise. Confidence grows with the gap between the two means.

Run it against a server (standard library only, no venv needed)::

    tickwire serve --interval 5s &
    python3 clients/python/examples/external_agent.py --url http://127.0.0.1:3000 \\
        --start GOOG            # starts an external session on GOOG and drives it
    python3 clients/python/examples/external_agent.py --session s-01j...   # an existing one

In token mode pass ``--token`` (the session's owner's).
"""

import argparse
import os
import sys
from collections import deque

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # run from a checkout

from tickwire import ApiError, SessionAgent, start_session  # noqa: E402


def sma(values, n):
    """Mean of the last ``n`` values, or None with fewer than ``n``."""
    return sum(list(values)[-n:]) / n if len(values) >= n else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--session", help="id of an external session to drive")
    which.add_argument("--start", metavar="SYMBOL", help="start an external session on SYMBOL")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--token", help="a token of the session's owner (token mode)")
    auth.add_argument("--api-key", help="a bearer key instead of a token")
    parser.add_argument("--short", type=int, default=3, help="short SMA length")
    parser.add_argument("--long", type=int, default=8, help="long SMA length")
    parser.add_argument("--bars", type=int, default=0, help="stop after this many decisions (0: never)")
    args = parser.parse_args()
    if not 1 <= args.short < args.long:
        parser.error("--short must be at least 1 and below --long")

    session_id = args.session
    if args.start:
        info = start_session(args.url, args.start, token=args.token, api_key=args.api_key)
        session_id = info["session_id"]
        print(f"started {info['topic']} on {info['symbol']}")
    agent = SessionAgent(args.url, session_id, token=args.token, api_key=args.api_key)

    closes = deque(maxlen=args.long + 1)
    holding = "flat"
    decisions = 0
    for candle in agent.candles():
        closes.append(candle["close"])
        if not agent.is_latest(candle):
            continue  # history: warm the means up, decide only on the bar at hand
        short, long_ = sma(closes, args.short), sma(closes, args.long)
        try:
            agent.thinking(f"Bar {candle['open_time']} closed at {candle['close']:.7g}.")
            if short is None or long_ is None:
                reasoning = (f"Only {len(closes)} closes seen; the {args.long}-bar mean needs "
                             f"{args.long}. Waiting.")
                agent.decide("hold", reasoning, confidence=1.0)
            else:
                gap = (short - long_) / long_ * 100
                agent.thinking(f"SMA {args.short} is {short:.7g}, SMA {args.long} is "
                               f"{long_:.7g} ({gap:+.3f} %).")
                want = "long" if short > long_ else "short" if short < long_ else holding
                if want == holding:
                    action = "hold"
                    reasoning = f"The means still say {want}; keep the {holding} position."
                else:
                    action = "buy" if want == "long" else "sell"
                    reasoning = (f"SMA {args.short} is now {'above' if want == 'long' else 'below'} "
                                 f"SMA {args.long}: go {want}.")
                    holding = want
                confidence = min(1.0, abs(gap) / 0.5)
                agent.decide(action, reasoning, confidence=round(confidence, 3))
            print(f"{candle['open_time']} close {candle['close']:.7g}: decided")
        except ApiError as e:
            if e.status == 409:  # finished, or not an external session
                print(f"the session refused: {e.error}", file=sys.stderr)
                return 1
            raise
        decisions += 1
        if args.bars and decisions >= args.bars:
            break
    if agent.completed:
        print(f"session completed: {agent.completed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
