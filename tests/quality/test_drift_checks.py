"""The three drift checks end to end through the committed Great Expectations suites.

Every run reads the suites from a read-only copy of the committed folder (the ``gx_root`` fixture
fails the session if anything was written there).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from acdflow.quality import (
    CHECK_LIVE_VS_HISTORY,
    CHECK_OFFSET,
    CHECK_WINDOW,
    DriftCheckResult,
    StatusEventObservation,
    run_drift_checks,
)
from acdflow.timewindow import request_window
from tests.quality.drift_testlib import (
    DST_DAYS,
    events_between,
    live_pairs,
    naive_window,
    offset_minutes,
    utc,
    with_offset,
)

OVERLAP = timedelta(minutes=30)
INTERVAL = timedelta(minutes=15)


def _run(
    gx_root: Path,
    tz_name: str,
    s: datetime,
    events: list[StatusEventObservation],
    *,
    requested: tuple[datetime, datetime] | None = None,
    **kwargs: object,
) -> dict[str, DriftCheckResult]:
    a, b = requested or (s - OVERLAP, s + INTERVAL)
    results = run_drift_checks(
        integration="acme",
        interval_start=s,
        interval_end=s + INTERVAL,
        requested_start=a,
        requested_end=b,
        tenant_timezone=tz_name,
        events=events,
        context_root=gx_root,
        **kwargs,  # type: ignore[arg-type]
    )
    assert [r.check for r in results] == [CHECK_WINDOW, CHECK_OFFSET, CHECK_LIVE_VS_HISTORY]
    for r in results:
        json.dumps(r.details)  # must be storable as jsonb as is
    return {r.check: r for r in results}


def _dst_intervals(tz_name: str, day: str) -> list[datetime]:
    """Intervals next to the day's DST change: by UTC digits (naive import) and by instant (corrected)."""
    d = utc(*map(int, day.split("-")))
    step = timedelta(minutes=15)
    changes = [
        t
        for t in (d - timedelta(days=1) + i * step for i in range(2 * 96))
        if offset_minutes(tz_name, t) != offset_minutes(tz_name, t - step)
    ]
    if not changes:
        return [d + timedelta(hours=6)]
    change = changes[0]
    # Local wall clock of the change, read with the offset before it: the digits 8x8 misreads.
    digits = change + timedelta(minutes=offset_minutes(tz_name, change - step))
    digits = digits.replace(year=d.year, month=d.month, day=d.day)
    return sorted({digits - step, digits + step, digits + 4 * step, change, change + 2 * step})


DST_CASES = [(tz, day, s) for tz, day in DST_DAYS for s in _dst_intervals(tz, day)]


@pytest.mark.parametrize(("tz_name", "day", "s"), DST_CASES, ids=lambda v: str(v).replace(" ", "T"))
def test_corrected_import_passes_all_checks(gx_root: Path, tz_name: str, day: str, s: datetime) -> None:
    # What the corrected request really covers (widened around a fall-back change), as 8x8 returns it.
    window = request_window(s - OVERLAP, s + INTERVAL, tz_name)
    events = events_between(window.covers_start, window.covers_end, tz_name, seed=s.minute + s.hour)
    pairs = live_pairs(s - OVERLAP, shift=timedelta(0))
    got = _run(
        gx_root, tz_name, s, events, requested=(window.covers_start, window.covers_end), live_pairs=pairs
    )
    assert all(r.passed for r in got.values()), {k: r.message for k, r in got.items()}
    assert all(r.observed_offset_minutes is None for r in got.values())
    assert got[CHECK_WINDOW].details["events"] == len(events)


@pytest.mark.parametrize(("tz_name", "day", "s"), DST_CASES, ids=lambda v: str(v).replace(" ", "T"))
def test_naive_import_fails_the_window_check_with_the_tenant_offset(
    gx_root: Path, tz_name: str, day: str, s: datetime
) -> None:
    a, b = s - OVERLAP, s + INTERVAL
    returned = naive_window(a, b, tz_name)
    events = events_between(returned.start, returned.end, tz_name, seed=s.minute + s.hour)
    got = _run(gx_root, tz_name, s, events)
    if not events:
        # Digits starting in a skipped (spring-forward) hour and ending after it: 8x8 reads a range
        # that ends before it starts and returns nothing. Nothing to contradict.
        assert got[CHECK_WINDOW].passed
        assert got[CHECK_WINDOW].details["events"] == 0
        return
    window = got[CHECK_WINDOW]
    assert not window.passed
    assert window.observed_offset_minutes == -returned.shift_minutes(a)
    assert window.details["outside_window"] == len(events)
    assert window.details["shift_minutes"] == returned.shift_minutes(a)
    assert window.details["examples"]
    # The offsets 8x8 wrote are right: the report ran in the right zone, only the request was misread.
    assert got[CHECK_OFFSET].passed


