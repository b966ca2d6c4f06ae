"""The history DAG end to end: whole UTC days around DST changes in the tenant's zone, against the
simulator's ground truth, against the same intervals imported by the 15-minute DAGs, and cleared."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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
from tests.e2e.test_assets_e2e import events

pytestmark = pytest.mark.usefixtures("airflow_db")
DAY = timedelta(days=1)
MS = timedelta(milliseconds=1)

# Three consecutive UTC days, one of them holding a DST change of the tenant's zone: its request
# spans 23 or 25 hours of local wall-clock digits for 24 real hours (the wall-clock hours listed).
CASES: dict[str, tuple[str, str, datetime, list[float]]] = {
    # 2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC), on the middle day. That day starts at 02:00
    # local, which happens twice: the request starts at the unambiguous 01:00 (an hour early, so
    # whichever 02:00 8x8 takes the day is covered) and ends at 00:59:59.999, 24 hours of digits.
    "berlin_fall_back": ("Europe/Berlin", "eu", utc("2026-10-24T00:00:00+00:00"), [24.0, 24.0, 24.0]),
    # 2026-10-04 02:00 AEST -> 03:00 AEDT (10-03 16:00 UTC), on the last day.
    "sydney_spring_forward": ("Australia/Sydney", "au", utc("2026-10-01T00:00:00+00:00"), [24.0, 24.0, 25.0]),
    # 2026-04-05 03:00 AEDT -> 02:00 AEST (04-04 16:00 UTC), on the last day.
    "sydney_fall_back": ("Australia/Sydney", "au", utc("2026-04-02T00:00:00+00:00"), [24.0, 24.0, 23.0]),
}
DAYS = 3
# The Sydney changes fall at 16:00 UTC: the last nine hours of their ranges hold them.
CONVERGED_HOURS = 9


def _pipeline(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, schema: str, case: str
) -> Pipeline:
    timezone, region, first, _ = CASES[case]
    pipeline: Pipeline = start_pipeline(
        request,
        tmp_path,
        warehouse_uri,
        schema,
        name=f"hist_{case}"[:40],
        timezone=timezone,
        region=region,
        scale=2000,
        faults="malformed_rate=0.02;seed=3",
        # Four hours after the last day: the days' interactions have finished, as in final data.
        clock=first + DAYS * DAY + timedelta(hours=4),
        history_start_date=first.date().isoformat(),
    )
    return pipeline


def _days(first: datetime) -> list[datetime]:
    return [first + i * DAY for i in range(DAYS)]


# Each published table's rows of [start, end).
_TABLES = {
    "interactions": "SELECT * FROM {schema}.interactions WHERE integration = %s"
    " AND queue_time >= %s AND queue_time < %s",
    "interval_aht": "SELECT * FROM {schema}.interval_aht WHERE integration = %s"
    " AND interval_start >= %s AND interval_start < %s",
    "agent_status_history": "SELECT * FROM {schema}.agent_status_history WHERE integration = %s"
    " AND start_time >= %s AND start_time < %s",
    "rejected_rows": "SELECT source, row_hash, reason, raw, record_id, record_time"
    " FROM {schema}.rejected_rows WHERE integration = %s AND record_time >= %s AND record_time < %s",
}
# Which load wrote a row, and when, is not part of its content.
_NOT_CONTENT = {"loaded_at", "report_id", "report_created_at"}


def _tables(pipe: Pipeline, start: datetime, end: datetime) -> dict[str, list[str]]:
    tables = {}
    for table, query in _TABLES.items():
        rows = pipe.query(query, pipe.name, start, end)
        assert rows, f"no {table} rows in {start} .. {end}"
        tables[table] = sorted(
            json.dumps({k: v for k, v in r.items() if k not in _NOT_CONTENT}, default=str, sort_keys=True)
            for r in rows
        )
    return tables


def _sent(details: dict[str, Any]) -> tuple[datetime, datetime]:
    """The wall-clock digits a request sent: its first, and its last plus 1 ms (the end is inclusive)."""
    start = datetime.fromisoformat(str(details["request_start"]).removesuffix("Z"))
    end = datetime.fromisoformat(str(details["request_end"]).removesuffix("Z")) + MS
    return start, end


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _covered(details: dict[str, Any], timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants the sent digits name in the tenant's zone, read as 8x8's Java does: a
    repeated time as its first occurrence (fold=0), a skipped one shifted forward by the gap (what
    fold=0 gives for a time in a gap)."""
    zone = ZoneInfo(timezone)
    return tuple(t.replace(tzinfo=zone).astimezone(UTC) for t in _sent(details))  # type: ignore[return-value]


