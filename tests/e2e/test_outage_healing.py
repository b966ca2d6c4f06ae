"""Outages heal by themselves: after 8x8 refused every request for 1 hour or 18 hours, the next
daily settle run brings both tables back to 8x8's state without anyone clearing a run, and until
then the statuses that bridge the hole are marked provisional.

Real Airflow (``dag.test``), real HTTP to the simulator, real PostgreSQL; the expected rows are the
simulator's ground truth.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.harness import (
    FIFTEEN,
    Pipeline,
    compare_statuses_with_truth,
    compare_with_truth,
    intervals,
    start_pipeline,
    utc,
)

pytestmark = pytest.mark.usefixtures("airflow_db")
MS = timedelta(milliseconds=1)
KINDS = ("interactions", "agent_status")
SETTLE_HOUR = 2  # the default settle_hour_utc; settle_lookback_hours stays at its default of 48


def _run_both(pipe: Pipeline, start: datetime) -> None:
    for kind in KINDS:
        pipe.run(start, kind=kind, clock=start + FIFTEEN - MS)


def _provisional(pipe: Pipeline) -> list[dict[str, object]]:
    return pipe.query(
        "SELECT agent_id, start_time, end_time FROM {schema}.agent_status_history"
        " WHERE integration = %s AND end_time_provisional ORDER BY agent_id, start_time",
        pipe.name,
    )


@pytest.mark.parametrize(
    ("outage_hours", "outage_start"),
    [(1, utc("2026-11-10T00:15:00+00:00")), (18, utc("2026-11-09T07:15:00+00:00"))],
    ids=["1h", "18h"],
)
def test_an_outage_heals_by_the_next_settle_run(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    warehouse_uri: str,
    fresh_schema: str,
    outage_hours: int,
    outage_start: datetime,
) -> None:
    outage_end = outage_start + timedelta(hours=outage_hours)
    settle = utc("2026-11-10T02:00:00+00:00")
    assert settle.hour == SETTLE_HOUR
    assert outage_end <= settle - 3 * FIFTEEN
    pipe = start_pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name=f"outage_{outage_hours}h",
        timezone="Europe/Helsinki",
        region="eu",
        clock=outage_start,
        retry_delay_seconds=1,
    )
    before = outage_start - FIFTEEN
    _run_both(pipe, before)

    if outage_hours == 1:
        # During the outage a run fails (and alerts) rather than succeeding with nothing.
        pipe.sim.faults.configure("rate=1;kinds=503;retry_after=0")
        pipe.run(outage_start, kind="agent_status", clock=outage_start + FIFTEEN - MS, expect="failed")
        pipe.sim.faults.clear()

    # 8x8 answers again; the regular runs after the outage re-read only their short look-back.
    for start in intervals(outage_end, (settle - outage_end) // FIFTEEN):
        _run_both(pipe, start)
    bridging = _provisional(pipe)
    assert bridging, "no status bridges the outage: the test would not show the marking"
    for row in bridging:
        # Only statuses whose span includes time no loaded report read are provisional: closed
        # ones that bridge the outage, and open ones that started before its end.
        assert row["start_time"] < outage_end, row
        assert row["end_time"] is None or row["end_time"] > outage_start, row
    statuses = pipe.query(
        "SELECT start_time, end_time, end_time_provisional FROM {schema}.agent_status_history"
        " WHERE integration = %s AND end_time IS NOT NULL",
        pipe.name,
    )
    covered = [s for s in statuses if s["start_time"] >= outage_end or s["end_time"] <= outage_start]
    assert covered
    assert not any(s["end_time_provisional"] for s in covered)

    # The daily settle run re-reads 48 hours: both tables equal 8x8's state, nothing provisional.
    _run_both(pipe, settle)
    as_of = settle + FIFTEEN - MS
    compare_with_truth(pipe, before, settle + FIFTEEN)
    compare_statuses_with_truth(pipe, before, settle + FIFTEEN, as_of)
    assert _provisional(pipe) == []
