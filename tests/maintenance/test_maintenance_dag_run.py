"""The real ``acdflow_maintenance`` DAG, run with ``dag.test()`` against a real PostgreSQL: old rows
of every pruned table go, young ones and published data stay, and each task's XCom summary counts
what it deleted."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import yaml

from acdflow.config import load_config
from acdflow.maintenance import DAG_ID, PRUNES, build_maintenance_dag
from acdflow.warehouse import store
from acdflow_dev.embedded import airflow_conn_from_uri
from tests.maintenance.seed import count, seed_cleared_extract, seed_completed_run, seed_failed_runs, tags

CONN_ID = "wh_maintenance_test"
# (age in hours, expected to survive) per table under the settings written below.
AGES = [2, 30, 50, 24 * 8, 24 * 12, 24 * 20]
SETTINGS = {
    "load_runs_days": 10,
    "rejected_rows_days": 15,
    "live_log_days": 7,
    "dq_results_days": 25,
    "staging_hours": 48,
    "conn_id": CONN_ID,
}
KEPT_HOURS = {
    "load_runs": 10 * 24,
    "rejected_rows": 15 * 24,
    "agent_status_live_log": 7 * 24,
    "dq_results": 25 * 24,
    "raw_report_pages": 48,
    "stg_interactions": 48,
    "stg_rejected_rows": 48,
    "stg_status_events": 48,
}


@pytest.fixture
def environment(warehouse_uri: str, fresh_schema: str, tmp_path: Path) -> Iterator[Path]:
    config = tmp_path / "integrations.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                # The warehouse connection does not exist: the DAG must use maintenance.conn_id.
                "warehouse": {"conn_id": "wfm_missing", "schema": fresh_schema},
                "maintenance": SETTINGS,
                "integrations": [],
            }
        )
    )
    saved = {k: os.environ.get(k) for k in (f"AIRFLOW_CONN_{CONN_ID.upper()}", "ACDFLOW_INTEGRATIONS")}
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(airflow_conn_from_uri(warehouse_uri))
    os.environ["ACDFLOW_INTEGRATIONS"] = str(config)
    try:
        yield config
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_maintenance_dag_prunes_old_rows_of_every_table(
    environment: Path, airflow_db: Path, warehouse_uri: str, fresh_schema: str
) -> None:
    with store.connect(warehouse_uri, fresh_schema) as conn:
        now = store.database_now(conn, fresh_schema)
        for age in AGES:
            seed_completed_run(conn, fresh_schema, age, now - timedelta(hours=age))
            seed_failed_runs(conn, fresh_schema, age, now - timedelta(hours=age))
        seed_cleared_extract(conn, fresh_schema, 999_999)
        # Published data of the same ages, which no prune may touch.
        conn.execute(
            f'INSERT INTO "{fresh_schema}".interactions (integration, interaction_id, queue_name, channel,'
            " media_type, direction, queue_time, interval_start, handled, report_id, loaded_at)"
            " SELECT 'acme', 'old', 'Support', 'call', 'Phone', 'inbound', t, date_bin('15 minutes', t,"
            " TIMESTAMPTZ '2000-01-01 00:00:00+00'), true, 1, t FROM (SELECT %s::timestamptz AS t) s",
            (now - timedelta(days=400),),
        )

    dag = build_maintenance_dag(load_config(environment))
    assert dag is not None
    assert dag.dag_id == DAG_ID
    dag_run = dag.test()
    assert str(dag_run.state) == "success"

    with psycopg.connect(warehouse_uri, autocommit=True) as conn:
        for table, hours in KEPT_HOURS.items():
            assert tags(conn, fresh_schema, table) == {a for a in AGES if a < hours}, table
        assert count(conn, fresh_schema, "interactions") == 1

    with sqlite3.connect(airflow_db / "airflow.db") as meta:
        rows = meta.execute(
            "SELECT task_id, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = 'return_value'",
            (DAG_ID, dag_run.run_id),
        ).fetchall()
    summaries = {task_id: json.loads(value) for task_id, value in rows}
    assert sorted(summaries) == sorted(p.task_id for p in PRUNES)
    deleted = {table: n for s in summaries.values() for table, n in s["deleted"].items()}
    per_run = {"load_runs": 3, "rejected_rows": 1, "agent_status_live_log": 2, "dq_results": 1,
               "raw_report_pages": 3, "stg_interactions": 2, "stg_rejected_rows": 2,
               "stg_status_events": 2}  # fmt: skip
    expected = {t: per_run[t] * sum(1 for a in AGES if a >= h) for t, h in KEPT_HOURS.items()}
    expected["stg_interactions"] += 1  # the cleared extract's orphaned row
    expected["stg_rejected_rows"] += 1
    assert deleted == expected
