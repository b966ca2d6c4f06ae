"""Warehouse connections come from the postgres provider's hook, on the task path and the CLI path.

Each connection is an Airflow connection (environment variable or a real secrets backend), read
by ``PostgresHook``: a socket-directory host stays a socket, and libpq options in ``extra``
(``sslmode`` here) reach libpq on both paths.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from acdflow.config import WarehouseSpec
from acdflow.warehouse.connection import connect, open_warehouse


def _conn_json(uri: str, **overrides: Any) -> dict[str, Any]:
    parts = conninfo_to_dict(uri)
    conn: dict[str, Any] = {
        "conn_type": "postgres",
        "host": parts.get("host", "127.0.0.1"),
        "port": int(str(parts.get("port", 5432))),
        "login": parts.get("user", "postgres"),
        "schema": parts.get("dbname", "postgres"),
    }
    conn.update(overrides)
    return conn


def _conn_id() -> str:
    return f"wh_{uuid.uuid4().hex[:10]}"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acdflow.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **env},
        check=False,
    )


def _schema_exists(uri: str, schema: str) -> bool:
    with psycopg.connect(uri) as conn:
        return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def _drop(uri: str, schema: str) -> None:
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(scope="module")
def socket_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A PostgreSQL that also listens on a unix socket in a directory of its own."""
    from acdflow_dev.embedded import EmbeddedPostgres

    # A socket path must stay under ~100 bytes: a short directory in /tmp, not pytest's tmp path.
    socket_dir = Path(tempfile.mkdtemp(prefix="acdpg", dir="/tmp"))
    try:
        with EmbeddedPostgres(tmp_path_factory.mktemp("pg-socket"), socket_dir=socket_dir) as server:
            yield socket_dir, server.uri
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)


def test_a_socket_directory_host_connects_through_the_socket(
    socket_server: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    socket_dir, tcp_uri = socket_server
    assert (socket_dir / f".s.PGSQL.{conninfo_to_dict(tcp_uri)['port']}").exists()
    conn_id = _conn_id()
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(_conn_json(tcp_uri, host=str(socket_dir)))
    )
    with open_warehouse(conn_id) as conn:
        assert conn.info.host == str(socket_dir)
        # NULL for a unix-socket session; a TCP session would report 127.0.0.1.
        assert conn.execute("SELECT inet_server_addr()").fetchone() == (None,)

    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        # The task path: a step's session migrates the schema through the same connection.
        with connect(conn_id, WarehouseSpec(conn_id=conn_id, schema=schema).schema) as conn:
            assert conn.execute("SELECT inet_server_addr()").fetchone() == (None,)
        assert _schema_exists(tcp_uri, schema)
        # The CLI path.
        other = f"t_{uuid.uuid4().hex[:12]}"
        env = {f"AIRFLOW_CONN_{conn_id.upper()}": os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"]}
        out = _cli("db", "migrate", "--conn-id", conn_id, "--schema", other, env=env)
        assert out.returncode == 0, out.stderr
        assert _schema_exists(tcp_uri, other)
        _drop(tcp_uri, other)
    finally:
        _drop(tcp_uri, schema)


def test_sslmode_in_extra_reaches_libpq_on_the_task_and_cli_paths(
    warehouse_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test server has no TLS: sslmode=require must make libpq refuse it, sslmode=disable not.
    required, disabled = _conn_id(), _conn_id()
    env = {
        f"AIRFLOW_CONN_{required.upper()}": json.dumps(
            _conn_json(warehouse_uri, extra={"sslmode": "require"})
        ),
        f"AIRFLOW_CONN_{disabled.upper()}": json.dumps(
            _conn_json(warehouse_uri, extra={"sslmode": "disable"})
        ),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(psycopg.OperationalError, match="SSL"):
        open_warehouse(required)
    with open_warehouse(disabled) as conn:
        assert conn.info.get_parameters().get("sslmode", "disable") == "disable"

    schema = f"t_{uuid.uuid4().hex[:12]}"
    refused = _cli("db", "migrate", "--conn-id", required, "--schema", schema, env=env)
    assert refused.returncode != 0
    assert "SSL" in refused.stderr
    assert not _schema_exists(warehouse_uri, schema)
    accepted = _cli("db", "migrate", "--conn-id", disabled, "--schema", schema, env=env)
    assert accepted.returncode == 0, accepted.stderr
    assert _schema_exists(warehouse_uri, schema)
    _drop(warehouse_uri, schema)


def test_the_cli_reads_the_connection_from_a_secrets_backend(warehouse_uri: str, tmp_path: Path) -> None:
    conn_id = _conn_id()
    secrets = tmp_path / "connections.json"
    secrets.write_text(json.dumps({conn_id: _conn_json(warehouse_uri, extra={"sslmode": "disable"})}))
    env = {
        "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(secrets)}),
    }
    assert f"AIRFLOW_CONN_{conn_id.upper()}" not in os.environ
    schema = f"t_{uuid.uuid4().hex[:12]}"
    out = _cli("db", "migrate", "--conn-id", conn_id, "--schema", schema, env=env)
    assert out.returncode == 0, out.stderr
    assert f"schema {schema}: applied migrations" in out.stdout
    assert _schema_exists(warehouse_uri, schema)
    _drop(warehouse_uri, schema)


def test_a_connection_of_another_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    conn_id = _conn_id()
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "mysql", "host": "db"}))
    with pytest.raises(RuntimeError, match="must be of type postgres"):
        open_warehouse(conn_id)


