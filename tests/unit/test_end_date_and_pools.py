"""``end_date`` bounds the scheduled intervals; ``acdflow integrations pools`` prints the pools every
enabled integration needs, in the format ``airflow pools import`` reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from acdflow.config import ConfigResult, WarehouseSpec, load_config, parse_config, parse_integration
from tests.conftest import airflow_env

ENTRY = {"name": "acme_us", "conn_id": "eightbyeight_acme", "start_date": "2026-11-01T06:00:00Z"}


def test_end_date_is_validated() -> None:
    spec = parse_integration({**ENTRY, "end_date": "2026-11-02"})
    assert spec.end_date == datetime(2026, 11, 2, tzinfo=UTC)
    for bad, fragment in (
        ("2026-11-01T06:00:00Z", "after start_date"),
        ("2026-10-01", "after start_date"),
        ("2026-11-02T00:07:00Z", "15-minute boundary"),
        ("tomorrow", "ISO date"),
    ):
        result = parse_config({"integrations": [{**ENTRY, "end_date": bad}]}, path=Path("integrations.yaml"))
        assert len(result.issues) == 1, bad
        issue = result.issues[0]
        assert "end_date" in str(issue)
        assert fragment in str(issue), (bad, str(issue))


def test_scheduled_runs_stop_at_end_date() -> None:
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    from acdflow import factory

    spec = parse_integration({**ENTRY, "end_date": "2026-11-01T07:00:00Z"})
    dag = factory.build_dags(ConfigResult(Path("-"), WarehouseSpec(), (spec,), ()))["acme_us__interactions"]
    timetable = coerce_to_core_timetable(dag.timetable)
    restriction = TimeRestriction(earliest=dag.start_date, latest=dag.end_date, catchup=True)
    intervals = []
    last = None
    while (
        info := timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
    ) is not None:
        last = info.data_interval
        intervals.append((last.start, last.end))
        assert len(intervals) < 10
    start = datetime(2026, 11, 1, 6, tzinfo=UTC)
    assert intervals == [
        (start + i * timedelta(minutes=15), start + (i + 1) * timedelta(minutes=15)) for i in range(4)
    ]


def test_pools_command_prints_what_airflow_pools_import_reads(tmp_path: Path) -> None:
    path = tmp_path / "integrations.yaml"
    entries = [
        {**ENTRY, "api_concurrency": 3},
        {**ENTRY, "name": "nordic_eu", "conn_id": "eightbyeight_nordic"},
        {**ENTRY, "name": "paused", "conn_id": "eightbyeight_paused", "enabled": False},
    ]
    path.write_text(yaml.safe_dump({"integrations": entries}))
    out = tmp_path / "pools.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "acdflow.cli",
            "integrations",
            "pools",
            "--file",
            str(path),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **airflow_env()},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "airflow pools import" in result.stdout
    pools = json.loads(out.read_text())
    assert {name: p["slots"] for name, p in pools.items()} == {
        "acdflow_8x8_acme_us": 3,
        "acdflow_8x8_acme_us_live": 2,
        "acdflow_8x8_nordic_eu": 1,
        "acdflow_8x8_nordic_eu_live": 2,
    }
    assert all(p["name"] == name and p["include_deferred"] is False for name, p in pools.items())
    # The names are the ones the DAGs' tasks ask for.
    from acdflow import factory

    dags = factory.build_dags(load_config(path)).values()
    used = {t.pool for dag in dags if dag.dag_id.startswith("acme_us__") for t in dag.tasks}
    assert used - {"default_pool"} == {"acdflow_8x8_acme_us", "acdflow_8x8_acme_us_live"}


@pytest.mark.parametrize("kind", ["interactions", "agent_status"])
def test_without_end_date_runs_are_unbounded(kind: str) -> None:
    from acdflow import factory

    spec = parse_integration(ENTRY)
    dags = factory.build_dags(ConfigResult(Path("-"), WarehouseSpec(), (spec,), ()))
    assert dags[f"acme_us__{kind}"].end_date is None
