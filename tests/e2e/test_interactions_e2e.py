"""Queue data end to end: the interactions DAG against the simulator, compared with its ground truth."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import (
    FIFTEEN,
    Pipeline,
    compare_with_truth,
    intervals,
    run_concurrently,
    start_pipeline,
    utc,
)

pytestmark = pytest.mark.usefixtures("airflow_db")

# Consecutive intervals in each tenant's business day, where every interval has traffic.
CASES = {
    "east": ("Europe/Helsinki", "eu", utc("2026-11-10T08:00:00+00:00")),  # 10:00 local, UTC+2
    "west": ("America/Los_Angeles", "us", utc("2026-11-10T18:00:00+00:00")),  # 10:00 local, UTC-8
}
RUN_INTERVALS = 4


def _pipeline(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, schema: str, **kwargs: Any
) -> Pipeline:
    pipeline: Pipeline = start_pipeline(request, tmp_path, warehouse_uri, schema, **kwargs)
    return pipeline


@pytest.mark.parametrize("case", sorted(CASES))
def test_consecutive_intervals_match_ground_truth(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str, case: str
) -> None:
    timezone, region, first = CASES[case]
    last_end = first + RUN_INTERVALS * FIFTEEN
    # Clock well after the range, so every interaction of the range has finished.
    pipe = _pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name=f"acme_{case}",
        timezone=timezone,
        region=region,
        faults="malformed_rate=0.04;seed=5",
        clock=last_end + timedelta(hours=4),
    )
    for start in intervals(first, RUN_INTERVALS):
        pipe.run(start)
    compare_with_truth(pipe, first, last_end)

    truth = pipe.sim.ground_truth()
    # Filtered rows (no queue, other directions, null-queue malformations) are absent altogether.
    filtered = {r.interaction_id for r in truth.filtered_by_malformation(first, last_end)}
    loaded = {r["interaction_id"] for r in pipe.query("SELECT interaction_id FROM {schema}.interactions")}
    assert not filtered & loaded
    # Quarantined rows: every malformed interaction of the range is there, with a reason.
    rejected = pipe.query(
        "SELECT record_id, reason, raw FROM {schema}.rejected_rows WHERE integration = %s", pipe.name
    )
    expected_rejects = truth.rejected_interactions(first, last_end)
    assert expected_rejects, "no malformed rows were injected into the compared range"
    by_id = {r["record_id"]: r for r in rejected if r["record_id"]}
    for bad in expected_rejects:
        if bad.kind == "missing_keys" and bad.field == "interactionId":
            continue  # no id to match on; counted below
        assert bad.interaction_id in by_id, f"{bad.kind} row {bad.interaction_id} was not quarantined"
        assert by_id[bad.interaction_id]["reason"]
        assert bad.interaction_id not in loaded
    assert all(r["reason"] and r["raw"] for r in rejected)
    # The run log accounts for each step of each run.
    steps = pipe.query(
        "SELECT step, count(*) AS n FROM {schema}.load_runs WHERE integration = %s AND status = 'success'"
        " GROUP BY step",
        pipe.name,
    )
    assert {r["step"]: r["n"] for r in steps} == dict.fromkeys(
        (
            "authenticate",
            "trigger_report",
            "wait_for_report",
            "extract",
            "transform",
            "load",
            "aggregate_aht",
        ),
        RUN_INTERVALS,
    )


def test_reruns_and_concurrent_runs_leave_identical_tables(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str, airflow_db: Path
) -> None:
    timezone, region, first = CASES["east"]
    last_end = first + 3 * FIFTEEN
    pipe = _pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name="idem",
        timezone=timezone,
        region=region,
        faults="malformed_rate=0.04;seed=5",
        clock=last_end + timedelta(hours=4),
    )
    for start in intervals(first, 3):
        pipe.run(start)
    tables = {
        "interactions": pipe.checksum("interactions"),
        "interval_aht": pipe.checksum("interval_aht"),
        "rejected_rows": pipe.checksum("rejected_rows"),
    }
    # The same intervals again, in reverse order (a backfill after the fact).
    for start in reversed(intervals(first, 3)):
        pipe.run(start)
    assert {t: pipe.checksum(t) for t in tables} == tables

    # Two runs of the same interval at the same time, in two Airflow processes.
    target = first + FIFTEEN
    run_concurrently(pipe, "idem__interactions", target, airflow_db)
    extracts = pipe.query(
        "SELECT run_id, finished_at FROM {schema}.load_runs WHERE integration = %s AND step = 'extract'"
        " AND interval_start = %s",
        pipe.name,
        target,
    )
    assert len(extracts) >= 3  # one sequential run, one re-run, and the two concurrent ones
    assert {t: pipe.checksum(t) for t in tables} == tables


def test_without_the_time_correction_the_data_is_shifted(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    timezone, region, first = CASES["west"]
    last_end = first + 2 * FIFTEEN
    # The naive request reads UTC digits as Los Angeles wall clock: 8 hours later than asked.
    clock = last_end + timedelta(hours=12)
    pipe = _pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name="naive",
        timezone=timezone,
        region=region,
        clock=clock,
        correct_time_quirk=False,
        lookback_minutes=0,
    )
    for start in intervals(first, 2):
        pipe.run(start)
    truth = pipe.sim.ground_truth()
    expected = {t.interaction_id for t in truth.interactions(first, last_end)}
    got_in_range = {r["interaction_id"] for r in pipe.interactions(first, last_end)}
    assert expected
    assert not expected & got_in_range, "the naive import should have missed the asked-for interactions"
    loaded = pipe.query("SELECT created_time FROM {schema}.interactions WHERE integration = %s", pipe.name)
    assert loaded, "the naive import loaded nothing at all"
    shift = timedelta(hours=8)
    for row in loaded:
        # Everything it did load was created 8 hours after the window it meant to read.
        assert first + shift <= row["created_time"] < last_end + shift


def test_late_interactions_arrive_within_the_stated_bound(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    """Runs as the scheduler would: each interval runs 2 minutes after it ends. After every run the
    warehouse equals the ground truth as of that moment; late finishers arrive in later runs."""
    timezone, region, first = CASES["east"]
    count = 20
    pipe = _pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name="late",
        timezone=timezone,
        region=region,
        clock=first + FIFTEEN,
    )
    seen_late = 0
    for start in intervals(first, count):
        clock = start + FIFTEEN + timedelta(minutes=2)
        pipe.run(start, clock=clock)
        truth = pipe.sim.ground_truth()
        want = {t.interaction_id for t in truth.interactions(first, start + FIFTEEN, as_of=clock)}
        have = {r["interaction_id"] for r in pipe.interactions(first, start + FIFTEEN)}
        assert have == want, f"after the run for {start}"
    late = pipe.query(
        "SELECT interaction_id, interval_start, finished_time FROM {schema}.interactions"
        " WHERE integration = %s AND finished_time > interval_start + interval '30 minutes'",
        pipe.name,
    )
    seen_late = len(late)
    assert seen_late >= 3, "the compared range had too few late finishers to prove anything"


def test_wrong_credentials_fail_authenticate_once_with_a_clear_message(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    timezone, region, first = CASES["west"]
    pipe = _pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name="badcreds",
        timezone=timezone,
        region=region,
        clock=first + timedelta(hours=2),
    )
    good_env = pipe.env
    secret_key = f"AIRFLOW_CONN_{pipe.conn_id.upper()}"

    def wrong_secret_env() -> dict[str, str]:
        env = good_env()
        env[secret_key] = env[secret_key].replace("e2e-secret-Zq81", "not-the-secret-991")
        return env

    pipe.env = wrong_secret_env  # type: ignore[method-assign]
    dag_run = pipe.run(first, expect="failed")
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = {ti.task_id: ti for ti in session.query(TaskInstance).filter_by(run_id=dag_run.run_id)}
    assert str(tis["authenticate"].state) == "failed"
    assert tis["authenticate"].try_number == 1, "a credential error must not be retried"
    assert all(str(tis[t].state) == "upstream_failed" for t in ("trigger_report", "extract", "load"))
    # One token request in all: no retry storm against 8x8.
    assert [r.path for r in pipe.sim.request_log()] == ["/oauth/v2/token"]
    failures = pipe.query(
        "SELECT step, error FROM {schema}.load_runs WHERE integration = %s AND status = 'failed'", pipe.name
    )
    assert [f["step"] for f in failures] == ["authenticate"]
    error = failures[0]["error"]
    assert "AuthenticationError" in error
    assert "Client ID" in error or "credentials" in error.lower()
    assert "not-the-secret-991" not in error


def test_daily_settle_run_brings_in_interactions_open_longer_than_the_lookback(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    timezone, region, first = CASES["east"]
    settle = first + 8 * FIFTEEN
    pipe = _pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name="settle",
        timezone=timezone,
        region=region,
        lookback_minutes=30,
        settle_lookback_hours=6,
        settle_hour_utc=settle.hour,
    )
    for start in intervals(first, 8):
        pipe.run(start, clock=start + FIFTEEN + timedelta(minutes=2))
    clock = settle + FIFTEEN + timedelta(minutes=2)
    truth = pipe.sim.ground_truth()
    want = {t.interaction_id for t in truth.interactions(first, settle + FIFTEEN, as_of=clock)}
    before = {r["interaction_id"] for r in pipe.interactions(first, settle + FIFTEEN)}
    assert want - before, "no interaction outlived the 30-minute look-back; the test proves nothing"
    pipe.run(settle, clock=clock)
    after = {r["interaction_id"] for r in pipe.interactions(first, settle + FIFTEEN)}
    assert after == want
    windows = pipe.query(
        "SELECT details FROM {schema}.load_runs WHERE integration = %s AND step = 'trigger_report'"
        " AND interval_start = %s",
        pipe.name,
        settle,
    )
    (window,) = windows
    assert window["details"]["window_start"] == (settle - timedelta(hours=6)).isoformat()
