"""The history DAG ``<name>__history``: when it exists, which days it schedules, its tasks, and the
window each of its runs reads. Expected values are worked out by hand from the rules in the
runbook ("Importing history")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from acdflow import factory
from acdflow.config import ConfigResult, IntegrationSpec, WarehouseSpec, parse_config
from acdflow.pipeline import agent_status, interactions
from acdflow.runtime import RunInfo

NOW = datetime(2026, 12, 4, 20, 50, tzinfo=UTC)
DAY = timedelta(days=1)
M = timedelta(minutes=1)


def spec(**overrides: Any) -> IntegrationSpec:
    values: dict[str, Any] = {
        "name": "acme",
        "conn_id": "eightbyeight_acme",
        "start_date": datetime(2026, 11, 1, tzinfo=UTC),
        "history_start_date": datetime(2025, 1, 1, tzinfo=UTC),
        **overrides,
    }
    return IntegrationSpec(**values)


def _entry(**keys: Any) -> dict[str, Any]:
    document = {"integrations": [{"name": "acme", "conn_id": "c", "start_date": "2026-11-01", **keys}]}
    return document


def test_history_start_date_is_an_optional_utc_day() -> None:
    (plain,) = parse_config(_entry(), path=Path("-")).integrations
    assert plain.history_start_date is None
    (dated,) = parse_config(_entry(history_start_date="2025-03-01"), path=Path("-")).integrations
    assert dated.history_start_date == datetime(2025, 3, 1, tzinfo=UTC)
    result = parse_config(_entry(history_start_date="2025-03-01T06:00:00"), path=Path("-"))
    assert result.integrations == ()
    (issue,) = result.issues
    assert "history_start_date" in str(issue)
    assert "midnight UTC" in str(issue)


@pytest.mark.parametrize(
    ("overrides", "end"),
    [
        # 48 h settle: horizon 2026-12-02 20:50, the last whole day ends at its midnight.
        ({}, datetime(2026, 12, 2, tzinfo=UTC)),
        # A three-day look-back is longer than the settle look-back: horizon 2026-12-01 20:50.
        ({"lookback_minutes": 3 * 24 * 60}, datetime(2026, 12, 1, tzinfo=UTC)),
        # Settle run disabled: the 4 h look-back decides, horizon 2026-12-04 16:50.
        ({"settle_lookback_hours": 0}, datetime(2026, 12, 4, tzinfo=UTC)),
        # The integration ends earlier: its end_date floored to a day.
        ({"end_date": datetime(2026, 6, 10, 6, 15, tzinfo=UTC)}, datetime(2026, 6, 10, tzinfo=UTC)),
    ],
)
def test_history_ends_at_the_last_midnight_before_the_settle_horizon(
    overrides: dict[str, Any], end: datetime
) -> None:
    assert spec(**overrides).history_end(NOW) == end
    dag = factory.build_history_dag(spec(**overrides), WarehouseSpec(), now=NOW)
    # Airflow's end_date is the start of the last run's interval.
    assert dag.end_date == end - DAY
    assert dag.start_date == datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "hours"),
    [
        ({}, 48),
        ({"lookback_minutes": 3 * 24 * 60}, 72),
        # A status overlap longer than both look-backs decides, rounded up to whole hours.
        ({"settle_lookback_hours": 0, "status_overlap_minutes": 5 * 60 + 1}, 6),
    ],
)
def test_the_history_dag_doc_states_the_age_of_the_data_it_reads(
    overrides: dict[str, Any], hours: int
) -> None:
    dag = factory.build_history_dag(spec(**overrides), WarehouseSpec(), now=NOW)
    assert f"older than {hours} hours" in " ".join(str(dag.doc_md).split())


def test_no_history_dag_without_a_history_start_date() -> None:
    config = ConfigResult(Path("-"), WarehouseSpec(), (spec(history_start_date=None),), ())
    assert sorted(factory.build_dags(config, now=NOW)) == [
        "acme__agent_status",
        "acme__interactions",
        "acme__live_status",
    ]
    config = ConfigResult(Path("-"), WarehouseSpec(), (spec(),), ())
    assert "acme__history" in factory.build_dags(config, now=NOW)


def test_daily_runs_in_parallel_up_to_the_api_concurrency() -> None:
    dag = factory.build_history_dag(spec(api_concurrency=3), WarehouseSpec(), now=NOW)
    assert dag.max_active_runs == 3
    assert dag.catchup is True
    # Daily data intervals in UTC (a run's interval is checked to be the day in the e2e tests).
    assert (type(dag.timetable).__name__, dag.timetable.expression) == (
        "CronDataIntervalTimetable",
        "0 0 * * *",
    )
    assert str(dag.timetable.timezone) == "UTC"
    # No landing deadline: a catch-up queues hundreds of days at once.
    assert dag.deadline is None


def test_nothing_is_scheduled_before_a_first_day_is_final() -> None:
    dag = factory.build_history_dag(
        spec(history_start_date=datetime(2026, 12, 3, tzinfo=UTC)), WarehouseSpec(), now=NOW
    )
    assert dag.timetable.can_be_scheduled is False
    assert dag.end_date is None


def test_tasks_authenticate_once_then_run_each_kind_in_its_group() -> None:
    dag = factory.build_history_dag(spec(), WarehouseSpec(), now=NOW)
    upstream = {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}
    assert upstream == {
        "authenticate": [],
        "interactions.trigger_report": ["authenticate"],
        "interactions.wait_for_report": ["interactions.trigger_report"],
        "interactions.extract": ["interactions.wait_for_report"],
        "interactions.transform": ["interactions.extract"],
        "interactions.load": ["interactions.transform"],
        "interactions.aggregate_aht": ["interactions.load"],
        "agent_status.trigger_report": ["authenticate"],
        "agent_status.wait_for_report": ["agent_status.trigger_report"],
        "agent_status.extract": ["agent_status.wait_for_report"],
        "agent_status.transform": ["agent_status.extract"],
        "agent_status.load": ["agent_status.transform"],
        "agent_status.check_time_drift": ["agent_status.load"],
    }
    tasks = {t.task_id: t for t in dag.tasks}
    # 8x8 calls hold a slot of the integration's pool, shared with the 15-minute DAGs.
    api = {i for i, t in tasks.items() if t.pool == "acdflow_8x8_acme"}
    assert api == {
        "authenticate",
        *(
            f"{k}.{s}"
            for k in ("interactions", "agent_status")
            for s in ("trigger_report", "wait_for_report", "extract")
        ),
    }
    outlets = {i: [a.name for a in t.outlets] for i, t in tasks.items() if t.outlets}
    assert outlets == {
        "interactions.load": ["acdflow.acme.acd.interactions"],
        "interactions.aggregate_aht": ["acdflow.acme.acd.interval_aht"],
        "agent_status.load": ["acdflow.acme.acd.agent_status_history"],
    }
    assert tasks["interactions.extract"].execution_timeout == timedelta(minutes=60)


def _history_run(day: datetime, run_type: str) -> RunInfo:
    return RunInfo("acme__history", "r", "interactions.trigger_report", 1, day, day + DAY, run_type)


@pytest.mark.parametrize("run_type", ["backfill", "scheduled", "manual"])
def test_a_history_run_reads_its_day_whatever_its_type(run_type: str) -> None:
    # Even a day younger than the horizon (a manual run of yesterday): the history DAG reads days.
    for day in (datetime(2025, 3, 30, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC)):
        got = interactions.fetch_window(spec(), _history_run(day, run_type), NOW)
        assert got == (day - 15 * M, day + DAY, True)
        got = agent_status.fetch_window(spec(), _history_run(day, run_type), NOW)
        assert got == (day, day + DAY, True)
    # The final overlap setting applies to the day as to a final 15-minute run.
    day = datetime(2025, 3, 30, tzinfo=UTC)
    got = interactions.fetch_window(spec(final_overlap_minutes=40), _history_run(day, run_type), NOW)
    assert got.start == day - 40 * M


def test_a_15_minute_run_of_the_same_day_still_reads_its_look_back() -> None:
    day = datetime(2026, 12, 3, tzinfo=UTC)
    run = RunInfo("acme__interactions", "r", "trigger_report", 1, day, day + 15 * M, "manual")
    assert interactions.fetch_window(spec(), run, NOW) == (day - 240 * M, day + 15 * M, False)
