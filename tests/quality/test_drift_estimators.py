"""The pure estimators behind the drift checks, exhaustively over DST days (no Great Expectations)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from acdflow.quality import classify_live_difference, estimate_window_shift
from tests.quality.drift_testlib import (
    DST_DAYS,
    events_between,
    local_day_intervals,
    naive_window,
    offset_minutes,
    utc,
)

OVERLAP = timedelta(minutes=30)
INTERVAL = timedelta(minutes=15)


@pytest.mark.parametrize(("tz_name", "day"), DST_DAYS)
def test_naive_shift_is_the_tenant_offset_for_every_interval_of_a_dst_day(tz_name: str, day: str) -> None:
    checked = stretched = 0
    for s in local_day_intervals(tz_name, day):
        a, b = s - OVERLAP, s + INTERVAL
        returned = naive_window(a, b, tz_name)
        events = events_between(returned.start, returned.end, tz_name, seed=s.hour * 60 + s.minute)
        if not events:
            continue  # digits straddling a spring-forward gap: 8x8 reads an empty range
        estimate = estimate_window_shift([e.time_utc for e in events], a, b, tz_name)
        expected = -returned.shift_minutes(a)
        # A real offset of the zone where 8x8 started reading (just before it, for a skipped time).
        assert expected in {
            offset_minutes(tz_name, returned.start - timedelta(hours=1)),
            offset_minutes(tz_name, returned.start),
        }
        assert estimate.tenant_offset_minutes == expected, (s, estimate)
        assert estimate.quirk_consistent
        stretched += not estimate.exact
        checked += 1
    assert checked >= 90
    # Fall-back days read the repeated hour: some windows come back stretched (the inexact path).
    fall_back = (tz_name, day) in {
        ("America/Los_Angeles", "2026-11-01"),
        ("Europe/Helsinki", "2026-10-25"),
        ("Australia/Sydney", "2026-04-05"),
    }
    assert (stretched > 0) == fall_back


@pytest.mark.parametrize(
    ("tz_name", "when", "offset"),
    [
        ("America/Los_Angeles", utc(2026, 1, 15, 18), -480),
        ("America/Los_Angeles", utc(2026, 7, 15, 18), -420),
        ("Europe/Helsinki", utc(2026, 1, 15, 9), 120),
        ("Europe/Helsinki", utc(2026, 7, 15, 9), 180),
        ("Asia/Kolkata", utc(2026, 5, 4, 6), 330),
        ("Australia/Sydney", utc(2026, 6, 15, 1), 600),
        ("Australia/Sydney", utc(2026, 1, 15, 1), 660),
    ],
)
def test_naive_shift_reports_the_known_offsets(tz_name: str, when: datetime, offset: int) -> None:
    a, b = when - OVERLAP, when + INTERVAL
    returned = naive_window(a, b, tz_name)
    events = events_between(returned.start, returned.end, tz_name)
    estimate = estimate_window_shift([e.time_utc for e in events], a, b, tz_name)
    assert estimate.tenant_offset_minutes == offset
    assert estimate.exact
    assert estimate.candidates_minutes == (-offset,)


def test_sparse_events_prefer_the_zones_own_offset() -> None:
    # Three events 5.5 h early: multiples of 15 min from -345 to -315 fit; only -330 is Kolkata's.
    a, b = utc(2026, 5, 4, 6), utc(2026, 5, 4, 6, 45)
    times = [a - timedelta(minutes=330) + timedelta(minutes=m) for m in (14, 20, 29)]
    estimate = estimate_window_shift(times, a, b, "Asia/Kolkata")
    assert len(estimate.candidates_minutes) > 1
    assert estimate.shift_minutes == -330
    assert estimate.tenant_offset_minutes == 330


def test_sparse_events_without_zone_evidence_prefer_whole_hours() -> None:
    # Configured UTC, but the events sit ~2 h late: -2 h is no UTC offset of UTC, whole hours win.
    a, b = utc(2026, 5, 4, 6), utc(2026, 5, 4, 6, 45)
    times = [a + timedelta(hours=2, minutes=m) for m in (10, 16, 25)]
    estimate = estimate_window_shift(times, a, b, "UTC")
    assert estimate.shift_minutes == 120
    assert not estimate.quirk_consistent


def test_a_stray_event_is_no_shift() -> None:
    a, b = utc(2026, 5, 4, 6), utc(2026, 5, 4, 6, 45)
    times = [a + timedelta(minutes=m) for m in range(0, 45, 3)] + [b + timedelta(minutes=95)]
    estimate = estimate_window_shift(times, a, b, "Europe/Helsinki")
    assert not estimate.exact
    assert estimate.shift_minutes == 0
    assert estimate.tenant_offset_minutes is None


def test_no_events_no_estimate() -> None:
    estimate = estimate_window_shift([], utc(2026, 5, 4, 6), utc(2026, 5, 4, 7), "Europe/Helsinki")
    assert estimate.shift_minutes is None
    assert estimate.tenant_offset_minutes is None


def test_estimator_rejects_naive_and_empty_windows() -> None:
    a = utc(2026, 5, 4, 6)
    with pytest.raises(ValueError, match="aware"):
        estimate_window_shift([a], a.replace(tzinfo=None), a + INTERVAL, "UTC")
    with pytest.raises(ValueError, match="empty"):
        estimate_window_shift([a], a, a, "UTC")
    with pytest.raises(ValueError, match="unknown IANA"):
        estimate_window_shift([a], a, a + INTERVAL, "Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, 0),
        (4.2, 0),
        (-119, 0),
        (121, None),  # beyond jitter, nowhere near a half hour: another occurrence
        (17 * 60, None),
        (3600, 60),
        (3600 - 90, 60),
        (-3600 + 30, -60),
        (330 * 60 + 5, 330),
        (1800, 30),
        (45 * 60, None),  # a quarter past: no whole/half-hour shift
        (27 * 3600, None),  # further apart than any two UTC offsets
    ],
)
def test_classify_live_difference(seconds: float, expected: int | None) -> None:
    assert classify_live_difference(seconds) == expected