@pytest.mark.parametrize("case", sorted(CASES))
def test_history_days_across_a_dst_change_equal_the_truth_and_clear_idempotently(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str, case: str
) -> None:
    timezone, _, first, wall_clock_hours = CASES[case]
    last_end = first + DAYS * DAY
    pipe = _pipeline(request, tmp_path, warehouse_uri, fresh_schema, case)
    for day in _days(first):
        pipe.run_day(day)

    # Every interaction, AHT row and status of the three days, to the millisecond.
    compare_with_truth(pipe, first, last_end)
    compare_statuses_with_truth(pipe, first, last_end, as_of=last_end - MS)
    # One report per kind and day, each reading its day (interactions: and the final overlap before
    # it), sent as tenant-local digits: 23 or 25 hours of them on the DST change day.
    reads = pipe.query(
        "SELECT step, interval_start, details FROM {schema}.load_runs WHERE integration = %s"
        " AND step LIKE '%%.trigger_report' AND status = 'success' ORDER BY interval_start",
        pipe.name,
    )
    assert len(reads) == 2 * DAYS
    statuses = [r["details"] for r in reads if r["step"] == "agent_status.trigger_report"]
    assert [_hours(*_sent(d)) for d in statuses] == wall_clock_hours
    for read in reads:
        start = read["interval_start"]
        overlap = FIFTEEN if read["step"].startswith("interactions.") else timedelta(0)
        covered_start, covered_end = _covered(read["details"], timezone)
        assert covered_start <= start - overlap
        assert covered_end == start + DAY
        assert datetime.fromisoformat(read["details"]["window_start"]) == start - overlap
        assert datetime.fromisoformat(read["details"]["window_end"]) == start + DAY
        assert read["details"]["final_data"] is True
    # Each day's drift checks ran and passed.
    dq = pipe.query(
        "SELECT interval_start, interval_end, bool_and(passed) AS passed FROM {schema}.dq_results"
        " WHERE integration = %s GROUP BY 1, 2 ORDER BY 1",
        pipe.name,
    )
    assert [(r["interval_start"], r["interval_end"], r["passed"]) for r in dq] == [
        (day, day + DAY, True) for day in _days(first)
    ]
    # AHT was recomputed for every 15-minute interval of every day, with or without rows.
    aht_runs = pipe.query(
        "SELECT interval_start, (details->>'intervals')::int AS n FROM {schema}.load_runs"
        " WHERE integration = %s AND step = 'interactions.aggregate_aht' ORDER BY 1",
        pipe.name,
    )
    assert len(aht_runs) == DAYS
    assert all(r["n"] >= 96 for r in aht_runs)
    # Each day's run announced the three tables it published, for its day.
    for table, task in (
        ("interactions", "interactions.load"),
        ("interval_aht", "interactions.aggregate_aht"),
        ("agent_status_history", "agent_status.load"),
    ):
        announced = events(pipe, table)
        assert [(e["dag_id"], e["task_id"]) for e in announced] == [(f"{pipe.name}__history", task)] * DAYS
        assert [e["extra"]["interval_start"] for e in announced] == [d.isoformat() for d in _days(first)]
        assert all(e["extra"]["intervals_count"] >= 96 for e in announced if table != "agent_status_history")
    history = _tables(pipe, first, last_end)

    # Clearing (re-running) the range, latest day first, changes nothing.
    for day in reversed(_days(first)):
        pipe.run_day(day)
    assert _tables(pipe, first, last_end) == history


@pytest.mark.parametrize("case", ["sydney_fall_back", "sydney_spring_forward"])
def test_history_and_15_minute_dags_converge_on_the_same_rows(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str, case: str
) -> None:
    """The last nine hours of the range, DST change included, imported by both kinds of DAG into
    the same empty tables in turn: identical rows in every published table. (All 288 intervals of
    each 15-minute DAG would be too slow for the suite; the whole range of history is compared with
    the ground truth above.)"""
    first = CASES[case][2]
    last_end = first + DAYS * DAY
    start = last_end - timedelta(hours=CONVERGED_HOURS)
    pipe = _pipeline(request, tmp_path, warehouse_uri, fresh_schema, case)
    for day in _days(first):
        pipe.run_day(day)
    history = _tables(pipe, start, last_end)

    pipe.execute(
        "TRUNCATE {schema}.interactions, {schema}.interval_aht, {schema}.agent_status_history,"
        " {schema}.rejected_rows, {schema}.report_coverage"
    )
    for interval in intervals(start, CONVERGED_HOURS * 4):
        pipe.run(interval, kind="interactions")
        pipe.run(interval, kind="agent_status")
    fifteen = _tables(pipe, start, last_end)
    assert {t: len(rows) for t, rows in fifteen.items()} == {t: len(rows) for t, rows in history.items()}
    assert fifteen == history
