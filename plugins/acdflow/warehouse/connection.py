"""Warehouse sessions of a running task or of ``acdflow db``: from an Airflow connection id,
through the postgres provider's ``PostgresHook``.

The hook reads the connection from wherever Airflow keeps it (metadata database, environment
variable, secrets backend) and hands every libpq option of its ``extra`` (``sslmode``,
``sslrootcert``, ``options``, …) and its IAM options to psycopg as they are; a host that is a
unix-socket directory (``/var/run/postgresql``, ``/cloudsql/<instance>``) stays a socket
directory. acdflow never rebuilds a connection string itself, so nothing of that is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from acdflow.warehouse.store import Connection, session

_POSTGRES_TYPES = {"postgres", "postgresql"}


def open_warehouse(conn_id: str) -> Connection:
    """A new psycopg connection (autocommit; transactions are explicit) for ``conn_id``."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    hook = PostgresHook(postgres_conn_id=conn_id)
    conn_type = hook.connection.conn_type
    if conn_type not in _POSTGRES_TYPES:
        raise RuntimeError(f"connection {conn_id!r} must be of type postgres, not {conn_type!r}")
    conn: Any = hook.get_conn()
    conn.autocommit = True
    return conn  # type: ignore[no-any-return]


@contextmanager
def connect(conn_id: str, schema: str) -> Iterator[Connection]:
    """A warehouse session on ``conn_id`` with ``schema`` migrated, closed on exit."""
    with open_warehouse(conn_id) as conn, session(conn, schema):
        yield conn
