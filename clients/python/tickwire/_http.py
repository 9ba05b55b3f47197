"""The one place this package talks HTTP: a JSON request with urllib, its errors mapped
to :class:`~tickwire.errors.ApiError` / :class:`~tickwire.errors.TransportError`, and
the jittered exponential backoff the retrying callers share.
"""

import email.utils
import json
import random
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Optional, Tuple, Union

from .errors import ApiError, TransportError

USER_AGENT = "tickwire-python/0.1"


def request_json(
    method: str,
    url: str,
    body: Union[None, str, bytes, Any] = None,
    *,
    bearer: Optional[str] = None,
    timeout: float = 5.0,
) -> Tuple[int, Any]:
    """Sends one request and returns ``(status, parsed JSON body or None)``.

    ``body`` may be text or bytes already holding JSON, or any JSON-serializable value.
    Raises :class:`ApiError` for a 4xx/5xx answer (with the server's ``error`` and
    ``details``) and :class:`TransportError` when no answer arrived.
    """
    data: Optional[bytes]
    if body is None:
        data = None
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, _parse(resp.read())
    except urllib.error.HTTPError as e:
        try:
            raw = e.read()
        except OSError:
            raw = b""
        finally:
            e.close()
        raise _api_error(e.code, raw, e.headers.get("Retry-After")) from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise TransportError(f"{method} {url}: {reason}") from None


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _api_error(status: int, raw: bytes, retry_after: Optional[str]) -> ApiError:
    value = _parse(raw)
    if isinstance(value, dict) and isinstance(value.get("error"), str):
        error, details = value["error"], value.get("details")
    else:
        error, details = (value if isinstance(value, str) and value else f"HTTP {status}"), None
    return ApiError(status, error, details, parse_retry_after(retry_after))


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Delay before retry number ``attempt`` (0 = the first retry): exponential from
    ``base``, capped at ``cap``, with "equal jitter" (between half and all of it) so
    many clients that failed together do not come back together."""
    ceiling = min(cap, base * (2 ** attempt))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def retryable(error: Exception) -> bool:
    """Connection failures, 429 and 5xx may succeed later; any other 4xx will not."""
    if isinstance(error, TransportError):
        return True
    return isinstance(error, ApiError) and error.retryable
