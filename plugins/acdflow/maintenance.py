"""Retention: one ``acdflow_maintenance`` DAG prunes the warehouse's bookkeeping for every integration.

The run log, the quarantine, the live-status change log and the data-quality results grow with
every run, and landed pages and staged rows of failed or cleared runs are never removed by the runs
themselves. Each task here deletes one family of those rows older than the retention the
``maintenance:`` section of the integrations file sets, a batch of rows per statement: every batch
commits on its own, so no prune holds a long transaction, many row locks or a table lock, and a
task stopped half way simply continues at its next run. The published data (interactions,
interval_aht, agent_status_history, agent_status_live) is never touched.

SQL is ``include/sql/maintenance/<task_id>[.<part>].sql``; each takes the cutoff's ``now`` as a
parameter (NULL: the database's ``now()``), so a test can run the prunes as of any day.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from acdflow.config import ConfigResult, MaintenanceSpec, WarehouseSpec, load_config

if TYPE_CHECKING:
    from acdflow.warehouse.store import Connection

log = logging.getLogger(__name__)

DAG_ID = "acdflow_maintenance"

# A prune is a sequence of short batches, so this only stops one that stopped making progress
# (a lock it waits for, a server that no longer answers); the next run continues the work.
EXECUTION_TIMEOUT = timedelta(minutes=60)


@dataclass(frozen=True, slots=True)
class Prune:
    """One task: its SQL parts in order, each deleting from one table, and its retention setting."""

    task_id: str
    parts: tuple[tuple[str | None, str], ...]  # (SQL part or None for <task_id>.sql, table)
    setting: str  # the MaintenanceSpec field holding the retention

    def retention(self, spec: MaintenanceSpec) -> timedelta:
        value: int = getattr(spec, self.setting)
        return timedelta(hours=value) if self.setting.endswith("_hours") else timedelta(days=value)

    def sql_file(self, part: str | None) -> str:
        return f"maintenance/{self.task_id}.sql" if part is None else f"maintenance/{self.task_id}.{part}.sql"


PRUNES: tuple[Prune, ...] = (
    # Pages and events first: staged interactions and quarantined rows go once their report has
    # neither left.
    Prune(
        "prune_staging",
        (
            ("pages", "raw_report_pages"),
            ("events", "stg_status_events"),
            ("interactions", "stg_interactions"),
            ("rejected", "stg_rejected_rows"),
        ),
        "staging_hours",
    ),
    Prune("prune_load_runs", ((None, "load_runs"),), "load_runs_days"),
    Prune("prune_rejected_rows", ((None, "rejected_rows"),), "rejected_rows_days"),
    Prune("prune_live_log", ((None, "agent_status_live_log"),), "live_log_days"),
    Prune("prune_dq_results", ((None, "dq_results"),), "dq_results_days"),
)

PRUNES_BY_ID: Mapping[str, Prune] = {prune.task_id: prune for prune in PRUNES}


def prune(
    conn: Connection,
    schema: str,
    task_id: str,
    spec: MaintenanceSpec,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Run the prune ``task_id`` to completion as of ``now`` (default: the warehouse's clock) and
    return its summary: the cutoff and the rows deleted per table."""
    from acdflow.warehouse.sql import render
    from acdflow.warehouse.store import database_now

    step = PRUNES_BY_ID[task_id]
    retention = step.retention(spec)
    # One "now" for every batch, so the cutoff does not creep forward while the task runs.
    as_of = now if now is not None else database_now(conn, schema)
    params = {"now": as_of, "retention": retention, "batch_rows": spec.batch_rows}
    deleted: dict[str, int] = {}
    batches = 0
    for part, table in step.parts:
        statement = render(step.sql_file(part), schema)
        deleted[table] = 0
        while True:
            # autocommit: each batch is its own short transaction.
            cursor = conn.execute(statement, params)
            batches += 1
            deleted[table] += cursor.rowcount
            if cursor.rowcount < spec.batch_rows:
                break
        log.info("%s: deleted %d rows of %s older than %s", task_id, deleted[table], table, as_of - retention)
    return {
        "task": task_id,
        "retention_seconds": int(retention.total_seconds()),
        "cutoff": (as_of - retention).isoformat(),
        "deleted": deleted,
        "batches": batches,
    }


