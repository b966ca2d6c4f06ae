"""Assets and landing deadlines of the generated DAGs: which task publishes which table, the names
and URIs built from the integrations file alone, the Deadline Alert and its setting, and the
example consumer of docs/downstream.md."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from acdflow.assets import MAX_LISTED_INTERVALS, event_extra, intervals_between
from acdflow.config import parse_config
from tests.conftest import REPO_ROOT
from tests.dags.audited_parse import audited_parse

DOC = REPO_ROOT / "docs" / "downstream.md"

INTEGRATIONS = {
    "warehouse": {"conn_id": "wfm_warehouse", "schema": "wfm"},
    "integrations": [
        {
            "name": "acme_us",
            "conn_id": "eightbyeight_acme",
            "start_date": "2026-11-01",
            "alerts": {"webhook_conn_id": "slack_wfm", "email_to": ["wfm-oncall@example.org"]},
        },
        {
            "name": "nordic_eu",
            "conn_id": "eightbyeight_nordic",
            "start_date": "2026-11-01",
            "landing_deadline_minutes": 15,
        },
        {
            "name": "quiet",
            "conn_id": "eightbyeight_q",
            "start_date": "2026-11-01",
            "landing_deadline_minutes": 0,
        },
        {
            "name": "unset",
            "conn_id": "eightbyeight_u",
            "start_date": "2026-11-01",
            "landing_deadline_minutes": None,
        },
    ],
}

# What the audited parse reports of every DAG: outlets per task and the serialised deadline.
_REPORT_ASSETS = """
from airflow.serialization.serialized_objects import DagSerialization
report["outlets"] = {}
report["deadlines"] = {}
for dag_id, dag in bag.dags.items():
    report["outlets"][dag_id] = {
        t.task_id: [[a.name, a.uri] for a in t.outlets] for t in dag.tasks if t.outlets
    }
    report["deadlines"][dag_id] = DagSerialization.to_dict(dag)["dag"].get("deadline")
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The DAG folder parsed as a DAG processor would, with no metadata database, no connection and
    an audit of every socket: assets and deadlines come from the integrations file alone."""
    report = audited_parse(tmp_path_factory.mktemp("assets"), INTEGRATIONS, extra=_REPORT_ASSETS)
    assert report["connects"] == []
    assert report["errors"] == {}
    return report


def _asset(name: str, table: str) -> list[str]:
    return [f"acdflow.{name}.wfm.{table}", f"x-acdflow://{name}/wfm/{table}"]


@pytest.mark.parametrize("name", ["acme_us", "nordic_eu", "quiet", "unset"])
def test_each_published_table_is_an_outlet_of_the_task_that_publishes_it(
    parsed: dict[str, Any], name: str
) -> None:
    outlets = parsed["outlets"]
    assert outlets[f"{name}__interactions"] == {
        "load": [_asset(name, "interactions")],
        "aggregate_aht": [_asset(name, "interval_aht")],
    }
    assert outlets[f"{name}__agent_status"] == {"load": [_asset(name, "agent_status_history")]}
    # The live tables are rewritten every poll for the current moment: no asset, no event per poll.
    assert outlets[f"{name}__live_status"] == {}


def test_asset_names_and_uris_are_unique_and_carry_no_connection_details(parsed: dict[str, Any]) -> None:
    pairs = [tuple(a) for dag in parsed["outlets"].values() for assets in dag.values() for a in assets]
    assert len(pairs) == 4 * 3
    assert len({name for name, _ in pairs}) == len(pairs)
    assert len({uri for _, uri in pairs}) == len(pairs)
    for _name, uri in pairs:
        # No host, port, user or password: only the integration, the schema and the table.
        assert re.fullmatch(r"x-acdflow://[a-z0-9_]+/wfm/[a-z_]+", uri), uri
        for detail in ("@", "wfm_warehouse", "eightbyeight"):
            assert detail not in uri


def test_report_dags_carry_a_landing_deadline_from_the_integration(parsed: dict[str, Any]) -> None:
    deadlines = parsed["deadlines"]
    for name, minutes in (("acme_us", 60), ("nordic_eu", 15)):
        for kind in ("interactions", "agent_status"):
            (alert,) = deadlines[f"{name}__{kind}"]
            assert alert["reference"] == {"reference_type": "DagRunQueuedAtDeadline"}
            assert alert["interval"]["__data__"] == minutes * 60
            callback = alert["callback"]
            assert callback["__classname__"] == "airflow.sdk.definitions.callback.AsyncCallback"
            assert callback["__data__"]["path"] == "acdflow.alerts.landing_deadline_missed"
            kwargs = callback["__data__"]["kwargs"]
            assert kwargs["integration"] == name
            assert kwargs["minutes"] == minutes
        assert deadlines[f"{name}__live_status"] is None
    (acme,) = deadlines["acme_us__interactions"]
    # The callback gets the channels' ids and addresses only, never anything read from a connection.
    assert acme["callback"]["__data__"]["kwargs"] == {
        "integration": "acme_us",
        "minutes": 60,
        "webhook_conn_id": "slack_wfm",
        "email_to": ["wfm-oncall@example.org"],
        "smtp_conn_id": "smtp_default",
    }
    for name in ("quiet", "unset"):
        for kind in ("interactions", "agent_status", "live_status"):
            assert deadlines[f"{name}__{kind}"] is None


def test_the_deadline_survives_the_scheduler_round_trip() -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    from acdflow import factory

    result = parse_config(INTEGRATIONS, path=Path("integrations.yaml"))
    spec = result.integrations[1]
    (kind,) = (k for k in factory.KINDS if k.name == "agent_status")
    dag = DagSerialization.from_dict(
        DagSerialization.to_dict(factory.build_dag(spec, result.warehouse, kind))
    )
    (alert,) = dag.deadline
    assert alert["reference"]["reference_type"] == "DagRunQueuedAtDeadline"
    assert [(t.task_id, [a.name for a in t.outlets]) for t in dag.tasks if t.outlets] == [
        ("load", ["acdflow.nordic_eu.wfm.agent_status_history"])
    ]


@pytest.mark.parametrize("bad", [-1, 24 * 60 + 1, "60", 1.5, True])
def test_a_bad_landing_deadline_is_a_located_config_issue(bad: object) -> None:
    entry = {**INTEGRATIONS["integrations"][0], "landing_deadline_minutes": bad}  # type: ignore[dict-item]
    result = parse_config({"integrations": [entry]}, path=Path("integrations.yaml"))
    (issue,) = result.issues
    assert issue.field == "landing_deadline_minutes"
    assert "whole number from 0 to 1440" in issue.message
    assert result.integrations == ()


def test_event_extra_is_json_bounded_and_always_names_the_runs_interval() -> None:
    start = datetime(2026, 11, 10, 18, 0, tzinfo=UTC)
    common = {
        "integration": "acme_us",
        "schema": "acd",
        "table": "interactions",
        "interval_start": start,
        "interval_end": start + timedelta(minutes=15),
        "rows_loaded": 10,
        "rows_changed": 3,
        "report_id": 7,
    }
    # A run whose report had nothing in its own interval still says that interval landed.
    earlier = [start - timedelta(minutes=30), start - timedelta(minutes=15)]
    extra = event_extra(intervals=earlier, **common)  # type: ignore[arg-type]
    assert extra["intervals"] == [
        "2026-11-10T17:30:00+00:00",
        "2026-11-10T17:45:00+00:00",
        "2026-11-10T18:00:00+00:00",
    ]
    assert (extra["intervals_first"], extra["intervals_last"], extra["intervals_count"]) == (
        "2026-11-10T17:30:00+00:00",
        "2026-11-10T18:00:00+00:00",
        3,
    )
    assert extra["interval_end"] == "2026-11-10T18:15:00+00:00"
    # A settle run's 48 hours: first, last and count, no list.
    settle = intervals_between(start - timedelta(hours=48), start + timedelta(minutes=15))
    assert len(settle) == 193
    big = event_extra(intervals=settle, **common)  # type: ignore[arg-type]
    assert big["intervals"] is None
    assert big["intervals_count"] == 193 > MAX_LISTED_INTERVALS
    assert big["intervals_first"] == "2026-11-08T18:00:00+00:00"
    import json

    assert len(json.dumps(big)) < 1000
    # Offsets other than UTC come out in UTC; a window off the quarter hours covers whole intervals.
    assert intervals_between(
        datetime.fromisoformat("2026-11-10T19:40:00+01:00"),
        datetime.fromisoformat("2026-11-10T19:00:01+00:00"),
    ) == [datetime(2026, 11, 10, 18, 30, tzinfo=UTC) + i * timedelta(minutes=15) for i in range(3)]


def consumer_source(integration: str = "acme_us", schema: str = "acd") -> str:
    """The example consumer DAG of docs/downstream.md, for ``integration`` in ``schema``."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    (source,) = [b for b in blocks if "schedule=[AHT]" in b]
    source = source.replace('INTEGRATION = "acme_us"', f"INTEGRATION = {integration!r}")
    source = source.replace('SCHEMA = "acd"', f"SCHEMA = {schema!r}")
    assert f"INTEGRATION = {integration!r}" in source
    assert f"SCHEMA = {schema!r}" in source
    return source


def test_the_documented_consumer_schedules_on_the_documented_asset(tmp_path: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    (tmp_path / "wfm_consumer.py").write_text(consumer_source())
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    dag = bag.dags["wfm_refresh_on_fresh_aht"]
    (asset,) = dag.timetable.asset_condition.objects
    # In full, as the producer declares it: with a name reference only, Airflow 3.3 starts the run
    # but hands it none of the events.
    assert (type(asset).__name__, asset.name, asset.uri) == (
        "Asset",
        "acdflow.acme_us.acd.interval_aht",
        "x-acdflow://acme_us/acd/interval_aht",
    )
