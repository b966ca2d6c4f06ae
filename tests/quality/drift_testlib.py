"""Event sets for the drift tests, built from plain zoneinfo arithmetic (independent of acdflow).

The naive import sends the UTC digits of the window ``[A, B)``; 8x8 reads them as wall clock in the
tenant zone (both ends inclusive, at millisecond precision) the way Java's ``LocalDateTime.atZone``
does: a repeated time as its earlier occurrence, a skipped time moved forward by the gap. Python's
``fold=0`` gives exactly those instants.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from acdflow.quality import LiveHistoryPair, StatusEventObservation

ONE_MS = timedelta(milliseconds=1)
STATUSES = ("Available", "OnBreak", "WorkingOffline", "LoggedIn", "WrapUp")

# (zone, local date of a DST change) — both hemispheres; Kolkata has none, so a plain day.
DST_DAYS = [
    ("America/Los_Angeles", "2026-03-08"),
    ("America/Los_Angeles", "2026-11-01"),
    ("Europe/Helsinki", "2026-03-29"),
    ("Europe/Helsinki", "2026-10-25"),
    ("Australia/Sydney", "2026-04-05"),
    ("Australia/Sydney", "2026-10-04"),
    ("Asia/Kolkata", "2026-03-29"),
]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def offset_minutes(tz_name: str, instant: datetime) -> int:
    offset = instant.astimezone(ZoneInfo(tz_name)).utcoffset()
    assert offset is not None
    return int(offset.total_seconds() // 60)


def read_wall_clock(digits: datetime, tz_name: str) -> datetime:
    """The UTC instant 8x8 means by the wall-clock ``digits`` (naive or UTC; its tzinfo is ignored)."""
    return digits.replace(tzinfo=ZoneInfo(tz_name), fold=0).astimezone(UTC)


@dataclass(frozen=True)
class NaiveWindow:
    start: datetime  # what 8x8 really returns: [start, end)
    end: datetime

    def shift_minutes(self, requested_start: datetime) -> int:
        return int((self.start - requested_start).total_seconds() // 60)


def naive_window(a: datetime, b: datetime, tz_name: str) -> NaiveWindow:
    return NaiveWindow(read_wall_clock(a, tz_name), read_wall_clock(b - ONE_MS, tz_name) + ONE_MS)


def events_between(
    start: datetime, end: datetime, tz_name: str, *, count: int = 60, seed: int = 7, agents: int = 12
) -> list[StatusEventObservation]:
    """``count`` events spread over ``[start, end)`` with the offsets 8x8 writes (the zone's, DST incl.)."""
    rng = random.Random(seed)
    span_ms = int((end - start) / ONE_MS)
    if span_ms <= 0:
        return []
    # Status changes cluster nowhere in particular; the first and last minute are always covered,
    # as a realistic 15-minute window with a dozen agents would be.
    points = sorted(
        {rng.randrange(0, min(span_ms, 60_000))}
        | {rng.randrange(max(0, span_ms - 60_000), span_ms)}
        | {rng.randrange(0, span_ms) for _ in range(count - 2)}
    )
    events = []
    for i, ms in enumerate(points):
        t = start + timedelta(milliseconds=ms)
        events.append(
            StatusEventObservation(
                agent_id=f"ag{i % agents:04d}",
                status=STATUSES[i % len(STATUSES)],
                time_utc=t,
                observed_offset_minutes=offset_minutes(tz_name, t),
            )
        )
    return events


def with_offset(events: list[StatusEventObservation], observed: int) -> list[StatusEventObservation]:
    return [
        StatusEventObservation(e.agent_id, e.status, e.time_utc, observed_offset_minutes=observed)
        for e in events
    ]


def live_pairs(
    base: datetime, *, shift: timedelta, count: int = 12, jitter_seconds: float = 4.0, seed: int = 3
) -> list[LiveHistoryPair]:
    """Pairs whose live start runs ``shift`` (plus a few seconds of jitter) after the history start."""
    rng = random.Random(seed)
    pairs = []
    for i in range(count):
        history = base + timedelta(minutes=3 * i, seconds=rng.randrange(0, 60))
        live = history + shift + timedelta(seconds=rng.uniform(-jitter_seconds, jitter_seconds))
        pairs.append(LiveHistoryPair(f"ag{i:04d}", STATUSES[i % len(STATUSES)], live, history))
    return pairs


def local_day_intervals(tz_name: str, day: str, *, every_minutes: int = 15) -> list[datetime]:
    """UTC interval starts whose *digits* fall on the local date ``day`` (what the naive import sends)."""
    d = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return [d + timedelta(minutes=m) for m in range(0, 24 * 60, every_minutes)]
