"""Backfills the way users do them, under a real Airflow: scheduler, dag processor, triggerer and API
server with the LocalExecutor, against the simulator and a real PostgreSQL.

The integration's DAGs catch up three hours, then a range is re-imported with ``airflow tasks
clear``, another with ``airflow backfill create --reprocess-behavior completed``, and a third while
its ``load`` task is killed mid-transaction. Each re-import must repair rows deleted or altered
in between, and the warehouse must end equal to the simulator's ground truth with no duplicates.

Opt-in (``make test-e2e``): it takes several minutes.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from acdflow_dev.local.runner import LocalAirflow, ensure_database
from tests.e2e.harness import (
    FIFTEEN,
    PROVENANCE,
    Pipeline,
    compare_statuses_with_truth,
    compare_with_truth,
    start_pipeline,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

HOURS = 3
INTERVALS = HOURS * 4


def _window() -> tuple[datetime, datetime]:
    # Two days back: every interaction of the window has finished, so the simulator's final state
    # is what a correct import must hold, whenever the runs happen.
    day = (datetime.now(UTC) - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day + timedelta(hours=HOURS)


def _delete_range(pipe: Pipeline, start: datetime, end: datetime) -> int:
    """Damage the warehouse the way a bad manual fix would: rows gone, an aggregate wrong."""
    with psycopg.connect(pipe.warehouse_uri, autocommit=True) as conn:
        ident = sql.Identifier(pipe.schema)
        deleted = conn.execute(
            sql.SQL(
                "DELETE FROM {}.interactions WHERE integration = %s AND interval_start >= %s"
                " AND interval_start < %s"
            ).format(ident),
            (pipe.name, start, end),
        ).rowcount
        conn.execute(
            sql.SQL(
                "UPDATE {}.interval_aht SET handled_count = handled_count + 1 WHERE integration = %s"
                " AND interval_start >= %s AND interval_start < %s"
            ).format(ident),
            (pipe.name, start, end),
        )
    return deleted


def _count(pipe: Pipeline, start: datetime, end: datetime) -> int:
    rows = pipe.query(
        "SELECT count(*) AS n FROM {schema}.interactions WHERE integration = %s"
        " AND interval_start >= %s AND interval_start < %s",
        pipe.name,
        start,
        end,
    )
    return int(rows[0]["n"])


def _assert_matches_truth(pipe: Pipeline, first: datetime, last_end: datetime) -> None:
    compare_with_truth(pipe, first, last_end)
    duplicates = pipe.query(
        "SELECT interaction_id FROM {schema}.interactions WHERE integration = %s"
        " GROUP BY interaction_id HAVING count(*) > 1",
        pipe.name,
    )
    assert duplicates == []
    # The window's end bounds what the imports could know: a status still open at 03:00 has no
    # end yet in the warehouse, exactly as in 8x8's state at that moment.
    compare_statuses_with_truth(pipe, first, last_end, last_end - timedelta(milliseconds=1))


def _wait_rerun(airflow: LocalAirflow, dag_id: str, since: datetime, count: int) -> None:
    airflow.wait_for_runs(dag_id, count=count, since=since, timeout=600)


def _task_pid(airflow: LocalAirflow, dag_id: str, task_id: str, logical_date: datetime) -> int | None:
    rows = airflow.query(
        "SELECT ti.pid, ti.state FROM task_instance ti JOIN dag_run dr"
        " ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id"
        " WHERE ti.dag_id = %s AND ti.task_id = %s AND dr.logical_date = %s",
        dag_id,
        task_id,
        logical_date,
    )
    if rows and rows[0][1] == "running" and rows[0][0]:
        return int(rows[0][0])
    return None


def test_clear_backfill_and_a_killed_load_all_converge_to_the_ground_truth(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    first, last_end = _window()
    pipe = start_pipeline(
        request,
        tmp_path,
        warehouse_uri,
        fresh_schema,
        name="sched",
        timezone="Europe/Berlin",
        region="eu",
        start_date=first.isoformat(),
        end_date=last_end.isoformat(),
        api_concurrency=2,
        retry_delay_seconds=2,
        max_retry_delay_seconds=10,
        settle_hour_utc=12,  # keep the daily settle run out of this window
    )
    interactions = f"{pipe.name}__interactions"
    agent_status = f"{pipe.name}__agent_status"
    metadata = ensure_database(warehouse_uri, f"airflow_{fresh_schema}")
    airflow = LocalAirflow(
        home=tmp_path / "airflow",
        metadata_conninfo=metadata,
        extra_env={
            **pipe.env(),
            # A killed task is noticed by its supervisor at once; this bounds the other case.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
        },
    )
    request.addfinalizer(airflow.stop)
    airflow.migrate()
    spec, _ = pipe.spec()
    airflow.import_pools(spec.pools())
    airflow.start()
    airflow.cli("dags", "pause", f"{pipe.name}__live_status", check=False)

    # 1. Catch-up: every interval of the window, once.
    airflow.wait_for_runs(interactions, count=INTERVALS, timeout=1200)
    airflow.wait_for_runs(agent_status, count=INTERVALS, timeout=600)
    assert airflow.run_states(interactions) == {"success": INTERVALS}
    _assert_matches_truth(pipe, first, last_end)
    intact = pipe.checksum("interactions", exclude=PROVENANCE)

    # 2. `airflow tasks clear` of a range re-imports it and repairs what was damaged.
    a, b = first + timedelta(hours=1), first + timedelta(hours=1, minutes=30)
    assert _delete_range(pipe, a, b) > 0
    since = datetime.now(UTC)
    airflow.cli("tasks", "clear", interactions, "-s", a.isoformat(), "-e", (b - FIFTEEN).isoformat(), "-y")
    _wait_rerun(airflow, interactions, since, count=2)
    _assert_matches_truth(pipe, first, last_end)
    assert pipe.checksum("interactions", exclude=PROVENANCE) == intact

    # 3. `airflow backfill create --reprocess-behavior completed` over another range does the same.
    a, b = first + timedelta(hours=2), first + timedelta(hours=2, minutes=30)
    assert _delete_range(pipe, a, b) > 0
    since = datetime.now(UTC)
    airflow.cli(
        "backfill",
        "create",
        "--dag-id",
        interactions,
        "--from-date",
        a.isoformat(),
        "--to-date",
        (b - FIFTEEN).isoformat(),
        "--reprocess-behavior",
        "completed",
    )
    _wait_rerun(airflow, interactions, since, count=2)
    backfill_runs = airflow.query(
        "SELECT count(*) FROM dag_run WHERE dag_id = %s AND run_type = 'backfill' AND state = 'success'",
        interactions,
    )
    assert backfill_runs[0][0] >= 2
    _assert_matches_truth(pipe, first, last_end)
    assert pipe.checksum("interactions", exclude=PROVENANCE) == intact

    # 4. A load killed mid-transaction leaves nothing partial, and its retry completes the interval.
    a = first + timedelta(hours=2, minutes=30)
    assert _delete_range(pipe, a, a + FIFTEEN) > 0
    with psycopg.connect(pipe.warehouse_uri) as blocker:
        # The publish writes interactions first, then quarantined rows: holding the latter's table
        # stops the load after it has written (uncommitted) interactions.
        blocker.execute(
            sql.SQL("LOCK TABLE {}.rejected_rows IN EXCLUSIVE MODE").format(sql.Identifier(pipe.schema))
        )
        since = datetime.now(UTC)
        airflow.cli("tasks", "clear", interactions, "-s", a.isoformat(), "-e", a.isoformat(), "-y")
        pid = _wait_for_blocked_load(airflow, pipe, interactions, a)
        os.kill(pid, signal.SIGKILL)
        time.sleep(2)
        # Rolled back with the dead connection: the interval is still exactly as damaged.
        assert _count(pipe, a, a + FIFTEEN) == 0
        blocker.rollback()
    _wait_rerun(airflow, interactions, since, count=1)
    tries = airflow.query(
        "SELECT ti.try_number FROM task_instance ti JOIN dag_run dr"
        " ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id"
        " WHERE ti.dag_id = %s AND ti.task_id = 'load' AND dr.logical_date = %s",
        interactions,
        a,
    )
    assert tries[0][0] >= 2, "the killed load was not retried"
    _assert_matches_truth(pipe, first, last_end)
    assert pipe.checksum("interactions", exclude=PROVENANCE) == intact
    _assert_final_data_read_once(pipe, first)


def _assert_final_data_read_once(pipe: Pipeline, first: datetime) -> None:
    """Every run here is the scheduler's or a backfill's, of data about two days old: once an
    interval ended 48 hours (the settle look-back) before its report was created, the run read its
    interval and the 15 minutes before it (interactions) or its interval alone (statuses), else
    its regular look-back (4 hours, 30 minutes)."""
    rows = pipe.query(
        "SELECT dag_id, interval_start, interval_end, details FROM {schema}.load_runs"
        " WHERE integration = %s AND step = 'trigger_report' AND status = 'success'",
        pipe.name,
    )
    assert rows
    finals = 0
    for row in rows:
        details = row["details"]
        created = datetime.fromisoformat(details["report_created_at"])
        final = row["interval_end"] <= created - timedelta(hours=48)
        interactions = row["dag_id"].endswith("__interactions")
        before = (15 if interactions else 0) if final else (240 if interactions else 30)
        window = (
            datetime.fromisoformat(details["window_start"]),
            datetime.fromisoformat(details["window_end"]),
        )
        assert (details["final_data"], window) == (
            final,
            (row["interval_start"] - timedelta(minutes=before), row["interval_end"]),
        ), row
        finals += final
    if datetime.now(UTC) - timedelta(hours=48) > first + timedelta(minutes=30):
        assert finals > 0


def _wait_for_blocked_load(
    airflow: LocalAirflow, pipe: Pipeline, dag_id: str, logical_date: datetime, timeout: float = 300
) -> int:
    """The pid of the running ``load`` task once its transaction has written interactions and is
    waiting for the lock the test holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = _task_pid(airflow, dag_id, "load", logical_date)
        if pid is not None and _load_is_blocked_after_writing(pipe):
            return pid
        time.sleep(1)
    raise AssertionError("the cleared run's load never reached the blocked publish")


def _load_is_blocked_after_writing(pipe: Pipeline) -> bool:
    with psycopg.connect(pipe.warehouse_uri, autocommit=True) as conn:
        row: Any = conn.execute(
            """
            SELECT count(*) FROM pg_stat_activity a
            JOIN pg_locks l ON l.pid = a.pid AND l.granted AND l.mode = 'RowExclusiveLock'
            WHERE a.wait_event_type = 'Lock' AND l.relation = %s::regclass
            """,
            (f"{pipe.schema}.interactions",),
        ).fetchone()
    return bool(row and row[0])
