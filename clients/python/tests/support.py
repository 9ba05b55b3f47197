"""Test support: a real tickwire server per test class, a flaky HTTP proxy, polling
helpers with deadlines, and schema checks of everything the client sends and reads.

The server binary comes from ``TICKWIRE_BIN`` (default ``target/release/tickwire``,
relative to the repository root). Nothing here sleeps for a fixed time as a way to
wait: every wait polls a condition until a deadline.

Schema checks: when ``docs/schema.json`` exists (generated with schemars), every message
published through ``/api/publish`` is validated against ``$defs.Message`` and every
envelope read from ``/api/streams/{topic}`` against the whole document, with the
``jsonschema`` package; failures are collected and fail the test that caused them.
Without the file the checks are off (and say so once on stderr).
"""

import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from tickwire import _http

REPO_ROOT = Path(__file__).resolve().parents[3]
SCHEMA_PATH = REPO_ROOT / "docs" / "schema.json"


def binary() -> Path:
    """The tickwire binary under test."""
    path = Path(os.environ.get("TICKWIRE_BIN", "target/release/tickwire"))
    return path if path.is_absolute() else REPO_ROOT / path


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix: str) -> str:
    """A fresh id for a topic, so tests sharing a server never share a topic."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition", interval: float = 0.05) -> Any:
    """Polls ``condition`` until it returns something truthy, or fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# -- schema --------------------------------------------------------------------------

class SchemaCheck:
    """Validates published messages and polled envelopes when docs/schema.json exists."""

    def __init__(self) -> None:
        self.enabled = False
        self.failures: List[str] = []
        self.checked = 0
        if not SCHEMA_PATH.exists():
            sys.stderr.write(f"[tickwire tests] {SCHEMA_PATH} absent: schema checks off\n")
            return
        try:
            import jsonschema  # noqa: F401
        except ImportError:
            sys.stderr.write("[tickwire tests] jsonschema not installed: schema checks off "
                             "(run clients/python/run-tests.sh)\n")
            return
        import jsonschema

        schema = json.loads(SCHEMA_PATH.read_text())
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        self.envelope = cls(schema)
        message = {"$ref": "#/$defs/Message", "$defs": schema.get("$defs", {})}
        if "$schema" in schema:
            message["$schema"] = schema["$schema"]
        self.message = cls(message)
        self.enabled = True

    def _check(self, validator: Any, value: Any, what: str) -> None:
        self.checked += 1
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            self.failures.append(f"{what} fails docs/schema.json: {errors[0].message} "
                                 f"at {list(errors[0].path)}: {json.dumps(value)[:300]}")

    def sent(self, url: str, body: Any) -> None:
        """Checks the messages of a publish body."""
        if not self.enabled or urllib.parse.urlparse(url).path != "/api/publish":
            return
        if isinstance(body, (bytes, str)):
            body = json.loads(body)
        items = body.get("messages", [body]) if isinstance(body, dict) else []
        for item in items:
            message = {"type": item.get("type"), "data": item.get("data", {})}
            self._check(self.message, message, "published message")

    def received(self, url: str, answer: Any) -> None:
        """Checks the envelopes of a poll page."""
        path = urllib.parse.urlparse(url).path
        if not self.enabled or not path.startswith("/api/streams/") or path.endswith("/snapshot"):
            return
        for envelope in (answer or {}).get("messages", []):
            self._check(self.envelope, envelope, "received envelope")


SCHEMA = SchemaCheck()
_original_request = _http.request_json


def _checked_request(method: str, url: str, body: Any = None, **kwargs: Any) -> Any:
    if body is not None and method == "POST":
        SCHEMA.sent(url, body)
    status, answer = _original_request(method, url, body, **kwargs)
    if method == "GET":
        SCHEMA.received(url, answer)
    return status, answer


_http.request_json = _checked_request


class SchemaCheckedTest(unittest.TestCase):
    """A TestCase that fails when anything it sent or read broke docs/schema.json."""

    def setUp(self) -> None:
        self._schema_failures = len(SCHEMA.failures)

    def tearDown(self) -> None:
        new = SCHEMA.failures[self._schema_failures:]
        self.assertEqual(new, [], "schema violations")


# -- the server ----------------------------------------------------------------------

