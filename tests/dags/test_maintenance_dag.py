"""The ``acdflow_maintenance`` DAG file: built from the local integrations file alone, with the
settings of its ``maintenance:`` section, and not built at all when that section is invalid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.dags.audited_parse import audited_parse

INTEGRATION = {"name": "acme_us", "conn_id": "eightbyeight_acme", "start_date": "2026-11-01"}


_SHAPE = """
dag = bag.dags.get("acdflow_maintenance")
report["maintenance"] = None if dag is None else {
    "schedule": dag.timetable.expression,
    "catchup": dag.catchup,
    "max_active_runs": dag.max_active_runs,
    "tasks": {
        t.task_id: {
            "timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None,
            "upstream": sorted(t.upstream_task_ids),
            "retries": t.retries,
            "weight": t.priority_weight,
            "conn_id": t.spec.conn_id or t.warehouse.conn_id,
            "staging_hours": t.spec.staging_hours,
        }
        for t in dag.tasks
    },
}
"""


def _parse(tmp_path: Path, document: dict[str, Any]) -> dict[str, Any]:
    return audited_parse(tmp_path, document, _SHAPE)


def test_maintenance_dag_parses_from_local_config_only(tmp_path: Path) -> None:
    report = _parse(
        tmp_path,
        {
            "warehouse": {"conn_id": "wfm_warehouse", "schema": "acd"},
            "maintenance": {"schedule": "15 2 * * *", "staging_hours": 72, "conn_id": "wfm_maintenance"},
            "integrations": [INTEGRATION],
        },
    )
    assert report["connects"] == []
    assert report["errors"] == {}
    assert "acdflow_maintenance" in report["dags"]
    assert "acme_us__interactions" in report["dags"]
    shape = report["maintenance"]
    assert shape["schedule"] == "15 2 * * *"
    assert shape["catchup"] is False
    assert shape["max_active_runs"] == 1
    tasks = shape["tasks"]
    assert sorted(tasks) == sorted(
        ["prune_staging", "prune_load_runs", "prune_rejected_rows", "prune_live_log", "prune_dq_results"]
    )
    for task_id, task in tasks.items():
        assert task["timeout"] is not None, task_id
        assert 60 <= task["timeout"] <= 2 * 3600, task_id
        # Independent: one failing prune does not keep the others from running.
        assert task["upstream"] == [], task_id
        assert task["retries"] >= 1
        assert task["conn_id"] == "wfm_maintenance"
        assert task["staging_hours"] == 72
    # Staging goes first: the largest and the one whose rows are freshest garbage.
    assert max(tasks, key=lambda t: tasks[t]["weight"]) == "prune_staging"


def test_default_maintenance_uses_the_warehouse_connection(tmp_path: Path) -> None:
    report = _parse(tmp_path, {"warehouse": {"conn_id": "wfm_dwh"}, "integrations": []})
    assert report["errors"] == {}
    shape = report["maintenance"]
    assert shape["schedule"] == "30 3 * * *"
    assert {t["conn_id"] for t in shape["tasks"].values()} == {"wfm_dwh"}
    assert {t["staging_hours"] for t in shape["tasks"].values()} == {48}


def test_invalid_maintenance_section_builds_no_maintenance_dag_and_says_why(tmp_path: Path) -> None:
    report = _parse(
        tmp_path,
        {"maintenance": {"staging_hours": 12, "load_runs_days": 90}, "integrations": [INTEGRATION]},
    )
    assert report["connects"] == []
    assert "acdflow_maintenance" not in report["dags"]
    # The integrations' own DAGs still load.
    assert "acme_us__interactions" in report["dags"]
    assert set(report["errors"]) == {"acdflow_config_errors.py"}
    message = report["errors"]["acdflow_config_errors.py"]
    assert "maintenance.staging_hours" in message
    assert "from 48" in message
