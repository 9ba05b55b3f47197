#!/usr/bin/env python3
"""The kernel's cost of one WebSocket write on loopback: the floor under any server.

A sender holds SOCKETS loopback TCP connections (TCP_NODELAY, as tickwire's) and, every
INTERVAL_MS, writes one server frame of BYTES to each of them (FRAMES_PER_WRITE frames
in one `send`, as a server gathering frames under a write delay does), MESSAGES times;
a reader in another process drains every socket with epoll, as a load generator does.
It prints the sender's *system* time per `send` and per delivered frame (`getrusage`):
what the kernel charges the sending process, which on loopback includes the receiver's
side of TCP (it runs in the sender's `send`) and waking the reader. A server that makes
one write per socket and message pays at least that much CPU per delivery, whatever its
language; its own work (runtime, framing, wake-ups) comes on top. BENCHMARKS.md
("The loopback floor") records the figures.

    scripts/bench/loopback_floor.py [--sockets 10000] [--interval-ms 100] [--messages 100]
                                    [--bytes 206] [--frames-per-write 1]

Standard library only; Linux only (epoll, getrusage).
"""

import argparse
import resource
import selectors
import socket
import subprocess
import sys
import time


def reader(port: int, sockets: int, expected: int) -> None:
    """Connects `sockets` times to 127.0.0.1:port and drains them until `expected` bytes
    came; prints one line (the bytes) when done."""
    selector = selectors.EpollSelector()
    for _ in range(sockets):
        conn = socket.create_connection(("127.0.0.1", port))
        conn.setblocking(False)
        selector.register(conn, selectors.EVENT_READ)
    print("connected", flush=True)
    got = 0
    while got < expected:
        ready = selector.select(timeout=30)
        if not ready:
            sys.exit(f"reader: nothing came for 30 s ({got} of {expected} bytes read)")
        for key, _ in ready:
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            if not data:
                sys.exit("reader: a socket closed early")
            got += len(data)
    print(got, flush=True)


def frame(payload: int) -> bytes:
    """An unmasked server text frame (RFC 6455) with a payload of `payload` bytes."""
    if payload < 126:
        header = bytes([0x81, payload])
    elif payload < 65536:
        header = bytes([0x81, 126]) + payload.to_bytes(2, "big")
    else:
        sys.exit("--bytes must be under 65536")
    return header + b"x" * payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--interval-ms", type=float, default=100.0)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--bytes", type=int, default=206, help="each frame's payload (206: the bench's log frame)")
    parser.add_argument("--frames-per-write", type=int, default=1)
    parser.add_argument("--reader", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--expected", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name in ("sockets", "messages", "bytes", "frames_per_write"):
        if getattr(args, name) < 1:
            sys.exit(f"--{name.replace('_', '-')} must be at least 1")
    if args.interval_ms <= 0:
        sys.exit("--interval-ms must be above 0")
    if args.messages < args.frames_per_write:
        sys.exit("--messages must be at least --frames-per-write (one write's worth)")
    # Each process holds one descriptor per socket, and a few of its own.
    open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if args.sockets > open_files - 16:
        sys.exit(f"--sockets {args.sockets} needs more open files than this process may "
                 f"have ({open_files}, `ulimit -n`)")
    if args.reader is not None:
        return reader(args.reader, args.sockets, args.expected)

    write = frame(args.bytes) * args.frames_per_write
    writes = args.messages // args.frames_per_write
    listener = socket.create_server(("127.0.0.1", 0), backlog=args.sockets)
    port = listener.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, __file__, "--reader", str(port), "--sockets", str(args.sockets),
         "--expected", str(len(write) * writes * args.sockets)],
        stdout=subprocess.PIPE, text=True)
    # A reader that cannot open them all (say, out of local ports) must not hang us.
    listener.settimeout(30)
    conns = []
    try:
        for _ in range(args.sockets):
            conn, _ = listener.accept()
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conns.append(conn)
    except TimeoutError:
        child.kill()
        sys.exit(f"reader: only {len(conns)} of {args.sockets} sockets connected within 30 s")
    if child.stdout.readline().strip() != "connected":
        sys.exit("reader: did not connect")

    interval = args.interval_ms * args.frames_per_write / 1000
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    for i in range(writes):
        for conn in conns:
            conn.sendall(write)
        pause = started + (i + 1) * interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    after, took = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - started
    got = child.stdout.readline().strip()
    if child.wait() != 0 or not got:
        sys.exit("reader: failed")

    sends = writes * args.sockets
    system_us = (after.ru_stime - before.ru_stime) * 1e6
    user_us = (after.ru_utime - before.ru_utime) * 1e6
    print(f"{args.sockets} sockets, {writes} writes each of {args.frames_per_write} frame(s) of "
          f"{args.bytes} B, one every {interval * 1000:g} ms ({took:.2f} s; offered "
          f"{writes * interval:.2f} s)")
    print(f"sender system time: {system_us / sends:.2f} µs per send, "
          f"{system_us / (sends * args.frames_per_write):.2f} µs per delivered frame "
          f"(user: {user_us / sends:.2f} µs per send, Python's own)")
    listener.close()


if __name__ == "__main__":
    main()