class Server:
    """A ``tickwire serve`` on a free loopback port, stopped by :meth:`stop`."""

    def __init__(self, *args: str, port: Optional[int] = None, jwt_secret: Optional[str] = None) -> None:
        self.args = list(args)
        self.port = port or free_port()
        self.jwt_secret = jwt_secret
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen] = None
        self.log = tempfile.TemporaryFile()

    def start(self, timeout: float = 30.0) -> "Server":
        """Starts the server and waits for ``GET /api/ws/health`` to answer."""
        exe = binary()
        if not exe.exists():
            raise unittest.SkipTest(f"no tickwire binary at {exe} (set TICKWIRE_BIN)")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKWIRE_")}
        # No store: each test class starts from nothing (docs/STORE.md).
        args = [str(exe), "serve", "--addr", f"127.0.0.1:{self.port}",
                "--database-url", "none", *self.args]
        if self.jwt_secret:
            args += ["--jwt-secret", self.jwt_secret]
        self.proc = subprocess.Popen(args, env=env, cwd=str(REPO_ROOT),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._healthy, timeout, "the server's health endpoint")
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            self.log.seek(0)
            output = self.log.read().decode("utf-8", "replace")[-2000:]
            raise AssertionError(f"tickwire exited with {self.proc.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(self.url + "/api/ws/health", timeout=1) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 5 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def token(self, sub: str, *extra: str) -> str:
        """A token signed with this server's ``--jwt-secret``."""
        assert self.jwt_secret, "token() needs a server in token mode"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKWIRE_")}
        out = subprocess.run(
            [str(binary()), "token", "--sub", sub, "--jwt-secret", self.jwt_secret, *extra],
            env=env, check=True, capture_output=True, text=True, timeout=30,
        )
        return out.stdout.strip()

    # -- reading back ----------------------------------------------------------------

    def poll_all(self, topic: str, bearer: Optional[str] = None) -> List[Dict[str, Any]]:
        """Every retained envelope of ``topic``, from seq 1, page by page."""
        envelopes: List[Dict[str, Any]] = []
        since, epoch = 0, None
        while True:
            query = {"since": since, "limit": 2048}
            if epoch:
                query["epoch"] = epoch
            _, page = _http.request_json(
                "GET", f"{self.url}/api/streams/{topic}?{urllib.parse.urlencode(query)}",
                bearer=bearer)
            assert "resync" not in page, page
            envelopes += page["messages"]
            epoch = page["epoch"]
            if not page["messages"]:
                return envelopes
            since = page["next_seq"] - 1

    def snapshot(self, topic: str, bearer: Optional[str] = None) -> Dict[str, Any]:
        """``GET /api/streams/{topic}/snapshot``."""
        _, snap = _http.request_json("GET", f"{self.url}/api/streams/{topic}/snapshot", bearer=bearer)
        return snap


class ServerTest(SchemaCheckedTest):
    """A test class sharing one server, started before its first test."""

    server_args: List[str] = ["--feed", "off"]
    jwt_secret: Optional[str] = None
    server: Server

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server(*cls.server_args, jwt_secret=cls.jwt_secret).start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()


# -- a proxy that fails on purpose ---------------------------------------------------

class FlakyProxy:
    """A local HTTP server in front of ``target``: it answers the first ``fail`` requests
    with ``status`` itself (with ``Retry-After`` when given), forwards the next ``cut``
    ones but closes the connection instead of answering (the server acted, the client
    never hears), then forwards the rest. ``requests`` records ``(method, path, body)``
    of everything it received."""

    def __init__(self, target: str, fail: int = 0, status: int = 503,
                 retry_after: Optional[str] = None, cut: int = 0) -> None:
        self.target = target
        self.fail = fail
        self.cut = cut
        self.status = status
        self.retry_after = retry_after
        self.requests: List[tuple] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy.lock:
                    proxy.requests.append((self.command, self.path, body))
                    failing = len(proxy.requests) <= proxy.fail
                    cutting = not failing and len(proxy.requests) <= proxy.fail + proxy.cut
                if failing:
                    payload = json.dumps({"error": "injected failure"}).encode()
                    self.send_response(proxy.status)
                    if proxy.retry_after is not None:
                        self.send_header("Retry-After", proxy.retry_after)
                    self._reply(payload)
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("authorization", "content-type", "accept")}
                req = urllib.request.Request(proxy.target + self.path, data=body,
                                             headers=headers, method=self.command)
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        status, payload = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, payload = e.code, e.read()
                if cutting:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(status)
                self._reply(payload)

            def _reply(self, payload: bytes) -> None:
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _handle
            do_POST = _handle

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stops the proxy."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def publish_bodies(self) -> List[Dict[str, Any]]:
        """The JSON bodies of the ``POST /api/publish`` requests received."""
        with self.lock:
            return [json.loads(b) for m, p, b in self.requests if m == "POST" and p == "/api/publish"]
