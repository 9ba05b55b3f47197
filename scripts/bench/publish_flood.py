#!/usr/bin/env python3
"""What a flood of large publishes without a token costs the server (issue 29, item 3).

Starts the release `tickwire serve` in token mode, then sends CLIENTS concurrent
`POST /api/publish` requests of BYTES of JSON each, with no token, ROUNDS times, and
prints the server's resident memory before and its peak after (VmRSS, VmHWM from
/proc). Before the fix the server read and parsed every body into a JSON tree before
looking at the token; now it answers 401 from the headers, so the peak hardly moves.

    scripts/bench/publish_flood.py [--clients 4] [--bytes 16000000] [--rounds 3]
                                   [--bin target/release/tickwire] [--signed]

With --signed the requests carry a token allowed to publish, so each body is read and
parsed before it is refused (a 16 MB log line breaks the 8 KiB rule): what an
authorised producer can cost, bounded by --max-body-bytes-in-flight.

Standard library only; Linux only (/proc). BENCHMARKS.md records the figures.
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time

from served import memory_report, status_kib, tickwire

SECRET = "a-benchmark-secret-of-at-least-32-bytes!"


def flood(port: int, size: int, token: str, answers: list) -> None:
    """One request of `size` bytes (a JSON string inside a message), with `token` if any."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}"
        f"Content-Type: application/json\r\nContent-Length: {size}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    prefix = b'{"topic":"market:ACME","type":"log","data":{"message":"'
    suffix = b'"}}'
    body = prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(head)
        try:
            s.sendall(body)
        except OSError:
            pass  # refused before the body: the server closed its side
        s.settimeout(30)
        try:
            answers.append(s.recv(64).split(b"\r\n")[0].decode())
        except OSError as e:
            answers.append(f"no answer ({e})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--bytes", type=int, default=16_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bin", default="target/release/tickwire")
    parser.add_argument(
        "--signed",
        action="store_true",
        help="send a token allowed to publish: the bodies are read and parsed (then refused: a log line is at most 8 KiB)",
    )
    args = parser.parse_args()
    token = ""
    if args.signed:
        token = subprocess.run(
            [args.bin, "token", "--sub", "flood", "--publish", "*"],
            env={**os.environ, "TICKWIRE_JWT_SECRET": SECRET},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    with tickwire(args.bin, ["--feed", "off"], {"TICKWIRE_JWT_SECRET": SECRET}) as (pid, port):
        before = status_kib(pid, "VmRSS")
        answers: list = []
        started = time.monotonic()
        for _ in range(args.rounds):
            threads = [
                threading.Thread(target=flood, args=(port, args.bytes, token, answers))
                for _ in range(args.clients)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        took = time.monotonic() - started
        kinds = sorted(set(answers))
        print(
            f"{args.rounds} rounds of {args.clients} {'signed' if token else 'tokenless'} publishes of "
            f"{args.bytes / 1e6:.0f} MB in {took:.2f} s; answers: {kinds}"
        )
        print(memory_report(pid, before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
