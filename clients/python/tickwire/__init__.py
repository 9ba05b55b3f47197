"""tickwire: a standard-library-only producer client for a tickwire server.

* :class:`Publisher` — batched, ordered, retried ``POST /api/publish``.
* :class:`TopicLogHandler` — Python ``logging`` into a backtest topic as ``log`` messages.
* :class:`BacktestStream` — an outside backtest's lifecycle in the protocol's shapes.
* :class:`SessionAgent` / :func:`start_session` — an outside brain for an
  ``"strategy": "external"`` paper-trading session.
* :func:`run_sweep` — a parameter sweep, followed to its end.

The wire contract is ``docs/PROTOCOL.md`` in the tickwire repository.
"""

import logging

from .backtest_stream import BacktestStream
from .errors import (
    ApiError,
    PublishError,
    PublisherClosed,
    QueueFull,
    TickwireError,
    TransportError,
)
from .logging_handler import TopicLogHandler
from .publisher import Publisher
from .session_agent import SessionAgent, start_session
from .sweep import run_sweep
from .timefmt import to_timestamp

__version__ = "0.1.0"

# A library does not print: errors reach the caller through futures, flush() and
# close(); configure the `tickwire` logger to see them logged as well.
logging.getLogger("tickwire").addHandler(logging.NullHandler())

__all__ = [
    "ApiError",
    "BacktestStream",
    "PublishError",
    "Publisher",
    "PublisherClosed",
    "QueueFull",
    "SessionAgent",
    "TickwireError",
    "TopicLogHandler",
    "TransportError",
    "run_sweep",
    "start_session",
    "to_timestamp",
]
