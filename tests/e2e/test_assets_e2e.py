"""Asset events end to end: the real DAGs, run with ``dag.test()`` against the simulator and the
warehouse, record an event per published table in Airflow's metadata database, with an ``extra``
that matches what the warehouse now holds (which itself matches the simulator's ground truth), and
queue the example consumer of docs/downstream.md. A run that publishes nothing new still emits; a
failed run emits nothing. The consumer being started by a real scheduler is in
tests/scheduler/test_assets_under_scheduler.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from acdflow.assets import asset_name, intervals_between
from tests.dags.test_assets import consumer_source
from tests.e2e.harness import (
    CLIENT_SECRET,
    FIFTEEN,
    Pipeline,
    compare_statuses_with_truth,
    compare_with_truth,
    start_pipeline,
    utc,
)

pytestmark = pytest.mark.usefixtures("airflow_db")

FIRST = utc("2026-11-10T18:00:00+00:00")  # 10:00 in Los Angeles: every interval has traffic
CONSUMER = "wfm_refresh_on_fresh_aht"


def register_consumer(folder: Path, source: str) -> None:
    """Write ``source`` as a DAG file, record it in the metadata database the way the DAG processor
    does, and unpause it (new DAGs start paused here, and a paused DAG queues nothing)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    folder.mkdir()
    (folder / "wfm_consumer.py").write_text(source)
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}
    sync_bag_to_db(bag, "dags-folder", None)
    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == CONSUMER).values(is_paused=False))


