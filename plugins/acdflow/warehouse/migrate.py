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

from acdflow.config import SCHEMA_PATTERN
from acdflow.resources import sql_dir
from acdflow.warehouse.sql import render

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


class MigrationPrivilegeError(RuntimeError):
    """Migrations are pending but the connected role may not apply them (a least-privilege loader)."""


def _recorded_versions(conn: psycopg.Connection[object], schema: str) -> set[int] | None:
    """Versions in ``<schema>.schema_migrations``, or None when that table does not exist yet."""
    exists = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s"
        " AND tablename = 'schema_migrations')",
        (schema,),
    ).fetchone()
    if exists != (True,):
        return None
    rows = conn.execute(
        sql.SQL("SELECT version FROM {}.schema_migrations").format(sql.Identifier(schema))
    ).fetchall()
    return {int(r[0]) for r in rows}  # type: ignore[index]


def apply_migrations(conn: psycopg.Connection[object], schema: str) -> list[int]:
    """Apply the migrations not yet recorded in ``<schema>.schema_migrations``; return their versions.

    When nothing is pending this only reads ``schema_migrations``: the role the loads run as needs
    no DDL rights (``include/sql/roles/least_privilege.sql``). Versions are only ever added, so an
    up-to-date answer read without the lock stays true.
    """
    if not SCHEMA_PATTERN.fullmatch(schema):
        raise ValueError(f"invalid warehouse schema name {schema!r}")
    available = available_migrations()
    pending: list[int] | None = None  # None: not even readable
    try:
        recorded = _recorded_versions(conn, schema)
        pending = [m.version for m in available if recorded is None or m.version not in recorded]
        if not pending:
            return []
        return _apply(conn, schema, available)
    except psycopg.errors.InsufficientPrivilege as exc:
        which = ", ".join(f"{v:04d}" for v in pending) if pending is not None else "unknown"
        raise MigrationPrivilegeError(
            f"role {conn.info.user!r} may not check or apply the migrations of warehouse schema "
            f"{schema!r} (pending: {which}; {exc.diag.message_primary}): run `acdflow db migrate` "
            "as the schema owner, then include/sql/roles/least_privilege.sql to grant the loader role"
        ) from exc


def _apply(conn: psycopg.Connection[object], schema: str, available: list[Migration]) -> list[int]:
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        ident = sql.Identifier(schema)
        # Only when missing: CREATE SCHEMA needs CREATE on the database even with IF NOT EXISTS,
        # and the schema owner that runs later migrations need not have it.
        found = conn.execute("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(ident)
        )
        rows = conn.execute(sql.SQL("SELECT version FROM {}.schema_migrations").format(ident)).fetchall()
        done = {int(r[0]) for r in rows}  # type: ignore[index]
        for migration in available:
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
