"""Streams a backtest run by an outside engine into ``backtest:{ID}``, in exactly the
shapes of ``protocol/src/backtest.rs`` (what the dashboard and ``tickwire watch``
render for the server's own runs).

Frequency control follows docs/SPEC.md section 4: ``progress`` at most every N bars or T ms
(whichever comes first; by default every call is sent), equity points batched (one
``equity`` message per ``equity_batch`` points, and before every other message so the
curve is never behind), trades and errors sent at once.

Units: prices and money as plain numbers, percentages as 0–100, times as RFC 3339 UTC
with milliseconds (see :func:`tickwire.timefmt.to_timestamp` for what is accepted).
"""

import math
import re
import time
from concurrent.futures import Future
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from .publisher import Publisher
from .timefmt import TimeLike, to_timestamp

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_INTERVAL = re.compile(r"^[1-9][0-9]*[smhd]$")


def _number(field: str, value: Any) -> float:
    """``value`` as a finite float, or a ValueError naming ``field``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{field}` must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"`{field}` must be a finite number, got {value!r}")
    return number


def _count(field: str, value: Any) -> int:
    """``value`` as a whole number of at least 0, or a ValueError naming ``field``."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{field}` must be a whole number, got {value!r}") from None
    if number != value or number < 0:
        raise ValueError(f"`{field}` must be a whole number of at least 0, got {value!r}")
    return number


