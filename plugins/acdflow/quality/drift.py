"""Time-drift checks of agent status imports, run as Great Expectations suites.

8x8 reads the UTC-formatted ``dateRange`` of a request as tenant-local wall clock. An import that
does not correct for it (``correct_time_quirk: false``) asks for the UTC window ``[A, B)`` and gets
the events of ``[A + s, B + s)`` with ``s = −(tenant UTC offset)``: 8 hours *later* for
America/Los_Angeles in winter, 5.5 hours *earlier* for Asia/Kolkata. Three checks catch this and
related faults; each is one expectation suite committed under ``great_expectations/expectations/``
(:data:`CHECK_SUITES`), run in an in-memory Great Expectations context (see
:mod:`acdflow.quality.gx_runner`):

``window``
    Every returned event lies in the requested UTC window, give or take ``tolerance_seconds``
    (column ``seconds_outside_window``, suite parameter ``window_tolerance_seconds``). On failure
    :func:`estimate_window_shift` estimates ``s`` and the result reports ``−s`` minutes, i.e. in the
    sign convention of UTC offsets (−480 for Los Angeles in winter, +330 for Kolkata).
``offset``
    The UTC offset 8x8 wrote on each timestamp equals the configured tenant zone's offset at that
    instant, DST included (columns ``observed_offset_minutes`` / ``expected_offset_minutes``). A
    failure means the report ran in another zone than configured; the most frequent wrong observed
    offset is reported and the expected one is in the details.
``live_vs_history``
    Live status starts (realtime API, UTC) and historical status-change times of the same agent and
    status agree. :func:`classify_live_difference` sorts each pair into ``0`` (jitter of at most
    2 minutes), a non-zero multiple of 30 minutes (within 2 minutes of it: a whole/half-hour shift)
    or nothing (a pair matching neither, e.g. another occurrence of the status, which is no
    evidence of drift). The suite fails when fewer than half of the classified pairs agree; the
    most frequent shift (live minus history, minutes) is reported.

**How the window shift is estimated.** With ``d = t − A`` for every returned event ``t`` and
``L = B − A``: if 8x8 returned ``[A + s, B + s)`` then ``max(d) − L < s ≤ min(d)``. Every real UTC
offset is a multiple of 15 minutes, so the candidates are the multiples of 15 minutes in
``(max(d) − L − τ, min(d) + τ]`` (``τ`` = the tolerance, for clock jitter at the edges). Events
spread over the window leave exactly one. Sparse events can leave several; then preferred are a
shift whose ``−s`` is a UTC offset the tenant zone really uses within a day of the window (the
signature of the quirk), then whole hours, then half hours, then the smallest magnitude. No
candidate at all means the events span more than one window length: the wall-clock range 8x8 read
crossed a DST change (a fall-back day stretches it by the repeated hour) or some events are
strays. The estimate then anchors on the earliest event, choosing the same way among the multiples
of 15 minutes in ``(min(d) + τ − max(L, 15 min), min(d) + τ]``, which yields the offset in force
where 8x8 started reading. ``shift_exact`` in the details says which case applied.

The Python estimators only explain a failure; whether a check passes is decided by Great
Expectations on the derived columns. Empty inputs pass (there is nothing to contradict) and say so
in their details.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from acdflow.resources import gx_root
from acdflow.timewindow import zone

__all__ = [
    "CHECK_LIVE_VS_HISTORY",
    "CHECK_OFFSET",
    "CHECK_SUITES",
    "CHECK_WINDOW",
    "DEFAULT_TOLERANCE_SECONDS",
    "DriftCheckResult",
    "LiveHistoryPair",
    "StatusEventObservation",
    "WindowShiftEstimate",
    "classify_live_difference",
    "estimate_window_shift",
    "run_drift_checks",
]

CHECK_WINDOW = "window"
CHECK_OFFSET = "offset"
CHECK_LIVE_VS_HISTORY = "live_vs_history"

DEFAULT_TOLERANCE_SECONDS = 60
# A live/history difference within this of a multiple of 30 minutes belongs to that multiple.
LIVE_MATCH_BAND_SECONDS = 120
LIVE_SHIFT_STEP_MINUTES = 30
# No two UTC offsets differ by more than 26 h (−12:00 … +14:00): a larger difference pairs two
# different occurrences of a status, whatever its remainder.
LIVE_MAX_SHIFT_MINUTES = 26 * 60
MAX_EXAMPLES = 5

_SUITE_WINDOW = "agent_status_drift_window"
_SUITE_OFFSET = "agent_status_drift_offset"
_SUITE_LIVE = "agent_status_drift_live_vs_history"
# check name (dq_results.check_name) -> the committed expectation suite that decides it
CHECK_SUITES = {CHECK_WINDOW: _SUITE_WINDOW, CHECK_OFFSET: _SUITE_OFFSET, CHECK_LIVE_VS_HISTORY: _SUITE_LIVE}
# The frames the suites run on (GX dataframe assets): one row per returned event / per live pair.
_EVENTS_ASSET = "agent_status_events"
_LIVE_ASSET = "live_history_pairs"

_US = timedelta(microseconds=1)
_QUARTER_HOUR_US = 15 * 60 * 1_000_000
_ONE_HOUR = timedelta(hours=1)
# Zone offsets "near" a window: wide enough to contain the instant any shift up to 26 h points at.
_OFFSET_SEARCH = timedelta(hours=27)


@dataclass(frozen=True, slots=True)
class StatusEventObservation:
    """One returned agent status-change event: its instant and the UTC offset 8x8 wrote on it."""

    agent_id: str
    status: str
    time_utc: datetime  # aware
    observed_offset_minutes: int  # east of UTC, as in the timestamp's ±HH:MM


@dataclass(frozen=True, slots=True)
class LiveHistoryPair:
    """A live status start and the historical status change it was matched with (same agent, status)."""

    agent_id: str
    status_name: str
    live_start_utc: datetime  # aware
    history_start_utc: datetime  # aware


@dataclass(frozen=True, slots=True)
class DriftCheckResult:
    """Outcome of one check for one interval; ``details`` is JSON-serialisable.

    ``observed_offset_minutes`` is ``None`` unless drift was detected: for ``window`` the tenant UTC
    offset the shift corresponds to, for ``offset`` the offset 8x8 wrote, for ``live_vs_history``
    the shift live minus history.
    """

    check: str
    passed: bool
    observed_offset_minutes: int | None
    details: dict[str, Any]

    @property
    def message(self) -> str:
        """One line for task logs and alerts."""
        return f"{self.check}: {'passed' if self.passed else 'FAILED'}: {self.details.get('summary', '')}"


@dataclass(frozen=True, slots=True)
class WindowShiftEstimate:
    """The shift ``s`` (minutes) by which returned events sit relative to the requested window."""

    shift_minutes: int | None  # None without events
    candidates_minutes: tuple[int, ...]
    exact: bool  # all events fit one window of the requested length shifted by a candidate
    quirk_consistent: bool  # −shift is an offset the tenant zone uses within a day of the window

    @property
    def tenant_offset_minutes(self) -> int | None:
        """``−shift`` in the UTC-offset sign convention; ``None`` when there is no (non-zero) shift."""
        return -self.shift_minutes if self.shift_minutes else None


# ---- pure estimators ------------------------------------------------------------------------


def _aware_utc(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _offset_minutes(tz: tzinfo, instant: datetime) -> int:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # an IANA zone always has an offset
    return int(offset.total_seconds()) // 60


def _zone_offsets_near(tz: tzinfo, start: datetime, end: datetime) -> set[int]:
    offsets: set[int] = set()
    t = start - _OFFSET_SEARCH
    while t <= end + _OFFSET_SEARCH:
        offsets.add(_offset_minutes(tz, t))
        t += _ONE_HOUR
    return offsets


def _quarter_hours(lo_us: int, hi_us: int) -> list[int]:
    """Multiples of 15 minutes ``m`` (in minutes) with ``lo < m ≤ hi`` (bounds in microseconds)."""
    return [k * 15 for k in range(lo_us // _QUARTER_HOUR_US + 1, hi_us // _QUARTER_HOUR_US + 1)]


def estimate_window_shift(
    event_times: Sequence[datetime],
    requested_start: datetime,
    requested_end: datetime,
    tenant_timezone: str,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> WindowShiftEstimate:
    """Estimate how far returned events sit from the requested UTC window; see the module docstring."""
    a = _aware_utc("requested_start", requested_start)
    b = _aware_utc("requested_end", requested_end)
    if b <= a:
        raise ValueError(f"empty requested window [{a.isoformat()}, {b.isoformat()})")
    if not event_times:
        return WindowShiftEstimate(None, (), exact=False, quirk_consistent=False)
    tz = zone(tenant_timezone)
    length = (b - a) // _US
    tolerance = tolerance_seconds * 1_000_000
    d = [(_aware_utc("event time", t) - a) // _US for t in event_times]
    first, last = min(d), max(d)

    candidates = _quarter_hours(last - length - tolerance, first + tolerance)
    exact = bool(candidates)
    if not exact:
        candidates = _quarter_hours(first + tolerance - max(length, _QUARTER_HOUR_US), first + tolerance)
    offsets = _zone_offsets_near(tz, a, b)
    best = min(candidates, key=lambda c: (-c not in offsets, c % 60 != 0, c % 30 != 0, abs(c), c))
    return WindowShiftEstimate(
        shift_minutes=best,
        candidates_minutes=tuple(candidates),
        exact=exact,
        quirk_consistent=-best in offsets,
    )


def classify_live_difference(seconds: float) -> int | None:
    """Class of one live-minus-history difference: 0 (agree), a whole/half-hour shift, or ``None``."""
    step = LIVE_SHIFT_STEP_MINUTES * 60
    k = round(seconds / step)
    if abs(seconds - k * step) > LIVE_MATCH_BAND_SECONDS or abs(k * LIVE_SHIFT_STEP_MINUTES) > (
        LIVE_MAX_SHIFT_MINUTES
    ):
        return None
    return k * LIVE_SHIFT_STEP_MINUTES


# ---- running the checks -----------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _run_name(integration: str, interval_start: datetime) -> str:
    # Names the run in the details (and in logs): integration and interval, safe characters only.
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", integration) or "integration"
    return f"{safe}__{interval_start:%Y%m%dT%H%MZ}"


def run_drift_checks(
    *,
    integration: str,
    interval_start: datetime,
    interval_end: datetime,
    requested_start: datetime,
    requested_end: datetime,
    tenant_timezone: str,
    events: Sequence[StatusEventObservation],
    live_pairs: Sequence[LiveHistoryPair] = (),
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    context_root: Path | None = None,
    build_docs: bool = True,
) -> list[DriftCheckResult]:
    """Run the ``window``, ``offset`` and ``live_vs_history`` checks for one data interval.

    ``requested_start``/``requested_end`` is the UTC window the import meant to receive: with the
    correction on, the ``covers_start``/``covers_end`` of the corrected request (they include the
    deliberate widening around DST changes); with it off, the ``[A, B)`` whose UTC digits were sent.
    ``tenant_timezone`` is the zone the report runs in (its IANA name). ``context_root`` is the
    folder holding the committed suites (``expectations/*.json``), by default
    :func:`acdflow.resources.gx_root`; it is only read. ``build_docs`` is accepted for
    compatibility and ignored: the checks run in memory and write nothing; Data Docs are built on
    demand from ``dq_results`` with ``acdflow dq docs``. Returns the three results in that order.
    """
    start = _aware_utc("interval_start", interval_start)
    end = _aware_utc("interval_end", interval_end)
    a = _aware_utc("requested_start", requested_start)
    b = _aware_utc("requested_end", requested_end)
    if end <= start:
        raise ValueError(f"empty interval [{start.isoformat()}, {end.isoformat()})")
    if b <= a:
        raise ValueError(f"empty requested window [{a.isoformat()}, {b.isoformat()})")
    if tolerance_seconds < 0:
        raise ValueError(f"tolerance_seconds must not be negative, got {tolerance_seconds}")
    tz = zone(tenant_timezone)
    del build_docs  # accepted for compatibility; see the docstring
    root = context_root if context_root is not None else gx_root()
    run_name = _run_name(integration, start)

    results: list[DriftCheckResult] = []
    if events:
        results.extend(_check_events(root, run_name, a, b, tenant_timezone, tz, events, tolerance_seconds))
    else:
        for check in (CHECK_WINDOW, CHECK_OFFSET):
            results.append(
                DriftCheckResult(
                    check,
                    True,
                    None,
                    {"events": 0, "summary": "no status events returned, nothing to check"},
                )
            )
    if live_pairs:
        results.append(_check_live(root, run_name, live_pairs))
    else:
        results.append(
            DriftCheckResult(
                CHECK_LIVE_VS_HISTORY,
                True,
                None,
                {"pairs": 0, "summary": "no live/history pairs, nothing to check"},
            )
        )
    return results


def _seconds_outside(t: datetime, a: datetime, b: datetime) -> float:
    if t < a:
        return (a - t).total_seconds()
    if t >= b:
        # Half-open window of millisecond timestamps: its last instant is b − 1 ms, so an event
        # exactly at b is 1 ms outside (and fails even with zero tolerance).
        return (t - b).total_seconds() + 0.001
    return 0.0


def _check_events(
    root: Path,
    run_name: str,
    a: datetime,
    b: datetime,
    tenant_timezone: str,
    tz: tzinfo,
    events: Sequence[StatusEventObservation],
    tolerance_seconds: int,
) -> list[DriftCheckResult]:
    import pandas as pd  # type: ignore[import-untyped]

    from acdflow.quality import gx_runner

    times = [_aware_utc("event time_utc", e.time_utc) for e in events]
    outside = [_seconds_outside(t, a, b) for t in times]
    expected = [_offset_minutes(tz, t) for t in times]
    frame = pd.DataFrame(
        {
            "agent_id": [e.agent_id for e in events],
            "status": [e.status for e in events],
            "time_utc": pd.to_datetime(times, utc=True),
            "seconds_outside_window": pd.Series(outside, dtype="float64"),
            "observed_offset_minutes": pd.Series([e.observed_offset_minutes for e in events], dtype="int64"),
            "expected_offset_minutes": pd.Series(expected, dtype="int64"),
        }
    )
    outcome = gx_runner.validate(
        frame,
        (_SUITE_WINDOW, _SUITE_OFFSET),
        asset=_EVENTS_ASSET,
        parameters={"window_tolerance_seconds": tolerance_seconds},
        root=root,
    )
    gx_common: dict[str, Any] = {"gx_run_name": run_name}

    # ---- window
    window_suite = outcome[_SUITE_WINDOW]
    n = len(events)
    out_idx = [i for i, s in enumerate(outside) if s > tolerance_seconds]
    window_details: dict[str, Any] = {
        "events": n,
        "outside_window": len(out_idx),
        "tolerance_seconds": tolerance_seconds,
        "requested_start": _iso(a),
        "requested_end": _iso(b),
        "earliest_event": _iso(min(times)),
        "latest_event": _iso(max(times)),
        "max_seconds_outside": max(outside),
        "tenant_timezone": tenant_timezone,
    }
    observed: int | None = None
    if window_suite.success:
        window_details["summary"] = f"all {n} events inside the requested window (±{tolerance_seconds} s)"
    else:
        estimate = estimate_window_shift(times, a, b, tenant_timezone, tolerance_seconds)
        observed = estimate.tenant_offset_minutes
        window_details.update(
            shift_minutes=estimate.shift_minutes,
            shift_candidates_minutes=list(estimate.candidates_minutes),
            shift_exact=estimate.exact,
            quirk_consistent=estimate.quirk_consistent,
            examples=[
                {
                    "agent_id": events[i].agent_id,
                    "status": events[i].status,
                    "time_utc": _iso(times[i]),
                    "seconds_outside_window": outside[i],
                }
                for i in out_idx[:MAX_EXAMPLES]
            ],
        )
        if observed is None:
            window_details["summary"] = (
                f"{len(out_idx)} of {n} events outside the requested window {_iso(a)}–{_iso(b)} "
                f"(±{tolerance_seconds} s) without a consistent whole-window shift"
            )
        else:
            window_details["summary"] = (
                f"{len(out_idx)} of {n} events outside the requested window {_iso(a)}–{_iso(b)} "
                f"(±{tolerance_seconds} s); they are shifted by {estimate.shift_minutes:+d} min, i.e. the "
                f"request was read as wall clock at UTC offset {observed:+d} min"
            )
    window_details.update(gx_common, expectations=window_suite.expectations)

    # ---- offset
    offset_suite = outcome[_SUITE_OFFSET]
    mismatch_idx = [i for i, e in enumerate(events) if e.observed_offset_minutes != expected[i]]
    pairs = Counter((events[i].observed_offset_minutes, expected[i]) for i in mismatch_idx)
    offset_details: dict[str, Any] = {
        "events": n,
        "mismatched": len(mismatch_idx),
        "tenant_timezone": tenant_timezone,
        "expected_offsets_minutes": sorted(set(expected)),
    }
    observed_offset: int | None = None
    if offset_suite.success:
        offset_details["summary"] = f"all {n} event offsets match {tenant_timezone}"
    else:
        ranked = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
        (observed_offset, expected_offset), _ = ranked[0] if ranked else ((None, None), 0)
        offset_details.update(
            observed_offset_minutes=observed_offset,
            expected_offset_minutes=expected_offset,
            mismatches=[
                {"observed_offset_minutes": o, "expected_offset_minutes": x, "events": c}
                for (o, x), c in ranked
            ],
            examples=[
                {
                    "agent_id": events[i].agent_id,
                    "status": events[i].status,
                    "time_utc": _iso(times[i]),
                    "observed_offset_minutes": events[i].observed_offset_minutes,
                    "expected_offset_minutes": expected[i],
                }
                for i in mismatch_idx[:MAX_EXAMPLES]
            ],
            summary=(
                f"{len(mismatch_idx)} of {n} events carry a UTC offset other than {tenant_timezone}'s: "
                f"observed {observed_offset:+d} min where {expected_offset:+d} min was expected"
                if observed_offset is not None and expected_offset is not None
                else f"event offsets disagree with {tenant_timezone}"
            ),
        )
    offset_details.update(gx_common, expectations=offset_suite.expectations)

    return [
        DriftCheckResult(CHECK_WINDOW, window_suite.success, observed, window_details),
        DriftCheckResult(CHECK_OFFSET, offset_suite.success, observed_offset, offset_details),
    ]


def _check_live(root: Path, run_name: str, live_pairs: Sequence[LiveHistoryPair]) -> DriftCheckResult:
    import pandas as pd

    from acdflow.quality import gx_runner

    live = [_aware_utc("live_start_utc", p.live_start_utc) for p in live_pairs]
    history = [_aware_utc("history_start_utc", p.history_start_utc) for p in live_pairs]
    diffs = [(lv - h).total_seconds() for lv, h in zip(live, history, strict=True)]
    classes = [classify_live_difference(s) for s in diffs]
    frame = pd.DataFrame(
        {
            "agent_id": [p.agent_id for p in live_pairs],
            "status_name": [p.status_name for p in live_pairs],
            "live_start_utc": pd.to_datetime(live, utc=True),
            "history_start_utc": pd.to_datetime(history, utc=True),
            "live_minus_history_seconds": pd.Series(diffs, dtype="float64"),
            # Nullable: GX counts missing values neither as expected nor as unexpected, which is
            # exactly how unmatched pairs must weigh.
            "half_hour_shift_minutes": pd.array(classes, dtype="Int64"),
        }
    )
    suite = gx_runner.validate(frame, (_SUITE_LIVE,), asset=_LIVE_ASSET, root=root)[_SUITE_LIVE]

    n = len(live_pairs)
    shifts = Counter(c for c in classes if c)
    agreeing = sum(1 for c in classes if c == 0)
    unmatched = sum(1 for c in classes if c is None)
    details: dict[str, Any] = {
        "pairs": n,
        "agreeing": agreeing,
        "shifted": sum(shifts.values()),
        "unmatched": unmatched,
        "median_live_minus_history_seconds": statistics.median(diffs),
        "shifts": [
            {"shift_minutes": s, "pairs": c}
            for s, c in sorted(shifts.items(), key=lambda i: (-i[1], abs(i[0])))
        ],
        "gx_run_name": run_name,
    }
    observed: int | None = None
    if suite.success:
        details["summary"] = (
            f"{agreeing} of {n} pairs agree within {LIVE_MATCH_BAND_SECONDS} s, "
            f"{sum(shifts.values())} shifted, {unmatched} unmatched: no systematic shift"
        )
    else:
        observed = details["shifts"][0]["shift_minutes"] if shifts else None
        in_cluster = [s for s, c in zip(diffs, classes, strict=True) if c == observed]
        details.update(
            shift_minutes=observed,
            shift_median_seconds=statistics.median(in_cluster) if in_cluster else None,
            examples=[
                {
                    "agent_id": p.agent_id,
                    "status_name": p.status_name,
                    "live_start_utc": _iso(lv),
                    "history_start_utc": _iso(h),
                    "live_minus_history_seconds": s,
                }
                for p, lv, h, s, c in zip(live_pairs, live, history, diffs, classes, strict=True)
                if c == observed
            ][:MAX_EXAMPLES],
            summary=(
                f"{sum(shifts.values())} of {n - unmatched} matched pairs are shifted by whole/half hours; "
                f"live starts run {observed:+d} min from history"
                if observed is not None
                else "live and historical status starts disagree"
            ),
        )
    details["expectations"] = suite.expectations
    return DriftCheckResult(CHECK_LIVE_VS_HISTORY, suite.success, observed, details)
