"""DAG policy over one DagBag of the real ``dags/`` folder, built from a test integrations file."""

from __future__ import annotations

import itertools
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.dags.audited_parse import audited_parse

INTERACTION_TASKS = [
    "authenticate",
    "trigger_report",
    "wait_for_report",
    "extract",
    "transform",
    "load",
    "aggregate_aht",
]
AGENT_STATUS_TASKS = [*INTERACTION_TASKS[:-1], "check_time_drift"]
TASKS = {"interactions": INTERACTION_TASKS, "agent_status": AGENT_STATUS_TASKS}
API_TASKS = {"authenticate", "trigger_report", "wait_for_report", "extract"}
EXPECTED_DAGS = sorted(
    ["acdflow_maintenance", *(f"{n}__{k}" for n in ("acme_us", "nordic_eu") for k in (*TASKS, "live_status"))]
)

INTEGRATIONS = {
    "warehouse": {"conn_id": "wfm_warehouse", "schema": "acd"},
    "integrations": [
        {"name": "acme_us", "conn_id": "eightbyeight_acme", "start_date": "2026-11-01", "tags": ["tier1"]},
        {"name": "broken_one", "conn_id": "eightbyeight_b", "start_date": "2026-11-01", "retries": 0},
        {
            "name": "nordic_eu",
            "conn_id": "eightbyeight_nordic",
            "start_date": "2026-10-01T06:15:00Z",
            "retries": 5,
        },
        {"name": "paused", "conn_id": "eightbyeight_p", "start_date": "2026-11-01", "enabled": False},
    ],
}


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("cfg") / "integrations.yaml"
    path.write_text(yaml.safe_dump(INTEGRATIONS))
    old = os.environ.get("ACDFLOW_INTEGRATIONS")
    os.environ["ACDFLOW_INTEGRATIONS"] = str(path)
    try:
        from airflow.dag_processing.dagbag import DagBag

        yield DagBag(dag_folder=str(REPO_ROOT / "dags"))
    finally:
        if old is None:
            os.environ.pop("ACDFLOW_INTEGRATIONS", None)
        else:
            os.environ["ACDFLOW_INTEGRATIONS"] = old


def test_broken_entry_is_one_clear_import_error_and_hides_nothing(dagbag: Any) -> None:
    errors = {Path(k).name: v for k, v in dagbag.import_errors.items()}
    assert set(errors) == {"acdflow_config_errors.py"}
    message = errors["acdflow_config_errors.py"]
    assert "integrations[1] (name 'broken_one')" in message
    assert "field 'retries'" in message
    assert sorted(dagbag.dag_ids) == EXPECTED_DAGS


@pytest.mark.parametrize("kind", sorted(TASKS))
@pytest.mark.parametrize("name", ["acme_us", "nordic_eu"])
def test_report_dag_shape(dagbag: Any, name: str, kind: str) -> None:
    dag = dagbag.dags[f"{name}__{kind}"]
    order = [t.task_id for t in _topological(dag)]
    assert order == TASKS[kind]
    for upstream, downstream in itertools.pairwise(TASKS[kind]):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    assert dag.catchup is True
    assert dag.max_active_runs == 4
    assert {"8x8", name} <= set(dag.tags)
    assert dag.doc_md
    assert "airflow tasks clear" in dag.doc_md
    assert f"{name}__{kind}" in dag.doc_md
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
        assert task.retry_exponential_backoff > 0
        assert task.owner == "wfm-data"
        assert task.on_failure_callback, f"{task.task_id} has no failure callback"
        expected_pool = f"acdflow_8x8_{name}" if task.task_id in API_TASKS else "default_pool"
        assert task.pool == expected_pool, task.task_id


