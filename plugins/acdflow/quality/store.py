"""Record data-quality results in ``<schema>.dq_results`` (migration ``0003_data_quality``).

One row per ``(integration, interval_start, check_name)``: re-running an interval's checks (retry,
clear, backfill) replaces its rows, so the table converges on the latest verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from acdflow.quality.drift import DriftCheckResult
from acdflow.warehouse.sql import render

__all__ = ["write_results"]


def _aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
    return value


def write_results(
    conn: psycopg.Connection[Any],
    schema: str,
    integration: str,
    interval_start: datetime,
    interval_end: datetime,
    results: Sequence[DriftCheckResult],
) -> None:
    """Upsert ``results`` for one interval in one transaction (values travel as parameters)."""
    start = _aware("interval_start", interval_start)
    end = _aware("interval_end", interval_end)
    names = [r.check for r in results]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate check names in results: {names}")
    statement = render("agent_status/check_time_drift.results.sql", schema)
    params = [
        {
            "integration": integration,
            "interval_start": start,
            "interval_end": end,
            "check_name": r.check,
            "passed": r.passed,
            "observed_offset_minutes": r.observed_offset_minutes,
            "details": Jsonb(r.details),
        }
        for r in results
    ]
    if not params:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(statement, params)
