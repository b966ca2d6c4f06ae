"""Shared fixtures: a real PostgreSQL (embedded unless ``AIRFLOW_CONN_WFM_WAREHOUSE`` is set) and an
isolated Airflow home whose metadata database is migrated once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TMP_ROOT = REPO_ROOT / ".acdflow" / "tmp"

# Airflow reads its configuration when first imported, which may happen while tests are being
# collected; so the isolated home is chosen here, before any test module is imported.
_AIRFLOW_HOME = TMP_ROOT / f"airflow-home-{os.getpid()}"
_AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP": r"(airflow|acdflow)\..*",
}
for _key, _value in _AIRFLOW_ENV.items():
    os.environ[_key] = _value
_AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)


def airflow_env() -> dict[str, str]:
    """The environment a subprocess needs to use this session's Airflow home."""
    return dict(_AIRFLOW_ENV)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def warehouse_uri() -> Iterator[str]:
    """URI of a real PostgreSQL server for the whole test session."""
    if os.environ.get("AIRFLOW_CONN_WFM_WAREHOUSE"):
        # Read the way tasks read it (PostgresHook), then handed to tests as a libpq conninfo.
        from psycopg.conninfo import make_conninfo

        from acdflow.warehouse.connection import open_warehouse

        with open_warehouse("wfm_warehouse") as conn:
            yield make_conninfo(conn.info.dsn, password=conn.info.password or None)
        return
    from acdflow_dev.embedded import EmbeddedPostgres

    with EmbeddedPostgres(TMP_ROOT / f"pg-test-{os.getpid()}") as server:
        yield server.uri


@pytest.fixture
def fresh_schema(warehouse_uri: str) -> Iterator[str]:
    """A warehouse schema of its own for one test, dropped afterwards."""
    import psycopg
    from psycopg import sql

    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(warehouse_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the session's Airflow metadata database (SQLite) once; return the Airflow home."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env={**os.environ, **airflow_env()},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return _AIRFLOW_HOME
