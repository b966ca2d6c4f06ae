"""``acdflow dq …``: data-quality commands that do not need a running Airflow."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(groups: Any) -> None:
    dq = groups.add_parser("dq", help="data-quality reports")
    commands = dq.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    docs = commands.add_parser(
        "docs",
        help="write a static HTML report of the time-drift checks from <schema>.dq_results",
        description=(
            "Write DIR/index.html: the declared checks (the committed expectation suites), pass/fail "
            "counts per integration and check, and the failed intervals with their findings, read "
            "from <schema>.dq_results. DIR may be a mounted bucket, or sync it after each build."
        ),
    )
    docs.add_argument(
        "--out",
        type=Path,
        help="output folder (default: $ACDFLOW_DQ_DOCS_DIR, else .acdflow/dq-docs)",
    )
    docs.add_argument("--days", type=_positive, default=7, help="intervals of the last N days (default 7)")
    docs.add_argument(
        "--conn-id",
        help=(
            "Airflow connection (type postgres) read like a task reads it "
            "(default: the warehouse conn_id of the integrations file)"
        ),
    )
    docs.add_argument("--schema", help="default: the schema in the integrations file (acd)")
    docs.set_defaults(func=_docs)


def _docs(args: argparse.Namespace) -> int:
    from acdflow.config import load_config
    from acdflow.quality.docs import build_docs, docs_dir
    from acdflow.warehouse.connection import open_warehouse

    schema = args.schema
    conn_id = args.conn_id
    if schema is None or conn_id is None:
        config = load_config()
        schema = schema or config.warehouse.schema
        conn_id = conn_id or config.warehouse.conn_id
    out = args.out if args.out is not None else docs_dir()
    try:
        conn = open_warehouse(conn_id)
    except Exception as exc:
        from acdflow.redaction import error_summary

        raise SystemExit(
            f"acdflow dq docs: cannot connect with connection {conn_id!r}: {error_summary(exc)}"
        ) from None
    with conn:
        try:
            index, summaries = build_docs(conn, schema, out, days=args.days)
        except ValueError as exc:
            raise SystemExit(f"acdflow dq docs: {exc}") from None
    failed = sum(s.failed for s in summaries)
    total = sum(s.intervals for s in summaries)
    print(f"wrote {index} ({total} check results of the last {args.days} days, {failed} failed)")
    return 0
