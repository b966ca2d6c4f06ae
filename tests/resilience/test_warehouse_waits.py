"""Every warehouse wait ends: against a PostgreSQL of this module's own (frozen with SIGSTOP, so
other tests' servers are never disturbed), with the timeouts shortened through the Airflow
connection's ``extra`` the way an operator would."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict

from acdflow.warehouse import store
from acdflow.warehouse.connection import connect, open_warehouse

SCHEMA = "resilience"


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from acdflow_dev.embedded import EmbeddedPostgres

    with EmbeddedPostgres(tmp_path_factory.mktemp("pg-frozen")) as server:
        yield server.uri


def _postmaster_pid(uri: str) -> int:
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT setting FROM pg_settings WHERE name = 'data_directory'").fetchone()
    assert row is not None
    return int((Path(row[0]) / "postmaster.pid").read_text().split()[0])


def _airflow_conn(monkeypatch: pytest.MonkeyPatch, uri: str, **extra: Any) -> str:
    parts = conninfo_to_dict(uri)
    conn_id = f"frozen_{uuid.uuid4().hex[:8]}"
    value = {
        "conn_type": "postgres",
        "host": parts["host"],
        "port": int(str(parts["port"])),
        "login": parts.get("user", "postgres"),
        "schema": parts.get("dbname", "postgres"),
        "extra": extra,
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
    return conn_id


def _alive(uri: str, pid: int) -> bool:
    with psycopg.connect(uri) as conn:
        return conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() is not None


def test_a_long_statement_ends_at_the_statement_timeout(
    own_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = _airflow_conn(monkeypatch, own_postgres, statement_timeout="1s")
    with open_warehouse(conn_id) as conn:
        started = time.monotonic()
        with pytest.raises(errors.QueryCanceled, match="statement timeout"):
            conn.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 4


def test_a_lock_wait_ends_at_the_lock_timeout(own_postgres: str, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_id = _airflow_conn(monkeypatch, own_postgres, options="-c lock_timeout=1s")
    table = sql.Identifier(f"locked_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(own_postgres, autocommit=True) as holder:
        holder.execute(sql.SQL("CREATE TABLE {} (id int)").format(table))
        with holder.transaction():
            holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table))
            with open_warehouse(conn_id) as conn:
                started = time.monotonic()
                with pytest.raises(errors.LockNotAvailable):
                    conn.execute(sql.SQL("INSERT INTO {} VALUES (1)").format(table))
                assert time.monotonic() - started < 4
        holder.execute(sql.SQL("DROP TABLE {}").format(table))


def test_connecting_to_a_frozen_server_ends_at_the_connect_timeout(
    own_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = _airflow_conn(monkeypatch, own_postgres, connect_timeout=2)
    postmaster = _postmaster_pid(own_postgres)
    os.kill(postmaster, signal.SIGSTOP)
    try:
        # The kernel still accepts the TCP connection; only the startup answer never comes.
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError, match="timeout"):
            open_warehouse(conn_id)
        assert time.monotonic() - started < 6
    finally:
        os.kill(postmaster, signal.SIGCONT)
    with open_warehouse(conn_id) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def extract_within(seconds: float, conn_id: str, *, backends: list[int], **landing: Any) -> None:
    """``land_pages`` in a session of ``conn_id``, under Airflow's execution_timeout mechanism."""
    from airflow.sdk.execution_time.timeout import timeout

    with timeout(seconds), connect(conn_id, SCHEMA) as conn:
        backends.append(conn.info.backend_pid)
        store.land_pages(conn, SCHEMA, **landing)


def test_a_backend_frozen_mid_extract_fails_the_step_in_time_and_a_retry_lands_everything(
    own_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGSTOP of the backend serving the step: its kernel still acknowledges every packet, so no
    keepalive or server timeout can notice; the task's execution_timeout (Airflow's SIGALRM timer,
    used here as Airflow uses it) must still interrupt the wait."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    conn_id = _airflow_conn(monkeypatch, own_postgres, statement_timeout="5s", lock_timeout="1s")
    pages = [[{"n": p * 3 + i} for i in range(3)] for p in range(4)]
    key = {"integration": "acme", "report_kind": "x", "report_id": 7}
    frozen: list[int] = []

    with connect(conn_id, SCHEMA):
        pass  # migrations run here, outside the step's time budget
    backends: list[int] = []

    def freezing_pages() -> Iterator[list[dict[str, int]]]:
        yield pages[0]
        os.kill(backends[0], signal.SIGSTOP)  # the backend stops between two pages
        frozen.append(backends[0])
        yield from pages[1:]

    started = time.monotonic()
    try:
        with pytest.raises(AirflowTaskTimeout):
            extract_within(3, conn_id, pages=freezing_pages(), backends=backends, **key)
        elapsed = time.monotonic() - started
        assert frozen == backends
        assert 2.9 <= elapsed < 5, elapsed
        # While the old backend is still frozen, Airflow's retry lands the report without waiting.
        with connect(conn_id, SCHEMA) as other:
            landed = store.land_pages(other, SCHEMA, pages=iter(pages), **key)
            assert (landed.pages, landed.rows) == (4, 12)
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    backend = backends[0]

    # The abandoned backend ends once it runs again (its client is gone) and commits nothing more;
    # a further retry completes too.
    deadline = time.monotonic() + 15
    while _alive(own_postgres, backend) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(own_postgres, backend)
    with connect(conn_id, SCHEMA) as conn:
        landed = store.land_pages(conn, SCHEMA, pages=iter(pages), **key)
        assert (landed.pages, landed.rows) == (4, 12)
        rows = store.iter_landed_rows(conn, SCHEMA, integration="acme", report_id=7)
        assert [r["n"] for r in rows] == list(range(12))