def run_all(
    conn: Connection, schema: str, spec: MaintenanceSpec, *, now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """Every prune in DAG order, as of ``now``: what one maintenance run does, in one call."""
    return {step.task_id: prune(conn, schema, step.task_id, spec, now=now) for step in PRUNES}


class MaintenanceOperator(BaseOperator):
    """Runs the prune named by its task id on the maintenance connection; returns its summary."""

    ui_color = "#f3ecdf"

    def __init__(self, *, spec: MaintenanceSpec, warehouse: WarehouseSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.warehouse = warehouse

    def execute(self, context: Any) -> dict[str, Any]:
        from acdflow.warehouse.connection import connect

        conn_id = self.spec.conn_id or self.warehouse.conn_id
        # connect() refuses to run while a migration is pending: the prunes rely on its indexes.
        with connect(conn_id, self.warehouse.schema) as conn:
            summary = prune(conn, self.warehouse.schema, self.task_id, self.spec)
        log.info("%s: %s", self.task_id, summary)
        return summary


_DOC = """\
### acdflow maintenance

Deletes, in batches of {batch_rows} rows, what the warehouse `{schema}` keeps only for a while:

| task | table(s) | kept |
|---|---|---|
| prune_staging | landing and staging (raw_report_pages, stg_*) | {staging_hours} hours |
| prune_load_runs | load_runs | {load_runs_days} days |
| prune_rejected_rows | rejected_rows | {rejected_rows_days} days |
| prune_live_log | agent_status_live_log | {live_log_days} days |
| prune_dq_results | dq_results | {dq_results_days} days |

Connection: `{conn_id}`. Each task's XCom and log give the cutoff and the rows deleted per table.
Settings: the `maintenance:` section of the integrations file (see docs/maintenance.md).
"""


def build_maintenance_dag(config: ConfigResult) -> Any | None:
    """The maintenance DAG, or None when the ``maintenance:`` section is invalid (the config-errors
    DAG file reports why)."""
    spec = config.maintenance
    if spec is None:
        return None
    from airflow.sdk import DAG, CronTriggerTimetable

    from acdflow.alerts import log_failure_callback
    from acdflow.factory import retry_policy

    warehouse = config.warehouse
    with DAG(
        dag_id=DAG_ID,
        description="acdflow retention: prune run log, quarantine, live log, DQ results and staging",
        schedule=CronTriggerTimetable(spec.schedule, timezone="UTC"),
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        # Each run prunes everything older than its cutoff: missed runs need no catching up.
        catchup=False,
        max_active_runs=1,
        # One prune at a time: they compete for the same disk, and none is urgent.
        max_active_tasks=1,
        max_consecutive_failed_dag_runs=0,
        default_args={
            "owner": "wfm-data",
            "retries": 2,
            "retry_delay": timedelta(minutes=5),
            "retry_policy": retry_policy(),
            "on_failure_callback": [log_failure_callback("maintenance")],
        },
        tags=["acdflow", "maintenance"],
        doc_md=_DOC.format(
            schema=warehouse.schema, conn_id=spec.conn_id or warehouse.conn_id, **_settings(spec)
        ),
    ) as dag:
        # Independent tasks, so one failing prune neither blocks the others nor hides its failure
        # behind a later success; the weights run them in PRUNES order.
        for weight, step in enumerate(reversed(PRUNES), start=1):
            MaintenanceOperator(
                task_id=step.task_id,
                spec=spec,
                warehouse=warehouse,
                execution_timeout=EXECUTION_TIMEOUT,
                priority_weight=weight,
                weight_rule="absolute",
            )
    return dag


def _settings(spec: MaintenanceSpec) -> dict[str, Any]:
    return {
        "batch_rows": spec.batch_rows,
        "staging_hours": spec.staging_hours,
        "load_runs_days": spec.load_runs_days,
        "rejected_rows_days": spec.rejected_rows_days,
        "live_log_days": spec.live_log_days,
        "dq_results_days": spec.dq_results_days,
    }


def build_all() -> dict[str, Any]:
    """Entry point of the DAG file: the maintenance DAG from the local integrations file."""
    dag = build_maintenance_dag(load_config())
    return {} if dag is None else {dag.dag_id: dag}
