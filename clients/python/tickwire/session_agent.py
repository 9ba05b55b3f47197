"""A client for an outside "brain" that drives a paper-trading session started with
``"strategy": "external"`` (docs/SPEC.md section 5).

The agent follows the session's topic ``session:{ID}`` through the polling endpoint
``GET /api/streams/{topic}?since=S&epoch=E&limit=L`` (no WebSocket library needed),
and for each closed candle streams its reasoning (``POST /api/sessions/{ID}/thinking``)
and then its decision (``POST /api/sessions/{ID}/decision``). The server publishes
them on the topic as ``thinking`` and ``decision`` messages and trades on the decision.
"""

import time
import urllib.parse
from typing import Any, Dict, Iterator, Optional

from . import _http
from .errors import ApiError, TransportError


def _bearer(token: Optional[str], api_key: Optional[str]) -> Optional[str]:
    if token and api_key:
        raise ValueError("give token or api_key, not both")
    return token or api_key


def start_session(
    url: str,
    symbol: str,
    strategy: str = "external",
    *,
    token: Optional[str] = None,
    api_key: Optional[str] = None,
    timeout: float = 5.0,
    **fields: Any,
) -> Dict[str, Any]:
    """Starts a paper-trading session: ``POST {url}/api/sessions``.

    ``fields`` are the request's other fields: ``params`` (a map of numbers), ``cash``
    (default 10,000), ``commission`` (default 0), ``id``. Returns the server's answer
    ``{session_id, topic, trading_topic, stream_url, symbol, strategy, params, cash,
    commission, running}``; raises :class:`~tickwire.errors.ApiError` when refused (422
    naming the field, 409 for a taken id, 429 when too many sessions run).
    """
    body = {"symbol": symbol, "strategy": strategy}
    body.update({k: v for k, v in fields.items() if v is not None})
    _, answer = _http.request_json(
        "POST", url.rstrip("/") + "/api/sessions", body,
        bearer=_bearer(token, api_key), timeout=timeout,
    )
    return answer