@pytest.mark.parametrize(
    ("tz_name", "when", "offset"),
    [
        ("America/Los_Angeles", utc(2026, 1, 15, 18), -480),
        ("Europe/Helsinki", utc(2026, 1, 15, 9), 120),
        ("Europe/Helsinki", utc(2026, 7, 15, 9), 180),
        ("Asia/Kolkata", utc(2026, 5, 4, 6), 330),
        ("Australia/Sydney", utc(2026, 6, 15, 1), 600),
        ("Australia/Sydney", utc(2026, 1, 15, 1), 660),
    ],
)
def test_naive_import_reports_the_known_offset(
    gx_root: Path, tz_name: str, when: datetime, offset: int
) -> None:
    a, b = when - OVERLAP, when + INTERVAL
    # Shifted by plain arithmetic: 8x8 returns [A - offset, B - offset).
    shift = timedelta(minutes=-offset)
    events = events_between(a + shift, b + shift, tz_name)
    window = _run(gx_root, tz_name, when, events)[CHECK_WINDOW]
    assert not window.passed
    assert window.observed_offset_minutes == offset
    assert window.details["quirk_consistent"] is True
    summary = window.details["expectations"][0]
    assert summary["expectation"] == "expect_column_values_to_be_between"
    assert summary["unexpected_count"] == len(events)


def test_events_just_past_the_tolerance_fail_without_a_shift(gx_root: Path) -> None:
    s = utc(2026, 5, 4, 6)
    a, b = s - OVERLAP, s + INTERVAL
    events = events_between(a, b, "Europe/Helsinki")
    late = StatusEventObservation("ag9", "Available", b + timedelta(seconds=61), 180)
    edge = StatusEventObservation("ag8", "Available", b + timedelta(seconds=59), 180)
    ok = _run(gx_root, "Europe/Helsinki", s, [*events, edge])[CHECK_WINDOW]
    assert ok.passed
    bad = _run(gx_root, "Europe/Helsinki", s, [*events, late])[CHECK_WINDOW]
    assert not bad.passed
    assert bad.details["outside_window"] == 1
    assert bad.observed_offset_minutes is None  # a straggler, not a shifted window
    looser = _run(gx_root, "Europe/Helsinki", s, [*events, late], tolerance_seconds=120)[CHECK_WINDOW]
    assert looser.passed


def test_the_window_is_half_open(gx_root: Path) -> None:
    s = utc(2026, 5, 4, 6)
    a, b = s - OVERLAP, s + INTERVAL
    inside = [StatusEventObservation("ag1", "Available", t, 180) for t in (a, b - timedelta(milliseconds=1))]
    assert _run(gx_root, "Europe/Helsinki", s, inside, tolerance_seconds=0)[CHECK_WINDOW].passed
    at_end = [*inside, StatusEventObservation("ag1", "OnBreak", b, 180)]
    window = _run(gx_root, "Europe/Helsinki", s, at_end, tolerance_seconds=0)[CHECK_WINDOW]
    assert not window.passed
    assert window.details["outside_window"] == 1


@pytest.mark.parametrize(
    ("tz_name", "when", "wrong", "right"),
    [
        # Tenant reports in Berlin time while the integration says Helsinki.
        ("Europe/Helsinki", utc(2026, 1, 15, 9), 60, 120),
        ("Europe/Helsinki", utc(2026, 7, 15, 9), 120, 180),
        # DST ignored: standard time written in summer.
        ("America/Los_Angeles", utc(2026, 7, 15, 18), -480, -420),
        ("Australia/Sydney", utc(2026, 1, 15, 1), 600, 660),
        # UTC written where Kolkata was expected.
        ("Asia/Kolkata", utc(2026, 5, 4, 6), 0, 330),
    ],
)
def test_wrong_offsets_fail_the_offset_check(
    gx_root: Path, tz_name: str, when: datetime, wrong: int, right: int
) -> None:
    a, b = when - OVERLAP, when + INTERVAL
    events = with_offset(events_between(a, b, tz_name), wrong)
    got = _run(gx_root, tz_name, when, events)
    assert got[CHECK_WINDOW].passed
    offset = got[CHECK_OFFSET]
    assert not offset.passed
    assert offset.observed_offset_minutes == wrong
    assert offset.details["observed_offset_minutes"] == wrong
    assert offset.details["expected_offset_minutes"] == right
    assert offset.details["mismatched"] == len(events)
    assert offset.details["mismatches"] == [
        {"observed_offset_minutes": wrong, "expected_offset_minutes": right, "events": len(events)}
    ]


