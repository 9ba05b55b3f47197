"""What the flood benchmarks share (publish_flood.py, run_flood.py): a tickwire serving
on a free loopback port, and its memory as /proc tells it. Standard library only;
Linux only (/proc).
"""

import contextlib
import os
import re
import subprocess
import threading


class NotServing(RuntimeError):
    """The server ended before it said where it listens."""


@contextlib.contextmanager
def tickwire(binary: str, flags: list, env: dict | None = None):
    """Yields `(pid, port)` of `BINARY serve --addr 127.0.0.1:0 FLAGS` once it listens;
    its log is drained meanwhile, and it is terminated on the way out."""
    server = subprocess.Popen(
        # Each measurement starts from nothing: no store unless FLAGS name one.
        [binary, "serve", "--addr", "127.0.0.1:0", "--database-url", "none", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        text=True,
    )
    try:
        port = None
        for line in server.stdout:
            m = re.search(r"listening on http://[\d.]+:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            raise NotServing("the server ended before it listened")
        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
        yield server.pid, port
    finally:
        server.terminate()
        server.wait(timeout=10)


def status_kib(pid: int, field: str) -> int:
    """A KiB figure of /proc/PID/status (`VmRSS`, `VmHWM`)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def memory_report(pid: int, before_kib: int) -> str:
    """The server's resident memory: `before_kib`, its peak since it started, and now."""
    peak = status_kib(pid, "VmHWM")
    after = status_kib(pid, "VmRSS")
    return (
        f"RSS before {before_kib / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
        f"(+{(peak - before_kib) / 1024:.1f} MiB), after {after / 1024:.1f} MiB"
    )
