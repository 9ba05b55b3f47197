"""Batching, retrying publisher for ``POST {url}/api/publish``.

``Publisher.publish`` queues a message and returns at once with a
:class:`concurrent.futures.Future` that resolves to the message's ``seq`` on its topic
(or fails with :class:`~tickwire.errors.PublishError`). One background thread sends the
queue in batches of up to ``batch_size`` messages as ``{"messages": [...]}``, waiting at
most ``flush_interval`` seconds for a batch to fill.

Delivery rules:

* **Order.** One thread sends one batch at a time; a batch that fails with a retryable
  error is retried (jittered exponential backoff, capped; ``Retry-After`` honoured)
  before any later batch is sent, so per topic the server sees messages in
  ``publish()`` order.
* **Retries.** Connection errors, 429 and 5xx are retried up to ``max_retries`` times.
  Any other 4xx is final and never retried.
* **Once.** Every message carries an ``idempotency_key`` (this publisher's random
  prefix and a counter, or the caller's own). A request cut or timed out after the
  server published it is retried with the same keys, and the server answers those
  messages with their first seqs instead of publishing them again, as long as the retry
  comes within its ``--idempotency-window-secs`` (300 s by default). So a retry never
  publishes twice. ``idempotency_keys=False`` sends no keys (at-least-once delivery).
* **One bad message.** The server validates every message of a batch before it
  publishes any, and its 422 names the first bad one (``messages[3]: `data.price` must
  be a positive number, got -1``). The publisher fails that message's future, drops it,
  and sends the rest of the batch again, so one bad message does not sink its
  neighbours.
* **Errors** are recorded in :attr:`Publisher.errors`, passed to ``on_error`` (from the
  sender thread), logged on the ``tickwire.publisher`` logger, and the first one not yet
  reported is raised by the next :meth:`Publisher.flush` or :meth:`Publisher.close`.
* **Bounded queue.** At most ``max_queue`` messages wait. When it is full,
  ``publish()`` *blocks* until the sender makes room (back-pressure on a producer
  faster than the server), like :meth:`queue.Queue.put`; pass ``block=False`` or a
  ``timeout`` to get :class:`~tickwire.errors.QueueFull` instead.
"""

import collections
import itertools
import json
import logging
import re
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any, Callable, Deque, List, Optional, Tuple

from . import _http
from .errors import ApiError, PublisherClosed, PublishError, QueueFull, TransportError

log = logging.getLogger("tickwire.publisher")

#: The server's limit on messages per request (``server/src/routes/publish.rs``).
MAX_BATCH = 1000

_ITEM_ERROR = re.compile(r"^messages\[(\d+)\]: ")


class _Item:
    """One queued message: its JSON text and the future that learns its seq."""

    __slots__ = ("message", "text", "future")

    def __init__(self, message: dict, text: str) -> None:
        self.message = message
        self.text = text
        self.future: "Future[int]" = Future()


