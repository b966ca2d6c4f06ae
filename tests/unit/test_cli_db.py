from __future__ import annotations

import os
import re
import subprocess
import sys

import psycopg
import pytest
from psycopg import sql

from acdflow.cli import main
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


def _env_with_connection(uri: str) -> dict[str, str]:
    return {**os.environ, "AIRFLOW_CONN_WFM_WAREHOUSE": uri}


def test_db_migrate_applies_then_reports_up_to_date(warehouse_uri: str, fresh_schema: str) -> None:
    env = _env_with_connection(warehouse_uri)
    first = _acdflow("db", "migrate", "--schema", fresh_schema, env=env)
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
    again = _acdflow("db", "migrate", "--schema", fresh_schema, env=env)
    assert again.returncode == 0
    assert f"schema {fresh_schema}: up to date" in again.stdout


def test_db_migrate_without_a_connection_names_it() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    out = _acdflow("db", "migrate", env=env)
    assert out.returncode != 0
    assert "cannot connect with connection 'wfm_warehouse'" in out.stderr


def test_db_grants_prints_a_runnable_script_and_refuses_hostile_names(
    warehouse_uri: str, fresh_schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["db", "grants", "--schema", fresh_schema, "--owner", "wfm_owner", "--loader", "wfm_loader"])
        == 0
    )
    script = capsys.readouterr().out
    assert f'CREATE SCHEMA IF NOT EXISTS "{fresh_schema}" AUTHORIZATION "wfm_owner";' in script
    assert f'GRANT USAGE ON SCHEMA "{fresh_schema}" TO "wfm_loader";' in script
    assert f'GRANT USAGE ON SCHEMA "{fresh_schema}" TO "acdflow_maintainer";' in script
    assert not re.search(r"\{(schema|owner|loader|maintainer)\}", script)
    # The printed text is what a DBA runs: it must execute as is (rolled back: roles are global).
    with psycopg.connect(warehouse_uri) as conn:
        conn.execute(script)
        owner = conn.execute(
            "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s", (fresh_schema,)
        ).fetchone()
        assert owner == ("wfm_owner",)
        conn.rollback()

    for flag, value in (
        ("--loader", 'x"; DROP ROLE postgres; --'),
        ("--owner", "pg_owner"),
        ("--schema", "A"),
    ):
        with pytest.raises(SystemExit, match="acdflow db grants: invalid"):
            main(["db", "grants", flag, value])
        assert capsys.readouterr().out == ""
