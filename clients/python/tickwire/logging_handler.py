"""A :class:`logging.Handler` that streams records into a tickwire topic as ``log``
messages ``{level, message, target, bar?}`` (``LogLine`` in
``protocol/src/backtest.rs``).

The server accepts ``log`` only on ``backtest:{ID}`` topics. Python levels map onto the
protocol's five: below DEBUG → ``trace``, DEBUG → ``debug``, INFO → ``info``, WARNING →
``warn``, ERROR and CRITICAL → ``error``. A record's ``bar`` comes from
``logger.info("...", extra={"bar": 42})``.
"""

import logging
import operator
from typing import Optional

from .publisher import Publisher

#: Longest text the server accepts in one field, in UTF-8 bytes (docs/SPEC.md section 12).
MAX_TEXT_BYTES = 8 * 1024


def protocol_level(levelno: int) -> str:
    """The protocol's level name for a Python logging level number."""
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    if levelno >= logging.INFO:
        return "info"
    if levelno >= logging.DEBUG:
        return "debug"
    return "trace"


def clip(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (on a character boundary), with
    an ellipsis when anything was cut."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    marker = "…"
    room = limit - len(marker.encode("utf-8"))
    return raw[:room].decode("utf-8", "ignore") + marker


def _bar(value: object) -> Optional[int]:
    """A record's ``bar`` as a whole number of at least 0 (numpy integers too), or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        bar = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None
    return bar if bar >= 0 else None


class TopicLogHandler(logging.Handler):
    """Publishes every record it handles as a ``log`` message on ``topic``.

    Args:
        publisher: the :class:`~tickwire.publisher.Publisher` that sends them.
        topic: a ``backtest:{ID}`` topic.
        target: the ``target`` field of every message; by default each record's logger
            name.
        level: the handler's threshold, as for any handler.

    It never raises into the code that logs: a full publisher queue or any other
    failure goes to :meth:`logging.Handler.handleError`, and records are queued without
    blocking. Records of the ``tickwire`` loggers themselves are skipped, so a failing
    publisher cannot feed its own errors back into itself.
    """

    def __init__(
        self,
        publisher: Publisher,
        topic: str,
        target: Optional[str] = None,
        level: int = logging.NOTSET,
    ) -> None:
        if not topic.startswith("backtest:"):
            raise ValueError(f"`log` messages go on backtest:{{ID}} topics, not {topic!r}")
        super().__init__(level)
        self.publisher = publisher
        self.topic = topic
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        """Queues ``record`` as a ``log`` message."""
        if record.name == "tickwire" or record.name.startswith("tickwire."):
            return
        try:
            message = clip(self.format(record))
            if not message.strip():
                message = "(empty log message)"
            data = {
                "level": protocol_level(record.levelno),
                "message": message,
                "target": clip(self.target if self.target is not None else record.name),
            }
            bar = _bar(getattr(record, "bar", None))
            if bar is not None:
                data["bar"] = bar
            self.publisher.publish(self.topic, "log", data, block=False)
        except Exception:
            self.handleError(record)
