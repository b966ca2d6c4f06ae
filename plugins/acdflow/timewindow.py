"""Time handling for the 8x8 APIs: request windows, timestamp and duration parsing.

Everything here is pure (no I/O, no clock reads) so it can be unit-tested exhaustively.

The one quirk that shapes this module (docs/8x8-api-notes.md, “`dateRange` is read as tenant-local
time”): the historical API takes ``dateRange`` values written as UTC (``…Z``) but reads their
*digits* as wall-clock time in the report time zone, and both ends are inclusive. Returned
timestamps carry the numeric offset of that zone. So:

* to fetch the UTC window ``[A, B)`` we send the tenant-local wall-clock digits of ``A`` and of
  ``B − 1 ms`` (:func:`request_window` with ``correct_quirk=True``), and
* every returned timestamp is parsed *with its offset* and converted to UTC
  (:func:`parse_api_timestamp`); a timestamp without an offset is refused because it is ambiguous.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DurationError",
    "NaiveTimestampError",
    "RequestWindow",
    "TimestampError",
    "floor_interval",
    "format_api_timestamp",
    "observed_offset_minutes",
    "parse_api_timestamp",
    "parse_api_timestamp_with_offset",
    "parse_duration_ms",
    "request_window",
    "zone",
]

_ONE_MS = timedelta(milliseconds=1)
_ONE_HOUR = timedelta(hours=1)
# A wall-clock reading is off by at most one DST shift: 1 h almost everywhere, 2 h in
# Antarctica/Troll. Widening stops as soon as the window is covered; the cap only guards against a
# corrupt tz database.
_MAX_WIDENING_STEPS = 3


class TimestampError(ValueError):
    """A timestamp from the API could not be parsed (wrong type or not ISO-8601 extended form)."""


class NaiveTimestampError(TimestampError):
    """A timestamp parsed but carries no UTC offset, so the instant it names is ambiguous."""


class DurationError(ValueError):
    """A duration value is none of the formats the API documents (docs/8x8-api-notes.md, “Row format”)."""


# ---- intervals and request windows ---------------------------------------------------


def floor_interval(ts: datetime, minutes: int = 15) -> datetime:
    """Start of the ``minutes``-long UTC interval containing ``ts`` (aware, UTC).

    Intervals are aligned to UTC midnight, so ``minutes`` must divide a day (15, 30, 60, …).
    """
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"floor_interval needs an aware datetime, got naive {ts.isoformat()}")
    if minutes <= 0 or 1440 % minutes:
        raise ValueError(f"interval length must be a positive divisor of 1440 minutes, got {minutes}")
    u = ts.astimezone(UTC)
    of_day = u.hour * 60 + u.minute
    floored = of_day - of_day % minutes
    return u.replace(hour=floored // 60, minute=floored % 60, second=0, microsecond=0)


def format_api_timestamp(naive_wall_clock: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.sssZ`` from wall-clock digits (sub-millisecond part truncated).

    The ``Z`` is decoration the API expects; it does not mean UTC (8x8 reads the digits as
    wall-clock time in the report's zone). An aware datetime is refused because silently dropping
    its offset is exactly the bug this module exists to avoid.
    """
    d = naive_wall_clock
    if d.tzinfo is not None:
        raise ValueError(f"format_api_timestamp takes naive wall-clock digits, got aware {d.isoformat()}")
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
        f".{d.microsecond // 1000:03d}Z"
    )


@dataclass(frozen=True, slots=True)
class RequestWindow:
    """What to send as ``dateRange``/``timezone``, and what the API will really cover.

    ``covers_start`` is inclusive and ``covers_end`` exclusive (the API's inclusive end at millisecond
    precision plus 1 ms), both aware UTC, computed by reading the sent digits in ``timezone`` the way
    Java's ``LocalDateTime.atZone`` does: a repeated (fall-back) time as its first occurrence, a
    non-existent (spring-forward) time shifted forward by the gap.
    """

    start: str
    end: str
    timezone: str
    covers_start: datetime
    covers_end: datetime


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; :class:`ValueError` (not ``KeyError``) for unknown names."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


