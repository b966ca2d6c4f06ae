from __future__ import annotations

import json

import psycopg
import pytest

from acdflow.warehouse.connection import airflow_conn_from_uri, uri_from_airflow_conn


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("postgres://u:p@db:5433/wfm", "postgresql://u:p@db:5433/wfm"),
        (
            "postgresql://u@127.0.0.1/wfm?sslmode=require",
            "postgresql://u@127.0.0.1/wfm?sslmode=require",
        ),
        (
            json.dumps(
                {"conn_type": "postgres", "login": "u", "password": "p@ss", "host": "h", "schema": "w"}
            ),
            "postgresql://u:p%40ss@h/w",
        ),
    ],
)
def test_uri_forms(value: str, expected: str) -> None:
    assert uri_from_airflow_conn(value) == expected


def test_rejects_other_connection_types() -> None:
    with pytest.raises(ValueError, match="postgres"):
        uri_from_airflow_conn("mysql://u@h/db")


def test_warehouse_is_a_real_postgres(warehouse_uri: str) -> None:
    with psycopg.connect(warehouse_uri) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None
        assert int(version[0]) >= 150000
        conn.execute("CREATE TEMP TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
        assert conn.execute("SELECT sum(x) FROM t").fetchone() == (3,)


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://loader:s%40cret@db.example.org:6543/wfm",
        "postgresql://postgres@127.0.0.1:5432/postgres",
    ],
)
def test_airflow_conn_from_uri_round_trips(uri: str) -> None:
    conn = airflow_conn_from_uri(uri, description="warehouse")
    assert conn["conn_type"] == "postgres"
    assert conn["description"] == "warehouse"
    assert uri_from_airflow_conn(json.dumps(conn)) == uri


def test_airflow_conn_from_uri_leaves_out_an_absent_password() -> None:
    assert "password" not in airflow_conn_from_uri("postgresql://postgres@127.0.0.1:5432/postgres")
