"""Versioned, idempotent migrations of the warehouse schema (``include/sql/migrations/NNNN_*.sql``).

Every DAG task that touches the warehouse calls :func:`ensure_schema` first, and
``acdflow db migrate`` does the same from the command line. An advisory lock makes concurrent
callers (parallel runs, several workers) apply each migration exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

from acdflow.warehouse.sql import render, sql_dir

_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x0ACDF10E  # any constant shared by all acdflow processes
_ensured: set[tuple[str, str]] = set()


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    path: str  # relative to include/sql


def available_migrations() -> list[Migration]:
    found = []
    for path in sorted((sql_dir() / "migrations").iterdir()):
        match = _MIGRATION_FILE.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), f"migrations/{path.name}"))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions in {sql_dir() / 'migrations'}")
    return found


def apply_migrations(conn: psycopg.Connection[object], schema: str) -> list[int]:
    """Apply the migrations not yet recorded in ``<schema>.schema_migrations``; return their versions."""
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        ident = sql.Identifier(schema)
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(ident)
        )
        rows = conn.execute(sql.SQL("SELECT version FROM {}.schema_migrations").format(ident)).fetchall()
        done = {int(r[0]) for r in rows}  # type: ignore[index]
        for migration in available_migrations():
            if migration.version in done:
                continue
            conn.execute(render(migration.path, schema))
            conn.execute(
                sql.SQL("INSERT INTO {}.schema_migrations (version, name) VALUES (%s, %s)").format(ident),
                (migration.version, migration.name),
            )
            applied_now.append(migration.version)
    return applied_now


def ensure_schema(conn: psycopg.Connection[object], schema: str) -> None:
    """Apply pending migrations once per process and target (cheap after the first call)."""
    key = (conn.info.dsn, schema)
    if key in _ensured:
        return
    apply_migrations(conn, schema)
    _ensured.add(key)