def events(pipe: Pipeline, table: str) -> list[dict[str, Any]]:
    """The asset events of ``table`` of this integration, oldest first."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    name = asset_name(pipe.name, pipe.schema, table)
    with create_session() as session:
        rows = session.execute(
            select(AssetEvent, AssetModel.uri)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == name)
            .order_by(AssetEvent.id)
        ).all()
        return [
            {
                "uri": uri,
                "extra": dict(e.extra),
                "dag_id": e.source_dag_id,
                "task_id": e.source_task_id,
                "run_id": e.source_run_id,
            }
            for e, uri in rows
        ]


def queued_for(dag_id: str) -> set[str]:
    """Names of the assets with an event waiting to start a run of ``dag_id``."""
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return set(
            session.scalars(
                select(AssetModel.name)
                .join(AssetDagRunQueue, AssetDagRunQueue.asset_id == AssetModel.id)
                .where(AssetDagRunQueue.target_dag_id == dag_id)
            )
        )


def _iso(values: list[datetime]) -> list[str]:
    return [v.isoformat() for v in sorted(values)]


def _load_run(pipe: Pipeline, run_id: str, step: str) -> dict[str, Any]:
    (row,) = pipe.query(
        "SELECT report_id, rows_loaded FROM {schema}.load_runs WHERE run_id = %s AND step = %s"
        " AND status = 'success'",
        run_id,
        step,
    )
    return row


def test_loads_emit_events_that_match_the_warehouse_and_queue_the_consumer(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    pipe: Pipeline = start_pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name="feed",
        timezone="America/Los_Angeles",
        region="us",
        clock=FIRST + timedelta(hours=6),
    )
    register_consumer(tmp_path / "consumer", consumer_source("feed", fresh_schema))
    aht_name = asset_name("feed", fresh_schema, "interval_aht")
    assert queued_for(CONSUMER) == set()

    # 1. The first interval into an empty warehouse: every row it publishes is new.
    run = pipe.run(FIRST)
    compare_with_truth(pipe, FIRST, FIRST + FIFTEEN)
    (ix,) = events(pipe, "interactions")
    (aht,) = events(pipe, "interval_aht")
    assert ix["uri"] == f"x-acdflow://feed/{fresh_schema}/interactions"
    assert (ix["dag_id"], ix["task_id"], ix["run_id"]) == ("feed__interactions", "load", run.run_id)
    assert (aht["task_id"], aht["run_id"]) == ("aggregate_aht", run.run_id)
    load = _load_run(pipe, run.run_id, "load")
    stored = pipe.query("SELECT count(*) AS n FROM {schema}.interactions")[0]["n"]
    in_warehouse = [
        r["i"] for r in pipe.query("SELECT DISTINCT interval_start AS i FROM {schema}.interactions")
    ]
    extra = ix["extra"]
    assert extra["integration"] == "feed"
    assert (extra["schema"], extra["table"]) == (fresh_schema, "interactions")
    assert (extra["interval_start"], extra["interval_end"]) == (
        FIRST.isoformat(),
        (FIRST + FIFTEEN).isoformat(),
    )
    assert extra["report_id"] == load["report_id"]
    assert extra["rows_loaded"] == load["rows_loaded"] == stored > 0
    assert extra["rows_changed"] == stored
    # The look-back reaches four hours back: every interval with a stored row, and the run's own.
    assert extra["intervals"] == _iso([*in_warehouse, FIRST] if FIRST not in in_warehouse else in_warehouse)
    assert extra["intervals_count"] == len(extra["intervals"]) > 1
    assert (extra["intervals_first"], extra["intervals_last"]) == (
        extra["intervals"][0],
        extra["intervals"][-1],
    )
    # Interactions are read by creation time and placed by queue time: some land after the interval.
    assert extra["intervals_first"] < FIRST.isoformat() <= extra["intervals_last"]
    aht_rows = pipe.query("SELECT count(*) AS n FROM {schema}.interval_aht")[0]["n"]
    assert aht["extra"]["table"] == "interval_aht"
    assert aht["extra"]["intervals"] == extra["intervals"]
    assert aht["extra"]["rows_changed"] == aht["extra"]["rows_loaded"] == aht_rows > 0
    # The consumer of the example waits on AHT only; its run is queued.
    assert queued_for(CONSUMER) == {aht_name}

    # 2. The next interval re-reads the first: only what changed is written, and counted.
    second = FIRST + FIFTEEN
    run = pipe.run(second)
    ix = events(pipe, "interactions")[-1]
    changed_rows = pipe.query(
        "SELECT count(*) AS n FROM {schema}.interactions WHERE report_id = %s", ix["extra"]["report_id"]
    )[0]["n"]
    assert ix["run_id"] == run.run_id
    assert ix["extra"]["rows_changed"] == changed_rows
    assert ix["extra"]["rows_loaded"] == _load_run(pipe, run.run_id, "load")["rows_loaded"]
    assert ix["extra"]["rows_loaded"] > ix["extra"]["rows_changed"]

    # 3. The same interval again: nothing new, and still an event saying the interval landed.
    run = pipe.run(second)
    ix, aht = events(pipe, "interactions")[-1], events(pipe, "interval_aht")[-1]
    assert len(events(pipe, "interactions")) == len(events(pipe, "interval_aht")) == 3
    assert ix["extra"]["rows_changed"] == aht["extra"]["rows_changed"] == 0
    assert ix["extra"]["rows_loaded"] > 0
    assert ix["extra"]["interval_start"] == second.isoformat()

    # 4. A run that fails publishes nothing and emits nothing.
    good_env = pipe.env

    def wrong_secret() -> dict[str, str]:
        env = good_env()
        key = f"AIRFLOW_CONN_{pipe.conn_id.upper()}"
        env[key] = env[key].replace(CLIENT_SECRET, "wrong-secret-1")
        return env

    pipe.env = wrong_secret  # type: ignore[method-assign]
    pipe.run(second + FIFTEEN, expect="failed")
    pipe.env = good_env  # type: ignore[method-assign]
    assert len(events(pipe, "interactions")) == len(events(pipe, "interval_aht")) == 3


def test_agent_status_load_emits_the_intervals_its_report_read(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    pipe: Pipeline = start_pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name="feed_status",
        timezone="America/Los_Angeles",
        region="us",
        clock=FIRST + timedelta(hours=6),
    )
    run = pipe.run(FIRST, kind="agent_status")
    compare_statuses_with_truth(pipe, FIRST, FIRST + FIFTEEN, FIRST + FIFTEEN - timedelta(milliseconds=1))
    (status,) = events(pipe, "agent_status_history")
    assert (status["dag_id"], status["task_id"], status["run_id"]) == (
        "feed_status__agent_status",
        "load",
        run.run_id,
    )
    assert events(pipe, "interactions") == []
    extra = status["extra"]
    load = _load_run(pipe, run.run_id, "load")
    stored = pipe.query("SELECT count(*) AS n FROM {schema}.agent_status_history")[0]["n"]
    assert extra["report_id"] == load["report_id"]
    assert extra["rows_loaded"] == load["rows_loaded"] == extra["rows_changed"] == stored > 0
    # The run's interval and the default 30-minute overlap before it.
    assert extra["intervals"] == _iso(intervals_between(FIRST - timedelta(minutes=30), FIRST + FIFTEEN))
    assert extra["intervals_count"] == 3
