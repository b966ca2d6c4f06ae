"""Running one pipeline step inside an Airflow task, with its row in ``load_runs``.

Every task of every acdflow DAG is ``pipeline/<kind>.py::<task_id>(step)``: one function per task
id, one signature. :class:`Step` is all a step gets: the integration, the warehouse, the run's
identity, its upstream tasks' results (ids and counts from XCom), the ways to reach the
warehouse and 8x8, and a way to describe the asset event of a table it published. Every step,
successful or failed, leaves one ``load_runs`` row with its counts and duration, so a data
engineer can answer "what did the 14:15 run of acme fetch, load and reject?" with SQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from acdflow.config import IntegrationSpec, WarehouseSpec
from acdflow.pipeline import split_task_id
from acdflow.redaction import error_summary
from acdflow.runtime import RunInfo, run_info

if TYPE_CHECKING:
    from acdflow.eightbyeight.client import EightByEightClient
    from acdflow.warehouse.store import Connection

_COUNTS = ("rows_fetched", "rows_loaded", "rows_rejected", "api_requests")

StepFunction = Callable[["Step"], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Step:
    """What a step function receives."""

    spec: IntegrationSpec
    warehouse: WarehouseSpec
    run: RunInfo
    xcom: Callable[[str], Any]  # the result of another task of the same run, by task id
    # Airflow's ``outlet_events`` of the running task; None outside Airflow (benchmarks, harnesses).
    outlet_events: Any = None

    def upstream(self, task_id: str) -> dict[str, Any]:
        result = self.xcom(task_id)
        if not isinstance(result, Mapping):
            raise RuntimeError(f"no result from upstream task {task_id!r}; clear it together with this one")
        return dict(result)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A session on the warehouse connection (``warehouse.conn_id``), schema migrated."""
        from acdflow.warehouse.connection import connect

        with connect(self.warehouse.conn_id, self.warehouse.schema) as conn:
            yield conn

    def announce(
        self,
        table: str,
        *,
        intervals: Iterable[datetime],
        rows_loaded: int,
        rows_changed: int,
        report_id: int,
    ) -> None:
        """Describe this run's write to ``table`` in the event of its asset (:mod:`acdflow.assets`;
        integration, schema, table and the run's interval come from the step), which Airflow emits
        if, and only if, this task then succeeds."""
        if self.outlet_events is None:
            return
        from acdflow.assets import event_extra, table_asset

        asset = table_asset(self.spec.name, self.warehouse.schema, table)
        self.outlet_events[asset].extra = event_extra(
            integration=self.spec.name,
            schema=self.warehouse.schema,
            table=table,
            interval_start=self.run.interval_start,
            interval_end=self.run.interval_end,
            intervals=intervals,
            rows_loaded=rows_loaded,
            rows_changed=rows_changed,
            report_id=report_id,
        )

    def client(self) -> EightByEightClient:
        """A client for the integration's 8x8 connection; the tokens it obtains are masked in logs."""
        from acdflow.runtime import eightbyeight_client

        return eightbyeight_client(self.spec.conn_id, self.spec.name)


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def run_step(
    spec: IntegrationSpec, warehouse: WarehouseSpec, context: Mapping[str, Any], function: StepFunction
) -> dict[str, Any]:
    """Run ``function(step)``, record the outcome in ``load_runs`` and return its summary."""
    from acdflow.warehouse import store
    from acdflow.warehouse.connection import connect

    ti = context["ti"]
    # Steps name their upstream tasks without a group: in the history DAG ``interactions.load``
    # reads ``interactions.transform``.
    group = split_task_id(str(ti.task_id))[0]
    step = Step(
        spec,
        warehouse,
        run_info(context),
        lambda task_id: ti.xcom_pull(task_ids=f"{group}.{task_id}" if group else task_id),
        context.get("outlet_events"),
    )
    run = step.run
    started = time.monotonic()
    summary: dict[str, Any] = {}
    error: BaseException | None = None
    try:
        summary = function(step)
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
            error=error_summary(error) if error is not None else None,
            details=summary,
            **{key: _int_or_none(summary.get(key)) for key in _COUNTS},
        )
        try:
            with connect(warehouse.conn_id, warehouse.schema) as conn:
                store.record_step(conn, warehouse.schema, record)
        except Exception:
            # The run log must never mask the step's own outcome.
            if error is None:
                raise
