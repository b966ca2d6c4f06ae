"""Asset events and landing deadlines under a real Airflow: scheduler, DAG processor, triggerer and
API server with the LocalExecutor, against two simulator tenants and a real PostgreSQL.

* ``prompt`` imports one interval well within its landing deadline (30 minutes): its loads emit
  asset events, the scheduler starts the example consumer of docs/downstream.md from the AHT
  event, the consumer reads the event's ``extra``, and no late-data alert is sent.
* ``tardy`` has a one-minute deadline and an 8x8 that answers every report request 20 seconds
  late: both its runs are still running when their deadlines pass, so the triggerer sends one
  late-data alert per run to the webhook; the runs then land their data all the same.

Opt-in (``make test-e2e``): it takes a few minutes.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from acdflow.assets import asset_name
from acdflow.config import load_config
from acdflow_dev.local.runner import LocalAirflow, ensure_database
from acdflow_dev.local.webhook import WebhookReceiver
from tests.conftest import REPO_ROOT
from tests.dags.test_assets import consumer_source
from tests.e2e.harness import (
    FIFTEEN,
    Pipeline,
    compare_statuses_with_truth,
    compare_with_truth,
    start_pipeline,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

CONSUMER = "wfm_refresh_on_fresh_aht"


def _first() -> datetime:
    # Two days back, 10:00 in Los Angeles: the interval has traffic and every interaction of it has
    # finished, whenever the runs happen.
    day = (datetime.now(UTC) - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(hours=18)


def _entry(pipe: Pipeline, first: datetime, deadline_minutes: int) -> dict[str, Any]:
    return {
        "name": pipe.name,
        "system": "8x8",
        "conn_id": pipe.conn_id,
        "start_date": first.isoformat(),
        "end_date": (first + FIFTEEN).isoformat(),
        "settle_hour_utc": (first.hour + 6) % 24,  # keep the daily settle run out of this interval
        "retry_delay_seconds": 2,
        "max_retry_delay_seconds": 10,
        "landing_deadline_minutes": deadline_minutes,
        "alerts": {"webhook_conn_id": "alert_webhook"},
    }


def _wait(what: str, check: Any, timeout: float, poll: float = 3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def test_events_start_the_consumer_and_only_the_late_run_alerts(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    first = _first()
    common = {"timezone": "America/Los_Angeles", "region": "us"}
    prompt: Pipeline = start_pipeline(request, tmp_path, warehouse_uri, fresh_schema, name="prompt", **common)
    tardy: Pipeline = start_pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name="tardy",
        faults="latency_ms=20000;path=detailed-reports",
        **common,
    )
    config = tmp_path / "integrations.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "warehouse": {"conn_id": prompt.warehouse_conn_id, "schema": fresh_schema},
                "integrations": [_entry(prompt, first, 30), _entry(tardy, first, 1)],
            }
        )
    )
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "acdflow_integrations.py").write_text(
        (REPO_ROOT / "dags" / "acdflow_integrations.py").read_text()
    )
    (dags / "wfm_consumer.py").write_text(consumer_source("prompt", fresh_schema))

    receiver = WebhookReceiver()
    request.addfinalizer(receiver.close)
    airflow = LocalAirflow(
        home=tmp_path / "airflow",
        metadata_conninfo=ensure_database(warehouse_uri, f"airflow_{fresh_schema}"),
        dags_folder=dags,
        extra_env={
            **prompt.env(),
            **tardy.env(),
            "ACDFLOW_INTEGRATIONS": str(config),
            "AIRFLOW_CONN_ALERT_WEBHOOK": json.dumps(receiver.airflow_conn()),
            # Only the DAGs of this test run: the live polls stay paused.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        },
    )
    request.addfinalizer(airflow.stop)
    airflow.migrate()
    airflow.import_pools(p for spec in load_config(config).integrations for p in spec.pools())
    airflow.start()
    # The consumer first: a paused DAG is not queued by the events it would have received.
    airflow.set_paused([CONSUMER], paused=False)
    airflow.set_paused(
        [f"{n}__{k}" for n in ("prompt", "tardy") for k in ("interactions", "agent_status")], paused=False
    )

    # prompt: both runs succeed, and AHT's event starts the consumer, which succeeds too.
    for dag_id in ("prompt__interactions", "prompt__agent_status"):
        airflow.wait_for_runs(dag_id, count=1, timeout=900)
    airflow.wait_for_runs(CONSUMER, count=1, timeout=300)
    ((run_type, consumer_run_id),) = airflow.query(
        "SELECT run_type, run_id FROM dag_run WHERE dag_id = %s", CONSUMER
    )
    assert run_type == "asset_triggered"
    ((producer_run_id,),) = airflow.query("SELECT run_id FROM dag_run WHERE dag_id = 'prompt__interactions'")
    events = {
        name: (_json(extra), source_run_id)
        for name, extra, source_run_id in airflow.query(
            "SELECT a.name, e.extra, e.source_run_id FROM asset_event e JOIN asset a ON a.id = e.asset_id"
        )
    }
    aht_name = asset_name("prompt", fresh_schema, "interval_aht")
    tables = ("interactions", "interval_aht", "agent_status_history")
    assert {asset_name("prompt", fresh_schema, t) for t in tables} <= set(events)
    aht_extra, aht_source = events[aht_name]
    assert aht_source == producer_run_id
    # What the consumer saw is the event the producer emitted, and what the warehouse holds.
    ((value,),) = airflow.query(
        "SELECT value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = 'refresh'"
        " AND key = 'return_value'",
        CONSUMER,
        consumer_run_id,
    )
    aht_rows = prompt.query("SELECT count(*) AS n FROM {schema}.interval_aht WHERE integration = 'prompt'")
    assert _json(value) == [
        {
            "integration": "prompt",
            "table": "interval_aht",
            "intervals_first": aht_extra["intervals_first"],
            "intervals_last": aht_extra["intervals_last"],
            "intervals_count": aht_extra["intervals_count"],
            "rows_changed": aht_rows[0]["n"],
            "source_run_id": producer_run_id,
        }
    ]
    assert aht_extra["interval_start"] == first.isoformat()
    compare_with_truth(prompt, first, first + FIFTEEN)

    # tardy: one late-data alert per run, sent while the run was still running.
    def late() -> list[dict[str, Any]]:
        bodies = [b for b in receiver.received() if b.get("kind") == "landing_deadline_missed"]
        return bodies if len(bodies) >= 2 else []

    alerts = _wait("two late-data alerts", late, timeout=600)
    assert sorted(b["dag_id"] for b in alerts) == ["tardy__agent_status", "tardy__interactions"]
    for body in alerts:
        assert body["integration"] == "tardy"
        assert body["data_interval_start"] == first.isoformat()
        assert body["landing_deadline_minutes"] == 1
        assert body["state"] in {"queued", "running"}
        queued = datetime.fromisoformat(body["queued_at"])
        assert datetime.fromisoformat(body["deadline"]) == queued + timedelta(minutes=1)
    for dag_id in ("tardy__interactions", "tardy__agent_status"):
        airflow.wait_for_runs(dag_id, count=1, timeout=900)
    compare_with_truth(tardy, first, first + FIFTEEN)
    compare_statuses_with_truth(tardy, first, first + FIFTEEN, first + FIFTEEN - timedelta(milliseconds=1))
    late_runs = airflow.query(
        "SELECT dr.dag_id, dr.end_date > d.deadline_time, d.missed FROM deadline d"
        " JOIN dag_run dr ON dr.id = d.dagrun_id ORDER BY dr.dag_id"
    )
    # prompt's deadlines went when its runs succeeded in time; tardy's were missed, and its runs
    # ended after them.
    assert late_runs == [("tardy__agent_status", True, True), ("tardy__interactions", True, True)]
    tardy_events = airflow.query(
        "SELECT a.name FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE e.source_dag_id LIKE %s",
        "tardy__%",
    )
    assert sorted(name for (name,) in tardy_events) == sorted(
        asset_name("tardy", fresh_schema, t) for t in tables
    )
    # Nothing else was sent: no alert for prompt, no failure anywhere, one alert per late run.
    time.sleep(5)
    assert receiver.received() == alerts