class SessionAgent:
    """Reads a session's candles and posts reasoning and decisions for it.

    Args:
        url: the server's base URL.
        session_id: the session's id (``session_id`` of :func:`start_session`).
        token: a JWT of the session's owner (token mode).
        api_key: a bearer key instead of a token.
        timeout: seconds per HTTP request.
        poll_interval: seconds between two polls that found nothing new.
        max_retries: retries of a poll that failed with a connection error, 429 or 5xx.
    """

    def __init__(
        self,
        url: str,
        session_id: str,
        *,
        token: Optional[str] = None,
        api_key: Optional[str] = None,
        timeout: float = 5.0,
        poll_interval: float = 0.5,
        max_retries: int = 5,
    ) -> None:
        self.url = url.rstrip("/")
        self.session_id = session_id
        self.topic = f"session:{session_id}"
        self._bearer = _bearer(token, api_key)
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.max_retries = max_retries
        #: Where :meth:`candles` stands: the topic's epoch and the last seq it read.
        self.epoch: Optional[str] = None
        self.seq = 0
        #: The last session message of type ``session_completed`` seen, if any.
        self.completed: Optional[Dict[str, Any]] = None
        self._latest_open_time: Optional[str] = None
        self._last_yielded: Optional[str] = None
        self._stopped = False

    # -- acting ---------------------------------------------------------------------

    def thinking(self, chunk: str) -> Any:
        """Posts one chunk of reasoning for the decision in progress (any number of
        them, before :meth:`decide`). Returns the server's JSON answer (202)."""
        return self._post("thinking", {"chunk": chunk})

    def decide(self, action: str, reasoning: str, confidence: Optional[float] = None) -> Any:
        """Posts this bar's decision: ``action`` is ``buy``, ``sell`` or ``hold``,
        ``confidence`` within 0..1 or ``None``. Returns the server's JSON answer (202).

        Raises :class:`~tickwire.errors.ApiError`: 403 (not the owner), 404 (unknown
        session), 409 (not an external session, or finished), 422 (a bad field)."""
        if action not in ("buy", "sell", "hold"):
            raise ValueError(f"`action` is buy, sell or hold, got {action!r}")
        body: Dict[str, Any] = {"action": action, "reasoning": reasoning}
        if confidence is not None:
            confidence = float(confidence)
            if not 0.0 <= confidence <= 1.0:
                raise ValueError(f"`confidence` must be between 0 and 1, got {confidence}")
            body["confidence"] = confidence
        return self._post("decision", body)

    def _post(self, what: str, body: Dict[str, Any]) -> Any:
        path = f"/api/sessions/{urllib.parse.quote(self.session_id, safe='')}/{what}"
        _, answer = _http.request_json(
            "POST", self.url + path, body, bearer=self._bearer, timeout=self.timeout
        )
        return answer

    # -- reading --------------------------------------------------------------------

    def snapshot(self) -> Dict[str, Any]:
        """``GET /api/streams/session:{ID}/snapshot``: the session's state
        ``{topic, epoch, last_seq, data}``."""
        return self._get(f"/api/streams/{self._quoted_topic()}/snapshot")

    def poll(
        self,
        since: int,
        epoch: Optional[str] = None,
        limit: int = 500,
        max_rate: Optional[float] = None,
    ) -> Dict[str, Any]:
        """One page of the topic: ``{epoch, messages, next_seq, resync?}``.

        With ``max_rate`` (messages a second, 0.01 to 1000) the page is conflated: of the
        values a later one replaces (open candles, countdowns, stats) only the latest,
        and every other message; a message that stands for others carries
        ``conflated``, how many (docs/SPEC.md section 6, "Rates")."""
        query: Dict[str, Any] = {"since": since, "limit": limit}
        if epoch is not None:
            query["epoch"] = epoch
        if max_rate is not None:
            query["max_rate"] = max_rate
        return self._get(f"/api/streams/{self._quoted_topic()}?{urllib.parse.urlencode(query)}")

    def candles(
        self, *, history: bool = True, limit: int = 500, max_rate: Optional[float] = 1.0
    ) -> Iterator[Dict[str, Any]]:
        """Yields the ``data`` of every closed ``candle`` on the session's topic, in
        order, forever — until the session publishes ``session_completed`` (kept in
        :attr:`completed`) or :meth:`stop` is called.

        With ``history`` it starts from the oldest message still retained (so a
        strategy can warm up on the candles already seen), otherwise from now.
        :meth:`is_latest` tells a candle to act on from history. It resumes by
        ``seq``/``epoch``; when the server answers with a ``resync`` (the topic was
        recreated, or we fell behind its retained history) it takes the snapshot's
        state and yields the snapshot's closed candles newer than the last one yielded,
        so no candle is yielded twice.

        It polls at ``max_rate`` (default 1): closed candles and the session's end are
        always delivered, so only the open candle's states, countdowns and stats it
        never reads are conflated away (``None``: every message).
        """
        self._stopped = False
        if history:
            self.epoch, self.seq = None, 0
        else:
            snap = self.snapshot()
            self.epoch, self.seq = snap.get("epoch"), int(snap.get("last_seq", 0))
            if not self.seq:
                self.epoch = None  # nothing published yet: follow from the start
        while not self._stopped:
            page = self._poll_retrying(self.seq, self.epoch, limit, max_rate)
            self.epoch = page.get("epoch", self.epoch)
            resync = page.get("resync")
            if resync:
                snapshot = resync.get("snapshot") or {}
                self.epoch = snapshot.get("epoch", self.epoch)
                self.seq = int(snapshot.get("last_seq", page.get("next_seq", 1) - 1))
                candles = (snapshot.get("data") or {}).get("candles") or []
                fresh = [c for c in candles if c.get("closed") and self._is_new(c)]
                for i, candle in enumerate(fresh):
                    if i == len(fresh) - 1:
                        self._latest_open_time = candle.get("open_time")
                    self._last_yielded = candle.get("open_time")
                    yield candle
                    if self._stopped:
                        return
                continue
            messages = page.get("messages") or []
            # A full page has more behind it; a conflated message stands for others.
            full = sum(1 + int(m.get("conflated", 0)) for m in messages) >= limit
            closed = [
                i for i, m in enumerate(messages)
                if m.get("type") == "candle" and (m.get("data") or {}).get("closed")
            ]
            last_closed = closed[-1] if closed and not full else None
            for i, message in enumerate(messages):
                self.seq = int(message.get("seq", self.seq))
                kind, data = message.get("type"), message.get("data") or {}
                if kind == "session_completed":
                    self.completed = data
                    return
                if kind == "candle" and data.get("closed") and self._is_new(data):
                    if i == last_closed:
                        self._latest_open_time = data.get("open_time")
                    self._last_yielded = data.get("open_time")
                    yield data
                    if self._stopped:
                        return
            if not messages:
                time.sleep(self.poll_interval)

    def is_latest(self, candle: Dict[str, Any]) -> bool:
        """Whether ``candle`` (as yielded by :meth:`candles`) was the newest closed
        candle known when it was yielded — the bar a decision now is about — rather
        than history being caught up on."""
        return candle.get("open_time") == self._latest_open_time

    def stop(self) -> None:
        """Makes :meth:`candles` return after the candle it is handling."""
        self._stopped = True

    def _is_new(self, candle: Dict[str, Any]) -> bool:
        # RFC 3339 UTC with milliseconds, as the server writes it, orders as text.
        open_time = candle.get("open_time")
        return self._last_yielded is None or (open_time is not None and open_time > self._last_yielded)

    def _poll_retrying(
        self, since: int, epoch: Optional[str], limit: int, max_rate: Optional[float]
    ) -> Dict[str, Any]:
        attempt = 0
        while True:
            try:
                return self.poll(since, epoch, limit, max_rate)
            except (ApiError, TransportError) as e:
                if not _http.retryable(e) or attempt >= self.max_retries:
                    raise
                delay = getattr(e, "retry_after", None)
                if delay is None:
                    delay = _http.backoff_delay(attempt, 0.2, 5.0)
                attempt += 1
                time.sleep(min(delay, 60.0))

    def _get(self, path: str) -> Dict[str, Any]:
        _, answer = _http.request_json("GET", self.url + path, bearer=self._bearer, timeout=self.timeout)
        return answer

    def _quoted_topic(self) -> str:
        return urllib.parse.quote(self.topic, safe=":")