@pytest.mark.parametrize("name", ["acme_us", "nordic_eu"])
def test_live_status_dag_shape(dagbag: Any, name: str) -> None:
    dag = dagbag.dags[f"{name}__live_status"]
    assert [t.task_id for t in _topological(dag)] == ["authenticate", "poll_live_status"]
    # Polling the past is pointless; the next run overlaps the previous one at the handover.
    assert dag.catchup is False
    assert dag.max_active_runs == 2
    assert {"8x8", name, "live_status"} <= set(dag.tags)
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert "API cost" in dag.doc_md
    for task in dag.tasks:
        assert task.pool == f"acdflow_8x8_{name}_live"
        assert task.retries >= 2
        assert task.on_failure_callback
    poll = dag.get_task("poll_live_status")
    assert poll.execution_timeout is not None
    assert poll.execution_timeout > timedelta(minutes=15)


def test_per_integration_settings_reach_the_dag(dagbag: Any) -> None:
    acme = dagbag.dags["acme_us__interactions"]
    nordic = dagbag.dags["nordic_eu__interactions"]
    assert "tier1" in acme.tags
    assert {t.retries for t in nordic.tasks} == {5}
    assert nordic.start_date == pendulum.datetime(2026, 10, 1, 6, 15, tz="UTC")


def test_every_run_covers_exactly_fifteen_minutes(dagbag: Any) -> None:
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    dag = dagbag.dags["acme_us__interactions"]
    timetable = coerce_to_core_timetable(dag.timetable)
    restriction = TimeRestriction(earliest=dag.start_date, latest=None, catchup=True)
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert info is not None
    assert info.data_interval.start == dag.start_date
    last: DataInterval = info.data_interval
    # Walk a whole day of scheduled runs, crossing midnight: contiguous, no gaps, 15 minutes each.
    for _ in range(97):
        assert last.end - last.start == timedelta(minutes=15)
        nxt = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        assert nxt is not None
        assert nxt.data_interval.start == last.end
        last = nxt.data_interval
    # Manual runs (dag.test, "Trigger DAG") get the 15 minutes that end at or before run_after.
    for run_after in ("2026-11-01T09:37:12+00:00", "2026-03-29T01:00:00+00:00"):
        interval = timetable.infer_manual_data_interval(run_after=pendulum.parse(run_after))
        assert interval.end - interval.start == timedelta(minutes=15)
        assert interval.start.minute % 15 == 0


def _topological(dag: Any) -> list[Any]:
    return list(dag.topological_sort())


def test_parsing_does_no_network_database_variables_or_connections(tmp_path: Path) -> None:
    """Parse the DAG folder in a fresh process with an unusable metadata DB and an audit hook that
    records every socket connection: parse time must open none and still build every DAG."""
    report = audited_parse(tmp_path, INTEGRATIONS)
    assert report["connects"] == []
    assert report["dags"] == EXPECTED_DAGS
    assert sorted(report["errors"]) == ["acdflow_config_errors.py"]


def test_every_task_of_every_dag_has_an_execution_timeout(dagbag: Any) -> None:
    from acdflow.factory import EXECUTION_TIMEOUTS

    assert sorted(dagbag.dag_ids) == EXPECTED_DAGS
    for dag_id in EXPECTED_DAGS:
        for task in dagbag.dags[dag_id].tasks:
            timeout = task.execution_timeout
            assert isinstance(timeout, timedelta), f"{dag_id}.{task.task_id} has no execution_timeout"
            assert timedelta(minutes=1) <= timeout <= timedelta(hours=2), (dag_id, task.task_id, timeout)
            if task.task_id in EXECUTION_TIMEOUTS:
                assert timeout == EXECUTION_TIMEOUTS[task.task_id]
    # The live poll runs 15 minutes plus its handover grace: its timeout must leave it all of that.
    poll = dagbag.dags["acme_us__live_status"].get_task("poll_live_status")
    assert poll.execution_timeout >= timedelta(minutes=16)
    assert dagbag.dags["acme_us__interactions"].get_task("extract").execution_timeout == timedelta(hours=1)