def _show(conn: Any, name: str) -> str:
    row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
    assert row is not None
    return str(row[0])


def test_sessions_get_bounded_waits_by_default(warehouse_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_id = _conn_id()
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(_conn_json(warehouse_uri)))
    with open_warehouse(conn_id) as conn:
        # The server reports what the session really runs with, not what was asked for.
        assert _show(conn, "statement_timeout") == "30min"
        assert _show(conn, "lock_timeout") == "2min"
        assert _show(conn, "idle_in_transaction_session_timeout") == "10min"
        params = conn.info.get_parameters()
        assert params["connect_timeout"] == "10"
        assert (params["keepalives"], params["keepalives_idle"]) == ("1", "30")
        assert (params["keepalives_interval"], params["keepalives_count"]) == ("10", "3")
        assert params["tcp_user_timeout"] == "60000"
        # A TCP session: keepalives are really on for its socket.
        assert conn.execute("SELECT inet_server_addr() IS NOT NULL").fetchone() == (True,)


def test_the_connection_extra_overrides_every_default(
    warehouse_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = _conn_id()
    extra = {
        "statement_timeout": "5s",
        "options": "-c lock_timeout=7s -c application_name=mine",
        "idle_in_transaction_session_timeout": None,
        "connect_timeout": 3,
        "keepalives_idle": 45,
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(_conn_json(warehouse_uri, extra=extra)))
    with open_warehouse(conn_id) as conn:
        assert _show(conn, "statement_timeout") == "5s"
        # The connection's own -c options win over the defaults sent before them.
        assert _show(conn, "lock_timeout") == "7s"
        assert _show(conn, "application_name") == "mine"
        # null: nothing sent, the server's own value (0, no limit) applies.
        assert _show(conn, "idle_in_transaction_session_timeout") == "0"
        params = conn.info.get_parameters()
        assert params["connect_timeout"] == "3"
        assert params["keepalives_idle"] == "45"
        assert params["keepalives_count"] == "3"


def test_a_socket_host_keeps_the_defaults_harmlessly(
    socket_server: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    socket_dir, tcp_uri = socket_server
    conn_id = _conn_id()
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(_conn_json(tcp_uri, host=str(socket_dir)))
    )
    with open_warehouse(conn_id) as conn:
        assert conn.execute("SELECT inet_server_addr()").fetchone() == (None,)
        assert _show(conn, "lock_timeout") == "2min"
        assert conn.info.get_parameters()["keepalives"] == "1"
