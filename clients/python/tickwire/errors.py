"""Exceptions raised by the tickwire client.

Every error the server answers with is JSON ``{"error": "...", "details": ...}`` and a
4xx/5xx status; :class:`ApiError` carries all three so a program can act on them (for a
422, ``details["field"]`` names the offending field, e.g. ``data.price``).
"""

from typing import Any, Optional


class TickwireError(Exception):
    """Base class of every error this package raises."""

    details: Any = None

    @property
    def field(self) -> Optional[str]:
        """The field the server named in ``details``, if any (``data.price``)."""
        if isinstance(self.details, dict):
            field = self.details.get("field")
            return field if isinstance(field, str) else None
        return None


class TransportError(TickwireError):
    """The server could not be reached, or the connection failed mid-request."""


class ApiError(TickwireError):
    """The server answered with a 4xx/5xx status.

    Attributes:
        status: the HTTP status code.
        error: the server's ``error`` text (what went wrong, naming the field).
        details: the server's ``details`` (often ``{"field": PATH}``), or ``None``.
        retry_after: seconds from a ``Retry-After`` header, when the server sent one.
    """

    def __init__(
        self,
        status: int,
        error: str,
        details: Any = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(f"HTTP {status}: {error}")
        self.status = status
        self.error = error
        self.details = details
        self.retry_after = retry_after


    @property
    def retryable(self) -> bool:
        """Whether trying again later may succeed: 429 and 5xx."""
        return self.status == 429 or self.status >= 500


class PublishError(TickwireError):
    """A message could not be published.

    Either the server refused it (``status`` is a 4xx, ``error``/``details`` are the
    server's words, never retried) or every retry failed (``status`` is the last 429/5xx,
    or ``None`` when the server could not be reached).

    Attributes:
        status, error, details: as in :class:`ApiError` (``status`` may be ``None``).
        messages: the ``{"topic", "type", "data"}`` dicts that were not published.
    """

    def __init__(
        self,
        status: Optional[int],
        error: str,
        details: Any = None,
        messages: Optional[list] = None,
    ) -> None:
        where = f"HTTP {status}" if status is not None else "unreachable"
        super().__init__(f"publish failed ({where}): {error}")
        self.status = status
        self.error = error
        self.details = details
        self.messages = list(messages or [])



class QueueFull(TickwireError):
    """``Publisher.publish`` found the queue full (non-blocking, or its timeout passed)."""


class PublisherClosed(TickwireError):
    """The publisher was closed; it accepts no more messages."""
