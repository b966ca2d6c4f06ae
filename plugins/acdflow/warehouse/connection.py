"""Warehouse sessions of a running task or of ``acdflow db``: from an Airflow connection id,
through the postgres provider's ``PostgresHook``.

The hook reads the connection from wherever Airflow keeps it (metadata database, environment
variable, secrets backend) and hands every libpq option of its ``extra`` (``sslmode``,
``sslrootcert``, ``options``, …) and its IAM options to psycopg as they are; a host that is a
unix-socket directory (``/var/run/postgresql``, ``/cloudsql/<instance>``) stays a socket
directory. acdflow never rebuilds a connection string itself, so nothing of that is lost.

Every wait is bounded. Unless the connection's ``extra`` sets them, sessions get these defaults:

* ``connect_timeout`` (libpq) 10 s: connecting to an unreachable host;
* ``keepalives`` 1, ``keepalives_idle`` 30 s, ``keepalives_interval`` 10 s, ``keepalives_count`` 3
  (libpq): a half-open socket (a server gone in a failover) is detected after about a minute;
* ``tcp_user_timeout`` 60000 ms (libpq 12 or later): data the vanished server never acknowledges;
* ``statement_timeout`` 30min (server): one statement, large loads included;
* ``lock_timeout`` 2min (server): waiting for a lock another session holds;
* ``idle_in_transaction_session_timeout`` 10min (server): a transaction a stuck client left open.

libpq options ignore the keepalive and TCP settings on a unix socket, so socket hosts keep
working. The three server settings travel as ``-c name=value`` in libpq's ``options``, ahead of any
``options`` the connection's ``extra`` has, so a ``-c`` there wins; an ``extra`` key named after
the setting (``{"statement_timeout": "2h"}``) replaces that one default, and ``null`` or ``""``
sends nothing for it (the server's own value applies: a pooler such as PgBouncer may refuse
settings it does not track in ``options``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from acdflow.warehouse.store import Connection, session

_POSTGRES_TYPES = {"postgres", "postgresql"}

# libpq connection parameters; an extra key of the same name (even null) wins.
LIBPQ_DEFAULTS: Mapping[str, int] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
# Matches the keepalive budget above: 30 s idle + 3 probes 10 s apart.
TCP_USER_TIMEOUT_MS = 60_000
# Server settings of the session, sent through libpq's ``options``.
SERVER_DEFAULTS: Mapping[str, str] = {
    "statement_timeout": "30min",
    "lock_timeout": "2min",
    "idle_in_transaction_session_timeout": "10min",
}


def _libpq_supports_tcp_user_timeout() -> bool:
    import psycopg

    return psycopg.pq.version() >= 120000


def _escape_option(value: str) -> str:
    # libpq splits ``options`` on unescaped whitespace and reads ``\\`` as one backslash.
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


def session_extra(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The connection's ``extra`` with acdflow's timeout and keepalive defaults merged in."""
    merged = dict(extra)
    defaults: dict[str, Any] = dict(LIBPQ_DEFAULTS)
    if _libpq_supports_tcp_user_timeout():
        defaults["tcp_user_timeout"] = TCP_USER_TIMEOUT_MS
    for key, value in defaults.items():
        merged.setdefault(key, value)
    settings = []
    for name, default in SERVER_DEFAULTS.items():
        # libpq does not know these names: they must not reach it as connection parameters.
        value = merged.pop(name, default)
        if value is None or value == "":
            continue
        settings.append(f"-c {name}={_escape_option(str(value))}")
    user_options = merged.get("options")
    if user_options:
        # Later ``-c`` options override earlier ones: the connection's own come last.
        settings.append(str(user_options))
    if settings:
        merged["options"] = " ".join(settings)
    return merged


def open_warehouse(conn_id: str) -> Connection:
    """A new psycopg connection (autocommit; transactions are explicit) for ``conn_id``, with the
    bounded waits of the module docstring."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    hook = PostgresHook(postgres_conn_id=conn_id)
    connection = hook.connection
    conn_type = connection.conn_type
    if conn_type not in _POSTGRES_TYPES:
        raise RuntimeError(f"connection {conn_id!r} must be of type postgres, not {conn_type!r}")
    # The hook turns every extra key into a libpq parameter; this copy carries the defaults.
    connection.extra = json.dumps(session_extra(connection.extra_dejson))
    conn: Any = hook.get_conn()
    conn.autocommit = True
    return conn  # type: ignore[no-any-return]


@contextmanager
def connect(conn_id: str, schema: str) -> Iterator[Connection]:
    """A warehouse session on ``conn_id`` with ``schema`` migrated, closed on exit."""
    with open_warehouse(conn_id) as conn, session(conn, schema):
        yield conn