class BacktestStream:
    """Publishes one backtest's lifecycle on ``backtest:{backtest_id}``.

    Args:
        publisher: the :class:`~tickwire.publisher.Publisher` to send with.
        backtest_id: the run's id (``[A-Za-z0-9_-]{1,64}``).
        equity_batch: equity points per ``equity`` message.
        progress_every_bars, progress_every_ms: send ``progress`` only when this many
            bars or milliseconds passed since the last one sent (whichever first);
            ``None`` for both (the default) sends every call. The first call and the
            last bar are always sent.

    Every method returns the :class:`~concurrent.futures.Future` of the message it
    queued (its seq), or ``None`` when nothing was sent.
    """

    def __init__(
        self,
        publisher: Publisher,
        backtest_id: str,
        *,
        equity_batch: int = 100,
        progress_every_bars: Optional[int] = None,
        progress_every_ms: Optional[float] = None,
    ) -> None:
        if not _ID.match(backtest_id):
            raise ValueError(f"a backtest id matches [A-Za-z0-9_-]{{1,64}}, got {backtest_id!r}")
        if equity_batch < 1:
            raise ValueError("equity_batch must be at least 1")
        self.publisher = publisher
        self.backtest_id = backtest_id
        self.topic = f"backtest:{backtest_id}"
        self.equity_batch = equity_batch
        self.progress_every_bars = progress_every_bars
        self.progress_every_ms = progress_every_ms
        self.total_bars: Optional[int] = None
        self.cash: Optional[float] = None
        self.closed_trades = 0
        self.last_metrics: Optional[Dict[str, Any]] = None
        self._equity: List[list] = []
        self._peak: Optional[float] = None
        self._next_trade_id = 1
        self._started_at: Optional[float] = None
        self._last_progress_bar: Optional[int] = None
        self._last_progress_at = 0.0

    # -- lifecycle -----------------------------------------------------------------

    def started(
        self,
        *,
        strategy: str,
        symbol: str,
        from_time: TimeLike,
        to_time: TimeLike,
        total_bars: int,
        params: Optional[Mapping[str, float]] = None,
        interval: Optional[str] = None,
        cash: Optional[float] = None,
    ) -> "Future[int]":
        """``started`` {backtest_id, strategy, params, symbol, interval, from, to,
        total_bars}. ``params`` values must be numbers (the protocol carries a map of
        name to number); ``interval`` is like ``1d``/``5m`` or ``None``. ``cash`` (not
        sent) is the starting equity :meth:`progress` measures ``pnl`` from."""
        if interval is not None and not _INTERVAL.match(interval):
            raise ValueError(f"`interval` is like 30s, 5m, 1h or 1d, got {interval!r}")
        self.total_bars = _count("total_bars", total_bars)
        self.cash = None if cash is None else _number("cash", cash)
        self._started_at = time.monotonic()
        data = {
            "backtest_id": self.backtest_id,
            "strategy": strategy,
            "params": {str(k): _number(f"params.{k}", v) for k, v in (params or {}).items()},
            "symbol": symbol,
            "interval": interval,
            "from": to_timestamp(from_time),
            "to": to_timestamp(to_time),
            "total_bars": self.total_bars,
        }
        return self._send("started", data)

    def progress(
        self,
        bars_processed: int,
        *,
        current_time: TimeLike,
        equity: float,
        pnl: Optional[float] = None,
        trades: Optional[int] = None,
        total_bars: Optional[int] = None,
        pct: Optional[float] = None,
        force: bool = False,
    ) -> "Optional[Future[int]]":
        """``progress`` {pct, bars_processed, total_bars, current_time, trades, equity,
        pnl}, subject to the stream's frequency (``force`` sends it regardless).

        Defaults: ``total_bars`` from :meth:`started`, ``pct`` from the two,
        ``trades`` = closed trades sent so far, ``pnl`` = equity − ``cash`` of
        :meth:`started`. Buffered equity points go out first."""
        bars = _count("bars_processed", bars_processed)
        total = self.total_bars if total_bars is None else _count("total_bars", total_bars)
        if total is None:
            raise ValueError("`total_bars` is needed (call started() or pass it)")
        now = time.monotonic()
        if not force and not self._progress_due(bars, total, now):
            return None
        equity = _number("equity", equity)
        if pnl is None:
            if self.cash is None:
                raise ValueError("`pnl` is needed (or pass cash= to started())")
            pnl = equity - self.cash
        if pct is None:
            pct = 100.0 * bars / total if total else 100.0
        data = {
            "pct": min(100.0, max(0.0, _number("pct", pct))),
            "bars_processed": bars,
            "total_bars": total,
            "current_time": to_timestamp(current_time),
            "trades": self.closed_trades if trades is None else _count("trades", trades),
            "equity": equity,
            "pnl": _number("pnl", pnl),
        }
        self._last_progress_bar = bars
        self._last_progress_at = now
        self.flush_equity()
        return self._send("progress", data)

    def _progress_due(self, bars: int, total: int, now: float) -> bool:
        if self._last_progress_bar is None or bars >= total:
            return True
        every_bars, every_ms = self.progress_every_bars, self.progress_every_ms
        if every_bars is None and every_ms is None:
            return True
        if every_bars is not None and bars - self._last_progress_bar >= every_bars:
            return True
        return every_ms is not None and (now - self._last_progress_at) * 1000 >= every_ms

    # -- trades ----------------------------------------------------------------------

    def trade(
        self,
        *,
        id: int,
        side: str,
        action: str,
        time: TimeLike,
        price: float,
        size: float,
        reason: str,
        pnl: Optional[float] = None,
        return_pct: Optional[float] = None,
    ) -> "Future[int]":
        """``trade`` {id, side long|short, action entry|exit, time, price, size, pnl?,
        return_pct?, reason}, sent at once. An entry and its exit share ``id``;
        ``pnl`` (net) and ``return_pct`` belong to exits."""
        if side not in ("long", "short"):
            raise ValueError(f"`side` is long or short, got {side!r}")
        if action not in ("entry", "exit"):
            raise ValueError(f"`action` is entry or exit, got {action!r}")
        data: Dict[str, Any] = {
            "id": _count("id", id),
            "side": side,
            "action": action,
            "time": to_timestamp(time),
            "price": _number("price", price),
            "size": _number("size", size),
            "reason": reason,
        }
        if pnl is not None:
            data["pnl"] = _number("pnl", pnl)
        if return_pct is not None:
            data["return_pct"] = _number("return_pct", return_pct)
        if action == "exit":
            self.closed_trades += 1
        self._next_trade_id = max(self._next_trade_id, data["id"] + 1)
        self.flush_equity()
        future = self._send("trade", data)
        self.publisher.flush(wait=False)
        return future

    def entry(self, *, side: str, time: TimeLike, price: float, size: float, reason: str) -> int:
        """Publishes an entry with the next free trade id and returns that id."""
        trade_id = self._next_trade_id
        self.trade(id=trade_id, side=side, action="entry", time=time, price=price,
                   size=size, reason=reason)
        return trade_id

    def exit(
        self,
        trade_id: int,
        *,
        side: str,
        time: TimeLike,
        price: float,
        size: float,
        reason: str,
        pnl: Optional[float] = None,
        return_pct: Optional[float] = None,
    ) -> "Future[int]":
        """Publishes the exit of the entry ``trade_id``."""
        return self.trade(id=trade_id, side=side, action="exit", time=time, price=price,
                          size=size, reason=reason, pnl=pnl, return_pct=return_pct)

    # -- equity ----------------------------------------------------------------------

    def equity(self, points: Iterable[Sequence[Any]]) -> None:
        """Buffers equity points ``(time, equity)`` or ``(time, equity, drawdown_pct)``;
        a missing drawdown is computed from the running peak. Every ``equity_batch``
        points go out as one ``equity`` message {points: [[time, equity,
        drawdown_pct], ...]}."""
        for point in points:
            if len(point) not in (2, 3):
                raise ValueError(f"an equity point is (time, equity[, drawdown_pct]), got {point!r}")
            value = _number("points", point[1])
            self._peak = value if self._peak is None else max(self._peak, value)
            if len(point) == 3 and point[2] is not None:
                drawdown = _number("points", point[2])
            else:
                drawdown = (self._peak - value) / self._peak * 100.0 if self._peak > 0 else 0.0
            self._equity.append([to_timestamp(point[0]), value, min(100.0, max(0.0, drawdown))])
            if len(self._equity) >= self.equity_batch:
                self.flush_equity()

    def equity_point(self, time: TimeLike, equity: float, drawdown_pct: Optional[float] = None) -> None:
        """Buffers one equity point (see :meth:`equity`)."""
        self.equity([(time, equity, drawdown_pct)])

    def flush_equity(self) -> "Optional[Future[int]]":
        """Sends the buffered equity points as one message, if there are any."""
        if not self._equity:
            return None
        points, self._equity = self._equity, []
        return self._send("equity", {"points": points})

    # -- results ---------------------------------------------------------------------

    def metrics(
        self,
        *,
        return_pct: float,
        sharpe: float,
        sortino: float,
        max_drawdown_pct: float,
        win_rate: float,
        profit_factor: Optional[float],
        trades: int,
        exposure_pct: float,
    ) -> "Future[int]":
        """``metrics`` {return_pct, sharpe, sortino, max_drawdown_pct, win_rate (0–100),
        profit_factor (``None`` when no trade lost; infinity is sent as ``None``),
        trades, exposure_pct (0–100)}. NaN is refused: JSON cannot carry it."""
        data = self.metrics_data(
            return_pct=return_pct, sharpe=sharpe, sortino=sortino,
            max_drawdown_pct=max_drawdown_pct, win_rate=win_rate,
            profit_factor=profit_factor, trades=trades, exposure_pct=exposure_pct,
        )
        self.last_metrics = data
        self.flush_equity()
        return self._send("metrics", data)

    @staticmethod
    def metrics_data(**fields: Any) -> Dict[str, Any]:
        """The ``metrics`` payload built and checked from keyword fields."""
        pf = fields.get("profit_factor")
        if pf is not None and math.isinf(float(pf)) and float(pf) > 0:
            pf = None
        return {
            "return_pct": _number("return_pct", fields["return_pct"]),
            "sharpe": _number("sharpe", fields["sharpe"]),
            "sortino": _number("sortino", fields["sortino"]),
            "max_drawdown_pct": _number("max_drawdown_pct", fields["max_drawdown_pct"]),
            "win_rate": _number("win_rate", fields["win_rate"]),
            "profit_factor": None if pf is None else _number("profit_factor", pf),
            "trades": _count("trades", fields["trades"]),
            "exposure_pct": _number("exposure_pct", fields["exposure_pct"]),
        }

    def complete(
        self,
        *,
        final_equity: float,
        duration_ms: Optional[int] = None,
        metrics: Optional[Mapping[str, Any]] = None,
    ) -> "Future[int]":
        """``complete`` {final_equity, duration_ms, metrics}: ``metrics`` defaults to
        the last :meth:`metrics` sent, ``duration_ms`` to the time since
        :meth:`started`. Sends everything buffered and flushes the publisher."""
        if metrics is None:
            if self.last_metrics is None:
                raise ValueError("`metrics` is needed (or call metrics() first)")
            metrics = self.last_metrics
        else:
            metrics = self.metrics_data(**metrics)
        if duration_ms is None:
            started = self._started_at if self._started_at is not None else time.monotonic()
            duration_ms = int((time.monotonic() - started) * 1000)
        data = {
            "final_equity": _number("final_equity", final_equity),
            "duration_ms": _count("duration_ms", duration_ms),
            "metrics": dict(metrics),
        }
        self.flush_equity()
        future = self._send("complete", data)
        self.publisher.flush(wait=False)
        return future

    def error(self, error: str, details: Optional[str] = None) -> "Future[int]":
        """``error`` {error, details?}: the run failed (``details`` is text). Sent at
        once."""
        if not error.strip():
            raise ValueError("`error` must not be empty")
        data: Dict[str, Any] = {"error": error}
        if details is not None:
            data["details"] = str(details)
        self.flush_equity()
        future = self._send("error", data)
        self.publisher.flush(wait=False)
        return future

    def cancelled(self, reason: Optional[str] = None) -> "Future[int]":
        """``cancelled`` {reason?}: the run was stopped before its end."""
        self.flush_equity()
        future = self._send("cancelled", {} if reason is None else {"reason": reason})
        self.publisher.flush(wait=False)
        return future

    def log(self, level: str, message: str, *, target: str = "backtest", bar: Optional[int] = None) -> "Future[int]":
        """``log`` {level trace|debug|info|warn|error, message, target, bar?}; see also
        :class:`~tickwire.logging_handler.TopicLogHandler`."""
        data: Dict[str, Any] = {"level": level, "message": message, "target": target}
        if bar is not None:
            data["bar"] = _count("bar", bar)
        return self._send("log", data)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Sends buffered equity points, then waits for the publisher to deliver
        everything (raising its first unreported :class:`~tickwire.errors.PublishError`)."""
        self.flush_equity()
        return self.publisher.flush(timeout)

    def _send(self, kind: str, data: Dict[str, Any]) -> "Future[int]":
        return self.publisher.publish(self.topic, kind, data)
