"""Running one pipeline step inside an Airflow task, with its row in ``load_runs``.

Every step, successful or failed, leaves one ``load_runs`` row with its counts and duration, so a
data engineer can answer "what did the 14:15 run of acme fetch, load and reject?" with SQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from acdflow.config import IntegrationSpec, WarehouseSpec
from acdflow.runtime import RunInfo, run_info, warehouse_uri
from acdflow.warehouse import store

_COUNTS = ("rows_fetched", "rows_loaded", "rows_rejected", "api_requests")


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def run_step(
    spec: IntegrationSpec,
    warehouse: WarehouseSpec,
    context: Mapping[str, Any],
    body: Callable[[RunInfo, str], dict[str, Any]],
) -> dict[str, Any]:
    """Run ``body(run, warehouse_uri)``, record the outcome in ``load_runs`` and return its summary."""
    run = run_info(context)
    uri = warehouse_uri(warehouse.conn_id)
    started = time.monotonic()
    summary: dict[str, Any] = {}
    error: BaseException | None = None
    try:
        summary = body(run, uri)
        return summary
    except BaseException as exc:
        error = exc
        raise
    finally:
        record = store.StepRecord(
            integration=spec.name,
            dag_id=run.dag_id,
            run_id=run.run_id,
            step=run.task_id,
            try_number=run.try_number,
            interval_start=run.interval_start,
            interval_end=run.interval_end,
            duration_ms=int((time.monotonic() - started) * 1000),
            report_id=_int_or_none(summary.get("report_id")),
            status="failed" if error is not None else "success",
            error=first_line(error) if error is not None else None,
            details=summary,
            **{key: _int_or_none(summary.get(key)) for key in _COUNTS},
        )
        try:
            with store.connect(uri, warehouse.schema) as conn:
                store.record_step(conn, warehouse.schema, record)
        except Exception:
            # The run log must never mask the step's own outcome.
            if error is None:
                raise
