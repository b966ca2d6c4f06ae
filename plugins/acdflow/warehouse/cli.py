"""``acdflow db …``: warehouse commands that do not need a running Airflow."""

from __future__ import annotations

import argparse
from typing import Any

from acdflow.config import load_config


def register(groups: Any) -> None:
    db = groups.add_parser("db", help="warehouse schema commands")
    commands = db.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    migrate = commands.add_parser(
        "migrate",
        help="apply pending migrations from include/sql/migrations (idempotent)",
        description=(
            "Apply the warehouse migrations not yet recorded in <schema>.schema_migrations. The DAGs do "
            "the same before their first warehouse step; this command lets a DBA run them up front."
        ),
    )
    migrate.add_argument(
        "--conn-id",
        help=(
            "Airflow connection (type postgres) of the schema owner, read like a task reads it: "
            "AIRFLOW_CONN_* variable, secrets backend or metadata database "
            "(default: the warehouse conn_id of the integrations file)"
        ),
    )
    migrate.add_argument("--schema", help="default: the schema in the integrations file (acd)")
    migrate.set_defaults(func=_migrate)
    grants = commands.add_parser(
        "grants",
        help="print the least-privilege role script (schema owner, loader, maintenance) for a DBA to run",
        description=(
            "Print include/sql/roles/least_privilege.sql with the schema and role names filled in. "
            "Run it as a superuser before the first migration and again after each migration: the "
            "owner role runs `acdflow db migrate`, the loader role is what the DAGs log in as, the "
            "maintenance role is what the acdflow_maintenance DAG prunes with."
        ),
    )
    grants.add_argument("--schema", help="default: the schema in the integrations file (acd)")
    grants.add_argument("--owner", default="acdflow_owner", help="schema-owner role (default acdflow_owner)")
    grants.add_argument("--loader", default="acdflow_loader", help="loader role (default acdflow_loader)")
    grants.add_argument(
        "--maintainer", default="acdflow_maintainer", help="maintenance role (default acdflow_maintainer)"
    )
    grants.set_defaults(func=_grants)


def _migrate(args: argparse.Namespace) -> int:
    from acdflow.warehouse.connection import open_warehouse
    from acdflow.warehouse.migrate import apply_migrations

    config = load_config()
    schema = args.schema or config.warehouse.schema
    conn_id = args.conn_id or config.warehouse.conn_id
    try:
        conn = open_warehouse(conn_id)
    except Exception as exc:
        from acdflow.redaction import error_summary

        raise SystemExit(
            f"acdflow db migrate: cannot connect with connection {conn_id!r}: {error_summary(exc)}"
        ) from None
    with conn:
        applied = apply_migrations(conn, schema)
    if applied:
        print(f"schema {schema}: applied migrations {', '.join(f'{v:04d}' for v in applied)}")
    else:
        print(f"schema {schema}: up to date")
    return 0


def _grants(args: argparse.Namespace) -> int:
    from acdflow.warehouse.sql import render

    schema = args.schema or load_config().warehouse.schema
    try:
        script = render(
            "roles/least_privilege.sql",
            schema,
            owner=args.owner,
            loader=args.loader,
            maintainer=args.maintainer,
        )
    except ValueError as exc:
        raise SystemExit(f"acdflow db grants: {exc}") from None
    print(script.as_string(None))
    return 0
