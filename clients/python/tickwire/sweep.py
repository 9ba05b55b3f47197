"""Parameter sweeps: ``POST /api/sweeps`` runs one strategy over every combination of a
grid of its parameters, and :func:`run_sweep` follows it to its end (docs/SPEC.md
section 10, "Sweeps").

A grid maps each parameter to a list of values or to ``{"from": A, "to": B, "step":
S}`` (both ends included). The sweep ranks its combinations by ``objective``
(``return_pct`` by default; ``max_drawdown_pct`` is minimised) and keeps the
``top_n`` best in order.
"""

import time
import urllib.parse
from typing import Any, Callable, Dict, List, Optional

from . import _http


def run_sweep(
    url: str,
    strategy: str,
    grid: Dict[str, Any],
    *,
    token: Optional[str] = None,
    on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
    poll_interval: float = 0.2,
    timeout: float = 3600.0,
    request_timeout: float = 10.0,
    **fields: Any,
) -> Dict[str, Any]:
    """Starts a sweep and waits for its end; returns ``{sweep, state, results}``.

    ``fields`` are the request's other fields: exactly one of ``dataset``, ``csv`` or
    ``path`` (as for a backtest), ``cash``, ``commission``, ``objective``, ``top_n``,
    ``id``. ``on_progress`` gets the sweep's state (its snapshot's ``data``: ``done``,
    ``values`` by index, ``top``, ``progress``) at each look, every ``poll_interval``
    seconds. ``results`` is every combination's full result by index (``params``,
    ``metrics``, ``value``, or ``skipped``). Raises
    :class:`~tickwire.errors.ApiError` when the server refuses the request (422 naming
    the field, such as a grid past ``--max-sweep-combos``; 429 when too many sweeps
    run) and :class:`TimeoutError` when the sweep runs past ``timeout`` seconds.
    """
    base = url.rstrip("/")
    body: Dict[str, Any] = {"strategy": strategy, "grid": grid}
    body.update({k: v for k, v in fields.items() if v is not None})
    _, created = _http.request_json("POST", base + "/api/sweeps", body, bearer=token, timeout=request_timeout)
    sweep_id = urllib.parse.quote(created["sweep_id"], safe="")
    deadline = time.monotonic() + timeout
    while True:
        _, sweep = _http.request_json("GET", f"{base}/api/sweeps/{sweep_id}", None, bearer=token, timeout=request_timeout)
        state = sweep["state"]["data"]
        if on_progress is not None:
            on_progress(state)
        if state.get("status") in ("complete", "cancelled", "failed", "interrupted"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"sweep {created['sweep_id']} still runs after {timeout} s")
        time.sleep(poll_interval)
    results: List[Dict[str, Any]] = []
    offset = 0
    while True:
        page_url = f"{base}/api/sweeps/{sweep_id}/results?offset={offset}&limit=10000"
        _, page = _http.request_json("GET", page_url, None, bearer=token, timeout=request_timeout)
        batch = page.get("results") or []
        results.extend(batch)
        if not batch or len(results) >= int(page.get("done", 0)):
            break
        offset = int(batch[-1]["index"]) + 1
    return {"sweep": created, "state": state, "results": results}
