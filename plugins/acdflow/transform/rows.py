"""Flatten 8x8 detailed-report rows and realtime metric lists into plain dicts.

A detailed-report row is ``{"total": null, "items": [{"key", "label", "value"}, …]}``
(docs/8x8-api-notes.md, “Row format”). 8x8 does not guarantee the item order and labels are display
text, so fields are looked up by ``key`` only. Realtime agents carry
``metrics: [{"key", "value"}, …]``, flattened the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from acdflow.timewindow import NaiveTimestampError, TimestampError, parse_api_timestamp_with_offset

__all__ = [
    "MAX_ID_CHARS",
    "MAX_NAME_CHARS",
    "MAX_STATUS_CHARS",
    "UNSTORABLE_ROW_KEY",
    "RejectedRow",
    "RowRejected",
    "RowShapeError",
    "TimeBounds",
    "bounded_text",
    "kind_of",
    "metrics_to_dict",
    "optional_timestamp",
    "required_timestamp",
    "row_to_dict",
    "short_repr",
]


# Landing replaces a row PostgreSQL cannot store (jsonb holds no NUL character and no unpaired
# surrogate) by ``{UNSTORABLE_ROW_KEY: <the row as ASCII-escaped JSON text>}``, so the rest of the
# report still lands and this row is quarantined with its original content preserved.
UNSTORABLE_ROW_KEY = "acdflow_unstorable_row"

# Longest text a stored field may hold. A PostgreSQL B-tree index entry must fit in about 2704
# bytes, and an over-long key fails the whole statement, so one row could block a whole page. The
# sums below hold in worst-case UTF-8 (4 bytes a character) with a 40-character integration name:
# * ids (interactionId, queueId, transactionId, agentId): 256 → 1 024 bytes, key of
#   ``interactions`` and, with ``start_time``, of ``agent_status_history``;
# * names (queueName, agent name, interaction labels): 512 → 2 048 bytes; ``queueName`` is in the
#   key of ``interval_aht`` next to a timestamp and the channel;
# * status and status code: 128 each, so ``"status (code)"`` stays ≤ 259 characters (1 036 bytes)
#   and fits next to the agentId in the key of ``agent_status_live_log``.
MAX_ID_CHARS = 256
MAX_NAME_CHARS = 512
MAX_STATUS_CHARS = 128


class RowShapeError(ValueError):
    """A row (or metric list) is not the documented ``items``/``metrics`` shape."""


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _pairs_to_dict(pairs: object, what: str) -> dict[str, Any]:
    if type(pairs) is not list:
        raise RowShapeError(f"{what} is not a list (got {_kind(pairs)})")
    out: dict[str, Any] = {}
    for index, item in enumerate(pairs):
        # json.loads gives dicts; the isinstance fallback keeps other Mappings working.
        if type(item) is not dict and not isinstance(item, Mapping):
            raise RowShapeError(f"{what}[{index}] is not an object (got {_kind(item)})")
        key = item.get("key")
        if type(key) is not str:
            raise RowShapeError(f"{what}[{index}] has no string 'key'")
        if "value" not in item:
            raise RowShapeError(f"{what}[{index}] ({key}) has no 'value'")
        if key in out:
            # Two values for one field: which one is right cannot be known, so the row is unusable.
            raise RowShapeError(f"key {key} appears twice in {what}")
        out[key] = item["value"]
    return out


def row_to_dict(row: Any) -> dict[str, Any]:
    """``{key: value}`` of a detailed-report row; :class:`RowShapeError` says what is wrong otherwise.

    ``total`` and ``label`` are ignored (``total`` is always null for detailed reports).
    """
    if type(row) is not dict and not isinstance(row, Mapping):
        raise RowShapeError(f"row is not an object (got {_kind(row)})")
    if UNSTORABLE_ROW_KEY in row:
        raise RowShapeError(
            "row contains text PostgreSQL cannot store (a NUL character or an unpaired surrogate); "
            f"the row as sent is kept as escaped JSON under {UNSTORABLE_ROW_KEY!r}"
        )
    if "items" not in row:
        raise RowShapeError("row has no 'items'")
    return _pairs_to_dict(row["items"], "items")


def metrics_to_dict(metrics: Any) -> dict[str, Any]:
    """``{key: value}`` of a realtime ``metrics`` array (8x8 does not guarantee the metrics' order)."""
    return _pairs_to_dict(metrics, "metrics")


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row quarantined instead of loaded, with a reason a person can act on.

    ``raw`` is the row exactly as received (normally a Mapping; whatever it was if it was not even
    an object), so it can be stored for inspection and replayed once the cause is fixed.
    ``record_time`` is the best UTC instant for placing the rejection in an interval, if any.
    """

    raw: Any
    reason: str
    interaction_id: str | None = None
    record_time: datetime | None = None
    agent_id: str | None = None


def short_repr(value: object, limit: int = 80) -> str:
    """``repr`` clipped for use in rejection reasons (a corrupt field can be huge)."""
    try:
        text = repr(value)
    except ValueError:  # e.g. an int beyond sys.get_int_max_str_digits()
        return f"<{_kind(value)} too large to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def kind_of(value: object) -> str:
    """JSON-ish type name for messages: ``null``, ``object``, ``array``, ``str``, ``int``…"""
    return _kind(value)


class RowRejected(Exception):
    """Raised inside the transforms when a row must be quarantined; caught there, never escapes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _timestamp_rejection(value: object, what: str, exc: TimestampError) -> RowRejected:
    if isinstance(exc, NaiveTimestampError):
        return RowRejected(f"{what} has no UTC offset ({short_repr(value)})")
    if type(value) is not str:
        return RowRejected(f"{what} is not a timestamp string (got {kind_of(value)})")
    return RowRejected(f"unparseable {what} {short_repr(value)}")


def required_timestamp(fields: Mapping[str, Any], key: str) -> tuple[datetime, int]:
    """``(UTC instant, offset minutes)`` of a mandatory timestamp field, else :class:`RowRejected`."""
    if key not in fields:
        raise RowRejected(f"missing key {key}")
    value = fields[key]
    if value is None:
        raise RowRejected(f"{key} is null")
    try:
        return parse_api_timestamp_with_offset(value)
    except TimestampError as exc:
        raise _timestamp_rejection(value, key, exc) from None


def optional_timestamp(value: Any, what: str) -> datetime | None:
    """UTC instant of an optional timestamp value (``None`` stays ``None``), else :class:`RowRejected`."""
    if value is None:
        return None
    try:
        return parse_api_timestamp_with_offset(value)[0]
    except TimestampError as exc:
        raise _timestamp_rejection(value, what, exc) from None


def bounded_text(value: str, what: str, limit: int) -> str:
    """``value`` if it has at most ``limit`` characters, else :class:`RowRejected`."""
    if len(value) > limit:
        raise RowRejected(f"{what} longer than {limit} characters")
    return value


def _days(span: timedelta) -> str:
    days = span / timedelta(days=1)
    return f"{days:g} day" if days == 1 else f"{days:g} days"


@dataclass(frozen=True, slots=True)
class TimeBounds:
    """The instants a report can plausibly carry: its UTC window widened by a margin each side.

    A time far outside the window is corrupt (year 1, year 9999, epoch 0); loaded, it would land in
    an interval nobody imports and make every duration computed from it absurd.
    """

    window_start: datetime
    window_end: datetime
    before: timedelta
    after: timedelta

    @classmethod
    def around(
        cls, window_start: datetime | None, window_end: datetime | None, before: timedelta, after: timedelta
    ) -> TimeBounds | None:
        """Bounds around the report window, or ``None`` when the window is not known (no check)."""
        if window_start is None and window_end is None:
            return None
        if window_start is None or window_end is None:
            raise ValueError("window_start and window_end must be given together")
        for instant in (window_start, window_end):
            if instant.tzinfo is None or instant.utcoffset() is None:
                raise ValueError(f"report window must be aware, got {instant.isoformat()}")
        return cls(window_start.astimezone(UTC), window_end.astimezone(UTC), before, after)

    def contains(self, instant: datetime) -> bool:
        # Compared as differences so year 1 or 9999 never leaves the datetime range.
        return instant - self.window_start >= -self.before and instant - self.window_end <= self.after

    def check(self, instant: datetime, what: str) -> datetime:
        """``instant`` if it is within the bounds, else :class:`RowRejected` saying which side."""
        if instant - self.window_start < -self.before:
            raise RowRejected(
                f"{what} {instant.isoformat()} is more than {_days(self.before)} before the report window"
            )
        if instant - self.window_end > self.after:
            raise RowRejected(
                f"{what} {instant.isoformat()} is more than {_days(self.after)} after the report window"
            )
        return instant
