"""Historical agent statuses end to end: the agent-status DAG against the simulator, compared with
its ground truth, and the Great Expectations time-drift check with and without the correction."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import (
    FIFTEEN,
    PROVENANCE,
    Pipeline,
    compare_statuses_with_truth,
    intervals,
    run_concurrently,
    start_pipeline,
    utc,
)

pytestmark = pytest.mark.usefixtures("airflow_db")
MS = timedelta(milliseconds=1)

# (zone, region, first interval): two ordinary days and a DST change day in each hemisphere.
CASES = {
    "los_angeles_fall_back": ("America/Los_Angeles", "us", utc("2026-11-01T08:30:00+00:00")),
    "helsinki": ("Europe/Helsinki", "eu", utc("2026-11-10T08:00:00+00:00")),
    "kolkata": ("Asia/Kolkata", "au", utc("2026-11-10T04:30:00+00:00")),
    "sydney_spring_forward": ("Australia/Sydney", "au", utc("2026-10-03T15:30:00+00:00")),
}
RUN_INTERVALS = 4


def _pipeline(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, schema: str, **kwargs: Any
) -> Pipeline:
    pipeline: Pipeline = start_pipeline(request, tmp_path, warehouse_uri, schema, scale=6000, **kwargs)
    return pipeline


def _dq(pipe: Pipeline) -> dict[tuple[datetime, str], dict[str, Any]]:
    rows = pipe.query(
        "SELECT interval_start, check_name, passed, observed_offset_minutes, details FROM {schema}.dq_results"
        " WHERE integration = %s",
        pipe.name,
    )
    return {(r["interval_start"], r["check_name"]): r for r in rows}


@pytest.mark.parametrize("case", sorted(CASES))
def test_history_matches_ground_truth_and_passes_the_drift_check(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str, case: str
) -> None:
    timezone, region, first = CASES[case]
    last_end = first + RUN_INTERVALS * FIFTEEN
    clock = last_end - MS  # every event of the range is available; none after it
    pipe = _pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name=f"st_{case}"[:40],
        timezone=timezone,
        region=region,
        clock=clock,
    )
    for start in intervals(first, RUN_INTERVALS):
        pipe.run(start, kind="agent_status")  # succeeds: check_time_drift passed
    # Exactly the truth: the same (agent, start) keys, each once, and every field of every row.
    have = compare_statuses_with_truth(pipe, first, last_end, clock).have
    # The LoggedOut rule: no status code in the name even when 8x8 sent one.
    logged_out = [r for r in have.values() if r["status"].lower() == "loggedout"]
    assert all(r["status_name"] == r["status"] for r in logged_out)
    assert any(r["status_code"] for r in have.values() if r["status"] == "OnBreak")
    # Every interval was validated, and nothing was flagged.
    dq = _dq(pipe)
    for start in intervals(first, RUN_INTERVALS):
        for check in ("window", "offset", "live_vs_history"):
            assert dq[(start, check)]["passed"] is True, (start, check, dq[(start, check)])


def test_reruns_and_concurrent_runs_leave_identicalagent_history(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str, airflow_db: Path
) -> None:
    timezone, region, first = CASES["helsinki"]
    last_end = first + 3 * FIFTEEN
    pipe = _pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name="st_idem",
        timezone=timezone,
        region=region,
        clock=last_end - MS,
    )
    for start in intervals(first, 3):
        pipe.run(start, kind="agent_status")
    before = pipe.checksum("agent_status_history")
    snap = pipe.snapshot("agent_status_history")
    for start in reversed(intervals(first, 3)):
        pipe.run(start, kind="agent_status")
    assert pipe.snapshot("agent_status_history") == snap
    assert pipe.checksum("agent_status_history") == before
    before_content = pipe.checksum("agent_status_history", exclude=PROVENANCE)
    # Backfilling the middle interval after the others were wiped re-links end times exactly.
    pipe.query(
        "DELETE FROM {schema}.agent_status_history WHERE start_time >= %s AND start_time < %s RETURNING 1",
        first + FIFTEEN,
        first + 2 * FIFTEEN,
    )
    pipe.run(first + FIFTEEN, kind="agent_status")
    assert pipe.checksum("agent_status_history", exclude=PROVENANCE) == before_content
    # Two Airflow processes running the same interval at the same time.
    target = first + 2 * FIFTEEN
    run_concurrently(pipe, "st_idem__agent_status", target, airflow_db)
    assert pipe.checksum("agent_status_history", exclude=PROVENANCE) == before_content


@pytest.mark.parametrize(
    ("case", "expected_offset", "mode"),
    [("los_angeles_fall_back", -480, "fail"), ("kolkata", 330, "warn")],
)
def test_without_the_correction_the_drift_check_reports_the_tenant_offset(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    warehouse_uri: str,
    fresh_schema: str,
    case: str,
    expected_offset: int,
    mode: str,
) -> None:
    timezone, region, first = CASES[case]
    start = first + FIFTEEN
    # The naive request is read as tenant wall clock: Los Angeles data comes from 8 hours later.
    clock = start + FIFTEEN + timedelta(hours=9)
    pipe = _pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name=f"naive_{mode}",
        timezone=timezone,
        region=region,
        clock=clock,
        correct_time_quirk=False,
        drift_check=mode,
    )
    pipe.run(start, kind="agent_status", expect="failed" if mode == "fail" else "success")
    window = _dq(pipe)[(start, "window")]
    assert window["passed"] is False
    assert window["observed_offset_minutes"] == expected_offset
    # The loaded data stays in place either way.
    assert pipe.query("SELECT 1 FROM {schema}.agent_status_history WHERE integration = %s LIMIT 1", pipe.name)
    if mode == "fail":
        failures = pipe.query(
            "SELECT step, error FROM {schema}.load_runs WHERE integration = %s AND status = 'failed'",
            pipe.name,
        )
        assert [f["step"] for f in failures] == ["check_time_drift"]
        assert "TimeDriftError" in failures[0]["error"]
        assert str(expected_offset) in failures[0]["error"]


def test_offsets_that_disagree_with_the_configured_zone_fail_the_offset_check(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    # The tenant really lives in Helsinki and ignores the zone acdflow asks for; the connection
    # says UTC. The events come back stamped +02:00 (EET in November), not +00:00.
    timezone, region, first = CASES["helsinki"]
    pipe = _pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name="wrong_zone",
        timezone=timezone,
        region=region,
        clock=first + FIFTEEN + timedelta(hours=1),
        connection_timezone="UTC",
        sim_options={"ignore_report_timezone": True},
    )
    pipe.run(first, kind="agent_status", expect="failed")
    offset = _dq(pipe)[(first, "offset")]
    assert offset["passed"] is False
    assert offset["observed_offset_minutes"] == 120
