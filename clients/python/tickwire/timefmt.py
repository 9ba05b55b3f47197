"""Wire timestamps: RFC 3339, UTC, millisecond precision (``2026-11-22T14:03:11.123Z``),
as ``protocol/src/time.rs`` writes them.
"""

import datetime as _dt
from typing import Union

TimeLike = Union[_dt.datetime, _dt.date, int, float, str]


def to_timestamp(value: TimeLike) -> str:
    """Formats ``value`` as a wire timestamp.

    Accepts an aware ``datetime`` (converted to UTC), a naive one (taken as UTC), a
    ``date`` (its midnight, UTC), Unix seconds (``int``/``float``), anything with a
    ``to_pydatetime()`` (pandas ``Timestamp``), or a string, passed through unchanged
    (the server parses any RFC 3339 and normalises it).
    """
    if isinstance(value, str):
        return value
    if hasattr(value, "to_pydatetime") and not isinstance(value, _dt.datetime):
        value = value.to_pydatetime()
    if isinstance(value, bool):
        raise TypeError("a timestamp cannot be a bool")
    if isinstance(value, (int, float)):
        value = _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc)
    elif isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        else:
            value = value.astimezone(_dt.timezone.utc)
    elif isinstance(value, _dt.date):
        value = _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc)
    else:
        raise TypeError(f"cannot make a timestamp of {type(value).__name__}")
    ms = value.microsecond // 1000
    return value.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"