def test_offsets_across_a_dst_change_are_checked_per_instant(gx_root: Path) -> None:
    # 2026-03-08 10:00Z: Los Angeles goes from -480 to -420 inside this window.
    s = utc(2026, 3, 8, 10)
    a, b = s - OVERLAP, s + INTERVAL
    events = events_between(a, b, "America/Los_Angeles")
    assert {e.observed_offset_minutes for e in events} == {-480, -420}
    assert _run(gx_root, "America/Los_Angeles", s, events)[CHECK_OFFSET].passed
    # Writing the pre-change offset on every event is caught only for the events after the change.
    stale = with_offset(events, -480)
    offset = _run(gx_root, "America/Los_Angeles", s, stale)[CHECK_OFFSET]
    assert not offset.passed
    assert offset.details["mismatched"] == sum(1 for e in events if e.observed_offset_minutes == -420)
    assert (offset.observed_offset_minutes, offset.details["expected_offset_minutes"]) == (-480, -420)


@pytest.mark.parametrize("shift_minutes", [60, 330, -60])
def test_shifted_live_pairs_fail_with_the_shift(gx_root: Path, shift_minutes: int) -> None:
    s = utc(2026, 5, 4, 6)
    pairs = live_pairs(s, shift=timedelta(minutes=shift_minutes))
    live = _run(gx_root, "Asia/Kolkata", s, [], live_pairs=pairs)[CHECK_LIVE_VS_HISTORY]
    assert not live.passed
    assert live.observed_offset_minutes == shift_minutes
    assert live.details["shifted"] == len(pairs)
    assert abs(live.details["shift_median_seconds"] - shift_minutes * 60) < 5


def test_jitter_and_unmatched_pairs_are_not_drift(gx_root: Path) -> None:
    s = utc(2026, 5, 4, 6)
    jitter = live_pairs(s, shift=timedelta(0), jitter_seconds=8)
    # Pairs of different occurrences: far apart and nowhere near a whole or half hour.
    unmatched = live_pairs(s, shift=timedelta(minutes=17), count=20, seed=11)
    # A few one-hour coincidences do not make a systematic shift.
    stray = live_pairs(s, shift=timedelta(hours=1), count=3, seed=5)
    mixed = [*jitter, *unmatched, *stray]
    live = _run(gx_root, "Asia/Kolkata", s, [], live_pairs=mixed)[CHECK_LIVE_VS_HISTORY]
    assert live.passed, live.message
    assert live.observed_offset_minutes is None
    assert (live.details["agreeing"], live.details["unmatched"], live.details["shifted"]) == (12, 20, 3)
    # Only unmatched pairs: nothing to contradict.
    only_unmatched = _run(gx_root, "Asia/Kolkata", s, [], live_pairs=unmatched)[CHECK_LIVE_VS_HISTORY]
    assert only_unmatched.passed


def test_empty_inputs_pass_and_say_so(gx_root: Path) -> None:
    got = _run(gx_root, "Europe/Helsinki", utc(2026, 5, 4, 6), [])
    assert all(r.passed and r.observed_offset_minutes is None for r in got.values())
    assert got[CHECK_WINDOW].details["events"] == 0
    assert got[CHECK_OFFSET].details["events"] == 0
    assert got[CHECK_LIVE_VS_HISTORY].details["pairs"] == 0


def test_results_explain_themselves(gx_root: Path) -> None:
    s = utc(2026, 1, 15, 18)
    a, b = s - OVERLAP, s + INTERVAL
    events = events_between(a + timedelta(hours=8), b + timedelta(hours=8), "America/Los_Angeles")
    got = _run(gx_root, "America/Los_Angeles", s, events, live_pairs=live_pairs(s, shift=timedelta(hours=8)))
    window = got[CHECK_WINDOW]
    assert "FAILED" in window.message
    assert "-480" in window.message
    assert window.details["gx_run_name"] == "acme__20260115T1800Z"
    assert window.details["expectations"][0]["max_value"] == 60
    assert got[CHECK_LIVE_VS_HISTORY].observed_offset_minutes == 480


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("interval_start", utc(2026, 5, 4, 6).replace(tzinfo=None), "aware"),
        ("requested_end", utc(2026, 5, 4, 5), "empty requested window"),
        ("tenant_timezone", "Europe/Atlantis", "unknown IANA"),
        ("tolerance_seconds", -1, "negative"),
    ],
)
def test_bad_arguments_are_refused(gx_root: Path, field: str, value: object, match: str) -> None:
    kwargs: dict[str, object] = {
        "integration": "acme",
        "interval_start": utc(2026, 5, 4, 6),
        "interval_end": utc(2026, 5, 4, 6, 15),
        "requested_start": utc(2026, 5, 4, 5, 30),
        "requested_end": utc(2026, 5, 4, 6, 15),
        "tenant_timezone": "Europe/Helsinki",
        "events": [],
        "context_root": gx_root,
    }
    kwargs[field] = value
    with pytest.raises(ValueError, match=match):
        run_drift_checks(**kwargs)  # type: ignore[arg-type]