class Publisher:
    """Publishes messages to a tickwire server in ordered, retried batches.

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:3000``.
        api_key: the server's ``--api-key`` (sent as ``Authorization: Bearer``).
        token: a JWT whose ``publish`` claim covers the topics (token mode). Give at
            most one of ``api_key`` and ``token``.
        batch_size: most messages per request (1 to 1,000).
        flush_interval: longest time (seconds) a queued message waits for its batch to
            fill before it is sent; ``None`` sends only full batches and on ``flush()``.
        max_retries: retries of a batch after its first attempt (0 = no retry).
        timeout: seconds per HTTP request.
        max_queue: most messages waiting to be sent (see the module's notes).
        backoff_base, backoff_cap: first and largest retry delay in seconds.
        max_retry_after: cap on a server's ``Retry-After`` (seconds).
        on_error: called with each :class:`PublishError`, from the sender thread.
        idempotency_keys: give every message an ``idempotency_key`` so that retries
            publish it once (see the module's notes).

    Use it as a context manager (``with Publisher(url) as pub: ...``) or call
    :meth:`close` when done: it sends what is queued and stops the thread.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: Optional[str] = None,
        token: Optional[str] = None,
        batch_size: int = 100,
        flush_interval: Optional[float] = 0.05,
        max_retries: int = 5,
        timeout: float = 5.0,
        max_queue: int = 10_000,
        backoff_base: float = 0.1,
        backoff_cap: float = 5.0,
        max_retry_after: float = 60.0,
        on_error: Optional[Callable[[PublishError], None]] = None,
        idempotency_keys: bool = True,
    ) -> None:
        if api_key and token:
            raise ValueError("give api_key or token, not both")
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}, got {batch_size}")
        if max_queue < batch_size:
            raise ValueError("max_queue must be at least batch_size")
        if flush_interval is not None and flush_interval < 0:
            raise ValueError("flush_interval must not be negative")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self.url = url.rstrip("/")
        self._bearer = api_key or token
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_retries = max_retries
        self.timeout = timeout
        self.max_queue = max_queue
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self.on_error = on_error
        self._key_prefix = uuid.uuid4().hex if idempotency_keys else None
        self._keys_made = itertools.count(1)

        #: Every :class:`PublishError` so far, oldest first.
        self.errors: List[PublishError] = []
        #: The last seq the server gave each topic this publisher wrote to.
        self.last_seqs: dict = {}
        #: Requests sent to ``/api/publish`` (attempts, retries included).
        self.requests = 0

        self._cond = threading.Condition()
        self._queue: Deque[Tuple[_Item, float]] = collections.deque()
        self._enqueued = 0  # messages ever queued
        self._done = 0  # messages whose future is resolved
        self._flush_upto = 0  # send without lingering until _done reaches this
        self._reported = 0  # errors already raised by flush()/close()
        self._closing = False
        self._abort = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="tickwire-publisher", daemon=True
        )
        self._thread.start()

    # -- producing ---------------------------------------------------------------

    def publish(
        self,
        topic: str,
        type: str,
        data: Optional[dict] = None,
        *,
        block: bool = True,
        timeout: Optional[float] = None,
        idempotency_key: Optional[str] = None,
    ) -> "Future[int]":
        """Queues ``{"topic", "type", "data"}`` and returns a future of its seq.

        ``idempotency_key`` (1 to 128 visible ASCII characters) replaces the one the
        publisher would make: a producer that restarts and sends the same message with
        the same key within the server's window gets the first seq back, and nothing is
        published twice.

        The message is serialized here, so a value JSON cannot carry (NaN, an object)
        raises ``ValueError``/``TypeError`` in the caller. When the queue is full this
        blocks (``block=True``, up to ``timeout`` seconds) or raises
        :class:`QueueFull`. Raises :class:`PublisherClosed` after :meth:`close`.
        """
        message: dict = {"topic": topic, "type": type}
        if data is not None:
            message["data"] = data
        if idempotency_key is not None:
            message["idempotency_key"] = idempotency_key
        elif self._key_prefix is not None:
            message["idempotency_key"] = f"{self._key_prefix}-{next(self._keys_made)}"
        text = json.dumps(message, allow_nan=False, separators=(",", ":"))
        item = _Item(message, text)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closing:
                    raise PublisherClosed("the publisher is closed")
                if len(self._queue) < self.max_queue:
                    break
                if not block:
                    raise QueueFull(f"{self.max_queue} messages are waiting to be sent")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise QueueFull(
                        f"{self.max_queue} messages are still waiting after {timeout} s"
                    )
                self._cond.wait(remaining)
            self._queue.append((item, time.monotonic()))
            self._enqueued += 1
            self._cond.notify_all()
        return item.future

    def flush(self, timeout: Optional[float] = None, *, wait: bool = True) -> bool:
        """Sends everything queued so far now, without waiting for batches to fill.

        With ``wait`` (the default) it returns once every message queued before the
        call is published or failed, then raises the first :class:`PublishError` not
        reported yet; it returns ``False`` if ``timeout`` seconds passed first. With
        ``wait=False`` it only tells the sender to go and returns ``True``.
        """
        with self._cond:
            target = self._enqueued
            self._flush_upto = max(self._flush_upto, target)
            self._cond.notify_all()
            if not wait:
                return True
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._done < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        self._raise_unreported()
        return True

    def close(self, timeout: Optional[float] = None) -> None:
        """Flushes, then stops the sender thread; idempotent.

        If ``timeout`` seconds pass first, messages still queued fail with
        :class:`PublishError`. Raises the first error not reported yet.
        """
        with self._cond:
            already = self._closing
            self._closing = True
            self._flush_upto = self._enqueued
            self._cond.notify_all()
        if not already:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._abort.set()
                self._thread.join()
        self._raise_unreported()

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # Do not hide the exception that left the block behind a publish error.
        if exc_type is None:
            self.close()
        else:
            try:
                self.close()
            except PublishError:
                pass

    @property
    def pending(self) -> int:
        """Messages queued or in flight, not yet published or failed."""
        with self._cond:
            return self._enqueued - self._done

    # -- sending -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                batch = self._next_batch()
                if batch is None:
                    return
            self._send(batch)
            with self._cond:
                self._done += len(batch)
                self._cond.notify_all()

    def _next_batch(self) -> Optional[List[_Item]]:
        """Waits (holding the lock) until a batch is due; ``None`` when closed and empty."""
        while True:
            if self._queue:
                due = (
                    len(self._queue) >= self.batch_size
                    or self._closing
                    or self._done < self._flush_upto
                )
                if not due and self.flush_interval is not None:
                    wait = self._queue[0][1] + self.flush_interval - time.monotonic()
                    due = wait <= 0
                else:
                    wait = None
                if due:
                    count = min(self.batch_size, len(self._queue))
                    batch = [self._queue.popleft()[0] for _ in range(count)]
                    self._cond.notify_all()  # room for blocked publishers
                    return batch
                self._cond.wait(wait)
            elif self._closing:
                return None
            else:
                self._cond.wait()

    def _send(self, batch: List[_Item]) -> None:
        """Publishes ``batch`` with retries, resolving every item's future."""
        attempt = 0
        while batch:
            if self._abort.is_set():
                self._fail(batch, PublishError(None, "the publisher was closed before delivery"))
                return
            body = '{"messages":[' + ",".join(i.text for i in batch) + "]}"
            self.requests += 1
            try:
                _, answer = _http.request_json(
                    "POST",
                    self.url + "/api/publish",
                    body,
                    bearer=self._bearer,
                    timeout=self.timeout,
                )
            except (ApiError, TransportError) as e:
                status = getattr(e, "status", None)
                if _http.retryable(e):
                    if attempt >= self.max_retries:
                        error = e.error if isinstance(e, ApiError) else str(e)
                        details = e.details if isinstance(e, ApiError) else None
                        self._fail(
                            batch,
                            PublishError(
                                status,
                                f"gave up after {attempt + 1} attempts: {error}",
                                details,
                            ),
                        )
                        return
                    delay = _http.backoff_delay(attempt, self.backoff_base, self.backoff_cap)
                    retry_after = getattr(e, "retry_after", None)
                    if retry_after is not None:
                        delay = min(retry_after, self.max_retry_after)
                    log.debug("publish attempt %d failed (%s); retrying in %.2f s", attempt + 1, e, delay)
                    attempt += 1
                    self._abort.wait(delay)
                    continue
                assert isinstance(e, ApiError)
                bad = _ITEM_ERROR.match(e.error)
                if e.status == 422 and bad and int(bad.group(1)) < len(batch):
                    # Fail the message the server named; send its neighbours again.
                    index = int(bad.group(1))
                    self._fail([batch[index]], PublishError(422, e.error, e.details))
                    batch = batch[:index] + batch[index + 1 :]
                    continue
                self._fail(batch, PublishError(e.status, e.error, e.details))
                return
            self._succeed(batch, answer)
            return

    def _succeed(self, batch: List[_Item], answer: Any) -> None:
        published = answer.get("published") if isinstance(answer, dict) else None
        if not isinstance(published, list) or len(published) != len(batch):
            self._fail(batch, PublishError(200, f"unexpected answer from the server: {answer!r}"))
            return
        for item, where in zip(batch, published):
            seq = where.get("seq")
            self.last_seqs[where.get("topic")] = seq
            item.future.set_result(seq)

    def _fail(self, items: List[_Item], error: PublishError) -> None:
        error.messages = [i.message for i in items]
        with self._cond:
            self.errors.append(error)
        log.error("%s (%d message(s) dropped)", error, len(items))
        for item in items:
            item.future.set_exception(error)
        if self.on_error is not None:
            try:
                self.on_error(error)
            except Exception:  # a faulty callback must not stop the sender
                log.exception("on_error callback failed")

    def _raise_unreported(self) -> None:
        with self._cond:
            if self._reported >= len(self.errors):
                return
            first = self.errors[self._reported]
            self._reported = len(self.errors)
        raise first
