from __future__ import annotations

import subprocess
import sys

import psycopg
from psycopg import sql

from acdflow.warehouse.migrate import available_migrations


def _acdflow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acdflow.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_db_migrate_applies_then_reports_up_to_date(warehouse_uri: str, fresh_schema: str) -> None:
    first = _acdflow("db", "migrate", "--uri", warehouse_uri, "--schema", fresh_schema)
    assert first.returncode == 0, first.stderr
    versions = [m.version for m in available_migrations()]
    assert (
        f"schema {fresh_schema}: applied migrations " + ", ".join(f"{v:04d}" for v in versions)
        in first.stdout
    )
    with psycopg.connect(warehouse_uri) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (fresh_schema,)
            )
        }
        assert {
            "interactions",
            "interval_aht",
            "rejected_rows",
            "load_runs",
            "agent_status_history",
        } <= tables
        count = conn.execute(
            sql.SQL("SELECT count(*) FROM {}.schema_migrations").format(sql.Identifier(fresh_schema))
        ).fetchone()
        assert count == (len(versions),)
    again = _acdflow("db", "migrate", "--uri", warehouse_uri, "--schema", fresh_schema)
    assert again.returncode == 0
    assert f"schema {fresh_schema}: up to date" in again.stdout


def test_db_migrate_without_a_connection_says_what_to_set() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    out = _acdflow("db", "migrate", env=env)
    assert out.returncode != 0
    assert "AIRFLOW_CONN_WFM_WAREHOUSE" in out.stderr
