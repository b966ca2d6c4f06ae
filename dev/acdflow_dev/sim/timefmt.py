"""Timestamp formatting and parsing, including 8x8's time-zone quirk.

See docs/8x8-api-notes.md, “`dateRange` is read as tenant-local time”.

DST decision (documented for the client, which must widen its windows around transitions): a
``dateRange`` wall-clock time is converted with PEP 495 ``fold=0``. An ambiguous local time (the
repeated hour at fall-back) therefore means its *first* occurrence (the daylight-saving offset), and a
non-existent local time (the skipped hour at spring-forward) is read with the offset in force *before*
the gap, e.g. 02:30 on 2026-03-08 in America/Los_Angeles = 10:30Z (= 03:30 PDT).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from acdflow_dev.sim.clock import from_ms, to_ms

_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)
_TIME_OF_DAY = re.compile(r"^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$")


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _offset_of(ms: int, tz: ZoneInfo) -> int:
    """UTC offset of ``tz`` at ``ms``, in whole seconds, by the datetime machinery."""
    offset = from_ms(ms).astimezone(tz).utcoffset() or timedelta(0)
    return int(offset.total_seconds())


@lru_cache(maxsize=65_536)
def _hour_offset(hour: int, tz: ZoneInfo) -> int | None:
    """The offset in force for the whole UTC hour ``hour``, or ``None`` if it changes within it.

    Zones change offset at most once an hour, so equal offsets at both ends mean one throughout.
    """
    first = _offset_of(hour * 3_600_000, tz)
    return first if _offset_of(hour * 3_600_000 + 3_599_999, tz) == first else None


@lru_cache(maxsize=4_096)
def _day_prefix(day: int) -> str:
    return f"{date.fromordinal(_EPOCH_ORDINAL + day).isoformat()}T"


@lru_cache(maxsize=256)
def _offset_suffix(total: int) -> str:
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def format_offset_ts(ms: int, tz: ZoneInfo) -> str:
    """``YYYY-MM-DDTHH:MM:SS.sss±HH:MM`` in ``tz`` (historical reports, in the report's zone).

    Every timestamp of every report row goes through here, so the wall time is computed from a
    cached hourly offset rather than by a timezone conversion per call.
    """
    total = _hour_offset(ms // 3_600_000, tz)
    if total is None:
        total = _offset_of(ms, tz)
    day, rest = divmod(ms + total * 1000, 86_400_000)
    seconds, millis = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{_day_prefix(day)}{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}{_offset_suffix(total)}"


def format_offset_ts_exact(ms: int, tz: ZoneInfo) -> str:
    """``format_offset_ts`` by a timezone conversion per call: the reference it must equal."""
    local = from_ms(ms).astimezone(tz)
    offset = local.utcoffset() or timedelta(0)
    total = int(offset.total_seconds())
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total) // 60, 60)
    return f"{local:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}{sign}{hours:02d}:{minutes:02d}"


def format_naive_local(ms: int, tz: ZoneInfo) -> str:
    local = from_ms(ms).astimezone(tz)
    return f"{local:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}"


def format_utc_z(ms: int) -> str:
    """Realtime timestamps: UTC with ``Z`` and milliseconds."""
    return f"{from_ms(ms):%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def format_hms(ms: int) -> str:
    """Legacy duration string ``H:MM:SS`` (hours not padded, seconds truncated)."""
    seconds = max(ms, 0) // 1000
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def parse_date_range_value(text: str, tz: ZoneInfo, *, quirk: bool) -> int:
    """Epoch ms of a ``dateRange`` bound.

    With the quirk (default, as 8x8 does) the digits are a wall-clock time in ``tz`` and any ``Z`` or
    offset is ignored; without it the value is an instant (a missing offset then means UTC).
    """
    match = _DATE_TIME.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an ISO-8601 date-time: {text!r}")
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    fraction = (match.group(7) or "0").ljust(3, "0")[:3]
    naive = datetime(year, month, day, hour, minute, second, int(fraction) * 1000)
    if quirk:
        return to_ms(naive.replace(tzinfo=tz, fold=0))
    suffix = match.group(8)
    if suffix is None or suffix in ("Z", "z"):
        return to_ms(naive.replace(tzinfo=UTC))
    sign = 1 if suffix[0] == "+" else -1
    digits = suffix[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return to_ms(naive.replace(tzinfo=UTC) - sign * offset)


def parse_time_of_day(text: str) -> int:
    """Milliseconds since midnight of ``hh:mm:ss`` or ``hh:mm:ss.SSS``."""
    match = _TIME_OF_DAY.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(text)
    hours, minutes, seconds = int(match.group(1)), int(match.group(2)), int(match.group(3))
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(text)
    millis = int((match.group(4) or "0").ljust(3, "0"))
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def local_ms_of_day(ms: int, tz: ZoneInfo) -> int:
    total = _hour_offset(ms // 3_600_000, tz)
    if total is None:
        total = _offset_of(ms, tz)
    return (ms + total * 1000) % 86_400_000


def local_ms_of_day_exact(ms: int, tz: ZoneInfo) -> int:
    """``local_ms_of_day`` by a timezone conversion per call: the reference it must equal."""
    local = from_ms(ms).astimezone(tz)
    return ((local.hour * 60 + local.minute) * 60 + local.second) * 1000 + ms % 1000


def local_date(ms: int, tz: ZoneInfo) -> date:
    return from_ms(ms).astimezone(tz).date()


def local_wall_to_ms(day: date, ms_of_day: int, tz: ZoneInfo) -> int:
    """Instant of a wall-clock time on a local day (``fold=0``, see module docstring)."""
    base = datetime(day.year, day.month, day.day) + timedelta(milliseconds=ms_of_day)
    return to_ms(base.replace(tzinfo=tz, fold=0))
