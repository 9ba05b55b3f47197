#!/usr/bin/env python3
"""Bytes per viewer of a 20-symbol watchlist, and what two ways of sending fewer cost
(issue 33, item 3; BENCHMARKS.md, "Rates per viewer").

Starts the release server with a synthetic feed of 20 symbols, follows all 20 market
topics on one socket for --seconds, and for the frames it received reports, per viewer
and second:

- the bytes as sent (uncompressed);
- permessage-deflate (RFC 7692) with context takeover (one raw-deflate stream per
  socket, each message flushed with Z_SYNC_FLUSH and its trailing 00 00 ff ff dropped)
  and without it (a fresh stream per message), and zlib's CPU per message for each
  (CPython's zlib is the C zlib, the same work a server's deflate does);
- the frames if an open candle, a tick or analysis carried only the `data` fields that
  changed since the previous message of its kind on its topic (a delta encoding).

Each with and without `max_rate` (the socket asks --max-rate of every topic).

    scripts/bench/watchlist_bytes.py [--seconds 20] [--max-rate 2]

Needs `target/release/tickwire` (scripts/env.sh: build_release) and the `websockets`
package of target/peers-venv (scripts/bench/peers.sh installs it).
"""

import argparse
import asyncio
import json
import socket
import subprocess
import time
import zlib

import websockets

SYMBOLS = [f"SYM{i:02d}" for i in range(20)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def collect(port: int, seconds: float, max_rate) -> list:
    frames = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/ws", compression=None,
                                  max_size=None) as ws:
        for symbol in SYMBOLS:
            action = {"action": "subscribe", "topic": f"market:{symbol}"}
            if max_rate:
                action["max_rate"] = max_rate
            await ws.send(json.dumps(action))
        deadline = time.monotonic() + seconds
        started = False
        while time.monotonic() < deadline:
            try:
                text = await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
            except asyncio.TimeoutError:
                break
            frame = json.loads(text)
            # Published messages only: snapshots are what any encoding sends once.
            if "seq" in frame and frame.get("type") != "snapshot":
                started = True
                frames.append(text)
            elif started:
                frames.append(text)
    return frames


def deflate(frames: list, takeover: bool):
    """Total compressed bytes and CPU seconds for `frames`."""
    total, cpu = 0, 0.0
    stream = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    for text in frames:
        data = text.encode()
        t0 = time.process_time()
        if not takeover:
            stream = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        out = stream.compress(data) + stream.flush(zlib.Z_SYNC_FLUSH)
        cpu += time.process_time() - t0
        if out.endswith(b"\x00\x00\xff\xff"):
            out = out[:-4]
        total += len(out)
    return total, cpu


def delta(frames: list) -> int:
    """Bytes if each message's `data` carried only the fields that changed since the
    previous message of its type on its topic (the envelope's other fields as sent)."""
    last = {}
    total = 0
    for text in frames:
        frame = json.loads(text)
        if "data" not in frame or not isinstance(frame["data"], dict):
            total += len(text.encode())
            continue
        key = (frame.get("topic"), frame.get("type"))
        previous = last.get(key)
        data = frame["data"]
        last[key] = data
        if previous is None:
            total += len(text.encode())
            continue
        changed = {k: v for k, v in data.items() if previous.get(k) != v}
        slim = dict(frame, data=changed)
        total += len(json.dumps(slim, separators=(",", ":")).encode())
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--max-rate", type=float, default=2.0)
    parser.add_argument("--tick-ms", type=int, default=250)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        ["target/release/tickwire", "serve", "--addr", f"127.0.0.1:{port}",
         "--database-url", "none", "--symbols", ",".join(SYMBOLS),
         "--tick-ms", str(args.tick_ms), "--interval", "5s"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        print(f"{len(SYMBOLS)} market topics on one socket, --tick-ms {args.tick_ms}, "
              f"{args.seconds:g} s each way")
        print()
        print("| subscription | frames/s | sent B/s | deflate, takeover B/s (zlib µs/msg) "
              "| deflate, no takeover B/s (zlib µs/msg) | changed fields only B/s |")
        print("| --- | --- | --- | --- | --- | --- |")
        for rate in (None, args.max_rate):
            frames = asyncio.run(collect(port, args.seconds, rate))
            n = max(len(frames), 1)
            raw = sum(len(f.encode()) for f in frames)
            kept, kept_cpu = deflate(frames, True)
            fresh, fresh_cpu = deflate(frames, False)
            slim = delta(frames)
            per_s = lambda b: f"{b / args.seconds:,.0f}"
            name = "every message" if rate is None else f"max_rate {rate:g}"
            print(f"| {name} | {len(frames) / args.seconds:,.1f} | {per_s(raw)} "
                  f"| {per_s(kept)} ({kept_cpu / n * 1e6:.1f}) "
                  f"| {per_s(fresh)} ({fresh_cpu / n * 1e6:.1f}) | {per_s(slim)} |")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