def _require_aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _floor_ms(u: datetime) -> datetime:
    return u.replace(microsecond=u.microsecond - u.microsecond % 1000)


def _last_ms_before(u: datetime) -> datetime:
    """Latest millisecond tick strictly before ``u`` (rows carry millisecond timestamps)."""
    floored = _floor_ms(u)
    return floored - _ONE_MS if floored == u else floored


def _reading(wall: datetime, tz: ZoneInfo, fold: int = 0) -> datetime:
    return wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)


def _readings(wall: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Earliest and latest UTC instant 8x8 could mean by ``wall`` in ``tz``.

    For ordinary times both folds give the same instant; in a fall-back repeat they are the two
    occurrences, in a spring-forward gap the two candidate offsets.
    """
    a = _reading(wall, tz, 0)
    b = _reading(wall, tz, 1)
    return (a, b) if a <= b else (b, a)


def request_window(
    start_utc: datetime, end_utc: datetime, timezone: str, *, correct_quirk: bool = True
) -> RequestWindow:
    """The ``dateRange``/``timezone`` to send to fetch rows stamped in the UTC window ``[start, end)``.

    ``correct_quirk=True`` (the default): send the wall-clock digits of ``start`` and of
    ``end − 1 ms`` in ``timezone``. Where a wall-clock reading cannot pin down the instant (a start or
    end falling in a fall-back repeated hour or next to a spring-forward gap), the request is widened
    by one hour on that side until *either* reading 8x8 might use still covers the window: we do not
    know how 8x8 resolves a repeated time, and an extra hour of rows costs nothing because callers
    filter rows by their real UTC timestamps and de-duplicate by key. Hence
    ``covers_start <= start`` and ``covers_end >= end`` always.

    ``correct_quirk=False`` reproduces the product's documented (uncorrected) behaviour: the UTC
    digits of ``start`` and ``end − 1 ms`` are sent, 8x8 reads them as local time, and ``covers_*``
    report the shifted UTC range that really comes back.
    """
    a = _floor_ms(_require_aware("start_utc", start_utc))
    b = _require_aware("end_utc", end_utc)
    if b <= a:
        raise ValueError(f"empty window: end {b.isoformat()} is not after start {a.isoformat()}")
    tz = zone(timezone)
    last = _last_ms_before(b)

    if not correct_quirk:
        start_wall = a.replace(tzinfo=None)
        end_wall = last.replace(tzinfo=None)
    else:
        start_wall = a.astimezone(tz).replace(tzinfo=None)
        for _ in range(_MAX_WIDENING_STEPS):
            if _readings(start_wall, tz)[1] <= a:
                break
            start_wall -= _ONE_HOUR
        else:  # pragma: no cover - unreachable with a sane tz database
            raise ValueError(f"cannot represent {a.isoformat()} as wall-clock time in {timezone}")
        end_wall = last.astimezone(tz).replace(tzinfo=None)
        for _ in range(_MAX_WIDENING_STEPS):
            if _readings(end_wall, tz)[0] >= last:
                break
            end_wall += _ONE_HOUR
        else:  # pragma: no cover - unreachable with a sane tz database
            raise ValueError(f"cannot represent {last.isoformat()} as wall-clock time in {timezone}")

    return RequestWindow(
        start=format_api_timestamp(start_wall),
        end=format_api_timestamp(end_wall),
        timezone=timezone,
        covers_start=_reading(start_wall, tz),
        covers_end=_reading(end_wall, tz) + _ONE_MS,
    )


# ---- parsing API values --------------------------------------------------------------


def _parse_aware(value: object) -> datetime:
    """Parse an API timestamp keeping the offset it was sent with.

    ``datetime.fromisoformat`` (C, Python 3.11) does the work; a few index checks first restrict it to
    the extended calendar form with a ``Z`` or ``±HH:MM`` suffix (it would also take week dates,
    basic format and ``+HHMM``, none of which 8x8 sends, so they are treated as corruption).
    """
    if type(value) is not str:
        raise TimestampError(f"expected an ISO-8601 timestamp string, got {type(value).__name__}")
    n = len(value)
    if n < 16 or value[4] != "-" or value[7] != "-" or value[10] != "T" or value[13] != ":":
        raise TimestampError(f"not an ISO-8601 timestamp: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TimestampError(f"not an ISO-8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise NaiveTimestampError(f"timestamp has no UTC offset: {value!r}")
    last = value[-1]
    if last != "Z" and not (value[-3] == ":" and value[-6] in "+-"):
        raise TimestampError(f"offset must be 'Z' or ±HH:MM: {value!r}")
    return parsed


def parse_api_timestamp(value: str) -> datetime:
    """Aware UTC instant of an API timestamp that carries ``Z`` or ``±HH:MM``.

    Accepts ``2022-09-14T23:58:31.234-07:00``, ``2022-12-16T16:28:08.013Z`` and minute precision
    ``2022-08-29T00:00-04:00``. Raises :class:`NaiveTimestampError` when the offset is missing and
    :class:`TimestampError` for anything else unparseable (including instants outside year 1–9999
    once converted to UTC).
    """
    parsed = _parse_aware(value)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise TimestampError(f"timestamp out of range once converted to UTC: {value!r}") from None


def parse_api_timestamp_with_offset(value: str) -> tuple[datetime, int]:
    """``(UTC instant, offset minutes as sent)`` in one parse; see :func:`parse_api_timestamp`."""
    parsed = _parse_aware(value)
    offset = parsed.utcoffset()
    assert offset is not None  # _parse_aware refuses naive values
    try:
        return parsed.astimezone(UTC), int(offset.total_seconds()) // 60
    except OverflowError:
        raise TimestampError(f"timestamp out of range once converted to UTC: {value!r}") from None


def observed_offset_minutes(value: str) -> int:
    """The UTC offset (minutes, east positive) the API wrote on ``value``.

    Kept so a later check can compare what 8x8 sent with the configured report zone (time drift).
    """
    return parse_api_timestamp_with_offset(value)[1]


def _hms_to_ms(value: str) -> int:
    # "H:MM:SS" with unpadded, unbounded hours, as in 8x8's older samples; split beats a regex per row.
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        raise DurationError(f"not a duration: {value!r}")
    hours, minutes, seconds = parts
    if len(minutes) != 2 or len(seconds) != 2 or int(minutes) > 59 or int(seconds) > 59:
        raise DurationError(f"not a H:MM:SS duration: {value!r}")
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000


def _number_to_ms(value: float) -> int:
    if not math.isfinite(value):
        raise DurationError(f"duration is not finite: {value!r}")
    # Fractional milliseconds only appear in averages; round half-even like Decimal does.
    ms = round(value)
    if ms < 0:
        raise DurationError(f"negative duration: {value!r}")
    return ms


def parse_duration_ms(value: Any) -> int | None:
    """Milliseconds from any documented duration format, ``None`` for no value.

    Formats (docs/8x8-api-notes.md, “Row format”): ``{"value": ms, "ongoing": bool}`` (``value``
    may itself be any of the other forms or ``null``), ``"H:MM:SS"`` (hours unpadded, may exceed
    24), integer or float milliseconds (floats rounded half-even), ASCII numeric strings, ``None``.
    Booleans, negative values and anything else raise :class:`DurationError`. The ``ongoing`` flag
    is not returned; callers that need it read it themselves.
    """
    if value is None:
        return None
    kind = type(value)
    if kind is int:
        if value < 0:
            raise DurationError(f"negative duration: {value!r}")
        return int(value)
    if kind is float:
        return _number_to_ms(value)
    if kind is str:
        if value.isascii() and value.isdigit():
            return int(value)
        if ":" in value:
            return _hms_to_ms(value)
        head, dot, tail = value.partition(".")
        if dot and head.isascii() and tail.isascii() and head.isdigit() and tail.isdigit():
            return _number_to_ms(float(value))
        raise DurationError(f"not a duration: {value!r}")
    if isinstance(value, dict):
        if "value" not in value:
            raise DurationError(f"duration object without 'value': {value!r}")
        inner = value["value"]
        if isinstance(inner, dict):
            raise DurationError(f"nested duration object: {value!r}")
        return parse_duration_ms(inner)
    raise DurationError(f"not a duration: {value!r} ({kind.__name__})")
